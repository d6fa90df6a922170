/*!
 * identity.ts - the node's long-lived identity key.
 *
 * The identity is key 0 of a dedicated witness account (`identity`) of the
 * primary wallet, so the wallet seed recovers it. Its P2WPKH address is the
 * public identity; it signs envelopes, contracts and ratings, and pays for
 * rating transactions (a rating is valid only if input 0 spends from it).
 * Escrow keys are separate so escrows do not link to the identity on chain.
 */

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

/** P2WPKH address of an identity public key. */
export function identityAddress(publicKey: Buffer, network: bcoin.Network): string {
  const ring = bcoin.KeyRing.fromPublic(publicKey);
  ring.witness = true;
  return ring.getAddress('string', network);
}
