// Generates the pinned vectors of the deals' signed offer (deals-vectors.json)
// and of the revision wire structs (deals-wire-vectors.json: propose, revise,
// receipt, token and latest args and bodies, PROTOCOL 5). Deterministic: fixed keys,
// RFC 6979 signatures. Regenerate (only when the wire format changes on
// purpose) with:
//   npx tsx test/data/deals-vectors.ts
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import * as fs from 'fs';
import * as path from 'path';
import {
  ContractArgs, Offer, ProposeArgs, ProposeResult, ReceiptArgs, ReviseArgs, ReviseResult, TokenArgs
} from '../../lib/deals/wire';
import { LatestArgs, LatestResult } from '../../lib/deals/latestwire';
import { ChannelState } from '../../lib/contracts/channel';
import { objectContract, testObjects, testRevision } from './market-vectors';

export interface DealVector {
  name: string;
  hex: string;
  /** The hash the signature covers. */
  hash: string;
}

function key(byte: number): Identity {
  return new Identity(bcoin.KeyRing.fromPrivate(Buffer.alloc(32, byte), true), bcoin.Network.get('regtest'));
}

export function buildDealObjects(): Array<[string, Offer]> {
  const host = key(2);
  const renter = key(1);
  const offer = new Offer();
  offer.hostKey = host.publicKey;
  offer.renterKey = renter.publicKey;
  offer.hostEscrowKey = key(3).publicKey;
  offer.size = 8 << 20;
  offer.duration = 1000;
  offer.prices = { storage: 1000, upload: 20, download: 30 };
  offer.height = 440;
  offer.expiryHeight = 452;
  offer.dataURL = 'http://127.0.0.1:8480/cc';
  offer.sign(host);
  return [['offer', offer]];
}

export function buildDealVectors(): DealVector[] {
  return buildDealObjects().map(([name, obj]) => ({
    name, hex: obj.encode().toString('hex'), hash: obj.hash().toString('hex')
  }));
}

/** The revision wire structs over the market fixtures (objectContract, testRevision). */
export function buildWireVectors(): Record<string, string> {
  const c = objectContract();
  const propose = new ProposeArgs();
  propose.contract = c;
  propose.revision = testRevision();
  propose.revision.hostSig = Buffer.alloc(64);
  propose.objects = testObjects();
  const proposed = new ProposeResult();
  proposed.hostSig = c.hostSig;
  proposed.dataURL = 'http://127.0.0.1:8480';
  proposed.dataTokens = [Buffer.alloc(40, 0xa1), Buffer.alloc(40, 0xa2), Buffer.alloc(40, 0xa5)];
  proposed.manifestToken = Buffer.alloc(40, 0xa0);
  const revise = new ReviseArgs();
  revise.revision = testRevision();
  revise.revision.hostSig = Buffer.alloc(64);
  revise.add = [{ id: 6, root: Buffer.alloc(32, 0x66), size: 4096 }];
  revise.remove = [5];
  const revised = new ReviseResult();
  revised.dataURL = 'http://127.0.0.1:8480';
  revised.dataTokens = [Buffer.alloc(40, 0xa6)];
  revised.manifestToken = Buffer.alloc(40, 0xa0);
  const receipt = new ReceiptArgs();
  receipt.id = c.hash();
  receipt.number = 1;
  const token = new TokenArgs();
  token.id = c.hash();
  token.object = 2;
  const latest = new ContractArgs();
  latest.id = c.hash();
  const latestArgs = Object.assign(new LatestArgs(), { id: c.hash(), fromRevision: 1, fromObject: 2 });
  // A page from revision 1 and object 2 on, more objects flagged, with the host's state (its signature is a placeholder).
  const latestResult = Object.assign(new LatestResult(), {
    latest: testRevision(), revisions: [testRevision()], objects: testObjects().slice(1, 2), moreObjects: true,
    state: { state: Object.assign(new ChannelState(), { contractId: c.hash(), number: 3, paid: 1500, renterSig: Buffer.alloc(64, 0x77) }),
      prepaid: 10, missed: [0, 2] }
  });
  return {
    proposeArgs: propose.encode().toString('hex'),
    proposeResult: proposed.encode().toString('hex'),
    reviseArgs: revise.encode().toString('hex'),
    reviseResult: revised.encode().toString('hex'),
    receiptArgs: receipt.encode().toString('hex'),
    receiptBody: testRevision().encode().toString('hex'),
    tokenArgs: token.encode().toString('hex'),
    revisionArgs: latest.encode().toString('hex'),
    latestArgs: latestArgs.encode().toString('hex'),
    latestResult: latestResult.encode().toString('hex')
  };
}

if (require.main === module) {
  fs.writeFileSync(path.join(__dirname, 'deals-vectors.json'), JSON.stringify(buildDealVectors(), null, 2) + '\n');
  fs.writeFileSync(path.join(__dirname, 'deals-wire-vectors.json'), JSON.stringify(buildWireVectors(), null, 2) + '\n');
  console.log('wrote deals-vectors.json, deals-wire-vectors.json');
}
