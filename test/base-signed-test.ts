// The signed-struct base: pinned offer vectors, strict decode, and
// sign/verify for every signed object (offer, request, response,
// announcement, auth).
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import bcoin = require('../lib/bcoin');
import { PacketError } from '../lib/base/errors';
import { createHash, randomBytes } from 'crypto';
import { Identity, verifyIdentityMessage, verifyIdentitySig } from '../lib/base/identity';
import { SignedStruct } from '../lib/base/signed';
import { Offer } from '../lib/deals/wire';
import { AnnouncePacket } from '../lib/negotiator/announcepacket';
import { AuthPacket } from '../lib/negotiator/packets';
import { RequestPacket, ResponsePacket } from '../lib/negotiator/envelope';
import { buildDealObjects, buildDealVectors, type DealVector } from './data/deals-vectors';
import { buildPackets } from './data/negotiator-vectors';

const pinned = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'deals-vectors.json'), 'utf8')) as DealVector[];
const magic = bcoin.Network.get('regtest').magic;
const stranger = Identity.generate(bcoin.Network.get('regtest'));

t.test('SignedStruct', async (t) => {
  t.test('should encode offers as pinned, byte for byte', async (t) => {
    t.same(buildDealVectors(), pinned);
    for (const v of pinned) {
      const raw = Buffer.from(v.hex, 'hex');
      const obj = Offer.decode(raw);
      t.equal(obj.encode().toString('hex'), v.hex, `${v.name} decode(encode())`);
      t.equal(obj.hash().toString('hex'), v.hash, `${v.name} signing hash`);
    }
  });

  t.test('should reject trailing and missing bytes with a PacketError code', async (t) => {
    const objects: Array<[string, SignedStruct]> = [
      ...buildDealObjects(),
      ...buildPackets().filter(([, p]) => p instanceof SignedStruct) as Array<[string, SignedStruct]>
    ];
    t.ok(objects.length >= 5, 'every kind of signed object');
    for (const [name, obj] of objects) {
      const raw = obj.encode();
      const Type = obj.constructor as unknown as { decode(data: Buffer): SignedStruct };
      t.equal(Type.decode(raw).encode().toString('hex'), raw.toString('hex'), `${name} round trip`);
      t.throws(() => Type.decode(Buffer.concat([raw, Buffer.alloc(1)])),
        { name: 'PacketError', code: 'trailing-bytes' }, `${name} + 1 byte`);
      t.throws(() => Type.decode(raw.subarray(0, raw.length - 1)),
        { name: 'PacketError', code: 'truncated' }, `${name} - 1 byte`);
    }
    t.ok(new PacketError('x') instanceof Error);
  });

  t.test('should verify only the signer, over every field', async (t) => {
    for (const [name, obj] of buildDealObjects()) {
      const key = obj.hostKey;
      t.ok(obj.verify(), `${name} verifies`);
      t.same(obj.signerKey(), key);
      obj.sign(stranger);
      t.same(obj.hostKey, stranger.publicKey, 'signing names the signer');
      t.ok(obj.verify(), 'offer re-signed by its new host');
      obj.duration += 1;
      t.notOk(obj.verify(), 'offer: changed duration');
    }
    for (const [name, p] of buildPackets()) {
      if (p instanceof RequestPacket || p instanceof AnnouncePacket) {
        t.ok(p.verify(magic), `${name} verifies`);
        t.notOk(p.verify(magic + 1), `${name}: network magic is signed`);
        t.same(p.signerKey(), p instanceof RequestPacket ? p.from : p.publicKey);
      } else if (p instanceof ResponsePacket) {
        t.notOk(p.verify(magic, stranger.publicKey), `${name}: another server`);
        t.equal(p.signerKey(), null, 'a response names no signer');
      } else if (p instanceof AuthPacket) {
        t.notOk(p.verify(magic, Buffer.alloc(16, 0x5a), stranger.publicKey), `${name}: another identity`);
      }
    }
    const auth = AuthPacket.create(stranger, magic, Buffer.alloc(16, 1));
    t.ok(auth.verify(magic, Buffer.alloc(16, 1), stranger.publicKey), 'auth verifies for its challenge');
    t.notOk(auth.verify(magic, Buffer.alloc(16, 2), stranger.publicKey), 'auth: another challenge');
    t.same(AuthPacket.hash(magic, Buffer.alloc(16, 1), stranger.publicKey),
      auth.signatureHash(Buffer.from([magic & 0xff, (magic >>> 8) & 0xff, (magic >>> 16) & 0xff, magic >>> 24]),
        Buffer.alloc(16, 1), stranger.publicKey));
  });
});

t.test('verifyIdentityMessage', async (t) => {
  t.test('should give bcrypto\'s verdict (SHA256 of the message) on good, broken and hostile input', async (t) => {
    const n = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex');
    const sub = (a: Buffer, b: Buffer): Buffer => {
      const d = BigInt(`0x${a.toString('hex')}`) - BigInt(`0x${b.toString('hex')}`);
      return Buffer.from(d.toString(16).padStart(64, '0'), 'hex');
    };
    const cases: Array<[string, Buffer, Buffer, Buffer]> = [];
    for (let i = 0; i < 40; i++) {
      const id = Identity.generate(bcoin.Network.get('regtest'));
      const msg = randomBytes(1 + (i * 37) % 300);
      const sig = id.sign(createHash('sha256').update(msg).digest());
      cases.push(['valid', msg, sig, id.publicKey]);
      cases.push(['other message', Buffer.concat([msg, Buffer.from([i])]), sig, id.publicKey]);
      cases.push(['other key', msg, sig, stranger.publicKey]);
      const flipped = Buffer.from(sig);
      flipped[i % 64] ^= 1 << (i % 8);
      cases.push(['bit flipped in sig', msg, flipped, id.publicKey]);
      const key = Buffer.from(id.publicKey);
      key[1 + (i % 32)] ^= 1 << (i % 8);
      cases.push(['bit flipped in key (often no point)', msg, sig, key]);
      cases.push(['high S', msg, Buffer.concat([sig.subarray(0, 32), sub(n, sig.subarray(32))]), id.publicKey]);
      cases.push(['r = 0', msg, Buffer.concat([Buffer.alloc(32), sig.subarray(32)]), id.publicKey]);
      cases.push(['s = 0', msg, Buffer.concat([sig.subarray(0, 32), Buffer.alloc(32)]), id.publicKey]);
      cases.push(['r = n', msg, Buffer.concat([n, sig.subarray(32)]), id.publicKey]);
      cases.push(['r past n', msg, Buffer.concat([Buffer.alloc(32, 0xff), sig.subarray(32)]), id.publicKey]);
      cases.push(['random sig', msg, randomBytes(64), id.publicKey]);
      cases.push(['uncompressed prefix', msg, sig, Buffer.concat([Buffer.from([4]), id.publicKey.subarray(1)])]);
      cases.push(['x = p', msg, sig, Buffer.concat([Buffer.from([2]),
        Buffer.from('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f', 'hex')])]);
      cases.push(['short sig', msg, sig.subarray(0, 63), id.publicKey]);
      cases.push(['short key', msg, sig, id.publicKey.subarray(0, 32)]);
    }
    let valid = 0;
    for (const [name, msg, sig, key] of cases) {
      const expected = verifyIdentitySig(createHash('sha256').update(msg).digest(), sig, key);
      if (verifyIdentityMessage(msg, sig, key) !== expected)
        t.fail(`${name}: ${sig.toString('hex')} by ${key.toString('hex')}`);
      if (expected)
        valid += 1;
    }
    t.equal(valid, 40, 'only the valid signatures verify');
  });
});
