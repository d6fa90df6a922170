// Cloud slots in bcoin's pool (against a stub pool): CloudStorage peers
// from the address manager fill the extra outbound slots, other peers keep
// to bcoin's own slots, temporary dials get slots of their own; and which
// addresses count as private (regtest test networks) and are announced.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { CloudSlots, directAddresses, isPrivate, isPrivateHost } from '../lib/negotiator/cloudpeers';
import { NODE_CLOUDSTORAGE } from '../lib/negotiator/common';

const network = bcoin.Network.get('regtest');
const CLOUD = (NODE_CLOUDSTORAGE | 9) >>> 0;

interface StubPeer {
  outbound: boolean;
  handshake: boolean;
  services: number;
  address: { services: number };
  next: StubPeer | null;
}

function addr(hostname: string, services: number): bcoin.NetAddress {
  const a = bcoin.net.NetAddress.fromHostname(hostname, network);
  a.services = services;
  return a;
}

/** A pool with `plain` and `cloud` outbound peers and address manager entries. */
function stubPool(plain: number, cloud: number, entries: Array<[bcoin.NetAddress, number]>, temporary = 0) {
  const peers: StubPeer[] = [];
  for (let i = 0; i < plain + cloud + temporary; i++) {
    const services = i < plain ? 9 : CLOUD;
    peers.push({ outbound: true, handshake: true, services, address: { services }, next: null });
  }
  peers.forEach((p, i) => { p.next = peers[i + 1] ?? null; });
  const original = addr('20.9.9.9:18444', 9);
  const connected = new Set<string>(['20.1.0.3:18444']);
  const pool = {
    options: { maxOutbound: 8, services: CLOUD, listen: true, publicHost: '0.0.0.0', publicPort: 18444 },
    peers: { head: () => peers[0] ?? null, has: (h: string) => connected.has(h) },
    hosts: {
      map: new Map(entries.map(([a, lastAttempt]) => [a.hostname, { addr: a, lastAttempt, services: a.services }])),
      local: new Map([['20.1.0.4:18444', {}]]),
      isBanned: (host: string) => host === '20.1.0.5'
    },
    getHost: () => original
  };
  const temps = new Set(peers.slice(plain + cloud));
  const slots = new CloudSlots({
    pool: pool as unknown as bcoin.Pool, network, slots: 4, isTemporary: (p) => temps.has(p as unknown as StubPeer)
  });
  return { pool, slots, original };
}

t.test('CloudSlots', async (t) => {
  const now = network.now();
  const cloudEntry = addr('20.1.0.1:18444', CLOUD);
  // [what, plain, cloud, entries, want: 'cloud' | 'original' | null]
  const table: Array<[string, number, number, Array<[bcoin.NetAddress, number]>, 'cloud' | 'original' | null]> = [
    ['a free cloud slot takes a CloudStorage address', 0, 0, [[cloudEntry, 0]], 'cloud'],
    ['also when bcoin\'s slots are full', 8, 0, [[cloudEntry, 0]], 'cloud'],
    ['cloud slots full: bcoin picks', 3, 4, [[cloudEntry, 0]], 'original'],
    ['no cloud address: bcoin\'s slots still fill', 7, 0, [], 'original'],
    ['no cloud address: other peers never take the cloud slots', 8, 0, [], null],
    ['a cloud peer in a normal slot counts once', 8, 4, [], null],
    ['plain addresses are not cloud peers', 8, 0, [[addr('20.1.0.2:18444', 9), 0]], null],
    ['unroutable addresses are skipped (loopback; private off a private regtest network)', 8, 0, [
      [addr('127.0.0.1:18444', CLOUD), 0], [addr('10.1.0.7:18444', CLOUD), 0]
    ], null],
    ['connected, local, banned or just tried addresses are skipped', 8, 0, [
      [addr('20.1.0.3:18444', CLOUD), 0], [addr('20.1.0.4:18444', CLOUD), 0], [addr('20.1.0.5:18444', CLOUD), 0],
      [addr('20.1.0.6:18444', CLOUD), now - 10]
    ], null]
  ];
  for (const [what, plain, cloud, entries, want] of table) {
    const { pool, original } = stubPool(plain, cloud, entries);
    const got = pool.getHost();
    t.equal(got === null ? null : got === original ? 'original' : got === cloudEntry ? 'cloud' : got.hostname, want, what);
  }

  t.test('should size bcoin\'s outbound limit: its own slots, the cloud slots and temporary dials', async (t) => {
    const { pool, slots } = stubPool(2, 1, [[cloudEntry, 0]], 3);
    t.equal(pool.options.maxOutbound, 8 + 4);
    t.same(slots.count(), { outbound: 3, cloud: 1 }, 'temporary dials are not counted');
    slots.setTemporary(3);
    t.equal(pool.options.maxOutbound, 8 + 4 + 3);
    slots.setTemporary(0);
    t.equal(pool.options.maxOutbound, 8 + 4);
  });
});

t.test('private addresses', async (t) => {
  // [host, private]
  const table: Array<[string, boolean]> = [
    ['10.0.0.1', true], ['10.255.255.255', true], ['172.16.0.1', true], ['172.31.255.1', true], ['172.32.0.1', false],
    ['172.15.0.1', false], ['192.168.1.1', true], ['192.169.1.1', false], ['127.0.0.1', false], ['8.8.8.8', false],
    ['fd00::1', true], ['fc00::1', true], ['fe80::1', false], ['::1', false], ['2001:db8::1', false],
    ['fd87:d87e:eb43::1', false]
  ];
  for (const [host, want] of table)
    t.equal(isPrivateHost(host), want, host);
  t.notOk(isPrivate(Buffer.alloc(4)), 'not a 16-byte address');
});

t.test('directAddresses', async (t) => {
  // [listen, publicHost, network, our ends of connections (inbound?, local address), announced]
  type Conn = [boolean, string];
  const table: Array<[boolean, string, string, Conn[], string[]]> = [
    [true, '10.0.0.5', 'regtest', [], ['10.0.0.5:18444']],
    [true, '127.0.0.1', 'regtest', [], ['127.0.0.1:18444']],
    [false, '10.0.0.5', 'regtest', [], []],
    [true, '0.0.0.0', 'regtest', [], []],
    [true, '::', 'regtest', [], []],
    [true, '10.0.0.5', 'main', [], []],
    [true, '8.8.8.8', 'main', [], ['8.8.8.8:18444']],
    [true, '2001:4860::8888', 'main', [], ['[2001:4860::8888]:18444']],
    // Bound to every address: the local ends of our connections, inbound (proven reachable) first, once each.
    [true, '0.0.0.0', 'regtest', [[false, '127.0.0.1']], ['127.0.0.1:18444']],
    [true, '0.0.0.0', 'regtest', [[false, '10.0.0.7'], [true, '::ffff:10.0.0.5'], [false, '10.0.0.7']],
      ['10.0.0.5:18444', '10.0.0.7:18444']],
    [true, '::', 'main', [[false, '2001:4860::8888']], ['[2001:4860::8888]:18444']],
    // Behind NAT on main: a private interface address is not announced (relays reach the host).
    [true, '0.0.0.0', 'main', [[false, '192.168.1.20'], [false, '8.8.4.4']], ['8.8.4.4:18444']],
    [true, '0.0.0.0', 'main', [[false, '192.168.1.20']], []],
    [false, '0.0.0.0', 'regtest', [[false, '127.0.0.1']], []],
    // A specific address wins over the sockets.
    [true, '10.0.0.5', 'regtest', [[false, '127.0.0.1']], ['10.0.0.5:18444']]
  ];
  for (const [listen, publicHost, net, conns, want] of table) {
    let head: object | null = null;
    for (const [inbound, localAddress] of [...conns].reverse())
      head = { outbound: !inbound, connected: true, socket: { localAddress }, next: head };
    const pool = { options: { listen, publicHost, publicPort: 18444 }, peers: { head: () => head } } as unknown as bcoin.Pool;
    t.same(directAddresses(pool, bcoin.Network.get(net)), want,
      `${net} ${publicHost} listen=${listen} ${conns.map((c) => `${c[0] ? 'in' : 'out'}:${c[1]}`).join(' ')}`);
  }
});
