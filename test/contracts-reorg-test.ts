// Reorg: a block holding a commitment and ratings is disconnected and
// replaced by a longer chain from a node that never saw it; the indexes
// must then equal that node's, the commitment shows as pending, and its
// txs are back in the mempool by themselves: the next block restores them.
import t from 'tap';
import { forValue } from './util/wait';
import {
  fundAll, getContract, indexView, internal, makeDeal, mineSync, plugin, shareTX, startNodes, stateOf,
  waitIndexed
} from './util/contracts';

t.test('contract index across a reorg', async (t) => {
  // 0 renter, 1 host, 2 observer (isolated while the orphan is mined).
  const ctx = await startNodes(3);
  t.teardown(() => ctx.close());
  const [renter, host, observer] = ctx.nodes;
  await fundAll(ctx);

  // Contract 1: committed and active everywhere before the fork.
  const c1 = await makeDeal(renter, host);
  await renter.rpc('commitcontracts', [c1.encode().toString('hex')]);
  await mineSync(ctx, renter);
  for (const n of ctx.nodes)
    await forValue(() => stateOf(n, c1.id()), 'active', 20000, 'c1 active');
  const before = await indexView(observer);

  // Cut the observer off.
  await observer.rpc('setban', [renter.addr, 'add']);
  for (let p = observer.node.pool.peers.head(); p; p = p.next)
    p.destroy();
  await forValue(() => observer.node.pool.peers.head(), null, 20000, 'observer isolated');
  const forkHeight = renter.height;

  // The orphan-to-be: a new commitment and both parties' ratings of c1.
  const c2 = await makeDeal(renter, host);
  const commit = await renter.rpc('commitcontracts', [c2.encode().toString('hex')]) as { txids: string[] };
  const r1 = await renter.rpc('sendrating', [c1.id(), 70]) as string;
  const r2 = await host.rpc('sendrating', [c1.id(), 60]) as string;
  await shareTX(host, renter, r2);
  const orphanTxs = [commit.txids[0], r1, r2].map(txid => renter.node.mempool.getTX(internal(txid))!);
  // Also the funding txs the ratings spend.
  const parents = orphanTxs.flatMap(tx => tx.inputs.map(i => renter.node.mempool.getTX(i.prevout.hash)))
    .filter(tx => tx !== null);
  await renter.mine(1);
  const orphan = await renter.node.chain.getBlock(renter.node.chain.tip.hash);
  const inOrphan = new Set(orphan!.txs.map(tx => tx.hash('hex')));
  t.ok(orphanTxs.every(tx => inOrphan.has(tx.hash('hex'))), 'orphan holds the commitment and both ratings');
  await forValue(() => host.height, forkHeight + 1, 20000, 'host has the orphan');
  await waitIndexed({ nodes: [renter, host] } as typeof ctx);
  for (const n of [renter, host]) {
    await forValue(() => stateOf(n, c2.id()), 'active', 20000, 'c2 active before reorg');
    const info = await forValue(() => getContract(n, c1.id()),
      v => !!v && !!(v.ratings as any).renter && !!(v.ratings as any).host, 20000, 'ratings before reorg');
    t.ok(info, 'ratings seen before the reorg');
  }
  t.equal(observer.height, forkHeight, 'observer did not see the orphan');

  t.test('should match a node that never saw the orphan after the reorg', async (t) => {
    // The observer mines a longer chain, then reconnects.
    await observer.mine(2);
    t.same(await indexView(observer), before, 'observer index unchanged by its own blocks');
    await observer.rpc('clearbanned');
    // bcoin syncs from outbound peers: the renter dials the observer.
    await renter.rpc('addnode', [observer.addr, 'onetry']);
    await ctx.sync();
    await waitIndexed(ctx);
    t.equal(renter.height, forkHeight + 2);
    t.equal(renter.node.chain.tip.hash, observer.node.chain.tip.hash);
    const want = await indexView(observer);
    for (const n of [renter, host]) {
      t.same(await indexView(n), want, `index of ${n.addr} equals the observer's`);
      t.equal(await stateOf(n, c2.id()), 'pending', 'orphaned commitment pending again');
      const info = await getContract(n, c1.id()) as Record<string, any>;
      t.same(info.ratings, { renter: null, host: null }, 'orphaned ratings gone');
    }
    const hostId = (await plugin(host).identity()).publicKey.toString('hex');
    t.same(await renter.rpc('getratings', [hostId]), await observer.rpc('getratings', [hostId]));
  });

  t.test('should restore the commitment and ratings at the next block, by themselves', async (t) => {
    // bcoin 1.0.2 drops disconnected txs when its mempool is empty, and
    // evicts coinbase spends after a reorg: the resubmitter puts them back.
    for (const tx of [...parents, ...orphanTxs]) {
      await forValue(() => renter.node.mempool.has(tx.hash('hex')), true, 20000,
        `${tx.txid()} back in the renter's mempool`);
    }
    await mineSync(ctx, renter);
    for (const n of ctx.nodes) {
      await forValue(() => stateOf(n, c2.id()), 'active', 20000, `c2 restored on ${n.addr}`);
      const info = await forValue(() => getContract(n, c1.id()),
        v => !!v && !!(v.ratings as any).renter && !!(v.ratings as any).host, 20000, 'ratings restored') as any;
      t.equal(info.ratings.renter.score, 70);
      t.equal(info.ratings.host.score, 60);
    }
    const want = await indexView(renter);
    t.same(await indexView(host), want);
    t.same(await indexView(observer), want);
  });
});
