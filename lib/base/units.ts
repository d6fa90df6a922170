/*!
 * units.ts - exact parsers for byte sizes (`10GB`, `512MiB`, `2.01MB`) and
 * satoshi amounts (`5000sat`, `0.1btc`), and a size formatter.
 *
 * One unit table serves the node's flags and conf, the CLI and the file
 * server. Parsing is decimal string arithmetic on BigInt, never floating
 * point: `2.01MB` is exactly 2010000 bytes and `0.1btc` exactly 10000000
 * sat. A value that is not a whole number of bytes or satoshis (`1.5B`,
 * `0.5sat`), negative, empty, not a number, with an unknown unit, or above
 * 2^53 - 1 (Number.MAX_SAFE_INTEGER) is refused (null).
 *
 * Sizes (units are case-insensitive; none means bytes):
 *   B                       1
 *   kB  MB  GB  TB          10^3, 10^6, 10^9, 10^12      (SI, as `df -H`)
 *   KiB MiB GiB TiB         2^10, 2^20, 2^30, 2^40       (IEC, as `df -h`)
 *   K   M   G   T           2^10, 2^20, 2^30, 2^40       (as dd, docker, ls -h)
 * Amounts (none means sat):
 *   sat, sats               1
 *   mbtc                    10^5 sat
 *   btc                     10^8 sat
 */

/** Bytes per size unit, keyed by the lowercased unit. */
export const SIZE_UNITS: Readonly<Record<string, bigint>> = {
  '': 1n, b: 1n,
  kb: 10n ** 3n, mb: 10n ** 6n, gb: 10n ** 9n, tb: 10n ** 12n,
  kib: 2n ** 10n, mib: 2n ** 20n, gib: 2n ** 30n, tib: 2n ** 40n,
  k: 2n ** 10n, m: 2n ** 20n, g: 2n ** 30n, t: 2n ** 40n
};

/** Satoshis per amount unit, keyed by the lowercased unit. */
export const AMOUNT_UNITS: Readonly<Record<string, bigint>> = {
  '': 1n, sat: 1n, sats: 1n,
  mbtc: 10n ** 5n,
  btc: 10n ** 8n
};

/** Longest text either parser reads: more digits than 2^53 needs, plus a unit. */
const MAX_TEXT = 64;

/**
 * `digits[.fraction] unit` times the unit's value, exactly; null unless it
 * is a whole number from 0 to 2^53 - 1.
 */
function parseScaled(text: string, units: Readonly<Record<string, bigint>>): number | null {
  if (typeof text !== 'string' || text.length > MAX_TEXT)
    return null;
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m)
    return null;
  const unit = units[m[3].toLowerCase()];
  if (unit === undefined)
    return null;
  const fraction = m[2] ?? '';
  const denominator = 10n ** BigInt(fraction.length);
  const scaled = (BigInt(m[1]) * denominator + BigInt(fraction || '0')) * unit;
  // [REFUSE] a fraction of a byte or a satoshi
  if (scaled % denominator !== 0n)
    return null;
  const value = scaled / denominator;
  // [REFUSE] past 2^53 - 1, where a JS number stops being exact
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    return null;
  return Number(value);
}

/**
 * A byte size: `4096`, `10GB` (SI), `512MiB` or `512M` (IEC), `2.01MB`.
 * @returns bytes, or null (see the header for what is refused)
 */
export function parseSize(text: string): number | null {
  return parseScaled(text, SIZE_UNITS);
}

/**
 * An amount in satoshis: `5000`, `5000sat`, `12mbtc`, `0.1btc`.
 * @returns sat, or null (see the header for what is refused)
 */
export function parseAmount(text: string): number | null {
  return parseScaled(text, AMOUNT_UNITS);
}

/** Format bytes for people: `1.5 MiB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  return i === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[i]}`;
}
