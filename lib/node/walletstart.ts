/*!
 * walletstart.ts - the wallet at a node's start: unlocking an encrypted
 * wallet with the passphrase given at start, and waiting for the wallet to
 * catch up with the chain.
 *
 * cloudcoind signs on its own (identity, escrow refunds, revisions, file
 * keys), so an encrypted wallet is unlocked while the extensions open and
 * its master key kept in memory; CloudNode locks the wallet again after.
 */

import bcoin = require('../bcoin');
import { WalletLockedError } from '../base/errors';
import { passphraseOpens } from './walletpassphrase';

/** How long the wallet may stay unlocked while the extensions open (it is locked right after). */
const START_UNLOCK_SECONDS = 3600;

/** Where an encrypted wallet's passphrase comes from, for error lines. */
export const PASSPHRASE_HINT = 'cloudcoind signs contracts and envelopes on its own, so it needs the passphrase at start: '
  + 'wallet-passphrase-file=FILE in cloudcoin.conf, --wallet-passphrase-file FILE or CLOUDCOIN_WALLET_PASSPHRASE';

/**
 * Whether the passphrase given at start opens an encrypted wallet.
 * @returns false for a wallet that needs none (in the clear, or unlocked)
 * @throws WalletLockedError with no passphrase, or a wrong one
 */
async function needsPassphrase(wallet: bcoin.Wallet, passphrase: string | undefined): Promise<boolean> {
  if (!wallet.master.encrypted || wallet.master.key)
    return false;
  if (!passphrase)
    throw new WalletLockedError(`the wallet is encrypted: ${PASSPHRASE_HINT}`);
  // bcoin's own check (the AES padding) lets 1 wrong passphrase in 256
  // through, and the node would then sign with keys that are not the
  // wallet's: check the key itself first (walletpassphrase.ts).
  if (!await passphraseOpens(wallet, passphrase))
    throw new WalletLockedError('the wallet passphrase given at start is wrong');
  return true;
}

/**
 * Unlock an encrypted wallet with the passphrase given at start.
 * @returns true if it was unlocked here (and must be locked again)
 * @throws WalletLockedError with no passphrase, or a wrong one
 */
export async function unlockForStart(wallet: bcoin.Wallet, passphrase: string | undefined): Promise<boolean> {
  if (!await needsPassphrase(wallet, passphrase))
    return false;
  await wallet.unlock(passphrase as string, START_UNLOCK_SECONDS);
  return true;
}

/**
 * Check the passphrase given at start as soon as the wallet database is
 * open: before the wallet connects to the chain (its scan and the
 * rebroadcast of its transactions) and so before bcoin's node opens its
 * RPC port, which comes after its plugins. A refused start then never
 * listens nor sends anything, and has nothing in flight when it exits.
 * The wallet record is read as `ensure` reads it later (a fresh datadir
 * has none yet: nothing to check).
 */
export function checkPassphraseFirst(wdb: bcoin.WalletDB, passphrase: string | undefined): void {
  const connect = wdb.connect.bind(wdb);
  wdb.connect = async () => {
    const wallet = await wdb.get('primary');
    if (wallet)
      await needsPassphrase(wallet, passphrase);
    return connect();
  };
}

/**
 * Resolves true when the wallet has caught up with the chain tip as it is
 * now, false after `timeoutMs` (bitcoind's BlockUntilSyncedToCurrentChain,
 * bounded). bcoin's wallet moves its tip before it adds the block's txs,
 * so also wait for its tx lock: only then are balances and coins complete.
 */
export async function waitWalletSynced(wdb: bcoin.WalletDB, chain: bcoin.Chain, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const target = chain.height;
  while (wdb.state.height < target) {
    if (Date.now() >= deadline)
      return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  const idle = wdb.txLock.lock().then((unlock) => {
    unlock();
    return true;
  });
  try {
    return await Promise.race([idle, late]);
  } finally {
    clearTimeout(timer);
  }
}
