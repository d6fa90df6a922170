/*!
 * eigentrust.ts - personalised EigenTrust (Kamvar, Schlosser, Garcia-Molina
 * 2003, section 4.5 "pre-trusted peers") over the on-chain rating graph,
 * in exact integer arithmetic.
 *
 *   s_ij = max(0, sum over i's effective ratings of j of paid x score / 100)
 *   c_ij = s_ij / sum_k s_ik        (a row with no positive edge: c_i = p)
 *   t(0) = p,  t(k+1) = (1 - a) C^T t(k) + a p
 *
 * p is this node's pre-trust (its own counterparties whose audits passed),
 * uniform over them. Every product and quotient is BigInt, floors included,
 * nodes are visited in ascending key order and the iteration stops after
 * MAX_ITERATIONS or once the L1 change is at most EPSILON: the result is the
 * same bit for bit on every node that sees the same graph.
 */

import { ALPHA_DEN, ALPHA_NUM, EPSILON, MAX_ITERATIONS, TRUST_ONE } from './common';

/** One effective rating as a trust edge: `from` rated `to`. */
export interface TrustEdge {
  /** Rater identity key (hex). */
  from: string;
  /** Rated identity key (hex). */
  to: string;
  /** Sats settled to the host in the rated contract (0 weighs nothing). */
  paid: number;
  /** Rating score, -100..100. */
  score: number;
}

/** The trust vector and how it was reached. */
export interface TrustResult {
  /** Trust per identity in parts per billion (TRUST_ONE); absent = 0. */
  trust: Map<string, bigint>;
  /** Iterations run. */
  iterations: number;
  /** L1 change of the last iteration (ppb). */
  delta: bigint;
  /** Pre-trusted identities, ascending. */
  pretrusted: string[];
}

/** Local trust s_ij per rater, summed over its ratings, negatives cut at 0 (EigenTrust's max(s_ij, 0)). */
export function localTrust(edges: readonly TrustEdge[]): Map<string, Map<string, bigint>> {
  const sums = new Map<string, Map<string, bigint>>();
  for (const e of edges) {
    // [IGNORE] a self-rating, or one of a contract that settled nothing
    if (e.from === e.to || e.paid <= 0)
      continue;
    let row = sums.get(e.from);
    if (!row) {
      row = new Map();
      sums.set(e.from, row);
    }
    // paid x score / 100, kept x100 so no precision is lost before the normalisation.
    row.set(e.to, (row.get(e.to) ?? 0n) + BigInt(e.paid) * BigInt(e.score));
  }
  for (const [from, row] of sums) {
    for (const [to, v] of row) {
      if (v <= 0n)
        row.delete(to);
    }
    if (row.size === 0)
      sums.delete(from);
  }
  return sums;
}

/**
 * Personalised EigenTrust. Returns null when there is no pre-trust (this
 * node has no counterparty whose audits passed): there is then nobody to
 * start trusting from, and the caller falls back to sats-weighted ratings.
 */
export function eigenTrust(edges: readonly TrustEdge[], pretrust: readonly string[]): TrustResult | null {
  const pre = [...new Set(pretrust)].sort();
  if (pre.length === 0)
    return null;
  const local = localTrust(edges);
  const keys = new Set<string>(pre);
  for (const [from, row] of local) {
    keys.add(from);
    for (const to of row.keys())
      keys.add(to);
  }
  const nodes = [...keys].sort();
  const index = new Map(nodes.map((k, i) => [k, i]));
  const n = nodes.length;

  // p: uniform over the pre-trusted, the remainder of the floor on the first ones (sums to TRUST_ONE exactly).
  const p: bigint[] = new Array(n).fill(0n);
  const share = TRUST_ONE / BigInt(pre.length);
  let rest = TRUST_ONE - share * BigInt(pre.length);
  for (const k of pre) {
    p[index.get(k)!] = share + (rest > 0n ? 1n : 0n);
    if (rest > 0n)
      rest -= 1n;
  }

  // Rows in node order, edges in target order.
  const rows: Array<{ total: bigint; out: Array<[number, bigint]> } | null> = nodes.map((k) => {
    const row = local.get(k);
    if (!row || row.size === 0)
      return null;
    const out = [...row.entries()].map(([to, v]): [number, bigint] => [index.get(to)!, v]).sort((a, b) => a[0] - b[0]);
    return { total: out.reduce((s, [, v]) => s + v, 0n), out };
  });

  let t = [...p];
  let iterations = 0;
  let delta = 0n;
  while (iterations < MAX_ITERATIONS) {
    const next: bigint[] = new Array(n).fill(0n);
    let dangling = 0n;
    for (let i = 0; i < n; i++) {
      const ti = t[i];
      if (ti === 0n)
        continue;
      const row = rows[i];
      if (!row) {
        // A rater with no positive edge hands its trust to the pre-trusted.
        dangling += ti;
        continue;
      }
      for (const [j, v] of row.out)
        next[j] += ti * v / row.total;
    }
    // (1 - a) C^T t + a p, with the dangling mass following p.
    for (let j = 0; j < n; j++) {
      const walk = next[j] + (p[j] === 0n ? 0n : dangling * p[j] / TRUST_ONE);
      next[j] = walk * (ALPHA_DEN - ALPHA_NUM) / ALPHA_DEN + p[j] * ALPHA_NUM / ALPHA_DEN;
    }
    delta = 0n;
    for (let j = 0; j < n; j++)
      delta += next[j] > t[j] ? next[j] - t[j] : t[j] - next[j];
    t = next;
    iterations++;
    if (delta <= EPSILON)
      break;
  }
  const trust = new Map<string, bigint>();
  for (let i = 0; i < n; i++) {
    if (t[i] > 0n)
      trust.set(nodes[i], t[i]);
  }
  return { trust, iterations, delta, pretrusted: pre };
}
