// The reputation math (lib/reputation): own records, sats-weighted ratings,
// personalised EigenTrust and the combined score, as deterministic tables,
// and the attacks docs/REPUTATION.md names, at the level of the view.
import t from 'tap';
import {
  buildView, combine, eigenTrust, emptyOwn, isPretrusted, localTrust, ownScore, ratingsScore, trustWeight,
  type ContractFact, type OwnRecord
} from '../lib/reputation';
import * as common from '../lib/reputation/common';

const key = (c: string): string => `02${c.repeat(64)}`;
const ME = key('0');
const HONEST = key('a');
const R1 = key('1');
const R2 = key('2');

function own(r: Partial<OwnRecord>): OwnRecord {
  return { ...emptyOwn(), ...r };
}

function fact(id: string, renter: string, host: string, paid: number, byRenter: number | null,
  byHost: number | null = null, extra: Partial<ContractFact> = {}): ContractFact {
  const rating = (score: number | null) => score === null ? null : { score, passed: 0, failed: 0, flags: 1 };
  return {
    id, renter, host, settled: paid > 0, refunded: false, paid, byRenter: rating(byRenter), byHost: rating(byHost), ...extra
  };
}

t.test('ownScore', async (t) => {
  t.test('should follow Laplace\'s rule with confidence n / (n + 2)', async (t) => {
    const cases: Array<[Partial<OwnRecord>, number, number]> = [
      [{}, 500, 0],
      [{ passed: 1 }, 666, 333],
      [{ passed: 2 }, 750, 500],
      [{ passed: 8, settled: 1 }, 909, 818],
      [{ failed: 2 }, 250, 500],
      [{ passed: 3, failed: 1 }, 666, 666],
      [{ refunded: 1 }, 333, 333],
      [{ retrievals: 1, retrievalsFailed: 1 }, 500, 500]
    ];
    for (const [r, score, confidence] of cases)
      t.same(ownScore(own(r)), { score, confidence }, JSON.stringify(r));
  });

  t.test('should pre-trust only counterparties with a pass and no failure', async (t) => {
    t.equal(isPretrusted(own({ passed: 1 })), true);
    t.equal(isPretrusted(own({ settled: 1 })), true);
    t.equal(isPretrusted(own({})), false);
    t.equal(isPretrusted(own({ passed: 5, failed: 1 })), false);
    t.equal(isPretrusted(own({ settled: 2, refunded: 1 })), false);
    t.equal(isPretrusted(own({ passed: 2, retrievalsFailed: 1 })), false);
  });
});

t.test('ratingsScore', async (t) => {
  t.test('should weigh each rating by the sats settled to the host', async (t) => {
    const r = ratingsScore([
      { rater: R1, score: 100, paid: 30_000 },
      { rater: R2, score: -100, paid: 10_000 },
      { rater: R2, score: -100, paid: 0 }
    ], null);
    // (30000 x 1000 + 10000 x 0) / 40000 = 750; 1000 x 40000 / 140000 = 285
    t.same(r, { score: 750, confidence: 285, counted: 2, unpaid: 1, settled: 40_000, weight: 40_000 });
  });

  t.test('should give the prior and no confidence when nothing settled', async (t) => {
    const r = ratingsScore([{ rater: R1, score: 100, paid: 0 }], null);
    t.same(r, { score: common.PRIOR_SCORE, confidence: 0, counted: 0, unpaid: 1, settled: 0, weight: 0 });
  });

  t.test('should scale a rater\'s sats by its trust', async (t) => {
    const full = 1000n;
    t.equal(trustWeight(8000, 0n, full), 2000n, 'untrusted: a quarter');
    t.equal(trustWeight(8000, 500n, full), 5000n, 'half way');
    t.equal(trustWeight(8000, 1000n, full), 8000n, 'full');
    t.equal(trustWeight(8000, 5000n, full), 8000n, 'capped');
    const r = ratingsScore([{ rater: R1, score: 100, paid: 8000 }, { rater: R2, score: 0, paid: 8000 }],
      { trust: new Map([[R1, 1000n]]), full });
    // weights 8000 (trusted) and 2000: (8000 x 1000 + 2000 x 500) / 10000
    t.same(r, { score: 900, confidence: 90, counted: 2, unpaid: 0, settled: 16_000, weight: 10_000 });
  });
});

t.test('combine', async (t) => {
  t.test('should average the prior and each source by confidence', async (t) => {
    const cases: Array<[Parameters<typeof combine>, number]> = [
      [[null, null], 400],
      [[{ score: 1000, confidence: 500 }, null], 700],
      [[null, { score: 1000, confidence: 500 }], 600],
      [[{ score: 0, confidence: 1000 }, { score: 1000, confidence: 1000 }], 350],
      [[{ score: 900, confidence: 818 }, { score: 925, confidence: 545 }], 747]
    ];
    for (const [args, want] of cases)
      t.equal(combine(...args), want, JSON.stringify(args));
  });
});

t.test('eigenTrust', async (t) => {
  t.test('should be null without pre-trust', async (t) => {
    t.equal(eigenTrust([{ from: R1, to: HONEST, paid: 1000, score: 50 }], []), null);
  });

  t.test('should drop self-ratings, unpaid and net negative edges', async (t) => {
    const local = localTrust([
      { from: R1, to: R1, paid: 5000, score: 100 },
      { from: R1, to: HONEST, paid: 0, score: 100 },
      { from: R1, to: R2, paid: 5000, score: -20 },
      { from: R1, to: R2, paid: 1000, score: 50 },
      { from: R2, to: HONEST, paid: 2000, score: 10 }
    ]);
    t.same([...local.keys()], [R2]);
    t.same([...local.get(R2)!.entries()], [[HONEST, 20_000n]]);
  });

  t.test('should give pinned values on a small graph, in any input order', async (t) => {
    const edges = [
      { from: R1, to: HONEST, paid: 50_000, score: 80 },
      { from: HONEST, to: R1, paid: 50_000, score: 100 },
      { from: R2, to: HONEST, paid: 10_000, score: 100 },
      { from: HONEST, to: R2, paid: 10_000, score: 50 }
    ];
    const a = eigenTrust(edges, [HONEST])!;
    const b = eigenTrust([...edges].reverse(), [HONEST, HONEST])!;
    t.same([...a.trust.entries()], [...b.trust.entries()]);
    t.equal(a.iterations, b.iterations);
    const sum = [...a.trust.values()].reduce((s, v) => s + v, 0n);
    t.ok(sum <= common.TRUST_ONE && sum > common.TRUST_ONE - 1000n, `sums to one (less floors): ${sum}`);
    t.ok(a.iterations <= common.MAX_ITERATIONS);
    t.same(Object.fromEntries([...a.trust.entries()].map(([k, v]) => [k.slice(0, 4), Number(v)])),
      { '0211': 417_690_226, '0222': 41_769_022, '02aa': 540_540_738 });
  });

  t.test('should give an unreachable ring nothing', async (t) => {
    const ring = [key('c'), key('d'), key('e')];
    const edges = [
      { from: R1, to: HONEST, paid: 20_000, score: 90 },
      ...ring.flatMap((a) => ring.filter((b) => b !== a).map((b) => ({ from: a, to: b, paid: 1_000_000, score: 100 })))
    ];
    const res = eigenTrust(edges, [R1])!;
    for (const m of ring)
      t.equal(res.trust.get(m), undefined, 'ring member untrusted');
    t.ok((res.trust.get(HONEST) ?? 0n) > 0n);
  });
});

t.test('buildView', async (t) => {
  t.test('should keep own records, ratings and trust apart', async (t) => {
    const facts = [
      fact('c1', ME, HONEST, 40_000, 90, 100, { byRenter: { score: 90, passed: 4, failed: 0, flags: 1 } }),
      fact('c2', R1, HONEST, 60_000, 80)
    ];
    const v = buildView(facts, ME);
    const h = v.identities.get(HONEST)!;
    t.match(h.own, { passed: 4, failed: 0, settled: 1, paid: 40_000, score: 857, confidence: 714 });
    // Our own rating is an own record, not part of the chain source.
    t.match(h.ratings, { counted: 1, settled: 60_000, score: 900 });
    t.same(v.trust!.pretrusted, [HONEST]);
    t.equal(h.trust!.pretrusted, true);
    t.ok(h.trust!.value > 0);
    t.equal(h.known, true);
    t.equal(h.score, combine(h.own, h.ratings));
  });

  t.test('should let audit records from a source replace the counts in our ratings', async (t) => {
    const facts = [fact('c1', ME, HONEST, 40_000, 90, null, { byRenter: { score: 90, passed: 4, failed: 0, flags: 1 } })];
    const v = buildView(facts, ME, new Map([[HONEST, { passed: 2, failed: 3 }]]));
    t.match(v.identities.get(HONEST)!.own, { passed: 2, failed: 3, settled: 1 });
    t.equal(v.trust, null, 'failed audits: not pre-trusted');
  });

  t.test('should rank an honest host above a sybil ring of 20 with tiny settled amounts', async (t) => {
    const ring = Array.from({ length: 20 }, (_, i) => `03${i.toString(16).padStart(2, '0').repeat(32)}`);
    const facts: ContractFact[] = [];
    for (const a of ring) {
      for (const b of ring) {
        if (a !== b)
          facts.push(fact(`${a}${b}`, a, b, 300, 100, 100));
      }
    }
    facts.push(fact('h1', R1, HONEST, 60_000, 80), fact('h2', R2, HONEST, 60_000, 90));
    // A node that only follows the chain (no own records: no pre-trust).
    const v = buildView(facts, ME);
    const honest = v.identities.get(HONEST)!.score;
    const best = Math.max(...ring.map((m) => v.identities.get(m)!.score));
    t.comment(`chain-only view: honest ${honest}, best ring member ${best}`);
    t.equal(honest, 585);
    t.equal(best, 455);
    // A node with one good own contract (pre-trust on R1's host side) cuts the ring further.
    const mine = buildView([...facts, fact('m1', ME, R1, 20_000, 100, 100)], ME);
    const honest2 = mine.identities.get(HONEST)!.score;
    const best2 = Math.max(...ring.map((m) => mine.identities.get(m)!.score));
    t.comment(`view with pre-trust: honest ${honest2}, best ring member ${best2}`);
    t.ok(honest2 > best2);
    t.ok(best2 < best, 'untrusted raters count a quarter');
  });

  t.test('should give a self-dealt rating no more than its settled sats', async (t) => {
    const sock = key('5');
    const base = [fact('h1', R1, HONEST, 60_000, 80)];
    const before = buildView(base, ME).identities.get(HONEST)!;
    // The host rates itself through a renter identity it controls, settling 1000 sat.
    const after = buildView([...base, fact('s1', sock, HONEST, 1000, 100)], ME).identities.get(HONEST)!;
    t.equal(after.ratings.settled - before.ratings.settled, 1000);
    t.equal(after.ratings.weight - before.ratings.weight, 1000);
    // A contract with itself as both parties counts nothing.
    const self = buildView([...base, fact('s2', HONEST, HONEST, 500_000, 100)], ME).identities.get(HONEST)!;
    t.same(self.ratings, before.ratings);
  });

  t.test('should weigh a rating of a contract that settled nothing at zero', async (t) => {
    const v = buildView([fact('r1', R1, HONEST, 0, -100, null, { refunded: true })], ME);
    const h = v.identities.get(HONEST)!;
    t.match(h.ratings, { counted: 0, unpaid: 1, weight: 0 });
    t.equal(h.score, common.PRIOR_SCORE);
    t.equal(h.known, false);
  });

  t.test('should count our own refunds and retrieval failures against a host', async (t) => {
    const v = buildView([
      fact('r1', ME, HONEST, 0, -100, null, { refunded: true, byRenter: { score: -100, passed: 1, failed: 2, flags: 3 } })
    ], ME);
    const h = v.identities.get(HONEST)!;
    t.match(h.own, { passed: 1, failed: 2, refunded: 1, retrievalsFailed: 1 });
    t.ok(h.score < common.PRIOR_SCORE, `failed host below an unknown one: ${h.score}`);
  });
});

t.test('peers\' statements', async (t) => {
  const T1 = key('7');
  const T2 = key('8');
  const SYBILS = Array.from({ length: 20 }, (_, i) => `03${i.toString(16).padStart(2, '0').repeat(32)}`);
  // This node settled with T1 and T2 (pre-trusted); the Sybils never dealt with anyone it trusts.
  const facts = [fact('t1', ME, T1, 50_000, null), fact('t2', ME, T2, 50_000, null)];
  const said = (signer: string, r: Partial<OwnRecord>) => ({ signer, height: 100, record: own(r) });

  t.test('should weigh each signer by its confidence times this node\'s trust in it', async (t) => {
    const v = buildView(facts, ME, new Map(), new Map([[HONEST, [said(T1, { passed: 2 }), said(SYBILS[0], { failed: 8 })]]]));
    const h = v.identities.get(HONEST)!;
    t.match(h.peers, { statements: 2, counted: 1, score: 750, confidence: 500 });
    t.same(h.peers.opinions.map((o) => [o.signer === T1 ? 'T1' : 'sybil', o.weight]), [['T1', 500], ['sybil', 0]]);
    t.equal(h.score, Math.floor((400 * 1000 + 500 * 750) / 1500));
    t.ok(h.known);
  });

  t.test('should cap the source below the prior and below any own record', async (t) => {
    const opinions = new Map([[HONEST, [said(T1, { passed: 50 }), said(T2, { passed: 50 })]]]);
    const h = buildView(facts, ME, new Map(), opinions).identities.get(HONEST)!;
    t.equal(h.peers.confidence, common.PEERS_MAX_CONFIDENCE);
    // One own failed audit: own weight 2 x 333 = 666 > 500, whatever trusted peers say.
    const mine = buildView(facts, ME, new Map([[HONEST, { failed: 1 }]]), opinions).identities.get(HONEST)!;
    t.ok(common.OWN_BOOST * mine.own!.confidence > mine.peers.confidence, 'own records outweigh the peers source');
    t.equal(mine.score, Math.floor((400 * 1000 + 666 * 333 + 500 * mine.peers.score) / (1000 + 666 + 500)));
  });

  t.test('should give a node that trusts nobody nothing from peers, and ignore statements about the signer or from us', async (t) => {
    const opinions = new Map([[HONEST, [said(T1, { passed: 5 }), said(HONEST, { passed: 9 }), said(ME, { passed: 9 })]]]);
    const none = buildView([], ME, new Map(), opinions).identities.get(HONEST)!;
    t.match(none.peers, { statements: 1, counted: 0 });
    t.equal(none.score, common.PRIOR_SCORE);
    const some = buildView(facts, ME, new Map(), opinions).identities.get(HONEST)!;
    t.match(some.peers, { statements: 1, counted: 1 });
  });

  t.test('should not let 20 Sybil signers move a score', async (t) => {
    const opinions = new Map([[HONEST, SYBILS.map((s) => said(s, { failed: 50 }))]]);
    const h = buildView(facts, ME, new Map(), opinions).identities.get(HONEST)!;
    t.match(h.peers, { statements: 20, counted: 0 });
    t.equal(h.score, common.PRIOR_SCORE);
  });
});
