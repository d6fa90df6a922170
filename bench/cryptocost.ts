/*!
 * cryptocost.ts - the data path's primitives in CPU seconds per GiB on
 * this machine, one thread (process.cpuUsage: load changes wall time far
 * more than CPU time): SHA-256 per 4 KiB Merkle leaf in the ways Node
 * allows, the inner nodes, a whole Merkle root, AES-256-GCM as
 * lib/storage/cipher.ts seals and opens chunks, a memory copy; then the
 * lib's own file passes over a cached file (Merkle root, an upload's
 * first pass with its hash workers counted, the delta fingerprints), and
 * `openssl speed` on the same CPU as the native floor. The floor analysis
 * in docs/BENCHMARKS.md ("The 0.8x bar") is built from these figures.
 * Not in `npm run bench`: it has no baseline of its own to be a ratio of.
 *
 *   npm run build && npx tsx bench/cryptocost.ts [--size 64MiB] [--rounds 7] [--json]
 *
 * The cases run round-robin, one of each per round, so a change in load
 * during the run spreads over all of them; min and median per case.
 */

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import {
  LEAF_SIZE, LeafHasherPool, PLAIN_CHUNK_SIZE, chunkNonce, chunkPrints, encryptFile, hashFile, hashLeaves, leafHash, subtreeLevels
} from '../lib/storage';
import { BenchReport, intFlag, median, printReport, randomFile, sizeFlag } from './util';

const GiB = 2 ** 30;

/** SHA256(tag) || SHA256(tag), as lib/storage/merkle.ts prefixes a leaf. */
function prefix(tag: string): Buffer {
  const t = crypto.createHash('sha256').update(tag).digest();
  return Buffer.concat([t, t]);
}

/** CPU seconds (user + system, this process: its worker threads too) of `fn`. */
async function cpuOf(fn: () => unknown): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** `openssl speed` in bytes per CPU second (its default divides by user CPU time), or null without openssl. */
function opensslSpeed(alg: string, bytes: number): number | null {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', '1', '-bytes', String(bytes), '-evp', alg], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const m = /\s([0-9.]+)k\s*$/m.exec(out.trim());
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const argv = process.argv;
  const size = sizeFlag(argv, 'size', 64 * 2 ** 20);
  const rounds = Math.max(1, intFlag(argv, 'rounds', 7));
  if (size % (1 << 20) !== 0)
    throw new Error('--size must be whole MiB');
  const data = crypto.randomBytes(size);
  const leaves = size / LEAF_SIZE;
  const out = Buffer.allocUnsafe(leaves * 32);
  const LP = prefix('cc/leaf');
  const key = crypto.randomBytes(32);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-cost-'));
  const file = path.join(dir, 'data');
  randomFile(file, size);
  fs.readFileSync(file);
  const pool = new LeafHasherPool();
  const sealed: [Buffer, Buffer][] = [];
  for (let i = 0, o = 0; o < size; i++, o += PLAIN_CHUNK_SIZE) {
    const c = crypto.createCipheriv('aes-256-gcm', key, chunkNonce(i, o + PLAIN_CHUNK_SIZE >= size));
    const ct = c.update(data.subarray(o, o + PLAIN_CHUNK_SIZE));
    c.final();
    sealed.push([ct, c.getAuthTag()]);
  }
  const cases: [string, () => unknown][] = [
    ['leaf: crypto.hash one-shot, leaf copied after its 68-byte prefix (lib: hashLeaves, hash workers)', () => hashLeaves(data, 0)],
    ['leaf: createHash per leaf, update(prefix + index).update(leaf)', () => {
      const s = Buffer.allocUnsafe(68);
      LP.copy(s, 0);
      for (let i = 0; i < leaves; i++) {
        s.writeUInt32LE(i, 64);
        crypto.createHash('sha256').update(s).update(data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)).digest().copy(out, i * 32);
      }
    }],
    ['leaf: lib leafHash (a tagged hasher, three updates; proof checks)', () => {
      for (let i = 0; i < leaves; i++)
        leafHash(i, data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)).copy(out, i * 32);
    }],
    ['leaf: Hash.copy() of the prefix midstate, update(index).update(leaf)', () => {
      const base = crypto.createHash('sha256').update(LP);
      const idx = Buffer.allocUnsafe(4);
      for (let i = 0; i < leaves; i++) {
        idx.writeUInt32LE(i, 0);
        base.copy().update(idx).update(data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)).digest().copy(out, i * 32);
      }
    }],
    ['leaf: crypto.hash of the bare 4 KiB leaf (no prefix, no copy: the per-call floor, not our hash)', () => {
      for (let i = 0; i < leaves; i++)
        crypto.hash('sha256', data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE), 'buffer').copy(out, i * 32);
    }],
    ['inner nodes over the leaf hashes (lib subtreeLevels, one crypto.hash per node)', () => subtreeLevels(out, Math.ceil(Math.log2(leaves)))],
    ['Merkle root in memory: hashLeaves + subtreeLevels (lib)', () => subtreeLevels(hashLeaves(data, 0), Math.ceil(Math.log2(leaves)))],
    ['plain SHA-256, crypto.hash of 1 MiB pieces', () => {
      for (let o = 0; o < size; o += 1 << 20)
        crypto.hash('sha256', data.subarray(o, o + (1 << 20)), 'buffer');
    }],
    ['AES-256-GCM seal per chunk (lib cipher.ts sealChunk)', () => {
      for (let i = 0, o = 0; o < size; i++, o += PLAIN_CHUNK_SIZE) {
        const c = crypto.createCipheriv('aes-256-gcm', key, chunkNonce(i, o + PLAIN_CHUNK_SIZE >= size));
        c.update(data.subarray(o, o + PLAIN_CHUNK_SIZE));
        c.final();
        c.getAuthTag();
      }
    }],
    ['AES-256-GCM open per chunk (lib cipher.ts decryptChunk)', () => {
      sealed.forEach(([ct, tag], i) => {
        const d = crypto.createDecipheriv('aes-256-gcm', key, chunkNonce(i, i === sealed.length - 1));
        d.setAuthTag(tag);
        d.update(ct);
        d.final();
      });
    }],
    ['memory copy, 1 MiB pieces', () => {
      const b = Buffer.allocUnsafe(1 << 20);
      for (let o = 0; o < size; o += 1 << 20)
        data.copy(b, 0, o, o + (1 << 20));
    }],
    ['file: Merkle root, main thread only (lib hashFile inline)', () => hashFile(file, { inline: true })],
    [`file: upload first pass, encrypt + Merkle root (lib encryptedRoot, ${pool.size} workers counted)`, () => encryptFile(key, file, null, { pool })],
    ['file: delta fingerprints, HMAC-SHA256 per chunk + a read (lib chunkPrints)', () => chunkPrints(key, file)]
  ];
  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  try {
    for (const [, fn] of cases)
      await fn();
    for (let r = 0; r < rounds; r++) {
      for (const [name, fn] of cases)
        samples.get(name)!.push(await cpuOf(fn) * GiB / size);
    }
  } finally {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Per GiB of file: a leaf hashes 4164 bytes per 4096, the inner nodes
  // 128 bytes per leaf (one node per leaf, less one).
  const native: [string, string, number, number][] = [
    ['openssl speed: SHA-256 of 4164-byte messages (the leaves: one per 4 KiB)', 'sha256', 4164, 4164 / 4096],
    ['openssl speed: SHA-256 of 128-byte messages (the inner nodes: one per 4 KiB)', 'sha256', 128, 128 / 4096],
    ['openssl speed: SHA-256 of 1 MiB', 'sha256', 1 << 20, 1],
    ['openssl speed: AES-256-GCM of 1 MiB', 'aes-256-gcm', 1 << 20, 1]
  ];
  const rows = [...samples].map(([name, xs]) => [name, Math.min(...xs).toFixed(3), median(xs).toFixed(3), `${(1024 / median(xs)).toFixed(0)} MiB`]);
  for (const [name, alg, bytes, perFileByte] of native) {
    const rate = opensslSpeed(alg, bytes);
    if (rate)
      rows.push([name, '-', (GiB * perFileByte / rate).toFixed(3), `${(rate / perFileByte / 2 ** 20).toFixed(0)} MiB`]);
  }
  const report: BenchReport = {
    bench: 'cryptocost',
    notes: [`${size / 2 ** 20} MiB per case, ${rounds} rounds round-robin, one thread (worker threads counted where the lib uses them); `
      + `Node ${process.versions.node}, its OpenSSL ${process.versions.openssl}; load average ${os.loadavg()[0].toFixed(1)} at the end`],
    tables: [{
      title: 'CPU seconds per GiB of file (user + system)',
      columns: ['operation', 'min', 'median', 'per CPU s (median)'],
      rows
    }],
    ratios: []
  };
  printReport(report, argv);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
