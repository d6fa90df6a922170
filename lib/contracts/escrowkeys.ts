/*!
 * escrowkeys.ts - escrow keys: one HD key per contract, per party.
 *
 * Escrow keys come from a dedicated witness account (`escrow`) of the
 * primary wallet, never from the identity account, so escrows on chain do
 * not link to identities, and the seed recovers every key. The wallet knows
 * each key's P2WPKH address, which is how a public key maps back to its
 * private key later (refunds, channel states).
 */

import bcoin = require('../bcoin');

/** Wallet account holding escrow keys. */
export const ESCROW_ACCOUNT = 'escrow';

async function ensureAccount(wallet: bcoin.Wallet): Promise<void> {
  if (await wallet.hasAccount(ESCROW_ACCOUNT))
    return;
  try {
    await wallet.createAccount({ name: ESCROW_ACCOUNT, witness: true });
  } catch (e) {
    // Another caller created it between the check and here.
    if (!(await wallet.hasAccount(ESCROW_ACCOUNT)))
      throw e;
  }
}

/** A fresh escrow public key (33 B) for a new contract. */
export async function createEscrowKey(wallet: bcoin.Wallet): Promise<Buffer> {
  await ensureAccount(wallet);
  const key = await wallet.createReceive(ESCROW_ACCOUNT);
  return key.publicKey;
}

/** The key ring (with private key) of one of our escrow keys, or null. */
export async function getEscrowRing(wallet: bcoin.Wallet, publicKey: Buffer): Promise<bcoin.KeyRing | null> {
  const ring = bcoin.KeyRing.fromPublic(publicKey);
  ring.witness = true;
  const key = await wallet.getPrivateKey(ring.getAddress());
  if (!key || !key.privateKey)
    return null;
  return bcoin.KeyRing.fromPrivate(key.privateKey, true);
}

/** True if the wallet holds the private key of `publicKey`. */
export async function ownsEscrowKey(wallet: bcoin.Wallet, publicKey: Buffer): Promise<boolean> {
  const ring = bcoin.KeyRing.fromPublic(publicKey);
  ring.witness = true;
  return (await wallet.getPath(ring.getAddress())) !== null;
}
