/*!
 * rater.ts - ratings published on their own (`--rate auto`).
 *
 * After every block the index connects, each contract this node is party
 * to is checked against what is stored (never against memory, so a
 * restart changes nothing): the index's state and escrow spend, the audit
 * records (an AuditSource the deals extension registers), and the
 * effective rating this node already has on chain or waiting in its
 * wallet. planRating decides; the rating goes out through the contracts
 * extension's rate() (PROTOCOL 3.4) if its fee stays under the cap.
 *
 *   renter, escrow settled or refunded     final rating of the host, score from the audits
 *   renter, a failed audit, or threshold    rating of the host (not final), once per new failure
 *     missed ones in a row
 *   host, escrow refunded                  final rating of the renter: -100, non-payment
 *   host, escrow settled with sats paid    final rating of the renter: 100
 */

import type bcoin from 'bcoin';
import { Rerunner } from '../base/rerun';
import { decodeRating, findPayload } from '../contracts/payload';
import * as contractsCommon from '../contracts/common';
import { feeFor } from '../contracts/builders';
import type { ContractInfo, RatingInfo } from '../contracts/contractqueries';
import type { ContractsPlugin } from '../contracts/plugin';
import { settledToHost } from './plugin';

const flags = contractsCommon.ratingFlags;

/** A contract's audits as the renter recorded them. */
export interface ContractAudits {
  passed: number;
  /** Wrong data. */
  failed: number;
  /** No complete answer in the interval's window. */
  missed: number;
  /** Failed or missed audits since the last passed one. */
  consecutiveBad: number;
  /** Retrievals that failed. */
  retrievalsFailed: number;
}

/**
 * Counts from a contract's audit outcomes in interval order (the deals
 * extension's records): passed, failed, missed, and the failed or missed
 * ones since the last pass.
 */
export function auditCounts(outcomes: readonly string[], retrievalsFailed = 0): ContractAudits {
  const out: ContractAudits = { passed: 0, failed: 0, missed: 0, consecutiveBad: 0, retrievalsFailed };
  for (const o of outcomes) {
    if (o === 'passed') {
      out.passed++;
      out.consecutiveBad = 0;
      continue;
    }
    if (o === 'failed')
      out.failed++;
    else
      out.missed++;
    out.consecutiveBad++;
  }
  return out;
}

/** The renter's audit records of one contract, or null when it has none. */
export type AuditSource = (contractId: Buffer) => Promise<ContractAudits | null>;

/** What to publish for one contract. */
export interface RatingPlan {
  score: number;
  passed: number;
  failed: number;
  flags: number;
  /** Why, for the log. */
  reason: 'settled' | 'refunded' | 'audits';
}

/** Settings of the rater (flags `--rate`, `--rate-fee-cap`, `--rate-fail-threshold`). */
export interface RaterOptions {
  auto: boolean;
  /** Most a rating may cost in fees (sat), its funding tx included. */
  feeCap: number;
  /** Bad audits in a row after which the renter rates a host before the contract ends. */
  failThreshold: number;
}

/** Rating score from audit counts: 100 x (passed - bad) / (passed + bad), rounded down. */
export function auditScore(passed: number, bad: number): number {
  return Math.floor(100 * (passed - bad) / (passed + bad));
}

/**
 * What this node should publish for a contract it is party to, or null.
 * Pure: `info` from the index, `audits` from the renter's records (null
 * for a host, or a renter with none), `mine` this node's effective rating.
 */
export function planRating(role: 'renter' | 'host', info: ContractInfo, audits: ContractAudits | null,
  mine: RatingInfo | null, failThreshold: number): RatingPlan | null {
  // [SKIP] already rated for good
  if (mine && (mine.flags & flags.FINAL))
    return null;
  const spend = info.spend;
  if (role === 'host') {
    if (!spend)
      return null;
    if (spend.type === 'refunded')
      return { score: -100, passed: 0, failed: 0, flags: flags.FINAL | flags.NON_PAYMENT, reason: 'refunded' };
    // [SKIP] a settle that paid nothing says nothing of the renter
    if (settledToHost(spend) === 0)
      return null;
    return { score: 100, passed: 0, failed: 0, flags: flags.FINAL, reason: 'settled' };
  }
  const passed = audits?.passed ?? 0;
  const bad = (audits?.failed ?? 0) + (audits?.missed ?? 0);
  const retrieval = audits && audits.retrievalsFailed > 0 ? flags.RETRIEVAL_FAILED : 0;
  if (spend) {
    const early = spend.type === 'settled' && spend.height < info.contract.endHeight ? flags.EARLY_EXIT : 0;
    const f = flags.FINAL | early | retrieval;
    if (passed + bad > 0)
      return { score: auditScore(passed, bad), passed, failed: bad, flags: f, reason: spend.type };
    // Nothing audited: a settle that paid the host still says it served; a bare refund says nothing.
    if (spend.type === 'settled' && settledToHost(spend) > 0)
      return { score: 50, passed: 0, failed: 0, flags: f, reason: 'settled' };
    return null;
  }
  // [SKIP] no proven loss (wrong data ends the audits at once) and fewer bad audits in a row than the
  // threshold, or this failure already published
  if (!audits || (audits.failed === 0 && audits.consecutiveBad < failThreshold) || (mine && mine.failed >= bad))
    return null;
  return { score: auditScore(passed, bad), passed, failed: bad, flags: retrieval, reason: 'audits' };
}

/** Upper bound of what a rating costs in fees (sat) at `rate` sat/kvB: the rating tx and a funding tx. */
export function ratingFeeBound(rate: number): number {
  // The rating tx measures 171 vB (builders.sendRating), a one-output funding tx less: 200 vB each bounds both.
  return 2 * feeFor(200, rate);
}

/** Publishes ratings on its own after each block. */
export class Rater {
  private closed = false;
  private readonly runner = new Rerunner(() => this.run(),
    (e) => this.logger.warning('reputation: rating run failed: %s', e.message), () => this.closed);
  /** Ratings published, for tests and the log: contract id (hex) -> txid. */
  readonly published = new Map<string, string>();

  constructor(private readonly contracts: ContractsPlugin, private readonly options: RaterOptions,
    private readonly audits: () => AuditSource | null, private readonly logger: bcoin.Logger) {}

  /** Run the check now (or once more after the run in progress). Never throws. */
  kick(): Promise<void> {
    if (!this.options.auto || this.closed)
      return Promise.resolve();
    return this.runner.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.runner.idle();
  }

  /** Contract ids (hex) our wallet holds an unconfirmed rating of. */
  private async pendingRatings(me: Buffer): Promise<Set<string>> {
    const out = new Set<string>();
    for (const { tx } of await this.contracts.walletContext().wallet.getPending()) {
      const found = findPayload(tx);
      const input = tx.inputs[0];
      if (!found || !input || input.witness.items.length !== 2 || !input.witness.items[1].equals(me))
        continue;
      try {
        out.add(decodeRating(found.data).id.toString('hex'));
      } catch {
        // not a rating
      }
    }
    return out;
  }

  private async run(): Promise<void> {
    const identity = await this.contracts.identity();
    const me = identity.publicKey;
    const rate = this.contracts.walletContext().feeRate ?? contractsCommon.getParams(this.contracts.network).feeRate;
    let pending: Set<string> | null = null;
    for (const { id, role } of await this.contracts.index.queries.getIdentityContracts(me)) {
      if (this.closed)
        return;
      const info = await this.contracts.getContract(id);
      if (!info || !info.commit || info.state === 'void' || info.state === 'pending')
        continue;
      const ours = role === contractsCommon.roles.RENTER ? 'renter' : 'host';
      const source = ours === 'renter' ? this.audits() : null;
      const plan = planRating(ours, info, source ? await source(id) : null, info.ratings[ours], this.options.failThreshold);
      if (!plan)
        continue;
      pending ??= await this.pendingRatings(me);
      // [SKIP] a rating of ours for it is on its way
      if (pending.has(info.id))
        continue;
      const bound = ratingFeeBound(rate);
      if (bound > this.options.feeCap) {
        this.logger.warning('reputation: not rating %s: up to %d sat in fees is above --rate-fee-cap %d',
          info.id, bound, this.options.feeCap);
        continue;
      }
      const tx = await this.contracts.rate(id, plan.score, { passed: plan.passed, failed: plan.failed, flags: plan.flags });
      pending.add(info.id);
      this.published.set(info.id, tx.txid());
      this.logger.info('reputation: rated %s %d (%s): %s', info.id, plan.score, plan.reason, tx.txid());
    }
  }
}
