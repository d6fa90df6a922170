// Host announcements: both versions on the wire (csannounce, csannounce2
// with P2P addresses and withdrawal), the store (latest wins at once,
// relays paced per host, expiry), and gossip over in-memory peers: two
// hops, sync of new peers, withdrawal, relays in our own announcement,
// old-version peers, forged announcements, the RPCs.
import t from 'tap';
import { AnnouncePacket, HostAddr, addrKinds } from '../lib/negotiator/announcepacket';
import { decode } from '../lib/negotiator/packets';
import { AnnouncementStore, announcement, announceResults, withdrawal, type HostOffer } from '../lib/negotiator/announce';
import { BoundedMap } from '../lib/negotiator/boundedmap';
import { MAX_ANNOUNCE_BLOCKS, MAX_HOST_ADDRS, MAX_URL_SIZE } from '../lib/negotiator/common';
import { decodeCodes } from '../lib/negotiator/wire';
import { PacketError } from '../lib/base/errors';
import { addRPCs } from '../lib/negotiator/rpc';
import type { RPCMethod } from '../lib/base/extension';
import type { Negotiator } from '../lib/negotiator/negotiator';
import { FakeNet, fixedIdentity, network, makeNode, link, deliver, settle } from './util/negotiator-pair';
import { forValue } from './util/wait';

const magic = network.magic;

function offer(over: Partial<HostOffer> = {}): HostOffer {
  return {
    url: 'https://files.example.com/cc', storagePrice: 5000, uploadPrice: 100, downloadPrice: 200,
    capacity: 10e9, maxDuration: 1000, expiry: 150, ...over
  };
}

function addr(kind: number, hostname: string): HostAddr {
  return HostAddr.fromHostname(kind, hostname) as HostAddr;
}

/** A signed csannounce2 by key `byte`. */
function signed(byte: number, seq: number, over: Partial<HostOffer> = {}, addrs: HostAddr[] = []): AnnouncePacket {
  return announcement(offer(over), seq, addrs).sign(fixedIdentity(byte), magic);
}

/** A signed version-1 csannounce by key `byte`. */
function signedV1(byte: number, seq: number, over: Partial<HostOffer> = {}): AnnouncePacket {
  return announcement(offer(over), seq, [], 1).sign(fixedIdentity(byte), magic);
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
  t.test('should round-trip and verify both versions', async (t) => {
    const addrs = [addr(addrKinds.DIRECT, '10.1.2.3:18444'), addr(addrKinds.RELAY, '[2001:db8::7]:18444')];
    for (const a of [signedV1(3, 7), signed(3, 7, {}, addrs)]) {
      const raw = a.encode();
      t.equal(raw.length, a.getSize());
      const back = decode(a.cmd, raw) as AnnouncePacket;
      t.same(back.getJSON(), a.getJSON());
      t.ok(back.verify(magic));
      back.capacity += 1;
      t.notOk(back.verify(magic), 'every field is signed');
    }
    t.equal(signedV1(3, 7).cmd, 'csannounce');
    t.equal(signed(3, 7).cmd, 'csannounce2');
    const v2 = decode('csannounce2', signed(3, 7, {}, addrs).encode()) as AnnouncePacket;
    t.same(v2.hostnames(addrKinds.DIRECT), ['10.1.2.3:18444']);
    t.same(v2.hostnames(addrKinds.RELAY), ['[2001:db8:0:0:0:0:0:7]:18444']);
    // A v1 signature does not verify as v2 (different tag and layout).
    const v1 = signedV1(3, 7);
    const as2 = announcement(offer(), 7);
    as2.publicKey = v1.publicKey;
    as2.sig = v1.sig;
    t.notOk(as2.verify(magic));
  });

  t.test('should reject malformed announcements by code', async (t) => {
    const raw1 = signedV1(3, 7).encode();
    const raw2 = signed(3, 7, {}, [addr(addrKinds.DIRECT, '10.0.0.1:1')]).encode();
    const urlAt = 33 + 4 + 4;
    const withUrl = (url: Buffer): Buffer => Buffer.concat([raw1.subarray(0, urlAt), Buffer.from([url.length]), url,
      raw1.subarray(urlAt + 1 + raw1[urlAt])]);
    const flagsAt = 33 + 4 + 4;
    const urlEnd = flagsAt + 1 + 1 + raw2[flagsAt + 1];
    const addrsAt = urlEnd + 8 * 4 + 4;
    const withFlags = (flags: number): Buffer => Buffer.concat([raw2.subarray(0, flagsAt), Buffer.from([flags]),
      raw2.subarray(flagsAt + 1)]);
    const withAddrs = (bytes: Buffer): Buffer => Buffer.concat([raw2.subarray(0, addrsAt), bytes, raw2.subarray(raw2.length - 64)]);
    // [code, payload]
    const table: Array<[string, () => unknown]> = [
      [decodeCodes.TRUNCATED, () => decode('csannounce', raw1.subarray(0, raw1.length - 1))],
      [decodeCodes.TRAILING, () => decode('csannounce', Buffer.concat([raw1, Buffer.alloc(1)]))],
      [decodeCodes.BAD_URL, () => decode('csannounce', withUrl(Buffer.from('ftp://x')))],
      [decodeCodes.BAD_URL, () => decode('csannounce', withUrl(Buffer.from('http://a b')))],
      [decodeCodes.BAD_URL, () => decode('csannounce', withUrl(Buffer.alloc(0)))],
      [decodeCodes.OVERSIZED, () => decode('csannounce', withUrl(Buffer.alloc(MAX_URL_SIZE + 1, 0x61)))],
      [decodeCodes.BAD_PUBKEY, () => decode('csannounce', Buffer.concat([Buffer.from([5]), raw1.subarray(1)]))],
      [decodeCodes.BAD_FLAGS, () => decode('csannounce2', withFlags(2))],
      [decodeCodes.BAD_FLAGS, () => decode('csannounce2', withFlags(1)), 'a withdrawal with capacity and addresses'],
      [decodeCodes.OVERSIZED, () => decode('csannounce2', withAddrs(Buffer.from([MAX_HOST_ADDRS + 1])))],
      [decodeCodes.BAD_ADDR, () => decode('csannounce2', withAddrs(Buffer.from('01000103010203' + '0001', 'hex')))],
      [decodeCodes.BAD_ADDR, () => decode('csannounce2', withAddrs(Buffer.from('0100010401020304' + '0000', 'hex')))],
      [decodeCodes.OVERSIZED, () => decode('csannounce2', withAddrs(Buffer.concat([Buffer.from('010009', 'hex'),
        Buffer.from([33]), Buffer.alloc(33), Buffer.from('0001', 'hex')])))],
      [decodeCodes.TRUNCATED, () => decode('csannounce2', withAddrs(Buffer.from('0100010401020304' + '00', 'hex')))]
    ].map(([code, fn]) => [code as string, fn as () => unknown]);
    for (const [code, fn] of table)
      t.equal(codeOf(fn), code, code);
    t.equal(codeOf(() => decode('csannounce', withUrl(Buffer.from('http://ok')))), 'no-error');
    // An address of a network we do not know yet is kept (onion later), not dialled.
    const onion = decode('csannounce2', withAddrs(Buffer.concat([Buffer.from('010004', 'hex'), Buffer.from([32]),
      Buffer.alloc(32, 7), Buffer.from('208d', 'hex')]))) as AnnouncePacket;
    t.equal(onion.addrs[0].net, 4);
    t.same(onion.hostnames(addrKinds.DIRECT), []);
    t.throws(() => announcement(offer({ url: 'nope' }), 1), RangeError);
    t.throws(() => announcement(offer({ capacity: -1 }), 1), RangeError);
    t.throws(() => announcement(offer(), 1, Array(MAX_HOST_ADDRS + 1).fill(addr(0, '10.0.0.1:1'))), RangeError);
    const w = withdrawal(9, 120).sign(fixedIdentity(3), magic);
    const back = decode('csannounce2', w.encode()) as AnnouncePacket;
    t.ok(back.withdrawn && back.verify(magic) && back.url === '', 'a withdrawal has no URL, capacity or address');
  });

  t.test('should parse and print addresses', async (t) => {
    // [hostname, network id, printed back]
    const table: Array<[string, number | null, string | null]> = [
      ['10.0.0.1:18444', 1, '10.0.0.1:18444'],
      ['[::1]:8333', 2, '[0:0:0:0:0:0:0:1]:8333'],
      ['[fd00::1:2]:1', 2, '[fd00:0:0:0:0:0:1:2]:1'],
      ['[::ffff:10.1.2.3]:5', 2, '[0:0:0:0:0:ffff:a01:203]:5'],
      ['10.0.0.256:1', null, null],
      ['10.0.0.1:0', null, null],
      ['10.0.0.1:65536', null, null],
      ['host.example:80', null, null],
      ['[1::2::3]:1', null, null]
    ];
    for (const [hostname, net, back] of table) {
      const a = HostAddr.fromHostname(addrKinds.DIRECT, hostname);
      t.equal(a?.net ?? null, net, hostname);
      t.equal(a?.toHostname() ?? null, back, hostname);
    }
  });
});

t.test('AnnouncementStore', async (t) => {
  t.test('should keep the newest valid announcement per identity, at once', async (t) => {
    let now = 1_000_000;
    const store = new AnnouncementStore(magic, { clock: () => now });
    const h = 100;
    t.equal(store.add(signed(3, 5), h), announceResults.ACCEPTED);
    t.equal(store.add(signed(3, 5), h), announceResults.STALE, 'same seq');
    t.equal(store.add(signed(3, 4), h), announceResults.STALE, 'older seq');
    t.equal(store.add(signed(3, 6, { capacity: 2 }), h), announceResults.DEFERRED, 'newer within the interval');
    t.equal(store.get(fixedIdentity(3).publicKey)?.capacity, 2, 'latest wins at once');
    t.equal(store.add(signed(3, 7, { capacity: 3 }), h), announceResults.DEFERRED);
    t.same(store.takeDue(), [], 'its relay waits for the interval');
    t.equal(store.nextDue(), 1_060_000);
    now += 60_000;
    t.same(store.takeDue().map((a) => a.capacity), [3], 'then the newest is relayed, once');
    t.same(store.takeDue(), []);
    t.equal(store.add(signed(3, 8, { capacity: 1 }), h), announceResults.DEFERRED, 'relayed just now');
    now += 60_000;
    t.equal(store.add(signed(3, 9, { capacity: 4 }), h), announceResults.ACCEPTED, 'a quiet host relays at once');
    t.same(store.takeDue(), [], 'and nothing is left due');
    t.equal(store.add(signed(4, 1, { expiry: 99 }), h), announceResults.EXPIRED);
    t.equal(store.add(signed(4, 1, { expiry: h + MAX_ANNOUNCE_BLOCKS + 1 }), h), announceResults.TOO_FAR);
    const forged = signed(4, 1);
    forged.publicKey = fixedIdentity(5).publicKey;
    t.equal(store.add(forged, h), announceResults.BAD_SIG);
    t.equal(store.add(signedV1(4, 1, { expiry: 120 }), h), announceResults.ACCEPTED, 'version 1 is still read');
    t.same(store.list(h).map((a) => a.expiry), [120, 150], 'newest first');
    t.same(store.records(h).map((r) => r.height), [100, 100], 'with the height each was accepted at');
    t.same(store.list(121).map((a) => a.expiry), [150], 'expired dropped');
    t.equal(store.size, 1);
    t.equal(store.add(withdrawal(10, 150).sign(fixedIdentity(3), magic), h), announceResults.DEFERRED);
    t.same(store.list(h), [], 'a withdrawn host is not listed');
    t.ok(store.forSync(h, 10)[0].withdrawn, 'but its withdrawal is synced');
    t.equal(store.add(signed(3, 9), h), announceResults.STALE, 'and older offers stay out');
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
  // a - b - c in a line; d joins b later. Relays of one host are paced to
  // one per 300 ms (real time) so the test can wait for them.
  const opts = { height: () => 100, announceIntervalMs: 300 };
  const a = await makeNode(11, opts);
  const b = await makeNode(12, opts);
  const c = await makeNode(13, opts);
  await link(a, b);
  // cToB carries c's packets to b; bToC carries b's packets to c.
  const [cToB, bToC] = await link(c, b);
  const nodes: Negotiator[] = [a, b, c];
  t.teardown(async () => {
    for (const n of nodes)
      await n.close();
  });

  t.test('should relay an announcement two hops and sync a new peer', async (t) => {
    const arrived = forValue(() => c.hosts().length, 1, 5000, 'announcement at c');
    const ann = a.announce(offer());
    await arrived;
    t.same(c.hosts()[0].getJSON(), ann.getJSON());
    t.equal(b.hosts().length, 1);
    t.same(a.hosts().map((x) => x.seq), [ann.seq], 'our own is listed');
    const d = await makeNode(14, opts);
    nodes.push(d);
    await link(d, b);
    await forValue(() => d.hosts().length, 1, 5000, 'synced to a new peer');
  });

  t.test('should replace with a newer announcement promptly, everywhere', async (t) => {
    const first = a.hosts()[0].seq;
    const seen: number[] = [];
    c.on('announcement', (x: AnnouncePacket) => seen.push(x.capacity));
    // Three updates in a row (a host restarting twice): every peer ends on
    // the last one, the first at once, the rest when b's relay interval ends.
    a.announce(offer({ capacity: 5 }));
    a.announce(offer({ capacity: 6 }));
    const last = a.announce(offer({ capacity: 7 }));
    t.ok(last.seq > first);
    await forValue(() => b.hosts()[0]?.capacity, 7, 5000, 'b holds the newest at once');
    await forValue(() => c.hosts()[0]?.capacity, 7, 5000, 'c gets the newest after b\'s interval');
    t.ok(seen.length <= 3 && seen[seen.length - 1] === 7, `c saw ${seen.join(', ')}`);
  });

  t.test('should withdraw everywhere when the host stops hosting', async (t) => {
    t.ok(a.withdraw());
    await forValue(() => c.hosts().length, 0, 5000, 'withdrawal at c');
    t.equal(b.hosts().length, 0);
    t.equal(a.withdraw(), null, 'nothing left to withdraw');
    a.announce(offer({ capacity: 8 }));
    await forValue(() => c.hosts()[0]?.capacity, 8, 5000, 'announcing again replaces the withdrawal');
  });

  t.test('should withdraw an earlier run\'s announcement it is sent while not hosting', async (t) => {
    // e announced in an earlier run; it restarts without hosting, and its
    // old announcement comes back from b.
    const old = signed(15, 1000, { capacity: 9 });
    await deliver(cToB, 'csannounce2', old.encode());
    await forValue(() => b.hosts().some((x) => x.publicKey.equals(old.publicKey)), true, 5000, 'old offer at b');
    const e = await makeNode(15, opts);
    nodes.push(e);
    await link(e, b);
    await forValue(() => b.hosts().some((x) => x.publicKey.equals(old.publicKey)), false, 5000, 'withdrawn at b');
    const w = b.announcements.get(old.publicKey);
    t.ok(w?.withdrawn && w.seq > 1000, 'with a higher seq');
  });

  t.test('should not send csannounce2 to a version-1 peer, and relay version 1 to everyone', async (t) => {
    const old = await makeNode(16, opts);
    nodes.push(old);
    const [bOld, oldB] = await link(b, old);
    await settle();
    // Pretend `old` spoke version 1 in its hello.
    const cp = b.peers.get(bOld);
    t.ok(cp);
    (cp as { csVersion: number }).csVersion = 1;
    const v1 = signedV1(17, 1);
    await deliver(oldB, 'csannounce', v1.encode());
    await forValue(() => c.hosts().some((x) => x.publicKey.equals(v1.publicKey)), true, 5000, 'v1 relayed');
    const sent = bOld.sent.map(([cmd]) => cmd);
    const v2 = signed(18, 1);
    await deliver(cToB, 'csannounce2', v2.encode());
    await forValue(() => b.hosts().some((x) => x.publicKey.equals(v2.publicKey)), true, 5000, 'v2 at b');
    await settle();
    t.notOk(bOld.sent.slice(sent.length).some(([cmd]) => cmd === 'csannounce2'), 'no csannounce2 to a v1 peer');
  });

  t.test('should score a forged announcement and not relay it', async (t) => {
    const forged = signed(19, 1);
    forged.publicKey = fixedIdentity(20).publicKey;
    const before = bToC.errors.length;
    await deliver(cToB, 'csannounce2', forged.encode());
    await settle();
    t.same(bToC.errors.slice(before), ['bad-announce-sig'], 'b scores c');
    t.notOk(b.hosts().some((x) => x.publicKey.equals(fixedIdentity(20).publicKey)));
  });

  t.test('should list announcements and hosts in the RPC', async (t) => {
    const rpc = new Map<string, RPCMethod>();
    addRPCs({ addRPC: (name, _help, fn) => { rpc.set(name, fn); } }, c);
    const list = await (rpc.get('gethostannouncements') as RPCMethod)([]) as Array<Record<string, unknown>>;
    t.match(list.find((x) => x.identity === a.identity.address), {
      identity: a.identity.address, url: 'https://files.example.com/cc', storageprice: 5000,
      uploadprice: 100, downloadprice: 200, capacity: 8, maxduration: 1000, expiry: 150, version: 2
    });
    const hosts = await (rpc.get('listhosts') as RPCMethod)([]) as Array<Record<string, unknown>>;
    t.match(hosts.find((x) => x.identity === a.identity.address), {
      url: 'https://files.example.com/cc', height: 100, connected: false, verified: false,
      address: /^via 10\.0\.1\.\d+:18444$/
    });
    t.match(hosts.find((x) => x.identity === b.identity.address) ?? { connected: true }, { connected: true });
  });
});

t.test('own addresses', async (t) => {
  t.test('should announce direct addresses and outbound CloudStorage peers as relays, and follow changes', async (t) => {
    const net = new FakeNet();
    const opts = { height: () => 100, announceIntervalMs: 0 };
    const relay = await net.node(31, '10.5.0.1:18444', opts);
    const host = await net.node(32, '10.5.0.2:18444', { ...opts, nat: true });
    const open = await net.node(33, '10.5.0.3:18444', opts);
    t.teardown(async () => {
      for (const n of [relay, host, open])
        await n.close();
    });
    const ann = open.announce(offer());
    t.same(ann.hostnames(addrKinds.DIRECT), ['10.5.0.3:18444'], 'a listening host: its address');
    t.same(host.announce(offer()).addrs, [], 'behind NAT and connected to nobody: no address yet');
    // The host dials the relay: the relay becomes one of its addresses (after ADDR_REFRESH_MS).
    host.dialer.connectHosts([relay.announce(offer())], { count: 1 });
    await forValue(() => host.hosts().find((x) => x.publicKey.equals(host.identity.publicKey))?.hostnames(addrKinds.RELAY).length,
      1, 20000, 'relay announced');
    const own = host.announcements.get(host.identity.publicKey) as AnnouncePacket;
    t.same(own.hostnames(addrKinds.RELAY), ['10.5.0.1:18444']);
    t.same(own.hostnames(addrKinds.DIRECT), []);
  });
});
