// Orphan records (a csctr whose commit is not indexed yet): parked after
// cheap checks only, verified in full when the commit connects, bounded
// per sending peer, and blamed on the sender when they fail or their
// commit never comes.
import t from 'tap';
import { randomBytes } from 'crypto';
import * as common from '../lib/contracts/common';
import { commitOutputs } from '../lib/contracts/builders';
import { ContractRecord } from '../lib/contracts/records';
import type { StorageContract } from '../lib/contracts/storagecontract';
import { StubChain, fundTX } from './util/stubchain';
import { signBoth, testContract, testIdentity } from './data/contracts-fixtures';

/** A valid signed contract committable from height 1 to 11. */
function contract(n: number): StorageContract {
  return signBoth(testContract(1, { size: 1000 + n }));
}

function record(c: StorageContract, txid: Buffer = randomBytes(32)): ContractRecord {
  return new ContractRecord({ contract: c, txid, leaf: 0, branch: [] });
}

t.test('orphan records', async (t) => {
  t.test('should park an orphan without verifying its signatures', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(1);
    const forged = testContract(1, { size: 1001 });
    forged.renterSig = Buffer.alloc(64, 1); // present, but not a signature
    forged.hostSig = c.hostSig;
    const commit = fundTX(commitOutputs([forged]));
    t.equal(await index.addRecord(record(forged, commit.hash()), 7), 'orphan');
    t.equal(index.orphanCount(7), 1);
    // The commit connects: now the record is verified, fails, and its
    // sender is blamed.
    const blamed: Array<[number, string]> = [];
    index.on('bad orphan', (peer: number, code: string) => blamed.push([peer, code]));
    await chain.connect(index, [commit]);
    t.same(blamed, [[7, 'bad-contract-renter-sig']]);
    t.equal(index.orphanCount(), 0);
    t.equal(await index.getState(forged.hash()), null);
    // The genuine record still resolves.
    t.equal(await index.addRecord(record(c, commit.hash())), 'added');
    t.equal(await index.getState(c.hash()), 'active');
  });

  t.test('should resolve a good orphan when its commit connects', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(2);
    const commit = fundTX(commitOutputs([c]));
    t.equal(await index.addRecord(record(c, commit.hash()), 3), 'orphan');
    t.equal(await index.addRecord(record(c, commit.hash()), 3), 'orphan', 'a repeat is not counted twice');
    t.equal(index.orphanCount(3), 1);
    const blamed: unknown[] = [];
    index.on('bad orphan', (...args: unknown[]) => blamed.push(args));
    await chain.connect(index, [commit]);
    t.equal(await index.getState(c.hash()), 'active');
    t.same(blamed, []);
  });

  t.test('should reject what is wrong without the commit, by code', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const cases: Array<[string, StorageContract]> = [
      ['bad-contract-network', signBoth(testContract(1, { network: 1 }))],
      ['contract-unsigned', testContract(1).sign(testIdentity('renter'))],
      ['bad-contract-key', signBoth(testContract(1, { hostEscrowKey: Buffer.alloc(33, 4) }))],
      ['bad-contract-refund-height', signBoth(testContract(1, { refundHeight: 42 }))],
      ['contract-too-long', signBoth(testContract(1, { endHeight: 4300, refundHeight: 4330 }))]
    ];
    for (const [code, c] of cases)
      await t.rejects(index.addRecord(record(c), 1), { code }, code);
    t.equal(index.orphanCount(), 0);
  });

  t.test('should keep at most MAX_ORPHANS_PER_PEER per peer, dropping its oldest', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(4);
    const first = fundTX(commitOutputs([c]));
    t.equal(await index.addRecord(record(c, first.hash()), 1), 'orphan');
    // One signed contract replayed under random txids (the txid is unsigned).
    for (let i = 0; i < common.MAX_ORPHANS_PER_PEER; i++)
      t.equal(await index.addRecord(record(c), 1), 'orphan');
    t.equal(index.orphanCount(1), common.MAX_ORPHANS_PER_PEER);
    // Another peer is unaffected.
    t.equal(await index.addRecord(record(c), 2), 'orphan');
    t.equal(index.orphanCount(2), 1);
    // Peer 1's oldest (the real one) was dropped: its commit finds nothing.
    await chain.connect(index, [first]);
    t.equal(await index.getState(c.hash()), null);
    t.notOk((await index.getCommit(first.hash()))!.leaves[0].isResolved());
  });

  t.test('should evict the busiest peer when the pool is full', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(5);
    const peers = Math.ceil(common.MAX_ORPHAN_RECORDS / common.MAX_ORPHANS_PER_PEER);
    for (let p = 0; p < peers; p++) {
      for (let i = 0; i < common.MAX_ORPHANS_PER_PEER; i++)
        await index.addRecord(record(c), p);
    }
    t.equal(index.orphanCount(), common.MAX_ORPHAN_RECORDS);
    t.equal(await index.addRecord(record(c), 99), 'orphan');
    t.equal(index.orphanCount(), common.MAX_ORPHAN_RECORDS);
    t.equal(index.orphanCount(99), 1);
    t.equal(index.orphanCount(0), common.MAX_ORPHANS_PER_PEER - 1, 'the busiest (first) peer lost one');
  });

  t.test('should blame the sender when the commit never comes', async (t) => {
    const chain = new StubChain();
    const index = await chain.index();
    t.teardown(() => index.close());
    const c = contract(6);
    t.equal(await index.addRecord(record(c), 4), 'orphan');
    const blamed: Array<[number, string]> = [];
    index.on('bad orphan', (peer: number, code: string) => blamed.push([peer, code]));
    const W = common.getParams('regtest').window;
    while (chain.height < c.expiryHeight + W)
      await chain.connect(index);
    t.same(blamed, [], 'kept through the reorg margin');
    await chain.connect(index);
    t.same(blamed, [[4, 'orphan-expired']]);
    t.equal(index.orphanCount(), 0);
    // Arriving that late, it is not even parked.
    t.equal(await index.addRecord(record(c), 4), 'stale');
    t.equal(index.orphanCount(), 0);
  });
});
