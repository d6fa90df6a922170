/*!
 * accrual.ts - what a host has earned under a contract, and what a
 * payment-channel state must pay it.
 *
 * One set of functions, run by the renter (to sign states) and by the host
 * (to check them and to print its earnings), over the same signed
 * revisions, so both sides always arrive at the same satoshi. Rules
 * (docs/MARKET.md; prices as in DESIGN 5):
 *
 *   storageCost(bytes, blocks) = floor(storage * bytes * blocks / (2^30 * 1000))
 *   uploadCost(bytes)          = ceil(upload * bytes / 2^30)
 *   downloadCost(bytes)        = ceil(download * bytes / 2^30)
 *   E(h) = r.accrued + storageCost(r.size, min(h, end) - r.height)
 *          for the latest revision r with r.height < h (0 for h <= start):
 *          the cost of blocks [start, h)
 *   interval k = [start + k*I, min(start + (k+1)*I, end)), accrual(k) = E(b) - E(a)
 *   payable = sum of accrual(k) over paid intervals
 *   a state pays floor(payable * (10000 - holdback) / 10000), or the whole
 *   payable in the final state when every interval was paid (holdback
 *   released), plus what was prepaid for downloads.
 *
 * All arithmetic is BigInt inside; every result is a safe integer of sat.
 */

import { GIB, PRICE_BLOCKS } from './common';
import type { Prices } from './pricing';

const BGIB = BigInt(GIB);
const BPRICE_BLOCKS = BigInt(PRICE_BLOCKS);
const BPS = 10000n;

function toSafe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError('amount above 2^53');
  return Number(v);
}

/** Storage of `bytes` for `blocks` at `price` sat/GiB/1000 blocks, rounded down (sat). */
export function storageCost(price: number, bytes: number, blocks: number): number {
  if (blocks <= 0 || bytes <= 0)
    return 0;
  return toSafe(BigInt(price) * BigInt(bytes) * BigInt(blocks) / (BGIB * BPRICE_BLOCKS));
}

/** Transfer of `bytes` at `price` sat/GiB, rounded up (sat). */
export function transferCost(price: number, bytes: number): number {
  if (bytes <= 0)
    return 0;
  const num = BigInt(price) * BigInt(bytes);
  return toSafe((num + BGIB - 1n) / BGIB);
}

/** What accrual needs of a revision (lib/contracts/revision.ts). */
export interface RevisionPoint {
  number: number;
  height: number;
  size: number;
  accrued: number;
}

/** What accrual needs of a contract. */
export interface AccrualTerms {
  startHeight: number;
  endHeight: number;
  auditInterval: number;
  /** Holdback of each state, basis points. */
  holdback: number;
  prices: Prices;
}

/**
 * E(h): sat earned over blocks [start, h) under `revisions` (ascending by
 * number; revision 0 first). A revision at height r counts from block r.
 */
export function earnedAt(terms: AccrualTerms, revisions: readonly RevisionPoint[], h: number): number {
  return earnedParts(terms, revisions, h).earned;
}

/**
 * E(h) and the part of it that uploads accrued, in one pass over the
 * revisions made before h: each revision's accrued less the storage the
 * previous one accrued until it is its upload (PROTOCOL 3.9); the rest
 * of E(h) is storage.
 */
export function earnedParts(terms: AccrualTerms, revisions: readonly RevisionPoint[], h: number)
  : { earned: number; uploads: number } {
  let latest: RevisionPoint | null = null;
  let uploads = 0;
  for (const r of revisions) {
    if (r.height >= h)
      continue;
    uploads += latest ? r.accrued - nextAccrued(terms, latest, r.height, 0) : r.accrued;
    latest = r;
  }
  if (!latest)
    return { earned: 0, uploads: 0 };
  const until = Math.min(h, terms.endHeight);
  return { earned: latest.accrued + storageCost(terms.prices.storage, latest.size, until - latest.height), uploads };
}

/**
 * `accrued` of the next revision, made at `height` on top of `prev`,
 * adding `addedBytes` of new objects: everything earned up to `height`
 * plus their upload.
 */
export function nextAccrued(terms: AccrualTerms, prev: RevisionPoint, height: number, addedBytes: number): number {
  const held = Math.max(0, Math.min(height, terms.endHeight) - prev.height);
  return prev.accrued + storageCost(terms.prices.storage, prev.size, held)
    + transferCost(terms.prices.upload, addedBytes);
}

/**
 * What a revision commits the renter to by the end: what it has accrued
 * plus storage of its size to the end height. The allowance (escrow value)
 * must cover it.
 */
export function projectedCost(terms: AccrualTerms, rev: RevisionPoint): number {
  return rev.accrued + storageCost(terms.prices.storage, rev.size, terms.endHeight - rev.height);
}

/** What one object has cost the renter under its contract (sat). */
export interface ObjectCost {
  /** Upload plus storage from the object's revision height to min(`height`, end). */
  accrued: number;
  /** Upload plus storage from the object's revision height to the contract's end. */
  toEnd: number;
}

/**
 * The cost of one object of `bytes` held from `from` (the height of the
 * revision that added it), seen at `height`; `uploaded` is false for an
 * object a renewal carried over (no upload charged). Rounded per object,
 * so the objects of a contract may add up to a few sat more or less than
 * its revisions' `accrued`, which rounds per revision and is what is paid.
 */
export function objectCost(terms: AccrualTerms, bytes: number, from: number, height: number, uploaded: boolean): ObjectCost {
  const upload = uploaded ? transferCost(terms.prices.upload, bytes) : 0;
  const start = Math.max(from, terms.startHeight);
  return {
    accrued: upload + storageCost(terms.prices.storage, bytes, Math.min(height, terms.endHeight) - start),
    toEnd: upload + storageCost(terms.prices.storage, bytes, terms.endHeight - start)
  };
}

/** One audit interval of a contract. */
export interface Interval {
  index: number;
  /** First block of the interval. */
  from: number;
  /** First block after the interval; its audit runs at or after this height. */
  to: number;
}

/** The audit intervals of a contract, in order. */
export function intervals(terms: AccrualTerms): Interval[] {
  const out: Interval[] = [];
  const step = Math.max(1, terms.auditInterval);
  for (let from = terms.startHeight, index = 0; from < terms.endHeight; from += step, index++)
    out.push({ index, from, to: Math.min(from + step, terms.endHeight) });
  return out;
}

/** Sat accrued during each interval. */
export function intervalAccruals(terms: AccrualTerms, revisions: readonly RevisionPoint[]): number[] {
  return intervals(terms).map(iv => earnedAt(terms, revisions, iv.to) - earnedAt(terms, revisions, iv.from));
}

/**
 * How an interval's audit ended: `passed`; `failed` (the host answered
 * with wrong data: proven loss, nothing is paid from then on); `missed`
 * (unreachable or too slow after retries: that interval is unpaid); null
 * (not audited, e.g. the renter was offline: paid if the next audit passes).
 */
export type AuditOutcome = 'passed' | 'failed' | 'missed' | null;

/** Which intervals are paid, given each interval's outcome (null = not audited yet). */
export function paidIntervals(outcomes: readonly AuditOutcome[]): boolean[] {
  const paid = new Array<boolean>(outcomes.length).fill(false);
  const lost = outcomes.indexOf('failed');
  let nextPassed = false;
  for (let k = outcomes.length - 1; k >= 0; k--) {
    const o = outcomes[k];
    if (o !== null)
      nextPassed = o === 'passed';
    paid[k] = (lost < 0 || k < lost) && (o === 'passed' || (o === null && nextPassed));
  }
  return paid;
}

/** Sat the holdback keeps of `payable`: payable - floor(payable * (10000 - holdback) / 10000). */
export function heldBackOf(terms: AccrualTerms, payable: number): number {
  return payable - toSafe(BigInt(payable) * (BPS - BigInt(terms.holdback)) / BPS);
}

/** The figures of one channel state, itemised so payouts can be printed. */
export interface StateAmounts {
  /** Sat accrued in paid intervals. */
  payable: number;
  /** Sat held back (0 in a final state after all intervals passed). */
  heldBack: number;
  /** Sat prepaid for downloads and other paid requests. */
  prepaid: number;
  /** Cumulative sat the state pays the host: payable - heldBack + prepaid. */
  paid: number;
}

/**
 * What a state pays after the audits so far. `outcomes[k]` is interval k's
 * outcome; intervals past the end of `outcomes` are not due yet. The state
 * is final once the last interval has an outcome (the contract ended); it
 * releases the holdback when every interval is paid (passed, or caught up
 * by a later passed audit).
 */
export function stateAmounts(terms: AccrualTerms, revisions: readonly RevisionPoint[],
  outcomes: readonly AuditOutcome[], prepaid: number): StateAmounts {
  const accruals = intervalAccruals(terms, revisions);
  const due = outcomes.slice(0, accruals.length);
  const paid = paidIntervals(due);
  let payable = 0;
  for (let k = 0; k < paid.length; k++) {
    if (paid[k])
      payable += accruals[k];
  }
  // Final once the last interval has an outcome; an interval the renter
  // never audited (it was offline) counts as paid when the next audit
  // passed, so its absence never keeps the holdback from the host.
  const final = due.length === accruals.length && due.length > 0 && due[due.length - 1] !== null;
  const all = final && paid.every(Boolean);
  // The host's share is rounded down; the rest stays held back until the end.
  const heldBack = all ? 0 : heldBackOf(terms, payable);
  return { payable, heldBack, prepaid, paid: payable - heldBack + prepaid };
}

/** The formula of stateAmounts with the figures filled in, for people. */
export function stateFormula(terms: AccrualTerms, a: StateAmounts): string {
  const hb = a.heldBack === 0 ? '0 (released)' : `${a.heldBack} (${terms.holdback} bps held back)`;
  return `paid = payable ${a.payable} - holdback ${hb} + prepaid ${a.prepaid} = ${a.paid} sat`;
}
