// A renter restored from its seed takes a contract over from its host
// (takeover.ts): what the host sends (`storage.latest`) is adopted only
// when every signature verifies, nothing goes backwards and the state
// stays within the escrow; a hostile host's answer is refused with why.
import t from 'tap';
import { randomBytes } from 'crypto';
import secp256k1 = require('bcrypto/lib/secp256k1');
import bcoin = require('../lib/bcoin');
import { Identity } from '../lib/base/identity';
import { StorageContract } from '../lib/contracts/storagecontract';
import { Revision } from '../lib/contracts/revision';
import { ChannelState, signState } from '../lib/contracts/channel';
import { type ObjectEntry, objectTreeRoot, objectsSize } from '../lib/contracts/objecttree';
import { DealStore } from '../lib/deals/dealstore';
import { LatestArgs, LatestResult, type LatestState } from '../lib/deals/latestwire';
import { type HostHolding, fetchHolding, paidThrough, takeOver, verifyHolding } from '../lib/deals/takeover';
import { firstRevision } from '../lib/deals/revisions';
import { SignedPayment } from '../lib/deals/payments';

const network = bcoin.Network.get('regtest');

interface Fixture {
  c: StorageContract;
  renter: Identity;
  host: Identity;
  escrowKey: Buffer;
  coin: bcoin.Coin;
  revisions: Revision[];
  objects: ObjectEntry[];
  state: LatestState;
}

function object(id: number, size: number): ObjectEntry {
  return { id, root: randomBytes(32), size };
}

/** A contract with two objects, revision 1 dropping one, and a state paying 1200 sat. */
function fixture(): Fixture {
  const renter = Identity.generate(network);
  const host = Identity.generate(network);
  const escrowKey = secp256k1.privateKeyGenerate();
  const start = 500;
  const first = [object(1, 4096), object(2, 8192)];
  const c = new StorageContract({
    network: network.magic, renterKey: renter.publicKey, hostKey: host.publicKey,
    renterEscrowKey: secp256k1.publicKeyCreate(escrowKey, true), hostEscrowKey: Identity.generate(network).publicKey,
    root: objectTreeRoot(first), size: objectsSize(first), startHeight: start, endHeight: start + 100, auditInterval: 10,
    escrowValue: 50000, holdback: 2500, refundHeight: start + 120, expiryHeight: start + 20,
    storagePrice: 1000, uploadPrice: 100, downloadPrice: 200
  }).sign(renter);
  const rev0 = firstRevision(c, first).sign(renter, c).sign(host, c);
  const kept = [first[1]];
  const rev1 = new Revision({ contractId: c.hash(), number: 1, height: start + 5, root: objectTreeRoot(kept),
    size: objectsSize(kept), count: 1, nextObject: 3, accrued: rev0.accrued + 1 }).sign(renter, c).sign(host, c);
  const fund = new bcoin.MTX();
  fund.addOutpoint(new bcoin.Outpoint(randomBytes(32).toString('hex'), 0));
  fund.addOutput(c.escrowOutputScript(), c.escrowValue);
  const coin = bcoin.Coin.fromTX(fund.toTX(), 0, start);
  const state = { state: signState(c, coin, 3, 1200, escrowKey), prepaid: 200, missed: [1] };
  return { c, renter, host, escrowKey, coin, revisions: [rev0, rev1], objects: kept, state };
}

function holding(f: Fixture): HostHolding {
  return { latest: f.revisions[f.revisions.length - 1], revisions: [...f.revisions], objects: [...f.objects], state: f.state };
}

const none = { revision: null, payment: null };

t.test('LatestResult', async (t) => {
  t.test('should decode what it encodes, with and without a state', async (t) => {
    const f = fixture();
    const res = new LatestResult();
    res.latest = f.revisions[1];
    res.revisions = f.revisions;
    res.objects = f.objects;
    res.moreObjects = true;
    res.state = f.state;
    const back = LatestResult.decode(res.encode());
    t.ok(back.latest.hash().equals(f.revisions[1].hash()));
    t.equal(back.revisions.length, 2);
    t.same(back.objects.map((o) => o.id), [2]);
    t.equal(back.moreObjects, true);
    t.equal(back.moreRevisions, false);
    t.equal(back.state?.state.paid, 1200);
    t.same(back.state?.missed, [1]);
    res.state = null;
    t.equal(LatestResult.decode(res.encode()).state, null);
    const args = Object.assign(new LatestArgs(), { id: f.c.hash(), fromRevision: 7, fromObject: 9 });
    t.same(LatestArgs.decode(args.encode()).fromObject, 9);
  });

  t.test('should refuse unknown flags and trailing bytes', async (t) => {
    const f = fixture();
    const res = new LatestResult();
    res.latest = f.revisions[0];
    const raw = res.encode();
    raw[raw.length - 1] = 0x80;
    t.throws(() => LatestResult.decode(raw), { code: 'bad-flags' });
    t.throws(() => LatestResult.decode(Buffer.concat([res.encode(), Buffer.alloc(1)])), { code: 'trailing-bytes' });
  });
});

t.test('verifyHolding', async (t) => {
  t.test('should accept an honest host', async (t) => {
    const f = fixture();
    t.doesNotThrow(() => verifyHolding(f.c, holding(f), f.coin, none));
  });

  t.test('should refuse a revision with a bad signature', async (t) => {
    const f = fixture();
    const h = holding(f);
    h.revisions[0] = Revision.decode(h.revisions[0].encode());
    h.revisions[0].renterSig = f.host.sign(h.revisions[0].hash());
    t.throws(() => verifyHolding(f.c, h, f.coin, none), { code: 'bad-host-answer', message: /revision 0 has a bad signature/ });
  });

  t.test('should refuse revisions that skip a number or objects that do not match', async (t) => {
    const f = fixture();
    const h = holding(f);
    h.revisions.shift();
    t.throws(() => verifyHolding(f.c, h, f.coin, none), { code: 'bad-host-answer', message: /out of order/ });
    const g = holding(f);
    g.objects = [object(2, 8192)];
    t.throws(() => verifyHolding(f.c, g, f.coin, none), { code: 'bad-host-answer', message: /objects do not match/ });
  });

  t.test('should refuse a state with a bad signature', async (t) => {
    const f = fixture();
    const h = holding(f);
    const other = signState(f.c, f.coin, 3, 1200, secp256k1.privateKeyGenerate());
    h.state = { ...f.state, state: other };
    t.throws(() => verifyHolding(f.c, h, f.coin, none), { code: 'bad-host-answer', message: /state-bad-sig/ });
  });

  t.test('should refuse a state paying more than the escrow', async (t) => {
    const f = fixture();
    const h = holding(f);
    const over = Object.assign(new ChannelState(), { contractId: f.c.hash(), number: 4, paid: f.c.escrowValue + 1,
      renterSig: randomBytes(64) });
    h.state = { state: over, prepaid: 0, missed: [] };
    t.throws(() => verifyHolding(f.c, h, f.coin, none),
      { code: 'bad-host-answer', message: /state-bad-amount \(pays more than the escrow\)/ });
  });

  t.test('should refuse a state or revision older than one this node can prove', async (t) => {
    const f = fixture();
    const mine = new SignedPayment();
    mine.state = signState(f.c, f.coin, 5, 1500, f.escrowKey);
    t.throws(() => verifyHolding(f.c, holding(f), f.coin, { revision: null, payment: mine }),
      { code: 'host-behind', message: /channel state 3 paying 1200 sat.*signed state 5 paying 1500 sat/ });
    const h = holding(f);
    h.state = null;
    t.throws(() => verifyHolding(f.c, h, f.coin, { revision: null, payment: mine }), { code: 'host-behind' });
    const newer = new Revision({ ...f.revisions[1], number: 2 });
    t.throws(() => verifyHolding(f.c, holding(f), f.coin, { revision: newer, payment: null }),
      { code: 'host-behind', message: /this node can prove revision 2/ });
  });

  t.test('should refuse prepaid above paid', async (t) => {
    const f = fixture();
    const h = holding(f);
    h.state = { ...f.state, prepaid: 1201 };
    t.throws(() => verifyHolding(f.c, h, f.coin, none), { code: 'bad-host-answer', message: /prepaid/ });
  });
});

t.test('takeOver', async (t) => {
  t.test('should page through the host answer and store it in one batch', async (t) => {
    const f = fixture();
    const store = new DealStore({ datadir: '', memory: true });
    await store.open();
    t.teardown(() => store.close());
    const asked: Array<[number, number]> = [];
    const page = (fromRevision: number, fromObject: number): LatestResult => {
      asked.push([fromRevision, fromObject]);
      const res = new LatestResult();
      res.latest = f.revisions[1];
      // One revision a page, the objects on the second: as a host with a tiny page would.
      res.revisions = f.revisions.filter((r) => r.number === fromRevision);
      res.moreRevisions = fromRevision < 1;
      res.objects = fromRevision === 1 ? f.objects : [];
      res.moreObjects = false;
      res.state = f.state;
      return res;
    };
    const fileId = randomBytes(32);
    const got = await takeOver({ store, latest: async (_c, r, o) => page(r, o), escrow: async () => f.coin }, f.c,
      (o) => (o === 2 ? fileId : null));
    t.same(asked, [[0, 0], [1, 0]]);
    t.same(got, { revision: 1, objects: 1, state: 3, paid: 1200 });
    const rc = await store.getRenterContract(f.c.hash());
    t.equal(rc?.nextObject, 3);
    t.same((await store.listRevisions(f.c.hash())).map((r) => r.number), [0, 1]);
    const objs = await store.listObjects(f.c.hash());
    t.ok(objs.length === 1 && objs[0].fileId.equals(fileId), 'object named after its file');
    const pay = await store.getPayment(f.c.hash());
    t.equal(pay?.state.number, 3);
    t.equal(pay?.prepaid, 200);
    t.same(pay?.missed, [1]);
    t.equal(pay?.acked, true);
    t.equal(pay?.through, paidThrough(f.c, f.revisions, f.state));
    t.ok(pay!.through >= 0 && pay!.through <= 10);

    // Asked again later, a host that went back is refused and nothing changes.
    const older = { ...f.state, state: signState(f.c, f.coin, 2, 1000, f.escrowKey) };
    const stale = async (): Promise<LatestResult> => Object.assign(new LatestResult(),
      { latest: f.revisions[1], revisions: f.revisions, objects: f.objects, state: older });
    await t.rejects(takeOver({ store, latest: stale, escrow: async () => f.coin }, f.c, () => null), { code: 'host-behind' });
    t.equal((await store.getPayment(f.c.hash()))?.state.number, 3);
  });

  t.test('should refuse a host whose latest revision changes between pages', async (t) => {
    const f = fixture();
    const store = new DealStore({ datadir: '', memory: true });
    await store.open();
    t.teardown(() => store.close());
    let n = 0;
    const latest = async (): Promise<LatestResult> => Object.assign(new LatestResult(),
      { latest: f.revisions[n++ === 0 ? 0 : 1], revisions: [f.revisions[0]], objects: [], moreRevisions: true });
    await t.rejects(fetchHolding({ store, latest, escrow: async () => f.coin }, f.c), { code: 'contract-busy' });
  });
});
