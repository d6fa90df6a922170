/*!
 * put.ts - end-to-end storage throughput: `cloudcoin-cli put` and `get`
 * with 1 and 3 hosts on loopback (real cloudcoind processes on regtest,
 * each host serving its own host dir), as ratios of a raw streamed HTTP
 * copy of the same file to another process over loopback (PUT into a
 * file with fsync, GET back with fsync) measured in the same run. For N
 * hosts the upload baseline is N such PUTs at once (the hosts share the
 * machine's bandwidth); get reads one replica, so its baseline is one GET.
 * Prints the CLI's peak RSS during each put (the bar: 200 MB for 1 GiB).
 *
 *   npm run build && npx tsx bench/put.ts [--sizes 64MiB,1GiB] [--hosts 1,3] [--json]
 *
 * put includes encryption, Merkle hashing, negotiation (the first put to a
 * host forms a contract; later ones revise it), receipts and the
 * commitment (--no-wait); get includes root verification and decryption.
 */

import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { formatSize, parseSize } from '../lib/base/units';
import { BIN, LocalNet, LocalNode } from '../scripts/localnet';
import { BenchRatio, BenchReport, mbps, printReport, procMemory, randomFile, rawGet, rawPut, rawServer, sha256, stringFlag, timed } from './util';

/** Runs cloudcoin-cli on `n`, sampling its peak RSS; resolves with stdout and VmHWM. */
function cliWithMemory(n: LocalNode, args: string[]): Promise<{ out: string; hwm: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN('cloudcoin-cli'), '--regtest', '--datadir', n.base, '--rpcport', String(n.rpcPort), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let hwm = 0;
    const sample = setInterval(() => { hwm = Math.max(hwm, procMemory(child.pid!, 'VmHWM')); }, 25);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => {
      clearInterval(sample);
      if (code === 0)
        resolve({ out, hwm });
      else
        reject(new Error(`cloudcoin-cli ${args[0]} failed: ${err.trim()}`));
    });
  });
}

interface Row {
  size: number;
  hosts: number;
  rawUp: number;
  rawDown: number;
  put: number;
  get: number;
  hwm: number;
  same: boolean;
}

async function main(): Promise<void> {
  const argv = process.argv;
  const sizes = stringFlag(argv, 'sizes', '64MiB').split(',').map((s) => {
    const n = parseSize(s);
    if (n === null || n < 1)
      throw new Error(`--sizes: ${s} is not a size`);
    return n;
  });
  const hostCounts = stringFlag(argv, 'hosts', '1').split(',').map(Number);
  if (hostCounts.some((h) => !Number.isSafeInteger(h) || h < 1 || h > 8))
    throw new Error('--hosts must be counts such as 1,3');
  const net = new LocalNet('cloudcoin-bench-');
  const rows: Row[] = [];
  let raw: Awaited<ReturnType<typeof rawServer>> | null = null;
  try {
    const renter = await net.node('renter');
    await net.daemon(renter);
    const hosts: LocalNode[] = [];
    for (let i = 0; i < Math.max(...hostCounts); i++) {
      const host = await net.node(`host${i}`);
      await net.daemon(host, ['--host', '--connect', `127.0.0.1:${renter.port}`]);
      hosts.push(host);
    }
    await net.until('the hosts', async () => net.json<unknown[]>(renter, ['getcloudpeers']), (p) => p.length === hosts.length);
    const addr = await net.mine(renter, 440);
    raw = await rawServer(net.dir);
    for (const size of sizes) {
      const file = path.join(net.dir, 'bench.bin');
      randomFile(file, size);
      const want = await sha256(file);
      for (const h of hostCounts) {
        const rawUp = await timed(() => Promise.all(Array.from({ length: h }, (_, i) => rawPut(raw!.port, file, `up${i}`))));
        const rawDown = await timed(() => rawGet(raw!.port, 'up0', path.join(net.dir, 'raw-back')));
        for (const f of fs.readdirSync(net.dir).filter((f) => f.startsWith('raw-')))
          fs.rmSync(path.join(net.dir, f));
        let res = { out: '', hwm: 0 };
        const put = await timed(async () => {
          res = await cliWithMemory(renter, ['put', file, '--hosts', String(h), '--no-wait', '--json']);
        });
        const { fileId } = JSON.parse(res.out) as { fileId: string };
        await net.mine(renter, 1, addr);
        const back = path.join(net.dir, 'back.bin');
        const get = await timed(() => net.cli(renter, ['get', fileId, back]));
        const same = (await sha256(back)) === want;
        fs.rmSync(back);
        // Free the hosts' disks for the next file.
        await net.cli(renter, ['rm', fileId]).catch(() => '');
        rows.push({ size, hosts: h, rawUp, rawDown, put, get, hwm: res.hwm, same });
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
      columns: ['file, hosts', 'raw up', 'put', 'x raw', 'raw down', 'get', 'x raw', 'CLI peak RSS', 'bytes back'],
      rows: rows.map((r) => [label(r), mbps(r.size * r.hosts, r.rawUp), mbps(r.size, r.put), (r.rawUp / r.put).toFixed(2),
        mbps(r.size, r.rawDown), mbps(r.size, r.get), (r.rawDown / r.get).toFixed(2), `${(r.hwm / 1e6).toFixed(0)} MB`, r.same ? 'same' : 'DIFFERENT'])
    }],
    ratios: rows.flatMap((r): BenchRatio[] => [
      { name: `put ${label(r)}`, value: r.rawUp / r.put, baseline: r.hosts > 1 ? `${r.hosts} raw HTTP PUTs at once` : 'raw HTTP PUT', target: 0.8 },
      { name: `get ${label(r)}`, value: r.rawDown / r.get, baseline: 'raw HTTP GET', target: 0.8 },
      ...(r.size >= 2 ** 30 ? [{ name: `put CLI peak RSS MB / 200, ${label(r)}`, value: r.hwm / 200e6, baseline: 'the 200 MB bar', target: 1, lowerIsBetter: true }] : [])
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
