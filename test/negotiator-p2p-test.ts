// The negotiator on real bcoin P2P connections: two cloudcoind nodes find
// each other by service bit and hello, answer `info services` through the
// RPC; a peer sending garbage cs* packets is banned while honest peers keep
// being served; a plain bcoin node never sees a cs* packet.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import bcoin = require('../lib/bcoin');
import * as negotiatorModule from '../lib/negotiator';
import { Negotiator, NODE_CLOUDSTORAGE } from '../lib/negotiator';
import type { ExtensionModule } from '../lib/base/extension';
import { defaultExtensions } from '../lib/cli/extensions';
import { freePorts } from '../lib/node/ports';
import { NodesContext, DaemonProcess, ROOT } from './util/nodes-context';
import { forValue } from './util/wait';

const WAIT_MS = 15000;

/** The default extensions, plus the negotiator until the node lists it by default. */
function extensions(): ExtensionModule[] {
  const list = defaultExtensions();
  if (list.some((e) => e.id === negotiatorModule.id))
    return list;
  return [...list, negotiatorModule as ExtensionModule];
}

function neg0(n: { node: { require<T>(id: string): T } }): Negotiator {
  return n.node.require<Negotiator>('negotiator');
}

interface CloudPeerJSON {
  identity: string | null;
  addr: string;
  services: string;
  version: number;
  inbound: boolean;
}

interface ServicesJSON {
  status: string;
  body: Array<{ name: string; version: number; methods: Array<{ name: string; price: number }> }>;
}

function plainNode(port: number, httpPort: number, services?: number): bcoin.FullNode {
  const node = new bcoin.FullNode({
    network: 'regtest', memory: true, workers: false, listen: false,
    host: '127.0.0.1', port, httpPort, seeds: [], logLevel: 'error'
  });
  node.pool.discoverExternal = async () => {};
  if (services !== undefined)
    node.pool.options.services = services >>> 0;
  return node;
}

t.test('negotiator over P2P (in-process nodes)', async (t) => {
  const ctx = await NodesContext.create([
    { memory: true, extensions: extensions() },
    { memory: true, extensions: extensions(), config: { policy: ['deny peers.list'] } }
  ]);
  const [p1, h1, p2, h2] = await freePorts(4);
  const plain = plainNode(p1, h1);
  const garbage = plainNode(p2, h2, plain.pool.options.services | NODE_CLOUDSTORAGE);
  t.teardown(async () => {
    await garbage.close().catch(() => {});
    await plain.close().catch(() => {});
    await ctx.close();
  });
  const started = Date.now();
  await ctx.open();
  await ctx.connect(1, 0);
  const [a, b] = ctx.nodes;
  const idA = await a.rpc('getidentity') as { identity: string; pubkey: string };
  const idB = await b.rpc('getidentity') as { identity: string; pubkey: string };

  await t.test('should list each other in getcloudpeers', async (t) => {
    t.match(idA.identity, /^rb1q/);
    t.equal(idA.pubkey.length, 66);
    const onA = await forValue(async () => await a.rpc('getcloudpeers') as CloudPeerJSON[],
      (v) => v.length === 1 && v[0].identity === idB.identity, WAIT_MS, 'A lists B');
    const onB = await forValue(async () => await b.rpc('getcloudpeers') as CloudPeerJSON[],
      (v) => v.length === 1 && v[0].identity === idA.identity, WAIT_MS, 'B lists A');
    t.equal(onA[0].inbound, true);
    t.equal(onB[0].inbound, false);
    t.equal(onB[0].addr, a.addr, 'outbound peer listed by its listen address');
    t.ok((parseInt(onB[0].services, 16) & NODE_CLOUDSTORAGE) !== 0, 'service bit advertised');
    t.ok(onB[0].version > 0);
    t.comment(`two nodes up and introduced in ${Date.now() - started} ms`);
  });

  await t.test('should answer cloudrequest PEER info services', async (t) => {
    const t0 = Date.now();
    const res = await b.rpc('cloudrequest', [idA.identity, 'info', 'services']) as ServicesJSON;
    t.comment(`first cloudrequest (with nonce refresh) ${Date.now() - t0} ms`);
    t.equal(res.status, 'ok');
    const names = res.body.map((s) => s.name);
    t.ok(names.includes('info') && names.includes('peers'), names.join(','));
    const info = res.body.find((s) => s.name === 'info');
    t.same(info, { name: 'info', version: 1, methods: ['services', 'version', 'methods', 'quote'].map((name) => ({ name, price: 0 })) });
    const t1 = Date.now();
    const again = await b.rpc('cloudrequest', [a.addr, 'peers', 'list']) as { status: string; body: Array<{ identity: string }> };
    t.comment(`steady-state cloudrequest ${Date.now() - t1} ms`);
    t.equal(again.status, 'ok');
    t.same(again.body, [], 'B announces nothing: A does not name it');
    neg0(b).announce({
      url: 'http://127.0.0.1:1/files', storagePrice: 1, uploadPrice: 2, downloadPrice: 3,
      capacity: 1e9, maxDuration: 100, expiry: b.height + 50
    });
    const hosts = await forValue(async () => await a.rpc('gethostannouncements') as Array<{ identity: string; url: string }>,
      (v) => v.length === 1, WAIT_MS, 'announcement gossiped to A');
    t.same([hosts[0].identity, hosts[0].url], [idB.identity, 'http://127.0.0.1:1/files']);
    const listed = await b.rpc('cloudrequest', [a.addr, 'peers', 'list']) as { body: Array<{ identity: string; addr: string }> };
    t.same(listed.body.map((p) => [p.identity, p.addr]), [[idB.identity, b.addr]],
      'a host is named, with the address it announced (not a socket address)');
    const denied = await a.rpc('cloudrequest', [idB.identity, 'peers', 'list']) as { status: string };
    t.equal(denied.status, 'request-declined/denied', 'policy from the node config');
    const neg = a.node.require<Negotiator>('negotiator');
    t.ok(neg instanceof Negotiator, 'other extensions get the Negotiator by id');
  });

  await t.test('should ban a garbage sender and keep serving the others', async (t) => {
    await plain.open();
    await plain.connect();
    plain.startSync();
    const plainCmds: string[] = [];
    plain.pool.on('packet', (packet: bcoin.packets.Packet) => {
      if (packet.cmd.startsWith('cs'))
        plainCmds.push(packet.cmd);
    });
    await plain.rpc.call({ method: 'addnode', params: [a.addr, 'onetry'] }, {});
    await forValue(() => plain.pool.peers.head()?.handshake === true, true, WAIT_MS, 'plain handshake');

    await garbage.open();
    await garbage.connect();
    await garbage.rpc.call({ method: 'addnode', params: [a.addr, 'onetry'] }, {});
    await forValue(() => garbage.pool.peers.head()?.handshake === true, true, WAIT_MS, 'garbage handshake');
    const neg = a.node.require<Negotiator>('negotiator');
    await forValue(() => neg.cloudPeers().length, 2, WAIT_MS, 'garbage peer tracked (it has the bit)');

    const peer = garbage.pool.peers.head() as bcoin.Peer;
    const junk = [Buffer.alloc(0), Buffer.from('deadbeef', 'hex'), Buffer.alloc(100, 0xff)];
    // Only malformed packets of our own commands: the ban comes from the decoders.
    for (let i = 0; i < 10 && !peer.destroyed; i++)
      peer.send(new bcoin.packets.UnknownPacket(['csreq', 'csres', 'cshello'][i % 3], junk[i % 3]));
    await forValue(() => a.node.pool.hosts.isBanned('127.0.0.1'), true, WAIT_MS, 'garbage sender banned');
    await forValue(() => garbage.pool.peers.head() === null, true, WAIT_MS, 'garbage peer disconnected');
    await forValue(() => neg.cloudPeers().length, 1, WAIT_MS, 'only the honest cloud peer left');

    const res = await b.rpc('cloudrequest', [idA.identity, 'info', 'services']) as ServicesJSON;
    t.equal(res.status, 'ok', 'node still serves the honest peer');

    await a.mine(3);
    await forValue(() => plain.chain.height, a.height, WAIT_MS, 'plain node syncs');
    const plainPeer = plain.pool.peers.head();
    t.ok(plainPeer, 'plain node still connected');
    t.equal(plainPeer?.banScore, 0);
    for (let p = a.node.pool.peers.head(); p; p = p.next)
      t.equal(p.banScore, 0, `no score on ${p.hostname()}`);
    t.same(plainCmds, [], 'a plain bcoin peer never receives cs* packets');
    t.notOk(neg.cloudPeers().some((p) => p.agent === plainPeer?.agent && p.identity === null), 'plain peer not listed');
  });
});

t.test('negotiator in two cloudcoind processes', async (t) => {
  const extra = defaultExtensions().some((e) => e.id === negotiatorModule.id)
    ? [] : ['--extension', path.join(ROOT, 'dist', 'lib', 'negotiator', 'index.js')];
  // A relative --policy-file lives in the datadir, next to cloudcoin.conf.
  const d1 = await DaemonProcess.create([...extra, '--policy-file', 'policy.json', '--policy', 'rate-limit info 100/1s',
    '--policy', 'deny info.nosuchmethod']);
  fs.writeFileSync(path.join(d1.base, 'policy.json'), JSON.stringify(['deny peers.list']));
  const d2 = await DaemonProcess.create(extra);
  t.teardown(async () => {
    await d2.stop('SIGKILL');
    await d1.stop('SIGKILL');
    d1.cleanup();
    d2.cleanup();
  });
  await d1.start();
  await forValue(() => d1.stderr, (v) => v.includes('warning'), WAIT_MS, 'start-up warnings');
  t.match(d1.stderr, /cloudcoind: warning: negotiator: policy "deny info.nosuchmethod" can never match: service "info" has no method "nosuchmethod"/,
    'a rule that can never match is named when the node starts');
  await d2.start(['--connect', d1.addr]);
  const id1 = JSON.parse((await d1.cli(['getidentity'])).stdout) as { identity: string };
  const id2 = JSON.parse((await d2.cli(['getidentity'])).stdout) as { identity: string };

  await t.test('should list each other and answer cloudrequest through cloudcoin-cli', async (t) => {
    const listed = async (d: DaemonProcess): Promise<string[]> => {
      const r = await d.cli(['getcloudpeers']);
      return r.code === 0 ? (JSON.parse(r.stdout) as CloudPeerJSON[]).map((p) => p.identity ?? '') : [];
    };
    await forValue(() => listed(d2), (v) => v.includes(id1.identity), WAIT_MS, 'd2 lists d1');
    await forValue(() => listed(d1), (v) => v.includes(id2.identity), WAIT_MS, 'd1 lists d2');
    const r = await d2.cli(['cloudrequest', id1.identity, 'info', 'services']);
    t.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as ServicesJSON;
    t.equal(res.status, 'ok');
    t.same(res.body.find((s) => s.name === 'peers'), {
      name: 'peers', version: 3, methods: ['list', 'connect', 'dialback', 'announce', 'version', 'methods', 'quote'].map((name) => ({ name, price: 0 }))
    });
    const denied = await d2.cli(['cloudrequest', id1.identity, 'peers', 'list']);
    t.equal((JSON.parse(denied.stdout) as { status: string }).status, 'request-declined/denied', '--policy-file applies');
    const bad = await d2.cli(['cloudrequest', 'rb1qnotconnected', 'info', 'services']);
    t.not(bad.code, 0, 'unknown peer is an error');
    t.match(bad.stderr, /CloudStorage peer/);
  });
});
