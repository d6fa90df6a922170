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
 * - the wallet methods bcoin 1.0.2 lists but never implemented (move,
 *   setaccount, listaddressgroupings, addmultisigaddress,
 *   addwitnessaddress: an internal error "Not implemented.") are removed,
 *   so `help` does not list them and a call answers method not found.
 */

import bcoin = require('../bcoin');
import { RPCError, rpcCodes } from '../base/errors';
import { positionLabel, shownValue } from '../base/rpc';
import { MAX_WIF_LENGTH } from './walletguards';

/** bcoin's log levels (blgr Logger.levels), lowercase as setloglevel takes them. */
const LOG_LEVELS = ['none', 'error', 'warning', 'info', 'debug', 'spam'];

/** Wallet methods bcoin 1.0.2 answers only with `throw new Error('Not implemented.')`. */
export const UNIMPLEMENTED = ['move', 'setaccount', 'listaddressgroupings', 'addmultisigaddress', 'addwitnessaddress'];

function usage(text: string): RPCError {
  return new RPCError(rpcCodes.MISC_ERROR, text);
}

/** Install the guards on the node's RPC and drop the wallet's unimplemented methods. */
export function guardNodeRPC(nodeRPC: bcoin.RPCBase, walletRPC: bcoin.RPCBase, network: bcoin.Network): void {
  const calls = nodeRPC.calls;
  for (const name of UNIMPLEMENTED)
    delete walletRPC.calls[name];

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
}
