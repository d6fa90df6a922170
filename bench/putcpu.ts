/*!
 * putcpu.ts - where a put's and a get's CPU goes, per process, in CPU
 * seconds per GiB of file (user and system apart, from /proc/PID/stat and
 * /usr/bin/time): the CLI, the host's cloudcoind (file server: receive,
 * write, hash, fsync), the renter's cloudcoind (RPCs), against the raw
 * streamed HTTP copy of bench/put.ts (client in this process, server in
 * another). CPU seconds hold on a loaded machine where wall seconds do
 * not, so this is the bench for a floor analysis (docs/BENCHMARKS.md,
 * "The 0.8x bar"). Not in `npm run bench`: put.ts gives the end-to-end
 * ratios.
 *
 *   npm run build && npx tsx bench/putcpu.ts [--sizes 64MiB,1GiB] [--rounds 2] [--cli-env GLIBC_TUNABLES=...] [--json]
 *
 * --cli-env NAME=VALUE runs every other put and get with that variable in
 * the CLI's environment (an A/B in one run: rows "env" and "plain").
 */

import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { formatSize, parseSize } from '../lib/base/units';
import { BIN, LocalNet, LocalNode } from '../scripts/localnet';
import {
  BenchReport, intFlag, median, printReport, procCPUTimes, randomFile, rawGet, rawPut, rawServer, renterWithHosts, sizesFlag, stringFlag, timed
} from './util';

/** User and system CPU seconds. */
interface Cpu { user: number; sys: number }

function selfCpu(): Cpu {
  const u = process.cpuUsage();
  return { user: u.user / 1e6, sys: u.system / 1e6 };
}

const minus = (a: Cpu, b: Cpu): Cpu => ({ user: a.user - b.user, sys: a.sys - b.sys });

/** The pid of the cloudcoind whose --datadir is `base`. */
function daemonPid(base: string): number {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d))
      continue;
    try {
      const args = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const i = args.indexOf('--datadir');
      if (i >= 0 && args[i + 1] === base && args.some((a) => a.endsWith('cloudcoind') || a.endsWith('cloudcoind.js')))
        return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no cloudcoind for ${base}`);
}

/** cloudcoin-cli under /usr/bin/time: stdout, wall seconds and its CPU. */
function timedCli(n: LocalNode, args: string[], env: NodeJS.ProcessEnv): Promise<{ out: string; wall: number; cpu: Cpu }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'cc-time %e %U %S', process.execPath, BIN('cloudcoin-cli'), '--regtest', '--datadir', n.base,
      '--rpcport', String(n.rpcPort), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => {
      const m = /cc-time ([0-9.]+) ([0-9.]+) ([0-9.]+)/.exec(err);
      if (code !== 0 || !m)
        return reject(new Error(`cloudcoin-cli ${args[0]} failed: ${err.trim()}`));
      resolve({ out, wall: Number(m[1]), cpu: { user: Number(m[2]), sys: Number(m[3]) } });
    });
  });
}

/** One measured step: wall seconds and CPU per process. */
interface Step { wall: number; cpu: Record<string, Cpu> }

/** Runs `fn`, returning its wall seconds and the CPU `pids` (by name) and this process used meanwhile. */
async function measured(pids: Record<string, number>, self: string | null, fn: () => Promise<Record<string, Cpu> | undefined>): Promise<Step> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, procCPUTimes(p)]));
  const s0 = selfCpu();
  let extra: Record<string, Cpu> | undefined;
  const wall = await timed(async () => { extra = await fn(); });
  const cpu: Record<string, Cpu> = {};
  for (const [k, p] of Object.entries(pids))
    cpu[k] = minus(procCPUTimes(p), before[k]);
  if (self)
    cpu[self] = minus(selfCpu(), s0);
  return { wall, cpu: { ...cpu, ...extra } };
}

async function main(): Promise<void> {
  const argv = process.argv;
  const sizes = sizesFlag(argv, 'sizes', '64MiB,1GiB').map(({ n }) => n);
  const rounds = intFlag(argv, 'rounds', 2);
  const envFlag = stringFlag(argv, 'cli-env', '');
  const eq = envFlag.indexOf('=');
  if (envFlag && eq < 1)
    throw new Error('--cli-env must be NAME=VALUE');
  const variants: [string, NodeJS.ProcessEnv][] = envFlag
    ? [['plain', {}], ['env', { [envFlag.slice(0, eq)]: envFlag.slice(eq + 1) }]]
    : [['plain', {}]];
  const net = new LocalNet('cloudcoin-bench-');
  const samples = new Map<string, Step[]>();
  const add = (key: string, s: Step): void => { samples.set(key, [...(samples.get(key) ?? []), s]); };
  let raw: Awaited<ReturnType<typeof rawServer>> | null = null;
  try {
    const { renter, addr } = await renterWithHosts(net, 1);
    // renterWithHosts names the host's datadir host-0 (net.node's base).
    const pids = { 'renter node': daemonPid(renter.base), 'host node': daemonPid(path.join(net.dir, 'host-0')) };
    raw = await rawServer(net.dir);
    const rawPid = raw.proc.pid!;
    const file = path.join(net.dir, 'bench.bin');
    for (const size of sizes) {
      randomFile(file, size);
      for (let r = 0; r < rounds; r++) {
        for (const [variant, env] of variants) {
          const tag = `${formatSize(size)}`;
          add(`${tag}|raw up`, await measured({ 'raw server': rawPid }, 'raw client', () => rawPut(raw!.port, file, 'up').then(() => undefined)));
          add(`${tag}|raw down`, await measured({ 'raw server': rawPid }, 'raw client', () => rawGet(raw!.port, 'up', path.join(net.dir, 'raw-back')).then(() => undefined)));
          fs.rmSync(path.join(net.dir, 'raw-back'));
          let fileId = '';
          add(`${tag}|put ${variant}`, await measured(pids, null, async () => {
            const run = await timedCli(renter, ['put', file, '--hosts', '1', '--no-wait', '--json'], env);
            fileId = (JSON.parse(run.out) as { fileId: string }).fileId;
            return { CLI: run.cpu };
          }));
          await net.mine(renter, 1, addr);
          const back = path.join(net.dir, 'back.bin');
          add(`${tag}|get ${variant}`, await measured(pids, null, async () => ({ CLI: (await timedCli(renter, ['get', fileId, back], env)).cpu })));
          if (fs.statSync(back).size !== size)
            throw new Error('get wrote another size');
          fs.rmSync(back);
          await net.cli(renter, ['rm', fileId]).catch(() => '');
        }
      }
    }
  } finally {
    raw?.proc.kill('SIGKILL');
    await net.cleanup();
  }
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const [key, steps] of samples) {
    const [tag, what] = key.split('|');
    const size = parseSize(tag) ?? 1;
    const perGiB = (x: number) => x * 2 ** 30 / size;
    const procs = Object.keys(steps[0].cpu);
    const med = (f: (s: Step) => number) => median(steps.map(f));
    const total = med((s) => Object.values(s.cpu).reduce((n, c) => n + c.user + c.sys, 0));
    rows.push([tag, what, med((s) => s.wall).toFixed(2), total.toFixed(2), perGiB(total).toFixed(2),
      procs.map((p) => `${p} ${med((s) => s.cpu[p].user).toFixed(2)}+${med((s) => s.cpu[p].sys).toFixed(2)}`).join(', ')]);
    json.push({ size, what, wall: med((s) => s.wall), cpuPerGiB: perGiB(total), steps });
  }
  const report: BenchReport = {
    bench: 'putcpu',
    notes: [`1 host on loopback, ${rounds} rounds (medians of each process's user and system CPU seconds, and of their total); raw: bench/put.ts's streamed HTTP PUT/GET with fsync`],
    tables: [{
      title: 'CPU seconds, per process (median of rounds)',
      columns: ['file', 'step', 'wall s', 'CPU s, all', 'CPU s per GiB', 'per process: user+system CPU s'],
      rows
    }],
    ratios: []
  };
  printReport(report, argv);
  if (argv.includes('--json-samples'))
    fs.writeFileSync(stringFlag(argv, 'json-samples', 'putcpu.json'), JSON.stringify(json, null, 1));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
