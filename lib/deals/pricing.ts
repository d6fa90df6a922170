/*!
 * pricing.ts - what a contract costs, and how a renter picks hosts.
 *
 * Prices (DESIGN 5): storage in sat per GiB per 1000 blocks, upload and
 * download in sat per GiB. The formula is printed to users as-is, so payouts
 * are never opaque.
 */

import { NEW_HOST_EVERY, PRIOR_SCORE, SCORE_FLOOR } from '../reputation/common';
import { DEFAULT_ALLOWANCE_BYTES, GIB, PRICE_BLOCKS } from './common';

export interface Prices {
  storage: number;
  upload: number;
  download: number;
}

/** Storage for `duration` blocks plus one upload of `size` bytes, in sat. */
export function contractCost(size: number, duration: number, prices: Prices): number {
  const gib = size / GIB;
  return Math.ceil(prices.storage * gib * duration / PRICE_BLOCKS + prices.upload * gib);
}

/** The formula behind contractCost, for people. */
export function costFormula(size: number, duration: number, prices: Prices): string {
  return `ceil(${prices.storage} sat/GiB/1000 blocks x ${(size / GIB).toFixed(6)} GiB x ${duration} blocks / 1000`
    + ` + ${prices.upload} sat/GiB x ${(size / GIB).toFixed(6)} GiB) = ${contractCost(size, duration, prices)} sat`;
}

/** Escrow locked for a contract: its cost, but never under the minimum. */
export function escrowValue(cost: number, minEscrow: number): number {
  return Math.max(cost, minEscrow);
}

/**
 * Allowance of a new contract when the renter names none: storage and
 * upload of DEFAULT_ALLOWANCE_BYTES (or the first object, if larger) for
 * the whole duration at these prices, never under the minimum escrow.
 */
export function defaultAllowance(size: number, duration: number, prices: Prices, minEscrow: number): number {
  return Math.max(minEscrow, contractCost(Math.max(size, DEFAULT_ALLOWANCE_BYTES), duration, prices));
}

/** One host's answer to a quote, as the chooser sees it. */
export interface QuotedHost<T> {
  host: T;
  prices: Prices;
  freeCapacity: number;
  maxDuration: number;
}

/**
 * The renter's cap applies to every price a host charges (storage, upload,
 * download), so no price component can run away with the escrow.
 */
export function withinPrice(p: Prices, maxPrice: number): boolean {
  return p.storage <= maxPrice && p.upload <= maxPrice && p.download <= maxPrice;
}

/** A host's reputation as the chooser sees it (lib/reputation: permille score, whether anything is known). */
export interface HostScore {
  score: number;
  known: boolean;
}

/**
 * Why the renter neither reuses a contract with a host nor dials it for a
 * new one, or null: its audits failed (this node's auditor found wrong data
 * in `failedAudits` of its contracts: a proven loss), or its reputation
 * score is below `minScore` (docs/REPUTATION.md, "Choosing hosts").
 */
export function avoidReason(failedAudits: number, score: HostScore | null, minScore: number | undefined): string | null {
  if (failedAudits > 0)
    return `audits failed (wrong data in ${failedAudits} of its contracts)`;
  if (score && minScore !== undefined && score.score < minScore)
    return `reputation score ${score.score}${score.known ? '' : ' (unknown host)'} below --min-score ${minScore}`;
  return null;
}

/** How chooseHosts weighs reputation. */
export interface RankOptions<T> {
  /** Each host's reputation; without it every host ranks by price alone. */
  scoreOf?: (host: T) => HostScore;
  /** Hosts scoring below this are not chosen (unknown hosts score the prior). */
  minScore?: number;
  /** Hosts the caller wants: a share of the first `wanted` places is kept for unknown hosts. */
  wanted?: number;
  /** The last tie-break (the identity key, hex); without it, ties keep the input order. */
  keyOf?: (host: T) => string;
}

/**
 * Whether host a ranks before host b: the larger (score + SCORE_FLOOR) per
 * sat of cost, compared exactly by cross-multiplication; then the lower
 * storage price, then the smaller key (`tie`), so the order is total.
 */
function ranksBefore(a: { cost: number; s: number; storage: number; tie: string },
  b: { cost: number; s: number; storage: number; tie: string }): number {
  const va = BigInt(a.s + SCORE_FLOOR) * BigInt(b.cost + 1);
  const vb = BigInt(b.s + SCORE_FLOOR) * BigInt(a.cost + 1);
  if (va !== vb)
    return va > vb ? -1 : 1;
  return a.storage - b.storage || (a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0);
}

/**
 * Choose up to `count` hosts: those that can hold `size` for `duration`
 * with every price within `maxPrice` (and a score of at least `minScore`),
 * ranked by one function of price and reputation (docs/REPUTATION.md,
 * "Choosing hosts"):
 *
 *   value = (score + SCORE_FLOOR) / (contractCost + 1)     larger first
 *
 * so a host twice as well rated may ask about twice the price. Unknown
 * hosts score the prior (below the middle: never first at equal price, and
 * never excluded); among the first `wanted` places, floor(wanted /
 * NEW_HOST_EVERY) go to the best unknown hosts if the ranking left them
 * out, so a new host always has a bounded chance. Without reputation this
 * is the cheapest-first choice. A single function, replaceable as a whole.
 */
export function chooseHosts<T>(quotes: QuotedHost<T>[], count: number, size: number, duration: number,
  maxPrice: number, rank: RankOptions<T> = {}): QuotedHost<T>[] {
  const scored = quotes
    .filter((q) => q.freeCapacity >= size && q.maxDuration >= duration && withinPrice(q.prices, maxPrice))
    .map((q) => {
      const sc = rank.scoreOf ? rank.scoreOf(q.host) : { score: PRIOR_SCORE, known: true };
      return { q, sc, cost: contractCost(size, duration, q.prices), s: sc.score, storage: q.prices.storage,
        tie: rank.keyOf ? rank.keyOf(q.host) : '' };
    })
    .filter((x) => rank.minScore === undefined || x.s >= rank.minScore)
    .sort(ranksBefore);
  const wanted = Math.min(rank.wanted ?? count, scored.length);
  const explore = rank.scoreOf ? Math.floor(wanted / NEW_HOST_EVERY) : 0;
  const head = scored.slice(0, wanted);
  const tail = scored.slice(wanted);
  // Exploration: the best unknown hosts outside the first places replace the last known ones in them.
  let missing = explore - head.filter((x) => !x.sc.known).length;
  while (missing > 0) {
    const ni = tail.findIndex((x) => !x.sc.known);
    const ki = head.map((x) => x.sc.known).lastIndexOf(true);
    if (ni < 0 || ki < 0)
      break;
    const [newcomer] = tail.splice(ni, 1);
    const [bumped] = head.splice(ki, 1, newcomer);
    tail.unshift(bumped);
    missing--;
  }
  return [...head, ...tail].slice(0, count).map((x) => x.q);
}

/** Audit interval (blocks) both sides derive from the duration: the network's, at most the duration. */
export function auditTerms(duration: number, interval: number): number {
  return Math.max(1, Math.min(interval, duration));
}
