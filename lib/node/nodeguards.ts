/*!
 * nodeguards.ts - the inputs bcoin 1.0.2's node RPCs take unchecked,
 * checked first and answered as bitcoind answers them.
 *
 * - setloglevel with an unknown level: -8 naming the levels (bcoin's
 *   assert answered an internal error, -32603);
 * - setmocktime only on regtest, and 0 returns to the system clock, as in
 *   bitcoind (bcoin moved a mainnet node's clock, and 0 set it to 1970,
 *   so every new block looked two generations in the future);
 * - getworklp with params answers its usage (it waited for the next block
 *   whatever it was given);
 * - submitblock of anything but hex: -22 as bitcoind (bcoin's assert);
 * - signrawtransaction's private keys: a long string is refused before
 *   bcoin's quadratic base58 decode stops the node (walletguards.ts);
 * - sendrawtransaction answers what the mempool did with the tx, as
 *   bitcoind: bcoin returned the txid at once and relayed in the
 *   background, so an unsigned tx, a double spend or one the mempool
 *   refused looked sent (and one refused with ban score 0, such as
 *   "insufficient fee", was broadcast anyway); a fee rate over 0.1
 *   BTC/kvB is refused unless allowhighfees (bitcoind's maxfeerate: a raw
 *   tx whose change output was forgotten pays it all as fee);
 * - bcoin's plain Errors for a caller's mistake (an estimate too far
 *   ahead, an unknown block to invalidate, a tx without inputs, a tx to
 *   fund that has some, an amount too small to pay its fee) get bitcoind's codes (PLAIN_ERRORS);
 * - the wallet methods bcoin 1.0.2 lists but never implemented (move,
 *   setaccount, listaddressgroupings, addmultisigaddress,
 *   addwitnessaddress: an internal error "Not implemented.") are removed,
 *   so `help` does not list them and a call answers method not found.
 */

import bcoin = require('../bcoin');
import { RPCError, rpcCodes, type RPCCode } from '../base/errors';
import { positionLabel, shownValue } from '../base/rpc';
import { MAX_WIF_LENGTH } from './walletguards';

/** Highest fee rate sendrawtransaction sends without allowhighfees, sat/kvB (bitcoind's DEFAULT_MAX_RAW_TX_FEE_RATE, 0.1 BTC). */
export const MAX_RAW_TX_FEE_RATE = 10_000_000;

/** bcoin's log levels (blgr Logger.levels), lowercase as setloglevel takes them. */
const LOG_LEVELS = ['none', 'error', 'warning', 'info', 'debug', 'spam'];

/** Wallet methods bcoin 1.0.2 answers only with `throw new Error('Not implemented.')`. */
export const UNIMPLEMENTED = ['move', 'setaccount', 'listaddressgroupings', 'addmultisigaddress', 'addwitnessaddress'];

/**
 * bcoin's plain Errors (asserts included) that answer a caller's mistake,
 * by method: the message bcoin throws, and bitcoind's code and words.
 */
const PLAIN_ERRORS: Array<[string[], string, RPCCode, string]> = [
  // bcoin's fee estimator tracks 15 blocks (MAX_BLOCK_CONFIRMS, lib/mempool/fees.js).
  [['estimatefee', 'estimatesmartfee', 'estimatepriority', 'estimatesmartpriority'], 'Too many confirmations for estimate.',
    rpcCodes.INVALID_PARAMETER, 'Invalid nblocks, must be between 0 and 15 (the blocks bcoin\'s fee estimator tracks)'],
  [['invalidateblock'], 'Block not found.', rpcCodes.INVALID_ADDRESS_OR_KEY, 'Block not found'],
  [['createrawtransaction'], 'Cannot serialize zero-input tx.', rpcCodes.INVALID_PARAMETER,
    'Invalid parameter, a transaction needs at least one input (bcoin cannot encode one without)'],
  // bcoin 1.0.2 funds only a tx without inputs, which the raw tx encoding cannot carry.
  [['fundrawtransaction'], 'TX is already funded.', rpcCodes.WALLET_ERROR,
    'Cannot fund a transaction that has inputs (bcoin funds only one without any, which a raw transaction cannot encode); '
    + 'sendtoaddress and sendmany fund and send'],
  [['sendtoaddress', 'sendmany', 'sendfrom'], 'Could not subtract fee.', rpcCodes.WALLET_ERROR,
    'The transaction amount is too small to pay the fee']
];

function usage(text: string): RPCError {
  return new RPCError(rpcCodes.MISC_ERROR, text);
}

/** Install the guards on the node's RPC and drop the wallet's unimplemented methods. */
export function guardNodeRPC(nodeRPC: bcoin.RPCBase, walletRPC: bcoin.RPCBase, node: bcoin.FullNode): void {
  const calls = nodeRPC.calls;
  const network = node.network;
  for (const name of UNIMPLEMENTED)
    delete walletRPC.calls[name];

  for (const [methods, message, code, text] of PLAIN_ERRORS) {
    for (const name of methods) {
      const table = Object.hasOwn(calls, name) ? calls : walletRPC.calls;
      const call = table[name];
      table[name] = async function plainErrors(this: unknown, args, help) {
        try {
          return await call.call(this, args, help);
        } catch (e) {
          if (e instanceof Error && !(e instanceof RPCError) && (e as { type?: unknown }).type !== 'RPCError' && e.message === message)
            throw new RPCError(code, text);
          throw e;
        }
      };
    }
  }

  const setloglevel = calls.setloglevel;
  calls.setloglevel = function setLogLevel(this: unknown, args, help) {
    if (!help && Array.isArray(args) && args.length === 1 && typeof args[0] === 'string'
      && !LOG_LEVELS.includes(args[0].toLowerCase())) {
      throw new RPCError(rpcCodes.INVALID_PARAMETER,
        `${positionLabel(0, 'level')} must be one of ${LOG_LEVELS.join(', ')}, got ${shownValue(args[0])}.`);
    }
    return setloglevel.call(this, args, help);
  };

  const setmocktime = calls.setmocktime;
  calls.setmocktime = function setMockTime(this: unknown, args, help) {
    if (help || !Array.isArray(args) || args.length !== 1)
      return setmocktime.call(this, args, help);
    // bitcoind: "setmocktime is for regression testing (-regtest mode) only".
    if (network.type !== 'regtest')
      throw new RPCError(rpcCodes.MISC_ERROR, 'setmocktime is for regression testing (-regtest mode) only');
    if (args[0] === 0) {
      // bitcoind: 0 goes back to the system clock.
      (network as unknown as { time: { offset: number } }).time.offset = 0;
      return null;
    }
    return setmocktime.call(this, args, help);
  };

  const getworklp = calls.getworklp;
  calls.getworklp = function getWorkLP(this: unknown, args, help) {
    if (!help && Array.isArray(args) && args.length !== 0)
      throw usage('getworklp');
    return getworklp.call(this, args, help);
  };

  const submitblock = calls.submitblock;
  calls.submitblock = function submitBlock(this: unknown, args, help) {
    if (!help && Array.isArray(args) && args.length >= 1 && args.length <= 2
      && (typeof args[0] !== 'string' || !/^([0-9a-f]{2})+$/i.test(args[0])))
      throw new RPCError(rpcCodes.DESERIALIZATION_ERROR, 'Block decode failed');
    return submitblock.call(this, args, help);
  };

  const signraw = calls.signrawtransaction;
  calls.signrawtransaction = function signRawTransaction(this: unknown, args, help) {
    const keys = Array.isArray(args) ? args[2] : undefined;
    if (!help && Array.isArray(keys) && keys.some((k) => typeof k === 'string' && k.length > MAX_WIF_LENGTH))
      throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Invalid private key encoding');
    return signraw.call(this, args, help);
  };

  calls.sendrawtransaction = async function sendRawTransaction(args, help) {
    if (help || !Array.isArray(args) || args.length < 1 || args.length > 2)
      throw usage('sendrawtransaction "hexstring" ( allowhighfees )\nSubmit a signed transaction to the mempool and the network; '
        + `a fee rate over ${MAX_RAW_TX_FEE_RATE / 1e8} BTC/kvB needs allowhighfees true.`);
    if (args[1] !== undefined && args[1] !== null && typeof args[1] !== 'boolean')
      throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(1, 'allowhighfees')} must be a boolean.`);
    let tx: bcoin.TX;
    try {
      if (typeof args[0] !== 'string' || !/^([0-9a-f]{2})+$/i.test(args[0]))
        throw new Error('not hex');
      tx = bcoin.TX.fromRaw(args[0], 'hex');
    } catch {
      throw new RPCError(rpcCodes.DESERIALIZATION_ERROR, 'TX decode failed');
    }
    const mempool = node.mempool;
    // bitcoind answers the txid of a tx its mempool already has.
    if (mempool.has(tx.hash('hex')))
      return tx.txid();
    let spent = 0;
    for (const input of tx.inputs) {
      const parent = mempool.getTX(input.prevout.hash);
      const output = parent ? parent.outputs[input.prevout.index] : await node.chain.getCoin(input.prevout.hash, input.prevout.index);
      if (!output)
        throw new RPCError(rpcCodes.VERIFY_ERROR, 'bad-txns-inputs-missingorspent');
      spent += output.value;
    }
    const fee = spent - tx.outputs.reduce((sum, o) => sum + o.value, 0);
    const rate = Math.floor(fee * 1000 / tx.getVirtualSize());
    // [REJECT] a fee rate no one means to pay, unless the caller says so.
    if (args[1] !== true && rate > MAX_RAW_TX_FEE_RATE) {
      throw new RPCError(rpcCodes.VERIFY_REJECTED, `max-fee-exceeded: fee ${fee / 1e8} BTC is ${rate / 1e8} BTC/kvB, `
        + `over ${MAX_RAW_TX_FEE_RATE / 1e8} (allowhighfees true sends it)`);
    }
    try {
      // The pool announces what the mempool takes.
      const missing = await mempool.addTX(tx);
      if (Array.isArray(missing) && missing.length > 0) {
        mempool.removeOrphan(tx.hash('hex'));
        throw new RPCError(rpcCodes.VERIFY_ERROR, 'bad-txns-inputs-missingorspent');
      }
    } catch (e) {
      const err = e as { type?: unknown; reason?: unknown };
      if (err && err.type === 'VerifyError')
        throw new RPCError(rpcCodes.VERIFY_REJECTED, String(err.reason));
      throw e;
    }
    return tx.txid();
  };
}
