/*!
 * walletguards.ts - the inputs bcoin 1.0.2's wallet RPCs take unchecked,
 * checked first and answered as bitcoind answers them.
 *
 * Each guard replaces or wraps one method of the wallet RPC:
 * - settxfee: bcoin takes any rate, so `settxfee 1` (meant as 1 sat/B)
 *   made every later send pay 1 BTC/kvB, up to bcoin's 0.1 BTC cap per
 *   tx; bitcoind refuses a rate under the minimum relay fee or over its
 *   wallet max (-8);
 * - importprivkey, importwallet and every other WIF: bcoin's base58
 *   decode is quadratic and runs on the event loop (a 30 kB string took
 *   6.6 s, 1 MB hours, with the whole node stopped): a WIF is at most 52
 *   characters, longer is refused unread (-5);
 * - importprivkey of a key the wallet has is a no-op, as in bitcoind
 *   (bcoin throws "Key already exists.", and importwallet stopped half way
 *   through a dump of the wallet's own keys);
 * - importwallet: one line on a file it cannot read (bcoin answered a bare
 *   errno as an internal error), never a FIFO or a device (a read that
 *   never ends), its rescan param taken (bcoin refused 2 params);
 * - lockunspent true unlocks every coin (bcoin 1.0.2 calls a method the
 *   wallet does not have) but those the node holds for an in-flight
 *   payment (coinholds.ts), and only outputs of the wallet's own unspent
 *   coins are locked or unlocked (bitcoind's -8 answers);
 * - an account name the wallet does not have is -11 with its name
 *   (bcoin: internal error "Account not found.", or a database key error
 *   for a name over 255 bytes);
 * - abandontransaction, sendmany with no recipients, selectwallet,
 *   importpubkey and importaddress get bitcoind's codes and words (bcoin's plain Errors
 *   were internal errors, -32603, with a stack in debug.log).
 */

import * as fs from 'fs';
import bcoin = require('../bcoin');
import { RPCError, rpcCodes } from '../base/errors';
import { isHeldCoin } from '../base/coinholds';
import { positionLabel, shownValue } from '../base/rpc';

type WalletRPC = bcoin.WalletPlugin['rpc'];

/**
 * Longest WIF accepted: 52 characters (compressed, 38 bytes in base58);
 * a little slack, and far under the lengths where base58 costs seconds.
 */
export const MAX_WIF_LENGTH = 64;

/** bitcoind's DEFAULT_TRANSACTION_MAXFEE (0.1 BTC) as the highest settxfee rate, sat/kvB. */
export const MAX_TX_FEE_RATE = 10_000_000;

/** Largest wallet dump importwallet reads: about 300,000 keys. */
export const MAX_DUMP_FILE = 32 * 1024 * 1024;

/**
 * Methods whose first param is an account name: its name in the usage
 * line, and whether null means the default account (getbalance has its
 * own check, wallettxrpc.ts).
 */
const ACCOUNT_FIRST: Record<string, [string, boolean]> = {
  getnewaddress: ['account', true],
  getaccountaddress: ['account', true],
  getaddressesbyaccount: ['account', true],
  getreceivedbyaccount: ['account', true],
  sendmany: ['fromaccount', true],
  sendfrom: ['fromaccount', true]
};

function usage(text: string): RPCError {
  return new RPCError(rpcCodes.MISC_ERROR, text);
}

/** `sat` as BTC with 8 decimals, as bitcoind prints a fee rate. */
function btc(sat: number): string {
  return (sat / 1e8).toFixed(8);
}

/**
 * The key of a WIF; -5 with bitcoind's words for anything else, a long
 * string refused before base58 sees it.
 */
export function parseWIF(text: unknown, network: bcoin.Network, what = 'Invalid private key encoding'): bcoin.KeyRing {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_WIF_LENGTH)
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, what);
  try {
    return bcoin.KeyRing.fromSecret(text, network);
  } catch {
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, what);
  }
}

/**
 * A fee rate in sat/kvB from a BTC amount (a JSON number or a decimal
 * string, at most 8 decimals), or an RPCError -3 as bitcoind's
 * AmountFromValue.
 */
function feeRate(v: unknown): number {
  let sat: number | null = null;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 21e6) {
    sat = Math.round(v * 1e8);
    if (Math.abs(v * 1e8 - sat) >= 1e-3)
      throw new RPCError(rpcCodes.TYPE_ERROR, 'Invalid amount (at most 8 decimals: 1 sat is 0.00000001)');
  } else if (typeof v === 'string') {
    const m = /^(\d{1,8})(?:\.(\d{1,8}))?$/.exec(v);
    if (m)
      sat = Number(m[1]) * 1e8 + Number((m[2] ?? '').padEnd(8, '0'));
  }
  if (sat === null)
    throw new RPCError(rpcCodes.TYPE_ERROR, `Invalid amount: a fee rate in BTC/kvB such as 0.0001, got ${shownValue(v)}`);
  return sat;
}

/** Outpoint `i` of lockunspent's list, checked for shape (-8 as bitcoind's). */
function outpointParam(v: unknown, i: number): bcoin.Outpoint {
  const o = v as { txid?: unknown; vout?: unknown } | null;
  if (!o || typeof o !== 'object' || Array.isArray(o))
    throw new RPCError(rpcCodes.INVALID_PARAMETER, `Invalid parameter, transactions[${i}] must be {"txid":"hex","vout":n}`);
  if (typeof o.txid !== 'string' || !/^[0-9a-f]{64}$/i.test(o.txid))
    throw new RPCError(rpcCodes.INVALID_PARAMETER, `Invalid parameter, transactions[${i}].txid must be 64 hex digits, got ${shownValue(o.txid)}`);
  if (typeof o.vout !== 'number' || !Number.isInteger(o.vout) || o.vout < 0 || o.vout > 0xffffffff)
    throw new RPCError(rpcCodes.INVALID_PARAMETER, `Invalid parameter, transactions[${i}].vout must be a whole number from 0, got ${shownValue(o.vout)}`);
  return new bcoin.Outpoint(Buffer.from(o.txid, 'hex').reverse().toString('hex'), o.vout);
}

/** A param that must be a boolean when given (bval's -3 words). */
function boolOr(args: unknown[], i: number, name: string, fallback: boolean): boolean {
  const v = args[i];
  if (v === undefined || v === null)
    return fallback;
  if (typeof v !== 'boolean')
    throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(i, name)} must be a boolean.`);
  return v;
}

/**
 * The dump's keys: bcoin's format (`WIF time label=... # addr`, comments
 * and blank lines skipped), each line checked before any key is imported.
 */
function dumpKeys(text: string, network: bcoin.Network): bcoin.KeyRing[] {
  const keys: bcoin.KeyRing[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#'))
      return;
    const parts = line.split(/\s+/);
    if (parts.length < 4)
      throw new RPCError(rpcCodes.DESERIALIZATION_ERROR, `Malformed wallet dump: line ${i + 1} is not "WIF time label # address".`);
    keys.push(parseWIF(parts[0], network, `Invalid private key on line ${i + 1} of the wallet dump`));
  });
  return keys;
}

/** The text of a wallet dump the caller names: a regular file, read without blocking on a FIFO or a device. */
async function readDump(file: string): Promise<string> {
  let handle: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer.
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new RPCError(rpcCodes.INVALID_PARAMETER, `Cannot open wallet dump file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new RPCError(rpcCodes.INVALID_PARAMETER, `Cannot open wallet dump file ${file}: not a regular file`);
    if (stat.size > MAX_DUMP_FILE)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, `Cannot open wallet dump file ${file}: over ${MAX_DUMP_FILE} bytes`);
    return await handle.readFile('utf8');
  } catch (e) {
    if (e instanceof RPCError)
      throw e;
    throw new RPCError(rpcCodes.INVALID_PARAMETER, `Cannot read wallet dump file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    await handle.close();
  }
}

/** Install the guards on the wallet RPC (before fixWalletRPC's error translation wraps every method). */
export function guardWalletRPC(walletRPC: WalletRPC, network: bcoin.Network): void {
  const calls = walletRPC.calls;

  const settxfee = calls.settxfee;
  calls.settxfee = function setTXFee(this: unknown, args, help) {
    if (help || !Array.isArray(args) || args.length !== 1)
      throw usage('settxfee amount\nSet the fee rate of the wallet\'s sends in BTC/kvB (0: estimate it).');
    const rate = feeRate(args[0]);
    // [REJECT] under the relay minimum: the tx would never be relayed.
    if (rate > 0 && rate < network.minRelay)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, `txfee cannot be less than min relay tx fee (${btc(network.minRelay)} BTC/kvB)`);
    // [REJECT] over the wallet max: a sat/B value typed as BTC/kvB pays 1e5 times the fee.
    if (rate > MAX_TX_FEE_RATE)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, `txfee cannot be more than wallet max tx fee (${btc(MAX_TX_FEE_RATE)} BTC/kvB)`);
    return settxfee.call(this, [rate / 1e8], false);
  };

  // importprivkey and importwallet: bitcoind skips a key it has (bcoin
  // throws "Key already exists."), then rescans if asked.
  const importKeys = async (keys: bcoin.KeyRing[], rescan: boolean): Promise<null> => {
    const wallet = walletRPC.wallet;
    for (const key of keys) {
      if (!await wallet.hasAddress(key.getAddress()))
        await wallet.importKey(0, key);
    }
    if (rescan)
      await walletRPC.wdb.rescan(0);
    return null;
  };

  const importprivkey = calls.importprivkey;
  calls.importprivkey = async function importPrivKey(this: unknown, args, help) {
    if (help || !Array.isArray(args) || args.length < 1 || args.length > 3)
      return importprivkey.call(this, args, help);
    const key = parseWIF(args[0], network);
    return importKeys([key], boolOr(args, 2, 'rescan', false));
  };

  calls.importwallet = async function importWallet(args, help) {
    if (help || !Array.isArray(args) || args.length < 1 || args.length > 2)
      throw usage('importwallet "filename" ( rescan )\nImport the keys of a wallet dump (dumpwallet\'s format) that cloudcoind can read.');
    if (typeof args[0] !== 'string' || args[0].length === 0)
      throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(0, 'filename')} must be a non-empty string.`);
    const rescan = boolOr(args, 1, 'rescan', false);
    return importKeys(dumpKeys(await readDump(args[0]), network), rescan);
  };

  calls.lockunspent = async function lockUnspent(args, help) {
    if (help || !Array.isArray(args) || args.length < 1 || args.length > 2)
      throw usage('lockunspent unlock ([{"txid":"txid","vout":n},...])');
    if (typeof args[0] !== 'boolean')
      throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(0, 'unlock')} must be a boolean.`);
    const unlock = args[0];
    const wallet = walletRPC.wallet;
    if (args[1] === undefined || args[1] === null) {
      // bitcoind: unlock without a list unlocks every coin; lock without one does nothing.
      // The node's own holds (an in-flight payment's inputs) stay locked.
      if (unlock) {
        for (const outpoint of wallet.getLocked()) {
          if (!isHeldCoin(wallet, outpoint))
            wallet.unlockCoin(outpoint);
        }
      }
      return true;
    }
    if (!Array.isArray(args[1]))
      throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(1, 'transactions')} must be an array.`);
    // Every outpoint is checked before any lock changes, as bitcoind does.
    const outpoints: bcoin.Outpoint[] = [];
    for (const [i, v] of args[1].entries()) {
      const outpoint = outpointParam(v, i);
      const wtx = await wallet.getTX(outpoint.hash);
      if (!wtx)
        throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Invalid parameter, unknown transaction');
      if (outpoint.index >= wtx.tx.outputs.length)
        throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Invalid parameter, vout index out of bounds');
      if (!await wallet.txdb.getCoin(outpoint.hash, outpoint.index))
        throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Invalid parameter, expected unspent output');
      const locked = wallet.isLocked(outpoint);
      if (unlock && !locked)
        throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Invalid parameter, expected locked output');
      if (unlock && isHeldCoin(wallet, outpoint))
        throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Invalid parameter, output is held by a payment of the node still in flight');
      if (!unlock && locked)
        throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Invalid parameter, output already locked');
      outpoints.push(outpoint);
    }
    for (const outpoint of outpoints) {
      if (unlock)
        wallet.unlockCoin(outpoint);
      else
        wallet.lockCoin(outpoint);
    }
    return true;
  };

  const abandon = calls.abandontransaction;
  calls.abandontransaction = async function abandonTransaction(this: unknown, args, help) {
    try {
      return await abandon.call(this, args, help);
    } catch (e) {
      if (!(e instanceof Error) || e.message !== 'TX not eligible.' || typeof args[0] !== 'string')
        throw e;
      const known = await walletRPC.wallet.getTX(Buffer.from(args[0], 'hex').reverse().toString('hex'));
      throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, known
        ? 'Transaction not eligible for abandonment (only an unconfirmed transaction not in the mempool can be)'
        : 'Invalid or non-wallet transaction id');
    }
  };

  // wallettxrpc.ts looks getbalance's account up as it is: a name over
  // 255 bytes is a database key error there (-32603). bcoin's names are
  // at most 40 characters, so a longer one is no account, answered in
  // wallettxrpc's words.
  const getbalance = calls.getbalance;
  calls.getbalance = function getBalance(this: unknown, args, help) {
    const account = Array.isArray(args) ? args[0] : undefined;
    if (!help && typeof account === 'string' && account.length > 40)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, `dummy must be "*" or left out (or a bcoin account name: no account ${shownValue(account)})`);
    return getbalance.call(this, args, help);
  };

  const sendmany = calls.sendmany;
  calls.sendmany = function sendMany(this: unknown, args, help) {
    const to = Array.isArray(args) ? args[1] : undefined;
    if (!help && to && typeof to === 'object' && !Array.isArray(to) && Object.keys(to).length === 0)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Transaction must have at least one recipient');
    return sendmany.call(this, args, help);
  };

  const select = calls.selectwallet;
  calls.selectwallet = function selectWallet(this: unknown, args, help) {
    if (!help && Array.isArray(args) && args.length === 1) {
      if (typeof args[0] !== 'string')
        throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(0, 'id')} must be a string.`);
      // bcoin's wallet ids are at most 40 characters: a longer one is a database key error.
      if (args[0].length > 40)
        throw new RPCError(rpcCodes.WALLET_ERROR, 'Wallet not found.');
    }
    return select.call(this, args, help);
  };

  for (const name of ['importpubkey', 'importaddress']) {
    const call = calls[name];
    calls[name] = async function watchImport(this: unknown, args, help) {
      try {
        return await call.call(this, args, help);
      } catch (e) {
        const message = e instanceof Error && !(e instanceof RPCError) ? e.message : null;
        // bitcoind imports a key or address it already has as a no-op.
        if (message === 'Key already exists.' || message === 'Address already exists.')
          return null;
        if (message === 'Not a valid public key.')
          throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Pubkey is not a valid public key');
        if (message !== null && /^Cannot import \w+ into non watch-only wallet\.$/.test(message)) {
          throw new RPCError(rpcCodes.WALLET_ERROR, `${message.slice(0, -1)}: bcoin 1.0.2 watches keys and addresses `
            + 'only in a wallet without private keys, and cloudcoind\'s wallet has them');
        }
        throw e;
      }
    };
  }

  for (const [name, [param, defaultOnEmpty]] of Object.entries(ACCOUNT_FIRST)) {
    const call = calls[name];
    if (!call)
      continue;
    calls[name] = async function accountFirst(this: unknown, args, help) {
      if (help || !Array.isArray(args) || args.length === 0)
        return call.call(this, args, help);
      const account = args[0];
      if (account === null && defaultOnEmpty)
        return call.call(this, ['default', ...args.slice(1)], help);
      if (account !== null && typeof account !== 'string')
        throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(0, param)} must be a string.`);
      // '' is the default account and '*' every account (bcoin's and bitcoind's meanings).
      if (typeof account === 'string' && account !== '' && account !== '*') {
        // A name over bcoin's 40 characters is no account: asked unread (a long one is a database key error).
        if (account.length > 40 || !await walletRPC.wallet.hasAccount(account))
          throw new RPCError(rpcCodes.WALLET_INVALID_ACCOUNT_NAME, `No account ${shownValue(account)} (listaccounts shows the wallet's accounts).`);
      }
      return call.call(this, args, help);
    };
  }
}
