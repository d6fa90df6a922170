/*!
 * merkle.ts - Merkle hashing (and encryption) throughput of a file, as
 * ratios against one pass of `openssl dgst -sha256` over the same file in
 * the same run, per wall second and per CPU second (the CPU ratio holds
 * however loaded the machine is; the wall ratio shows what the cores
 * overlapping buys).
 *
 *   npx tsx bench/merkle.ts [--size 256MB] [--json]      (the check: --size 1GB)
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { LeafHasherPool, deriveFileKey, encryptFile, hashFile } from '../lib/storage';
import { BenchReport, mbps, printReport, randomFile, sizeFlag, timed } from './util';

/** Wall seconds and CPU seconds (user + system, this process and its threads) of `fn`. */
async function measure(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const wall = await timed(fn);
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

async function main(): Promise<void> {
  const argv = process.argv;
  const size = sizeFlag(argv, 'size', 256e6);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-merkle-'));
  const file = path.join(dir, 'data');
  const pool = new LeafHasherPool();
  try {
    randomFile(file, size);
    // Warm the page cache so every pass reads from memory.
    execFileSync('openssl', ['dgst', '-sha256', file]);
    const base = await timed(() => execFileSync('openssl', ['dgst', '-sha256', file]));
    // /usr/bin/time reports the child's CPU seconds (user + system).
    const err = execFileSync('sh', ['-c', `/usr/bin/time -f 'cpu %U %S' openssl dgst -sha256 '${file}' 2>&1 >/dev/null`]).toString();
    const m = /cpu ([0-9.]+) ([0-9.]+)/.exec(err);
    const baseCPU = m ? Math.max(Number(m[1]) + Number(m[2]), 0.01) : base;
    const key = deriveFileKey(randomBytes(32), randomBytes(32), 0, randomBytes(32));
    const runs: { what: string; r: { wall: number; cpu: number } }[] = [
      { what: `merkle root + tree file (${pool.size} workers)`, r: await measure(() => hashFile(file, { pool, treePath: path.join(dir, 'tree') })) },
      { what: 'merkle root, main thread only', r: await measure(() => hashFile(file, { inline: true })) },
      { what: 'encrypt + merkle + tree, fsync', r: await measure(() => encryptFile(key, file, path.join(dir, 'enc'), { pool, treePath: path.join(dir, 'enc.tree') })) },
      { what: 'encrypt + merkle, nothing written (put pass 1)', r: await measure(() => encryptFile(key, file, null, { pool })) }
    ];
    const report: BenchReport = {
      bench: 'merkle',
      notes: [`file ${(size / 1e6).toFixed(0)} MB in the page cache, ${os.availableParallelism()} cores; baseline openssl dgst -sha256: `
        + `${mbps(size, base)} wall, ${mbps(size, baseCPU)} per CPU second (CPU of worker threads counted)`],
      tables: [{
        title: 'Merkle hashing vs openssl dgst -sha256 (one pass, same file, same run)',
        columns: ['operation', 'wall', 'x openssl', 'per CPU s', 'x openssl'],
        rows: runs.map(({ what, r }) => [what, mbps(size, r.wall), (base / r.wall).toFixed(2), mbps(size, r.cpu), (baseCPU / r.cpu).toFixed(2)])
      }],
      ratios: [
        { name: 'merkle root + tree, wall', value: base / runs[0].r.wall, baseline: 'openssl dgst -sha256, wall' },
        { name: 'merkle root + tree, per CPU second', value: baseCPU / runs[0].r.cpu, baseline: 'openssl dgst -sha256, CPU' },
        { name: 'encrypt + merkle (put pass 1), wall', value: base / runs[3].r.wall, baseline: 'openssl dgst -sha256, wall' }
      ]
    };
    printReport(report, argv);
  } finally {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
