// Record packets: a node that joins after a commit confirmed fetches the
// record with csgetctr; malformed or lying csctr packets raise the sender's
// ban score, an orphan one only once its commit shows the lie; records are
// never served before their commit confirms.
import t from 'tap';
import * as contracts from '../lib/contracts';
import * as common from '../lib/contracts/common';
import { ContractRecord } from '../lib/contracts/records';
import type { TestNode } from './util/nodes-context';
import { NodesContext } from './util/nodes-context';
import { forValue } from './util/wait';
import { fundAll, makeDeal, mineSync, plugin, stateOf, waitIndexed } from './util/contracts';
import type bcoin from 'bcoin';

function peerOf(n: TestNode, other: TestNode): bcoin.Peer | null {
  for (let p = n.node.pool.peers.head(); p; p = p.next) {
    if (p.handshake && p.hostname() === other.addr)
      return p;
  }
  return null;
}

/** Sum of ban scores over a node's peers (inbound peers have ephemeral ports). */
function banTotal(n: TestNode): number {
  let total = 0;
  for (let p = n.node.pool.peers.head(); p; p = p.next)
    total += p.banScore;
  return total;
}

t.test('contract record packets', async (t) => {
  const ctx = await NodesContext.create([0, 1, 2].map(() => ({ memory: true, extensions: [contracts.extension] })));
  t.teardown(() => ctx.close());
  await ctx.open();
  const [renter, host, late] = ctx.nodes;
  await ctx.connect(1, 0);
  // fundAll over the first two only; the late node joins afterwards.
  const pair = { nodes: [renter, host], sync: () => syncPair() } as unknown as NodesContext;
  async function syncPair(): Promise<void> {
    for (const n of [renter, host]) {
      await forValue(() => n.node.chain.tip.hash, renter.node.chain.tip.hash, 20000, 'pair sync');
      await n.node.waitWalletSynced();
      await n.node.hooksIdle();
    }
  }
  await fundAll(pair);

  const c = await makeDeal(renter, host);
  await renter.rpc('commitcontracts', [c.encode().toString('hex')]);

  t.test('should not serve a record before its commit confirms', async (t) => {
    t.equal(await plugin(renter).index.getRecord(c.hash()), null);
  });

  await mineSync(pair, renter);
  await forValue(() => stateOf(host, c.id()), 'active', 20000, 'active on host');

  t.test('should fetch a record with csgetctr after joining late', async (t) => {
    t.equal(late.height, 0);
    await ctx.connect(2, 0);
    await forValue(() => late.node.chain.height, renter.height, 20000, 'late node synced');
    await waitIndexed(ctx);
    await forValue(() => stateOf(late, c.id()), 'active', 20000, 'active on the late node');
  });

  t.test('should raise the ban score for malformed and lying records', async (t) => {
    const peer = { get banScore() { return banTotal(renter); } };
    const before = peer.banScore;
    // Malformed: wrong size.
    const bad = peerOf(late, renter)!;
    late.node.sendPacket(bad, common.packetCmds.CONTRACT, Buffer.alloc(10));
    await forValue(() => peer.banScore, before + common.MALFORMED_SCORE, 20000, 'ban score after malformed');
    late.node.sendPacket(bad, common.packetCmds.GETCONTRACT, Buffer.alloc(31));
    await forValue(() => peer.banScore, before + 2 * common.MALFORMED_SCORE, 20000, 'ban score after bad getctr');
    // Lying: a valid contract claimed for the commit of another one.
    const other = await makeDeal(renter, host, { size: 12345 });
    const record = await plugin(renter).index.getRecord(c.hash());
    const lie = new ContractRecord({ contract: other, txid: record!.txid, leaf: 0, branch: [] });
    late.node.sendPacket(bad, common.packetCmds.CONTRACT, lie.encode());
    await forValue(() => peer.banScore, before + 2 * common.MALFORMED_SCORE + common.BAD_RECORD_SCORE,
      20000, 'ban score after a lying record');
    // A record the peer already has is not an offence.
    late.node.sendPacket(bad, common.packetCmds.CONTRACT, record!.encode());
    late.node.sendPacket(bad, common.packetCmds.GETCONTRACT, Buffer.alloc(32, 7));
    // Packets are handled in order: a final malformed one marks the point.
    late.node.sendPacket(bad, common.packetCmds.CONTRACT, Buffer.alloc(10));
    const want = before + 3 * common.MALFORMED_SCORE + common.BAD_RECORD_SCORE;
    await forValue(() => peer.banScore, (v) => v >= want, 20000, 'marker packet');
    t.equal(peer.banScore, want, 'known record and unknown id cost nothing');
  });

  t.test('should park an orphan for free and blame its sender when its commit contradicts it', async (t) => {
    const score = () => banTotal(renter);
    const bad = peerOf(late, renter)!;
    const before = score();
    // A commitment in the renter's mempool, not yet mined; a record for
    // another contract that claims it.
    const c3 = await makeDeal(renter, host, { size: 777 });
    const res = await renter.rpc('commitcontracts', [c3.encode().toString('hex')]) as { txids: string[] };
    const other = await makeDeal(renter, host, { size: 778 });
    const txid = Buffer.from(res.txids[0], 'hex').reverse();
    const lie = new ContractRecord({ contract: other, txid, leaf: 0, branch: [] });
    late.node.sendPacket(bad, common.packetCmds.CONTRACT, lie.encode());
    late.node.sendPacket(bad, common.packetCmds.CONTRACT, Buffer.alloc(10)); // marker
    await forValue(score, (v) => v >= before + common.MALFORMED_SCORE, 20000, 'marker packet');
    t.equal(score(), before + common.MALFORMED_SCORE, 'the orphan itself cost nothing');
    t.equal(plugin(renter).index.orphanCount(), 1);
    await mineSync(ctx, renter);
    await forValue(score, before + common.MALFORMED_SCORE + common.BAD_RECORD_SCORE, 20000,
      'ban score once the commit confirmed');
    t.equal(plugin(renter).index.orphanCount(), 0);
    t.equal(await stateOf(renter, c3.id()), 'active');
    t.equal(await stateOf(renter, other.id()), 'unknown');
  });

  t.test('should fetch every record of a batch commitment that confirmed while it was away', async (t) => {
    // The late node has synced once (it asked for missing records then) and
    // is cut off while a two-contract commitment confirms: the renter's
    // relay misses it, and a batch names no id on chain. When its block
    // connects, the node must ask by commitment (csgetcmt).
    await late.rpc('setban', [renter.addr, 'add']);
    for (let p = late.node.pool.peers.head(); p; p = p.next)
      p.destroy();
    await forValue(() => late.node.pool.peers.head(), null, 20000, 'late node cut off');
    const batch = [await makeDeal(renter, host, { size: 4001 }), await makeDeal(renter, host, { size: 4002 })];
    const res = await renter.rpc('commitcontracts', batch.map(c => c.encode().toString('hex'))) as { txids: string[] };
    t.equal(res.txids.length, 1, 'one commitment for both');
    await renter.mine(1);
    await syncPair();
    for (const c of batch)
      await forValue(() => stateOf(renter, c.id()), 'active', 20000, 'active on the renter');
    await late.rpc('setban', [renter.addr, 'remove']);
    await ctx.connect(2, 0);
    await forValue(() => late.node.chain.height, renter.height, 20000, 'late node synced again');
    await waitIndexed(ctx);
    for (const c of batch)
      await forValue(() => stateOf(late, c.id()), 'active', 20000, `${c.id()} active on the late node`);
    t.same(plugin(late).index.unresolvedCommits(10), [], 'no commitment left unresolved');
  });
});
