// A network of separate machines made of Linux network namespaces, for the
// multi-machine tests (`npm run test:net`): one namespace per node, each
// with one veth into a bridge namespace, private addresses this file
// assigns (10.77.0.0/24, reachable only inside the namespaces it creates),
// optional `tc netem` delay on every node's link, and optional "no
// inbound connections" for a node (TCP SYNs towards it are dropped on the
// bridge, as a NAT would). Everything it creates carries a per-run prefix
// and is deleted on teardown and on exit (a trap), killed processes first;
// namespaces an earlier run left behind (its process gone, say killed with
// SIGKILL) are deleted when the next run starts.
import * as fs from 'fs';
import * as path from 'path';
import { ChildProcess, execFile, execFileSync, spawn } from 'child_process';

const SUBNET = '10.77.0';
/** How long a started process may take to print its ready line. */
export const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;

/** Why namespaces cannot be used here, or null when they can. */
export function namespacesUnavailable(): string | null {
  if (process.platform !== 'linux')
    return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'network namespaces need root (CI runs as root)';
  const probe = `ccprobe${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
  } catch (e) {
    return `cannot create a network namespace (${String((e as Error).message).split('\n')[0]})`;
  }
  try {
    execFileSync('tc', ['-V'], { stdio: 'pipe' });
  } catch {
    return 'tc (iproute2) is not installed';
  }
  return null;
}

export interface NetNode {
  name: string;
  ns: string;
  ip: string;
  /** Veth end in the bridge namespace (traffic towards the node leaves the bridge here). */
  bridgePort: string;
}

export interface Started {
  proc: ChildProcess;
  log: string;
}

export class NamespaceNet {
  readonly prefix: string;
  readonly dir: string;
  readonly bridge: string;
  readonly nodes: NetNode[] = [];
  /** Whether `tc netem` delay could be set (absent from some kernels). */
  delayed = false;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private nextHost = 10;
  private cleaned = false;

  constructor(dir: string) {
    // cc<pid>: at most 9 characters, so `cc<pid>a<i>` fits a 15-byte interface name.
    this.prefix = `cc${process.pid}`;
    this.dir = dir;
    this.bridge = `${this.prefix}br`;
    // The trap: whatever ends this process, nothing it created outlives it.
    process.on('exit', () => this.destroySync());
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => { this.destroySync(); process.exit(130); });
  }

  private ip(args: string[]): void {
    execFileSync('ip', args, { stdio: 'pipe' });
  }

  private inNs(ns: string, cmd: string, args: string[]): void {
    execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe' });
  }

  private addNamespace(ns: string): void {
    this.ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
  }

  /** The bridge namespace with its bridge (earlier runs' leftovers deleted first). */
  create(): void {
    const stale = staleNamespaces();
    if (stale.length)
      process.stderr.write(`deleting namespaces left by earlier runs: ${stale.join(' ')}\n`);
    deleteNamespaces(stale);
    this.addNamespace(this.bridge);
    this.inNs(this.bridge, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    this.inNs(this.bridge, 'ip', ['link', 'set', 'br0', 'up']);
  }

  /**
   * A machine: its namespace, a veth into the bridge, an address, and
   * `delayMs` of netem delay on its outgoing traffic (when the kernel has
   * netem). `noInbound` drops TCP SYNs towards it, so it can only dial out.
   */
  addNode(name: string, options: { delayMs?: number; noInbound?: boolean } = {}): NetNode {
    const i = this.nodes.length;
    const ns = `${this.prefix}n${i}`;
    const inner = `${this.prefix}a${i}`;
    const outer = `${this.prefix}b${i}`;
    const ip = `${SUBNET}.${this.nextHost++}`;
    this.addNamespace(ns);
    this.ip(['link', 'add', inner, 'type', 'veth', 'peer', 'name', outer]);
    this.ip(['link', 'set', inner, 'netns', ns]);
    this.ip(['link', 'set', outer, 'netns', this.bridge]);
    this.inNs(this.bridge, 'ip', ['link', 'set', outer, 'master', 'br0']);
    this.inNs(this.bridge, 'ip', ['link', 'set', outer, 'up']);
    this.inNs(ns, 'ip', ['link', 'set', inner, 'name', 'eth0']);
    this.inNs(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    this.inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    if (options.delayMs) {
      try {
        this.inNs(ns, 'tc', ['qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${options.delayMs}ms`]);
        this.delayed = true;
      } catch {
        this.delayed = false;
      }
    }
    if (options.noInbound)
      this.dropInbound(outer);
    const node = { name, ns, ip, bridgePort: outer };
    this.nodes.push(node);
    return node;
  }

  /**
   * Drop TCP SYNs (without ACK) leaving the bridge towards a node: it can
   * open connections, nobody can open one to it. Done with an htb class
   * whose leaf queue holds nothing, so it needs neither netfilter nor tc
   * actions (some kernels have neither).
   */
  private dropInbound(port: string): void {
    const tc = (...args: string[]): void => this.inNs(this.bridge, 'tc', args);
    tc('qdisc', 'add', 'dev', port, 'root', 'handle', '1:', 'htb', 'default', '10', 'r2q', '1000000');
    tc('class', 'add', 'dev', port, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit');
    tc('class', 'add', 'dev', port, 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '10gbit');
    tc('qdisc', 'add', 'dev', port, 'parent', '1:20', 'handle', '20:', 'pfifo', 'limit', '0');
    // IPv4, header length 5 words, TCP, flags & (SYN|ACK) == SYN (byte 33 = 20 + 13).
    tc('filter', 'add', 'dev', port, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32',
      'match', 'ip', 'protocol', '6', '0xff', 'match', 'u8', '0x05', '0x0f', 'at', '0',
      'match', 'u8', '0x02', '0x12', 'at', '33', 'flowid', '1:20');
  }

  /** Start `args` (a node script) in `node`'s namespace; resolves once `ready` shows on stdout. */
  start(node: NetNode, label: string, args: string[], ready: RegExp): Promise<Started> {
    const log = path.join(this.dir, `${label}.log`);
    const fd = fs.openSync(log, 'a');
    // `ip netns exec` execs the command: the child's pid is the node's.
    const proc = spawn('ip', ['netns', 'exec', node.ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', fd] });
    this.children.push(proc);
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${label} did not start; see ${log}`)), START_TIMEOUT_MS);
      proc.stdout!.on('data', (d: Buffer) => {
        fs.writeSync(fd, d);
        out += d.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve({ proc, log });
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited with ${code}; see ${log}`));
      });
    });
  }

  /** Run a node script in `node`'s namespace to completion; resolves with stdout. */
  run(node: NetNode, args: string[], timeoutMs = 10 * 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', node.ns, process.execPath, ...args],
        { maxBuffer: 64 << 20, timeout: timeoutMs }, (err, stdout, stderr) => {
          if (err)
            reject(new Error(`${args.slice(1).join(' ')} in ${node.name}: ${stderr.toString().trim() || err.message}`));
          else
            resolve(stdout.toString());
        });
    });
  }

  /** Stop the processes (SIGTERM, then SIGKILL) and delete every namespace created. */
  async destroy(): Promise<void> {
    const live = this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exits = live.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
    for (const c of live)
      c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of live)
        c.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(timer);
    this.destroySync();
  }

  /** Synchronous teardown for the exit trap: kill what runs, delete our namespaces. */
  destroySync(): void {
    if (this.cleaned)
      return;
    this.cleaned = true;
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null)
        c.kill('SIGKILL');
    }
    // Deleting a namespace removes its veth ends, and the bridge with the other ends.
    const left = deleteNamespaces(this.namespaces.reverse());
    if (left.length)
      process.stderr.write(`could not delete network namespaces ${left.join(' ')}: delete them with \`ip netns del\`\n`);
  }
}

/** Namespace names now (`ip netns list`). */
function listNamespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' }).toString().split('\n')
      .map((l) => l.split(' ')[0]).filter((n) => n.length > 0);
  } catch {
    return [];
  }
}

/** Namespaces named as this file names them (`cc<pid>br`, `cc<pid>n<i>`) whose process is gone. */
export function staleNamespaces(): string[] {
  return listNamespaces().filter((name) => {
    const m = /^cc(\d+)(br|n\d+)$/.exec(name);
    if (!m)
      return false;
    try {
      process.kill(Number(m[1]), 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
}

/**
 * Delete namespaces, retrying a few times (a process that just exited
 * may still hold one for a moment); returns those still there.
 */
function deleteNamespaces(names: string[]): string[] {
  let left = names;
  for (let attempt = 0; attempt < 5 && left.length; attempt++) {
    if (attempt)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    for (const ns of left) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
      } catch {
        // still busy, or already gone: the listing below tells
      }
    }
    const now = new Set(listNamespaces());
    left = left.filter((ns) => now.has(ns));
  }
  return left;
}
