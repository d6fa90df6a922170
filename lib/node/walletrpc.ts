/*!
 * walletrpc.ts - bcoin 1.0.2's wallet and message RPCs made to behave as
 * bitcoind's on cloudcoind's one endpoint.
 *
 * - getnewaddress/getrawchangeaddress without an account mean "default"
 *   (bcoin reads the omitted name as null, which no account matches);
 * - getwalletinfo shows unlocked_until only for an encrypted wallet;
 * - signmessage, verifymessage and signmessagewithprivkey use Bitcoin
 *   Core's message format (message.ts): bcoin's verify fails about half of
 *   its own signatures;
 * - a wallet method that needs the locked wallet's key answers -13 with
 *   bitcoind's message (bcoin throws a bare "No passphrase."), a wrong
 *   passphrase -14, and encryptwallet says what cloudcoind needs next;
 * - dumpwallet and backupwallet write only to a new absolute path and
 *   answer in one line why they cannot (rpcfiles.ts).
 */

import * as fs from 'fs';
import bcoin = require('../bcoin');
import { RPCError, UNLOCK_NEEDED, rpcCodes } from '../base/errors';
import { positionLabel, usageNames } from '../base/rpc';
import { keyTypeOf, signMessage, verifyMessage } from './message';
import { MAX_TIMER_SECONDS, MAX_UNLOCK_SECONDS, changePassphrase, keepUnlockTimeouts, passphraseOpens, setUnlockTimeout } from './walletpassphrase';
import { fixWalletTxRPC } from './wallettxrpc';
import { ciphertextOf, clearSecrets, purgeLater, purgeOldKeys } from './walletpurge';
import { guardWalletRPC, parseWIF } from './walletguards';
import { claimNewFile, claimNewFolder, dropNewFile, finishNewFile, finishNewFolder, newServerPath } from './rpcfiles';

/** Wallet methods that need the private keys, checked for the lock first as bitcoind does. */
const UNLOCK_FIRST = ['sendtoaddress', 'sendmany', 'sendfrom', 'dumpprivkey', 'dumpwallet'];

/** bitcoind's answer to an empty passphrase (RPC -8, src/wallet/rpc/encrypt.cpp). */
const EMPTY_PASSPHRASE = 'The passphrase cannot be empty.';
/** bitcoind's answer to a wrong passphrase (RPC -14). */
export const PASSPHRASE_INCORRECT = 'Error: The wallet passphrase entered was incorrect.';

type Handler = bcoin.RPCHandler;

function usage(text: string): RPCError {
  return new RPCError(rpcCodes.MISC_ERROR, text);
}

function strings(args: unknown, count: number, help: boolean, text: string): string[] {
  if (help || !Array.isArray(args) || args.length !== count)
    throw usage(text);
  const names = usageNames(text);
  args.forEach((a, i) => {
    if (typeof a !== 'string')
      throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(i, names[i])} must be a string.`);
  });
  return args as string[];
}

function parseAddress(text: string, network: bcoin.Network): bcoin.Address {
  try {
    return bcoin.Address.fromString(text, network);
  } catch {
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Invalid address');
  }
}

const SIGNMESSAGE = 'signmessage "address" "message"\n'
  + 'Sign a message with the private key of a wallet address (Bitcoin Core\'s format: base64 of 65 bytes).';
const VERIFYMESSAGE = 'verifymessage "address" "signature" "message"\n'
  + 'True if the signature (base64, from signmessage) signs the message for the address.';
const SIGNWITHPRIVKEY = 'signmessagewithprivkey "privkey" "message"\n'
  + 'Sign a message with a WIF private key (Bitcoin Core\'s format).';

const ENCRYPTWALLET = 'encryptwallet "passphrase"\n'
  + 'Encrypt the wallet\'s keys with a passphrase. cloudcoind keeps its own keys (identity, escrows, file keys) in memory\n'
  + 'and asks for the passphrase at every start (wallet-passphrase-file= in cloudcoin.conf or CLOUDCOIN_WALLET_PASSPHRASE);\n'
  + 'spending then needs walletpassphrase.';
const WALLETPASSPHRASE = 'walletpassphrase "passphrase" timeout\nUnlock the wallet for spending for timeout seconds.';
const DUMPWALLET = 'dumpwallet "filename"\n'
  + 'Write every wallet key (WIF) to a new server-side file (an absolute path: cloudcoind writes it), readable by its owner only; '
  + 'never overwrites a file. Answers the path.';
const BACKUPWALLET = 'backupwallet "destination"\n'
  + 'Copy the wallet database to a new folder (an absolute path: cloudcoind writes it); never overwrites or writes into an existing one.';
const WALLETPASSPHRASECHANGE = 'walletpassphrasechange "oldpassphrase" "newpassphrase"\n'
  + 'Change the passphrase (and the one cloudcoind is given at start).';

/** `call` with bitcoind's answers to a locked wallet and a wrong passphrase. */
function withWalletErrors(call: Handler, wrongPassphrase: boolean): Handler {
  return async function walletErrors(this: unknown, args, help) {
    try {
      return await call.call(this, args, help);
    } catch (e) {
      if (e instanceof Error && e.message === 'No passphrase.')
        throw new RPCError(rpcCodes.WALLET_UNLOCK_NEEDED, UNLOCK_NEEDED);
      // bcoin's coin selector; bitcoind answers -6.
      if (e instanceof Error && /^Not enough funds/.test(e.message))
        throw new RPCError(rpcCodes.WALLET_INSUFFICIENT_FUNDS, e.message);
      // bcoin's AES check on a wrong passphrase (bcrypto's PKCS#7 unpadding).
      if (wrongPassphrase && e instanceof Error && e.message === 'Bad key for decryption.')
        throw new RPCError(rpcCodes.WALLET_PASSPHRASE_INCORRECT, PASSPHRASE_INCORRECT);
      throw e;
    }
  };
}

/**
 * The dust threshold of an output to `address` in sat (bcoin's wallet
 * refuses a smaller one: policy, 3 x the fee of spending it at the
 * minimum relay fee), or null for a string that is no address here.
 */
export function dustLimit(address: unknown, network: bcoin.Network): number | null {
  try {
    return new bcoin.Output({ address: bcoin.Address.fromString(String(address), network), value: 0 }).getDustThreshold();
  } catch {
    return null;
  }
}

/**
 * A send amount in BTC (a JSON number or a decimal string) as sat; null
 * when it has more than 8 decimals (bitcoind's AmountFromValue, "Invalid
 * amount"), undefined for anything else, which bcoin's own check answers
 * (a negative or non-numeric amount).
 */
function sendSatoshis(v: unknown): number | null | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > 21e6)
      return undefined;
    // A float never holds 8 decimals exactly: a whole number of sat is within rounding of one.
    const sat = Math.round(v * 1e8);
    return Math.abs(v * 1e8 - sat) < 1e-3 ? sat : null;
  }
  if (typeof v === 'string') {
    const m = /^(\d{1,8})(?:\.(\d+))?$/.exec(v);
    if (!m)
      return undefined;
    if ((m[2] ?? '').length > 8)
      return null;
    return Number(m[1]) * 1e8 + Number((m[2] ?? '').padEnd(8, '0'));
  }
  return undefined;
}

/** Why `limit` sat is the dust limit, for an error line. */
export function dustWhy(limit: number): string {
  return `${limit} sat for this address: 3 x the fee of spending it at the minimum relay fee`;
}

/** What the encryption methods need from the node. */
export interface WalletRPCHooks {
  /** Take the node's own keys before the wallet's key is encrypted away (CloudNode#masterKey). */
  keepMasterKey(): void;
  /** Log a warning in debug.log. */
  warn(message: string): void;
  /** Resolves once the wallet has the chain's current tip (bounded; CloudNode#waitWalletSynced). */
  synced(): Promise<unknown>;
}

/**
 * Wallet methods that first wait for the wallet to catch up with the
 * chain, as bitcoind's call BlockUntilSyncedToCurrentChain
 * (src/wallet/rpc/*.cpp): a balance read right after generatetoaddress
 * otherwise counts the blocks the wallet has not added yet as missing.
 */
const SYNCED_FIRST = ['getbalance', 'getbalances', 'getwalletinfo', 'getunconfirmedbalance', 'listunspent',
  'listtransactions', 'listsinceblock', 'gettransaction', 'getreceivedbyaddress', 'listreceivedbyaddress',
  'sendtoaddress', 'sendmany', 'fundrawtransaction', 'abandontransaction', 'dumpwallet'];

/** What is said when an old copy of the key is still in the wallet's files after the purge (walletpurge.ts). */
const NOT_PURGED = 'an older copy of the wallet key is still in the wallet database files (a read held them open); '
  + 'cloudcoind keeps compacting them in the background and logs when it is gone';

/** Purge in the background after purgeOldKeys gave up, saying in debug.log how it ended. */
function purgeInBackground(walletRPC: bcoin.WalletPlugin['rpc'], secrets: Buffer[], hooks: WalletRPCHooks, what: string): void {
  hooks.warn(`${what}: ${NOT_PURGED}`);
  purgeLater(walletRPC.wdb, walletRPC.wallet, secrets, (purged) => hooks.warn(purged
    ? `${what}: the older copy of the wallet key is now gone from the wallet database files`
    : `${what}: the older copy of the wallet key may still be in the wallet database files (purge stopped)`));
}

/** Install the fixes on the node's RPC and the mounted wallet RPC. */
export function fixWalletRPC(nodeRPC: bcoin.RPCBase, walletRPC: bcoin.WalletPlugin['rpc'], network: bcoin.Network,
  hooks: WalletRPCHooks): void {
  keepUnlockTimeouts();
  fixWalletTxRPC(walletRPC, network);
  guardWalletRPC(walletRPC, network);
  for (const name of ['getnewaddress', 'getrawchangeaddress']) {
    const call = walletRPC.calls[name];
    if (!call)
      continue;
    walletRPC.calls[name] = function withDefaultAccount(this: unknown, args: unknown[], help: boolean) {
      const params = Array.isArray(args) && args.length === 0 && !help ? ['default'] : args;
      return call.call(this, params, help);
    };
  }

  // bitcoind shows unlocked_until only for an encrypted wallet; bcoin
  // shows 0 for every wallet, so a clear wallet looked locked.
  const info = walletRPC.calls.getwalletinfo;
  walletRPC.calls.getwalletinfo = async function getWalletInfo(this: unknown, args, help) {
    const result = await info.call(this, args, help) as Record<string, unknown>;
    if (!walletRPC.wallet.master.encrypted)
      delete result.unlocked_until;
    return result;
  };

  const signmessage: Handler = async (args, help) => {
    const [addrText, message] = strings(args, 2, help, SIGNMESSAGE);
    const address = parseAddress(addrText, network);
    if (!address.isPubkeyhash() && !address.isWitnessPubkeyhash() && !address.isScripthash())
      throw new RPCError(rpcCodes.TYPE_ERROR, 'Address does not refer to key');
    const wallet = walletRPC.wallet;
    const path = await wallet.getPath(address);
    const account = path ? await wallet.getAccount(path.account) : null;
    if (!path || !account)
      throw new RPCError(rpcCodes.WALLET_ERROR, 'Private key not available');
    if (!wallet.master.key)
      throw new RPCError(rpcCodes.WALLET_UNLOCK_NEEDED, UNLOCK_NEEDED);
    const key = account.derivePath(path, wallet.master);
    if (!key.privateKey)
      throw new RPCError(rpcCodes.WALLET_ERROR, 'Private key not available');
    return signMessage(message, key.privateKey, key.publicKey.length === 33, keyTypeOf(address));
  };

  const verifymessage: Handler = async (args, help) => {
    const [addrText, signature, message] = strings(args, 3, help, VERIFYMESSAGE);
    return verifyMessage(parseAddress(addrText, network), signature, message);
  };

  const signmessagewithprivkey: Handler = async (args, help) => {
    const [wif, message] = strings(args, 2, help, SIGNWITHPRIVKEY);
    const ring = parseWIF(wif, network, 'Invalid private key');
    return signMessage(message, ring.privateKey, ring.publicKey.length === 33, 'p2pkh');
  };

  walletRPC.calls.signmessage = signmessage;
  nodeRPC.calls.verifymessage = verifymessage;
  nodeRPC.calls.signmessagewithprivkey = signmessagewithprivkey;

  const encrypt = walletRPC.calls.encryptwallet;
  walletRPC.calls.encryptwallet = async function encryptWallet(this: unknown, args, help) {
    const [passphrase] = strings(args, 1, help, ENCRYPTWALLET);
    if (walletRPC.wallet.master.encrypted)
      throw new RPCError(rpcCodes.WALLET_WRONG_ENC_STATE, 'Error: running with an encrypted wallet, but encryptwallet was called.');
    if (passphrase.length === 0)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, EMPTY_PASSPHRASE);
    hooks.keepMasterKey();
    const secrets = clearSecrets(walletRPC.wallet);
    await encrypt.call(this, [passphrase], false);
    const purged = await purgeOldKeys(walletRPC.wdb, walletRPC.wallet, secrets);
    if (!purged)
      purgeInBackground(walletRPC, secrets, hooks, 'encryptwallet');
    return 'wallet encrypted; cloudcoind needs the passphrase at its next start (wallet-passphrase-file= in cloudcoin.conf '
      + 'or CLOUDCOIN_WALLET_PASSPHRASE); spending needs walletpassphrase.' + (purged ? '' : `\nwarning: ${NOT_PURGED}.`);
  };
  const unlock = walletRPC.calls.walletpassphrase;
  walletRPC.calls.walletpassphrase = async function walletPassphrase(this: unknown, args, help) {
    if (help || !Array.isArray(args) || args.length !== 2)
      throw usage(WALLETPASSPHRASE);
    // bcoin's MasterKey#unlock returns the key it holds without looking at
    // the passphrase while the wallet is unlocked (by an earlier call, or by
    // the node's own signing), and when locked it trusts the AES padding,
    // which 1 wrong passphrase in 256 passes. bitcoind checks the key every
    // time: so do we (walletpassphrase.ts).
    if (args[0] === '')
      throw new RPCError(rpcCodes.INVALID_PARAMETER, EMPTY_PASSPHRASE);
    if (typeof args[0] === 'string' && walletRPC.wallet.master.encrypted && !await passphraseOpens(walletRPC.wallet, args[0]))
      throw new RPCError(rpcCodes.WALLET_PASSPHRASE_INCORRECT, PASSPHRASE_INCORRECT);
    // bitcoind's timeout: not negative, capped at MAX_SLEEP_TIME, 0 locks
    // at once (bcoin: 0 unlocked for 60 s, and a timeout past a Node timer's
    // 24.8 days locked at once while answering success).
    const timeout = args[1];
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || !walletRPC.wallet.master.encrypted)
      return unlock.call(this, args, help);
    if (timeout < 0)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Timeout cannot be negative.');
    const seconds = Math.min(timeout, MAX_UNLOCK_SECONDS);
    if (seconds === 0) {
      await walletRPC.wallet.lock();
      return null;
    }
    const result = await unlock.call(this, [args[0], Math.min(seconds, MAX_TIMER_SECONDS)], help);
    // The unlock leaves an unlocked wallet's timer alone (keepUnlockTimeouts): set it.
    setUnlockTimeout(walletRPC.wallet, seconds);
    return result;
  };
  const change = walletRPC.calls.walletpassphrasechange;
  walletRPC.calls.walletpassphrasechange = async function walletPassphraseChange(this: unknown, args, help) {
    const [oldPassphrase, newPassphrase] = strings(args, 2, help, WALLETPASSPHRASECHANGE);
    if (oldPassphrase.length === 0 || newPassphrase.length === 0)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, EMPTY_PASSPHRASE);
    if (!walletRPC.wallet.master.encrypted)
      return change.call(this, args, help);
    // bcoin's Wallet#setPassphrase writes the wallet decrypted, then
    // encrypted again (a crash between left it in the clear), takes a wrong
    // old passphrase that passes the AES padding (and writes that garbage
    // key under the new one) and locks an unlocked wallet, which bitcoind
    // leaves unlocked until its timeout: walletpassphrase.ts does it in one
    // write, checked against the wallet's own key.
    const old = ciphertextOf(walletRPC.wallet);
    if (!await changePassphrase(walletRPC.wallet, oldPassphrase, newPassphrase))
      throw new RPCError(rpcCodes.WALLET_PASSPHRASE_INCORRECT, PASSPHRASE_INCORRECT);
    // No copy under the old passphrase stays in the files either.
    if (!await purgeOldKeys(walletRPC.wdb, walletRPC.wallet, old))
      purgeInBackground(walletRPC, old, hooks, 'walletpassphrasechange');
    return null;
  };

  // bitcoind answers a bad send amount -3 "Invalid amount" (src/rpc/util.cpp
  // AmountFromValue: more than 8 decimals) or "Invalid amount for send"
  // (sendtoaddress: not above 0). bcoin rounds 9 decimals away and throws
  // a plain "Output is dust." for 0 and dust, answered -32603 with a stack
  // in debug.log. Dust is the caller's amount too: the same -3, with the
  // limit (bitcoind says "Transaction amount too small").
  const send = walletRPC.calls.sendtoaddress;
  walletRPC.calls.sendtoaddress = function sendToAddress(this: unknown, args, help) {
    if (!help && Array.isArray(args) && args.length >= 2) {
      const sat = sendSatoshis(args[1]);
      if (sat === null)
        throw new RPCError(rpcCodes.TYPE_ERROR, 'Invalid amount (at most 8 decimals: 1 sat is 0.00000001)');
      if (sat === 0)
        throw new RPCError(rpcCodes.TYPE_ERROR, 'Invalid amount for send');
      const limit = sat === undefined ? null : dustLimit(args[0], network);
      if (sat !== undefined && limit !== null && sat < limit)
        throw new RPCError(rpcCodes.TYPE_ERROR, `Invalid amount: ${sat} sat is below the dust limit (${dustWhy(limit)})`);
    }
    return send.call(this, args, help);
  };

  // A file the caller names: an absolute path, never an existing one, the
  // path answered (rpcfiles.ts has the rule and its bitcoind source).
  const dump = walletRPC.calls.dumpwallet;
  walletRPC.calls.dumpwallet = async function dumpWallet(this: unknown, args, help) {
    const [file] = strings(args, 1, help, DUMPWALLET);
    const target = newServerPath(file, positionLabel(0, 'filename'));
    // Claimed first (0600, O_EXCL): bcoin's writeFile would replace a file
    // that appeared meanwhile, and leaves the mode to the umask.
    claimNewFile(target);
    try {
      await dump.call(this, [target], false);
    } catch (e) {
      dropNewFile(target);
      throw e;
    }
    finishNewFile(target);
    return { filename: target };
  };
  walletRPC.calls.backupwallet = async function backupWallet(this: unknown, args, help) {
    const [dest] = strings(args, 1, help, BACKUPWALLET);
    const target = newServerPath(dest, positionLabel(0, 'destination'));
    // Made here, so an errno is said in one line; leveldb then fills the
    // empty folder (its error_if_exists looks for a database, not a folder).
    claimNewFolder(target);
    try {
      // bdb copies the database into a new leveldb at `target`.
      await walletRPC.wdb.backup(target);
    } catch (e) {
      // Only what this call made goes: the folder was claimed new.
      fs.rmSync(target, { recursive: true, force: true });
      throw new RPCError(rpcCodes.WALLET_ERROR, `cannot back up the wallet to ${target}: ${(e as Error).message}`);
    }
    finishNewFolder(target);
    // bitcoind answers null; the path is the caller's own, absolute.
    return null;
  };

  // bitcoind checks the lock before anything else (EnsureWalletIsUnlocked);
  // bcoin would first pick coins and say "Not enough funds".
  for (const name of UNLOCK_FIRST) {
    const call = walletRPC.calls[name];
    if (!call)
      continue;
    walletRPC.calls[name] = function unlockedFirst(this: unknown, args, help) {
      const master = walletRPC.wallet.master;
      if (!help && master.encrypted && !master.key)
        throw new RPCError(rpcCodes.WALLET_UNLOCK_NEEDED, UNLOCK_NEEDED);
      return call.call(this, args, help);
    };
  }

  for (const name of SYNCED_FIRST) {
    const call = walletRPC.calls[name];
    if (!call)
      continue;
    walletRPC.calls[name] = async function syncedFirst(this: unknown, args, help) {
      if (!help)
        await hooks.synced();
      return call.call(this, args, help);
    };
  }

  for (const name of Object.keys(walletRPC.calls)) {
    const wrong = name === 'walletpassphrase' || name === 'walletpassphrasechange';
    walletRPC.calls[name] = withWalletErrors(walletRPC.calls[name], wrong);
  }
}
