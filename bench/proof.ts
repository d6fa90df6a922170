/*!
 * proof.ts - storage proofs: for objects of 1 MB (random bytes), 1 GB and
 * 10 GB (sparse files: the tree still hashes every leaf, with its index),
 * the time to build the tree file once (what an upload pays), to generate
 * a proof of a random leaf from the tree file, to verify it, and its size.
 * Baselines measured in the same run: generation against one random 4 KiB
 * read of the object (a host must read the leaf anyway), verification
 * against one SHA-256 of a leaf, size against the leaf (4096 bytes).
 *
 * Objects over --hash-limit (default 2GB) get a filled tree (fillTree):
 * their build time is not a hashing figure.
 *
 *   npx tsx bench/proof.ts [--sizes 1MB,1GB,10GB] [--proofs 300] [--hash-limit 2GB] [--json]
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomFillSync, randomInt } from 'crypto';
import { LEAF_SIZE, LeafHasherPool, hashFile, leafCount, leafHash, proofFromTreePath, verifyLeaf } from '../lib/storage';
import { completeTreeFile, levelOffsets } from '../lib/storage/treefile';
import { parseSize } from '../lib/base/units';
import { BenchRatio, BenchReport, intFlag, median, printReport, randomFile, sizesFlag, stringFlag, timed } from './util';

function us(secs: number): string {
  return `${(secs * 1e6).toFixed(1)} us`;
}

function readLeaf(fd: number, size: number, index: number): Buffer {
  const len = Math.min(LEAF_SIZE, size - index * LEAF_SIZE);
  const buf = Buffer.allocUnsafe(len);
  fs.readSync(fd, buf, 0, len, index * LEAF_SIZE);
  return buf;
}

/**
 * A tree file for `file` whose leaf level holds the real hashes of the
 * leaves that will be proven (`picks`) and random filler elsewhere, with
 * every level above built by the tree code: proofs of the picked leaves
 * are generated and verified exactly as over a fully hashed object, and
 * a 10 GB object takes seconds, not minutes of leaf hashing (--hash-limit).
 */
function fillTree(tree: string, file: string, size: number, picks: number[]): Buffer {
  const leaves = leafCount(size);
  const offsets = levelOffsets(size);
  const fd = fs.openSync(tree, 'w+');
  const src = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < leaves * 32; at += buf.length) {
      const len = Math.min(buf.length, leaves * 32 - at);
      randomFillSync(buf, 0, len);
      fs.writeSync(fd, buf, 0, len, offsets[0] + at);
    }
    for (const i of picks)
      fs.writeSync(fd, leafHash(i, readLeaf(src, size, i)), 0, 32, offsets[0] + i * 32);
    return completeTreeFile(fd, size);
  } finally {
    fs.closeSync(src);
    fs.closeSync(fd);
  }
}

async function main(): Promise<void> {
  const argv = process.argv;
  const sizes = sizesFlag(argv, 'sizes', '1MB,1GB,10GB');
  const count = Math.max(1, intFlag(argv, 'proofs', 300));
  const hashLimit = parseSize(stringFlag(argv, 'hash-limit', '2GB')) ?? 2e9;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-proof-'));
  const pool = new LeafHasherPool();
  const rows: string[][] = [];
  const ratios: BenchRatio[] = [];
  try {
    for (const { label, n } of sizes) {
      const file = path.join(dir, 'object');
      const tree = path.join(dir, 'tree');
      // Small objects hold random bytes; large ones are sparse (no disk).
      if (n <= 64e6)
        randomFile(file, n);
      else {
        fs.writeFileSync(file, '');
        fs.truncateSync(file, n);
      }
      const leaves = leafCount(n);
      const picks = Array.from({ length: count }, () => randomInt(leaves));
      let root: Buffer = Buffer.alloc(0);
      const filled = n > hashLimit;
      const build = await timed(async () => {
        root = filled ? fillTree(tree, file, n, picks) : (await hashFile(file, { pool, treePath: tree })).root;
      });
      const fd = fs.openSync(file, 'r');
      try {
        // Warm both paths once (page cache, code), then time each run.
        proofFromTreePath(tree, picks[0]);
        readLeaf(fd, n, picks[0]);
        const gen: number[] = [];
        const read: number[] = [];
        const ver: number[] = [];
        const sha: number[] = [];
        let bytes = 0;
        let ok = true;
        for (const i of picks) {
          let t0 = process.hrtime.bigint();
          const data = readLeaf(fd, n, i);
          read.push(Number(process.hrtime.bigint() - t0) / 1e9);
          t0 = process.hrtime.bigint();
          const proof = proofFromTreePath(tree, i);
          gen.push(Number(process.hrtime.bigint() - t0) / 1e9);
          bytes = Math.max(bytes, proof.getSize());
          t0 = process.hrtime.bigint();
          ok = verifyLeaf(root, n, proof, data) && ok;
          ver.push(Number(process.hrtime.bigint() - t0) / 1e9);
          t0 = process.hrtime.bigint();
          createHash('sha256').update(data).digest();
          sha.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
        if (!ok)
          throw new Error(`a proof for the ${label} object did not verify`);
        const treeBytes = fs.statSync(tree).size;
        rows.push([label, String(leaves), filled ? `${build.toFixed(1)} s (filled)` : `${build.toFixed(1)} s`, `${(treeBytes / 1e6).toFixed(1)} MB`,
          us(median(gen)), us(median(read)), us(median(ver)), us(median(sha)), `${bytes} B`]);
        ratios.push(
          { name: `proof generation, ${label}`, value: median(gen) / median(read), baseline: 'one random 4 KiB read', lowerIsBetter: true },
          { name: `proof verification, ${label}`, value: median(ver) / median(sha), baseline: 'one SHA-256 of a leaf', lowerIsBetter: true },
          { name: `proof size, ${label}`, value: bytes / LEAF_SIZE, baseline: 'the 4096-byte leaf', lowerIsBetter: true });
      } finally {
        fs.closeSync(fd);
        fs.rmSync(file, { force: true });
        fs.rmSync(tree, { force: true });
      }
    }
  } finally {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const report: BenchReport = {
    bench: 'proof',
    notes: [`${count} proofs of random leaves per object; times are medians per proof; objects over 64 MB are sparse files; over the hash limit the tree's leaf level is filled (real hashes for the proven leaves)`],
    tables: [{
      title: 'storage proofs: tree build, generation (from the tree file), verification, size',
      columns: ['object', 'leaves', 'tree build', 'tree file', 'generate', 'leaf read', 'verify', 'leaf SHA-256', 'proof size'],
      rows
    }],
    ratios
  };
  printReport(report, argv);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
