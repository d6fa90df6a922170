/*!
 * rpcparams.ts - what the deals RPC method lists (rpc.ts, removalrpc.ts)
 * share: the shape of an entry and the file id parameter.
 */

import type { Params } from '../base/rpc';
import type { Deals } from './plugin';
import { MIN_ID_PREFIX } from './renterfiles';

/** One deals RPC method: name, help (usage first), body. */
export type DealsMethod = [string, string, (p: Params, deals: Deals) => Promise<unknown>];

/** Param `i`: a file id or unique prefix; cloudcoin-cli passes an all-digit prefix as a number. */
export function fileIdParam(p: Params, i = 0, name = 'fileid'): string {
  const v = p.get(i);
  const text = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : v;
  if (typeof text !== 'string' || !/^[0-9a-f]+$/i.test(text) || text.length > 64 || text.length < MIN_ID_PREFIX)
    throw p.error(i, name, `must be hex: the whole id (64 digits) or a unique prefix of at least ${MIN_ID_PREFIX}.`);
  return text;
}
