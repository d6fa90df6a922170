/*!
 * rpc.ts - what every extension's RPC methods share: one parameter
 * validator and one translator from domain errors to bitcoind codes.
 *
 * Parameters (bcoin/hsd's `Validator`, positional as bitcoind's are):
 *
 *   const p = new Params(params, 'getcontract "id"');
 *   p.count(1);                                 // else -8 "Usage: getcontract "id""
 *   const id = p.hex(0, 'id', 32);              // 32 bytes of hex
 *   const state = p.has(1) ? p.oneOf(1, 'state', names) : null;
 *   const size = p.size(2, 'size', MAX);        // 4096, "10MB" (lib/base/units)
 *   const fee = p.amount(3, 'maxprice');        // 5000, "5000sat", "0.1btc"
 *
 * Each check throws RPCError INVALID_PARAMETER (-8) with one line naming
 * the parameter as bitcoind does, by its 1-based position and its name
 * (`Position 1 (id) must be 32 bytes of hex.`; bitcoind's RPCHelpMan says
 * `Position %u (%s)` with i + 1, src/rpc/util.cpp). `p.error(i, name, text)`
 * words a check of the method's own that way. The same checks exist as
 * functions (`uintParam(v, name)`) for values that are not in a params
 * array (a member of an object param: named alone).
 *
 * Errors: an extension builds its translator once from one rule per domain
 * error class, and wraps each method body in it:
 *
 *   const toRPCError = rpcErrors([
 *     errorRule(ContractError, {'unknown-contract': [rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.']},
 *       rpcCodes.VERIFY_ERROR)
 *   ]);
 *   try { ... } catch (e) { throw toRPCError(e); }
 *
 * RPCError passes through; a matching CodedError becomes an RPCError with
 * its rule's code (and message, if given); bcoin's VerifyError (a mempool
 * rejection) becomes VERIFY_REJECTED `code: reason`, bcoin's "not enough
 * funds" WALLET_INSUFFICIENT_FUNDS, a WalletLockedError or bcoin's "No
 * passphrase." (a locked wallet asked to sign) WALLET_UNLOCK_NEEDED with
 * bitcoind's message; anything else passes through, so bweb
 * answers INTERNAL_ERROR (-32603), or, with `{other: code}`, becomes an
 * RPCError with that code and the error's message.
 */

import { CodedError, RPCError, UNLOCK_NEEDED, WalletLockedError, invalidParam, rpcCodes, type RPCCode } from './errors';
import type { NodeAPI } from './extension';
import { MAX_MONEY } from './consts';
import { formatSize, parseAmount, parseSize } from './units';

/**
 * How a parameter is named in an error, as bitcoind's RPCHelpMan does:
 * `Position 1 (id)`, 1-based; without a name, `Position 1`.
 */
export function positionLabel(i: number, name?: string | null): string {
  return name ? `Position ${i + 1} (${name})` : `Position ${i + 1}`;
}

/**
 * The parameter names of a usage line, in order (`getblock "blockhash" (
 * verbose )` -> blockhash, verbose; `[ARGS_JSON]` -> ARGS_JSON); null where
 * the line shows a param as a JSON shape (`[{"txid":"id",...}]`) rather
 * than a name.
 */
export function usageNames(usage: string): Array<string | null> {
  return usage.split('\n')[0].trim().split(/\s+/).slice(1)
    .filter((w) => w !== '(' && w !== ')' && w !== '')
    .map((w) => /^[([]?"?([A-Za-z_][\w|-]*)"?[)\]]?$/.exec(w)?.[1] ?? null);
}

/**
 * bcoin's Validator (bval) names a param by its 0-based index (`Param #0
 * must be a uint32.`): the same message in bitcoind's words (`Position 1
 * (height) must be a uint32.`), `names` from the method's usage line.
 */
export function bitcoindPositions(message: string, names: ReadonlyArray<string | null>): string {
  return message.replace(/\bParam #(\d+)/g, (_, n: string) => positionLabel(Number(n), names[Number(n)]));
}

/**
 * The value a caller sent, for an error message: JSON, cut to 40
 * characters (a 10 kB hex string is not echoed whole); `nothing` when
 * the param was left out.
 */
export function shownValue(v: unknown): string {
  if (v === undefined)
    return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** `v` as bytes: even-length hex, exactly `bytes` long when given. */
export function hexParam(v: unknown, name: string, bytes?: number): Buffer {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/i.test(v) || (bytes !== undefined && v.length !== bytes * 2))
    throw invalidParam(`${name} must be ${bytes ? `${bytes} bytes of ` : ''}hex, got ${shownValue(v)}.`);
  return Buffer.from(v, 'hex');
}

/** `v` as a whole number in [min, max]; decimal digit strings count. */
export function uintParam(v: unknown, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max)
    throw invalidParam(`${name} must be a whole number from ${min} to ${max}, got ${shownValue(v)}.`);
  return n;
}

/** `v` as a non-empty string. */
export function strParam(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0)
    throw invalidParam(`${name} must be a non-empty string, got ${shownValue(v)}.`);
  return v;
}

/** `v` as a boolean: true/false, or the strings "true"/"false". */
export function boolParam(v: unknown, name: string): boolean {
  if (v === true || v === 'true')
    return true;
  if (v === false || v === 'false')
    return false;
  throw invalidParam(`${name} must be true or false, got ${shownValue(v)}.`);
}

/** A size in bytes, 1 to `max`: a number or text with units (`10MB`, lib/base/units). */
export function sizeParam(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? parseSize(v) : null;
  if (n === null || !Number.isSafeInteger(n) || n <= 0 || n > max)
    throw invalidParam(`${name} must be a size such as 10MB or 4096, at most ${formatSize(max)}, got ${shownValue(v)}.`);
  return n;
}

/** An amount in sat, 0 to MAX_MONEY: a number or text with units (`5000sat`, `0.1btc`). */
export function amountParam(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? parseAmount(v) : null;
  if (n === null || !Number.isSafeInteger(n) || n < 0 || n > MAX_MONEY)
    throw invalidParam(`${name} must be an amount in sat such as 5000 or 5000sat, at most 21e14, got ${shownValue(v)}.`);
  return n;
}

/** Hex param decoded by `decode`; any decode failure is a bad parameter. */
export function decodedParam<T>(v: unknown, name: string, what: string, decode: (raw: Buffer) => T): T {
  const raw = hexParam(v, name);
  try {
    return decode(raw);
  } catch {
    throw invalidParam(`${name} is not a valid ${what} encoding.`);
  }
}

/** `v` if it is one of `values`. */
export function oneOfParam<T extends string>(v: unknown, name: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    throw invalidParam(`${name} must be one of ${values.join(', ')}, got ${shownValue(v)}.`);
  return v as T;
}

/** A method's positional params, checked one at a time. */
export class Params {
  readonly params: unknown[];
  /** The usage line, shown when the count is wrong (`getcontract "id"`). */
  readonly usage: string;

  constructor(params: unknown[], usage: string) {
    this.params = params;
    this.usage = usage;
  }

  /** Require min..max params (max defaults to min). */
  count(min: number, max = min): this {
    if (this.params.length < min || this.params.length > max)
      throw invalidParam(`Usage: ${this.usage}`);
    return this;
  }

  /** True if param `i` was given and is not null. */
  has(i: number): boolean {
    return i < this.params.length && this.params[i] !== null && this.params[i] !== undefined;
  }

  get(i: number): unknown {
    return this.params[i];
  }

  /** INVALID_PARAMETER for param `i`: `Position N (name) TEXT` (`text` reads on from the name: `must be ...`). */
  error(i: number, name: string, text: string): RPCError {
    return invalidParam(`${positionLabel(i, name)} ${text}`);
  }

  str(i: number, name: string): string {
    return strParam(this.params[i], positionLabel(i, name));
  }

  uint(i: number, name: string, min?: number, max?: number): number {
    return uintParam(this.params[i], positionLabel(i, name), min, max);
  }

  bool(i: number, name: string): boolean {
    return boolParam(this.params[i], positionLabel(i, name));
  }

  hex(i: number, name: string, bytes?: number): Buffer {
    return hexParam(this.params[i], positionLabel(i, name), bytes);
  }

  size(i: number, name: string, max?: number): number {
    return sizeParam(this.params[i], positionLabel(i, name), max);
  }

  amount(i: number, name: string): number {
    return amountParam(this.params[i], positionLabel(i, name));
  }

  decoded<T>(i: number, name: string, what: string, decode: (raw: Buffer) => T): T {
    return decodedParam(this.params[i], positionLabel(i, name), what, decode);
  }

  oneOf<T extends string>(i: number, name: string, values: readonly T[]): T {
    return oneOfParam(this.params[i], positionLabel(i, name), values);
  }
}

/** An RPC code, or an RPC code and the message to show instead of the error's. */
export type RPCMapping = RPCCode | readonly [RPCCode, string];

/** How one domain error class maps to bitcoind codes. */
export interface ErrorRule {
  matches(e: unknown): e is CodedError<string>;
  /** The mapping for one of the class's codes. */
  map(code: string): RPCMapping;
}

/**
 * A rule for one CodedError class: `codes` by domain code, `fallback` for
 * the rest of its codes.
 */
export function errorRule<C extends string>(
  type: abstract new (...args: never[]) => CodedError<C>,
  codes: Partial<Record<C, RPCMapping>>,
  fallback: RPCCode = rpcCodes.MISC_ERROR
): ErrorRule {
  const table = codes as Partial<Record<string, RPCMapping>>;
  return {
    matches: (e: unknown): e is CodedError<string> => e instanceof type,
    map: (code: string): RPCMapping => table[code] ?? fallback
  };
}

export interface RPCErrorsOptions {
  /** Code for errors no rule matches (default: none, bweb answers INTERNAL_ERROR). */
  other?: RPCCode;
}

/** Build an extension's translator from domain errors to RPCError. */
export function rpcErrors(rules: readonly ErrorRule[], options: RPCErrorsOptions = {}): (e: unknown) => Error {
  return (e: unknown): Error => {
    if (e instanceof RPCError)
      return e;
    for (const rule of rules) {
      if (rule.matches(e)) {
        const m = rule.map(e.code);
        return typeof m === 'number' ? new RPCError(m, e.message) : new RPCError(m[0], m[1]);
      }
    }
    if (e instanceof WalletLockedError)
      return new RPCError(rpcCodes.WALLET_UNLOCK_NEEDED, e.message);
    const err = e as { type?: unknown; code?: unknown; reason?: unknown; message?: unknown } | null;
    // bcoin's wallet asked to sign while locked (Wallet#unlock without a passphrase).
    if (err && err.message === 'No passphrase.')
      return new RPCError(rpcCodes.WALLET_UNLOCK_NEEDED, UNLOCK_NEEDED);
    // bcoin's mempool rejects with a VerifyError (code, reason, score).
    if (err && err.type === 'VerifyError')
      return new RPCError(rpcCodes.VERIFY_REJECTED, `${String(err.code)}: ${String(err.reason)}`);
    // bcoin's coin selector throws a plain Error with this text.
    if (err && typeof err.message === 'string' && /not enough funds/i.test(err.message))
      return new RPCError(rpcCodes.WALLET_INSUFFICIENT_FUNDS, err.message);
    if (options.other !== undefined)
      return new RPCError(options.other, e instanceof Error ? e.message : String(e));
    return e instanceof Error ? e : new Error(String(e));
  };
}

/** One RPC method of an extension: its help (usage on the first line) and its body. */
export interface RPCMethodSpec {
  name: string;
  help: string;
  run(p: Params): unknown;
}

/**
 * Register an extension's methods as one flat list (bcoin's RPC#init):
 * each body gets its Params (usage = the help's first line) and every
 * failure goes through the extension's one translator.
 */
export function addRPCMethods(api: Pick<NodeAPI, 'addRPC'>, methods: readonly RPCMethodSpec[],
  toRPCError: (e: unknown) => Error): void {
  for (const spec of methods) {
    const usage = spec.help.split('\n')[0];
    api.addRPC(spec.name, spec.help, async (params) => {
      try {
        return await spec.run(new Params(params, usage));
      } catch (e) {
        throw toRPCError(e);
      }
    });
  }
}
