/*!
 * identity.ts - the node's long-lived identity key.
 *
 * The identity is key 0 of a dedicated witness account (`identity`) of the
 * primary wallet, so the wallet seed recovers it. Its P2WPKH address is the
 * public identity; it signs envelopes, contracts and ratings, and pays for
 * rating transactions (a rating is valid only if input 0 spends from it).
 * Escrow keys are separate so escrows do not link to the identity on chain.
 */

import { createHash, createPublicKey, verify as opensslVerify, type KeyObject } from 'crypto';
import bcoin = require('../bcoin');
import secp256k1 = require('bcrypto/lib/secp256k1');

/** Name of the wallet account holding the identity key. */
export const IDENTITY_ACCOUNT = 'identity';

/** The signing side of an identity; also used with throwaway keys in tests. */
export class Identity {
  readonly ring: bcoin.KeyRing;
  readonly publicKey: Buffer;
  readonly network: bcoin.Network;

  constructor(ring: bcoin.KeyRing, network: bcoin.Network) {
    ring.witness = true;
    this.ring = ring;
    this.publicKey = ring.publicKey;
    this.network = network;
  }

  /** P2WPKH address string: the public identity. */
  get address(): string {
    return this.ring.getAddress('string', this.network);
  }

  /** 64-byte compact (r || s, low S) signature over a 32-byte hash. */
  sign(hash: Buffer): Buffer {
    return secp256k1.sign(hash, this.ring.privateKey);
  }

  /** ECDH shared secret with another identity (compressed point). */
  sharedSecret(publicKey: Buffer): Buffer {
    return secp256k1.ecdh(publicKey, this.ring.privateKey, true);
  }

  /** A fresh random identity (tests, throwaway clients). */
  static generate(network: bcoin.Network): Identity {
    return new Identity(bcoin.KeyRing.generate(true), network);
  }

  /**
   * Load (creating on first run) the identity of a wallet.
   * @param master the master key to derive with (default the wallet's own,
   *   null while it is locked; the node passes the one it holds)
   */
  static async fromWallet(wallet: bcoin.Wallet, network: bcoin.Network,
    master: { key: bcoin.HDPrivateKey | null } = wallet.master): Promise<Identity> {
    let account = await wallet.getAccount(IDENTITY_ACCOUNT);
    if (!account)
      account = await wallet.createAccount({ name: IDENTITY_ACCOUNT, witness: true });
    const key = account.deriveReceive(0, master);
    if (!key.privateKey)
      throw new Error('Identity key unavailable: the wallet is watch-only or locked.');
    return new Identity(bcoin.KeyRing.fromPrivate(key.privateKey, true), network);
  }
}

/** Verify a compact (r || s, low S) signature by an identity key; never throws. */
export function verifyIdentitySig(hash: Buffer, sig: Buffer, publicKey: Buffer): boolean {
  if (hash.length !== 32 || sig.length !== 64 || publicKey.length !== 33)
    return false;
  // [REJECT] high S: bcrypto's verify normalises S, which would make every
  // signature malleable; PROTOCOL §1 requires low S.
  if (!secp256k1.isLowS(sig))
    return false;
  try {
    return secp256k1.verify(hash, sig, publicKey);
  } catch {
    return false;
  }
}

/** DER SubjectPublicKeyInfo header of a compressed secp256k1 key (RFC 5480: id-ecPublicKey, secp256k1). */
const SPKI_SECP256K1 = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex');

/** Parsed keys by hex; cleared when full (a peer can name any number of keys). */
const KEY_CACHE_SIZE = 4096;
const keyCache = new Map<string, KeyObject | null>();

/** The compressed key as an OpenSSL key object, or null if it is no point on the curve. */
function opensslKey(publicKey: Buffer): KeyObject | null {
  const hex = publicKey.toString('hex');
  let key = keyCache.get(hex);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_SECP256K1, publicKey]), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
    if (keyCache.size >= KEY_CACHE_SIZE)
      keyCache.clear();
    keyCache.set(hex, key);
  }
  return key;
}

/**
 * True when Node's OpenSSL knows secp256k1 (it does in Node's own builds
 * and Debian's): checked once with the curve's generator.
 */
const HAVE_OPENSSL_SECP256K1 = (() => {
  try {
    createPublicKey({ key: Buffer.concat([SPKI_SECP256K1,
      Buffer.from('0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798', 'hex')]), format: 'der', type: 'spki' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * `verifyIdentitySig(SHA256(message), sig, publicKey)`, the same verdict
 * for every input, computed by Node's OpenSSL when it has secp256k1:
 * about 7 times less CPU than bcrypto 0.3.7's JavaScript backend
 * (docs/STRESS.md), which matters where peers send signed packets at
 * will (auth, requests, announcements). A tagged hash is one SHA256 over
 * its preimage (lib/base/hash.ts signingPreimage), so signed objects
 * verify this way. Never throws.
 */
export function verifyIdentityMessage(message: Buffer, sig: Buffer, publicKey: Buffer): boolean {
  if (!HAVE_OPENSSL_SECP256K1)
    return verifyIdentitySig(createHash('sha256').update(message).digest(), sig, publicKey);
  // Only compressed keys (0x02/0x03 || x) are identities.
  if (sig.length !== 64 || publicKey.length !== 33 || (publicKey[0] !== 2 && publicKey[0] !== 3))
    return false;
  // [REJECT] high S (PROTOCOL §1); OpenSSL checks 0 < r, s < n itself.
  if (!secp256k1.isLowS(sig))
    return false;
  const key = opensslKey(publicKey);
  if (!key)
    return false;
  try {
    return opensslVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

/** P2WPKH address of an identity public key. */
export function identityAddress(publicKey: Buffer, network: bcoin.Network): string {
  const ring = bcoin.KeyRing.fromPublic(publicKey);
  ring.witness = true;
  return ring.getAddress('string', network);
}
