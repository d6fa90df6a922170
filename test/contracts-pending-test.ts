// The index between its steps: pending records whose commit got indexed
// without them (a failure or crash after the block's batch) resolve on the
// next sync and are never voided by the clock; an escrow created and spent
// in one block is seen as spent, and unwinds cleanly.
import t from 'tap';
import { commitOutputs } from '../lib/contracts/builders';
import { ContractIndex } from '../lib/contracts/contractindex';
import { layout } from '../lib/contracts/layout';
import * as common from '../lib/contracts/common';
import { ContractRecord, spendTypes } from '../lib/contracts/records';
import type { StorageContract } from '../lib/contracts/storagecontract';
import { StubChain, fundTX, spendTX } from './util/stubchain';
import { signBoth, testContract } from './data/contracts-fixtures';

function contract(n: number): StorageContract {
  return signBoth(testContract(1, { size: 2000 + n }));
}

/** Make the next resolvePending of `index` throw, as a crash right after the block batch would. */
function failNextResolve(index: ContractIndex): void {
  const target = (index as unknown as { resolver: { resolvePending: (...args: unknown[]) => Promise<void> } }).resolver;
  const orig = target.resolvePending;
  target.resolvePending = async () => {
    target.resolvePending = orig;
    throw new Error('simulated crash after the block batch');
  };
}

t.test('pending records', async (t) => {
  t.test('should resolve pending records of a commit indexed without them', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(1);
    const commit = fundTX(commitOutputs([c]));
    await index.addPending(commit.hash(), [c]);
    const voids: string[] = [];
    index.on('void', (_r: ContractRecord, code: string) => voids.push(code));
    failNextResolve(index);
    await chain.connect(index, [commit]);
    t.ok(index.dirty, 'the hook failed after the batch');
    t.ok(await index.getCommit(commit.hash()), 'commit indexed');
    t.equal(await index.getState(c.hash()), 'pending', 'record still pending');
    // The next hook resynchronizes and resolves it; the clock never voids it.
    for (let i = 0; i < c.expiryHeight + common.getParams('regtest').window + 2; i++)
      await chain.connect(index);
    t.notOk(index.dirty);
    t.equal(await index.getState(c.hash()), 'active');
    t.same(voids, []);
    t.equal(await index.db.get(layout.q(commit.hash(), 0)), null, 'pending record gone');
  });

  t.test('should not void a pending record whose commit is indexed', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(2);
    const commit = fundTX(commitOutputs([c]));
    await chain.connect(index, [commit]);
    // As left by a crash between the batch and resolvePending, read back
    // from disk by a restarted node.
    const record = new ContractRecord({ contract: c, txid: commit.hash(), leaf: 0, branch: [] });
    await index.db.put(layout.q(commit.hash(), 0), record.encode());
    const voids: string[] = [];
    index.on('void', (_r: ContractRecord, code: string) => voids.push(code));
    for (let i = 0; i < c.expiryHeight + common.getParams('regtest').window + 2; i++)
      await chain.connect(index);
    t.same(voids, [], 'pruneExpired skipped it');
    t.equal(await index.getState(c.hash()), 'pending');
    await index.sync(); // what open() runs
    t.equal(await index.getState(c.hash()), 'active');
    t.equal(await index.db.get(layout.q(commit.hash(), 0)), null);
  });

  t.test('should see an escrow created and spent in the same block', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const settled = contract(3);
    const refunded = contract(4);
    const commit = fundTX(commitOutputs([settled, refunded]));
    await index.addPending(commit.hash(), [settled, refunded]);
    const coop = spendTX(commit, 0, settled, 'cooperative');
    const refund = spendTX(commit, 1, refunded, 'refund');
    await chain.connect(index, [commit, coop, refund]);
    t.notOk(index.dirty);
    const ce = await index.getCommit(commit.hash());
    t.equal(ce!.leaves[0].spendType, spendTypes.SETTLED);
    t.equal(ce!.leaves[1].spendType, spendTypes.REFUNDED);
    t.same(ce!.leaves[0].spendTxid, coop.hash());
    t.equal(await index.getState(settled.hash()), 'settled');
    t.equal(await index.getState(refunded.hash()), 'refunded');
    // Unwind the block: the commit goes, nothing of it stays watched.
    await chain.disconnect(index);
    t.equal(await index.getCommit(commit.hash()), null);
    const watched = (index as unknown as { watched: Set<string> }).watched;
    t.equal(watched.size, 0, 'no outpoint of the removed commit watched');
    // Mined again, split over two blocks, it reads the same.
    await chain.connect(index, [commit]);
    t.equal(await index.getState(settled.hash()), 'active');
    await chain.connect(index, [coop, refund]);
    t.equal(await index.getState(settled.hash()), 'settled');
    t.equal(await index.getState(refunded.hash()), 'refunded');
    t.equal(watched.size, 0);
  });

  t.test('should keep our second escrow of a contract committed elsewhere refundable', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(5);
    const theirs = fundTX(commitOutputs([c]));
    const ours = fundTX(commitOutputs([c]));
    await index.addPending(ours.hash(), [c]);
    t.ok(await index.hasCommitment(c.hash()));
    const voids: string[] = [];
    index.on('void', (_r: ContractRecord, code: string) => voids.push(code));
    // Their commit confirms first and its record arrives; then ours.
    await chain.connect(index, [theirs]);
    t.equal(await index.addRecord(new ContractRecord({ contract: c, txid: theirs.hash(), leaf: 0, branch: [] })), 'added');
    await chain.connect(index, [ours]);
    t.same(voids, ['contract-already-committed'], 'the first commit wins the id');
    const info = await index.getContract(c.hash());
    t.equal(info!.state, 'active');
    t.equal(info!.commit!.txid, theirs.txid());
    const escrows = await index.getEscrows(c.hash());
    t.same(escrows.map(e => e.commit.txid), [theirs.hash(), ours.hash()], 'both escrows, theirs first');
    t.equal(await index.db.get(layout.q(ours.hash(), 0)), null);
  });

  t.test('should keep our void record and resolve it if a reorg moves its commit in time', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(6);
    const commit = fundTX(commitOutputs([c]));
    await index.addPending(commit.hash(), [c]);
    while (chain.height < c.expiryHeight)
      await chain.connect(index);
    await chain.connect(index, [commit]); // one block too late
    let info = await index.getContract(c.hash());
    t.equal(info!.state, 'void');
    t.equal(info!.void, 'contract-offer-expired');
    t.equal(info!.commit!.height, c.expiryHeight + 1);
    t.equal((await index.getEscrows(c.hash())).length, 1, 'its escrow stays findable');
    // A reorg re-mines it at expiryHeight: valid after all.
    await chain.disconnect(index);
    await chain.disconnect(index);
    t.equal((await index.getContract(c.hash()))!.commit, null, 'commit gone, void record kept');
    await chain.connect(index, [commit]);
    info = await index.getContract(c.hash());
    t.equal(info!.state, 'active');
    t.equal(info!.void, null);
    t.same(await index.getVoids(c.hash()), []);
  });
});
