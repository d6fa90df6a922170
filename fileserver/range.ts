/*!
 * range.ts - the one form of HTTP Range the file server serves: a single
 * byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
 */

/** An inclusive byte range, or an error code. */
export type RangeResult = { start: number; end: number } | 'bad-range' | null;

/**
 * Parses a Range header against an object of `size` bytes. Returns null
 * when there is no header, 'bad-range' when it is malformed, multi-part or
 * unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined)
    return null;
  const m = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === ''))
    return 'bad-range';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0)
      return 'bad-range';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size)
    return 'bad-range';
  return { start, end };
}
