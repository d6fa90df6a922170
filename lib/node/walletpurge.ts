/*!
 * walletpurge.ts - after encryptwallet or walletpassphrasechange, make sure
 * no older copy of the wallet's key (in the clear, or under the old
 * passphrase) is left in the wallet's leveldb files.
 *
 * leveldb keeps an overwritten value until a compaction merges it with the
 * newer one, and it keeps a table file on disk while any open iterator or
 * snapshot still reads it: on a busy node (the wallet scans a block while
 * the RPC runs) one manual compaction is not enough. The purge writes the
 * record again, compacts, then reads the files themselves for the old
 * secret, and goes again while they hold it. Bitcoin Core rewrites its
 * wallet file after encryptwallet for the same reason
 * (src/wallet/rpc/encrypt.cpp: "rewrite the wallet to remove the old
 * unencrypted keys").
 */

import * as fs from 'fs';
import * as path from 'path';
import bcoin = require('../bcoin');

/** Compaction rounds before the purge gives up (each waits a little longer for open iterators to close). */
export const PURGE_ROUNDS = 8;
/** The wait after the first round that left a secret, in ms; doubled each round (bounded: 8 rounds wait 12.7 s in all). */
const FIRST_WAIT_MS = 100;
/** After a purge gave up, it is tried again in the background this often (ms), up to LATER_TRIES times (1 hour). */
export const LATER_EVERY_MS = 10000;
const LATER_TRIES = 360;

/** bcoin's wallet record key, `w[wid] -> wallet` (bcoin/lib/wallet/layout.js): 'w' and the wid, big-endian. */
function walletRecordKey(wid: number): Buffer {
  const key = Buffer.alloc(5);
  key[0] = 0x77;
  key.writeUInt32BE(wid, 1);
  return key;
}

/**
 * The secrets a clear master key leaves in the files, to look for after
 * the purge: the master private key and the mnemonic's entropy (both
 * random, so leveldb's snappy stores them as they are). Empty for an
 * encrypted wallet: its ciphertext is what changes then (ciphertextOf).
 */
export function clearSecrets(wallet: bcoin.Wallet): Buffer[] {
  const { key, mnemonic, encrypted } = wallet.master;
  if (encrypted || !key)
    return [];
  const out = [Buffer.from(key.privateKey)];
  if (mnemonic)
    out.push(Buffer.from(mnemonic.getEntropy()));
  return out;
}

/** The encrypted master key's ciphertext as stored (empty for a clear wallet). */
export function ciphertextOf(wallet: bcoin.Wallet): Buffer[] {
  const c = wallet.master.ciphertext;
  return wallet.master.encrypted && c ? [Buffer.from(c)] : [];
}

/** Whether any leveldb file (tables and logs) in `dir` holds one of `secrets`; false for a memory database. */
export async function filesHold(dir: string | null, secrets: Buffer[]): Promise<boolean> {
  if (!dir || secrets.length === 0)
    return false;
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return false;
  }
  for (const name of names) {
    if (!/\.(ldb|sst|log)$/.test(name))
      continue;
    let data: Buffer;
    try {
      data = await fs.promises.readFile(path.join(dir, name));
    } catch {
      continue; // removed by a compaction meanwhile
    }
    if (secrets.some((s) => data.includes(s)))
      return true;
  }
  return false;
}

/**
 * Drop every older version of the wallet record from the database files
 * until none of them holds one of `secrets`: rewrite the record (a newer
 * copy above every older one), compact the whole range, look. Resolves
 * true once the files are free of them, false after PURGE_ROUNDS rounds
 * (the caller warns: leveldb merges them at a later compaction).
 */
export async function purgeOldKeys(wdb: bcoin.WalletDB, wallet: bcoin.Wallet, secrets: Buffer[]): Promise<boolean> {
  const dir = wdb.options.memory ? null : wdb.options.location;
  let wait = FIRST_WAIT_MS;
  for (let round = 0; round < PURGE_ROUNDS; round++) {
    // The first compaction moves the memtable (old and new record together)
    // into a table; the rewrite and the second merge them, keeping the newest.
    await wdb.db.compactRange();
    const unlock = await wallet.writeLock.lock();
    try {
      const key = walletRecordKey(wallet.wid);
      const raw = await wdb.db.get(key);
      if (raw)
        await wdb.db.put(key, raw);
    } finally {
      unlock();
    }
    await wdb.db.compactRange();
    if (!await filesHold(dir, secrets))
      return true;
    // An iterator open during the compaction kept the old table: let it close.
    await new Promise((r) => setTimeout(r, wait));
    wait *= 2;
  }
  return false;
}

/**
 * Keep purging in the background after purgeOldKeys gave up (a read held
 * the files through all its rounds): every LATER_EVERY_MS, until the files
 * are free of `secrets` (`done(true)`), the database closes or an hour
 * passes (`done(false)`). The timers do not keep the process alive.
 */
export function purgeLater(wdb: bcoin.WalletDB, wallet: bcoin.Wallet, secrets: Buffer[], done: (purged: boolean) => void): void {
  let tries = 0;
  const attempt = async () => {
    let purged = false;
    try {
      purged = await purgeOldKeys(wdb, wallet, secrets);
    } catch {
      done(false); // the database closed: the node is stopping
      return;
    }
    if (purged)
      done(true);
    else if (++tries >= LATER_TRIES)
      done(false);
    else
      setTimeout(attempt, LATER_EVERY_MS).unref();
  };
  setTimeout(attempt, LATER_EVERY_MS).unref();
}
