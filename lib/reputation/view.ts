/*!
 * view.ts - one node's reputation view: every identity the contract index
 * names, with the three sources kept apart (own records, sats-weighted
 * on-chain ratings, personalised EigenTrust) and the combined score.
 *
 * Built from plain contract facts (what the index says of each resolved
 * contract) so it is a pure function of the chain and this node's own
 * records, and unit tests build it from tables.
 */

import { TRUST_ONE, ALPHA_NUM, ALPHA_DEN } from './common';
import { eigenTrust, type TrustEdge, type TrustResult } from './eigentrust';
import {
  combine, emptyOwn, isPretrusted, ownScore, peersScore, ratingsScore, type OwnRecord, type PeerOpinion, type PeersScore,
  type RaterTrust, type RatingInput, type RatingsScore, type SourceScore
} from './score';

/** The effective rating one party gave in a contract. */
export interface RatingFact {
  score: number;
  passed: number;
  failed: number;
  flags: number;
}

/** What the index says of one resolved contract. */
export interface ContractFact {
  /** Contract id (hex). */
  id: string;
  /** Identity keys (33-byte hex). */
  renter: string;
  host: string;
  /** Escrow spent by the two-party branch / by the refund branch. */
  settled: boolean;
  refunded: boolean;
  /** Sats the settle paid to the host (0 unless settled). */
  paid: number;
  /** Effective ratings: by the renter (of the host), by the host (of the renter). */
  byRenter: RatingFact | null;
  byHost: RatingFact | null;
}

/** Rating flag: the rater could not retrieve its data (PROTOCOL 3.4). */
export const RETRIEVAL_FAILED = 2;

/** One identity's reputation in this node's view. */
export interface Reputation {
  /** Identity key (33-byte hex). */
  identity: string;
  /** What this node saw itself, or null if it never dealt with it. */
  own: (OwnRecord & SourceScore) | null;
  /** On-chain ratings others gave it, weighted by settled sats (and rater trust). */
  ratings: RatingsScore;
  /** What peers said of it in signed statements, weighted by this node's trust in each signer. */
  peers: PeersScore;
  /** Its EigenTrust value (ppb) and whether this node pre-trusts it; null when this node pre-trusts nobody. */
  trust: { value: number; pretrusted: boolean } | null;
  /** Combined score, permille. */
  score: number;
  /** True if any source knows something of it (own records, counted ratings or counted statements). */
  known: boolean;
}

/** The whole view. */
export interface ReputationView {
  /** This node's identity key (hex). */
  me: string;
  identities: Map<string, Reputation>;
  /** EigenTrust run, null without pre-trust. */
  trust: TrustResult | null;
  /** How each rater's weight scales with its trust, null without pre-trust. */
  raters: RaterTrust | null;
}

/** Own records of this node with each counterparty, from the contracts it is party to. */
export function ownRecords(facts: readonly ContractFact[], me: string): Map<string, OwnRecord> {
  const out = new Map<string, OwnRecord>();
  for (const f of facts) {
    const isRenter = f.renter === me;
    if (!isRenter && f.host !== me)
      continue;
    const other = isRenter ? f.host : f.renter;
    // [IGNORE] a contract with ourselves says nothing about anyone
    if (other === me)
      continue;
    const r = out.get(other) ?? emptyOwn();
    if (f.settled && f.paid > 0) {
      r.settled++;
      r.paid += f.paid;
    }
    if (f.refunded)
      r.refunded++;
    // Our own rating carries the audit counts we published.
    const mine = isRenter ? f.byRenter : f.byHost;
    if (mine) {
      r.passed += mine.passed;
      r.failed += mine.failed;
      if (mine.flags & RETRIEVAL_FAILED)
        r.retrievalsFailed++;
    }
    out.set(other, r);
  }
  return out;
}

/**
 * Build the view. `extra` holds own records other extensions keep (audit
 * records, retrievals) per counterparty; a field it sets replaces what the
 * index alone suggests (audit records are more exact than the counts in
 * our own ratings). `opinions` holds peers' signed statements per subject
 * (the caller dropped stale ones); a signer's statement about itself, or
 * one signed by this node, is not counted.
 */
export function buildView(facts: readonly ContractFact[], me: string,
  extra: ReadonlyMap<string, Partial<OwnRecord>> = new Map(),
  opinions: ReadonlyMap<string, readonly PeerOpinion[]> = new Map()): ReputationView {
  const own = ownRecords(facts, me);
  for (const [who, rec] of extra) {
    if (who === me)
      continue;
    own.set(who, { ...(own.get(who) ?? emptyOwn()), ...rec });
  }
  const edges: TrustEdge[] = [];
  const received = new Map<string, RatingInput[]>();
  const identities = new Set<string>();
  for (const f of facts) {
    identities.add(f.renter);
    identities.add(f.host);
    for (const [rater, rated, r] of [[f.renter, f.host, f.byRenter], [f.host, f.renter, f.byHost]] as const) {
      // [IGNORE] a contract between one identity and itself
      if (!r || rater === rated)
        continue;
      edges.push({ from: rater, to: rated, paid: f.paid, score: r.score });
      // Our own ratings are our own records, not others' opinion.
      if (rater === me)
        continue;
      const list = received.get(rated) ?? [];
      list.push({ rater, score: r.score, paid: f.paid });
      received.set(rated, list);
    }
  }
  for (const who of own.keys())
    identities.add(who);
  for (const who of opinions.keys()) {
    if (who !== me)
      identities.add(who);
  }
  const pretrust = [...own.entries()].filter(([, r]) => isPretrusted(r)).map(([who]) => who);
  const trust = eigenTrust(edges, pretrust);
  const raters: RaterTrust | null = trust
    ? { trust: trust.trust, full: TRUST_ONE * ALPHA_NUM / ALPHA_DEN / BigInt(trust.pretrusted.length) }
    : null;
  const pre = new Set(pretrust);
  const out = new Map<string, Reputation>();
  for (const who of [...identities].sort()) {
    const o = own.get(who);
    const ownPart = o ? { ...o, ...ownScore(o) } : null;
    const ratings = ratingsScore(received.get(who) ?? [], raters);
    // [IGNORE] what a signer says of itself, and our own statements coming back
    const said = (opinions.get(who) ?? []).filter((o) => o.signer !== who && o.signer !== me);
    const peers = peersScore(said, raters);
    out.set(who, {
      identity: who,
      own: ownPart,
      ratings,
      peers,
      trust: trust ? { value: Number(trust.trust.get(who) ?? 0n), pretrusted: pre.has(who) } : null,
      score: combine(ownPart, ratings.counted > 0 ? ratings : null, peers.counted > 0 ? peers : null),
      known: (ownPart !== null && ownPart.confidence > 0) || ratings.counted > 0 || peers.counted > 0
    });
  }
  return { me, identities: out, trust, raters };
}

/** The reputation of an identity the view has never seen: the prior, nothing known. */
export function unknownReputation(identity: string, view: ReputationView): Reputation {
  return {
    identity,
    own: null,
    ratings: ratingsScore([], null),
    peers: peersScore([], null),
    trust: view.trust ? { value: 0, pretrusted: false } : null,
    score: combine(null, null),
    known: false
  };
}
