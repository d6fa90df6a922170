// cloudcoind must never disturb ordinary Bitcoin peers: a plain bcoin
// 1.0.2 FullNode syncs from it, and it syncs from the plain node.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { NodesContext } from './util/nodes-context';
import { freePorts } from '../lib/node/ports';
import { forValue } from './util/wait';

t.test('plain bcoin peer', async (t) => {
  const ctx = await NodesContext.create([{}]);
  const [port, http] = await freePorts(2);
  const plain = new bcoin.FullNode({
    network: 'regtest', memory: true, workers: false, listen: true,
    host: '127.0.0.1', port, publicHost: '127.0.0.1', publicPort: port,
    httpPort: http, seeds: [], logLevel: 'error'
  });
  plain.pool.discoverExternal = async () => {};
  t.teardown(async () => {
    await plain.close();
    await ctx.close();
  });
  await ctx.open();
  await plain.open();
  await plain.connect();
  plain.startSync();
  const cc = ctx.nodes[0];

  await t.test('should serve blocks to a plain bcoin node', async (t) => {
    await cc.mine(20);
    await plain.rpc.call({ method: 'addnode', params: [cc.addr, 'onetry'] }, {});
    await forValue(() => plain.chain.height, 20, 20000, 'plain node height');
    t.equal(plain.chain.tip.hash, cc.node.chain.tip.hash);
  });

  await t.test('should sync blocks mined by a plain bcoin node', async (t) => {
    const addr = bcoin.KeyRing.generate(true).getAddress('string', 'regtest');
    await plain.rpc.call({ method: 'generatetoaddress', params: [15, addr] }, {});
    await forValue(() => cc.node.chain.height, 35, 20000, 'cloudcoind height');
    t.equal(cc.node.chain.tip.hash, plain.chain.tip.hash);
  });

  await t.test('should keep the connection with zero ban score', async (t) => {
    let peer = plain.pool.peers.head();
    t.ok(peer, 'still connected');
    for (; peer; peer = peer.next)
      t.equal(peer.banScore, 0);
  });
});
