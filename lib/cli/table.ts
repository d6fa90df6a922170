/*!
 * table.ts - plain text tables for output people compare, and the escaping
 * that keeps any stored name on one printable line.
 */

export type Align = 'left' | 'right';

export interface Column<T> {
  title: string;
  value(row: T): string;
  align?: Align;
}

/** Render rows as an aligned table with a header and a rule. */
export function renderTable<T>(columns: Column<T>[], rows: T[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i].length)));
  const fmt = (values: string[]) => values
    .map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i])))
    .join('  ')
    .trimEnd();
  const lines = [fmt(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells)
    lines.push(fmt(r));
  return lines.join('\n');
}

const ESCAPES: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x5c: '\\\\' };

/** Length of the UTF-8 sequence a lead byte starts, or 0 if it starts none. */
function sequenceLength(b: number): number {
  if (b >= 0xc2 && b <= 0xdf)
    return 2;
  if (b >= 0xe0 && b <= 0xef)
    return 3;
  if (b >= 0xf0 && b <= 0xf4)
    return 4;
  return 0;
}

/**
 * Bytes (a stored file name) as one printable line: valid UTF-8 shows as
 * is; control and format characters, backslashes and bytes that are not
 * UTF-8 are escaped (`\n`, `\t`, `\xff`, `\u{202e}`), so no name can break
 * a table row or fake another.
 */
export function escapeName(raw: Buffer): string {
  let out = '';
  for (let i = 0; i < raw.length;) {
    const b = raw[i];
    if (b < 0x80) {
      out += ESCAPES[b] ?? (b < 0x20 || b === 0x7f ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b));
      i += 1;
      continue;
    }
    const n = sequenceLength(b);
    const seq = raw.subarray(i, i + n);
    const ch = n && seq.length === n ? seq.toString('utf8') : '';
    if (ch.length === 0 || ch.includes('\ufffd') || !Buffer.from(ch, 'utf8').equals(seq)) {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i += 1;
      continue;
    }
    out += /\p{C}/u.test(ch) ? `\\u{${ch.codePointAt(0)!.toString(16)}}` : ch;
    i += n;
  }
  return out;
}
