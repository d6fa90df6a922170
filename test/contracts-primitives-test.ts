// Contract primitives: StorageContract, escrow script, OP_RETURN payloads,
// batch tree, records and packets. Pinned vectors in test/data/.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import bcoin = require('../lib/bcoin');
import { StorageContract, checkSaneContract, hasSaneContract, verifyContract } from '../lib/contracts/storagecontract';
import { ContractError } from '../lib/contracts/errors';
import * as common from '../lib/contracts/common';
import { batchBranch, batchRoot, branchRoot, verifyBranch } from '../lib/contracts/batchtree';
import { CommitPayload, RatingPayload, decodeCommit, decodeRating, findPayload, payloadType } from '../lib/contracts/payload';
import { ContractRecord, CommitEntry, LeafEntry, BlockUndo, VoidRecord } from '../lib/contracts/records';
import { decodeContractRecord, decodeGetContract, MAX_RECORD_PACKET, MIN_RECORD_PACKET } from '../lib/contracts/packets';
import { classifySpend, refundWitness, cooperativeWitness } from '../lib/contracts/escrow';
import { buildRefundTX, buildRatingTX, commitOutputs } from '../lib/contracts/builders';
import { PacketError } from '../lib/base/errors';
import { makeVectors, signBoth, testContract, testIdentity, testKey, Vectors } from './data/contracts-fixtures';

const network = bcoin.Network.get('regtest');
const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'contracts-vectors.json'), 'utf8')) as Vectors;

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof ContractError || e instanceof PacketError)
      return e.code;
    throw e;
  }
}

t.test('StorageContract', async (t) => {
  t.test('should build, sign, check and round-trip', async (t) => {
    const c = signBoth(testContract());
    t.ok(hasSaneContract(c));
    t.equal(codeOf(() => verifyContract(c, 501, network)), null);
    t.ok(c.isSigned() && c.verifyRenterSig() && c.verifyHostSig());
    const raw = c.encode();
    t.equal(raw.length, common.CONTRACT_SIZE);
    t.equal(c.encodeUnsigned().length, common.CONTRACT_UNSIGNED_SIZE);
    const d = new StorageContract().decode(raw);
    t.same(d.encode(), raw);
    t.equal(d.id(), c.id());
    t.equal(codeOf(() => verifyContract(d, 501, network)), null);
    const j = StorageContract.fromJSON(c.getJSON());
    t.same(j.encode(), raw);
  });

  t.test('should keep the id independent of signatures', async (t) => {
    const c = testContract();
    const id = c.id();
    signBoth(c);
    t.equal(c.id(), id);
  });

  t.test('should match pinned vectors', async (t) => {
    const now = makeVectors();
    t.same(now, vectors);
    const c = new StorageContract().decode(Buffer.from(vectors.contract.hex, 'hex'));
    t.equal(c.id(), vectors.contract.id);
    t.equal(c.encodeUnsigned().toString('hex'), vectors.contract.unsigned);
    t.equal(c.escrowScript().toRaw().toString('hex'), vectors.contract.escrowScript);
  });

  t.test('should reject invalid contracts by code', async (t) => {
    const bad = (f: (c: StorageContract) => void): StorageContract => {
      const c = testContract();
      f(c);
      return signBoth(c);
    };
    const notPoint = Buffer.concat([Buffer.from([2]), Buffer.alloc(32, 0xff)]);
    const cases: Array<[string, StorageContract, number?]> = [
      ['bad-contract-version', bad(c => { c.version = 1; })],
      ['bad-contract-key', bad(c => { c.hostEscrowKey = notPoint; })],
      ['bad-contract-parties', (() => {
        const c = testContract();
        c.hostKey = c.renterKey;
        return c.sign(testIdentity('renter'));
      })()],
      ['bad-contract-escrow-keys', bad(c => { c.hostEscrowKey = c.renterEscrowKey; })],
      ['bad-contract-escrow-keys', bad(c => { c.renterEscrowKey = c.renterKey; })],
      ['bad-contract-size', bad(c => { c.size = 0; })],
      ['bad-contract-period', bad(c => { c.endHeight = c.startHeight; })],
      ['bad-contract-audit-interval', bad(c => { c.auditInterval = 0; })],
      ['bad-contract-audit-interval', bad(c => { c.auditInterval = 41; })],
      ['bad-contract-escrow-value', bad(c => { c.escrowValue = 0; })],
      ['bad-contract-holdback', bad(c => { c.holdback = 10001; })],
      ['bad-contract-refund-height', bad(c => { c.refundHeight = c.endHeight; })],
      ['bad-contract-expiry', bad(c => { c.expiryHeight = 0; })],
      ['bad-contract-expiry', bad(c => { c.expiryHeight = c.endHeight; })],
      ['bad-contract-price', bad(c => { c.storagePrice = common.MAX_MONEY + 1; })],
      ['bad-contract-network', bad(c => { c.network = bcoin.Network.get('main').magic; })],
      ['bad-contract-refund-height', bad(c => { c.refundHeight = c.endHeight + 11; })],
      ['contract-too-long', bad(c => { c.endHeight = c.startHeight + 4300; c.refundHeight = c.startHeight + 4321; })],
      ['bad-contract-escrow-value', bad(c => { c.escrowValue = 9999; })],
      ['contract-offer-expired', signBoth(testContract()), 511],
      // refund - start is within maxSpan, but the lock runs from the commit
      ['contract-too-long', signBoth(testContract(5000)), 501],
      ['contract-too-long', signBoth(testContract(5000)), 5052 - 4321],
      ['contract-unsigned', testContract()],
      ['contract-unsigned', testContract().sign(testIdentity('renter'))]
    ];
    for (const [code, c, height] of cases)
      t.equal(codeOf(() => verifyContract(c, height ?? 501, network)), code, code);
    // Signatures from the wrong key, or over another contract.
    const c = signBoth(testContract());
    c.renterSig = testIdentity('other').sign(c.hash());
    t.equal(codeOf(() => verifyContract(c, 501, network)), 'bad-contract-renter-sig');
    const d = signBoth(testContract());
    d.hostSig = signBoth(testContract(501)).hostSig;
    t.equal(codeOf(() => verifyContract(d, 501, network)), 'bad-contract-host-sig');
    t.equal(codeOf(() => verifyContract(signBoth(testContract(5000)), 5052 - 4320, network)), null,
      'refund exactly maxSpan after the commit');
    // Partially signed offers pass with requireSigs false.
    t.equal(codeOf(() => verifyContract(testContract().sign(testIdentity('renter')), 501, network,
      { requireSigs: false })), null);
    t.equal(codeOf(() => checkSaneContract(testContract())), null);
  });

  t.test('should reject bad encodings by code', async (t) => {
    const raw = signBoth(testContract()).encode();
    t.equal(codeOf(() => new StorageContract().decode(raw.subarray(0, raw.length - 1))), 'bad-contract-encoding');
    t.equal(codeOf(() => new StorageContract().decode(Buffer.concat([raw, Buffer.alloc(1)]))), 'bad-contract-encoding');
    const big = Buffer.from(raw);
    big.fill(0xff, 169, 177); // size u64 above 2^53
    t.equal(codeOf(() => new StorageContract().decode(big)), 'bad-contract-encoding');
    t.equal(codeOf(() => StorageContract.fromJSON({ ...signBoth(testContract()).getJSON(), root: 'zz' })),
      'bad-contract-json');
    t.equal(codeOf(() => StorageContract.fromJSON({ ...signBoth(testContract()).getJSON(), size: -1 })),
      'bad-contract-json');
  });
});

t.test('escrow script', async (t) => {
  t.test('should have the DESIGN 5 shape', async (t) => {
    const c = testContract();
    const s = c.escrowScript().toString();
    t.match(s, /^OP_IF 0x21 0x[0-9a-f]{66} OP_CHECKSIGVERIFY OP_ELSE 552 OP_CHECKLOCKTIMEVERIFY OP_DROP OP_ENDIF 0x21 0x[0-9a-f]{66} OP_CHECKSIG$/);
    t.equal(c.escrowScript().toRaw().length, 78);
    t.ok(c.escrowOutputScript().isWitnessScripthash());
  });

  t.test('should classify spends by witness item count', async (t) => {
    const script = testContract().escrowScript();
    const sig = Buffer.alloc(71, 1);
    const w = new bcoin.Witness();
    w.fromItems(refundWitness(sig, script));
    t.equal(classifySpend(w), 'refunded');
    w.fromItems(cooperativeWitness(sig, sig, script));
    t.equal(classifySpend(w), 'settled');
  });

  t.test('should classify by what consensus allows, not by relay policy', async (t) => {
    // Block validation flags once segwit is active (bcoin's
    // MANDATORY_VERIFY_FLAGS is P2SH alone: it skips witnesses entirely).
    const f = bcoin.Script.flags;
    const consensus = f.VERIFY_P2SH | f.VERIFY_WITNESS | f.VERIFY_DERSIG | f.VERIFY_NULLDUMMY
      | f.VERIFY_CHECKLOCKTIMEVERIFY | f.VERIFY_CHECKSEQUENCEVERIFY;
    const c = signBoth(testContract());
    const script = c.escrowScript();
    const fund = new bcoin.MTX();
    fund.addOutpoint(new bcoin.Outpoint(Buffer.alloc(32, 2).toString('hex'), 0));
    fund.addOutput(c.escrowOutputScript(), c.escrowValue);
    const coin = bcoin.Coin.fromTX(fund.toTX(), 0, 100);
    const spend = (refund: boolean, items: (sig: (label: string) => Buffer) => Buffer[]): bcoin.MTX => {
      const mtx = new bcoin.MTX();
      mtx.version = 2;
      mtx.addCoin(coin);
      if (refund) {
        mtx.inputs[0].sequence = 0xfffffffe;
        mtx.setLocktime(c.refundHeight);
      }
      mtx.addOutput(testKey('dest').getAddress(), c.escrowValue - 1000);
      const sig = (label: string) => mtx.signature(0, script, coin.value, testKey(label).privateKey,
        bcoin.Script.hashType.ALL, 1);
      mtx.inputs[0].witness.fromItems(items(sig));
      return mtx;
    };
    // `02` under the script takes the IF branch: MINIMALIF (relay policy)
    // refuses it, consensus does not, so a miner may include it.
    const odd = spend(false, sig => [sig('renter escrow'), sig('host escrow'), Buffer.from([2]), script.toRaw()]);
    t.ok(odd.verify(consensus), 'valid by consensus');
    t.notOk(odd.verify(f.STANDARD_VERIFY_FLAGS), 'non-standard');
    t.equal(classifySpend(odd.inputs[0].witness), 'settled');
    // Each branch needs its exact count: witness scripts must leave a
    // clean stack (consensus), so a spare item fails either branch.
    const refund = spend(true, sig => [sig('renter escrow'), Buffer.alloc(0), script.toRaw()]);
    t.ok(refund.verify(consensus));
    t.equal(classifySpend(refund.inputs[0].witness), 'refunded');
    const padded = spend(true, sig => [Buffer.from([9]), sig('renter escrow'), Buffer.alloc(0), script.toRaw()]);
    t.notOk(padded.verify(consensus), '4 items cannot take the refund branch');
    const short = spend(false, sig => [sig('host escrow'), Buffer.from([1]), script.toRaw()]);
    t.notOk(short.verify(consensus), '3 items cannot take the two-party branch');
  });

  t.test('should build a refund that passes script checks', async (t) => {
    const c = signBoth(testContract());
    const fund = new bcoin.MTX();
    fund.addOutpoint(new bcoin.Outpoint(Buffer.alloc(32, 1).toString('hex'), 0));
    fund.addOutput(c.escrowOutputScript(), c.escrowValue);
    const coin = bcoin.Coin.fromTX(fund.toTX(), 0, 100);
    const mtx = buildRefundTX(c, coin, testKey('renter escrow'), testKey('dest').getAddress(), 1000);
    t.equal(mtx.version, 2);
    t.equal(mtx.locktime, c.refundHeight);
    t.equal(mtx.inputs[0].sequence, 0xfffffffe);
    t.ok(mtx.verify(bcoin.Script.flags.STANDARD_VERIFY_FLAGS));
    t.ok(mtx.getFee() >= mtx.getVirtualSize());
    // The host's key cannot take the refund branch.
    const bad = buildRefundTX(c, coin, testKey('host escrow'), testKey('dest').getAddress(), 1000);
    t.notOk(bad.verify(bcoin.Script.flags.STANDARD_VERIFY_FLAGS));
  });
});

t.test('batch tree', async (t) => {
  t.test('should prove every leaf of every batch size', async (t) => {
    const ids = Array.from({ length: 16 }, (_, i) => signBoth(testContract(500 + i)).hash());
    for (let n = 1; n <= 16; n++) {
      const batch = ids.slice(0, n);
      const root = batchRoot(batch);
      if (n === 1)
        t.same(root, batch[0]);
      for (let i = 0; i < n; i++) {
        const branch = batchBranch(batch, i);
        t.ok(branch.length <= common.MAX_BRANCH);
        t.ok(verifyBranch(root, batch[i], i, n, branch), `n=${n} i=${i}`);
        // Wrong index, wrong id, wrong count all fail.
        if (n > 1) {
          t.notOk(verifyBranch(root, batch[i], (i + 1) % n, n, branch));
          t.notOk(verifyBranch(root, batch[(i + 1) % n], i, n, branch));
        }
      }
    }
    t.equal(branchRoot(ids[0], 0, 2, []), null);
    t.equal(branchRoot(ids[0], 2, 2, [ids[1]]), null);
  });

  t.test('should reject bad sizes by code', async (t) => {
    t.equal(codeOf(() => batchRoot([])), 'bad-batch-size');
    t.equal(codeOf(() => batchRoot(Array(17).fill(Buffer.alloc(32)))), 'bad-batch-size');
    t.equal(codeOf(() => batchBranch([Buffer.alloc(32)], 1)), 'bad-batch-index');
  });
});

t.test('payloads', async (t) => {
  t.test('should round-trip commit and rating payloads within 80 bytes', async (t) => {
    const commit = new CommitPayload({ count: 3, vout0: 1, root: Buffer.alloc(32, 7) });
    const raw = commit.encode();
    t.equal(raw.length, 38);
    t.equal(raw.subarray(0, 6).toString('hex'), '434300010301');
    t.same(decodeCommit(raw).getJSON(), commit.getJSON());
    const rating = new RatingPayload({ id: Buffer.alloc(32, 9), role: 1, score: -100, passed: 65535, flags: 15 });
    const rraw = rating.encode();
    t.equal(rraw.length, 50);
    t.same(decodeRating(rraw).encode(), rraw);
    t.equal(payloadType(rraw), 2);
    t.equal(payloadType(Buffer.from('4343010100', 'hex')), -1);
    t.equal(vectors.commit.length / 2, 38);
    t.equal(vectors.rating.length / 2, 50);
  });

  t.test('should reject malformed payloads by code', async (t) => {
    const commit = (n: number, vout0 = 0) => new CommitPayload({ count: n, vout0, root: Buffer.alloc(32) }).encode();
    const rating = (o: Partial<RatingPayload>) => new RatingPayload({ id: Buffer.alloc(32), ...o }).encode();
    const cases: Array<[string, () => unknown]> = [
      ['bad-commit-count', () => decodeCommit(commit(0))],
      ['bad-commit-count', () => decodeCommit(commit(17))],
      ['bad-commit-vout', () => decodeCommit(commit(2, 254))],
      ['bad-commit-size', () => decodeCommit(commit(1).subarray(0, 37))],
      ['bad-rating-size', () => decodeRating(Buffer.concat([rating({}), Buffer.alloc(1)]))],
      ['bad-rating-role', () => decodeRating(rating({ role: 2 }))],
      ['bad-rating-score', () => decodeRating(rating({ score: 101 }))],
      ['bad-rating-score', () => decodeRating(rating({ score: -101 }))],
      ['bad-rating-flags', () => decodeRating(rating({ flags: 16 }))],
      ['bad-rating-leaf', () => decodeRating(rating({ leafIndex: 16 }))]
    ];
    for (const [code, fn] of cases)
      t.equal(codeOf(fn), code, code);
  });

  t.test('should lay out a commitment: escrows, then the OP_RETURN', async (t) => {
    const contracts = [0, 1, 2].map(i => signBoth(testContract(500 + i)));
    const outputs = commitOutputs(contracts);
    t.equal(outputs.length, 4);
    const mtx = new bcoin.MTX();
    for (const o of outputs)
      mtx.outputs.push(o);
    const found = findPayload(mtx.toTX());
    t.ok(found);
    t.equal(found!.index, 3);
    const p = decodeCommit(found!.data);
    t.equal(p.count, 3);
    t.same(p.root, batchRoot(contracts.map(c => c.hash())));
    contracts.forEach((c, i) => {
      t.same(outputs[i].script.toRaw(), c.escrowOutputScript().toRaw());
      t.equal(outputs[i].value, c.escrowValue);
    });
  });

  t.test('should sign a rating with the identity as input 0', async (t) => {
    const id = testIdentity('renter');
    const fund = new bcoin.MTX();
    fund.addOutpoint(new bcoin.Outpoint(Buffer.alloc(32, 1).toString('hex'), 0));
    fund.addOutput(id.ring.getAddress(), 20000);
    const coin = bcoin.Coin.fromTX(fund.toTX(), 0, 100);
    const payload = new RatingPayload({ id: Buffer.alloc(32, 1), role: 0, score: 50 });
    const mtx = buildRatingTX(coin, id, payload, 1000);
    t.ok(mtx.verify());
    t.same(mtx.inputs[0].witness.get(1), id.publicKey);
    t.equal(mtx.outputs[0].script.getData(1)!.length, 50);
    t.ok(mtx.getFee() >= mtx.getVirtualSize());
  });
});

t.test('records and packets', async (t) => {
  t.test('should round-trip records, commit entries and undo', async (t) => {
    const raw = Buffer.from(vectors.record, 'hex');
    const r = decodeContractRecord(raw);
    t.same(r.encode(), raw);
    t.equal(r.leaf, 5);
    t.equal(r.branch.length, 3);
    const ce = new CommitEntry();
    ce.txid = Buffer.alloc(32, 1);
    ce.count = 2;
    ce.leaves = [new LeafEntry(), new LeafEntry()];
    ce.leaves[1].value = 12345;
    t.same(new CommitEntry().decode(ce.encode()).encode(), ce.encode());
    const undo = new BlockUndo();
    undo.commits.push(Buffer.alloc(32, 2));
    undo.spends.push({ txid: Buffer.alloc(32, 3), leaf: 4 });
    undo.ratings.push({ id: Buffer.alloc(32, 5), role: 1, txIndex: 7 });
    t.same(new BlockUndo().decode(undo.encode()).encode(), undo.encode());
    const v = new VoidRecord({ record: r, code: 'contract-offer-expired', height: 440 });
    const v2 = new VoidRecord().decode(v.encode());
    t.equal(v.encode().length, v.getSize());
    t.same([v2.code, v2.height, v2.record.encode()], ['contract-offer-expired', 440, raw]);
  });

  t.test('should reject malformed packets with PacketError codes', async (t) => {
    const raw = Buffer.from(vectors.record, 'hex');
    const withBranch = (n: number) => {
      const r = new ContractRecord().decode(raw);
      r.branch = Array(n).fill(Buffer.alloc(32));
      return r.encode();
    };
    const bad = Buffer.from(withBranch(0));
    bad[common.CONTRACT_SIZE + 32] = 16; // leaf index
    const cases: Array<[string, Buffer]> = [
      ['bad-ctr-size', raw.subarray(0, MIN_RECORD_PACKET - 1)],
      ['bad-ctr-size', Buffer.alloc(MAX_RECORD_PACKET + 32)],
      ['bad-ctr-size', raw.subarray(0, raw.length - 1)],
      ['bad-record-size', withBranch(0).subarray(0, MIN_RECORD_PACKET + 32).fill(1, MIN_RECORD_PACKET - 1, MIN_RECORD_PACKET)],
      ['bad-record-branch', bad]
    ];
    for (const [code, payload] of cases)
      t.equal(codeOf(() => decodeContractRecord(payload)), code, code);
    t.equal(codeOf(() => decodeGetContract(Buffer.alloc(31))), 'bad-getctr-size');
    t.equal(codeOf(() => decodeGetContract(Buffer.alloc(33))), 'bad-getctr-size');
    t.same(decodeGetContract(Buffer.alloc(32, 1)), Buffer.alloc(32, 1));
  });
});
