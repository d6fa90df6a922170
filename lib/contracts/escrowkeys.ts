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
import { ESCROW_KEY_GAP } from './common';

/** Wallet account holding escrow keys. */
export const ESCROW_ACCOUNT = 'escrow';

/**
 * Create the escrow account if missing. Its BIP44 index is the order of
 * creation, so the node creates it right after the identity account at
 * every start: a wallet restored from the seed gets the same index.
 */
export async function ensureEscrowAccount(wallet: bcoin.Wallet): Promise<void> {
  return ensureAccount(wallet);
}

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

/** A master key as bcoin derives with: the wallet's own, or the one the node holds (NodeAPI#masterKey). */
export type MasterKey = { key: bcoin.HDPrivateKey | null };

/**
 * The private key of one of the wallet's addresses, derived with `master`
 * (so it works while an encrypted wallet is locked), or null. bcoin's
 * Wallet#getPrivateKey throws "No passphrase." then.
 */
export async function privateKeyOf(wallet: bcoin.Wallet, address: bcoin.Address, master: MasterKey): Promise<bcoin.WalletKey | null> {
  const path = await wallet.getPath(address);
  const account = path ? await wallet.getAccount(path.account) : null;
  if (!path || !account)
    return null;
  const key = account.derivePath(path, master);
  return key.privateKey ? key : null;
}

/**
 * The key ring (with private key) of one of our escrow keys, or null. A
 * key the wallet has not derived yet (a restored wallet) is searched up to
 * ESCROW_KEY_GAP past the account's depth, and the depth moved past it, so
 * the key is known from then on and never handed out again. `master` is
 * the node's copy of the master key, so this works while the wallet is
 * locked (the wallet's own is null then).
 */
export async function getEscrowRing(wallet: bcoin.Wallet, publicKey: Buffer,
  master: MasterKey = wallet.master): Promise<bcoin.KeyRing | null> {
  const ring = bcoin.KeyRing.fromPublic(publicKey);
  ring.witness = true;
  let key = await privateKeyOf(wallet, ring.getAddress(), master);
  if (!key && await findEscrowKey(wallet, publicKey, master))
    key = await privateKeyOf(wallet, ring.getAddress(), master);
  if (!key || !key.privateKey)
    return null;
  return bcoin.KeyRing.fromPrivate(key.privateKey, true);
}

/** Find `publicKey` among the escrow account's keys; derive up to it. True if found. */
export async function findEscrowKey(wallet: bcoin.Wallet, publicKey: Buffer,
  master: MasterKey = wallet.master): Promise<boolean> {
  const account = await wallet.getAccount(ESCROW_ACCOUNT);
  if (!account || !master.key)
    return false;
  const end = account.receiveDepth + ESCROW_KEY_GAP;
  for (let i = 0; i < end; i++) {
    if (!account.deriveReceive(i, master).publicKey.equals(publicKey))
      continue;
    // Advance the account past it: the wallet then knows its path.
    while ((await wallet.getAccount(ESCROW_ACCOUNT) as bcoin.Account).receiveDepth <= i)
      await wallet.createReceive(ESCROW_ACCOUNT);
    return true;
  }
  return false;
}

/** True if the wallet holds the private key of `publicKey`. */
export async function ownsEscrowKey(wallet: bcoin.Wallet, publicKey: Buffer): Promise<boolean> {
  const ring = bcoin.KeyRing.fromPublic(publicKey);
  ring.witness = true;
  return (await wallet.getPath(ring.getAddress())) !== null;
}
