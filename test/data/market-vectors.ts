// Deterministic fixtures of the market primitives (object tree, revision,
// channel state). Run `npx tsx test/data/market-vectors.ts` to (re)write
// test/data/market-vectors.json after a deliberate format change; the
// market primitives test checks the library still produces them.
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { objectLeaf, objectTreeRoot, type ObjectEntry } from '../../lib/contracts/objecttree';
import { Revision } from '../../lib/contracts/revision';
import { signState } from '../../lib/contracts/channel';
import { signBoth, testContract, testIdentity, testKey } from './contracts-fixtures';

/** Objects 1, 2 and 5 of a test contract (ids need not be dense). */
export function testObjects(): ObjectEntry[] {
  return [1, 2, 5].map(id => ({
    id, root: createHash('sha256').update(`object ${id}`).digest(), size: id * 4096 + 17
  }));
}

/** A test contract holding testObjects(), signed by both. */
export function objectContract(): ReturnType<typeof testContract> {
  const objects = testObjects();
  return signBoth(testContract(500, { root: objectTreeRoot(objects), size: objects.reduce((s, o) => s + o.size, 0) }));
}

/** Revision 1 of objectContract(), signed by both. */
export function testRevision(): Revision {
  const c = objectContract();
  const rev = new Revision({
    contractId: c.hash(), number: 1, height: 505, root: objectTreeRoot(testObjects().slice(0, 2)),
    size: 4096 + 17 + 8192 + 17, count: 2, nextObject: 6, accrued: 1234
  });
  rev.sign(testIdentity('renter'), c);
  rev.sign(testIdentity('host'), c);
  return rev;
}

/** A fake funded escrow coin of objectContract(). */
export function testEscrowCoin(): bcoin.Coin {
  const c = objectContract();
  const tx = new bcoin.MTX();
  tx.version = 2;
  tx.addOutpoint(new bcoin.Outpoint(Buffer.alloc(32, 0xcc).toString('hex'), 0));
  tx.addOutput(c.escrowOutputScript(), c.escrowValue);
  const coin = bcoin.Coin.fromTX(tx.toTX(), 0, 501);
  return coin;
}

export interface MarketVectors {
  objectLeaf: string;
  objectRoot: string;
  emptyRoot: string;
  revision: { hex: string; hash: string };
  state: { single: string; none: string };
}

export function makeMarketVectors(): MarketVectors {
  const c = objectContract();
  const coin = testEscrowCoin();
  const key = testKey('renter escrow').privateKey;
  return {
    objectLeaf: objectLeaf(testObjects()[0]).toString('hex'),
    objectRoot: objectTreeRoot(testObjects()).toString('hex'),
    emptyRoot: objectTreeRoot([]).toString('hex'),
    revision: { hex: testRevision().encode().toString('hex'), hash: testRevision().hash().toString('hex') },
    state: {
      single: signState(c, coin, 1, 5000, key).encode().toString('hex'),
      none: signState(c, coin, 2, c.escrowValue - 100, key).encode().toString('hex')
    }
  };
}

if (require.main === module) {
  const file = path.join(__dirname, 'market-vectors.json');
  fs.writeFileSync(file, JSON.stringify(makeMarketVectors(), null, 2) + '\n');
  console.log(`wrote ${file}`);
}
