/*!
 * params.ts - validate RPC params of the deals methods.
 */

import { invalidParam } from '../base/errors';
import { parseAmount, parseSize } from '../base/units';
import { MAX_MONEY } from '../contracts/common';
import { MAX_OBJECT_SIZE } from './common';

export function hexParam(v: unknown, name: string, bytes?: number): Buffer {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/i.test(v) || (bytes !== undefined && v.length !== bytes * 2))
    throw invalidParam(`${name} must be ${bytes ? `${bytes} bytes of ` : ''}hex.`);
  return Buffer.from(v, 'hex');
}

export function uintParam(v: unknown, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max)
    throw invalidParam(`${name} must be a whole number from ${min} to ${max}.`);
  return n;
}

/** A size in bytes: a number or text with units (`10MB`). */
export function sizeParam(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? parseSize(v) : null;
  if (n === null || !Number.isSafeInteger(n) || n <= 0 || n > MAX_OBJECT_SIZE)
    throw invalidParam(`${name} must be a size such as 10MB or 4096, at most 1TiB.`);
  return n;
}

/** An amount in sat: a number or text with units (`5000sat`). */
export function amountParam(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? parseAmount(v) : null;
  if (n === null || !Number.isSafeInteger(n) || n < 0 || n > MAX_MONEY)
    throw invalidParam(`${name} must be an amount in sat such as 5000 or 5000sat, at most 21e14.`);
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
