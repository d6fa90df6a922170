// Deterministic contract fixtures, shared by test/contracts-*-test.ts and
// by the vector script below. Run `npx tsx test/data/contracts-fixtures.ts`
// to (re)write test/data/contracts-vectors.json after a deliberate format
// change; the primitives test checks the library still produces them.
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import { StorageContract } from '../../lib/contracts/storagecontract';
import { CommitPayload, RatingPayload } from '../../lib/contracts/payload';
import { batchBranch, batchRoot } from '../../lib/contracts/batchtree';
import { ContractRecord } from '../../lib/contracts/records';

const network = bcoin.Network.get('regtest');

/** A private key from a label (never use outside tests). */
export function testKey(label: string): bcoin.KeyRing {
  const priv = createHash('sha256').update(`cloudcoin test key ${label}`).digest();
  return bcoin.KeyRing.fromPrivate(priv, true);
}

export function testIdentity(label: string): Identity {
  return new Identity(testKey(label), network);
}

/** A valid regtest contract around `start` (unsigned). */
export function testContract(start = 500, overrides: Partial<StorageContract> = {}): StorageContract {
  const c = new StorageContract({
    network: network.magic,
    renterKey: testIdentity('renter').publicKey,
    hostKey: testIdentity('host').publicKey,
    renterEscrowKey: testKey('renter escrow').publicKey,
    hostEscrowKey: testKey('host escrow').publicKey,
    root: createHash('sha256').update('file root').digest(),
    size: 10 * 1024 * 1024,
    startHeight: start,
    endHeight: start + 40,
    auditInterval: 10,
    escrowValue: 20000,
    holdback: 2500,
    refundHeight: start + 52,
    expiryHeight: start + 10,
    storagePrice: 5000,
    uploadPrice: 100,
    downloadPrice: 200
  });
  Object.assign(c, overrides);
  return c;
}

/** Both signatures. */
export function signBoth(c: StorageContract): StorageContract {
  c.sign(testIdentity('renter'));
  c.sign(testIdentity('host'));
  return c;
}

export interface Vectors {
  contract: { hex: string; unsigned: string; id: string; escrowScript: string; escrowOutput: string };
  batch: { ids: string[]; root: string; branch5: string[] };
  commit: string;
  rating: string;
  record: string;
}

export function makeVectors(): Vectors {
  const c = signBoth(testContract());
  const ids = [0, 1, 2, 3, 4, 5, 6].map(i => signBoth(testContract(500 + i)).hash());
  const root = batchRoot(ids);
  return {
    contract: {
      hex: c.encode().toString('hex'),
      unsigned: c.encodeUnsigned().toString('hex'),
      id: c.id(),
      escrowScript: c.escrowScript().toRaw().toString('hex'),
      escrowOutput: c.escrowOutputScript().toRaw().toString('hex')
    },
    batch: {
      ids: ids.map(id => id.toString('hex')),
      root: root.toString('hex'),
      branch5: batchBranch(ids, 5).map(h => h.toString('hex'))
    },
    commit: new CommitPayload({ count: 7, vout0: 0, root }).encode().toString('hex'),
    rating: new RatingPayload({
      id: c.hash(), role: 1, score: -42, passed: 3, failed: 1, flags: 1,
      commitHeight: 433, commitIndex: 1, leafIndex: 5
    }).encode().toString('hex'),
    record: new ContractRecord({
      contract: signBoth(testContract(505)), txid: Buffer.alloc(32, 0xab), leaf: 5,
      branch: batchBranch(ids, 5)
    }).encode().toString('hex')
  };
}

if (require.main === module) {
  const file = path.join(__dirname, 'contracts-vectors.json');
  fs.writeFileSync(file, JSON.stringify(makeVectors(), null, 2) + '\n');
  console.log(`wrote ${file}`);
}
