// Merkle hashing (and encryption) throughput of a file, as ratios against
// one pass of `openssl dgst -sha256` over the same file in the same run.
//   npx tsx bench/merkle.ts [--size 256MB]      (the issue's check: --size 1GB)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { LeafHasherPool, deriveFileKey, encryptFile, hashFile } from '../lib/storage';
import { mbps, randomFile, sizeFlag, timed } from './util';

async function main(): Promise<void> {
  const size = sizeFlag(process.argv, 'size', 256e6);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-merkle-'));
  const file = path.join(dir, 'data');
  try {
    randomFile(file, size);
    console.log(`file: ${(size / 1e6).toFixed(0)} MB, ${os.availableParallelism()} cores`);
    // Warm the page cache so both sides read from memory.
    execFileSync('openssl', ['dgst', '-sha256', file]);
    let opensslCPU = 0;
    const base = await timed(() => execFileSync('openssl', ['dgst', '-sha256', file]));
    // /usr/bin/time reports the child's CPU seconds (user + system).
    try {
      const err = execFileSync('sh', ['-c', `/usr/bin/time -f 'cpu %U %S' openssl dgst -sha256 '${file}' 2>&1 >/dev/null`]).toString();
      const m = /cpu ([0-9.]+) ([0-9.]+)/.exec(err);
      opensslCPU = m ? Number(m[1]) + Number(m[2]) : 0;
    } catch {
      opensslCPU = 0;
    }
    console.log(`openssl dgst -sha256:        ${mbps(size, base)} (baseline)${opensslCPU ? `, ${mbps(size, opensslCPU)} per CPU-second` : ''}`);
    const pool = new LeafHasherPool();
    try {
      const tree = path.join(dir, 'tree');
      const cpu0 = process.cpuUsage();
      const par = await timed(() => hashFile(file, { pool, treePath: tree }));
      const cpu = process.cpuUsage(cpu0);
      const cpuSecs = (cpu.user + cpu.system) / 1e6;
      console.log(`merkle root + tree file (${pool.size} workers): ${mbps(size, par)}  ratio ${(base / par).toFixed(2)} x openssl`
        + (opensslCPU ? `; ${mbps(size, cpuSecs)} per CPU-second, ratio ${(opensslCPU / cpuSecs).toFixed(2)} (load-independent)` : ''));
      const one = await timed(() => hashFile(file, { inline: true }));
      console.log(`merkle root, main thread only: ${mbps(size, one)}  ratio ${(base / one).toFixed(2)} x openssl`);
      const key = deriveFileKey(randomBytes(32), randomBytes(32), 0, randomBytes(32));
      const enc = await timed(() => encryptFile(key, file, path.join(dir, 'enc'), { pool, treePath: path.join(dir, 'enc.tree') }));
      console.log(`encrypt + merkle + tree, fsync (pipelined): ${mbps(size, enc)}  ratio ${(base / enc).toFixed(2)} x openssl`);
      fs.rmSync(path.join(dir, 'enc'));
      const enc2 = await timed(() => encryptFile(key, file, path.join(dir, 'enc'), { pool, treePath: path.join(dir, 'enc.tree'), sync: false }));
      console.log(`encrypt + merkle + tree, no fsync: ${mbps(size, enc2)}  ratio ${(base / enc2).toFixed(2)} x openssl`);
    } finally {
      await pool.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
