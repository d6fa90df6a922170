// Deals without a network: wire formats, pricing, sealing, and the host's
// storage service against a real local store, keyed by decline codes.
import t from 'tap';
import { readCoinNeed } from '../lib/negotiator/coins';
import * as fs from 'fs';
import * as path from 'path';
import { buildWireVectors } from './data/deals-vectors';
import bcoin = require('../lib/bcoin');
import { Identity } from '../lib/base/identity';
import { PacketError } from '../lib/base/errors';
import { ServiceError, type RequestContext } from '../lib/negotiator/services';
import { LocalBackend } from '../lib/hosting/localbackend';
import { DealStore } from '../lib/deals/dealstore';
import { HostService } from '../lib/deals/hostservice';
import { Renter } from '../lib/deals/renter';
import { seal, unseal } from '../lib/deals/seal';
import { chooseHosts, contractCost, costFormula } from '../lib/deals/pricing';
import { BAD_TERMS, NO_CAPACITY, PRICE_TOO_LOW } from '../lib/deals/common';
import {
  ContractArgs, Offer, OfferArgs, ProposeArgs, ProposeResult, Quote, QuoteArgs, ReceiptArgs, ReviseArgs, ReviseResult,
  TokenArgs, TokenResult
} from '../lib/deals/wire';
import { StorageContract } from '../lib/contracts/storagecontract';
import { Revision } from '../lib/contracts/revision';
import type { ObjectEntry } from '../lib/contracts/objecttree';
import { firstRevision, nextRevision } from '../lib/deals/revisions';
import { MerkleTree } from '../lib/storage/merkle';
import { ALL_OBJECTS, verifyToken, deriveTokenKey } from '../lib/storage/token';
import { readOrCreateAdminKey } from '../lib/storage/keyfile';
import { tempDir } from './util/nodes-context';
import { contractFootprint } from '../lib/storage/storetypes';
import { CHANNEL_STATE_SIZE, ChannelState, signState } from '../lib/contracts/channel';
import { ChannelStore, type EscrowLookup } from '../lib/contracts/channelstore';
import { PayArgs, SignedPayment, dueFor, tokenCost } from '../lib/deals/payments';
import { AUDIT_BUDGET } from '../lib/deals/audits';
import { LatestArgs, LatestResult } from '../lib/deals/latestwire';

const network = bcoin.Network.get('regtest');
const ident = (b: number) => new Identity(bcoin.KeyRing.fromPrivate(Buffer.alloc(32, b), true), network);
const host = ident(1);
const renter = ident(2);
const other = ident(3);

t.test('wire', async (t) => {
  t.test('should encode the revision structs as pinned, byte for byte', async (t) => {
    const pinned = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'deals-wire-vectors.json'), 'utf8'));
    t.same(buildWireVectors(), pinned);
    const types: Record<string, { decode(raw: Buffer): { encode(): Buffer } }> = {
      proposeArgs: ProposeArgs, proposeResult: ProposeResult, reviseArgs: ReviseArgs, reviseResult: ReviseResult,
      receiptArgs: ReceiptArgs, receiptBody: Revision, tokenArgs: TokenArgs, revisionArgs: ContractArgs,
      latestArgs: LatestArgs, latestResult: LatestResult
    };
    for (const [name, hex] of Object.entries(pinned as Record<string, string>))
      t.equal(types[name].decode(Buffer.from(hex, 'hex')).encode().toString('hex'), hex, `${name} decode(encode())`);
  });

  t.test('should round-trip every struct', async (t) => {
    const q = new Quote();
    q.prices = { storage: 1, upload: 2, download: 3 };
    q.maxDuration = 4;
    q.freeCapacity = 2 ** 40;
    const o = new Offer();
    o.hostKey = host.publicKey;
    o.renterKey = renter.publicKey;
    o.hostEscrowKey = other.publicKey;
    o.size = 12345;
    o.duration = 100;
    o.prices = { storage: 500, upload: 1, download: 2 };
    o.expiryHeight = 99;
    o.dataURL = 'http://127.0.0.1:8480';
    o.sign(host);
    const pr = new ProposeResult();
    pr.dataURL = 'http://x';
    pr.dataTokens = [Buffer.alloc(40, 1), Buffer.alloc(41, 3)];
    const pa = new ProposeArgs();
    pa.objects = [{ id: 1, root: Buffer.alloc(32, 5), size: 4096 }, { id: 7, root: Buffer.alloc(32, 6), size: 1 }];
    const ra = new ReviseArgs();
    ra.add = [{ id: 9, root: Buffer.alloc(32, 5), size: 4096 }];
    ra.remove = [1, 7];
    const rr = new ReviseResult();
    rr.dataTokens = [Buffer.alloc(3, 1)];
    const rca = new ReceiptArgs();
    rca.number = 2 ** 40;
    const ta = new TokenArgs();
    ta.object = 0xfffffffe;
    const tr = new TokenResult();
    tr.token = Buffer.alloc(50, 2);
    // With the state prepaying its bytes.
    const tas = new TokenArgs();
    tas.state = Object.assign(new ChannelState(), { number: 3, paid: 1234 });
    const structs = [new QuoteArgs(), q, new OfferArgs(), o, pa, pr, ra, rr, new ContractArgs(), rca, ta, tas, tr];
    for (const s of structs) {
      const raw = s.encode();
      t.equal(raw.length, s.getSize(), `${s.constructor.name} size`);
      const back = (s.constructor as typeof Quote).decode(raw);
      t.same(back.encode(), raw, `${s.constructor.name} round trip`);
    }
    t.ok(Offer.decode(o.encode()).verify(), 'offer signature survives');
    const forged = Offer.decode(o.encode());
    forged.prices.storage += 1;
    t.notOk(forged.verify(), 'a changed price breaks the offer signature');
  });

  t.test('should keep the renter\'s payment record, and read records written before its later fields', async (t) => {
    const p = Object.assign(new SignedPayment(), { through: 3, acked: true, missed: [1], prepaid: 7, conceded: [1], ackedMissed: [1] });
    p.state = Object.assign(new ChannelState(), { number: 4, paid: 900 });
    const raw = p.encode();
    t.equal(raw.length, p.getSize());
    t.same(SignedPayment.decode(raw).encode(), raw, 'round trip');
    // Each later field cut off: what a record written before it holds.
    const bare = CHANNEL_STATE_SIZE + 4 + 1 + 1 + 4;
    const cases: Array<[string, number, { prepaid: number; conceded: number[]; ackedMissed: number[] }]> = [
      ['before prepaid', bare, { prepaid: 0, conceded: [], ackedMissed: [] }],
      ['before the conceded intervals', bare + 8, { prepaid: 7, conceded: [], ackedMissed: [] }],
      ['before the acknowledged missed intervals', bare + 8 + 5, { prepaid: 7, conceded: [1], ackedMissed: [] }]
    ];
    for (const [name, size, want] of cases) {
      const old = SignedPayment.decode(raw.subarray(0, size));
      t.same({ prepaid: old.prepaid, conceded: old.conceded, ackedMissed: old.ackedMissed }, want, name);
      t.same([old.state.number, old.through, old.acked, old.missed], [4, 3, true, [1]], `${name}: the rest as written`);
    }
  });

  t.test('should reject malformed encodings with codes', async (t) => {
    const o = new Offer();
    o.hostKey = host.publicKey;
    o.renterKey = renter.publicKey;
    o.hostEscrowKey = other.publicKey;
    const good = o.encode();
    const table: Array<[string, () => unknown]> = [
      ['truncated', () => Offer.decode(good.subarray(0, good.length - 1))],
      ['trailing-bytes', () => Offer.decode(Buffer.concat([good, Buffer.alloc(1)]))],
      ['bad-pubkey', () => Offer.decode(Buffer.concat([Buffer.from([5]), good.subarray(1)]))],
      ['oversized-field', () => QuoteArgs.decode(Buffer.from('0000000000020000' + '00000000', 'hex'))],
      ['bad-amount', () => QuoteArgs.decode(Buffer.from('ffffffffffffff00' + '00000000', 'hex'))],
      ['truncated', () => ContractArgs.decode(Buffer.alloc(31))],
      ['truncated', () => TokenArgs.decode(Buffer.alloc(36 + 112))],
      ['oversized-field', () => ReviseArgs.decode(Buffer.concat([new Revision().encode(), Buffer.from('fd0104', 'hex')]))],
      ['truncated', () => ReviseArgs.decode(Buffer.concat([new Revision().encode(), Buffer.from('0500', 'hex')]))],
      ['truncated', () => ProposeArgs.decode(Buffer.concat([new StorageContract().encode(), new Revision().encode(), Buffer.from('02', 'hex')]))]
    ];
    for (const [code, fn] of table) {
      try {
        fn();
        t.fail(`${code}: accepted`);
      } catch (e) {
        t.equal((e as PacketError).code, code, code);
      }
    }
  });
});

t.test('pricing', async (t) => {
  t.equal(contractCost(2 ** 30, 1000, { storage: 1000, upload: 100, download: 0 }), 1100);
  t.equal(contractCost(1, 1, { storage: 1, upload: 1, download: 1 }), 1, 'rounds up');
  t.match(costFormula(2 ** 30, 1000, { storage: 1000, upload: 100, download: 0 }), /= 1100 sat$/);
  const q = (host: string, storage: number, free = 1e9, maxDuration = 1000) =>
    ({ host, prices: { storage, upload: 1, download: 1 }, freeCapacity: free, maxDuration });
  const chosen = chooseHosts([q('a', 900), q('b', 500), q('c', 100, 10), q('d', 3000), q('e', 200, 1e9, 10)], 2, 1000, 100, 2000);
  t.same(chosen.map((c) => c.host), ['b', 'a'], 'cheapest that fit: c too small, d too dear, e too short');
});

t.test('seal', async (t) => {
  const id = Buffer.alloc(32, 9);
  const sealed = seal(host, renter.publicKey, id, Buffer.from('v1.token'));
  t.equal(unseal(renter, host.publicKey, id, sealed).toString(), 'v1.token');
  const bad = Buffer.from(sealed);
  bad[bad.length - 1] ^= 1;
  for (const [name, fn] of [
    ['tampered', () => unseal(renter, host.publicKey, id, bad)],
    ['other context', () => unseal(renter, host.publicKey, Buffer.alloc(32, 8), sealed)],
    ['other identity', () => unseal(other, host.publicKey, id, sealed)],
    ['short', () => unseal(renter, host.publicKey, id, Buffer.alloc(10))]
  ] as Array<[string, () => unknown]>) {
    t.throws(fn, { code: 'bad-seal' }, name);
  }
});

t.test('HostService', async (t) => {
  const dir = tempDir();
  const backend = new LocalBackend({ dir, capacity: 64 * 2 ** 20 });
  await backend.open();
  const store = new DealStore({ datadir: dir, memory: true });
  await store.open();
  t.teardown(async () => {
    await store.close();
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let height = 500;
  // The host's channel store over a made-up escrow coin (the chain is the process tests').
  const channels: { escrow: EscrowLookup | null } = { escrow: null };
  const channelStore = new ChannelStore({ memory: true, escrow: async () => channels.escrow, height: () => height });
  await channelStore.open();
  t.teardown(() => channelStore.close());
  const escrowKeys = new Map<string, Buffer>();
  const committed = new Set<string>();
  let fundedId = '';
  let auditServed: number | null = null;
  const svc = new HostService({
    network,
    identity: () => host,
    height: () => height,
    backend: () => backend,
    dataURL: () => 'http://127.0.0.1:1',
    createEscrowKey: async () => bcoin.KeyRing.generate(true).publicKey,
    contractState: async (id: Buffer) => (committed.has(id.toString('hex')) ? 'committed' : null),
    acceptState: async (c, state, options) => { await channelStore.acceptState(c, state, options); },
    latestState: async (id) => {
      const s = await channelStore.latestState(id);
      return s ? { paid: s.state.paid, prepaid: s.prepaid, final: s.final, missed: s.missed } : null;
    },
    // What the data API would answer for an audit token's reads (null: cannot tell).
    auditReadsServed: async () => auditServed,
    store
  }, { prices: { storage: 900, upload: 100, download: 200 }, maxDuration: 300, minContract: 0, newRenterShare: 100,
    newRenterCap: 2 ** 40, newRenterCoins: 0, newRenterCoinsAge: 6 });
  const ctxOf = (id: Identity) => ({ from: id.publicKey } as unknown as RequestContext);
  const renterSide = new Renter({
    network,
    negotiator: null as never,
    identity: () => renter,
    height: () => height,
    createEscrowKey: async () => {
      const ring = bcoin.KeyRing.generate(true);
      escrowKeys.set(ring.publicKey.toString('hex'), ring.privateKey);
      return ring.publicKey;
    }
  });
  const offerArgs = (size: number, duration: number, storage: number) => {
    const a = new OfferArgs();
    a.size = size;
    a.duration = duration;
    a.bid = { storage, upload: 100, download: 200 };
    return a.encode();
  };
  const declined = async (p: Promise<unknown>): Promise<[string, string]> => {
    try {
      await p;
    } catch (e) {
      if (e instanceof ServiceError)
        return [e.status, e.code];
      throw e;
    }
    return ['ok', 'ok'];
  };

  /** A contract for `offer` holding `data` as object 1, with its renter-signed revision 0. */
  const build = async (offer: Offer, data: Buffer | number, allowance = 10000) => {
    const bytes = typeof data === 'number' ? Buffer.alloc(data, 1) : data;
    const objects: ObjectEntry[] = [{ id: 1, root: MerkleTree.fromData(bytes).root, size: bytes.length }];
    const c = await renterSide.buildContract(offer, objects, allowance);
    const rev0 = firstRevision(c, objects);
    rev0.sign(renter, c);
    return { c, rev0, objects, bytes };
  };
  const proposeArgs = (c: StorageContract, rev0: Revision, objects: ObjectEntry[]) => {
    const a = new ProposeArgs();
    a.contract = c;
    a.revision = rev0;
    a.objects = objects;
    return a.encode();
  };
  const upload = async (id: string, n: number, data: Buffer) => {
    await backend.store.writePart(id, n, 0, data.length, (async function* () { yield data; })());
  };
  const receiptArgs = (id: Buffer, number: number) => {
    const a = new ReceiptArgs();
    a.id = id;
    a.number = number;
    return a.encode();
  };

  await t.test('should quote its prices and free capacity', async (t) => {
    const args = new QuoteArgs();
    args.size = 1000;
    args.duration = 100;
    const q = Quote.decode(await svc.quote(args.encode(), ctxOf(renter)));
    t.same(q.prices, { storage: 900, upload: 100, download: 200 });
    t.equal(q.freeCapacity, 64 * 2 ** 20);
  });

  await t.test('should decline offers by code', async (t) => {
    const table: Array<[string, Buffer, string, string]> = [
      ['bid under price', offerArgs(1000, 100, 500), PRICE_TOO_LOW, 'price-too-low'],
      ['longer than served', offerArgs(1000, 301, 900), BAD_TERMS, 'bad-duration'],
      ['shorter than the offer window', offerArgs(1000, 5, 900), BAD_TERMS, 'bad-duration'],
      ['larger than free space', offerArgs(65 * 2 ** 20, 100, 900), NO_CAPACITY, 'no-capacity'],
      ['malformed', Buffer.alloc(3), 'client-error/bad-request', 'bad-args']
    ];
    for (const [name, args, status, code] of table)
      t.same(await declined(svc.offer(args, ctxOf(renter))), [status, code], name);
    const err = await svc.offer(offerArgs(1000, 100, 500), ctxOf(renter)).catch((e: ServiceError) => e);
    t.equal((err as ServiceError).body.readUInt32LE(0), 900, 'too-low carries the asking price');
    // --host-min-contract: the offer's cost at the bid (pricing.contractCost) must reach it.
    const cost = contractCost(64 * 2 ** 20, 100, { storage: 900, upload: 100, download: 200 });
    svc.terms = { ...svc.terms, minContract: cost + 1 };
    t.same(await declined(svc.offer(offerArgs(64 * 2 ** 20, 100, 900), ctxOf(renter))), [BAD_TERMS, 'below-min-contract'],
      `a contract of ${cost} sat, below the host's minimum`);
    svc.terms = { ...svc.terms, minContract: 0 };
  });

  let formed: { c: StorageContract; latest: Revision; objects: ObjectEntry[] } | null = null;
  await t.test('should reserve capacity, countersign, and serve receipt and token', async (t) => {
    const offer = Offer.decode(await svc.offer(offerArgs(8192, 100, 900), ctxOf(renter)));
    t.ok(offer.verify());
    t.equal(svc.reservedByOffers(), contractFootprint(8192), 'object, tree file and manifest reserved until the offer expires');
    const { c: contract, rev0, objects, bytes } = await build(offer, 8192);

    const forged = StorageContract.decode(contract.encode());
    forged.storagePrice = 800;
    forged.sign(renter);
    t.same(await declined(svc.propose(proposeArgs(forged, rev0, objects), ctxOf(renter))), [BAD_TERMS, 'terms-differ-from-offer'], 'lower price than offered');
    t.same(await declined(svc.propose(proposeArgs(contract, rev0, objects), ctxOf(other))), [BAD_TERMS, 'terms-differ-from-offer'], 'someone else');
    const badRev = Revision.decode(rev0.encode());
    badRev.accrued += 1;
    badRev.sign(renter, contract);
    t.same(await declined(svc.propose(proposeArgs(contract, badRev, objects), ctxOf(renter))), [BAD_TERMS, 'bad-revision-zero'], 'revision 0 off the rules');
    t.same(await declined(svc.propose(proposeArgs(contract, rev0, [{ ...objects[0], size: 8191 }]), ctxOf(renter))),
      [BAD_TERMS, 'bad-object-list'], 'objects that are not the contract root');

    const res = ProposeResult.decode(await svc.propose(proposeArgs(contract, rev0, objects), ctxOf(renter)));
    contract.hostSig = res.hostSig;
    t.ok(contract.verifyHostSig(), 'countersigned');
    t.equal(svc.reservedByOffers(), 0, 'the reservation became a contract');
    t.equal(res.dataTokens.length, 1);
    const token = unseal(renter, host.publicKey, contract.hash(), res.dataTokens[0]).toString();
    const fields = verifyToken(deriveTokenKey(readOrCreateAdminKey(dir).key), token);
    t.same([fields.op, fields.object, fields.maxBytes], ['put', 1, 8192]);
    t.same(await declined(svc.propose(proposeArgs(contract, rev0, objects), ctxOf(renter))), [BAD_TERMS, 'no-offer'], 'an offer is used once');

    const id = contract.hash();
    t.same(await declined(svc.receipt(receiptArgs(id, 0), ctxOf(renter))), [BAD_TERMS, 'upload-incomplete'], 'no receipt before the upload');
    t.same(await declined(svc.receipt(receiptArgs(id, 0), ctxOf(other))), ['client-error/bad-request', 'unknown-contract'], 'only the renter');
    t.same(await declined(svc.receipt(receiptArgs(id, 1), ctxOf(renter))), ['client-error/bad-request', 'unknown-revision'], 'no such revision');
    await upload(contract.id(), 1, bytes);
    const r0 = Revision.decode(await svc.receipt(receiptArgs(id, 0), ctxOf(renter)));
    t.ok(r0.sameTerms(rev0) && r0.hasHostSig(), 'revision 0 countersigned after the upload');
    t.same(Revision.decode(await svc.receipt(receiptArgs(id, 0), ctxOf(renter))).encode(), r0.encode(), 'asked again: the same answer');
    const ta = new TokenArgs();
    ta.id = id;
    ta.object = 1;
    t.same(await declined(svc.token(ta.encode(), ctxOf(renter))), [BAD_TERMS, 'not-committed'], 'no downloads before the commitment');
    committed.add(contract.id());
    t.same(await declined(svc.token(ta.encode(), ctxOf(renter))), [BAD_TERMS, 'prepay-required'],
      'a download costs 1 sat at 200 sat/GiB: no token without the state paying it');
    ta.object = 2;
    t.same(await declined(svc.token(ta.encode(), ctxOf(renter))), ['client-error/bad-request', 'unknown-object'], 'only objects it holds');
    // Object 0, the sealed manifest: what a renter restored from its seed asks for; only the contract's renter key gets it.
    ta.object = 0;
    const man = TokenResult.decode(await svc.token(ta.encode(), ctxOf(renter)));
    const mget = verifyToken(deriveTokenKey(readOrCreateAdminKey(dir).key),
      unseal(renter, host.publicKey, contract.hash(), man.token).toString());
    t.same([mget.op, mget.object, mget.maxBytes], ['get', 0, 1 << 20], 'a get token for the manifest, its limit as budget');
    t.same(await declined(svc.token(ta.encode(), ctxOf(other))), ['client-error/bad-request', 'unknown-contract'], 'never to another key');
    t.throws(() => unseal(other, host.publicKey, contract.hash(), man.token), 'sealed to the renter key');
    formed = { c: contract, latest: r0, objects };
  });

  await t.test('should accept revisions one number at a time and refuse the rest by code', async (t) => {
    const { c, objects } = formed!;
    let latest = formed!.latest;
    const id = c.hash();
    const data = Buffer.alloc(5000, 9);
    const add = [{ id: 2, root: MerkleTree.fromData(data).root, size: data.length }];
    const revise = (rev: Revision, a: ObjectEntry[], remove: number[] = [], who = renter) => {
      const args = new ReviseArgs();
      args.revision = rev;
      args.add = a;
      args.remove = remove;
      return svc.revise(args.encode(), ctxOf(who));
    };
    const signed = (mut: (r: Revision) => void = () => {}, a = add, remove: number[] = []) => {
      const next = nextRevision(c, latest, objects, { add: a, remove }, height, latest.nextObject).revision;
      mut(next);
      return next.sign(renter, c);
    };
    const other2 = StorageContract.decode(c.encode());
    other2.startHeight += 1;
    const table: Array<[string, Revision, string]> = [
      ['replayed number', signed((r) => { r.number = 0; }), 'revision-out-of-order'],
      ['skipped number', signed((r) => { r.number = 2; }), 'revision-out-of-order'],
      ['another contract', signed((r) => { r.contractId = other2.hash(); }), 'unknown-contract'],
      ['height far behind the tip', signed((r) => { r.height = height - 5; }), 'revision-bad-height'],
      ['accrued off the rules', signed((r) => { r.accrued += 1; }), 'revision-bad-accrued'],
      ['root not the objects', signed((r) => { r.root = Buffer.alloc(32, 1); }), 'revision-bad-root'],
      ['not signed by the renter', (() => { const r = signed(); r.renterSig = Buffer.alloc(64, 1); return r; })(), 'revision-bad-sig'],
      ['more than the allowance pays', signed(() => {}, [{ id: 2, root: Buffer.alloc(32, 3), size: 2 ** 39 }]), 'insufficient-allowance']
    ];
    for (const [name, rev, code] of table) {
      const a = code === 'insufficient-allowance' ? [{ id: 2, root: Buffer.alloc(32, 3), size: 2 ** 39 }] : add;
      const got = await declined(revise(rev, a));
      t.equal(got[1], code, name);
    }
    t.same(await declined(revise(signed(), [{ ...add[0], id: 1 }])), [BAD_TERMS, 'bad-object-changes'], 'an id used before');
    t.same(await declined(revise(signed(), add, [], other)), ['client-error/bad-request', 'unknown-contract'], 'someone else');

    const rev1 = signed();
    const res = ReviseResult.decode(await revise(rev1, add));
    t.equal(res.dataTokens.length, 1, 'an upload token for the added object');
    t.ok(res.hostSig.equals(Buffer.alloc(64)), 'not final before the upload');
    const again = ReviseResult.decode(await revise(rev1, add));
    t.equal(again.dataTokens.length, 1, 'the same revision again is answered again');
    t.same(await declined(svc.receipt(receiptArgs(id, 1), ctxOf(renter))), [BAD_TERMS, 'upload-incomplete']);
    await upload(c.id(), 2, data);
    const final1 = Revision.decode(await svc.receipt(receiptArgs(id, 1), ctxOf(renter)));
    t.ok(final1.sameTerms(rev1) && final1.hasHostSig(), 'revision 1 countersigned');
    t.same(await declined(revise(rev1, add)), [BAD_TERMS, 'revision-out-of-order'], 'a final revision cannot be replayed');
    latest = final1;
    const list = [...objects, add[0]];
    const before = (await backend.status()).reserved;
    const rev2 = nextRevision(c, latest, list, { add: [], remove: [2] }, height, latest.nextObject).revision.sign(renter, c);
    const rm = ReviseResult.decode(await revise(rev2, [], [2]));
    rev2.hostSig = rm.hostSig;
    t.ok(rev2.hasHostSig() && rev2.hostSig.length === 64, 'a removal is final at once');
    t.ok((await backend.status()).reserved < before, 'and frees the space');
    t.same(verifyToken(deriveTokenKey(readOrCreateAdminKey(dir).key), unseal(renter, host.publicKey, id, rm.manifestToken).toString()).object, 0,
      'with a manifest token: the renter re-seals its manifest without the removed file');
    // Replace: one revision removes object 1 and adds object 3; final once 3 is uploaded.
    latest = rev2;
    const data3 = Buffer.alloc(7000, 4);
    const add3 = [{ id: 3, root: MerkleTree.fromData(data3).root, size: data3.length }];
    const rev3 = nextRevision(c, latest, objects, { add: add3, remove: [1] }, height, latest.nextObject).revision.sign(renter, c);
    ReviseResult.decode(await revise(rev3, add3, [1]));
    t.ok(await store.getObject(id, 1), 'object 1 stays until the replacement is final');
    await upload(c.id(), 3, data3);
    const final3 = Revision.decode(await svc.receipt(receiptArgs(id, 3), ctxOf(renter)));
    t.ok(final3.hasHostSig(), 'the replacement countersigned');
    t.same((await store.listObjects(id)).map((o) => o.id), [3], 'replace = remove + add in one revision');
    const latestArgs = new ContractArgs();
    latestArgs.id = id;
    t.equal(Revision.decode(await svc.revision(latestArgs.encode(), ctxOf(renter))).number, 3, 'the host\'s latest is 3');
  });

  await t.test('should take a renter-signed state paying what accrual says, and refuse bad ones by code', async (t) => {
    const { c } = formed!;
    const id = c.hash();
    const key = escrowKeys.get(c.renterEscrowKey.toString('hex'))!;
    const coin = new bcoin.Coin();
    coin.version = 2;
    coin.value = c.escrowValue;
    coin.script = c.escrowOutputScript();
    coin.hash = Buffer.alloc(32, 7).toString('hex');
    coin.index = 0;
    channels.escrow = { coin, spent: false };
    const saved = height;
    height = c.startHeight + c.auditInterval;
    const due = dueFor(c, await store.listRevisions(id), 1, []).paid + 5;
    const payArgs = (state: ChannelState, through = 1, missed: number[] = []) =>
      Object.assign(new PayArgs(), { state, through, missed }).encode();
    const ok = PayArgs.decode(payArgs(signState(c, coin, 1, due, key)));
    const body = await svc.pay(ok.encode(), ctxOf(renter));
    t.same([body.readUInt32LE(0), body.readUInt32LE(8)], [1, due], 'stored: number 1, paid');
    t.same((await svc.pay(ok.encode(), ctxOf(renter))).readUInt32LE(8), due, 'the same state again is acknowledged again');
    const badSig = ChannelState.decode(signState(c, coin, 2, due + 1, key).encode());
    badSig.renterSig = Buffer.from(badSig.renterSig).fill(1, 0, 1);
    const otherKey = bcoin.KeyRing.generate(true).privateKey;
    const table: Array<[string, Buffer, Identity, string]> = [
      ['a lower number', payArgs(signState(c, coin, 1, due + 2, key)), renter, 'state-out-of-order'],
      ['paying less than the last state', payArgs(signState(c, coin, 2, due - 1, key)), renter, 'state-pays-less'],
      ['a bad signature', payArgs(badSig), renter, 'state-bad-sig'],
      ['signed by another key', payArgs(signState(c, coin, 2, due + 1, otherKey)), renter, 'state-bad-sig'],
      ['for another contract', payArgs(Object.assign(signState(c, coin, 2, due + 1, key), { contractId: Buffer.alloc(32, 9) })),
        renter, 'unknown-contract'],
      ['from someone else', payArgs(signState(c, coin, 2, due + 1, key)), other, 'unknown-contract'],
      ['for an interval not ended', payArgs(signState(c, coin, 2, due + 1000, key), 3), renter, 'bad-interval'],
      ['under what accrual says', payArgs(signState(c, coin, 2, due - 6, key)), renter, 'state-underpays']
    ];
    for (const [name, args, who, code] of table) {
      const [status, got] = await declined(svc.pay(args, ctxOf(who)));
      t.equal(got, code, `${name}: ${status}`);
    }
    t.same(await declined(svc.pay(Buffer.alloc(50), ctxOf(renter))), ['client-error/bad-request', 'bad-args'], 'malformed');
    // A missed interval is unpaid: a state paying nothing for it is enough.
    t.same((await svc.pay(payArgs(signState(c, coin, 2, due, key), 1, [0]), ctxOf(renter))).readUInt32LE(0), 2,
      'a state declaring the interval missed');
    channels.escrow = { coin, spent: true };
    t.equal((await declined(svc.pay(payArgs(signState(c, coin, 3, due + 1, key)), ctxOf(renter))))[1], 'escrow-spent',
      'nothing after the escrow is spent');
    height = saved;
  });

  await t.test('should issue tokens only against a state prepaying their bytes, and count them in later states', async (t) => {
    const { c } = formed!;
    const id = c.hash();
    const key = escrowKeys.get(c.renterEscrowKey.toString('hex'))!;
    const coin = channels.escrow!.coin;
    channels.escrow = { coin, spent: false };
    const saved = height;
    height = c.startHeight + c.auditInterval;
    const last = (await channelStore.latestState(id))!;
    const n = last.state.number;
    const paid = last.state.paid;
    // 200 sat/GiB: an object of the latest revision and an audit's 16 x 4096 bytes both cost 1 sat.
    const obj = (await store.listObjects(id))[0];
    t.equal(tokenCost(c, obj.size), 1);
    t.equal(tokenCost(c, AUDIT_BUDGET), 1);
    const tokenArgs = (object: number, state: ChannelState | null) => Object.assign(new TokenArgs(), { id, object, state }).encode();
    const table: Array<[string, Buffer, string]> = [
      ['no state', tokenArgs(obj.id, null), 'prepay-required'],
      ['the stored amount again', tokenArgs(obj.id, signState(c, coin, n + 1, paid, key)), 'state-underpays'],
      ['a number not above the stored one', tokenArgs(obj.id, signState(c, coin, n, paid + 1, key)), 'state-out-of-order'],
      ['another contract\'s state', tokenArgs(obj.id, Object.assign(signState(c, coin, n + 1, paid + 1, key), { contractId: Buffer.alloc(32, 9) })),
        'state-wrong-contract'],
      ['an audit without a state', tokenArgs(ALL_OBJECTS, null), 'prepay-required']
    ];
    for (const [name, args, code] of table)
      t.equal((await declined(svc.token(args, ctxOf(renter))))[1], code, name);
    t.equal((await channelStore.latestState(id))!.state.number, n, 'nothing declined was stored');
    const tok = TokenResult.decode(await svc.token(tokenArgs(obj.id, signState(c, coin, n + 1, paid + 1, key)), ctxOf(renter)));
    const get = verifyToken(deriveTokenKey(readOrCreateAdminKey(dir).key), unseal(renter, host.publicKey, id, tok.token).toString());
    t.same([get.op, get.object, get.maxBytes], ['get', obj.id, obj.size], 'a get token for the object, its size as budget');
    const audit = TokenResult.decode(await svc.token(tokenArgs(ALL_OBJECTS, signState(c, coin, n + 2, paid + 2, key)), ctxOf(renter)));
    const all = verifyToken(deriveTokenKey(readOrCreateAdminKey(dir).key), unseal(renter, host.publicKey, id, audit.token).toString());
    t.same([all.object, all.maxBytes], [ALL_OBJECTS, AUDIT_BUDGET], 'an audit token: every object, 16 leaves');
    const stored = (await channelStore.latestState(id))!;
    t.same([stored.state.number, stored.prepaid - last.prepaid, stored.final], [n + 2, 2, last.final],
      'stored before the answer, the increase recorded as prepaid');
    // A payment now owes the intervals plus the downloads prepaid.
    const due = dueFor(c, await store.listRevisions(id), 1, [], stored.prepaid).paid;
    const payArgs = (state: ChannelState) => Object.assign(new PayArgs(), { state, through: 1, missed: [] }).encode();
    t.equal((await declined(svc.pay(payArgs(signState(c, coin, n + 3, due - 1, key)), ctxOf(renter))))[1], 'state-underpays',
      'a state forgetting the prepaid downloads');
    t.same((await svc.pay(payArgs(signState(c, coin, n + 3, Math.max(due, stored.state.paid), key)), ctxOf(renter))).readUInt32LE(0), n + 3);
    t.equal((await channelStore.latestState(id))!.prepaid, stored.prepaid, 'a payment leaves prepaid as it was');
    // The audit token above was served at the end of interval 0: a payment newly calling interval 0 missed is
    // checked against what its reads served.
    const top = (await channelStore.latestState(id))!.state;
    const missedArgs = (paid: number) => Object.assign(new PayArgs(), { state: signState(c, coin, top.number + 1, paid, key),
      through: 1, missed: [0] }).encode();
    // Paying nothing shows the missed check passed (state-underpays comes after it); what a check saw is kept.
    const cases: Array<[string, number | null, string]> = [
      ['some reads served', AUDIT_BUDGET - 4096, 'state-underpays'],
      ['the data API cannot tell (the reads seen so far count)', null, 'state-underpays'],
      ['every read served', AUDIT_BUDGET, 'missed-but-served'],
      ['the token expired since: what was seen stays', null, 'missed-but-served']
    ];
    for (const [name, served, code] of cases) {
      auditServed = served;
      t.equal((await declined(svc.pay(missedArgs(0), ctxOf(renter))))[1], code, name);
    }
    auditServed = null;
    height = saved;
  });

  await t.test('should refuse contracts off the audit schedule', async (t) => {
    const offer = Offer.decode(await svc.offer(offerArgs(4096, 100, 900), ctxOf(renter)));
    const { c, rev0, objects } = await build(offer, 4096);
    c.holdback = 10000;
    c.sign(renter);
    t.same(await declined(svc.propose(proposeArgs(c, rev0, objects), ctxOf(renter))), [BAD_TERMS, 'bad-audit-terms']);
  });

  await t.test('should use an offer once, even under concurrent proposals', async (t) => {
    const offer = Offer.decode(await svc.offer(offerArgs(4096, 100, 900), ctxOf(renter)));
    const a = await build(offer, Buffer.alloc(4096, 2));
    const b = await build(offer, Buffer.alloc(4096, 3));
    const results = await Promise.all([a, b].map((x) => declined(svc.propose(proposeArgs(x.c, x.rev0, x.objects), ctxOf(renter)).then(() => {}))));
    t.same(results.map((r) => r[1]).sort(), ['no-offer', 'ok']);
  });

  await t.test('should not overcommit capacity under concurrent offers', async (t) => {
    const free = await svc.freeCapacity();
    const each = Math.floor(free / 3) + 1;
    const renters = [other, ident(21), ident(22), ident(23)];
    const results = await Promise.all(renters.map((r) => declined(svc.offer(offerArgs(each, 100, 900), ctxOf(r)).then(() => {}))));
    t.same(results.map((r) => r[1]).sort(), ['no-capacity', 'no-capacity', 'ok', 'ok']);
    t.ok(svc.reservedByOffers() <= free, 'never more than free');
  });

  await t.test('should release a renter\'s oldest offer when it asks for one more', async (t) => {
    height += 100; // expire earlier offers
    const offers: Offer[] = [];
    for (let i = 0; i < 9; i++)
      offers.push(Offer.decode(await svc.offer(offerArgs(4096, 100, 900), ctxOf(renter))));
    t.equal(svc.openOffers(), 8, 'at most 8 open offers per renter');
    const first = await build(offers[0], Buffer.alloc(4096, 4));
    t.same(await declined(svc.propose(proposeArgs(first.c, first.rev0, first.objects), ctxOf(renter))), [BAD_TERMS, 'no-offer'], 'the oldest was released');
    const last = await build(offers[8], Buffer.alloc(4096, 5));
    t.same(await declined(svc.propose(proposeArgs(last.c, last.rev0, last.objects), ctxOf(renter)).then(() => {})), ['ok', 'ok'], 'the newest stands');
    height += 100;
  });

  await t.test('should bound what a renter without paid history may reserve', async (t) => {
    const stranger = ident(24);
    t.teardown(() => { svc.terms = { ...svc.terms, newRenterShare: 100, newRenterCap: 2 ** 40 }; });
    const free = await svc.freeCapacity();
    svc.terms = { ...svc.terms, newRenterShare: 25, newRenterCap: 2 ** 40 };
    t.same(await declined(svc.offer(offerArgs(Math.floor(free * 0.3), 100, 900), ctxOf(stranger))),
      [NO_CAPACITY, 'over-new-renter-limit'], 'over the share of free capacity');
    svc.terms = { ...svc.terms, newRenterShare: 100, newRenterCap: 2 * 2 ** 20 };
    t.same(await declined(svc.offer(offerArgs(1.5 * 2 ** 20, 100, 900), ctxOf(stranger))),
      [NO_CAPACITY, 'over-new-renter-limit'], 'over the absolute cap (the object, its tree file and a manifest)');
    // Asking again and again only replaces its own offers: the total stays bounded.
    for (let i = 0; i < 20; i++)
      await svc.offer(offerArgs(300 * 1024, 100, 900), ctxOf(stranger));
    t.ok(svc.reservedByOffers() <= 2 * 2 ** 20, `a stranger holds ${svc.reservedByOffers()} bytes, at most the cap`);
    svc.terms = { ...svc.terms, newRenterShare: 25, newRenterCap: 2 ** 40 };
    // The renter whose contract is committed on chain is not a stranger.
    t.same(await declined(svc.offer(offerArgs(Math.floor(free * 0.3), 100, 900), ctxOf(renter)).then(() => {})), ['ok', 'ok'],
      'a renter with a committed contract here may reserve more');
    height += 100;
  });

  await t.test('should let proven coins lift a new renter\'s caps (--host-new-renter-coins)', async (t) => {
    const stranger = ident(25);
    t.teardown(() => { svc.terms = { ...svc.terms, newRenterShare: 100, newRenterCap: 2 ** 40, newRenterCoins: 0 }; });
    const free = await svc.freeCapacity();
    svc.terms = { ...svc.terms, newRenterShare: 25, newRenterCap: 2 ** 40, newRenterCoins: 100_000_000, newRenterCoinsAge: 6 };
    const big = offerArgs(Math.floor(free * 0.3), 100, 900);
    const withCoins = (coins: Array<{ value: number; age: number }>) => ({ ...ctxOf(stranger), from: stranger.publicKey, coins }) as unknown as RequestContext;
    const asked = await svc.offer(big, withCoins([])).catch((e: ServiceError) => e) as ServiceError;
    t.equal(asked.status, 'request-declined/coins-required', 'asked to prove coins instead of a plain decline');
    t.same(readCoinNeed(asked.body), { amount: 100_000_000, age: 6 });
    t.same(await declined(svc.offer(big, withCoins([{ value: 100_000_000, age: 5 }]))), ['request-declined/coins-required', 'coins-required'],
      'coins not deep enough');
    t.same(await declined(svc.offer(big, withCoins([{ value: 60_000_000, age: 10 }, { value: 40_000_000, age: 6 }])).then(() => {})),
      ['ok', 'ok'], 'coins worth the amount lift the cap');
    height += 100;
  });

  await t.test('should see its escrows funded on chain without the record', async (t) => {
    const offer = Offer.decode(await svc.offer(offerArgs(4096, 100, 900), ctxOf(renter)));
    const { c, rev0, objects } = await build(offer, Buffer.alloc(4096, 6));
    await svc.propose(proposeArgs(c, rev0, objects), ctxOf(renter));
    const commitOut = { script: bcoin.Script.fromNulldata(Buffer.concat([Buffer.from('4343000101', 'hex'), Buffer.alloc(33)])), value: 0 };
    const escrow = { script: c.escrowOutputScript(), value: c.escrowValue };
    const block = (...outputs: unknown[]) => ({ txs: [{ outputs }] } as unknown as bcoin.Block);
    t.same(await svc.scanBlock(block({ ...escrow, value: c.escrowValue - 1 }, commitOut), height), [], 'wrong value: not ours');
    t.same(await svc.scanBlock(block(escrow), height), [], 'no commit OP_RETURN: a payment, not a commitment');
    const seen = await svc.scanBlock(block(escrow, commitOut), height);
    t.same(seen.map((id) => id.toString('hex')), [c.id()]);
    t.ok(await store.isFunded(c.hash()));
    await svc.unscanBlock(height);
    t.notOk(await store.isFunded(c.hash()), 'a disconnected block takes its marks with it');
    t.same(await svc.scanBlock(block(escrow, commitOut), c.expiryHeight + 1), [], 'after the offer expired: void');
    t.notOk(await store.isFunded(c.hash()));
    await svc.unscanBlock(c.expiryHeight + 1); // that block goes too: back before the expiry
    await svc.scanBlock(block(escrow, commitOut), height);
    t.ok(await store.isFunded(c.hash()), 'seen again when re-mined in time');
    fundedId = c.id();
  });

  await t.test('should drop contracts never committed, keep committed ones', async (t) => {
    const hosted = await store.listHosted();
    t.ok(hosted.length >= 2, 'some countersigned contracts');
    const funded = hosted.find((c) => c.id() === fundedId)!;
    // Past the funded contract's offer (plus W), before its refund height.
    height = funded.expiryHeight + 13;
    t.ok(height < funded.refundHeight);
    const dropped = await svc.maintain(height);
    const left = (await store.listHosted()).map((c) => c.id());
    const keep = (c: StorageContract) => c.refundHeight >= height && (committed.has(c.id()) || c.id() === fundedId);
    t.same(left.sort(), hosted.filter(keep).map((c) => c.id()).sort(),
      'left: committed or seen-funded contracts not yet past their refund height');
    t.ok(left.includes(fundedId), 'a contract whose escrow was seen funded stays');
    t.equal(dropped.length, hosted.length - left.length);
    t.ok(dropped.length > 0);
  });

  await t.test('should drop a contract never seen committed past its offer, one seen once W blocks later', async (t) => {
    const commitOut = { script: bcoin.Script.fromNulldata(Buffer.concat([Buffer.from('4343000101', 'hex'), Buffer.alloc(33)])), value: 0 };
    const form = async (fill: number) => {
      const offer = Offer.decode(await svc.offer(offerArgs(4096, 100, 900), ctxOf(renter)));
      const { c, rev0, objects } = await build(offer, Buffer.alloc(4096, fill));
      await svc.propose(proposeArgs(c, rev0, objects), ctxOf(renter));
      return c;
    };
    const [never, reorged, pending] = [await form(7), await form(8), await form(9)];
    const escrowOf = (c: StorageContract) => ({ script: c.escrowOutputScript(), value: c.escrowValue });
    // Funded in a block that a reorg then disconnected.
    await svc.scanBlock({ txs: [{ outputs: [escrowOf(reorged), commitOut] }] } as unknown as bcoin.Block, height);
    await svc.unscanBlock(height);
    t.notOk(await store.isFunded(reorged.hash()));
    t.ok(await store.wasFunded(reorged.hash()), 'remembered as seen once');
    // Its commitment waiting in the mempool.
    const mempool = new Set(HostService.escrowKeys({ outputs: [commitOut, escrowOf(pending)] } as unknown as bcoin.TX));
    t.equal(mempool.size, 1);
    t.same(HostService.escrowKeys({ outputs: [escrowOf(pending)] } as unknown as bcoin.TX), [], 'no commit OP_RETURN: none');
    const expiry = never.expiryHeight;
    t.ok(reorged.expiryHeight === expiry && pending.expiryHeight === expiry);
    const held = async () => {
      const ids = new Set((await store.listHosted()).map((c) => c.id()));
      return [never, reorged, pending].filter((c) => ids.has(c.id())).map((c) => c.id());
    };
    await svc.maintain(expiry, () => mempool);
    t.same(await held(), [never.id(), reorged.id(), pending.id()], 'all kept until the offer expires');
    const dropped = await svc.maintain(expiry + 1, () => mempool);
    t.same(dropped.filter((d) => d.contract.id() === never.id()).map((d) => d.ended), [false], 'dropped as never committed');
    t.same(await held(), [reorged.id(), pending.id()], 'one never seen goes at the first block past its offer');
    t.equal(backend.store.getContract(never.id()), null, 'its data is deleted');
    const window = 12; // W on regtest
    await svc.maintain(expiry + window, () => mempool);
    t.same(await held(), [reorged.id(), pending.id()], 'ones seen once stay W blocks past the offer');
    await svc.maintain(expiry + window + 1, () => mempool);
    t.same(await held(), [], 'then go');
    t.equal(backend.store.getContract(reorged.id()), null);
    t.equal(backend.store.getContract(pending.id()), null);
  });

  await t.test('should rescan at start the blocks that may fund an awaited escrow', async (t) => {
    const offer = Offer.decode(await svc.offer(offerArgs(4096, 100, 900), ctxOf(renter)));
    const { c, rev0, objects } = await build(offer, Buffer.alloc(4096, 10));
    await svc.propose(proposeArgs(c, rev0, objects), ctxOf(renter));
    const commitOut = { script: bcoin.Script.fromNulldata(Buffer.concat([Buffer.from('4343000101', 'hex'), Buffer.alloc(33)])), value: 0 };
    const funding = { txs: [{ outputs: [{ script: c.escrowOutputScript(), value: c.escrowValue }, commitOut] }] } as unknown as bcoin.Block;
    // A block stored by the chain whose hook never ran (the host died in between).
    const asked: number[] = [];
    const seen = await svc.rescan(height + 5, async (h) => {
      asked.push(h);
      return h === height + 3 ? funding : null;
    });
    t.same(seen.map((id) => id.toString('hex')), [c.id()], 'its escrow found');
    t.ok(await store.isFunded(c.hash()), 'and marked funded');
    t.ok(asked.includes(height) && asked[asked.length - 1] === height + 5, 'from the offer to the tip');
    t.same(await svc.rescan(height + 5, async () => funding), [], 'nothing awaited any more: nothing to do');
    await store.deleteHosted(c.hash());
    await backend.unregister(c.id());
  });

  await t.test('should drop everything after its refund height', async (t) => {
    t.ok((await store.listHosted()).length > 0);
    height += 10000;
    await svc.maintain(height);
    t.same(await store.listHosted(), [], 'ended contracts leave the store');
    height -= 10000;
  });

  await t.test('should let unused offers expire', async (t) => {
    await svc.offer(offerArgs(4096, 100, 900), ctxOf(renter));
    t.equal(svc.openOffers(), 1);
    height += 100;
    t.equal(svc.openOffers(), 0);
    t.equal(svc.reservedByOffers(), 0);
  });
});
