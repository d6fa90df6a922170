// Identity signatures: compact, low S, and never throwing on junk.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { Identity, verifyIdentitySig, identityAddress } from '../lib/base/identity';

const N = BigInt('0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141');
const network = bcoin.Network.get('regtest');

t.test('Identity', async (t) => {
  const id = new Identity(bcoin.KeyRing.fromPrivate(Buffer.alloc(32, 7), true), network);
  const hash = Buffer.alloc(32, 1);
  const sig = id.sign(hash);

  t.test('should sign 64-byte low-S signatures that verify', async (t) => {
    t.equal(sig.length, 64);
    t.ok(verifyIdentitySig(hash, sig, id.publicKey));
    t.match(id.address, /^rb1q/);
    t.equal(identityAddress(id.publicKey, network), id.address);
  });

  t.test('should reject the high-S twin of a valid signature (no malleability)', async (t) => {
    const s = BigInt('0x' + sig.subarray(32).toString('hex'));
    const high = Buffer.concat([sig.subarray(0, 32), Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex')]);
    t.notOk(verifyIdentitySig(hash, high, id.publicKey));
  });

  t.test('should return false, never throw, on junk', async (t) => {
    const other = Identity.generate(network);
    const table: Array<[string, Buffer, Buffer, Buffer]> = [
      ['other key', hash, sig, other.publicKey],
      ['short sig', hash, sig.subarray(1), id.publicKey],
      ['short hash', hash.subarray(1), sig, id.publicKey],
      ['bad key', hash, sig, Buffer.alloc(33, 2)],
      ['zero sig', hash, Buffer.alloc(64), id.publicKey]
    ];
    for (const [name, h, s2, pk] of table)
      t.notOk(verifyIdentitySig(h, s2, pk), name);
  });
});
