// Finding hosts one is not connected to, over real bcoin connections in
// one process: an announcement carries the host's address two hops away,
// `listhosts` and `cloudcoin-cli hosts` show it unconnected, connectHosts
// dials it, a host that accepts no connections is reached through its
// relay dialling back, and a dialled connection closes when idle.
import t from 'tap';
import type { Negotiator } from '../lib/negotiator';
import { TEMP_IDLE_MS } from '../lib/negotiator/common';
import { NodesContext, runCLI, type TestNode } from './util/nodes-context';
import { forValue } from './util/wait';

const WAIT_MS = 20000;

interface HostRow {
  identity: string;
  address: string | null;
  url: string;
  connected: boolean;
  reach: { how: string; address: string } | null;
  height: number;
}

function neg(n: TestNode): Negotiator {
  return n.node.require<Negotiator>('negotiator');
}

function offer(n: TestNode, url: string) {
  return {
    url, storagePrice: 1000, uploadPrice: 10, downloadPrice: 10,
    capacity: 1 << 30, maxDuration: 500, expiry: n.height + 100
  };
}

t.test('host discovery over P2P', async (t) => {
  // relay X; host H dials X; NAT host N (no inbound) dials X; renter R dials X.
  const ctx = await NodesContext.create([{ memory: true }, { memory: true }, { memory: true }, { memory: true }]);
  t.teardown(() => ctx.close());
  const [x, h, n, r] = ctx.nodes;
  await x.open();
  await h.open();
  await n.open({ listen: false });
  await r.open();
  await ctx.connect(1, 0);
  await ctx.connect(2, 0);
  await ctx.connect(3, 0);
  const proven = (a: TestNode, b: TestNode) => forValue(() => neg(a).peers.byKey(neg(b).identity.publicKey)?.publicKey !== null
    && neg(a).peers.byKey(neg(b).identity.publicKey) !== null, true, WAIT_MS, 'identity proven');
  await proven(h, x);
  await proven(n, x);
  await proven(r, x);
  neg(h).announce(offer(h, 'http://127.0.0.1:1/h'));
  neg(n).announce(offer(n, 'http://127.0.0.1:1/n'));
  const idH = neg(h).identity.address;
  const idN = neg(n).identity.address;

  await t.test('should list hosts never connected to, with their announced addresses', async (t) => {
    const rows = await forValue(async () => await r.rpc('listhosts') as HostRow[], (v) => v.length === 2, WAIT_MS,
      'both announcements at the renter');
    const byId = new Map(rows.map((row) => [row.identity, row]));
    t.match(byId.get(idH), { address: h.addr, reach: { how: 'direct', address: h.addr }, url: 'http://127.0.0.1:1/h',
      connected: false, height: r.height });
    t.match(byId.get(idN), { address: `via ${x.addr}`, reach: { how: 'relay', address: x.addr }, connected: false },
      'the NAT host: through its relay');
    const cli = await runCLI(['--regtest', '--rpcport', String(r.rpcPort), '--api-key', 'test', 'hosts']);
    t.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trim().split('\n');
    t.match(lines[0], /^identity\s+reached\s+data URL\s+storage sat\/GiB\/1000blk\s+up\/down sat\/GiB\s+free\s+score\s+audits ok\/failed\s+height$/,
      'prices with their units');
    // Not connected: `reached` says `direct ADDR` (outbound/inbound when connected).
    t.ok(lines.some((l) => l.startsWith(idH) && l.includes(`direct ${h.addr}`) && l.includes('1.00 GiB')), lines.join('\n'));
    const json = await runCLI(['--regtest', '--rpcport', String(r.rpcPort), '--api-key', 'test', 'hosts', '--json']);
    t.same((JSON.parse(json.stdout) as HostRow[]).map((row) => row.identity).sort(), [idH, idN].sort());
  });

  await t.test('should dial an announced host on demand and close the connection when idle', async (t) => {
    const res = await neg(r).connectHosts({ count: 1, filter: (a) => neg(r).addressOf(a.publicKey) === idH });
    t.equal(res.opened, 1);
    t.equal(res.connected.length, 1);
    const call = await r.rpc('cloudrequest', [idH, 'info', 'services']) as { status: string };
    t.equal(call.status, 'ok');
    const rows = await r.rpc('listhosts') as HostRow[];
    t.equal(rows.find((row) => row.identity === idH)?.connected, true);
    t.same(rows.find((row) => row.identity === idH)?.reach, { how: 'outbound', address: h.addr }, 'reached: dialled');
    t.equal(neg(r).dialer.sweep(Date.now() + TEMP_IDLE_MS + 1000), 1, 'idle: closed');
    await forValue(() => neg(r).peers.byKey(neg(h).identity.publicKey), null, WAIT_MS, 'connection closed');
  });

  await t.test('should reach a host that accepts no connections through its relay', async (t) => {
    const res = await neg(r).connectHosts({ count: 1, filter: (a) => neg(r).addressOf(a.publicKey) === idN });
    t.same(res.failed, []);
    t.equal(res.connected.length, 1);
    const cp = neg(r).peers.byKey(neg(n).identity.publicKey);
    t.equal(cp?.peer.outbound, false, 'the host dialled us');
    const rows = await r.rpc('listhosts') as HostRow[];
    t.same(rows.find((row) => row.identity === idN)?.reach, { how: 'inbound', address: '127.0.0.1' },
      'reached: inbound, named by its IP (it announced no address; the port is ephemeral)');
    const call = await r.rpc('cloudrequest', [idN, 'info', 'services']) as { status: string };
    t.equal(call.status, 'ok');
  });
});
