/*!
 * units.ts - byte sizes with units for --capacity (`10GB`, `512MiB`, `4096`).
 * Kept here rather than shared with the node: the file server depends on
 * nothing but lib/storage.
 */

const units: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40
};

/** Parses a size; null if malformed. */
export function parseSize(text: string): number | null {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m)
    return null;
  const unit = units[m[2].toLowerCase()];
  if (unit === undefined)
    return null;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}
