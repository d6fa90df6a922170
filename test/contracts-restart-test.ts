// The index on disk: it survives a restart, and on open it rolls back to
// the fork point with the chain and replays the blocks it missed while the
// extension was not loaded; the result equals an index built from scratch.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import * as contracts from '../lib/contracts';
import { ContractIndex } from '../lib/contracts/contractindex';
import { RatingPayload } from '../lib/contracts/payload';
import { sendRating, type WalletContext } from '../lib/contracts/builders';
import { NodesContext } from './util/nodes-context';
import { forValue } from './util/wait';
import { SEGWIT_HEIGHT, getContract, internal, plugin, waitIndexed } from './util/contracts';
import { testIdentity, testKey } from './data/contracts-fixtures';

t.test('contract index on disk', async (t) => {
  const ctx = await NodesContext.create([{ memory: false, extensions: [contracts.extension] }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const [node] = ctx.nodes;
  await node.mine(SEGWIT_HEIGHT + 4);
  await waitIndexed(ctx);
  t.ok(fs.existsSync(path.join(node.datadir, 'contracts')), 'database in <datadir>/contracts');

  // The node is the renter; the host is a throwaway identity (only the
  // renter's wallet is needed to commit).
  const p = plugin(node);
  const start = node.height;
  const c = p.buildContract({
    renterKey: (await p.identity()).publicKey,
    hostKey: testIdentity('host').publicKey,
    renterEscrowKey: await p.createEscrowKey(),
    hostEscrowKey: testKey('host escrow').publicKey,
    root: Buffer.alloc(32, 0x22),
    size: 4096,
    startHeight: start,
    endHeight: start + 100,
    auditInterval: 10,
    escrowValue: 15000,
    refundHeight: start + 112,
    expiryHeight: start + 10
  });
  await p.signContract(c);
  c.sign(testIdentity('host'));
  const id = c.id();
  await node.rpc('commitcontracts', [c.encode().toString('hex')]);
  await node.mine(1);
  await waitIndexed(ctx);
  t.equal(await forValue(async () => (await getContract(node, id))?.state, 'active'), 'active');
  const r1 = await node.rpc('sendrating', [id, 10]) as string;
  await node.mine(1);
  await waitIndexed(ctx);
  const tipT = node.node.chain.tip;
  const blockT = (await node.node.chain.getBlock(tipT.hash))!;
  t.ok(blockT.txs.some(tx => tx.txid() === r1), 'rating in the tip block');
  t.equal((await getContract(node, id) as any).ratings.renter.score, 10);

  t.test('should survive a restart', async (t) => {
    const before = await getContract(node, id);
    await node.close();
    await node.open();
    await waitIndexed(ctx);
    t.same(await getContract(node, id), before);
  });

  t.test('should roll back and replay blocks missed while not loaded', async (t) => {
    // Restart without the extension; orphan the indexed tip and extend.
    await node.close();
    await node.open({ extensions: [] });
    await node.rpc('invalidateblock', [tipT.rhash()]);
    t.equal(node.height, tipT.height - 1);
    // Re-mine the rating (bcoin may not return it to the mempool) and add
    // a later one, sent through the library without the extension.
    for (const tx of blockT.txs.slice(1)) {
      if (!node.node.mempool.has(tx.hash('hex')))
        await node.node.mempool.addTX(tx);
    }
    await node.mine(1);
    const wdb = node.node.wallet().wdb;
    const wctx: WalletContext = {
      network: node.node.network, chain: node.node.chain, mempool: node.node.mempool, wdb, wallet: wdb.primary
    };
    const info = await node.node.chain.db.getTX(internal(r1));
    t.ok(info, 'first rating re-mined on the new branch');
    const commitHeight = start + 1;
    const block = await node.node.chain.getBlock((await node.node.chain.getEntryByHeight(commitHeight))!.hash);
    const txIndex = block!.txs.findIndex(tx => tx.outputs.some(o => o.script.isWitnessScripthash()));
    await sendRating(wctx, await node.node.identity(), new RatingPayload({
      id: Buffer.from(id, 'hex'), role: 0, score: -20, commitHeight, commitIndex: txIndex, leafIndex: 0
    }));
    await node.mine(2);
    t.not(node.node.chain.tip.hash, tipT.hash);

    await node.close();
    await node.open();
    await waitIndexed(ctx);
    const got = await getContract(node, id) as any;
    t.equal(got.state, 'active');
    t.equal(got.ratings.renter.score, -20, 'replayed the rating it missed');
    t.equal(plugin(node).index.tip.hash, node.node.chain.tip.hash);

    // Equal to an index built from scratch over the same chain, here
    // without the tx index (rating prevouts then come from undo coins).
    const chain = node.node.chain;
    const noTXIndex = Object.create(chain.db, { getTX: { value: async () => null } });
    const view = Object.create(chain, { db: { value: noTXIndex } }) as typeof chain;
    const fresh = new ContractIndex({ network: node.node.network, chain: view, memory: true });
    await fresh.open();
    const record = await plugin(node).index.getRecord(Buffer.from(id, 'hex'));
    t.equal(await fresh.addRecord(record!), 'added');
    const a = await fresh.getContract(Buffer.from(id, 'hex'));
    const b = await plugin(node).index.getContract(Buffer.from(id, 'hex'));
    t.equal(a!.ratings.renter!.score, -20, 'rating rater found through undo coins');
    t.same({ ...a, contract: a!.contract.getJSON() }, { ...b, contract: b!.contract.getJSON() });
    await fresh.close();
  });
});
