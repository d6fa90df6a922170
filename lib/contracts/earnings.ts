/*!
 * earnings.ts - what a host has earned under a contract and what it was
 * paid, itemised so the two reconcile line by line.
 *
 * Expected amounts come from the contract's signed revisions through the
 * shared accrual functions (lib/deals/accrual.ts: earnedParts,
 * stateAmounts), never from a formula of our own; received amounts come
 * from the host's latest channel state (channelstore.ts) and the close as
 * the chain index recorded it (contractqueries.ts `spend`). All sat.
 *
 *   earned(h)  = storage + uploads                  E(min(h, end)), PROTOCOL 3.9
 *   uploads    = accrued_0 + sum (accrued_i - accrued_i-1 - storageCost(size_i-1, height_i - height_i-1))
 *   storage    = earned - uploads
 *   missed     = accrual of the ended intervals the renter's payments called missed
 *   due        = stateAmounts(intervals ended by h: the ones the renter's
 *                payments called missed unpaid, the others passed) + downloads
 *              = payable - heldBack + downloads   (the renter's own formula,
 *                payments.ts dueFor)
 *   signed     = the latest state's paid
 *   received   = close paid - close fee (the host's payout output)
 */

import type { StorageContract } from './storagecontract';
import {
  type AuditOutcome, type RevisionPoint, earnedParts, heldBackOf, intervalAccruals, intervals, stateAmounts
} from '../deals/accrual';
import { accrualTerms } from '../deals/revisions';

/** What the host holds of a contract's channel. */
export interface ChannelFigures {
  /** Cumulative sat the latest state pays the host. */
  paid: number;
  /** The state's number. */
  number: number;
  /** The renter's final state (it releases the holdback). */
  final: boolean;
  /** Intervals the renter's payments called missed (channelstore.ts): unpaid. */
  missed: readonly number[];
}

/** The close of a contract as the chain index recorded it. */
export interface CloseFigures {
  type: 'settled' | 'refunded';
  txid: string;
  height: number;
  /** Sat the spend paid the host before the fee (0 for a refund). */
  paid: number;
  /** Sat of fee the spend paid. */
  fee: number;
}

/** One contract's earnings (sat), as getearnings returns them. */
export interface ContractEarnings {
  id: string;
  state: string;
  startHeight: number;
  endHeight: number;
  /** The height the figures are for: min(tip, endHeight). */
  height: number;
  /** Revisions both parties signed; 0 when none are stored here (a contract formed before revisions). */
  revisions: number;
  expected: {
    /** Storage accrued by `height` under the revisions. */
    storage: number;
    /** Uploads the revisions accrued. */
    uploads: number;
    /** Downloads the renter prepaid in channel states (channelstore.ts `prepaid`). */
    downloads: number;
    /** Accrued in ended intervals the renter's payments called missed: never paid. */
    missed: number;
    /** storage + uploads + downloads. */
    earned: number;
    /** What the holdback keeps of the intervals ended by `height` (0 once released). */
    heldBack: number;
    /** The holdback the final state releases once every interval ended and passed (0 before). */
    holdbackReleased: number;
    /**
     * What a state should pay now: payable - heldBack + downloads, every
     * ended interval paid but those the renter's payments called missed.
     */
    due: number;
  };
  received: {
    /** Cumulative sat the latest channel state pays (0 without one). */
    signed: number;
    /** Its number, -1 without one. */
    stateNumber: number;
    /** The renter's final state is stored. */
    final: boolean;
    /** The close's txid, null while the escrow is open (or it was refunded). */
    closeTxid: string | null;
    closeHeight: number | null;
    /** Sat the close paid the host before its fee. */
    paid: number;
    /** Sat of fee the host paid for the close. */
    closeFee: number;
    /** paid - closeFee: what reached the host's wallet. */
    payout: number;
  };
  /** due - signed: what the renter's states are behind (or ahead, negative). */
  unsigned: number;
  /** signed - paid: signed but not closed yet. */
  unclosed: number;
  /** The accrual formula with these figures. */
  formula: string;
}

/** Totals over contracts (sat). */
export interface EarningsTotals {
  storage: number;
  uploads: number;
  downloads: number;
  missed: number;
  earned: number;
  heldBack: number;
  holdbackReleased: number;
  due: number;
  signed: number;
  paid: number;
  closeFee: number;
  payout: number;
}

/**
 * A contract's earnings at tip `tip`: `revisions` ascending (the deals'
 * store; empty when none), `channel` the host's latest state or null,
 * `close` the escrow's spend or null, `downloads` the sat prepaid for
 * downloads in states.
 */
export function contractEarnings(contract: StorageContract, state: string, tip: number,
  revisions: readonly RevisionPoint[], channel: ChannelFigures | null, close: CloseFigures | null,
  downloads: number): ContractEarnings {
  const terms = accrualTerms(contract);
  const height = Math.min(tip, contract.endHeight);
  const { earned: earnedRevs, uploads } = earnedParts(terms, revisions, height);
  const storage = earnedRevs - uploads;
  // Intervals ended by `height` as the renter pays them (payments.ts
  // dueFor): those its payments called missed unpaid, the others passed.
  const missed = new Set(channel ? channel.missed : []);
  const all = intervals(terms);
  const ended = all.filter(iv => iv.to <= height);
  const outcomes: AuditOutcome[] = ended.map(iv => (missed.has(iv.index) ? 'missed' : 'passed'));
  const amounts = stateAmounts(terms, revisions, outcomes, downloads);
  const accruals = intervalAccruals(terms, revisions);
  const missedSat = ended.reduce((sum, iv) => sum + (missed.has(iv.index) ? accruals[iv.index] : 0), 0);
  // Once every interval ended and was paid the final state pays the holdback too.
  const released = ended.length === all.length && amounts.heldBack === 0 ? heldBackOf(terms, amounts.payable) : 0;
  const settled = close !== null && close.type === 'settled';
  const signed = channel ? channel.paid : 0;
  const paid = settled ? close.paid : 0;
  const closeFee = settled && paid > 0 ? close.fee : 0;
  return {
    id: contract.id(),
    state,
    startHeight: contract.startHeight,
    endHeight: contract.endHeight,
    height,
    revisions: revisions.length,
    expected: {
      storage,
      uploads,
      downloads,
      missed: missedSat,
      earned: earnedRevs + downloads,
      heldBack: amounts.heldBack,
      holdbackReleased: released,
      due: amounts.paid
    },
    received: {
      signed,
      stateNumber: channel ? channel.number : -1,
      final: channel ? channel.final : false,
      closeTxid: settled ? close.txid : null,
      closeHeight: settled ? close.height : null,
      paid,
      closeFee,
      payout: paid - closeFee
    },
    unsigned: amounts.paid - signed,
    unclosed: settled ? 0 : signed,
    formula: `earned = storage ${storage} + uploads ${uploads} + downloads ${downloads} = ${earnedRevs + downloads} sat;`
      + ` due = payable ${amounts.payable} (ended intervals, less ${missedSat} missed) - holdback ${amounts.heldBack}`
      + ` + downloads ${downloads} = ${amounts.paid} sat;`
      + ` received = paid ${paid} - close fee ${closeFee} = ${paid - closeFee} sat`
  };
}

/** Sum of every contract's figures. */
export function earningsTotals(list: readonly ContractEarnings[]): EarningsTotals {
  const t: EarningsTotals = {
    storage: 0, uploads: 0, downloads: 0, missed: 0, earned: 0, heldBack: 0, holdbackReleased: 0, due: 0,
    signed: 0, paid: 0, closeFee: 0, payout: 0
  };
  for (const e of list) {
    t.storage += e.expected.storage;
    t.uploads += e.expected.uploads;
    t.downloads += e.expected.downloads;
    t.missed += e.expected.missed;
    t.earned += e.expected.earned;
    t.heldBack += e.expected.heldBack;
    t.holdbackReleased += e.expected.holdbackReleased;
    t.due += e.expected.due;
    t.signed += e.received.signed;
    t.paid += e.received.paid;
    t.closeFee += e.received.closeFee;
    t.payout += e.received.payout;
  }
  return t;
}
