// Merkle tree, tree files and proofs: shape rules, disk proofs, tampering.
import t, { Test } from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { taggedHash, tags } from '../lib/base/hash';
import {
  LEAF_SIZE, LeafHasherPool, MerkleProof, MerkleTree, TreeBuilder, hashFile, hashLeaves,
  leafHash, levelSizes, nodeHash, proofFromTreePath, readTreeHeader, verifyLeaf,
  TreeWriter, completeTreeFile, treeFileSize, subtreeLevels
} from '../lib/storage';

function tmpdir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-merkle-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Reference: the naive level-by-level construction, for cross-checking.
function naiveRoot(data: Buffer): Buffer {
  let level: Buffer[] = [];
  for (let i = 0; i * LEAF_SIZE < data.length; i++) {
    const idx = Buffer.alloc(4);
    idx.writeUInt32LE(i);
    level.push(taggedHash(tags.LEAF, idx, data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)));
  }
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? taggedHash(tags.NODE, level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}

t.test('MerkleTree', async (t) => {
  t.test('should hash leaves as TH(cc/leaf, u32 i || bytes) and nodes as TH(cc/node, l || r)', async (t) => {
    const leaf = Buffer.alloc(LEAF_SIZE, 7);
    t.same(leafHash(3, leaf), taggedHash(tags.LEAF, Buffer.from('03000000', 'hex'), leaf));
    const a = randomBytes(32);
    const b = randomBytes(32);
    t.same(nodeHash(a, b), taggedHash(tags.NODE, a, b));
  });

  t.test('should promote odd nodes and match the naive construction', async (t) => {
    for (const leaves of [1, 2, 3, 5, 7, 8, 9, 33]) {
      const data = randomBytes(leaves * LEAF_SIZE - (leaves > 1 ? 100 : 0));
      const tree = MerkleTree.fromData(data);
      t.same(tree.root, naiveRoot(data), `${leaves} leaves`);
    }
    t.same(levelSizes(5), [5, 3, 2, 1]);
  });

  t.test('should verify every leaf of a small tree and reject wrong ones', async (t) => {
    const data = randomBytes(11 * LEAF_SIZE + 5);
    const tree = MerkleTree.fromData(data);
    for (let i = 0; i < 12; i++) {
      const proof = MerkleProof.decode(tree.proof(i).encode());
      const leaf = data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE);
      t.ok(verifyLeaf(tree.root, data.length, proof, leaf), `leaf ${i}`);
      const bad = Buffer.from(leaf);
      bad[0] ^= 1;
      t.notOk(verifyLeaf(tree.root, data.length, proof, bad), `tampered leaf ${i}`);
    }
    const p = tree.proof(4);
    t.notOk(verifyLeaf(tree.root, data.length + LEAF_SIZE, p, data.subarray(4 * LEAF_SIZE, 5 * LEAF_SIZE)), 'wrong size');
    p.index = 5;
    t.notOk(verifyLeaf(tree.root, data.length, p, data.subarray(4 * LEAF_SIZE, 5 * LEAF_SIZE)), 'wrong index');
    p.index = 4;
    p.hashes.pop();
    t.notOk(verifyLeaf(tree.root, data.length, p, data.subarray(4 * LEAF_SIZE, 5 * LEAF_SIZE)), 'short proof');
  });

  t.test('should reject an absurdly deep proof when decoding', async (t) => {
    const raw = Buffer.alloc(9);
    raw[8] = 200;
    t.throws(() => MerkleProof.decode(raw), { code: 'bad-proof' });
  });

  t.test('should build the same root streaming with a sink', async (t) => {
    const data = randomBytes(21 * LEAF_SIZE);
    const raw = hashLeaves(data, 0);
    const seen: string[] = [];
    const b = new TreeBuilder((level, index) => seen.push(`${level}:${index}`));
    for (let i = 0; i < raw.length; i += 32)
      b.push(raw.subarray(i, i + 32));
    t.same(b.finish(), naiveRoot(data));
    // 21 -> 11 -> 6 -> 3 -> 2 -> 1 nodes above the leaves
    t.equal(seen.length, 11 + 6 + 3 + 2 + 1);
  });
});

t.test('hashFile', async (t) => {
  const pool = new LeafHasherPool(2);
  t.teardown(() => pool.close());

  t.test('should hash on workers exactly as on the main thread', async (t) => {
    const data = randomBytes(9 * LEAF_SIZE + 17);
    const w = await pool.hashBuffer(data, 100);
    t.same(w, hashLeaves(data, 100));
    t.same(await pool.hashBuffer(data, 96, 3), subtreeLevels(hashLeaves(data, 96), 3), 'subtree levels too');
  });

  t.test('should hash a sealed chunk as ciphertext and tag apart exactly as joined', async (t) => {
    // The tag inside the last leaf, ending a leaf, and crossing into a leaf of its own.
    for (const len of [LEAF_SIZE * 256 - 16, 3 * LEAF_SIZE + 100, LEAF_SIZE - 16, 2 * LEAF_SIZE - 6, 5 * LEAF_SIZE, 7]) {
      const ct = randomBytes(len);
      const tag = randomBytes(16);
      const joined = Buffer.concat([ct, tag]);
      t.same(await pool.hashSealed(Buffer.from(ct), tag, 256, 2), subtreeLevels(hashLeaves(joined, 256), 2), `${len} + 16 bytes`);
    }
  });

  t.test('should write a tree file whose proofs verify, and detect a flipped byte', async (t) => {
    const dir = tmpdir(t);
    const file = path.join(dir, 'obj');
    // 20 MiB + a short leaf: several hash segments, odd levels
    const size = 20 * (1 << 20) + 1234;
    const fd = fs.openSync(file, 'w');
    for (let off = 0; off < size; off += 1 << 20)
      fs.writeSync(fd, randomBytes(Math.min(1 << 20, size - off)));
    fs.closeSync(fd);
    const treePath = path.join(dir, 'obj.tree');
    const a = await hashFile(file, { pool, treePath });
    const b = await hashFile(file, { inline: true });
    t.same(a.root, b.root, 'workers and inline agree');
    t.same(a.root, naiveRoot(fs.readFileSync(file)), 'matches naive root');
    const tfd = fs.openSync(treePath, 'r');
    t.same(readTreeHeader(tfd).root, a.root);
    fs.closeSync(tfd);

    const leaves = Math.ceil(size / LEAF_SIZE);
    const rfd = fs.openSync(file, 'r+');
    t.teardown(() => fs.closeSync(rfd));
    const readLeaf = (i: number): Buffer => {
      const len = Math.min(LEAF_SIZE, size - i * LEAF_SIZE);
      const buf = Buffer.alloc(len);
      fs.readSync(rfd, buf, 0, len, i * LEAF_SIZE);
      return buf;
    };
    for (const i of [0, leaves - 1, 1 + Math.floor(Math.random() * (leaves - 2))]) {
      const proof = proofFromTreePath(treePath, i);
      t.ok(verifyLeaf(a.root, size, proof, readLeaf(i)), `leaf ${i} verifies`);
    }
    // Flip one byte of a random leaf on disk: its proof must fail.
    const i = Math.floor(Math.random() * leaves);
    const leaf = readLeaf(i);
    leaf[leaf.length >> 1] ^= 0x80;
    fs.writeSync(rfd, leaf, 0, leaf.length, i * LEAF_SIZE);
    t.notOk(verifyLeaf(a.root, size, proofFromTreePath(treePath, i), readLeaf(i)), 'flipped byte fails');
    const c = await hashFile(file, { pool });
    t.not(c.root.toString('hex'), a.root.toString('hex'), 'root changes');
  });

  t.test('should write byte-identical tree files on workers, inline and part by part', async (t) => {
    const dir = tmpdir(t);
    for (const size of [5 * LEAF_SIZE - 3, 2048 * LEAF_SIZE, 2049 * LEAF_SIZE, 4097 * LEAF_SIZE + 1]) {
      const file = path.join(dir, `obj-${size}`);
      fs.writeFileSync(file, randomBytes(size));
      const a = path.join(dir, 'a.tree');
      const b = path.join(dir, 'b.tree');
      const c = path.join(dir, 'c.tree');
      const ra = await hashFile(file, { pool, treePath: a });
      const rb = await hashFile(file, { inline: true, treePath: b });
      // The file server's way: leaf hashes first, upper levels at the end.
      const fd = fs.openSync(c, 'w+');
      fs.ftruncateSync(fd, treeFileSize(size));
      new TreeWriter(fd, size).putLeaves(0, hashLeaves(fs.readFileSync(file), 0));
      const rc = completeTreeFile(fd, size);
      fs.closeSync(fd);
      t.same([ra.root, rb.root], [rc, rc], `roots agree (${size})`);
      t.ok(fs.readFileSync(a).equals(fs.readFileSync(c)) && fs.readFileSync(b).equals(fs.readFileSync(c)), `tree files identical (${size})`);
      t.same(ra.root, naiveRoot(fs.readFileSync(file)), `naive root (${size})`);
    }
  });

  t.test('should hash a lent block with its subtree levels and hand the block back', async (t) => {
    // A whole 1 MiB block as the file server lends it (levels 1..8), and
    // odd leaf counts whose last node is promoted.
    for (const [leaves, height] of [[256, 8], [9, 3], [1, 2], [7, 0]]) {
      const data = randomBytes(leaves * LEAF_SIZE - (leaves > 1 ? 100 : 0));
      const block = Buffer.allocUnsafeSlow(data.length);
      data.copy(block);
      let back: Buffer | null = null;
      const h = await pool.hashLent(block, data.length, 512, (b) => { back = b; }, height);
      t.same(h, subtreeLevels(hashLeaves(data, 512), height), `${leaves} leaves, levels 0..${height}`);
      t.ok(back!.equals(data), 'the block came back intact');
    }
  });

  t.test('should fail the jobs of a dead worker and replace it', async (t) => {
    const one = new LeafHasherPool(1);
    t.teardown(() => one.close());
    const data = randomBytes(4 * LEAF_SIZE);
    t.same(await one.hashBuffer(data, 0), hashLeaves(data, 0));
    const within = <T>(p: Promise<T>): Promise<T> => Promise.race([p,
      new Promise<T>((_resolve, reject) => setTimeout(() => reject(new Error('hung')), 5000).unref())]);
    // The worker dies (killed, out of memory) with a job in hand.
    const inFlight = one.hashBuffer(randomBytes(32 << 20), 0);
    await (one as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0].terminate();
    await t.rejects(within(inFlight), { message: /exited/ }, 'its job fails instead of hanging');
    t.same(await within(one.hashBuffer(data, 7)), hashLeaves(data, 7), 'later jobs run on a new worker');
  });

  t.test('should refuse an empty file', async (t) => {
    const dir = tmpdir(t);
    const file = path.join(dir, 'empty');
    fs.writeFileSync(file, '');
    await t.rejects(hashFile(file, { pool }), { code: 'bad-size' });
  });
});

t.test('pinned vector', async (t) => {
  // 3 leaves of 0x00.., 0x01.., 0x02 (last short): pins tags, index encoding and
  // promotion. The vector file was written by MerkleTree.fromData on this data.
  const data = Buffer.concat([Buffer.alloc(LEAF_SIZE, 0), Buffer.alloc(LEAF_SIZE, 1), Buffer.alloc(10, 2)]);
  const root = MerkleTree.fromData(data).root.toString('hex');
  t.equal(root, naiveRoot(data).toString('hex'));
  t.equal(root, fs.readFileSync(path.join(__dirname, 'data', 'storage-merkle-vector.txt'), 'utf8').trim());
});
