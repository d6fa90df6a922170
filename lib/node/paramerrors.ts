/*!
 * paramerrors.ts - bcoin's parameter errors in bitcoind's words.
 *
 * bcoin 1.0.2's node and wallet methods check their params with bval's
 * Validator, which names a param by its 0-based index (`Param #0 must be
 * a uint32.`), while bitcoind, cloudcoin-cli and CloudCoin's own methods
 * (lib/base/rpc.ts Params) count from 1 and add the name (`Position 1
 * (height) must be a uint32.`, bitcoind's RPCHelpMan). The endpoint's
 * execute is wrapped so every method answers in the one style, the name
 * taken from the method's usage line.
 */

import type bcoin = require('../bcoin');
import { RPCError, rpcCodes } from '../base/errors';
import { bitcoindPositions, usageNames } from '../base/rpc';
import { dustWhy } from './walletrpc';

/**
 * Rewrite the ValidationErrors (bval: `type` 'ValidationError', answered
 * as RPC_TYPE_ERROR -3) that `rpc` and its mounts throw; `usage(method)`
 * gives a method's help text (usage on its first line).
 */
export function bitcoindParamErrors(rpc: bcoin.RPCBase, usage: (method: string) => Promise<string>,
  dustLimit: (address: unknown) => number | null = () => null): void {
  const execute = rpc.execute.bind(rpc);
  rpc.execute = async (json: { method: string; params: unknown[] }, help?: boolean): Promise<unknown> => {
    try {
      return await execute(json, help);
    } catch (e) {
      const err = e as { type?: unknown; message?: unknown; code?: unknown } | null;
      // bcoin's wallet throws a plain Error for an output under its dust
      // threshold: answered as an internal error (-32603) with a stack in
      // debug.log. It is the caller's amount: bitcoind's -3 "Invalid
      // amount" (sendtoaddress checks its amount first; this is sendmany,
      // or an amount that the fee taken from it left under the limit).
      if (err && err.type !== 'RPCError' && err.message === 'Output is dust.') {
        const limit = json.method === 'sendtoaddress' ? dustLimit(json.params[0]) : null;
        throw new RPCError(rpcCodes.TYPE_ERROR, limit === null
          ? 'Invalid amount: an output is below the dust limit (policy: 3 x the fee of spending it at the minimum relay fee)'
          : `Invalid amount: the output is below the dust limit (${dustWhy(limit)})`);
      }
      // bcoin answers a wrong parameter count with its usage line as the
      // message (MISC_ERROR -1, bitcoind's help text): say what is wrong and
      // the usage. Only that: an error of the method's own that merely starts
      // with its name (`cloudrequest failed: timeout`) passes unchanged.
      if (!help && err && err.type === 'RPCError' && err.code === rpcCodes.MISC_ERROR
        && typeof err.message === 'string' && (err.message === json.method || err.message.startsWith(`${json.method} `)
          || err.message.startsWith(`${json.method}\n`))) {
        const first = err.message.split('\n')[0];
        let line: string | null = null;
        try {
          line = (await usage(json.method)).split('\n')[0] || null;
        } catch {
          // No usage: only the bare method name is known to be one.
        }
        if (err.message === json.method || first === line) {
          const n = Array.isArray(json.params) ? json.params.length : 0;
          throw new RPCError(rpcCodes.MISC_ERROR,
            `wrong number of parameters (${n} given); usage: ${line ?? first}`);
        }
      }
      if (err && err.type === 'ValidationError' && typeof err.message === 'string') {
        let names: Array<string | null> = [];
        try {
          names = usageNames(await usage(json.method));
        } catch {
          // No usage line: positions without names.
        }
        (e as Error).message = bitcoindPositions(err.message, names);
      }
      throw e;
    }
  };
}
