// The node's guard in front of every extension packet handler: service
// bits, a per-peer budget, and ban scores that follow PacketError verdicts.
import t from 'tap';
import { randomBytes } from 'crypto';
import bcoin = require('../lib/bcoin');
import { NodesContext } from './util/nodes-context';
import { freePorts } from '../lib/node/ports';
import { PacketError } from '../lib/base/errors';
import { forEvent, forValue } from './util/wait';
import type { ExtensionModule, NodeAPI } from '../lib/base/extension';

const BIT = (1 << 26) >>> 0;
const seen: string[] = [];
const probe: ExtensionModule = {
  id: 'probe',
  init(api: NodeAPI) {
    api.addServiceBit(BIT);
    api.addPacket('csprobe', (_peer, payload) => {
      if (payload.length === 0)
        throw new PacketError('empty-probe', 'reject', 40);
      seen.push(payload.toString());
    });
    return { async open() {}, async close() {} };
  }
};

async function rawPeer(services: number, target: string): Promise<{ node: bcoin.FullNode; peer: () => bcoin.Peer | null }> {
  const [port, http] = await freePorts(2);
  const node = new bcoin.FullNode({
    network: 'regtest', memory: true, workers: false, listen: false, host: '127.0.0.1', port,
    httpPort: http, seeds: [], only: [target], logLevel: 'error'
  });
  node.pool.options.services = (node.pool.options.services | services) >>> 0;
  node.pool.discoverExternal = async () => {};
  await node.open();
  await node.connect();
  const peer = () => {
    for (let p = node.pool.peers.head(); p; p = p.next) {
      if (p.handshake)
        return p;
    }
    return null;
  };
  await forValue(() => peer() !== null, true, 20000, 'raw peer handshake');
  return { node, peer };
}

t.test('cs* packet guard', async (t) => {
  const ctx = await NodesContext.create([{ extensions: [probe] }]);
  await ctx.open();
  const target = ctx.nodes[0].addr;
  const opened: bcoin.FullNode[] = [];
  t.teardown(async () => {
    for (const n of opened)
      await n.close();
    await ctx.close();
  });
  const send = (p: bcoin.Peer, text: string) => p.send(new bcoin.packets.UnknownPacket('csprobe', Buffer.from(text)));
  const remoteScore = () => {
    let max = 0;
    for (let p = ctx.nodes[0].node.pool.peers.head(); p; p = p.next)
      max = Math.max(max, p.banScore);
    return max;
  };

  await t.test('should ignore cs* packets from peers without our service bits', async (t) => {
    const plain = await rawPeer(0, target);
    opened.push(plain.node);
    send(plain.peer()!, 'from-plain');
    send(plain.peer()!, '');
    // A later packet from a CloudCoin peer proves the earlier ones were processed (or not).
    const cc = await rawPeer(BIT, target);
    opened.push(cc.node);
    send(cc.peer()!, 'from-cc');
    await forValue(() => seen.includes('from-cc'), true, 20000, 'packet from the CloudCoin peer');
    t.notOk(seen.includes('from-plain'), 'plain peer ignored');
    t.equal(remoteScore(), 0, 'and not scored');
    await plain.node.close();
    opened.splice(opened.indexOf(plain.node), 1);
    await t.test('should score a PacketError with its verdict', async (t) => {
      send(cc.peer()!, '');
      await forValue(remoteScore, 40, 20000, 'ban score 40');
      t.pass();
    });
  });

  await t.test('should drop a flood above the per-peer budget without banning', async (t) => {
    const flood = await rawPeer(BIT, target);
    opened.push(flood.node);
    const before = seen.length;
    const started = Date.now();
    for (let i = 0; i < 3000; i++)
      send(flood.peer()!, `f${i}`);
    send(flood.peer()!, 'last');
    // A ping after the flood: the node handles a peer's packets one at a
    // time, in order, so its pong says every csprobe before it went
    // through the guard (a quiet spell says nothing on a loaded machine).
    const nonce = randomBytes(8);
    const pong = forEvent(flood.peer()!, 'packet', 20000, (p) => (p as bcoin.packets.Packet).type === bcoin.packets.types.PONG
      && (p as bcoin.packets.PongPacket).nonce.equals(nonce));
    flood.peer()!.send(new bcoin.packets.PingPacket(nonce));
    await pong;
    const got = seen.length - before;
    // The bucket holds 1000 and refills 200/s: nothing beyond that passes,
    // however slowly a loaded machine delivers.
    const allowed = 1000 + Math.ceil(200 * (Date.now() - started) / 1000);
    t.ok(got >= 1000, `the burst passed (${got})`);
    t.ok(got <= allowed && got < 3001, `dropped the excess (${got} of 3001 passed, budget ${allowed})`);
    t.ok(flood.peer() !== null, 'still connected');
  });
});
