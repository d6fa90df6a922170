// Shared bench helpers: size flags, a random test file, timing, printing.
import * as fs from 'fs';
import * as http from 'http';
import { spawn, ChildProcess } from 'child_process';
import { pipeline } from 'stream/promises';
import { createHash, randomFillSync } from 'crypto';
import * as path from 'path';
import { parseSize } from '../lib/base/units';
import { RPCClient } from '../lib/cli/rpcclient';
import { RenterClient } from '../lib/deals/renterclient';
import type { LocalNet, LocalNode } from '../scripts/localnet';
import { chainTemplate, seedNode } from './chain';

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

/** One size of a list flag (`--sizes 64MiB,1GiB`, `--cells 64MiB:3`) in bytes; throws naming `flag` for anything not a size above 0. */
export function listSize(text: string, flag: string): number {
  const n = parseSize(text);
  if (n === null || n < 1)
    throw new Error(`${flag}: ${text} is not a size`);
  return n;
}

/** A comma-separated list of sizes `--name 1MB,1GB` (or `fallback`), each with its text as given. */
export function sizesFlag(argv: string[], name: string, fallback: string): Array<{ label: string; n: number }> {
  return stringFlag(argv, name, fallback).split(',').map((label) => ({ label, n: listSize(label, `--${name}`) }));
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

/** SHA-256 of a file, hex, streamed. */
export async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

/**
 * Whether two files hold the same bytes, read 1 MiB at a time from each
 * and compared: stronger than comparing digests, and a fraction of their
 * CPU (a 1 GiB SHA-256 is about 0.8 CPU s here, which a loaded run pays
 * in tens of wall seconds).
 */
export async function sameFile(a: string, b: string): Promise<boolean> {
  const size = fs.statSync(a).size;
  if (fs.statSync(b).size !== size)
    return false;
  const [fa, fb] = await Promise.all([fs.promises.open(a, 'r'), fs.promises.open(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(1 << 20);
    const bb = Buffer.allocUnsafe(1 << 20);
    for (let off = 0; off < size; off += ba.length) {
      const n = Math.min(ba.length, size - off);
      const [ra, rb] = await Promise.all([fa.read(ba, 0, n, off), fb.read(bb, 0, n, off)]);
      if (ra.bytesRead !== n || rb.bytesRead !== n || !ba.subarray(0, n).equals(bb.subarray(0, n)))
        return false;
    }
    return true;
  } finally {
    await fa.close();
    await fb.close();
  }
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

/** User and system CPU seconds a process has used so far, from /proc/PID/stat (clock ticks of 1/100 s). */
export function procCPUTimes(pid: number): { user: number; sys: number } {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function procCPU(pid: number): number {
  const { user, sys } = procCPUTimes(pid);
  return user + sys;
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The raw baseline's server (another process, as a file server is): PUT streams the body into a file and fsyncs it; GET streams it back. */
const RAW_SERVER = `
const http = require('http'); const fs = require('fs');
const { pipeline } = require('stream/promises');
const dir = process.argv[1];
const s = http.createServer((req, res) => {
  const dest = require('path').join(dir, 'raw-' + (req.url || '/').replace(/[^a-z0-9]/g, ''));
  if (req.method === 'PUT')
    pipeline(req, fs.createWriteStream(dest)).then(() => {
      const fd = fs.openSync(dest, 'r'); fs.fsyncSync(fd); fs.closeSync(fd); res.end('ok');
    }, () => res.destroy());
  else
    pipeline(fs.createReadStream(dest, { highWaterMark: 1 << 20 }), res).catch(() => res.destroy());
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

/** The raw baseline's server process, storing each path as a file in `dir`. */
export async function rawServer(dir: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['-e', RAW_SERVER, dir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString())));
    proc.once('exit', (code) => reject(new Error(`raw server exited with ${code}`)));
  });
  return { proc, port };
}

/** Raw upload: `file` streamed in one PUT to /NAME. */
export function rawPut(port: number, file: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/${name}`, method: 'PUT', headers: { 'content-length': fs.statSync(file).size } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(req);
  });
}

/** Raw download: one GET of /NAME streamed into `out`, fsynced. */
export function rawGet(port: number, name: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/${name}` }, (res) => {
      pipeline(res, fs.createWriteStream(out)).then(() => {
        const fd = fs.openSync(out, 'r');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        resolve();
      }, reject);
    }).on('error', reject);
  });
}

/**
 * A renter and `hosts` hosts (cloudcoind on loopback) in `net`, the hosts
 * connected, on the pre-mined chain (bench/chain.ts: segwit active, the
 * renter's wallet holding its coins): the renter, its RPC client, a
 * RenterClient over it and a mining address of its wallet.
 */
export async function renterWithHosts(net: LocalNet, hosts: number)
  : Promise<{ renter: LocalNode; rpc: RPCClient; client: RenterClient; addr: string }> {
  const chain = await chainTemplate(net);
  const renter = await net.node('renter');
  seedNode(chain, renter, true);
  const hostNodes: LocalNode[] = [];
  for (let i = 0; i < hosts; i++) {
    hostNodes.push(await net.node(`host-${i}`));
    seedNode(chain, hostNodes[i], false);
  }
  await net.daemon(renter);
  await Promise.all(hostNodes.map((h) => net.daemon(h, ['--host', '--connect', `127.0.0.1:${renter.port}`])));
  await net.until('the hosts', async () => net.json<unknown[]>(renter, ['getcloudpeers']), (p) => p.length === hosts);
  const addr = (await net.cli(renter, ['getnewaddress'])).trim();
  const rpc = new RPCClient({ host: '127.0.0.1', port: renter.rpcPort, cookieFile: path.join(renter.base, 'regtest', '.cookie') });
  return { renter, rpc, client: new RenterClient((method, params) => rpc.call(method, params)), addr };
}
