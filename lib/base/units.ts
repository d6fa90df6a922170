/*!
 * units.ts - parse human sizes (`10GB`, `512MiB`) and amounts (`5000sat`).
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
  k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40
};

/**
 * Parse a byte size. Decimal units are SI (`MB` = 10^6), binary units are
 * IEC (`MiB` = 2^20), as `df -H`/`df -h` users expect. Returns null when the
 * text is not a size or exceeds 2^53.
 */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m)
    return null;
  const unit = SIZE_UNITS[m[2].toLowerCase()];
  if (unit === undefined)
    return null;
  const value = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(value))
    return null;
  return value;
}

/**
 * Parse an amount in satoshis: `5000`, `5000sat`, `0.5btc`, `12mbtc`.
 * Returns null for anything else, negative values or fractions of a sat.
 */
export function parseAmount(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(sat|sats|btc|mbtc)?\s*$/i.exec(text);
  if (!m)
    return null;
  const unit = (m[2] || 'sat').toLowerCase();
  const scale = unit === 'btc' ? 1e8 : unit === 'mbtc' ? 1e5 : 1;
  const value = Number(m[1]) * scale;
  const rounded = Math.round(value);
  if (Math.abs(value - rounded) > 1e-6 || !Number.isSafeInteger(rounded))
    return null;
  return rounded;
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
