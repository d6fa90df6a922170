/*!
 * treefile.ts - the stored Merkle tree of an object, and proofs read from it.
 *
 * Layout (all hashes 32 bytes):
 *   header: magic "cct1" (4) || u64 size || root (32)   = 44 bytes
 *   level 0 (leaf hashes), level 1, ..., top level (the root), in order.
 * Level offsets follow from `size` alone, so a proof for leaf i reads one
 * 32-byte sibling per level: O(log n) small reads, never the data file.
 * Overhead is about 64 bytes per 4096-byte leaf (1.6%).
 */

import bio = require('bufio');
import * as fs from 'fs';
import { LEAF_SIZE, leafCount } from './common';
import { StorageError } from './errors';
import { MerkleProof, TreeBuilder, levelSizes, proofPath, subtreeLevels } from './merkle';

const MAGIC = Buffer.from('cct1', 'ascii');

/** completeTreeFile builds subtrees of 2^11 leaves (64 KiB of leaf hashes) at a time. */
const COMPLETE_BLOCK_HEIGHT = 11;

/** Size of the tree header. */
export const TREE_HEADER_SIZE = 44;

/** The header of a tree file. */
export class TreeHeader extends bio.Struct {
  size = 0;
  root: Buffer = Buffer.alloc(32);

  getSize(): number {
    return TREE_HEADER_SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(MAGIC);
    bw.writeU64(this.size);
    bw.writeBytes(this.root);
    return bw;
  }

  read(br: bio.BufferReader): this {
    if (!br.readBytes(4).equals(MAGIC))
      throw new StorageError('bad-tree', 'not a tree file');
    this.size = br.readU64();
    this.root = br.readBytes(32);
    return this;
  }

  getJSON(): { size: number; root: string } {
    return { size: this.size, root: this.root.toString('hex') };
  }
}

/** Byte offset of each level in the tree file of an object of `size` bytes. */
export function levelOffsets(size: number): number[] {
  const offsets: number[] = [];
  let off = TREE_HEADER_SIZE;
  for (const n of levelSizes(leafCount(size))) {
    offsets.push(off);
    off += n * 32;
  }
  offsets.push(off);
  return offsets;
}

/** Total tree file size for an object of `size` bytes. */
export function treeFileSize(size: number): number {
  const offsets = levelOffsets(size);
  return offsets[offsets.length - 1];
}

/**
 * Buffered positional writer of tree nodes: writes within each level arrive
 * in order, so each level keeps one small buffer and flushes sequentially.
 */
export class TreeWriter {
  private readonly fd: number;
  private readonly offsets: number[];
  private readonly bufs: Buffer[] = [];
  private readonly fill: number[] = [];
  private readonly next: number[] = [];
  readonly size: number;
  static readonly BUF = 64 * 1024;

  /** Writes into an open descriptor; the caller owns the descriptor. */
  constructor(fd: number, size: number) {
    this.fd = fd;
    this.size = size;
    this.offsets = levelOffsets(size);
  }

  /** Writes node `index` of `level`. */
  put(level: number, index: number, hash: Buffer): void {
    if (!this.bufs[level]) {
      this.bufs[level] = Buffer.allocUnsafe(TreeWriter.BUF);
      this.fill[level] = 0;
      this.next[level] = index;
    }
    // A gap means the caller skipped nodes; flush and restart the run.
    if (index !== this.next[level] + this.fill[level] / 32) {
      this.flush(level);
      this.next[level] = index;
    }
    hash.copy(this.bufs[level], this.fill[level]);
    this.fill[level] += 32;
    if (this.fill[level] === TreeWriter.BUF)
      this.flush(level);
  }

  /** Writes a run of consecutive nodes of `level` (n * 32 bytes) starting at `first`. */
  putRun(level: number, first: number, hashes: Buffer): void {
    this.flush(level);
    writeFull(this.fd, hashes, this.offsets[level] + first * 32);
    this.next[level] = first + hashes.length / 32;
  }

  /** Writes a run of consecutive leaf hashes starting at leaf `first`. */
  putLeaves(first: number, hashes: Buffer): void {
    this.putRun(0, first, hashes);
  }

  private flush(level: number): void {
    const buf = this.bufs[level];
    if (!buf || this.fill[level] === 0)
      return;
    writeFull(this.fd, buf.subarray(0, this.fill[level]), this.offsets[level] + this.next[level] * 32);
    this.next[level] += this.fill[level] / 32;
    this.fill[level] = 0;
  }

  /** Flushes every level and writes the header with `root`. */
  finish(root: Buffer): void {
    for (let level = 0; level < this.bufs.length; level++)
      this.flush(level);
    const header = new TreeHeader();
    header.size = this.size;
    header.root = root;
    writeFull(this.fd, header.encode(), 0);
  }

  /** A TreeBuilder sink writing upper levels here. */
  sink(): (level: number, index: number, hash: Buffer) => void {
    return (level, index, hash) => this.put(level, index, hash);
  }
}

function writeFull(fd: number, buf: Buffer, pos: number): void {
  let off = 0;
  while (off < buf.length)
    off += fs.writeSync(fd, buf, off, buf.length - off, pos + off);
}

function readFull(fd: number, buf: Buffer, pos: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.readSync(fd, buf, off, buf.length - off, pos + off);
    if (n === 0)
      throw new StorageError('bad-tree', 'tree file is truncated');
    off += n;
  }
}

/**
 * Height of the aligned blocks the upper levels are built in: 2^11 leaves
 * (8 MiB of object, 64 KiB of leaf hashes), or the whole tree if smaller.
 */
export function treeBlockHeight(size: number): number {
  return Math.min(COMPLETE_BLOCK_HEIGHT, levelSizes(leafCount(size)).length - 1);
}

/** Number of blocks whose leaves are all within the first `bytes` bytes. */
export function fullTreeBlocks(size: number, bytes: number): number {
  const per = 2 ** treeBlockHeight(size);
  return Math.floor(Math.floor(bytes / LEAF_SIZE) / per);
}

/**
 * Builds levels 1..blockHeight of blocks [from, to) from their leaf
 * hashes (level 0, already in the file). The file server calls this as
 * each part lands, so completing even a huge object only has to combine
 * block roots: every request stays short. `builtTo(b)`: the highest level
 * already in the file for every node of block b (0 by default): the
 * levels above it are built from it (a server whose workers hashed a
 * part's aligned 1 MiB subtrees builds only the top few levels here).
 */
export function buildTreeBlocks(fd: number, size: number, from: number, to: number, builtTo: (block: number) => number = () => 0): void {
  const n = leafCount(size);
  const height = treeBlockHeight(size);
  const per = 2 ** height;
  const writer = new TreeWriter(fd, size);
  const offsets = levelOffsets(size);
  const buf = Buffer.allocUnsafe(per * 32);
  for (let b = from; b < to; b++) {
    const first = b * per;
    const count = Math.min(per, n - first);
    if (count <= 0)
      break;
    const base = Math.min(builtTo(b), height);
    let m = Math.ceil(count / 2 ** base);
    const nodes = buf.subarray(0, m * 32);
    readFull(fd, nodes, offsets[base] + (first >>> base) * 32);
    const levels = subtreeLevels(nodes, height - base);
    let off = m * 32;
    for (let k = base + 1; k <= height; k++) {
      m = Math.ceil(m / 2);
      writer.putRun(k, first >>> k, levels.subarray(off, off + m * 32));
      off += m * 32;
    }
  }
}

/**
 * Completes a tree file whose level 0 is written (and whose first `built`
 * blocks already have their levels, see buildTreeBlocks): builds the other
 * blocks, then every level above the blocks, writes the header, returns
 * the root.
 */
export function completeTreeFile(fd: number, size: number, built = 0): Buffer {
  const n = leafCount(size);
  const height = treeBlockHeight(size);
  const per = 2 ** height;
  const blocks = Math.ceil(n / per);
  buildTreeBlocks(fd, size, built, blocks);
  // Block roots are consecutive nodes of level `height`.
  const writer = new TreeWriter(fd, size);
  const builder = new TreeBuilder(writer.sink(), height);
  const offsets = levelOffsets(size);
  const buf = Buffer.allocUnsafe(TreeWriter.BUF);
  for (let i = 0; i < blocks;) {
    const count = Math.min(blocks - i, TreeWriter.BUF / 32);
    const part = buf.subarray(0, count * 32);
    readFull(fd, part, offsets[height] + i * 32);
    for (let j = 0; j < count; j++)
      builder.push(Buffer.from(part.subarray(j * 32, j * 32 + 32)));
    i += count;
  }
  const root = builder.finish();
  writer.finish(root);
  return root;
}

/** Reads a tree file's header. */
export function readTreeHeader(fd: number): TreeHeader {
  const buf = Buffer.allocUnsafe(TREE_HEADER_SIZE);
  readFull(fd, buf, 0);
  return TreeHeader.decode(buf);
}

/** Reads one stored node. */
export function readNode(fd: number, size: number, level: number, index: number): Buffer {
  const offsets = levelOffsets(size);
  const buf = Buffer.allocUnsafe(32);
  readFull(fd, buf, offsets[level] + index * 32);
  return buf;
}

/**
 * Builds the proof for leaf `index` from a tree file: one 32-byte read per
 * level (O(log n)), never touching the data.
 */
export function proofFromTreeFile(fd: number, index: number): MerkleProof {
  const header = readTreeHeader(fd);
  const n = leafCount(header.size);
  if (!Number.isInteger(index) || index < 0 || index >= n)
    throw new StorageError('bad-proof', 'leaf index out of range');
  const offsets = levelOffsets(header.size);
  const proof = new MerkleProof();
  proof.index = index;
  proof.leaves = n;
  for (const p of proofPath(n, index)) {
    const buf = Buffer.allocUnsafe(32);
    readFull(fd, buf, offsets[p.level] + p.sibling * 32);
    proof.hashes.push(buf);
  }
  return proof;
}

/** Opens `path` and builds a proof; see proofFromTreeFile. */
export function proofFromTreePath(path: string, index: number): MerkleProof {
  const fd = fs.openSync(path, 'r');
  try {
    return proofFromTreeFile(fd, index);
  } finally {
    fs.closeSync(fd);
  }
}
