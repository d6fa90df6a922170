/*!
 * walletpassphrase.ts - whether a passphrase opens an encrypted wallet,
 * checked against the wallet's own public key rather than AES padding.
 *
 * bcoin 1.0.2's MasterKey finds a wrong passphrase only by the PKCS#7
 * padding of the decrypted key (bcrypto's "Bad key for decryption."). A
 * wrong key leaves valid padding when the last plaintext byte comes out
 * 0x01, about 1 time in 256, and bcoin then takes 64 random bytes as the
 * master key: walletpassphrase "unlocks" a wallet that signs garbage,
 * cloudcoind starts with keys that are not the wallet's, and
 * walletpassphrasechange writes the garbage key under the new passphrase
 * in place of the real one (the coins are then reachable only from the
 * seed words). bitcoind does not trust the padding either: it decrypts a
 * key with the candidate master key and checks it against its public key
 * (CWallet::Unlock -> CCryptoKeyStore::Unlock, DecryptKey's VerifyPubKey).
 */

import bcoin = require('../bcoin');

/** What the check needs of bcoin's MasterKey beyond the typed fields: an encrypted copy to open. */
interface MasterKeyRaw {
  encrypted: boolean;
  toRaw(): Buffer;
  constructor: { fromRaw(raw: Buffer): MasterKeyProbe };
}

/** A copy of the encrypted master key (bcoin MasterKey). */
interface MasterKeyProbe {
  key: bcoin.HDPrivateKey | null;
  unlock(passphrase: string, timeout: number): Promise<unknown>;
  lock(): Promise<void>;
}

/**
 * Whether `passphrase` opens `wallet`'s encrypted master key: it is
 * decrypted on a copy (the wallet's own key, locked or unlocked, is not
 * touched), and its first receive key must equal the one the wallet's
 * account 0 derives from its public account key (the wallet record holds
 * it in the clear). A wallet that is not encrypted has no passphrase: false.
 * @throws nothing: a passphrase that fails to decrypt is just wrong
 */
export async function passphraseOpens(wallet: bcoin.Wallet, passphrase: string): Promise<boolean> {
  const master = wallet.master as unknown as MasterKeyRaw;
  if (!master.encrypted || passphrase.length === 0)
    return false;
  const account = await wallet.getAccount(0);
  if (!account)
    return false;
  const probe = master.constructor.fromRaw(master.toRaw());
  try {
    await probe.unlock(passphrase, 1);
    const key = probe.key;
    if (!key)
      return false;
    const opened = account.deriveReceive(0, { key });
    return opened.publicKey.equals(account.deriveReceive(0).publicKey);
  } catch {
    // The padding check, or a 64-byte garbage key that is no secp256k1
    // scalar or whose mnemonic flag reads on into junk.
    return false;
  } finally {
    await probe.lock();
  }
}

/** What the change needs of bcoin's MasterKey: its ciphertext and, while unlocked, its AES key. */
interface MasterKeyState extends MasterKeyRaw {
  key: unknown;
  iv: Buffer | null;
  ciphertext: Buffer | null;
  aesKey: Buffer | null;
  constructor: { fromRaw(raw: Buffer): MasterKeyProbe & MasterKeyCipher };
}

/** A copy of the master key decrypted and encrypted again in memory (bcoin MasterKey). */
interface MasterKeyCipher {
  iv: Buffer | null;
  ciphertext: Buffer | null;
  decrypt(passphrase: string, clean: true): Promise<Buffer>;
  encrypt(passphrase: string, clean: true): Promise<Buffer>;
}

/** bcoin's wallet database beyond the typed fields: batches and range iteration. */
interface WalletBatchDB {
  batch(): { put(key: Buffer, value: Buffer): void; write(): Promise<void> };
  iterator(options: { gte: Buffer; lte: Buffer; values: true }): { each(cb: (key: Buffer, value: Buffer) => void): Promise<void> };
}

/** An imported key's record (bcoin/lib/wallet/path.js): its private key AES-encrypted under the master's AES key. */
interface ImportedPath {
  data: Buffer | null;
  encrypted: boolean;
  toRaw(): Buffer;
}

const pathLayout = (require('bcoin/lib/wallet/layout') as {
  wdb: { P: { min(wid: number): Buffer; max(wid: number): Buffer; parse(key: Buffer): [number, string] } };
}).wdb.P;
const Path = require('bcoin/lib/wallet/path') as { fromRaw(raw: Buffer): ImportedPath };
const aes = require('bcrypto/lib/aes') as {
  encipher(data: Buffer, key: Buffer, iv: Buffer): Buffer;
  decipher(data: Buffer, key: Buffer, iv: Buffer): Buffer;
};

/**
 * walletpassphrasechange in one database write. bcoin's own change
 * (Wallet#setPassphrase) decrypts the wallet for good in one write and
 * encrypts it again in a second: a crash between the two left the wallet
 * in the clear on disk, and the next start opened it without a
 * passphrase. Here the master key is re-encrypted on a copy, the imported
 * keys are re-encrypted from the old AES key to the new one, and the
 * wallet record and those keys go to disk in one leveldb batch, as
 * bitcoind rewrites only its encrypted master key record
 * (CWallet::ChangeWalletPassphrase). A crash leaves the old passphrase or
 * the new one, never neither. The wallet stays locked or unlocked as it
 * was.
 * @returns false for a wrong old passphrase (nothing is written)
 */
export async function changePassphrase(wallet: bcoin.Wallet, oldPassphrase: string, newPassphrase: string): Promise<boolean> {
  const unlock = await wallet.writeLock.lock();
  try {
    if (!await passphraseOpens(wallet, oldPassphrase))
      return false;
    const master = wallet.master as unknown as MasterKeyState;
    const copy = master.constructor.fromRaw(master.toRaw());
    const oldKey = await copy.decrypt(oldPassphrase, true);
    const newKey = await copy.encrypt(newPassphrase, true);
    const wdb = (wallet as unknown as { wdb: { db: WalletBatchDB } }).wdb;
    const b = wdb.db.batch();
    await wdb.db.iterator({ gte: pathLayout.min(wallet.wid), lte: pathLayout.max(wallet.wid), values: true })
      .each((key, value) => {
        const imported = Path.fromRaw(value);
        if (!imported.data || !imported.encrypted)
          return;
        // bcoin's IV for an imported key: the first 16 bytes of its hash (WalletDB#encryptKeys).
        const iv = Buffer.from(pathLayout.parse(key)[1], 'hex').subarray(0, 16);
        imported.data = aes.encipher(aes.decipher(imported.data, oldKey, iv), newKey, iv);
        b.put(key, imported.toRaw());
      });
    oldKey.fill(0);
    // The record is serialized with the new ciphertext; the wallet in
    // memory takes it only once the write is done, so a failed write
    // leaves the old passphrase in force on disk and in memory alike.
    const before = { iv: master.iv, ciphertext: master.ciphertext };
    master.iv = copy.iv;
    master.ciphertext = copy.ciphertext;
    (wallet as unknown as { save(b: unknown): void }).save(b);
    master.iv = before.iv;
    master.ciphertext = before.ciphertext;
    try {
      await b.write();
    } catch (e) {
      newKey.fill(0);
      throw e;
    }
    master.iv = copy.iv;
    master.ciphertext = copy.ciphertext;
    if (master.aesKey) {
      master.aesKey.fill(0);
      master.aesKey = newKey;
    } else {
      newKey.fill(0);
    }
    return true;
  } finally {
    unlock();
  }
}

/** bitcoind's cap on walletpassphrase's timeout (MAX_SLEEP_TIME, src/wallet/rpc/encrypt.cpp): 100000000 s, about 3 years. */
export const MAX_UNLOCK_SECONDS = 100_000_000;

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days): a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Longest unlock bcoin's own relock timer handles (s). */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** bcoin's MasterKey relock state. */
interface RelockTimer {
  timer: NodeJS.Timeout | null;
  until: number;
  stop(): void;
  lock(): Promise<void>;
}

/**
 * Keep an unlocked wallet unlocked for `seconds` from now, past what a
 * Node timer can wait: bcoin's MasterKey arms one setTimeout for the whole
 * unlock, which fires at once beyond 24.8 days (walletpassphrase answered
 * success and the wallet was locked). The timer here re-arms in steps
 * until the end; walletlock and a new walletpassphrase clear it as they
 * clear bcoin's (MasterKey#stop clears `timer`).
 */
export function keepUnlocked(wallet: bcoin.Wallet, seconds: number): void {
  const master = wallet.master as unknown as RelockTimer;
  master.stop();
  const endMs = Date.now() + seconds * 1000;
  master.until = Math.floor(endMs / 1000);
  const arm = (): void => {
    const left = endMs - Date.now();
    if (left <= 0) {
      master.timer = null;
      master.until = 0;
      void master.lock();
      return;
    }
    master.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    master.timer.unref();
  };
  arm();
}

/** bcoin's MasterKey prototype, for the one unlock fix below. */
interface MasterKeyProto {
  _unlock(this: { key: unknown }, passphrase: unknown, timeout?: number): Promise<unknown>;
  ccUnlockFixed?: boolean;
}

/**
 * Stop bcoin from resetting an unlocked wallet's relock timer. Every
 * signing call (sendtoaddress, dumpprivkey, a put's new contract) goes
 * through Wallet#unlock with no timeout, and MasterKey#_unlock then
 * restarts the timer at its 60 s default: a 3000 s unlock ended 60 s after
 * the next send, and a 5 s one stayed open 60 s. bitcoind keeps the
 * timeout walletpassphrase set; so do we: an unlocked key is returned as
 * it is, and walletpassphrase sets the timer itself (setUnlockTimeout).
 * Idempotent; it patches the class, so every wallet of the process.
 */
export function keepUnlockTimeouts(): void {
  const proto = (require('bcoin/lib/wallet/masterkey') as { prototype: MasterKeyProto }).prototype;
  if (proto.ccUnlockFixed)
    return;
  const unlock = proto._unlock;
  proto._unlock = function unlockKeepingTimer(passphrase, timeout) {
    if (this.key)
      return Promise.resolve(this.key);
    return unlock.call(this, passphrase, timeout);
  };
  proto.ccUnlockFixed = true;
}

/**
 * (Re)arm the relock timer of an unlocked wallet for `seconds` from now,
 * as walletpassphrase does in bitcoind (a second walletpassphrase sets a
 * new timeout). Past a Node timer's reach, keepUnlocked steps.
 */
export function setUnlockTimeout(wallet: bcoin.Wallet, seconds: number): void {
  if (seconds > MAX_TIMER_SECONDS) {
    keepUnlocked(wallet, seconds);
    return;
  }
  (wallet.master as unknown as { start(seconds: number): void }).start(seconds);
}
