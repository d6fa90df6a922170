// csannounce: signing, gossip over a chain of peers, latest wins, rate
// limit per identity, expiry, bad signatures, sync of newly proven peers.
import t from 'tap';
import { AnnouncePacket, decode } from '../lib/negotiator/packets';
import { AnnouncementStore, announcement, announceResults, type HostOffer } from '../lib/negotiator/announce';
import { BoundedMap } from '../lib/negotiator/boundedmap';
import { MAX_ANNOUNCE_BLOCKS, MAX_URL_SIZE } from '../lib/negotiator/common';
import { decodeCodes } from '../lib/negotiator/wire';
import { PacketError } from '../lib/base/errors';
import { addRPCs } from '../lib/negotiator/rpc';
import type { RPCMethod } from '../lib/base/extension';
import { fixedIdentity, network, makeNode, link, deliver, settle } from './util/negotiator-pair';
import { forValue } from './util/wait';

const magic = network.magic;

function offer(over: Partial<HostOffer> = {}): HostOffer {
  return {
    url: 'https://files.example.com/cc', storagePrice: 5000, uploadPrice: 100, downloadPrice: 200,
    capacity: 10e9, maxDuration: 1000, expiry: 150, ...over
  };
}

function signed(byte: number, seq: number, over: Partial<HostOffer> = {}): AnnouncePacket {
  return announcement(offer(over), seq).sign(fixedIdentity(byte), magic);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof PacketError ? e.code : (e as Error).name;
  }
  return 'no-error';
}

t.test('AnnouncePacket', async (t) => {
  t.test('should round-trip and verify', async (t) => {
    const a = signed(3, 7);
    const raw = a.encode();
    t.equal(raw.length, a.getSize());
    const back = decode('csannounce', raw) as AnnouncePacket;
    t.same(back.getJSON(), a.getJSON());
    t.ok(back.verify(magic));
    back.capacity += 1;
    t.notOk(back.verify(magic), 'every field is signed');
    t.equal(a.cmd, 'csannounce');
  });
  t.test('should reject malformed announcements by code', async (t) => {
    const raw = signed(3, 7).encode();
    const urlAt = 33 + 4 + 4;
    const withUrl = (url: Buffer): Buffer => Buffer.concat([raw.subarray(0, urlAt), Buffer.from([url.length]), url,
      raw.subarray(urlAt + 1 + raw[urlAt])]);
    const table: Array<[string, () => unknown]> = [
      [decodeCodes.TRUNCATED, () => decode('csannounce', raw.subarray(0, raw.length - 1))],
      [decodeCodes.TRAILING, () => decode('csannounce', Buffer.concat([raw, Buffer.alloc(1)]))],
      [decodeCodes.BAD_URL, () => decode('csannounce', withUrl(Buffer.from('ftp://x')))],
      [decodeCodes.BAD_URL, () => decode('csannounce', withUrl(Buffer.from('http://a b')))],
      [decodeCodes.OVERSIZED, () => decode('csannounce', withUrl(Buffer.alloc(MAX_URL_SIZE + 1, 0x61)))],
      [decodeCodes.BAD_PUBKEY, () => decode('csannounce', Buffer.concat([Buffer.from([5]), raw.subarray(1)]))]
    ];
    for (const [code, fn] of table)
      t.equal(codeOf(fn), code);
    t.equal(codeOf(() => decode('csannounce', withUrl(Buffer.from('http://ok')))), 'no-error');
    t.throws(() => announcement(offer({ url: 'nope' }), 1), RangeError);
    t.throws(() => announcement(offer({ capacity: -1 }), 1), RangeError);
  });
});

t.test('AnnouncementStore', async (t) => {
  t.test('should keep the newest valid announcement per identity', async (t) => {
    let now = 1_000_000;
    const store = new AnnouncementStore(magic, { clock: () => now });
    const h = 100;
    t.equal(store.add(signed(3, 5), h), announceResults.ACCEPTED);
    t.equal(store.add(signed(3, 5), h), announceResults.STALE, 'same seq');
    t.equal(store.add(signed(3, 4), h), announceResults.STALE, 'older seq');
    t.equal(store.add(signed(3, 6), h), announceResults.TOO_SOON, 'rate limit per identity');
    now += 60_000;
    t.equal(store.add(signed(3, 6, { capacity: 1 }), h), announceResults.ACCEPTED, 'latest wins');
    t.equal(store.get(fixedIdentity(3).publicKey)?.capacity, 1);
    t.equal(store.add(signed(4, 1, { expiry: 99 }), h), announceResults.EXPIRED);
    t.equal(store.add(signed(4, 1, { expiry: h + MAX_ANNOUNCE_BLOCKS + 1 }), h), announceResults.TOO_FAR);
    const forged = signed(4, 1);
    forged.publicKey = fixedIdentity(5).publicKey;
    t.equal(store.add(forged, h), announceResults.BAD_SIG);
    t.equal(store.add(signed(4, 1, { expiry: 120 }), h), announceResults.ACCEPTED);
    t.same(store.list(h).map((a) => a.expiry), [120, 150], 'newest first');
    t.same(store.list(121).map((a) => a.expiry), [150], 'expired dropped');
    t.equal(store.size, 1);
  });
  t.test('BoundedMap should forget the oldest entries', async (t) => {
    const m = new BoundedMap<number, number>(3);
    for (let i = 0; i < 10; i++)
      m.set(i, i);
    t.same([...m.keys()], [7, 8, 9]);
    m.touch(7);
    m.set(10, 10);
    t.same([...m.keys()], [9, 7, 10]);
  });
});

t.test('gossip', async (t) => {
  // a - b - c in a line; d joins b later.
  const opts = { height: () => 100 };
  const a = await makeNode(11, opts);
  const b = await makeNode(12, opts);
  const c = await makeNode(13, opts);
  await link(a, b);
  const [, cb] = await link(c, b);

  t.test('should relay an announcement two hops and sync a new peer', async (t) => {
    const arrived = forValue(() => c.hosts().length, 1, 5000, 'announcement at c');
    const ann = a.announce(offer());
    await arrived;
    t.same(c.hosts()[0].getJSON(), ann.getJSON());
    t.equal(b.hosts().length, 1);
    t.same(a.hosts().map((x) => x.seq), [ann.seq], 'our own is listed');
    const d = await makeNode(14, opts);
    await link(d, b);
    await forValue(() => d.hosts().length, 1, 5000, 'synced to a new peer');
  });

  t.test('should replace with a newer announcement, everywhere', async (t) => {
    const first = a.hosts()[0].seq;
    // b and c rate-limit a's identity; a shorter interval is what tests can wait for.
    const b2 = await makeNode(15, { height: () => 100, announceIntervalMs: 0 });
    const [ab2] = await link(a, b2);
    const next = a.announce(offer({ capacity: 5 }));
    t.ok(next.seq > first);
    await forValue(() => b2.hosts()[0]?.capacity, 5, 5000, 'newer wins at an unthrottled peer');
    await settle();
    t.equal(b.hosts().find((x) => x.publicKey.equals(a.identity.publicKey))?.capacity, 10e9,
      'a throttled peer keeps the older one until the interval passes');
    t.ok(ab2.errors.length === 0);
  });

  t.test('should score a forged announcement and not relay it', async (t) => {
    const forged = signed(16, 1);
    forged.publicKey = fixedIdentity(17).publicKey;
    await deliver(cb, 'csannounce', forged.encode());
    await settle();
    t.same(cb.back?.errors, ['bad-announce-sig']);
    t.notOk(b.hosts().some((x) => x.publicKey.equals(fixedIdentity(17).publicKey)));
  });

  t.test('should list announcements in the RPC', async (t) => {
    const rpc = new Map<string, RPCMethod>();
    addRPCs({ addRPC: (name, _help, fn) => { rpc.set(name, fn); } }, c);
    const list = await (rpc.get('gethostannouncements') as RPCMethod)([]) as Array<Record<string, unknown>>;
    t.match(list[0], {
      identity: a.identity.address, url: 'https://files.example.com/cc', storageprice: 5000,
      uploadprice: 100, downloadprice: 200, capacity: 10e9, maxduration: 1000, expiry: 150
    });
  });
});
