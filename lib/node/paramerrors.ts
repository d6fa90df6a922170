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
import { bitcoindPositions, usageNames } from '../base/rpc';

/**
 * Rewrite the ValidationErrors (bval: `type` 'ValidationError', answered
 * as RPC_TYPE_ERROR -3) that `rpc` and its mounts throw; `usage(method)`
 * gives a method's help text (usage on its first line).
 */
export function bitcoindParamErrors(rpc: bcoin.RPCBase, usage: (method: string) => Promise<string>): void {
  const execute = rpc.execute.bind(rpc);
  rpc.execute = async (json: { method: string; params: unknown[] }, help?: boolean): Promise<unknown> => {
    try {
      return await execute(json, help);
    } catch (e) {
      const err = e as { type?: unknown; message?: unknown } | null;
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
