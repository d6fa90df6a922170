/*!
 * table.ts - plain text tables for output people compare.
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
