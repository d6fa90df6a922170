/*!
 * walletseed.ts - back up and restore the wallet seed (BIP39 mnemonic).
 *
 * Everything CloudCoin keeps of value derives from the primary wallet's
 * seed: coins, the identity key, every escrow key, file keys. Back it up
 * with `dumpmnemonic "file"` (written 0600, never printed, as bitcoind's
 * `dumpwallet` writes keys to a file) and restore it into a new datadir
 * with `cloudcoind --restore-mnemonic-file FILE`: the primary wallet is
 * created from it, and the wallet rescans as the chain syncs. A phrase is
 * never taken on the command line, where /proc/PID/cmdline shows it.
 */

import * as fs from 'fs';
import bcoin = require('../bcoin');
import { RPCError, UNLOCK_NEEDED, rpcCodes } from '../base/errors';
import { positionLabel, strParam } from '../base/rpc';
import { newServerPath, writeNewFile } from './rpcfiles';

/** Read and check a mnemonic file; throws Error with one line on a bad one. */
export function readMnemonicFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read mnemonic file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const phrase = text.trim().split(/\s+/).join(' ');
  // bcoin's Mnemonic takes an empty phrase as "make a new one": a blank
  // file would start a new random wallet in place of the restore.
  if (phrase === '')
    throw new Error(`${file} holds no words: a restore needs the wallet's seed phrase (12 to 24 English words)`);
  try {
    new bcoin.Mnemonic(phrase).toSeed();
  } catch {
    throw new Error(`${file} does not hold a valid BIP39 mnemonic (12 to 24 English words with a checksum)`);
  }
  return phrase;
}

/**
 * Make bcoin's walletdb create the primary wallet from `phrase` on its
 * first open. bcoin 1.0.2 creates it inside WalletDB#open with only an id,
 * so the options are added there. An existing primary wallet made from
 * the same phrase is kept: that is a retry of a restore whose first start
 * failed after the wallet was written (a port in use, say), and the wallet
 * catches up with the chain as on any start. Any other wallet is refused
 * (a restore goes into a new datadir: a seed cannot replace another).
 */
export function restorePrimaryFrom(wdb: bcoin.WalletDB, phrase: string): void {
  if (phrase.trim() === '')
    throw new Error('a restore needs the wallet\'s seed phrase: the phrase is empty');
  const ensure = wdb.ensure.bind(wdb);
  wdb.ensure = async (options: { id?: string }) => {
    if (options.id !== 'primary')
      return ensure(options);
    const existing = await wdb.get('primary');
    if (existing) {
      if (sameMnemonic(existing, phrase))
        return existing;
      throw new Error('this datadir already has a wallet: restore into a new datadir');
    }
    return ensure({ ...options, mnemonic: phrase });
  };
}

/** True when `wallet` is unencrypted and was made from `phrase`. */
function sameMnemonic(wallet: bcoin.Wallet, phrase: string): boolean {
  const master = wallet.master;
  return !master.encrypted && !!master.mnemonic && master.mnemonic.getPhrase() === phrase;
}

/**
 * `dumpmnemonic "filename"`: write the primary wallet's mnemonic to a new
 * file (0600) at an absolute path, never over an existing one (rpcfiles.ts:
 * bitcoind's dumpwallet rule); `file` null: no or extra params.
 * @returns the absolute path written, as bitcoind's dumpwallet answers
 */
export async function dumpMnemonic(wdb: bcoin.WalletDB, file: unknown): Promise<{ filename: string }> {
  if (file === null)
    throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Usage: dumpmnemonic "filename"');
  const label = positionLabel(0, 'filename');
  strParam(file, label);
  const master = wdb.primary.master;
  // As bitcoind's dumpwallet (EnsureWalletIsUnlocked): an encrypted wallet
  // gives its seed once unlocked. bcoin keeps the phrase in memory after a
  // lock, so the key, not the phrase, says whether it is unlocked.
  if (master.encrypted && !master.key)
    throw new RPCError(rpcCodes.WALLET_UNLOCK_NEEDED, UNLOCK_NEEDED);
  if (!master.mnemonic)
    throw new RPCError(rpcCodes.WALLET_ERROR, 'This wallet has no mnemonic (made from a raw key).');
  const target = newServerPath(file, label);
  writeNewFile(target, `${master.mnemonic.getPhrase()}\n`);
  return { filename: target };
}
