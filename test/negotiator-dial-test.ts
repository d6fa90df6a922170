// Dialling announced hosts on demand (Dialer, over an in-memory network):
// cheapest first within a budget of new connections and a concurrency
// bound, hosts behind NAT reached through a relay that has them dial back
// (to the caller's own address only), temporary connections closed when
// idle unless held, and the declines of peers.connect / peers.dialback.
import t from 'tap';
import { announcement, type HostOffer } from '../lib/negotiator/announce';
import { DIAL_CONCURRENCY, TEMP_IDLE_MS } from '../lib/negotiator/common';
import { connectArgs } from '../lib/negotiator/dialer';
import type { Negotiator } from '../lib/negotiator/negotiator';
import { HostAddr, addrKinds, type AnnouncePacket } from '../lib/negotiator/announcepacket';
import { statuses } from '../lib/negotiator/status';
import { FakeNet, network, settle } from './util/negotiator-pair';
import { forValue } from './util/wait';

const magic = network.magic;

function offer(over: Partial<HostOffer> = {}): HostOffer {
  return {
    url: 'http://10.0.0.1/files', storagePrice: 100, uploadPrice: 1, downloadPrice: 1,
    capacity: 1e9, maxDuration: 100, expiry: 200, ...over
  };
}

/** Teach `n` an announcement as if gossip had brought it. */
function learn(n: Negotiator, ann: AnnouncePacket): void {
  n.announcements.add(ann, 100, { own: false });
}

/** A signed announcement by `host` at `hostnames` (direct) and `relays`. */
function announced(host: Negotiator, over: Partial<HostOffer>, hostnames: string[], relays: string[] = []): AnnouncePacket {
  const addrs = [
    ...hostnames.map((h) => HostAddr.fromHostname(addrKinds.DIRECT, h) as HostAddr),
    ...relays.map((h) => HostAddr.fromHostname(addrKinds.RELAY, h) as HostAddr)
  ];
  return announcement(offer(over), 1, addrs).sign(host.identity, magic);
}

function keys(list: Buffer[]): string[] {
  return list.map((k) => k.toString('hex')).sort();
}

t.test('connectHosts', async (t) => {
  let now = 1_000_000;
  const clock = (): number => now;
  const net = new FakeNet();
  const opts = { height: () => 100, clock };
  const renter = await net.node(1, '10.6.0.9:18444', opts);
  const hosts: Negotiator[] = [];
  for (let i = 0; i < 6; i++)
    hosts.push(await net.node(10 + i, `10.6.1.${i}:18444`, opts));
  t.teardown(async () => {
    for (const n of [renter, ...hosts])
      await n.close();
  });
  // Prices 600, 500, ... 100: the cheapest are the last hosts.
  hosts.forEach((h, i) => learn(renter, announced(h, { storagePrice: 600 - 100 * i }, [`10.6.1.${i}:18444`])));

  t.test('should dial the cheapest qualifying hosts, at most DIAL_CONCURRENCY at once', async (t) => {
    // Count dials in flight: each ends with an identity proven (or a failure).
    let inflight = 0;
    let most = 0;
    const push = net.dials.push.bind(net.dials);
    net.dials.push = (...items) => {
      inflight += items.length;
      most = Math.max(most, inflight);
      return push(...items);
    };
    const done = (): void => { inflight -= 1; };
    renter.on('peer identity', done);
    const before = net.dials.length;
    const res = await renter.connectHosts({ count: 3, filter: (a) => a.storagePrice <= 400 });
    renter.removeListener('peer identity', done);
    net.dials.push = push;
    t.same(keys(res.connected), keys(hosts.slice(3, 6).map((h) => h.identity.publicKey)),
      'the three cheapest of the four within the price');
    t.equal(res.opened, 3);
    t.equal(net.dials.length - before, 3);
    t.ok(most <= DIAL_CONCURRENCY, `at most ${DIAL_CONCURRENCY} dials at once (saw ${most})`);
    t.same(res.failed, []);
    const again = await renter.connectHosts({ count: 3, filter: (a) => a.storagePrice <= 400 });
    t.equal(again.opened, 0, 'already connected: nothing new');
  });

  t.test('should close temporary connections when idle unless held', async (t) => {
    const [held, ...rest] = hosts.slice(3, 6);
    renter.hold(held.identity.publicKey);
    // A call keeps a connection busy; idle ones go after TEMP_IDLE_MS.
    now += TEMP_IDLE_MS - 1;
    await renter.request(rest[0].identity.publicKey, 'info', 'services');
    now += 2;
    t.equal(renter.dialer.sweep(), 1, 'one idle connection closed');
    await forValue(() => renter.peers.byKey(rest[1].identity.publicKey), null, 5000, 'idle host gone');
    t.ok(renter.peers.byKey(rest[0].identity.publicKey), 'a busy one stays');
    now += TEMP_IDLE_MS;
    renter.dialer.sweep();
    await forValue(() => renter.peers.byKey(rest[0].identity.publicKey), null, 5000, 'then it goes too');
    t.ok(renter.peers.byKey(held.identity.publicKey), 'the held host stays');
  });

  t.test('should stop at the budget of new connections and say why hosts failed', async (t) => {
    // Five hosts announce addresses nobody listens at.
    const gone = await Promise.all([21, 22, 23, 24, 25].map((b, i) => net.node(b, `10.6.8.${i}:1`, opts)));
    t.teardown(async () => {
      for (const n of gone)
        await n.close();
    });
    gone.forEach((g, i) => learn(renter, announced(g, { storagePrice: 1 }, [`10.6.9.${i}:18444`])));
    const before = net.dials.length;
    const res = await renter.connectHosts({ count: 1, filter: (a) => a.storagePrice === 1 });
    t.equal(res.connected.length, 0);
    t.equal(res.opened, 3, 'count x 3 new connections at most');
    t.equal(net.dials.length - before, 3);
    t.equal(res.failed.length, 3);
    t.match(res.failed[0].reason, /10\.6\.9\.\d:18444: connection failed/);
  });
});

t.test('release', async (t) => {
  let now = 1_000_000;
  const net = new FakeNet();
  const opts = { height: () => 100, clock: (): number => now };
  const renter = await net.node(31, '10.6.2.9:18444', opts);
  const hosts = await Promise.all([0, 1, 2].map((i) => net.node(32 + i, `10.6.3.${i}:18444`, opts)));
  t.teardown(async () => {
    for (const n of [renter, ...hosts])
      await n.close();
  });
  // Hosts that announce themselves (one that did not would withdraw what we learned).
  hosts.forEach((h, i) => learn(renter, h.announce(offer({ storagePrice: 100 + i }))));
  const [held, kept, dropped] = hosts;
  renter.hold(held.identity.publicKey);
  const res = await renter.connectHosts({ count: 3 });
  t.equal(res.connected.length, 3);
  t.equal(res.lease.length, 3, 'three dialled for it');
  const other = await renter.connectHosts({ count: 3 });
  t.equal(other.opened, 0, 'a second negotiation at the same time shares them');
  t.equal(renter.release(other.lease, []), 0, 'the second one done: the first still uses them');
  t.equal(renter.release(res.lease, [kept.identity.publicKey]), 1, 'one closed at once, when the negotiations are over');
  await forValue(() => renter.peers.byKey(dropped.identity.publicKey), null, 5000, 'the host not kept gone');
  t.ok(renter.peers.byKey(kept.identity.publicKey), 'the host that made an offer stays');
  t.ok(renter.peers.byKey(held.identity.publicKey), 'the held host stays');
  now += TEMP_IDLE_MS + 1;
  renter.dialer.sweep();
  await forValue(() => renter.peers.byKey(kept.identity.publicKey), null, 5000, 'the kept one still closes when idle');
  t.ok(renter.peers.byKey(held.identity.publicKey), 'the held one does not');
});

t.test('hosts behind NAT', async (t) => {
  const net = new FakeNet();
  const opts = { height: () => 100, announceIntervalMs: 0 };
  const renter = await net.node(1, '10.7.0.9:18444', opts);
  const relay = await net.node(2, '10.7.0.1:18444', opts);
  const natHost = await net.node(3, '10.7.0.3:18444', { ...opts, nat: true });
  const stranger = await net.node(4, '10.7.0.4:18444', opts);
  t.teardown(async () => {
    for (const n of [renter, relay, natHost, stranger])
      await n.close();
  });
  natHost.announce(offer());
  // The NAT host keeps an outbound connection to the relay.
  await natHost.dialer.connectHosts([relay.announce(offer())], { count: 1 });
  const ann = announced(natHost, {}, [], ['10.7.0.1:18444']);
  learn(renter, ann);

  t.test('should reach a host behind NAT through a relay that has it dial back', async (t) => {
    const before = net.dials.length;
    const res = await renter.connectHosts({ count: 1, filter: (a) => a.publicKey.equals(natHost.identity.publicKey) });
    t.same(keys(res.connected), keys([natHost.identity.publicKey]));
    t.equal(res.opened, 2, 'the relay dial and the dial-back');
    const dials = net.dials.slice(before);
    t.same(dials.map((d) => d.to), ['10.7.0.1:18444', '10.7.0.9:18444'],
      'renter -> relay, then host -> the renter\'s own address');
    t.equal(dials[1].from, '10.7.0.3');
    const call = await renter.request(natHost.identity.publicKey, 'info', 'services');
    t.equal(call.status, statuses.OK, 'requests flow over the connection the host made');
  });

  t.test('should decline dial-backs that cannot or must not happen', async (t) => {
    const ask = (via: Negotiator, target: Buffer, port = 18444) =>
      renter.request(via.identity.publicKey, 'peers', 'connect', connectArgs(target, port));
    // [what, call, status, body]
    const table: Array<[string, () => Promise<{ status: string; body: Buffer }>, string, string]> = [
      ['a host the relay is not connected to', () => ask(relay, stranger.identity.publicKey),
        'request-declined/not-connected', 'not-connected'],
      ['a target that does not host (it declines the dial-back)', () => ask(relay, renter.identity.publicKey),
        'request-declined/dialback-declined', 'dialback-declined'],
      ['malformed args', () => renter.request(relay.identity.publicKey, 'peers', 'connect', Buffer.alloc(3)),
        'client-error/bad-request', 'bad-args']
    ];
    await renter.connectHosts({ count: 1, filter: (a) => a.publicKey.equals(relay.identity.publicKey) });
    learn(renter, relay.announcements.get(relay.identity.publicKey) as AnnouncePacket);
    await forValue(() => renter.peers.byKey(relay.identity.publicKey) !== null, true, 5000, 'renter - relay');
    for (const [what, call, status, body] of table) {
      const res = await call();
      t.equal(res.status, status, what);
      t.equal(res.body.toString('latin1'), body, what);
    }
    // A node that does not host declines a dial-back outright.
    const direct = await relay.request(renter.identity.publicKey, 'peers', 'dialback',
      Buffer.concat([stranger.identity.publicKey, (HostAddr.fromHostname(0, '10.7.0.4:18444') as HostAddr).encode()]))
      .catch((e: Error) => ({ status: e.message, body: Buffer.alloc(0) }));
    t.equal(direct.status, 'request-declined/not-hosting');
  });

  t.test('should rate-limit dial-back requests per caller', async (t) => {
    let limited = 0;
    for (let i = 0; i < 20 && limited === 0; i++) {
      const res = await renter.request(relay.identity.publicKey, 'peers', 'connect', connectArgs(natHost.identity.publicKey, 18444));
      if (res.status === statuses.RATE_LIMITED)
        limited += 1;
    }
    t.equal(limited, 1, 'a caller gets a few a minute');
    await settle();
  });
});

t.test('a relay that is this node', async (t) => {
  // A host dialled the renter, so its announcement names the renter as a
  // relay; while the host is away (restarting) the renter must not dial
  // itself for it (regtest lets bcoin connect to itself), and a connection
  // that proves our own identity is dropped, never listed as a peer.
  const net = new FakeNet();
  const opts = { height: () => 100, announceIntervalMs: 0 };
  const renter = await net.node(1, '10.8.0.9:18444', opts);
  const host = await net.node(2, '10.8.0.2:18444', { ...opts, nat: true });
  t.teardown(async () => {
    for (const n of [renter, host])
      await n.close();
  });
  learn(renter, announced(host, {}, [], ['10.8.0.9:18444']));
  const wanted = { count: 1, filter: (a: AnnouncePacket) => a.publicKey.equals(host.identity.publicKey) };
  const before = net.dials.length;
  const res = await renter.connectHosts(wanted);
  t.same(res.connected, []);
  t.same(res.failed.map((f) => f.reason), ['via 10.8.0.9:18444: the relay is this node']);
  t.same(net.dials.slice(before).map((d) => d.to), ['10.8.0.9:18444'], 'dialled itself once, not knowing');
  await forValue(() => renter.peers.size, 0, 5000, 'the connection to itself closed');
  t.equal(renter.peers.byKey(renter.identity.publicKey), null, 'never a peer of its own identity');
  const again = await renter.connectHosts(wanted);
  t.same(again.failed.map((f) => f.reason), ['via 10.8.0.9:18444: the relay is this node']);
  t.equal(again.opened, 0, 'its own address is not dialled again');
  t.equal(net.dials.length - before, 1);
});

t.test('a held host reached twice', async (t) => {
  // The renter dialled a held host (a temporary connection) while the host,
  // restarted with --connect, dialled the renter: two connections of one
  // identity. The renter's redundant one goes once idle; the host's stays.
  let now = 1_000_000;
  const net = new FakeNet();
  const opts = { height: () => 100, clock: (): number => now };
  const renter = await net.node(41, '10.9.0.9:18444', opts);
  const host = await net.node(42, '10.9.0.2:18444', opts);
  t.teardown(async () => {
    for (const n of [renter, host])
      await n.close();
  });
  learn(renter, host.announce(offer()));
  renter.hold(host.identity.publicKey);
  const res = await renter.connectHosts({ count: 1 });
  t.equal(res.opened, 1, 'the renter dialled the host');
  net.dial(host, '10.9.0.2', '10.9.0.9:18444');
  const ofHost = () => renter.peers.all().filter((cp) => cp.publicKey?.equals(host.identity.publicKey));
  await forValue(() => ofHost().length, 2, 5000, 'both connections proven');
  now += TEMP_IDLE_MS - 1;
  t.equal(renter.dialer.sweep(), 0, 'not idle long enough yet');
  now += 1;
  t.equal(renter.dialer.sweep(), 1, 'the redundant temporary connection closed once idle');
  await forValue(() => ofHost().length, 1, 5000, 'one connection left');
  t.equal(ofHost()[0].peer.outbound, false, 'the one the host opened stays');
  now += TEMP_IDLE_MS;
  t.equal(renter.dialer.sweep(), 0, 'and is never swept');
});
