// Start N regtest cloudcoind nodes for tests: in-process (CloudNode) or as
// child processes (bin/cloudcoind), on free loopback ports in temp datadirs.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn, execFile } from 'child_process';
import { CloudNode, type CloudNodeOptions } from '../../lib/node/cloudnode';
import { Config } from '../../lib/node/config';
import { networkDir } from '../../lib/node/datadir';
import type { ExtensionModule } from '../../lib/base/extension';
import { defaultExtensions } from '../../lib/cli/extensions';
import { freePorts } from '../../lib/node/ports';
import { RPCClient } from '../../lib/cli/rpcclient';
import { forValue, stretched, WAIT_TIMEOUT_MS } from './wait';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLOUDCOIND = path.join(ROOT, 'bin', 'cloudcoind');
export const CLOUDCOIN_CLI = path.join(ROOT, 'bin', 'cloudcoin-cli');

/**
 * `node ARGS` as a user's shell runs it, as [command, args] for spawn:
 * tap's process tracker puts its loader into every child's NODE_OPTIONS
 * (it patches spawn, so a cleaned env is not enough: cli-readme-test),
 * which doubled a CLI's start CPU (0.17 -> 0.42 s user) and ran the
 * programs under require hooks users never have (a CLI failed under them
 * with its own imports undefined). `env -u` drops it after the spawn;
 * env execs node, so the child's pid is node's.
 */
export function plainNode(args: string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...args]];
}

/**
 * Deadline for a cloudcoind process to print its banner on an unloaded
 * machine, stretched by the load when it starts (wait.ts): opening bcoin and
 * every extension takes seconds alone and far longer on a loaded machine
 * (a niced test's first daemon at load 25 missed a fixed 60 s).
 */
const START_TIMEOUT_MS = 3 * WAIT_TIMEOUT_MS;

/** A fresh temp directory, removed by `cleanup`. */
export function tempDir(prefix = 'cc-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface NodeSpec {
  memory?: boolean;
  extensions?: ExtensionModule[];
  /** Flags/conf values extensions read, e.g. `{ host: true }`. */
  config?: Record<string, string | boolean | string[]>;
  /** Extra cloudcoind flags (process mode). */
  args?: string[];
}

/** One in-process node with its ports and datadir. */
export class TestNode {
  readonly base: string;
  readonly datadir: string;
  readonly port: number;
  readonly rpcPort: number;
  readonly spec: NodeSpec;
  node!: CloudNode;

  constructor(base: string, port: number, rpcPort: number, spec: NodeSpec) {
    this.base = base;
    this.datadir = networkDir(base, 'regtest');
    this.port = port;
    this.rpcPort = rpcPort;
    this.spec = spec;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  async open(extra: Partial<CloudNodeOptions> = {}): Promise<CloudNode> {
    const cfg = new Config(new Map(Object.entries(this.spec.config || {})));
    this.node = new CloudNode({
      network: 'regtest',
      datadir: this.datadir,
      memory: this.spec.memory === true,
      host: '127.0.0.1',
      port: this.port,
      rpcPort: this.rpcPort,
      apiKey: 'test',
      logLevel: process.env.CC_LOG_LEVEL || 'error',
      extensions: this.spec.extensions ?? defaultExtensions(),
      config: cfg,
      ...extra
    });
    await this.node.open();
    await this.node.connect();
    return this.node;
  }

  async close(): Promise<void> {
    if (this.node)
      await this.node.close();
  }

  /** Call an RPC method in-process; throws on RPC error. */
  async rpc(method: string, params: unknown[] = []): Promise<unknown> {
    const res = await this.node.node.rpc.call({ method, params }, {});
    if (res.error)
      throw Object.assign(new Error(res.error.message), { code: res.error.code });
    return res.result;
  }

  async address(): Promise<string> {
    return await this.rpc('getnewaddress') as string;
  }

  /** Mine `n` blocks to this node's wallet; waits for the wallet. */
  async mine(n: number): Promise<void> {
    await this.rpc('generatetoaddress', [n, await this.address()]);
    await this.node.waitWalletSynced();
    await this.node.hooksIdle();
  }

  get height(): number {
    return this.node.chain.height;
  }
}

/** N in-process nodes. */
export class NodesContext {
  readonly nodes: TestNode[] = [];
  readonly dirs: string[] = [];

  static async create(specs: NodeSpec[]): Promise<NodesContext> {
    const ctx = new NodesContext();
    const ports = await freePorts(specs.length * 2);
    specs.forEach((spec, i) => {
      const base = tempDir();
      ctx.dirs.push(base);
      ctx.nodes.push(new TestNode(base, ports[2 * i], ports[2 * i + 1], spec));
    });
    return ctx;
  }

  async open(): Promise<void> {
    for (const n of this.nodes)
      await n.open();
  }

  /** Connect node i to node j (outbound from i) and wait for the handshake at both ends of that connection. */
  async connect(i: number, j: number): Promise<void> {
    const a = this.nodes[i];
    const b = this.nodes[j];
    await a.rpc('addnode', [b.addr, 'onetry']);
    await forValue(() => linked(a, b), true, WAIT_TIMEOUT_MS, `handshake ${i} -> ${j}`);
  }

  /** Connect every node to node 0. */
  async connectAll(): Promise<void> {
    for (let i = 1; i < this.nodes.length; i++)
      await this.connect(i, 0);
  }

  /** Wait until every node has the same tip as node 0. */
  async sync(timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    const want = () => this.nodes[0].node.chain.tip.hash;
    for (const n of this.nodes) {
      await forValue(() => n.node.chain.tip.hash, (h) => h === want(), timeoutMs, 'chain sync');
      await n.node.waitWalletSynced();
      await n.node.hooksIdle();
    }
  }

  async close(): Promise<void> {
    for (const n of [...this.nodes].reverse()) {
      try {
        await n.close();
      } catch {
        // keep closing the rest
      }
    }
    for (const d of this.dirs)
      fs.rmSync(d, { recursive: true, force: true });
  }
}

/**
 * Whether `a` has an outbound connection to `b` that finished its version
 * handshake at both ends: b's inbound peer is told apart by its remote port
 * (a's end of the socket). Not a count of peers: b may have others, and a
 * connection is listed before its handshake ends.
 */
function linked(a: TestNode, b: TestNode): boolean {
  for (let p = a.node.pool.peers.head(); p; p = p.next) {
    if (!p.outbound || !p.handshake || p.hostname() !== b.addr)
      continue;
    const ours = (p.socket as { localPort?: number } | null)?.localPort;
    for (let q = b.node.pool.peers.head(); q; q = q.next) {
      if (!q.outbound && q.handshake && q.address.port === ours)
        return true;
    }
  }
  return false;
}

/** A cloudcoind child process, driven through cloudcoin-cli. */
export class DaemonProcess {
  readonly base: string;
  /** Ports; a first start that finds one taken moves to fresh ones. */
  port: number;
  rpcPort: number;
  readonly args: string[];
  proc: ChildProcess | null = null;
  private started = false;
  stdout = '';
  stderr = '';

  constructor(base: string, port: number, rpcPort: number, args: string[] = []) {
    this.base = base;
    this.port = port;
    this.rpcPort = rpcPort;
    this.args = args;
  }

  static async create(args: string[] = []): Promise<DaemonProcess> {
    const [port, rpcPort] = await freePorts(2);
    return new DaemonProcess(tempDir(), port, rpcPort, args);
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get datadir(): string {
    return networkDir(this.base, 'regtest');
  }

  /**
   * Start and wait until the banner says it started. Free ports are only
   * free until someone binds them (other suites run on the same machine),
   * so a first start that finds its port taken retries on fresh ports. A
   * restart keeps its ports (peers may know the address) unless `movable`
   * says nobody dials this node: a port left free while it was stopped may
   * have been taken by then.
   */
  async start(extra: string[] = [], movable = !this.started): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce(extra);
        this.started = true;
        return;
      } catch (e) {
        if (!movable || attempt >= 3 || !/EADDRINUSE/.test((e as Error).message))
          throw e;
        [this.port, this.rpcPort] = await freePorts(2);
      }
    }
  }

  private async startOnce(extra: string[]): Promise<void> {
    this.stdout = '';
    this.stderr = '';
    const proc = spawn(...plainNode([CLOUDCOIND, '--regtest', '--datadir', this.base,
      '--bind', '127.0.0.1', '--port', String(this.port), '--rpcport', String(this.rpcPort),
      ...this.args, ...extra]), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => { this.stdout += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    await new Promise<void>((resolve, reject) => {
      const limit = stretched(START_TIMEOUT_MS);
      const timer = setTimeout(() => reject(new Error(`cloudcoind did not start in ${limit} ms: ${this.stdout}${this.stderr}`)),
        limit);
      const check = () => {
        if (this.stdout.includes('extensions:')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', check);
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`cloudcoind exited with ${code}: ${this.stderr || this.stdout}`));
      });
    });
  }

  /** SIGTERM (or another signal) and wait for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null)
      return proc ? proc.exitCode : null;
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.kill(signal);
    const code = await exited;
    this.proc = null;
    return code;
  }

  client(): RPCClient {
    return new RPCClient({ host: '127.0.0.1', port: this.rpcPort, cookieFile: path.join(this.datadir, '.cookie') });
  }

  /** cloudcoin-cli arguments that reach this daemon (`--rpcport` may point elsewhere, e.g. a proxy). */
  cliArgs(args: string[], rpcPort = this.rpcPort): string[] {
    return ['--regtest', '--datadir', this.base, '--rpcport', String(rpcPort), ...args];
  }

  /** Run cloudcoin-cli against this daemon (async: never block the loop). */
  cli(args: string[], extra: string[] = []): Promise<CLIResult> {
    return runCLI(['--regtest', '--datadir', this.base, '--rpcport', String(this.rpcPort), ...extra, ...args]);
  }

  cleanup(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

export interface CLIResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Most a cloudcoin-cli run may take on an unloaded machine before it is
 * killed (ms); stretched by the load when the run starts (wait.ts): at load
 * 50 on 2 cores a put forming contracts took past a fixed 2 minutes.
 */
export const CLI_TIMEOUT_MS = 120000;

/** Run bin/cloudcoin-cli with arguments (and `input` on its standard input, then EOF). */
export function runCLI(args: string[], timeoutMs = stretched(CLI_TIMEOUT_MS), input?: string): Promise<CLIResult> {
  return new Promise((resolve) => {
    const child = execFile(...plainNode([CLOUDCOIN_CLI, ...args]), { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        let text = stderr.toString();
        // A CLI that did not run to its own exit (spawn failure, killed at
        // the time limit, a signal) says nothing itself: say what happened,
        // so a failing test names it.
        if (err && (typeof err.code !== 'number' || (err.signal && !text)))
          text += `[cloudcoin-cli did not exit by itself: code ${String(err.code)}, signal ${String(err.signal)}, `
            + `killed ${String(err.killed)}, limit ${timeoutMs} ms: ${err.message.split('\n')[0]}]`;
        resolve({ code, stdout: stdout.toString(), stderr: text });
      });
    if (input !== undefined)
      child.stdin?.end(input);
  });
}

/** A running cloudcoin-cli: its process (to signal) and its outcome. */
export interface SpawnedCLI {
  proc: ChildProcess;
  done: Promise<CLIResult>;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
}

/** Start bin/cloudcoin-cli and keep its process, to kill or interrupt it. */
export function spawnCLI(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnedCLI {
  const proc = spawn(...plainNode([CLOUDCOIN_CLI, ...args]), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<CLIResult>((resolve) => {
    proc.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: out, stderr: err }));
  });
  return { proc, done, stdout: () => out, stderr: () => err };
}
