/*!
 * put.ts - end-to-end storage throughput: `cloudcoin-cli put` and `get`
 * with 1 and 3 hosts on loopback (real cloudcoind processes on regtest,
 * each host serving its own host dir), as ratios of a raw streamed HTTP
 * copy of the same file to another process over loopback (PUT into a
 * file with fsync, GET back with fsync) measured in the same run. For N
 * hosts the upload baseline is N such PUTs at once (the hosts share the
 * machine's bandwidth); get reads one replica, so its baseline is one GET.
 * Prints the CLI's peak RSS during each put (the bar: 200 MB for 1 GiB)
 * and the largest temp file it had during the put (the bar: one part,
 * MAX_PART_SIZE): sampled every 25 ms, the files it holds open for
 * writing (/proc/PID/fd and fdinfo's flags) and every file under its own
 * TMPDIR (scratch files it may close between two samples).
 *
 *   npm run build && npx tsx bench/put.ts [--sizes 64MiB,1GiB] [--hosts 1,3] [--json]
 *   npx tsx bench/put.ts --cells 64MiB:1,64MiB:3,1GiB:3   (chosen size:hosts pairs, not every pair)
 *
 * put includes encryption, Merkle hashing, negotiation (the first put to a
 * host forms a contract; later ones revise it), receipts and the
 * commitment (--no-wait); get includes root verification and decryption.
 * Those end-to-end ratios are the check. A second table splits
 * each run into its phases (bench/cliphases.cjs, preloaded into the CLI):
 * the CLI's start until its first RPC, the RPCs, and the data phase (an
 * upload's first pass and the uploads; a download), whose ratio to the
 * same raw copy is printed apart.
 */

import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { formatSize } from '../lib/base/units';
import { MAX_PART_SIZE } from '../lib/storage/storetypes';
import { BIN, LocalNet, LocalNode } from '../scripts/localnet';
import {
  BenchRatio, BenchReport, listSize, mbps, printReport, procMemory, randomFile, rawGet, rawPut, rawServer, renterWithHosts, sameFile, stringFlag, timed
} from './util';

/** Phases of one CLI run, ms from its spawn (bench/cliphases.cjs). */
interface Phases {
  firstRPC: number | null;
  /** Each RPC's span (a put asks some at once: their union is the time spent waiting on RPCs). */
  rpc: [number, number][];
  rpcCalls: number;
  pass1: [number, number][];
  upload: [number, number][];
  download: [number, number][];
  exit: number;
}

/** Seconds covered by the union of `spans` (ms intervals; replicas overlap when several hosts run at once). */
function covered(spans: [number, number][]): number {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (b <= end)
      continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total / 1000;
}

/** Bytes of the largest regular file `pid` holds open for writing (O_WRONLY or O_RDWR), 0 if none or gone. */
function largestOpenForWrite(pid: number): number {
  let largest = 0;
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return 0;
  }
  for (const fd of fds) {
    try {
      const flags = /^flags:\s+([0-7]+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (!flags || (parseInt(flags[1], 8) & 3) === 0)
        continue;
      const st = fs.statSync(`/proc/${pid}/fd/${fd}`);
      if (st.isFile())
        largest = Math.max(largest, st.size);
    } catch {
      // closed between the listing and the read
    }
  }
  return largest;
}

/** Bytes of the largest file under `dir` (recursively), 0 if none. */
function largestUnder(dir: string): number {
  let largest = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    try {
      largest = Math.max(largest, e.isDirectory() ? largestUnder(p) : e.isFile() ? fs.statSync(p).size : 0);
    } catch {
      // removed meanwhile
    }
  }
  return largest;
}

/**
 * Runs cloudcoin-cli on `n`, sampling its peak RSS and its largest temp
 * file, and recording its phases; resolves with stdout, VmHWM, the
 * largest temp file (bytes) and the phases.
 */
function cliWithMemory(n: LocalNode, args: string[]): Promise<{ out: string; hwm: number; temp: number; phases: Phases }> {
  const phaseFile = path.join(n.base, `phases-${process.pid}.json`);
  fs.rmSync(phaseFile, { force: true });
  const tmp = fs.mkdtempSync(path.join(n.base, 'cli-tmp-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', path.join(__dirname, 'cliphases.cjs'), BIN('cloudcoin-cli'), '--regtest',
      '--datadir', n.base, '--rpcport', String(n.rpcPort), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', TMPDIR: tmp, CC_BENCH_T0: String(Date.now()), CC_BENCH_PHASES: phaseFile } });
    let out = '';
    let err = '';
    let hwm = 0;
    let temp = 0;
    const sample = setInterval(() => {
      hwm = Math.max(hwm, procMemory(child.pid!, 'VmHWM'));
      temp = Math.max(temp, largestOpenForWrite(child.pid!), largestUnder(tmp));
    }, 25);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => {
      clearInterval(sample);
      temp = Math.max(temp, largestUnder(tmp));
      fs.rmSync(tmp, { recursive: true, force: true });
      if (code !== 0)
        return reject(new Error(`cloudcoin-cli ${args[0]} failed: ${err.trim()}`));
      const phases = JSON.parse(fs.readFileSync(phaseFile, 'utf8')) as Phases;
      fs.rmSync(phaseFile, { force: true });
      resolve({ out, hwm, temp, phases });
    });
  });
}

/** `fn`'s result with the seconds it took. */
async function timedRun<T>(fn: () => Promise<T>): Promise<T & { secs: number }> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return { ...r, secs: Number(process.hrtime.bigint() - t0) / 1e9 };
}

interface Row {
  size: number;
  hosts: number;
  rawUp: number;
  rawDown: number;
  put: number;
  get: number;
  hwm: number;
  /** Bytes of the largest temp file the CLI had during the put. */
  temp: number;
  same: boolean;
  putPhases: Phases;
  getPhases: Phases;
}

async function main(): Promise<void> {
  const argv = process.argv;
  // The runs: --cells' size:hosts pairs, or every --sizes x --hosts pair.
  const cellsFlag = stringFlag(argv, 'cells', '');
  const cells: [number, number][] = cellsFlag
    ? cellsFlag.split(',').map((c) => {
      const [s, h] = c.split(':');
      return [listSize(s, '--cells'), Number(h)];
    })
    : stringFlag(argv, 'sizes', '64MiB').split(',').flatMap((s) =>
      stringFlag(argv, 'hosts', '1').split(',').map((h): [number, number] => [listSize(s, '--sizes'), Number(h)]));
  if (cells.some(([, h]) => !Number.isSafeInteger(h) || h < 1 || h > 8))
    throw new Error('--hosts (or a cell\'s hosts) must be counts such as 1,3');
  const sizes = [...new Set(cells.map(([s]) => s))];
  const hostCounts = [...new Set(cells.map(([, h]) => h))];
  const net = new LocalNet('cloudcoin-bench-');
  const rows: Row[] = [];
  let raw: Awaited<ReturnType<typeof rawServer>> | null = null;
  try {
    const { renter, addr } = await renterWithHosts(net, Math.max(...hostCounts));
    raw = await rawServer(net.dir);
    for (const size of sizes) {
      const file = path.join(net.dir, 'bench.bin');
      randomFile(file, size);
      for (const h of cells.filter(([s]) => s === size).map(([, h]) => h)) {
        const rawUp = await timed(() => Promise.all(Array.from({ length: h }, (_, i) => rawPut(raw!.port, file, `up${i}`))));
        const rawDown = await timed(() => rawGet(raw!.port, 'up0', path.join(net.dir, 'raw-back')));
        for (const f of fs.readdirSync(net.dir).filter((f) => f.startsWith('raw-')))
          fs.rmSync(path.join(net.dir, f));
        const putRun = await timedRun(() => cliWithMemory(renter, ['put', file, '--hosts', String(h), '--no-wait', '--json']));
        const put = putRun.secs;
        const { fileId } = JSON.parse(putRun.out) as { fileId: string };
        await net.mine(renter, 1, addr);
        const back = path.join(net.dir, 'back.bin');
        const getRun = await timedRun(() => cliWithMemory(renter, ['get', fileId, back]));
        const get = getRun.secs;
        const same = await sameFile(file, back);
        fs.rmSync(back);
        // Free the hosts' disks for the next file.
        await net.cli(renter, ['rm', fileId]).catch(() => '');
        rows.push({ size, hosts: h, rawUp, rawDown, put, get, hwm: putRun.hwm, temp: putRun.temp, same, putPhases: putRun.phases, getPhases: getRun.phases });
      }
      fs.rmSync(file);
    }
  } finally {
    raw?.proc.kill('SIGKILL');
    await net.cleanup();
  }
  const label = (r: Row) => `${formatSize(r.size)}, ${r.hosts} host${r.hosts > 1 ? 's' : ''}`;
  const report: BenchReport = {
    bench: 'put',
    notes: ['cloudcoind processes on regtest over loopback; raw baseline: streamed HTTP PUT (N at once for N hosts) and GET to another process, with fsync'],
    tables: [{
      title: 'cloudcoin-cli put / get vs a raw streamed HTTP copy (same run)',
      columns: ['file, hosts', 'raw up', 'put', 'x raw', 'raw down', 'get', 'x raw', 'CLI peak RSS', 'largest temp file', 'bytes back'],
      rows: rows.map((r) => [label(r), mbps(r.size * r.hosts, r.rawUp), mbps(r.size, r.put), (r.rawUp / r.put).toFixed(2),
        mbps(r.size, r.rawDown), mbps(r.size, r.get), (r.rawDown / r.get).toFixed(2), `${(r.hwm / 1e6).toFixed(0)} MB`,
        r.temp > 0 ? formatSize(r.temp) : 'none', r.same ? 'same' : 'DIFFERENT'])
    }, {
      title: 'where the time goes, seconds (CLI start: spawn to its first RPC; data: the union of first passes and uploads, or the download)',
      columns: ['file, hosts', 'put', 'start', 'RPCs', 'first pass', 'uploads', 'data', 'data x raw', 'get', 'start', 'RPCs', 'download', 'data x raw'],
      rows: rows.map((r) => {
        const up = [...r.putPhases.pass1, ...r.putPhases.upload];
        const sec = (ms: number | null) => ((ms ?? 0) / 1000).toFixed(2);
        return [label(r), r.put.toFixed(2), sec(r.putPhases.firstRPC), `${covered(r.putPhases.rpc).toFixed(2)} (${r.putPhases.rpcCalls})`,
          covered(r.putPhases.pass1).toFixed(2), covered(r.putPhases.upload).toFixed(2), covered(up).toFixed(2), (r.rawUp / covered(up)).toFixed(2),
          r.get.toFixed(2), sec(r.getPhases.firstRPC), `${covered(r.getPhases.rpc).toFixed(2)} (${r.getPhases.rpcCalls})`,
          covered(r.getPhases.download).toFixed(2), (r.rawDown / covered(r.getPhases.download)).toFixed(2)];
      })
    }],
    ratios: rows.flatMap((r): BenchRatio[] => [
      { name: `put ${label(r)}`, value: r.rawUp / r.put, baseline: r.hosts > 1 ? `${r.hosts} raw HTTP PUTs at once` : 'raw HTTP PUT', target: 0.8 },
      { name: `get ${label(r)}`, value: r.rawDown / r.get, baseline: 'raw HTTP GET', target: 0.8 },
      { name: `put data phase ${label(r)}`, value: r.rawUp / covered([...r.putPhases.pass1, ...r.putPhases.upload]), baseline: 'the same raw PUT' },
      { name: `get data phase ${label(r)}`, value: r.rawDown / covered(r.getPhases.download), baseline: 'the same raw GET' },
      ...(r.size >= 2 ** 30 ? [{ name: `put CLI peak RSS MB / 200, ${label(r)}`, value: r.hwm / 200e6, baseline: 'the 200 MB bar', target: 1, lowerIsBetter: true },
        { name: `put largest temp file / one part, ${label(r)}`, value: r.temp / MAX_PART_SIZE, baseline: `MAX_PART_SIZE (${formatSize(MAX_PART_SIZE)})`,
          target: 1, lowerIsBetter: true }] : [])
    ])
  };
  printReport(report, argv);
  if (rows.some((r) => !r.same))
    process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
