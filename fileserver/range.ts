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
  // Any number of digits: an end past the object is clamped (RFC 9110
  // 14.1.2), however large; a start or suffix that long is simply huge.
  const m = /^bytes=([0-9]*)-([0-9]*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '') || header.length > 200)
    return 'bad-range';
  const num = (text: string): number => (text.replace(/^0+(?=.)/, '').length > 16 ? Infinity : Number(text));
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = num(m[2]);
    if (n === 0)
      return 'bad-range';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = num(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(num(m[2]), size - 1);
  }
  if (start > end || start >= size)
    return 'bad-range';
  return { start, end };
}
