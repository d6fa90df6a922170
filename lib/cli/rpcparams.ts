/*!
 * rpcparams.ts - which RPC parameters cloudcoin-cli sends as JSON.
 *
 * As bitcoin-cli's vRPCConvertParams (src/rpc/client.cpp): a parameter is
 * a string unless the method declares it a number, a boolean, an array or
 * an object, so `signmessage ADDR null` signs the text "null" and
 * `signmessage ADDR 12345` signs "12345". The table lists the non-string
 * parameters of bcoin 1.0.2's node and wallet methods (their Validator
 * calls: u32, bool, array, obj, ufixed...). CloudCoin's own methods take
 * every parameter as text too (lib/base/rpc.ts reads "12", "true", "10MB"
 * and "5000sat"), so they, and any method not listed, get strings.
 */

import { positionLabel } from '../base/rpc';

/** Zero-based positions of each method's JSON parameters. */
export const JSON_PARAMS: Readonly<Record<string, readonly number[]>> = {
  // blockchain
  getblock: [1, 2],
  getblockbyheight: [0, 1, 2],
  getblockhash: [0],
  getblockheader: [1],
  getmempoolancestors: [1],
  getmempooldescendants: [1],
  getrawmempool: [0],
  gettxout: [1, 2],
  gettxoutproof: [0],
  verifychain: [0, 1],
  // mining and fees
  estimatefee: [0],
  estimatepriority: [0],
  estimatesmartfee: [0],
  estimatesmartpriority: [0],
  generate: [0, 1],
  generatetoaddress: [0, 2],
  getblocktemplate: [0],
  getnetworkhashps: [0, 1],
  prioritisetransaction: [1, 2],
  setgenerate: [0, 1],
  // network and control
  setban: [2, 3],
  setmocktime: [0],
  // raw transactions
  createmultisig: [0, 1],
  createrawtransaction: [0, 1, 2],
  getrawtransaction: [1],
  signrawtransaction: [1, 2],
  // wallet
  fundrawtransaction: [1],
  getbalance: [1, 2],
  getreceivedbyaccount: [1],
  getreceivedbyaddress: [1],
  gettransaction: [1],
  importaddress: [2, 3],
  importprivkey: [2],
  importpubkey: [2],
  importwallet: [1],
  listaccounts: [0, 1],
  listreceivedbyaccount: [0, 1, 2],
  listreceivedbyaddress: [0, 1, 2],
  listsinceblock: [1, 2, 3],
  listtransactions: [1, 2, 3],
  listunspent: [0, 1, 2],
  lockunspent: [0, 1],
  sendfrom: [2, 3],
  sendmany: [1, 2, 4],
  sendtoaddress: [1, 4],
  settxfee: [0],
  walletpassphrase: [1]
};

/** A parameter the method declares as JSON that is not JSON (numbered as bitcoind does: `Position 1`). */
export class ParamError extends Error {
  constructor(method: string, index: number, text: string) {
    super(`${positionLabel(index)} of ${method} must be JSON (a number, true/false, an array or an object), got "${text}"`);
    this.name = 'ParamError';
  }
}

/**
 * The params array for `method` from command-line words: JSON where the
 * method declares it (strictly: bad JSON is an error, as with
 * bitcoin-cli), the word itself everywhere else.
 * @throws ParamError
 */
export function convertParams(method: string, words: readonly string[]): unknown[] {
  const json = Object.hasOwn(JSON_PARAMS, method) ? JSON_PARAMS[method] : [];
  return words.map((word, i) => {
    if (!json.includes(i))
      return word;
    try {
      return JSON.parse(word);
    } catch {
      throw new ParamError(method, i, word);
    }
  });
}
