// Shared bench helpers: size flags, a random test file, timing, printing.
import * as fs from 'fs';
import { pipeline } from 'stream/promises';
import { randomFillSync } from 'crypto';
import { parseSize } from '../lib/base/units';

/** Parses `--size 1GB` style flags (decimal and binary units, lib/base/units). */
export function sizeFlag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= argv.length)
    return fallback;
  const size = parseSize(argv[i + 1]);
  if (size === null || size < 1)
    throw new Error(`--${name} must be a size such as 256MB`);
  return size;
}

/** Writes `size` random bytes to `file`, 1 MiB at a time. */
export function randomFile(file: string, size: number): void {
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let off = 0; off < size; off += buf.length) {
    const n = Math.min(buf.length, size - off);
    randomFillSync(buf, 0, n);
    fs.writeSync(fd, buf, 0, n);
  }
  fs.closeSync(fd);
}

/** Runs `fn` and returns seconds taken. */
export async function timed(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** MB/s for `bytes` in `secs`. */
export function mbps(bytes: number, secs: number): string {
  return `${(bytes / 1e6 / secs).toFixed(0)} MB/s`;
}

/** The baseline of the file server benches: a streamed copy of `input` to `out` with fsync, in seconds. */
export async function rawCopy(input: string, out: string): Promise<number> {
  return timed(async () => {
    await pipeline(fs.createReadStream(input, { highWaterMark: 1 << 20 }), fs.createWriteStream(out));
    const fd = fs.openSync(out, 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  });
}

/** One table of a bench's report: column titles and rows of cells. */
export interface BenchTable {
  title: string;
  columns: string[];
  /** Cells as printed; numeric columns are right-aligned. */
  rows: string[][];
}

/** A ratio the final summary of `npm run bench` lists: ours / baseline (higher is better unless `lowerIsBetter`). */
export interface BenchRatio {
  name: string;
  value: number;
  /** What the ratio is against (measured in the same run). */
  baseline: string;
  /** The bar for it, when there is one. */
  target?: number;
  lowerIsBetter?: boolean;
}

/** What a bench prints: tables for people, and with `--json` the same as JSON for bench/run.ts. */
export interface BenchReport {
  bench: string;
  notes: string[];
  tables: BenchTable[];
  ratios: BenchRatio[];
}

/** Renders a table: titles, a rule, rows; cells that look numeric are right-aligned. */
export function formatTable(t: BenchTable): string {
  const numeric = t.columns.map((_, i) => t.rows.length > 0 && t.rows.every((r) => /^[-0-9.,]+( ?[a-zA-Z/%]+)?$|^-$/.test(r[i] ?? '')));
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [`${t.title}`, fmt(t.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(fmt)].join('\n');
}

/** Prints `report` as tables (or JSON with --json in argv). */
export function printReport(report: BenchReport, argv: string[] = process.argv): void {
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const out: string[] = [...report.notes];
  for (const t of report.tables)
    out.push('', formatTable(t));
  if (report.ratios.length > 0)
    out.push('', formatTable(ratioTable(report.ratios)));
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The summary table of ratios. */
export function ratioTable(ratios: BenchRatio[], title = 'ratios'): BenchTable {
  return {
    title,
    columns: ['measure', 'ratio', 'baseline (same run)', 'bar'],
    rows: ratios.map((r) => [r.name, r.value.toFixed(2), r.baseline,
      r.target === undefined ? '-' : `${r.lowerIsBetter ? '<=' : '>='} ${r.target} ${(r.lowerIsBetter ? r.value <= r.target : r.value >= r.target) ? 'ok' : 'MISSED'}`])
  };
}

/** A numeric flag `--name N` (a whole number), or `fallback`. */
export function intFlag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0)
    return fallback;
  const n = Number(argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number`);
  return n;
}

/** A string flag `--name VALUE`, or `fallback`. */
export function stringFlag(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}

/** A field of /proc/PID/status in bytes (VmRSS, VmHWM); 0 when unreadable. */
export function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function procCPU(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
