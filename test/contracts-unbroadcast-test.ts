// A commitment cut by a kill: commitContracts records it as pending, then
// gives it to the wallet before the mempool, so a commitment can reach
// peers only once the wallet holds it (a refused one is abandoned again).
// A node killed after recording it and before the wallet took it finds at
// restart a pending record of a tx that exists nowhere (the mempool is
// not persistent): the contract is voided, not offered to later puts as
// pending, and its file is forgotten once its offer expired, instead of
// taking later puts' files into a contract that never confirms.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type bcoin = require('../lib/bcoin');
import { createCommitTX } from '../lib/contracts/builders';
import type { ContractsPlugin } from '../lib/contracts/plugin';
import type { StorageContract } from '../lib/contracts/storagecontract';
import { RenterClient } from '../lib/deals/renterclient';
import { NodesContext, tempDir } from './util/nodes-context';
import { forCloudPeers } from './util/network';
import { plugin, throwawayDeal } from './util/contracts';
import { forValue } from './util/wait';

type Found = { contracts: Array<{ id: string }>; skipped: Array<{ id: string }> };
type Listed = Array<{ fileId: string; replicas: Array<{ contractId: string; state: string }> }>;

t.test('a commitment cut before the wallet had it', async (t) => {
  const ctx = await NodesContext.create([{}, { config: { host: true } }]);
  const work = tempDir();
  t.teardown(async () => {
    await ctx.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
  await ctx.open();
  await ctx.connect(1, 0);
  const [renter, host] = ctx.nodes;
  await forCloudPeers(renter, [host], 30000, 'the host');
  await renter.mine(440);
  await ctx.sync();
  const client = new RenterClient((method, params) => renter.rpc(method, params), { warn: () => undefined });
  const put = (name: string) => {
    const file = path.join(work, name);
    fs.writeFileSync(file, randomBytes(200000));
    return client.put({
      file, name: Buffer.from(name), hosts: 1, minHosts: 1, duration: 100, maxPrice: 5000,
      workDir: fs.mkdtempSync(path.join(work, 'put-')), wait: false
    });
  };
  let n = 0;
  // A contract of the renter with a throwaway host identity (only the renter's wallet commits).
  const deal = (p: ContractsPlugin): Promise<StorageContract> => throwawayDeal(p, renter.height, n++);

  await t.test('should give a commitment to the wallet before the mempool, and abandon a refused one', async (t) => {
    const p = plugin(renter);
    const mempool = renter.node.mempool;
    const wallet = renter.node.wallet().wdb.primary;
    const seen: boolean[] = [];
    const addTX = mempool.addTX.bind(mempool);
    mempool.addTX = async (tx: bcoin.TX, id?: number) => {
      seen.push(await wallet.getTX(tx.hash('hex')) !== null);
      return addTX(tx, id);
    };
    t.teardown(() => {
      mempool.addTX = addTX;
    });
    const [tx] = await p.commit([await deal(p)]);
    t.same(seen, [true], 'the wallet held the commitment when the mempool got it');
    t.ok(mempool.hasEntry(tx.hash('hex')));

    // The mempool refuses the next one (no tx may have an ancestor in it).
    const balance = (await wallet.getBalance(0)).unconfirmed;
    const options = (mempool as unknown as { options: { maxAncestors: number } }).options;
    const limit = options.maxAncestors;
    options.maxAncestors = 0;
    const c = await deal(p);
    try {
      await t.rejects(p.commit([c]), /too-long-mempool-chain/);
    } finally {
      options.maxAncestors = limit;
    }
    t.same(seen, [true, true]);
    t.equal((await wallet.getPending(0)).filter(w => !w.tx.hash().equals(tx.hash())).length, 0, 'the refused tx was abandoned');
    t.equal((await wallet.getBalance(0)).unconfirmed, balance, 'its coins are spendable again');
    t.equal(await p.getState(c.hash()), null, 'and its record forgotten');
    t.notOk(await p.index.hasCommitment(c.hash()));
    await renter.mine(1);
    await ctx.sync();
  });

  await t.test('should void at restart a commitment the wallet never had, and no put reuses it', async (t) => {
    // Cut the put's commitfile right after the pending record is written,
    // before the wallet or the mempool see the tx (where the kill fell).
    const p = plugin(renter);
    // A commitment the wallet took stays pending through the restart (the wallet resends it).
    const kept = await deal(p);
    await p.commit([kept]);
    let cut!: (tx: bcoin.TX) => void;
    const recorded = new Promise<bcoin.TX>((resolve) => { cut = resolve; });
    p.commit = async (contracts: StorageContract[]): Promise<bcoin.TX[]> => {
      const tx = (await createCommitTX(p.walletContext(), contracts)).toTX();
      await p.index.addPending(tx.hash(), contracts);
      cut(tx);
      return new Promise<bcoin.TX[]>(() => undefined);
    };
    void put('cut.bin').catch(() => undefined);
    const tx = await recorded;
    const listed = await renter.rpc('listfiles') as Listed;
    t.equal(listed.length, 1);
    const cutFile = listed[0];
    t.same(cutFile.replicas.map(r => r.state), ['pending']);
    const id = cutFile.replicas[0].contractId;
    const before = await renter.rpc('getcontract', [id]) as { state: string; commit: { txid: string } };
    t.same([before.state, before.commit.txid], ['pending', tx.txid()]);

    await renter.close();
    await renter.open();
    await ctx.connect(1, 0);
    await forCloudPeers(renter, [host], 30000, 'the host again');
    const after = await renter.rpc('getcontract', [id]) as { state: string; void: string | null };
    t.same([after.state, after.void], ['void', 'commit-not-broadcast'], 'voided at open');
    t.notOk(await plugin(renter).index.hasCommitment(Buffer.from(id, 'hex')), 'no longer ours as committed');
    t.equal(await renter.node.wallet().wdb.primary.getTX(tx.hash('hex')), null);
    t.equal(await plugin(renter).getState(kept.hash()), 'pending', 'a commitment the wallet holds is kept');
    const found = await renter.rpc('findcontracts', [1000, 5, 5000, 0, true]) as Found;
    t.notOk([...found.contracts, ...found.skipped].some(c => c.id === id), 'findcontracts does not offer it');

    // The next put forms a contract of its own, and it confirms.
    const next = await put('next.bin');
    t.same(next.contracts.map(c => [c.reused, c.id === id]), [[false, false]]);
    await renter.mine(1);
    await ctx.sync();
    t.same(await client.waitActive(next.fileId, next.contracts.map(c => c.id), 20000), ['active']);
    t.equal(await plugin(renter).getState(kept.hash()), 'active', 'and confirms');

    // Once the cut contract's offer expired, its file is forgotten; every other file stays held.
    const expiry = (await plugin(renter).index.getVoids(Buffer.from(id, 'hex')))[0].record.contract.expiryHeight;
    await renter.mine(expiry - renter.height + 1);
    await ctx.sync();
    const left = await forValue(async () => await renter.rpc('listfiles') as Listed,
      (l) => !l.some(f => f.fileId === cutFile.fileId), 20000, 'the cut file forgotten');
    t.same(left.map(f => f.fileId), [next.fileId]);
    t.ok(left.every(f => f.replicas.every(r => r.state === 'active')), JSON.stringify(left));
  });
});
