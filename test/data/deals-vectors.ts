// Generates the pinned vectors of the deals' signed objects (offer,
// receipt) in deals-vectors.json. Deterministic: fixed keys, RFC 6979
// signatures. Regenerate (only when the wire format changes on purpose) with:
//   npx tsx test/data/deals-vectors.ts > test/data/deals-vectors.json
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import { Offer, Receipt } from '../../lib/deals/wire';

export interface DealVector {
  name: string;
  hex: string;
  /** The hash the signature covers. */
  hash: string;
}

function key(byte: number): Identity {
  return new Identity(bcoin.KeyRing.fromPrivate(Buffer.alloc(32, byte), true), bcoin.Network.get('regtest'));
}

export function buildDealObjects(): Array<[string, Offer | Receipt]> {
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

  const receipt = new Receipt();
  receipt.id = Buffer.alloc(32, 0x11);
  receipt.root = Buffer.alloc(32, 0x22);
  receipt.size = 8 << 20;
  receipt.sign(host);
  return [['offer', offer], ['receipt', receipt]];
}

export function buildDealVectors(): DealVector[] {
  return buildDealObjects().map(([name, obj]) => ({
    name, hex: obj.encode().toString('hex'), hash: obj.hash().toString('hex')
  }));
}

if (require.main === module)
  process.stdout.write(JSON.stringify(buildDealVectors(), null, 2) + '\n');
