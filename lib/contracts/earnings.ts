/*!
 * earnings.ts - what a host has earned under a contract and what it was
 * paid, itemised so the two reconcile line by line.
 *
 * Expected amounts come from the contract's signed revisions through the
 * shared accrual functions (lib/deals/accrual.ts: earnedAt, storageCost,
 * stateAmounts), never from a formula of our own; received amounts come
 * from the host's latest channel state (channelstore.ts) and the close as
 * the chain index recorded it (contractqueries.ts `spend`). All sat.
 *
 *   earned(h)  = storage + uploads                  E(min(h, end)), PROTOCOL 3.9
 *   uploads    = accrued_0 + sum (accrued_i - accrued_i-1 - storageCost(size_i-1, height_i - height_i-1))
 *   storage    = earned - uploads
 *   due        = stateAmounts(intervals ended by h, each passed) + downloads
 *              = payable - heldBack + downloads
 *   signed     = the latest state's paid
 *   received   = close paid - close fee (the host's payout output)
 */

import type { StorageContract } from './storagecontract';
import {
  type AuditOutcome, type RevisionPoint, earnedAt, heldBackOf, intervals, stateAmounts, storageCost
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
    /** storage + uploads + downloads. */
    earned: number;
    /** What the holdback keeps of the intervals ended by `height` (0 once released). */
    heldBack: number;
    /** The holdback the final state releases once every interval ended and passed (0 before). */
    holdbackReleased: number;
    /** What a state should pay now if every ended interval's audit passed: payable - heldBack + downloads. */
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
 * Uploads accrued by revisions made before `h`: each revision's accrued
 * less the storage the previous one accrued until it (PROTOCOL 3.9).
 */
function uploadsBy(contract: StorageContract, revisions: readonly RevisionPoint[], h: number): number {
  let uploads = 0;
  let prev: RevisionPoint | null = null;
  for (const r of revisions) {
    if (r.height >= h && prev)
      break;
    if (!prev)
      uploads += r.accrued;
    else {
      const held = Math.max(0, Math.min(r.height, contract.endHeight) - prev.height);
      uploads += r.accrued - prev.accrued - storageCost(contract.storagePrice, prev.size, held);
    }
    prev = r;
  }
  return uploads;
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
  const earnedRevs = revisions.length ? earnedAt(terms, revisions, height) : 0;
  const uploads = revisions.length && height > contract.startHeight ? uploadsBy(contract, revisions, height) : 0;
  const storage = earnedRevs - uploads;
  // Intervals ended by `height`, each counted as passed: the most the
  // renter's states should pay by now.
  const ended = intervals(terms).filter(iv => iv.to <= height);
  const outcomes: AuditOutcome[] = ended.map(() => 'passed');
  const amounts = revisions.length
    ? stateAmounts(terms, revisions, outcomes, downloads)
    : { payable: 0, heldBack: 0, prepaid: downloads, paid: downloads };
  const allEnded = ended.length === intervals(terms).length;
  // Once every interval ended (and passed) the final state pays the holdback too.
  const released = allEnded ? heldBackOf(terms, amounts.payable) : 0;
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
      + ` due = payable ${amounts.payable} - holdback ${amounts.heldBack} + downloads ${downloads} = ${amounts.paid} sat;`
      + ` received = paid ${paid} - close fee ${closeFee} = ${paid - closeFee} sat`
  };
}

/** Sum of every contract's figures. */
export function earningsTotals(list: readonly ContractEarnings[]): EarningsTotals {
  const t: EarningsTotals = {
    storage: 0, uploads: 0, downloads: 0, earned: 0, heldBack: 0, holdbackReleased: 0, due: 0,
    signed: 0, paid: 0, closeFee: 0, payout: 0
  };
  for (const e of list) {
    t.storage += e.expected.storage;
    t.uploads += e.expected.uploads;
    t.downloads += e.expected.downloads;
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
