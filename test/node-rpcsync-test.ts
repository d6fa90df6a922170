/*!
 * node-rpcsync-test.ts - wallet RPCs answer for the chain's tip, as
 * bitcoind's BlockUntilSyncedToCurrentChain: a getbalance sent while the
 * wallet has not yet added the newest block waits for it, instead of
 * answering the balance before it (CI once saw "the wallet has 0 sat" for
 * a renter that had just mined 440 blocks). One in-process regtest node;
 * the wallet is held back by taking its tx lock, as a busy wallet holds it.
 * getindexinfo tells a script when the contract index holds the tip.
 */

import t from 'tap';
import bcoin = require('../lib/bcoin');
import { regtestReward } from './util/blocks';
import { NodesContext } from './util/nodes-context';
import { forValue } from './util/wait';

t.test('wallet RPCs wait for the wallet to add the chain tip', { timeout: 300_000 }, async (t) => {
  const ctx = await NodesContext.create([{ memory: true }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const n = ctx.nodes[0];
  await n.mine(440);
  const wdb = (n.node as unknown as { walletPlugin: bcoin.WalletPlugin }).walletPlugin.wdb;
  const sat = async (method: string) => Math.round(Number(await n.rpc(method)) * 1e8);
  const before = await sat('getbalance');
  t.ok(before > 0, `a balance after 440 blocks: ${before} sat`);

  // Hold the wallet back, then mine one block: block 341's coinbase
  // matures at 441 (101 deep), so the balance after it is known exactly.
  const unlock = await wdb.txLock.lock();
  let released = false;
  const mined = n.rpc('generatetoaddress', [1, await n.address()]);
  await forValue(() => n.node.chain.height, 441, undefined, 'the chain at 441');
  const settled: string[] = [];
  const balance = sat('getbalance').then((v) => {
    settled.push(released ? 'after' : 'before');
    return v;
  });
  const info = (n.rpc('getwalletinfo') as Promise<{ balance: number }>).then((v) => {
    settled.push(released ? 'after' : 'before');
    return v;
  });
  // Many turns of the event loop: without the wait both answer here.
  for (let i = 0; i < 200; i++)
    await new Promise((r) => setImmediate(r));
  t.same(settled, [], 'neither answers while the wallet has not added the tip');
  released = true;
  unlock();
  await mined;
  t.equal(await balance, before + regtestReward(341), 'getbalance counts the block that was mined before it was asked');
  t.equal(Math.round((await info).balance * 1e8), before + regtestReward(341), 'so does getwalletinfo');
  t.same(settled, ['after', 'after'], 'both answered once the wallet had the tip');
});

t.test('getindexinfo: the contract index\'s height, as bitcoind\'s for its indexes', { timeout: 300_000 }, async (t) => {
  const ctx = await NodesContext.create([{ memory: true }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const n = ctx.nodes[0];
  await n.mine(3);
  type Info = Record<string, { synced: boolean; best_block_height: number }>;
  t.same(await n.rpc('getindexinfo'), { contractindex: { synced: true, best_block_height: 3 } }, 'at the tip');
  t.same(await n.rpc('getindexinfo', ['contractindex']), { contractindex: { synced: true, best_block_height: 3 } }, 'by name');
  t.same(await n.rpc('getindexinfo', ['txindex']), {}, 'another name: {}, as bitcoind');
  // Mined with the hooks not yet run: behind, then at the new tip.
  const mined = n.rpc('generatetoaddress', [1, await n.address()]);
  const seen: Info[] = [];
  await forValue(async () => {
    const info = await n.rpc('getindexinfo') as Info;
    seen.push(info);
    return info.contractindex.best_block_height;
  }, 4, undefined, 'the index at 4');
  await mined;
  t.ok(seen.every((i) => i.contractindex.synced === (i.contractindex.best_block_height === n.node.chain.height)
    || i.contractindex.best_block_height < 4), 'synced only at the tip');
  await t.rejects(n.rpc('getindexinfo', [1]), /^Position 1 \(index_name\) must be a non-empty string, got 1\.$/, 'a bad name');
});
