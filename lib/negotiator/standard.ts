/*!
 * standard.ts - the methods every service answers (decloud's service
 * template: "version information", "service.methods", and
 * "service.quote(method_name, units_of_service)"), PROTOCOL 2.7:
 *
 *   SERVICE.version  -> u32 version
 *   SERVICE.methods  -> varint m; m x (varstr method, u64 price)
 *   SERVICE.quote    -> u64 price of `method` called with args `units`
 *
 * A service that defines a method of one of these names keeps its own
 * (storage's `quote` takes its units, size and duration, and answers its
 * prices). Malformed args are the caller's `bad-request` with a ban score
 * (ServiceError.score): these methods are new in cs version 3, so a
 * peer that sends them knows their layout.
 */

import bio = require('bufio');
import { MAX_ARGS_SIZE, MAX_METHODS } from './common';
import { ServiceError } from './errors';
import { amountBody, readAmountBody, statuses } from './status';
import type { MethodSpec, RequestContext, Service } from './services';
import {
  checkEnd, readAmount, readLength, readName, readU32, readVarBytes, sizeVarBytes, sizeVarint, writeAmount, isName
} from './wire';

/** Names of the standard methods, in the order `methods` lists them after a service's own. */
export const STANDARD_METHODS = ['version', 'methods', 'quote'] as const;

/** The price of a call for a caller: the service's quote, at least the policy's min-payment (sat). */
export type PriceOf = (service: Service, method: string, args: Buffer, from: Buffer) => Promise<number>;

/** One method and its price for the caller, as `SERVICE.methods` lists it. */
export interface MethodPrice {
  name: string;
  /** Sat for a call with empty args. */
  price: number;
}

/** Run a decoder over peer bytes; any failure is `bad-args` (scored by the dispatcher). */
function parse<T>(f: () => T): T {
  try {
    return f();
  } catch {
    throw ServiceError.badArgs();
  }
}

function noArgs(args: Buffer): void {
  // [REJECT] version and methods take no arguments
  if (args.length !== 0)
    throw ServiceError.badArgs();
}

/** `version` body: u32 LE. */
export function encodeVersion(version: number): Buffer {
  const bw = bio.write(4);
  bw.writeU32(version);
  return bw.render();
}

export function decodeVersion(body: Buffer): number {
  const br = bio.read(body);
  const v = readU32(br);
  checkEnd(br);
  return v;
}

/** `methods` body: varint m (<= 64); m x (varstr name, u64 price). */
export function encodeMethods(list: MethodPrice[]): Buffer {
  let size = sizeVarint(list.length);
  for (const m of list)
    size += sizeVarBytes(m.name.length) + 8;
  const bw = bio.write(size);
  bw.writeVarint(list.length);
  for (const m of list) {
    bw.writeVarString(m.name, 'latin1');
    writeAmount(bw, m.price);
  }
  return bw.render();
}

export function decodeMethods(body: Buffer): MethodPrice[] {
  const br = bio.read(body);
  const n = readLength(br, MAX_METHODS);
  const out: MethodPrice[] = [];
  for (let i = 0; i < n; i++)
    out.push({ name: readName(br), price: readAmount(br) });
  checkEnd(br);
  return out;
}

/** `quote` args: varstr method || varbytes units (the args the call would carry). */
export interface QuoteCall {
  method: string;
  units: Buffer;
}

export function encodeQuoteArgs(q: QuoteCall): Buffer {
  const bw = bio.write(sizeVarBytes(q.method.length) + sizeVarBytes(q.units.length));
  bw.writeVarString(q.method, 'latin1');
  bw.writeVarBytes(q.units);
  return bw.render();
}

/** Throws PacketError on malformed args (a bad name, a length past the bytes, trailing bytes). */
export function decodeQuoteArgs(args: Buffer): QuoteCall {
  const br = bio.read(args);
  const method = readName(br);
  const units = readVarBytes(br, MAX_ARGS_SIZE);
  checkEnd(br);
  return { method, units };
}

/** `quote` body: u64 price in sat, laid out as a `too-low` amount body. */
export const encodePrice = amountBody;

/** Throws PacketError on a malformed price body. */
export const decodePrice = readAmountBody;

/** cloudrequest JSON for a method without args: nothing, null, [] or {}. */
export function emptyArgs(json: unknown): Buffer {
  if (json !== undefined && json !== null && !(Array.isArray(json) && json.length === 0)
      && !(typeof json === 'object' && Object.keys(json).length === 0))
    throw new Error('This method takes no arguments.');
  return Buffer.alloc(0);
}

/** cloudrequest JSON for `quote`: `{"method": NAME, "units": HEX}` (units optional). */
function quoteArgsJSON(json: unknown): Buffer {
  const o = (json ?? {}) as { method?: unknown; units?: unknown };
  if (typeof o.method !== 'string' || !isName(o.method))
    throw new Error('method must be a method name.');
  const units = o.units ?? '';
  if (typeof units !== 'string' || !/^([0-9a-f]{2})*$/i.test(units))
    throw new Error('units must be hex (the args of the call quoted).');
  return encodeQuoteArgs({ method: o.method, units: Buffer.from(units, 'hex') });
}

/** The standard methods `service` lacks, priced for each caller by `priceOf`. */
export function standardMethods(service: Service, priceOf: PriceOf): Record<string, MethodSpec> {
  const own = (name: string): boolean => Object.prototype.hasOwnProperty.call(service.methods, name);
  const all = (): string[] => [...Object.keys(service.methods), ...STANDARD_METHODS.filter((m) => !own(m))];
  const out: Record<string, MethodSpec> = {};
  if (!own('version')) {
    out.version = {
      description: 'the service\'s version (u32)',
      handler(args: Buffer): Buffer {
        noArgs(args);
        return encodeVersion(service.version);
      },
      encodeArgs: emptyArgs,
      decodeBody: (body) => ({ version: decodeVersion(body) })
    };
  }
  if (!own('methods')) {
    out.methods = {
      description: 'the service\'s methods with their prices for the caller (sat, empty args)',
      async handler(args: Buffer, ctx: RequestContext): Promise<Buffer> {
        noArgs(args);
        const list: MethodPrice[] = [];
        for (const name of all())
          list.push({ name, price: await priceOf(service, name, Buffer.alloc(0), ctx.from) });
        return encodeMethods(list);
      },
      encodeArgs: emptyArgs,
      decodeBody: decodeMethods
    };
  }
  if (!own('quote')) {
    out.quote = {
      description: 'the price (sat) of calling METHOD with args UNITS, for the caller',
      async handler(args: Buffer, ctx: RequestContext): Promise<Buffer> {
        const q = parse(() => decodeQuoteArgs(args));
        // [DECLINE] a method this service does not offer: not malformed (a newer peer may know it)
        if (!all().includes(q.method))
          throw new ServiceError(statuses.METHOD_UNSUPPORTED, 'unknown-method', Buffer.from('unknown-method', 'ascii'));
        return encodePrice(await priceOf(service, q.method, q.units, ctx.from));
      },
      encodeArgs: quoteArgsJSON,
      decodeBody: (body) => ({ price: decodePrice(body) })
    };
  }
  return out;
}
