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
