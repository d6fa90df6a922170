// Host choice by price and reputation (lib/deals/pricing.ts chooseHosts,
// docs/REPUTATION.md "Choosing hosts"): deterministic tables.
import t from 'tap';
import { avoidReason, chooseHosts, type HostScore, type QuotedHost } from '../lib/deals/pricing';

const GIB = 2 ** 30;

/** A host whose contract of 1 GiB for 1000 blocks costs `cost` sat. */
function q(host: string, cost: number, free = 1e12): QuotedHost<string> {
  return { host, prices: { storage: cost, upload: 0, download: 0 }, freeCapacity: free, maxDuration: 1e6 };
}

function choose(quotes: QuotedHost<string>[], scores: Record<string, HostScore>,
  opts: { count?: number; wanted?: number; minScore?: number } = {}): string[] {
  return chooseHosts(quotes, opts.count ?? quotes.length, GIB, 1000, 1e9, {
    scoreOf: (h) => scores[h] ?? { score: 400, known: false },
    wanted: opts.wanted,
    minScore: opts.minScore,
    keyOf: (h) => h
  }).map((c) => c.host);
}

const good = { score: 800, known: true };
const bad = { score: 200, known: true };

t.test('chooseHosts with reputation', async (t) => {
  t.test('should rank by price alone without scores', async (t) => {
    t.same(chooseHosts([q('a', 900), q('b', 500), q('c', 700)], 3, GIB, 1000, 1e9).map((c) => c.host), ['b', 'c', 'a']);
  });

  t.test('should put a known good host first, an unknown one next, a failed one last at equal prices', async (t) => {
    t.same(choose([q('bad', 1000), q('new', 1000), q('good', 1000)], { good, bad }), ['good', 'new', 'bad']);
  });

  t.test('should trade score against price by (score + 100) / (cost + 1)', async (t) => {
    // 900/2001 < 500/1001: the unknown host at half the price wins.
    t.same(choose([q('good', 2000), q('new', 1000)], { good }), ['new', 'good']);
    // 900/1701 > 500/1001: at 1.7 times the price the good host wins.
    t.same(choose([q('good', 1700), q('new', 1000)], { good }), ['good', 'new']);
    // A failed host must be much cheaper: 300/401 < 500/1001 is false, 300/601 < 500/1001 is true.
    t.same(choose([q('bad', 400), q('new', 1000)], { bad }), ['bad', 'new']);
    t.same(choose([q('bad', 600), q('new', 1000)], { bad }), ['new', 'bad']);
  });

  t.test('should break ties by storage price, then key, whatever the input order', async (t) => {
    const scores = { a: { score: 400, known: true }, b: { score: 400, known: true }, c: { score: 400, known: true } };
    t.same(choose([q('c', 1000), q('a', 1000), q('b', 1000)], scores), ['a', 'b', 'c']);
    t.same(choose([q('b', 1000), q('c', 1000), q('a', 1000)], scores), ['a', 'b', 'c']);
  });

  t.test('should leave out hosts below --min-score, unknown ones at the prior', async (t) => {
    const quotes = [q('bad', 100), q('new', 1000), q('good', 1000)];
    t.same(choose(quotes, { good, bad }, { minScore: 300 }), ['good', 'new']);
    t.same(choose(quotes, { good, bad }, { minScore: 500 }), ['good']);
    t.same(choose(quotes, { good, bad }, { minScore: 0 }), ['bad', 'good', 'new']);
  });

  t.test('should keep one place in four for an unknown host (bounded exploration)', async (t) => {
    const known = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const scores = Object.fromEntries(known.map((k) => [k, good]));
    const quotes = [...known.map((k) => q(k, 1000)), q('new1', 1000), q('new2', 1000)];
    // Four wanted: the best unknown host takes the fourth place.
    t.same(choose(quotes, scores, { wanted: 4 }), ['k1', 'k2', 'k3', 'new1', 'k4', 'k5', 'new2']);
    // Eight wanted (all fit in): the order is the ranking.
    t.same(choose(quotes, scores, { wanted: 8 }), ['k1', 'k2', 'k3', 'k4', 'k5', 'new1', 'new2']);
    // Three wanted: no place is kept, unknown hosts come after the known good ones.
    t.same(choose(quotes, scores, { wanted: 3, count: 4 }), ['k1', 'k2', 'k3', 'k4']);
    // Never more than the share: the unknown hosts that rank in on price keep their places.
    t.same(choose([q('k1', 1000), q('n1', 100), q('n2', 100)], { k1: good }, { wanted: 2 }), ['n1', 'n2', 'k1']);
  });

  t.test('should still refuse hosts that do not fit', async (t) => {
    const quotes = [q('small', 1000, 10), q('dear', 5000), q('ok', 1000)];
    t.same(chooseHosts(quotes, 3, GIB, 1000, 2000, { scoreOf: () => good, keyOf: (h) => h }).map((c) => c.host), ['ok']);
  });
});

t.test('avoidReason', async (t) => {
  t.test('should avoid a host whose audits failed, or one below --min-score, and nothing else', async (t) => {
    const cases: Array<[number, HostScore | null, number | undefined, string | null]> = [
      [0, { score: 900, known: true }, undefined, null],
      [0, { score: 900, known: true }, 500, null],
      [0, null, 500, null],
      [1, { score: 900, known: true }, undefined, 'audits failed (wrong data in 1 of its contracts)'],
      [2, null, 0, 'audits failed (wrong data in 2 of its contracts)'],
      [0, { score: 300, known: true }, 301, 'reputation score 300 below --min-score 301'],
      [0, { score: 400, known: false }, 401, 'reputation score 400 (unknown host) below --min-score 401'],
      [0, { score: 400, known: false }, 400, null]
    ];
    for (const [failed, score, min, want] of cases)
      t.equal(avoidReason(failed, score, min), want, JSON.stringify([failed, score, min]));
  });
});
