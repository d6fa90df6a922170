/*!
 * merkle.ts - the tagged Merkle tree over 4096-byte leaves, and its proofs.
 *
 *   leaf_i = TH("cc/leaf", u32 i || leaf bytes)   (the last leaf may be short)
 *   node   = TH("cc/node", left || right)
 * An odd node at the end of a level is promoted unchanged (as in the batch
 * tree of DESIGN 5). The index in the leaf hash binds every leaf to its
 * position, so equal leaves at different offsets never share a hash.
 */

import bio = require('bufio');
import * as crypto from 'crypto';
import { createHash } from 'crypto';
import { taggedHash, taggedHasher, tags } from '../base/hash';
import { LEAF_SIZE, MAX_PROOF_DEPTH, leafCount } from './common';
import { StorageError } from './errors';

/** Hash of leaf `index` holding `data` (at most LEAF_SIZE bytes). */
export function leafHash(index: number, data: Buffer): Buffer {
  const idx = Buffer.allocUnsafe(4);
  idx.writeUInt32LE(index, 0);
  return taggedHasher(tags.LEAF).update(idx).update(data).digest();
}

/** One-shot SHA-256: crypto.hash (Node >= 20.12) is one native call. */
const oneShot: ((alg: string, data: Buffer, enc: 'buffer') => Buffer) | null =
  typeof crypto.hash === 'function' ? crypto.hash : null;

function sha256(data: Buffer): Buffer {
  return oneShot ? oneShot('sha256', data, 'buffer') : createHash('sha256').update(data).digest();
}

/** SHA256(tag) || SHA256(tag): the 64 bytes a tagged hash starts with. */
function taggedHashPrefix(tag: string): Buffer {
  const t = createHash('sha256').update(tag, 'utf8').digest();
  return Buffer.concat([t, t]);
}

/** Inner node hash. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return taggedHash(tags.NODE, left, right);
}

/**
 * Hashes consecutive leaves of `data` (a whole number of leaves except
 * possibly the last), the first being leaf `first`. Returns n * 32 bytes.
 */
export function hashLeaves(data: Buffer, first: number): Buffer {
  const n = leafCount(data.length);
  const out = Buffer.allocUnsafe(n * 32);
  // prefix || u32 index || leaf in one buffer: one native hash call per leaf.
  const scratch = Buffer.allocUnsafe(64 + 4 + LEAF_SIZE);
  taggedHashPrefix(tags.LEAF).copy(scratch, 0);
  for (let i = 0; i < n; i++) {
    const start = i * LEAF_SIZE;
    const end = Math.min(start + LEAF_SIZE, data.length);
    scratch.writeUInt32LE(first + i, 64);
    data.copy(scratch, 68, start, end);
    sha256(scratch.subarray(0, 68 + end - start)).copy(out, i * 32);
  }
  return out;
}

/** Node counts per level, leaves first, root last. */
export function levelSizes(leaves: number): number[] {
  if (leaves < 1)
    throw new StorageError('bad-size', 'a tree needs at least one leaf');
  const sizes = [leaves];
  let n = leaves;
  while (n > 1) {
    n = Math.ceil(n / 2);
    sizes.push(n);
  }
  return sizes;
}

/** Receives every node above the leaves, in order within each level. */
export type NodeSink = (level: number, index: number, hash: Buffer) => void;

/**
 * Streaming tree builder: push nodes of level `base` (leaf hashes when
 * base = 0, or roots of aligned 2^base-leaf subtrees built elsewhere) in
 * order, then finish(). Keeps one pending node per level, so memory is
 * O(log n) whatever the file size. The sink sees every node above `base`.
 */
export class TreeBuilder {
  private readonly pending: (Buffer | null)[] = [];
  private readonly counts: number[] = [];
  private readonly sink: NodeSink | null;
  private readonly base: number;
  private nodes = 0;

  constructor(sink: NodeSink | null = null, base = 0) {
    this.sink = sink;
    this.base = base;
  }

  /** Adds the next node of the base level. */
  push(hash: Buffer): void {
    this.nodes += 1;
    this.add(this.base, hash);
  }

  private add(level: number, hash: Buffer): void {
    if (level > this.base) {
      const index = this.counts[level] ?? 0;
      this.counts[level] = index + 1;
      if (this.sink)
        this.sink(level, index, hash);
    }
    const left = this.pending[level];
    if (left) {
      this.pending[level] = null;
      this.add(level + 1, nodeHash(left, hash));
    } else {
      this.pending[level] = hash;
    }
  }

  /** Completes the tree and returns the root. */
  finish(): Buffer {
    if (this.nodes === 0)
      throw new StorageError('bad-size', 'a tree needs at least one leaf');
    const top = this.base + levelSizes(this.nodes).length - 1;
    // Bottom-up: a level's leftover odd node is promoted unchanged to the
    // next level, where it may complete a pair.
    for (let level = this.base; level < top; level++) {
      const odd = this.pending[level];
      if (odd) {
        this.pending[level] = null;
        this.add(level + 1, odd);
      }
    }
    const root = this.pending[top];
    if (!root)
      throw new StorageError('bad-tree', 'tree builder lost its root');
    return root;
  }
}

/**
 * Levels 0..height of the subtree over `leafHashes` (n * 32 bytes), which
 * starts at an index aligned to 2^height. Odd last nodes are promoted, so
 * the result equals those nodes of the whole tree when the subtree is full
 * or is the last one. Returns the levels concatenated, leaves first.
 * (hashpool.ts runs the same algorithm on workers.)
 */
export function subtreeLevels(leafHashes: Buffer, height: number): Buffer {
  const parts: Buffer[] = [leafHashes];
  let level = leafHashes;
  // One update of prefix || left || right per node: fewer native calls.
  const scratch = Buffer.allocUnsafe(128);
  taggedHashPrefix(tags.NODE).copy(scratch, 0);
  for (let k = 0; k < height; k++) {
    const n = level.length / 32;
    const next = Buffer.allocUnsafe(Math.ceil(n / 2) * 32);
    for (let i = 0; i + 1 < n; i += 2) {
      level.copy(scratch, 64, i * 32, i * 32 + 64);
      sha256(scratch).copy(next, (i / 2) * 32);
    }
    if (n & 1)
      level.copy(next, next.length - 32, (n - 1) * 32);
    parts.push(next);
    level = next;
  }
  return Buffer.concat(parts);
}

/** Root over an array of leaf hashes (tests, small objects). */
export function rootOf(leafHashes: Buffer[]): Buffer {
  const b = new TreeBuilder();
  for (const h of leafHashes)
    b.push(h);
  return b.finish();
}

/**
 * A Merkle proof for one leaf: the sibling hashes from the leaves up,
 * skipping levels where the node was promoted without a sibling.
 */
export class MerkleProof extends bio.Struct {
  index = 0;
  leaves = 0;
  hashes: Buffer[] = [];

  getSize(): number {
    return 4 + 4 + 1 + this.hashes.length * 32;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU32(this.index);
    bw.writeU32(this.leaves);
    bw.writeU8(this.hashes.length);
    for (const h of this.hashes)
      bw.writeBytes(h);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.index = br.readU32();
    this.leaves = br.readU32();
    const count = br.readU8();
    // [REJECT] depth beyond any tree we can build
    if (count > MAX_PROOF_DEPTH)
      throw new StorageError('bad-proof', 'proof too deep');
    this.hashes = [];
    for (let i = 0; i < count; i++)
      this.hashes.push(br.readBytes(32));
    return this;
  }

  getJSON(): { index: number; leaves: number; hashes: string[] } {
    return { index: this.index, leaves: this.leaves, hashes: this.hashes.map(h => h.toString('hex')) };
  }

  fromJSON(json: unknown): this {
    const j = json as { index?: unknown; leaves?: unknown; hashes?: unknown };
    if (typeof j.index !== 'number' || typeof j.leaves !== 'number' || !Array.isArray(j.hashes))
      throw new StorageError('bad-proof', 'bad proof JSON');
    this.index = j.index;
    this.leaves = j.leaves;
    this.hashes = j.hashes.map((h: unknown) => {
      if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h))
        throw new StorageError('bad-proof', 'bad proof hash');
      return Buffer.from(h, 'hex');
    });
    return this;
  }
}

/**
 * Walks a tree shape for leaf `index`: calls `visit(level, siblingIndex)`
 * for each level that has a sibling. Shared by proof building and checking
 * so both agree on where promotion happens.
 */
export function proofPath(leaves: number, index: number): { level: number; sibling: number; left: boolean }[] {
  const path: { level: number; sibling: number; left: boolean }[] = [];
  let n = leaves;
  let i = index;
  let level = 0;
  while (n > 1) {
    if (i & 1)
      path.push({ level, sibling: i - 1, left: true });
    else if (i + 1 < n)
      path.push({ level, sibling: i + 1, left: false });
    i >>>= 1;
    n = Math.ceil(n / 2);
    level += 1;
  }
  return path;
}

/** Root implied by a leaf hash and a proof. */
export function proofRoot(proof: MerkleProof, leaf: Buffer): Buffer {
  if (proof.leaves < 1 || proof.index >= proof.leaves)
    throw new StorageError('bad-proof', 'leaf index out of range');
  const path = proofPath(proof.leaves, proof.index);
  if (path.length !== proof.hashes.length)
    throw new StorageError('bad-proof', 'proof length does not match tree shape');
  let h = leaf;
  for (let k = 0; k < path.length; k++)
    h = path[k].left ? nodeHash(proof.hashes[k], h) : nodeHash(h, proof.hashes[k]);
  return h;
}

/**
 * Checks that `data` is leaf `proof.index` of the object with `root` and
 * `size`. Pure: no I/O. Returns false on any mismatch (wrong shape, short
 * leaf, wrong hash) rather than throwing, so audits can count failures.
 */
export function verifyLeaf(root: Buffer, size: number, proof: MerkleProof, data: Buffer): boolean {
  const n = leafCount(size);
  if (n < 1 || proof.leaves !== n || proof.index >= n)
    return false;
  const want = proof.index === n - 1 ? size - (n - 1) * LEAF_SIZE : LEAF_SIZE;
  if (data.length !== want)
    return false;
  try {
    return proofRoot(proof, leafHash(proof.index, data)).equals(root);
  } catch (e) {
    if (e instanceof StorageError)
      return false;
    throw e;
  }
}

/** An in-memory tree, for small objects and tests. */
export class MerkleTree {
  readonly levels: Buffer[][];

  constructor(leafHashes: Buffer[]) {
    this.levels = [leafHashes.slice()];
    const b = new TreeBuilder((level, index, hash) => {
      if (!this.levels[level])
        this.levels[level] = [];
      this.levels[level][index] = hash;
    });
    for (const h of leafHashes)
      b.push(h);
    b.finish();
  }

  /** Tree of an object held in memory. */
  static fromData(data: Buffer): MerkleTree {
    const raw = hashLeaves(data, 0);
    const hashes: Buffer[] = [];
    for (let i = 0; i < raw.length; i += 32)
      hashes.push(raw.subarray(i, i + 32));
    return new MerkleTree(hashes);
  }

  get root(): Buffer {
    return this.levels[this.levels.length - 1][0];
  }

  proof(index: number): MerkleProof {
    const proof = new MerkleProof();
    proof.index = index;
    proof.leaves = this.levels[0].length;
    for (const p of proofPath(proof.leaves, index))
      proof.hashes.push(this.levels[p.level][p.sibling]);
    return proof;
  }
}
