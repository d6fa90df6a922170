// Pieces every reliability suite shares: loopback source addresses for
// hostile clients, RSS sampling of a process, latency percentiles, a
// teardown list for the networks the suites start, the start every
// network suite makes (seed, work folder, extra daemons), RPC calls that
// name the method in their errors, a file fetched as a user does, and
// the contracts' chain view every index must agree on.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess, tempDir } from '../util/nodes-context';
import { Rng } from './mutate';

/**
 * Source addresses 127.1.0.1, 127.1.0.2, ... for hostile connections: all
 * of 127/8 is this machine, so each offender gets an address of its own
 * (a node bans by IP) and none is 127.0.0.1, where the honest peers live.
 */
export class LoopbackAddresses {
  private n = 0;

  next(): string {
    for (;;) {
      const i = this.n++;
      const a = 1 + Math.floor(i / 65536) % 254;
      const b = Math.floor(i / 256) % 256;
      const c = i % 256;
      if (c === 0 || c === 255)
        continue;
      return `127.${a}.${b}.${c}`;
    }
  }
}

/** Resident set size of a process in bytes (Linux /proc), or null once it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS on a timer: first, last and highest value. */
export class RssSampler {
  readonly samples: number[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly pid: () => number | undefined;

  constructor(pid: () => number | undefined, everyMs = 500) {
    this.pid = pid;
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): void {
    const pid = this.pid();
    const rss = pid === undefined ? null : rssOf(pid);
    if (rss !== null)
      this.samples.push(rss);
  }

  stop(): void {
    this.sample();
    if (this.timer)
      clearInterval(this.timer);
    this.timer = null;
  }

  get max(): number {
    return this.samples.length ? Math.max(...this.samples) : 0;
  }

  get first(): number {
    return this.samples[0] ?? 0;
  }

  get last(): number {
    return this.samples[this.samples.length - 1] ?? 0;
  }

  /** Median of the samples in [from, to) of the run (fractions), to compare start and end. */
  median(from: number, to: number): number {
    const s = this.samples.slice(Math.floor(this.samples.length * from), Math.ceil(this.samples.length * to));
    if (!s.length)
      return 0;
    s.sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }
}

/** Bytes as whole MB (10^6, as `ps` and most dashboards show them). */
export function mb(bytes: number): number {
  return Math.round(bytes / 1e6);
}

/** The p-th percentile (0..100) of values, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (!values.length)
    return 0;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1];
}

/** Milliseconds with one decimal. */
export function ms(v: number): string {
  return `${v.toFixed(1)} ms`;
}

/** Run `fn` over `items` with at most `limit` in flight; resolves with results in order. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length)
        return;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Cleanups run in reverse order (what startNetwork's `t` takes, outside tap). */
export class Teardown {
  private fns: Array<() => unknown> = [];

  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }

  async run(): Promise<void> {
    for (const fn of this.fns.reverse())
      await fn();
  }
}

/** What a suite over cloudcoind processes starts with. */
export interface SuiteStart {
  log: (line: string) => void;
  /** The seed of `rng`, printed first: `--seed N` replays the run's choices. */
  seed: number;
  rng: Rng;
  /** Cleanups (the work folder's removal is the last). */
  td: Teardown;
  /** A temp folder for the files the suite puts and gets. */
  work: string;
  failures: string[];
}

/** Seed (given, or from the clock), printed; a teardown list; a work folder `<tmp>/<prefix>XXXXXX`. */
export function startSuite(prefix: string, options: { seed?: number; log?: (line: string) => void }): SuiteStart {
  const log = options.log ?? (() => {});
  const seed = options.seed ?? (Date.now() >>> 0);
  log(`seed ${seed} (--seed ${seed} replays the run's choices)`);
  const td = new Teardown();
  const work = tempDir(prefix);
  td.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  return { log, seed, rng: new Rng(seed), td, work, failures: [] };
}

/** A cloudcoind started with `args`; `td` kills it (SIGKILL) and removes its datadir. */
export async function startDaemon(td: Teardown, args: string[]): Promise<DaemonProcess> {
  const d = await DaemonProcess.create();
  td.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  await d.start(args);
  return d;
}

/** `cloudcoin-cli get` of a file into `work`, as a user runs it: its bytes, or null if get failed. */
export async function getFile(renter: DaemonProcess, work: string, fileId: string): Promise<Buffer | null> {
  const out = path.join(work, `get-${fileId.slice(0, 8)}-${randomBytes(4).toString('hex')}`);
  const r = await renter.cli(['get', fileId, out]);
  if (r.code !== 0)
    return null;
  const b = fs.readFileSync(out);
  fs.rmSync(out, { force: true });
  return b;
}

/** One RPC call to a daemon; its error names the method and params. */
export async function call<T>(d: DaemonProcess, method: string, params: unknown[] = []): Promise<T> {
  try {
    return await d.client().call(method, params) as T;
  } catch (e) {
    throw new Error(`${method} ${JSON.stringify(params)}: ${(e as Error).message}`);
  }
}

/** What listcontracts shows that the chain decides. */
export interface ChainContractJSON {
  id: string;
  state: string;
  commit: { txid: string; height: number | null; vout?: number } | null;
  spend: { type: string; txid: string } | null;
}

/**
 * The contracts' chain view (resolved records: id, state, commit outpoint
 * and height, spend), sorted: what every node's index must show at one tip.
 */
export function chainView(list: ChainContractJSON[]): string[] {
  return list.filter((c) => c.commit && c.commit.height !== null && c.state !== 'pending' && c.state !== 'void')
    .map((c) => `${c.id} ${c.state} ${c.commit!.txid}:${c.commit!.vout}@${c.commit!.height} ${c.spend ? `${c.spend.type}:${c.spend.txid}` : 'unspent'}`)
    .sort();
}
