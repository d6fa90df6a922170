/*!
 * partwriter.ts - an upload's bytes on disk: a part streamed into the
 * object's data file in 1 MiB blocks that hash-pool workers hash off the
 * event loop (the tree file's level 0, each aligned block's subtree, and
 * every tree block the part completes), a failed part rolled
 * back, and the completing step that checks the root, fsyncs the object
 * once and renames it into place.
 *
 * Parts are not fsynced: the part that completes an object fsyncs its data
 * and tree once, before the object appears. A process crash loses nothing
 * written; after a power loss an upload resumes from what its files still
 * hold, re-checked by length (StoreLayout#received takes the smallest of
 * state.json and the data file, on a leaf boundary), and lost leaf hashes
 * make the completing part fail root-mismatch (the upload is deleted,
 * never wrong): no partial or wrong object is ever visible.
 */

import * as fs from 'fs';
import * as path from 'path';
import { LEAF_SIZE, leafCount } from './common';
import { StoreError } from './errors';
import { fsyncDir, fsyncFile, mkdirDurable } from './fsutil';
import { LeafHasherPool, sharedHasherPool } from './hashpool';
import { hashLeaves } from './merkle';
import type { StoreLayout } from './storelayout';
import type { ObjectRecord } from './storetypes';
import { TreeWriter, buildTreeBlocks, completeTreeFile, fullTreeBlocks, treeBlockHeight, treeFileSize } from './treefile';

/** Bytes gathered per disk write while receiving a part (a whole number of leaves). */
const WRITE_BLOCK = 1 << 20;

/**
 * Height of a WRITE_BLOCK's own subtree (2^8 leaves): a worker builds its
 * levels 1..8 with its leaves when the block is a whole, aligned subtree,
 * so the event loop builds only the levels above (7 node hashes per 8 MiB
 * tree block instead of 2047).
 */
const SUB_HEIGHT = Math.log2(WRITE_BLOCK / LEAF_SIZE);

/** Blocks of a part being hashed on the pool at once (each WRITE_BLOCK bytes). */
const MAX_LENT = 4;

/**
 * Spare blocks a store keeps between parts: a part's lent blocks come back
 * here, so uploads reuse a few MiB rather than leaving a few per part for
 * the collector (external memory the GC frees late: +45 MB peak RSS on a
 * 200 MB upload without them).
 */
const MAX_SPARE = 2 * MAX_LENT;

/** Writes parts of uploads into a store's layout (one per store: it keeps the spare blocks). */
export class PartWriter {
  private readonly layout: StoreLayout;
  /** Free WRITE_BLOCK-sized blocks (see MAX_SPARE). */
  private readonly spare: Buffer[] = [];
  private readonly hasher: LeafHasherPool | null | undefined;

  /** `hasher`: a pool, null to hash on the calling thread, undefined for the process's shared pool. */
  constructor(layout: StoreLayout, hasher: LeafHasherPool | null | undefined) {
    this.layout = layout;
    this.hasher = hasher;
  }

  /**
   * Writes `length` bytes of `body` at `offset` into object `rec`'s upload
   * (created on the first part), hashing its leaves into the tree file.
   * The caller checked the offset and length and holds the object's lock.
   */
  async write(rec: ObjectRecord, offset: number, length: number, body: AsyncIterable<Buffer>): Promise<void> {
    const dir = this.layout.uploadDir(rec.contract, rec.object);
    mkdirDurable(dir);
    const data = await fs.promises.open(path.join(dir, 'data'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    try {
      const treeFile = path.join(dir, 'tree');
      const fresh = !fs.existsSync(treeFile);
      const tree = await fs.promises.open(treeFile, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      try {
        if (fresh)
          await tree.truncate(treeFileSize(rec.size));
        // Levels 1..SUB_HEIGHT come from the workers when every 1 MiB
        // block of the part is an aligned subtree of the object's tree.
        const sub = this.hasher !== null && offset % WRITE_BLOCK === 0 && treeBlockHeight(rec.size) >= SUB_HEIGHT ? SUB_HEIGHT : 0;
        const { hashes, levels } = await this.receive(data, offset, length, body, sub);
        const writer = new TreeWriter(tree.fd, rec.size);
        const firstLeaf = offset / LEAF_SIZE;
        writer.putLeaves(firstLeaf, hashes);
        for (let k = 1; k <= levels.length; k++)
          writer.putRun(k, firstLeaf >>> k, levels[k - 1]);
        // Upper levels of every block this part completed, so the final
        // part only combines block roots however large the object. A block
        // lying within the part's whole 1 MiB blocks has levels up to
        // SUB_HEIGHT written already; one straddling an earlier part is
        // built from its leaves (every part writes those).
        const per = 2 ** treeBlockHeight(rec.size);
        const endLeaf = firstLeaf + (levels.length > 0 ? (levels[0].length / 32) * 2 : 0);
        buildTreeBlocks(tree.fd, rec.size, fullTreeBlocks(rec.size, offset), fullTreeBlocks(rec.size, offset + length),
          (b) => (b * per >= firstLeaf && (b + 1) * per <= endLeaf ? levels.length : 0));
        // No fsync per part: the completing part fsyncs the whole object
        // (finish), and received() re-checks what a power loss kept.
      } finally {
        await tree.close();
      }
    } finally {
      await data.close();
    }
  }

  /**
   * Undoes a failed part: cuts the data file back to the bytes recorded
   * before it, or removes an upload that has recorded nothing (so a PUT
   * that failed leaves no directories behind).
   */
  rollback(id: string, n: number, offset: number): void {
    const dir = this.layout.uploadDir(id, n);
    try {
      if (offset === 0 || this.layout.received(id, n) === 0) {
        fs.rmSync(dir, { recursive: true, force: true });
        // The contract's upload folder too, when this was its only upload.
        fs.rmdirSync(path.dirname(dir));
      } else {
        fs.truncateSync(path.join(dir, 'data'), offset);
      }
    } catch {
      // Best effort: a folder still in use by another upload, or a disk
      // that fails even this; the next part rewrites from `received`.
    }
  }

  /**
   * Streams a part to disk at `offset`, hashing its leaves; returns the
   * leaf hashes and, when `sub` > 0, levels 1..sub of the part's whole
   * 1 MiB blocks (level k: the nodes above leaves firstLeaf.. in order).
   * Pieces are gathered into 1 MiB blocks (whole leaves): each block is
   * written, then lent to the pool and hashed off the event loop while
   * the next one arrives.
   */
  private async receive(fh: fs.promises.FileHandle, offset: number, length: number, body: AsyncIterable<Buffer>, sub: number)
    : Promise<{ hashes: Buffer; levels: Buffer[] }> {
    const pool = this.hasher === undefined ? sharedHasherPool() : this.hasher;
    const hashes = Buffer.allocUnsafe(leafCount(length) * 32);
    const whole = Math.floor(length / WRITE_BLOCK);
    const levels: Buffer[] = [];
    for (let k = 1; k <= sub && pool; k++)
      levels.push(Buffer.allocUnsafe(whole * (WRITE_BLOCK / LEAF_SIZE >>> k) * 32));
    const blockSize = Math.min(WRITE_BLOCK, length);
    // Whole blocks come from and go back to the store's spares; a short
    // part's one small block is left to the collector.
    const take = (): Buffer => (blockSize === WRITE_BLOCK ? this.spare.pop() : undefined) ?? Buffer.allocUnsafeSlow(blockSize);
    const give = (b: Buffer): void => {
      if (b.length === WRITE_BLOCK && this.spare.length < MAX_SPARE)
        this.spare.push(b);
    };
    const inFlight = new Set<Promise<void>>();
    let failed: unknown = null;
    let block: Buffer = take();
    let fill = 0;
    let written = 0;
    let got = 0;
    const flush = async (): Promise<void> => {
      if (fill === 0)
        return;
      const first = (offset + written) / LEAF_SIZE;
      const at = (written / LEAF_SIZE) * 32;
      if (pool) {
        const height = fill === WRITE_BLOCK ? levels.length : 0;
        const j = written / WRITE_BLOCK;
        const leaves = leafCount(fill);
        let done = 0;
        while (done < fill) {
          const { bytesWritten } = await fh.write(block, done, fill - done, offset + written + done);
          done += bytesWritten;
        }
        const job: Promise<void> = pool.hashLent(block, fill, first, give, height).then((h) => {
          // h: levels 0..height of this block's subtree, concatenated.
          let off = h.copy(hashes, at, 0, leaves * 32);
          for (let k = 1; k <= height; k++) {
            const len = (WRITE_BLOCK / LEAF_SIZE >>> k) * 32;
            off += h.copy(levels[k - 1], j * len, off, off + len);
          }
        }, (e: unknown) => {
          failed ??= e;
        }).finally(() => inFlight.delete(job));
        inFlight.add(job);
        // Backpressure: at most MAX_LENT blocks out at once.
        while (inFlight.size >= MAX_LENT)
          await Promise.race(inFlight);
        if (failed)
          throw failed;
        block = take();
      } else {
        const data = block.subarray(0, fill);
        let off = 0;
        while (off < fill) {
          const { bytesWritten } = await fh.write(data, off, fill - off, offset + written + off);
          off += bytesWritten;
        }
        hashLeaves(data, first).copy(hashes, at);
      }
      written += fill;
      fill = 0;
    };
    try {
      try {
        for await (const piece of body) {
          if (got + piece.length > length)
            throw new StoreError('too-large', 'body longer than declared');
          got += piece.length;
          let p = 0;
          while (p < piece.length) {
            const n = Math.min(block.length - fill, piece.length - p);
            piece.copy(block, fill, p, p + n);
            fill += n;
            p += n;
            if (fill === block.length)
              await flush();
          }
        }
      } finally {
        // Every block out is hashed (or failed) before the caller rolls
        // back or closes the file.
        await Promise.all(inFlight);
      }
      if (failed)
        throw failed;
    } catch (e) {
      if (e instanceof StoreError)
        throw e;
      // A write error is the disk's; anything else is the body stream's.
      if (typeof (e as NodeJS.ErrnoException | null)?.errno === 'number' && (e as NodeJS.ErrnoException).syscall)
        throw e;
      throw new StoreError('truncated-body', 'request body ended early');
    }
    if (got !== length)
      throw new StoreError('truncated-body', `body had ${got} of ${length} bytes`, { got });
    // The last block may end in a short leaf: only the object's last part can.
    await flush();
    await Promise.all(inFlight);
    if (failed)
      throw failed;
    give(block);
    return { hashes, levels };
  }

  /**
   * Completes an upload holding every byte: the tree's upper levels, the
   * root check, then the one fsync of the object's data and tree, and the
   * rename that makes it appear.
   */
  finish(rec: ObjectRecord): void {
    const { contract: id, object: n } = rec;
    const dir = this.layout.uploadDir(id, n);
    fsyncFile(path.join(dir, 'data'));
    const fd = fs.openSync(path.join(dir, 'tree'), 'r+');
    let root: Buffer;
    try {
      root = completeTreeFile(fd, rec.size, fullTreeBlocks(rec.size, rec.size));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // [REJECT] wrong root: the upload is deleted and leaves nothing
    if (root.toString('hex') !== rec.root) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new StoreError('root-mismatch', 'uploaded data does not match the registered root', { root: root.toString('hex') });
    }
    const dest = this.layout.objectDir(id, n);
    mkdirDurable(path.dirname(dest));
    fs.renameSync(dir, dest);
    fsyncDir(path.dirname(dest));
    // Only now: until the rename, state.json must not say more than it did.
    fs.rmSync(path.join(dest, 'state.json'), { force: true });
    try {
      fs.rmdirSync(path.dirname(dir));
    } catch {
      // other uploads of the contract are in progress
    }
  }
}
