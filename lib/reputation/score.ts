/*!
 * score.ts - the three reputation sources as scores, and the one rule that
 * combines them (docs/REPUTATION.md). Pure integer functions: every input
 * is a count, a sat amount or a trust value in ppb, every output permille.
 */

import {
  OWN_BOOST, OWN_HALF, PEERS_MAX_CONFIDENCE, PRIOR_SCORE, PRIOR_WEIGHT, RATING_HALF_SAT, SCORE_MAX, UNTRUSTED_DEN, UNTRUSTED_NUM
} from './common';

/**
 * What this node itself saw of a counterparty: promises against
 * fulfilment (decloud's "what you think of others").
 */
export interface OwnRecord {
  /** Audits (or checks) of it that passed / failed. */
  passed: number;
  failed: number;
  /** Contracts with it whose escrow settled with sats paid to the host. */
  settled: number;
  /** Contracts with it whose escrow went back to the renter by the refund branch. */
  refunded: number;
  /** Sats settled to the host over those contracts. */
  paid: number;
  /** Retrievals from it that succeeded / failed. */
  retrievals: number;
  retrievalsFailed: number;
}

/** An empty own record. */
export function emptyOwn(): OwnRecord {
  return { passed: 0, failed: 0, settled: 0, refunded: 0, paid: 0, retrievals: 0, retrievalsFailed: 0 };
}

/** A source's verdict: its score and how much it knows (both permille). */
export interface SourceScore {
  score: number;
  confidence: number;
}

/** Successes and failures an own record counts. */
export function ownCounts(r: OwnRecord): { good: number; bad: number } {
  return { good: r.passed + r.settled + r.retrievals, bad: r.failed + r.refunded + r.retrievalsFailed };
}

/**
 * Own records as a score: the mean of Beta(good + 1, bad + 1) (Laplace's
 * rule), confidence n / (n + OWN_HALF) for n observations.
 */
export function ownScore(r: OwnRecord): SourceScore {
  const { good, bad } = ownCounts(r);
  const n = good + bad;
  return {
    score: Math.floor(SCORE_MAX * (good + 1) / (n + 2)),
    confidence: Math.floor(SCORE_MAX * n / (n + OWN_HALF))
  };
}

/** Whether an own record makes its counterparty pre-trusted: something passed, nothing failed. */
export function isPretrusted(r: OwnRecord): boolean {
  return (r.passed > 0 || r.settled > 0) && r.failed === 0 && r.refunded === 0 && r.retrievalsFailed === 0;
}

/** One counted on-chain rating of an identity. */
export interface RatingInput {
  /** Rater identity key (hex). */
  rater: string;
  /** -100..100. */
  score: number;
  /** Sats settled to the host in the rated contract. */
  paid: number;
}

/** How much a rater's settled sats count, given its trust (null: no trust computed, all count). */
export interface RaterTrust {
  /** Trust of each rater, ppb (absent = 0). */
  trust: ReadonlyMap<string, bigint>;
  /** Trust at which a rater counts fully (the teleport share of one pre-trusted peer). */
  full: bigint;
}

/** The on-chain ratings source of one identity. */
export interface RatingsScore extends SourceScore {
  /** Ratings counted (paid > 0). */
  counted: number;
  /** Ratings that weigh nothing: their contract settled 0 sat. */
  unpaid: number;
  /** Sats settled over the counted ratings. */
  settled: number;
  /** Their weight after rater trust (sat; equals `settled` without trust). */
  weight: number;
}

/** Weight of `paid` sats from a rater of trust `t`: UNTRUSTED share at 0, all at `full` and above. */
export function trustWeight(paid: number, t: bigint, full: bigint): bigint {
  if (full <= 0n)
    return BigInt(paid);
  const capped = t < full ? t : full;
  return BigInt(paid) * (UNTRUSTED_NUM * full + (UNTRUSTED_DEN - UNTRUSTED_NUM) * capped) / (UNTRUSTED_DEN * full);
}

/** A -100..100 rating as permille. */
export function ratingPermille(score: number): number {
  return (score + 100) * 5;
}

/**
 * Ratings as a score: their mean weighted by the sats settled to the host
 * in each rated contract (times the rater's trust factor when trust is
 * known); confidence W / (W + RATING_HALF_SAT) for total weight W.
 */
export function ratingsScore(ratings: readonly RatingInput[], raters: RaterTrust | null): RatingsScore {
  let total = 0n;
  let sum = 0n;
  let settled = 0;
  let counted = 0;
  let unpaid = 0;
  for (const r of ratings) {
    // [IGNORE] a rating of a contract that settled nothing weighs nothing
    if (r.paid <= 0) {
      unpaid++;
      continue;
    }
    counted++;
    settled += r.paid;
    const w = raters ? trustWeight(r.paid, raters.trust.get(r.rater) ?? 0n, raters.full) : BigInt(r.paid);
    total += w;
    sum += w * BigInt(ratingPermille(r.score));
  }
  const weight = Number(total);
  return {
    score: total > 0n ? Number(sum / total) : PRIOR_SCORE,
    confidence: Number(BigInt(SCORE_MAX) * total / (total + BigInt(RATING_HALF_SAT))),
    counted,
    unpaid,
    settled,
    weight
  };
}

/** What one peer said of an identity in a signed statement (statement.ts): its own records of it. */
export interface PeerOpinion {
  /** The signer's identity key (hex). */
  signer: string;
  /** The signer's contract index height when it signed. */
  height: number;
  /** The signer's own records of the subject. */
  record: OwnRecord;
}

/** One peer's statement as the peers source counted it. */
export interface PeerWeight extends SourceScore {
  signer: string;
  height: number;
  /** The signer's own records of the subject, as it signed them. */
  record: OwnRecord;
  /** Its weight: the signer's confidence scaled by this node's trust in the signer (permille). */
  weight: number;
}

/** The peers source of one identity (what peers this node trusts saw themselves). */
export interface PeersScore extends SourceScore {
  /** Statements kept about it. */
  statements: number;
  /** Statements that weigh something (a trusted signer that saw something). */
  counted: number;
  /** Each statement with its weight, signers ascending. */
  opinions: PeerWeight[];
}

/**
 * Peers' statements as a score: each signer's own records of the subject
 * (ownScore), weighted by its confidence times this node's trust in the
 * signer (min(t, full) / full: 0 for a signer nobody this node trusts
 * rates, all for a pre-trusted one; nothing without trust); confidence
 * the sum of weights, capped at PEERS_MAX_CONFIDENCE.
 */
export function peersScore(opinions: readonly PeerOpinion[], raters: RaterTrust | null): PeersScore {
  let total = 0n;
  let sum = 0n;
  let counted = 0;
  const out: PeerWeight[] = [];
  for (const o of [...opinions].sort((a, b) => (a.signer < b.signer ? -1 : 1))) {
    const s = ownScore(o.record);
    let w = 0n;
    if (raters && raters.full > 0n) {
      const t = raters.trust.get(o.signer) ?? 0n;
      w = BigInt(s.confidence) * (t < raters.full ? t : raters.full) / raters.full;
    }
    out.push({ signer: o.signer, height: o.height, record: { ...o.record }, ...s, weight: Number(w) });
    // [IGNORE] a signer this node does not trust, or one that saw nothing
    if (w === 0n)
      continue;
    counted++;
    total += w;
    sum += w * BigInt(s.score);
  }
  return {
    score: total > 0n ? Number(sum / total) : PRIOR_SCORE,
    confidence: Number(total < BigInt(PEERS_MAX_CONFIDENCE) ? total : BigInt(PEERS_MAX_CONFIDENCE)),
    statements: opinions.length,
    counted,
    opinions: out
  };
}

/**
 * The combined score: the prior and each source averaged by confidence,
 * own records counted OWN_BOOST times, peers capped at PEERS_MAX_CONFIDENCE.
 *
 *   score = (PRIOR_WEIGHT x PRIOR + OWN_BOOST x c_own x own + c_chain x chain + c_peers x peers)
 *         / (PRIOR_WEIGHT + OWN_BOOST x c_own + c_chain + c_peers)
 */
export function combine(own: SourceScore | null, chain: SourceScore | null, peers: SourceScore | null = null): number {
  let num = PRIOR_WEIGHT * PRIOR_SCORE;
  let den = PRIOR_WEIGHT;
  if (own) {
    num += OWN_BOOST * own.confidence * own.score;
    den += OWN_BOOST * own.confidence;
  }
  if (chain) {
    num += chain.confidence * chain.score;
    den += chain.confidence;
  }
  if (peers) {
    const c = Math.min(peers.confidence, PEERS_MAX_CONFIDENCE);
    num += c * peers.score;
    den += c;
  }
  return Math.floor(num / den);
}
