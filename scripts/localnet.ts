/*!
 * localnet.ts - a private regtest network of cloudcoind processes on
 * loopback in one temp dir, driven through cloudcoin-cli. Used by
 * `npm run demo` and the end-to-end benchmarks.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, execFile, spawn } from 'child_process';
import { freePorts } from '../lib/node/ports';

/** The package root, from source (scripts/) or compiled (dist/scripts/). */
function findRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'bin', 'cloudcoind')))
      return d;
  }
  throw new Error(`cannot find the cloudcoin package above ${dir}`);
}

export const ROOT = findRoot(__dirname);
export const BIN = (name: string): string => path.join(ROOT, 'bin', name);
/** How long one start-up or wait may take. */
export const STEP_TIMEOUT_MS = 60000;
/** How long a node may take to shut down cleanly before it is killed. */
const STOP_GRACE_MS = 10000;

export interface LocalNode {
  name: string;
  base: string;
  port: number;
  rpcPort: number;
}

export class LocalNet {
  readonly dir: string;
  keep = false;
  private readonly children: ChildProcess[] = [];
  /** Children started in their own process group: signalled as a group. */
  private readonly groups = new Set<ChildProcess>();

  constructor(prefix = 'cloudcoin-net-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    // Whatever happens to this process, its nodes must not outlive it.
    process.on('exit', () => this.killAll());
  }

  /** Start a process logging to `<dir>/<name>.log`; resolves when `ready` shows on stdout. */
  start(name: string, args: string[], ready: RegExp): Promise<ChildProcess> {
    const log = fs.openSync(path.join(this.dir, `${name}.log`), 'a');
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', log] });
    this.children.push(proc);
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start; see ${name}.log`)), STEP_TIMEOUT_MS);
      proc.stdout!.on('data', (d: Buffer) => {
        fs.writeSync(log, d);
        out += d.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve(proc);
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code}; see ${path.join(this.dir, `${name}.log`)}`));
      });
    });
  }

  /**
   * Start a program that is not ours (php -S), in its own process group so
   * its workers stop with it; logs to `<dir>/<name>.log`. Readiness is the
   * caller's to check (the program prints no fixed line).
   */
  startProgram(name: string, cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const log = fs.openSync(path.join(this.dir, `${name}.log`), 'a');
    const proc = spawn(cmd, args, { stdio: ['ignore', log, log], cwd: opts.cwd, env: opts.env, detached: true });
    this.children.push(proc);
    this.groups.add(proc);
    return proc;
  }

  /** Free ports for a node. */
  async node(name: string): Promise<LocalNode> {
    const [port, rpcPort] = await freePorts(2);
    return { name, base: path.join(this.dir, name), port, rpcPort };
  }

  /** Start cloudcoind for `n` with extra flags. */
  daemon(n: LocalNode, extra: string[] = []): Promise<ChildProcess> {
    return this.start(n.name, [BIN('cloudcoind'), '--regtest', '--datadir', n.base, '--bind', '127.0.0.1',
      '--port', String(n.port), '--rpcport', String(n.rpcPort), ...extra], /extensions:/);
  }

  /** Run cloudcoin-cli against `n`; resolves with stdout. */
  cli(n: LocalNode, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [BIN('cloudcoin-cli'), '--regtest', '--datadir', n.base,
        '--rpcport', String(n.rpcPort), ...args], { maxBuffer: 64 << 20, timeout: 10 * 60 * 1000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`cloudcoin-cli ${args[0]} failed: ${stderr.trim() || err.message}`));
        else
          resolve(stdout.toString());
      });
    });
  }

  async json<T>(n: LocalNode, args: string[]): Promise<T> {
    return JSON.parse(await this.cli(n, args)) as T;
  }

  /** Poll `get` until `ok`, or fail after STEP_TIMEOUT_MS saying what was awaited. */
  async until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (;;) {
      const v = await get();
      if (ok(v))
        return v;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Mine `blocks` to a fresh address of `n`; returns the address. */
  async mine(n: LocalNode, blocks: number, address?: string): Promise<string> {
    const addr = address || (await this.cli(n, ['getnewaddress'])).trim();
    await this.cli(n, ['generatetoaddress', String(blocks), addr]);
    return addr;
  }

  /** Processes still running. */
  private running(): ChildProcess[] {
    return this.children.filter((c) => c.exitCode === null && c.signalCode === null);
  }

  /** Kill every process now (for an 'exit' handler: no waiting there). */
  killAll(): void {
    for (const c of this.running())
      this.signal(c, 'SIGKILL');
  }

  private signal(c: ChildProcess, sig: NodeJS.Signals): void {
    try {
      if (this.groups.has(c))
        process.kill(-c.pid!, sig);
      else
        c.kill(sig);
    } catch {
      // already gone
    }
  }

  /**
   * Stop every process (SIGTERM, then SIGKILL after STOP_GRACE_MS), wait
   * for them to exit, then remove the dir unless `keep`.
   */
  async cleanup(): Promise<void> {
    const live = this.running();
    const exits = live.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
    for (const c of live)
      this.signal(c, 'SIGTERM');
    const timer = setTimeout(() => this.killAll(), STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(timer);
    if (!this.keep) {
      try {
        fs.rmSync(this.dir, { recursive: true, force: true });
      } catch (e) {
        process.stderr.write(`could not remove ${this.dir}: ${(e as Error).message}\n`);
      }
    }
  }
}
