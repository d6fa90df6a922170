// Market primitives: the object tree, revisions, accrual and channel
// states. Pinned vectors in test/data/market-vectors.json.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import bcoin = require('../lib/bcoin');
import { ContractError } from '../lib/contracts/errors';
import {
  applyObjectChanges, checkObjectList, objectTreeRoot, type ObjectEntry
} from '../lib/contracts/objecttree';
import { REVISION_SIZE, Revision, checkRevisionStep, revisionZero, verifyRevisionSigs } from '../lib/contracts/revision';
import {
  CHANNEL_STATE_SIZE, ChannelState, P2WPKH_DUST, buildCloseTX, signState, stateSighash, verifyState
} from '../lib/contracts/channel';
import {
  type AccrualTerms, type AuditOutcome, earnedAt, earnedParts, heldBackOf, intervalAccruals, intervals, nextAccrued, paidIntervals,
  projectedCost, stateAmounts, storageCost, transferCost
} from '../lib/deals/accrual';
import { accrualTerms } from '../lib/deals/revisions';
import { dueFor } from '../lib/deals/payments';
import { contractEarnings } from '../lib/contracts/earnings';
import { testContract, testIdentity, testKey } from './data/contracts-fixtures';
import {
  type MarketVectors, makeMarketVectors, objectContract, testEscrowCoin, testObjects, testRevision
} from './data/market-vectors';

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'market-vectors.json'), 'utf8')) as MarketVectors;

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof ContractError)
      return e.code;
    throw e;
  }
}

const hash = (b: number): Buffer => Buffer.alloc(32, b);

t.test('pinned vectors', async (t) => {
  t.same(makeMarketVectors(), vectors);
});

t.test('object tree', async (t) => {
  t.test('should refuse bad lists by code', async (t) => {
    const ok: ObjectEntry = { id: 1, root: hash(1), size: 10 };
    const cases: Array<[string, ObjectEntry[]]> = [
      ['id 0 (the manifest)', [{ ...ok, id: 0 }]],
      ['id 2^32-1 (every object)', [{ ...ok, id: 0xffffffff }]],
      ['repeated id', [ok, ok]],
      ['descending ids', [{ ...ok, id: 2 }, ok]],
      ['short root', [{ ...ok, root: Buffer.alloc(31) }]],
      ['empty object', [{ ...ok, size: 0 }]],
      ['fractional size', [{ ...ok, size: 1.5 }]]
    ];
    for (const [name, list] of cases)
      t.equal(codeOf(() => checkObjectList(list)), 'bad-object-list', name);
    t.equal(codeOf(() => checkObjectList([ok, { ...ok, id: 7 }])), null);
  });

  t.test('should apply changes and refuse reused ids', async (t) => {
    const objects = testObjects();
    const next = applyObjectChanges(objects, { add: [{ id: 6, root: hash(6), size: 1 }], remove: [2] }, 6);
    t.same(next.map(o => o.id), [1, 5, 6]);
    t.not(objectTreeRoot(next).toString('hex'), objectTreeRoot(objects).toString('hex'));
    const cases: Array<[string, () => unknown]> = [
      ['reused id', () => applyObjectChanges(objects, { add: [{ id: 3, root: hash(3), size: 1 }], remove: [] }, 6)],
      ['removing a missing id', () => applyObjectChanges(objects, { add: [], remove: [4] }, 6)],
      ['adds out of order', () => applyObjectChanges(objects, {
        add: [{ id: 8, root: hash(8), size: 1 }, { id: 7, root: hash(7), size: 1 }], remove: [] }, 6)]
    ];
    for (const [name, fn] of cases)
      t.equal(codeOf(fn), 'bad-object-changes', name);
  });
});

t.test('Revision', async (t) => {
  t.test('should round-trip and verify both signatures', async (t) => {
    const c = objectContract();
    const rev = testRevision();
    const raw = rev.encode();
    t.equal(raw.length, REVISION_SIZE);
    const d = new Revision().decode(raw);
    t.same(d.encode(), raw);
    t.ok(verifyRevisionSigs(c, d, true));
    d.accrued += 1;
    t.notOk(verifyRevisionSigs(c, d, false), 'any changed field breaks the signatures');
  });

  t.test('should refuse bad encodings', async (t) => {
    const raw = testRevision().encode();
    t.equal(codeOf(() => new Revision().decode(raw.subarray(1))), 'bad-revision-encoding');
    t.equal(codeOf(() => new Revision().decode(Buffer.concat([raw, Buffer.alloc(1)]))), 'bad-revision-encoding');
    const big = Buffer.from(raw);
    big.writeBigUInt64LE(2n ** 60n, 32);
    t.equal(codeOf(() => new Revision().decode(big)), 'bad-revision-encoding');
  });

  t.test('should derive revision 0 from the contract', async (t) => {
    const c = objectContract();
    const r0 = revisionZero(c, testObjects(), 77);
    t.equal(r0.number, 0);
    t.equal(r0.count, 3);
    t.equal(r0.nextObject, 6);
    t.equal(r0.accrued, 77);
    t.equal(codeOf(() => revisionZero(c, testObjects().slice(1), 77)), 'bad-object-list');
  });

  t.test('should check each step by code', async (t) => {
    const c = objectContract();
    const r0 = revisionZero(c, testObjects(), 77);
    const objects = testObjects().slice(0, 2);
    const good = (): Revision => new Revision({
      contractId: c.hash(), number: 1, height: 505, root: objectTreeRoot(objects), size: 4113 + 8209, count: 2,
      nextObject: 6, accrued: 100
    });
    t.equal(codeOf(() => checkRevisionStep(c, r0, good(), objects)), null);
    const cases: Array<[string, string, (r: Revision) => void]> = [
      ['another contract', 'revision-wrong-contract', r => { r.contractId = hash(9); }],
      ['replayed number', 'revision-out-of-order', r => { r.number = 0; }],
      ['skipped number', 'revision-out-of-order', r => { r.number = 2; }],
      ['height before the previous', 'revision-bad-height', r => { r.height = 499; }],
      ['height at the end', 'revision-bad-height', r => { r.height = c.endHeight; }],
      ['root of other objects', 'revision-bad-root', r => { r.root = hash(3); }],
      ['wrong size', 'revision-bad-root', r => { r.size += 1; }],
      ['wrong count', 'revision-bad-root', r => { r.count = 3; }],
      ['next object going back', 'revision-bad-next-object', r => { r.nextObject = 5; }],
      ['accrued shrinking', 'revision-bad-accrued', r => { r.accrued = 76; }]
    ];
    for (const [name, code, edit] of cases) {
      const r = good();
      edit(r);
      t.equal(codeOf(() => checkRevisionStep(c, r0, r, objects)), code, name);
    }
  });
});

const terms: AccrualTerms = {
  startHeight: 100, endHeight: 135, auditInterval: 10, holdback: 2500,
  prices: { storage: 1000, upload: 100, download: 200 }
};
const GIB = 2 ** 30;

t.test('accrual', async (t) => {
  t.test('should price exactly', async (t) => {
    t.equal(storageCost(1000, GIB, 1000), 1000);
    t.equal(storageCost(1000, GIB, 999), 999);
    t.equal(storageCost(1000, GIB / 2, 3), 1, 'rounds down');
    t.equal(transferCost(100, 1), 1, 'rounds up');
    t.equal(transferCost(100, GIB), 100);
    const exact = BigInt(999_999_937) * BigInt(2 ** 40 - 1) * 4319n / (BigInt(GIB) * 1000n);
    t.equal(storageCost(999_999_937, 2 ** 40 - 1, 4319), Number(exact), 'exact where floats would round');
    t.throws(() => storageCost(21e14, 2 ** 40, 4320), RangeError, 'amounts above 2^53 are refused');
  });

  t.test('should accrue over revisions and intervals', async (t) => {
    const r0 = { number: 0, height: 100, size: GIB, accrued: 100 };
    t.same(intervals(terms).map(i => [i.from, i.to]), [[100, 110], [110, 120], [120, 130], [130, 135]]);
    t.equal(earnedAt(terms, [r0], 100), 0, 'nothing before the start');
    t.equal(earnedAt(terms, [r0], 101), 101, 'upload at once, then a block of storage');
    // At 115 a second GiB is added.
    const a1 = nextAccrued(terms, r0, 115, GIB);
    t.equal(a1, 100 + 15 + 100);
    const r1 = { number: 1, height: 115, size: 2 * GIB, accrued: a1 };
    t.equal(projectedCost(terms, r1), a1 + 40);
    const accruals = intervalAccruals(terms, [r0, r1]);
    t.same(accruals, [110, 5 + 100 + 10, 20, 10]);
    t.equal(accruals.reduce((a, b) => a + b), earnedAt(terms, [r0, r1], 135), 'intervals sum to the whole');
    t.equal(earnedAt(terms, [r0, r1], 200), earnedAt(terms, [r0, r1], 135), 'nothing after the end');
  });

  t.test('should pay intervals by outcome', async (t) => {
    const cases: Array<[string, AuditOutcome[], boolean[]]> = [
      ['all passed', ['passed', 'passed'], [true, true]],
      ['missed costs one interval', ['passed', 'missed', 'passed'], [true, false, true]],
      ['offline renter catches up', [null, null, 'passed'], [true, true, true]],
      ['not yet audited', ['passed', null], [true, false]],
      ['proven loss stops payment for good', ['passed', 'failed', 'passed'], [true, false, false]],
      ['a gap before a failure is unpaid', [null, 'failed'], [false, false]]
    ];
    for (const [name, outcomes, paid] of cases)
      t.same(paidIntervals(outcomes), paid, name);
  });

  t.test('should hold back until every interval passed', async (t) => {
    const r0 = { number: 0, height: 100, size: GIB, accrued: 100 };
    const mid = stateAmounts(terms, [r0], ['passed', 'passed'], 7);
    t.same(mid, { payable: 120, heldBack: 30, prepaid: 7, paid: 97 });
    const final = stateAmounts(terms, [r0], ['passed', 'passed', 'passed', 'passed'], 7);
    t.same(final, { payable: 135, heldBack: 0, prepaid: 7, paid: 142 });
    const caughtUp = stateAmounts(terms, [r0], ['passed', null, null, 'passed'], 7);
    t.same(caughtUp, final, 'intervals caught up by the last audit release the holdback too');
    const missed = stateAmounts(terms, [r0], ['passed', 'missed', 'passed', 'passed'], 0);
    t.equal(missed.payable, 125);
    t.ok(missed.heldBack > 0, 'the holdback stays with the renter after a miss');
  });
});

t.test('earnings', async (t) => {
  const c = testContract(100, { endHeight: 135, auditInterval: 10, storagePrice: 1000, uploadPrice: 100, downloadPrice: 0,
    holdback: 2500, escrowValue: 100000 });
  const terms = accrualTerms(c);
  const r0 = { number: 0, height: 100, size: GIB, accrued: 100 };
  const r1 = { number: 1, height: 115, size: 2 * GIB, accrued: nextAccrued(terms, r0, 115, GIB) };

  t.test('should split E(h) into storage and uploads in one pass', async (t) => {
    const cases: Array<[number, number, number]> = [[101, 101, 100], [115, 115, 100], [116, 217, 200], [135, 255, 200], [200, 255, 200]];
    for (const [h, earned, uploads] of cases) {
      t.same(earnedParts(terms, [r0, r1], h), { earned, uploads }, `at ${h}`);
      t.equal(earnedParts(terms, [r0, r1], h).earned, earnedAt(terms, [r0, r1], h), 'E(h) as earnedAt');
    }
  });

  t.test('should expect what the renter pays by: its missed intervals unpaid, the holdback kept after a miss', async (t) => {
    const cases: Array<[string, number, number[], number]> = [
      ['two intervals, both paid', 120, [], 3],
      ['two intervals, the second missed', 120, [1], 3],
      ['every interval paid: holdback released', 135, [], 3],
      ['every interval ended, one missed: holdback kept', 135, [2], 0]
    ];
    for (const [name, tip, missed, prepaid] of cases) {
      const channel = { paid: 50, number: 4, final: false, missed };
      const e = contractEarnings(c, 'active', tip, [r0, r1], channel, null, prepaid);
      const through = intervals(terms).filter((iv) => iv.to <= tip).length;
      const want = dueFor(c, [r0, r1], through, missed, prepaid);
      t.equal(e.expected.due, want.paid, `${name}: due as payments.ts dueFor`);
      t.equal(e.expected.heldBack, want.heldBack, `${name}: held back`);
      t.equal(e.unsigned, want.paid - 50, `${name}: unsigned`);
      t.equal(e.expected.holdbackReleased, tip === 135 && missed.length === 0 ? heldBackOf(terms, want.payable) : 0,
        `${name}: holdback released only when every interval was paid`);
    }
  });
});

t.test('ChannelState', async (t) => {
  const c = objectContract();
  const coin = testEscrowCoin();
  const renterKey = testKey('renter escrow').privateKey;

  t.test('should sign SINGLE, or NONE only for a dust remainder', async (t) => {
    const s = signState(c, coin, 1, 5000, renterKey);
    t.equal(s.sighashType, stateSighash.SINGLE);
    t.equal(s.encode().length, CHANNEL_STATE_SIZE);
    t.equal(codeOf(() => verifyState(c, coin, new ChannelState().decode(s.encode()))), null);
    const n = signState(c, coin, 2, c.escrowValue - P2WPKH_DUST + 1, renterKey);
    t.equal(n.sighashType, stateSighash.NONE);
    t.equal(codeOf(() => verifyState(c, coin, n)), null);
  });

  t.test('should refuse bad states by code', async (t) => {
    const good = (): ChannelState => signState(c, coin, 1, 5000, renterKey);
    const cases: Array<[string, string, (s: ChannelState) => void]> = [
      ['another contract', 'state-wrong-contract', s => { s.contractId = hash(1); }],
      ['amount changed after signing', 'state-bad-sig', s => { s.paid = 6000; }],
      ['more than the escrow', 'state-bad-amount', s => { s.paid = c.escrowValue + 1; }],
      ['NONE with a real remainder', 'state-bad-sighash', s => { s.sighashType = stateSighash.NONE; }],
      ['signed by the host key', 'state-bad-sig', s => {
        s.renterSig = signState(c, coin, 1, 5000, testKey('host escrow').privateKey).renterSig;
      }]
    ];
    for (const [name, code, edit] of cases) {
      const s = good();
      edit(s);
      t.equal(codeOf(() => verifyState(c, coin, s)), code, name);
    }
    const raw = good().encode();
    raw[48] = 0x81;
    t.equal(codeOf(() => new ChannelState().decode(raw)), 'bad-state-encoding', 'sighash ALL|ACP');
  });

  t.test('should close with the host paying the fee', async (t) => {
    const s = signState(c, coin, 1, 5000, renterKey);
    const payout = testKey('host payout').getAddress();
    const { tx, amounts } = buildCloseTX(c, coin, s, testKey('host escrow').privateKey, { payout, rate: 1000 });
    t.equal(tx.outputs[0].value, c.escrowValue - 5000, 'the renter gets its remainder');
    t.equal(amounts.renter + amounts.host + amounts.fee, c.escrowValue);
    t.ok(tx.verify(), 'both signatures verify');
    const tiny = signState(c, coin, 2, 100, renterKey);
    t.equal(codeOf(() => buildCloseTX(c, coin, tiny, testKey('host escrow').privateKey, { payout, rate: 1000 })),
      'close-needs-funding', 'a payout below the fee needs a wallet coin');
    void testIdentity;
    void bcoin;
  });
});
