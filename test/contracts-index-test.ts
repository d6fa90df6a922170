// ContractIndex on one node: unresolved commits wait for their record, a
// commit confirmed after offer expiry voids the contract (and its escrow
// stays refundable), a contract is never committed twice, a commitment is
// recorded before it is broadcast, concurrent commitments do not collide,
// and states follow the activation depth.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import * as common from '../lib/contracts/common';
import { commitContracts, createCommitTX, submitTX } from '../lib/contracts/builders';
import { batchBranch } from '../lib/contracts/batchtree';
import { contractState } from '../lib/contracts/contractqueries';
import { CommitEntry, ContractRecord, LeafEntry } from '../lib/contracts/records';
import type { StorageContract } from '../lib/contracts/storagecontract';
import { forEvent } from './util/wait';
import { layout } from '../lib/contracts/layout';
import { SEGWIT_HEIGHT, mineSync, plugin, startNodes, stateOf, throwawayDeal } from './util/contracts';

t.test('ContractIndex', async (t) => {
  const ctx = await startNodes(1);
  t.teardown(() => ctx.close());
  const [node] = ctx.nodes;
  const p = plugin(node);
  await mineSync(ctx, node, SEGWIT_HEIGHT + 4);
  let n = 0;
  let lateVoid: StorageContract | null = null;

  // The node rents from a throwaway host identity.
  function deal(expiryIn = 10): Promise<StorageContract> {
    return throwawayDeal(p, node.height, n++, expiryIn);
  }

  t.test('should keep a commit unresolved until its record arrives', async (t) => {
    const c = await deal();
    // Commit through the builders only: the index is not told the record.
    const tx = await commitContracts(p.walletContext(), [c]);
    await mineSync(ctx, node);
    t.equal(await stateOf(node, c.id()), 'unknown');
    const ce = await p.index.getCommit(tx.hash());
    t.ok(ce, 'commit indexed');
    t.notOk(ce!.leaves[0].isResolved());
    t.same(ce!.root, c.hash());
    const record = new ContractRecord({ contract: c, txid: tx.hash(), leaf: 0, branch: [] });
    t.equal(await p.index.addRecord(record), 'added');
    t.equal(await p.index.addRecord(record), 'known');
    t.equal(await stateOf(node, c.id()), 'active');
  });

  t.test('should show our commitment as pending until it confirms', async (t) => {
    const c = await deal();
    const res = await node.rpc('commitcontracts', [c.encode().toString('hex')]) as { txids: string[] };
    const info = await node.rpc('getcontract', [c.id()]) as Record<string, any>;
    t.equal(info.state, 'pending');
    t.same(info.commit, { txid: res.txids[0], height: null, leaf: 0 }, 'names the commitment it waits for');
    t.equal(info.role, 'renter');
    const listed = await node.rpc('listcontracts', ['pending']) as Array<Record<string, unknown>>;
    t.same(listed.map(i => i.id), [c.id()]);
    await mineSync(ctx, node);
    const after = await node.rpc('getcontract', [c.id()]) as Record<string, any>;
    t.equal(after.state, 'active');
    t.equal(after.commit.txid, res.txids[0]);
  });

  t.test('should find a contract whose commitment confirms between the reads of one lookup', async (t) => {
    const c = await deal();
    await node.rpc('commitcontracts', [c.encode().toString('hex')]);
    t.equal((await node.rpc('getcontract', [c.id()]) as { state: string }).state, 'pending');
    // The lookup reads the resolved record (none yet), then the void ones:
    // the block resolving it is indexed right there, before the pending list is read.
    const queries = p.index.queries as unknown as { getVoids(id: Buffer): Promise<unknown[]> };
    const getVoids = queries.getVoids.bind(queries);
    let mined = false;
    queries.getVoids = async (id: Buffer) => {
      if (!mined) {
        mined = true;
        await mineSync(ctx, node);
      }
      return getVoids(id);
    };
    t.teardown(() => {
      queries.getVoids = getVoids;
    });
    const info = await node.rpc('getcontract', [c.id()]) as { state: string };
    t.ok(mined, 'the block came between the reads');
    t.equal(info.state, 'active', 'found, resolved');
  });

  t.test('should void a contract whose commit confirms after offer expiry', async (t) => {
    const c = await deal(1);
    const mtx = await createCommitTX(p.walletContext(), [c]);
    await mineSync(ctx, node, 2);
    t.ok(node.height + 1 > c.expiryHeight);
    const tx = mtx.toTX();
    await submitTX(p.walletContext(), tx);
    await p.index.addPending(tx.hash(), [c]);
    const voided = forEvent<ContractRecord>(p.index, 'void');
    await mineSync(ctx, node);
    t.equal((await voided).contract.id(), c.id(), 'void event for our own contract');
    t.ok(await p.index.getCommit(tx.hash()), 'commit indexed');
    t.equal(await stateOf(node, c.id()), 'void', 'kept as our void record');
    t.equal(await p.index.getRecord(c.hash()), null, 'not resolved, never relayed');
    const info = await node.rpc('getcontract', [c.id()]) as Record<string, any>;
    t.equal(info.void, 'contract-offer-expired');
    t.equal(info.commit.txid, tx.txid(), 'the escrow it funded is shown');
    t.equal(info.spend, null);
    const listed = await node.rpc('listcontracts', ['void']) as Array<Record<string, unknown>>;
    t.same(listed.map(i => i.id), [c.id()]);
    const record = new ContractRecord({ contract: c, txid: tx.hash(), leaf: 0, branch: [] });
    await t.rejects(p.index.addRecord(record), { code: 'contract-offer-expired' });
    lateVoid = c;
  });

  t.test('should drop pending records once no commit can be valid', async (t) => {
    const c = await deal(1);
    await p.index.addPending(Buffer.alloc(32, 0xee), [c]);
    const voided = forEvent<ContractRecord>(p.index, 'void', 20000);
    await mineSync(ctx, node, common.getParams('regtest').window + 2);
    t.equal((await voided).contract.id(), c.id());
    t.same(await p.index.db.keys(layout.range.qAll()), []);
    const info = await node.rpc('getcontract', [c.id()]) as Record<string, any>;
    t.equal(info.state, 'void');
    t.equal(info.commit, null, 'its commit never confirmed');
    await t.rejects(node.rpc('refundcontract', [c.id()]), { code: -25, message: /no-escrow/ });
  });

  t.test('should refuse to commit a contract twice', async (t) => {
    const c = await deal();
    const hex = c.encode().toString('hex');
    await t.rejects(node.rpc('commitcontracts', [hex, hex]), { code: -25, message: /duplicate-contract/ });
    // Two calls at once: one funds the escrow, the other is refused.
    const both = await Promise.allSettled([p.commit([c]), p.commit([c])]);
    t.same(both.map(r => r.status).sort(), ['fulfilled', 'rejected']);
    const refused = both.find(r => r.status === 'rejected') as PromiseRejectedResult;
    t.equal(refused.reason.code, 'contract-already-committed');
    // A retry while pending, and after it confirmed.
    await t.rejects(node.rpc('commitcontracts', [hex]), { code: -25, message: /contract-already-committed/ });
    await mineSync(ctx, node);
    t.equal(await stateOf(node, c.id()), 'active');
    await t.rejects(node.rpc('commitcontracts', [hex]), { code: -25, message: /contract-already-committed/ });
  });

  t.test('should record a commitment before broadcasting it, and forget it if refused', async (t) => {
    const c = await deal();
    const mempool = node.node.mempool;
    const addTX = mempool.addTX;
    let recorded = false;
    mempool.addTX = async (tx: bcoin.TX) => {
      recorded = await p.index.db.has(layout.q(tx.hash(), 0));
      throw Object.assign(new Error('refused'), { type: 'VerifyError', code: 'invalid', reason: 'test', score: 0 });
    };
    try {
      await t.rejects(p.commit([c]), { type: 'VerifyError', code: 'invalid' });
    } finally {
      mempool.addTX = addTX;
    }
    t.ok(recorded, 'pending record written before the mempool saw the tx');
    t.notOk(await p.index.hasCommitment(c.hash()), 'forgotten after the refusal');
    t.same(await p.index.db.keys(layout.range.qAll()), []);
    // So the retry goes through.
    await p.commit([c]);
    await mineSync(ctx, node);
    t.equal(await stateOf(node, c.id()), 'active');
  });

  t.test('should commit concurrent batches without coin collisions', async (t) => {
    const batch = await Promise.all([deal(), deal(), deal()]);
    const [a, b] = await Promise.all([p.commit(batch.slice(0, 2)), p.commit(batch.slice(2))]);
    t.equal(a.length + b.length, 2);
    await mineSync(ctx, node);
    for (const c of batch)
      t.equal(await stateOf(node, c.id()), 'active');
    const info = await p.getContract(batch[1].hash());
    t.equal(info!.commit!.count, 2);
    t.equal(info!.commit!.leaf, 1);
    const record = await p.index.getRecord(batch[1].hash());
    t.same(record!.branch, batchBranch(batch.slice(0, 2).map(c => c.hash()), 1));
    const listed = await node.rpc('listcontracts', ['active']) as Array<{ id: string }>;
    t.ok(batch.every(c => listed.some(i => i.id === c.id())), 'the three listed as active');
  });

  t.test('should derive states from depth and heights', async (t) => {
    const main = common.getParams('main');
    const c = await deal();
    const ce = new CommitEntry();
    ce.height = 100;
    const leaf = new LeafEntry();
    c.endHeight = 200;
    t.equal(contractState(ce, leaf, c, 100, main), 'committed');
    t.equal(contractState(ce, leaf, c, 101, main), 'committed');
    t.equal(contractState(ce, leaf, c, 102, main), 'active');
    t.equal(contractState(ce, leaf, c, 200, main), 'expired');
    leaf.spendType = 2;
    t.equal(contractState(ce, leaf, c, 150, main), 'refunded');
    leaf.spendType = 1;
    t.equal(contractState(ce, leaf, c, 150, main), 'settled');
    t.equal(common.minEscrowValue(bcoin.Network.get('main')), 10000);
  });

  t.test('should refund the escrow of a contract voided by a late commit, on its own', async (t) => {
    const c = lateVoid!;
    await mineSync(ctx, node, c.refundHeight - node.height);
    // The node refunded it at the refund height; refundcontract names that refund.
    const txid = await node.rpc('refundcontract', [c.id()]) as string;
    const tx = node.node.mempool.getTX(Buffer.from(txid, 'hex').reverse().toString('hex'));
    t.ok(tx, 'the refund waits in the mempool');
    const fee = c.escrowValue - tx!.outputs[0].value;
    await mineSync(ctx, node);
    const info = await node.rpc('getcontract', [c.id()]) as Record<string, any>;
    t.equal(info.state, 'void');
    t.same(info.spend, { type: 'refunded', txid, height: node.height, returned: c.escrowValue - fee, paid: 0, fee });
    await t.rejects(node.rpc('refundcontract', [c.id()]), { code: -25, message: /escrow-spent/ });
  });
});
