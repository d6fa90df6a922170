/*!
 * fileops.ts - whole-file operations: hash, encrypt, decrypt, all streaming.
 *
 * Nothing here holds more than a few chunks in memory. Leaf hashing runs on
 * a LeafHasherPool (worker threads) while the main thread reads, encrypts
 * and writes, so a large file keeps every core busy. Outputs are written to
 * temp files and renamed into place only when complete.
 */

import * as fs from 'fs';
import { CHUNK_SIZE, LEAF_SIZE, LEAVES_PER_CHUNK, PLAIN_CHUNK_SIZE, cipherSize, leafCount, plainSize } from './common';
import { StorageError } from './errors';
import { decryptChunk, encryptChunk, sealChunk } from './cipher';
import { LeafHasherPool } from './hashpool';
import { TreeBuilder, hashLeaves, levelSizes, subtreeLevels } from './merkle';
import { TreeWriter, treeFileSize } from './treefile';
import { fsyncDir, tempPath } from './fsutil';
import * as path from 'path';

/** Options shared by the file operations. */
export interface FileOpOptions {
  /** Write the object's tree file here (see treefile.ts). */
  treePath?: string;
  /** Hash on this pool; otherwise a temporary pool is made and closed. */
  pool?: LeafHasherPool;
  /** Hash on the calling thread (small files, tests). */
  inline?: boolean;
  /**
   * fsync outputs before renaming them into place (default true). A
   * renter's staging ciphertext can skip it: it is re-derivable.
   */
  sync?: boolean;
  /**
   * Stops encryptFile between chunks (it throws the signal's reason): a
   * put that no longer needs a replica's first pass (its negotiation
   * failed) ends it rather than wait for it.
   */
  signal?: AbortSignal;
}

/** What hashing or encrypting a file produced. */
export interface FileDigest {
  /** Object (ciphertext) size in bytes. */
  size: number;
  /** Merkle root of the object. */
  root: Buffer;
}

/**
 * Takes the subtrees of consecutive aligned runs of leaves, in order: each
 * run's levels 0..height go straight to the tree file, and only its top
 * node goes through the builder, so the main thread does little per leaf.
 */
export class TreeSink {
  readonly height: number;
  private readonly builder: TreeBuilder;
  private readonly writer: TreeWriter | null;
  private readonly fd: number | null;
  private readonly tmp: string | null;
  private readonly dest: string | null;

  /** @param runLeaves leaves per run (a power of two) */
  constructor(size: number, runLeaves: number, treePath?: string) {
    this.height = Math.min(Math.log2(runLeaves), levelSizes(leafCount(size)).length - 1);
    if (treePath) {
      this.dest = treePath;
      this.tmp = tempPath(treePath);
      this.fd = fs.openSync(this.tmp, 'w');
      fs.ftruncateSync(this.fd, treeFileSize(size));
      this.writer = new TreeWriter(this.fd, size);
    } else {
      this.dest = this.tmp = null;
      this.fd = null;
      this.writer = null;
    }
    this.builder = new TreeBuilder(this.writer ? this.writer.sink() : null, this.height);
  }

  /** Adds a run starting at leaf `first`: levels 0..height concatenated. */
  add(first: number, levels: Buffer): void {
    let off = 0;
    // Recover the level-0 count: levels hold n + ceil(n/2) + ... nodes.
    let n = leavesOf(levels.length / 32, this.height);
    for (let k = 0; k <= this.height; k++) {
      const run = levels.subarray(off, off + n * 32);
      if (this.writer)
        this.writer.putRun(k, first >>> k, run);
      off += n * 32;
      if (k === this.height) {
        if (n !== 1)
          throw new StorageError('bad-tree', 'run did not reduce to one node');
        this.builder.push(Buffer.from(run));
      }
      n = Math.ceil(n / 2);
    }
  }

  /** Computes a run's levels on this thread (no pool). */
  inline(data: Buffer, first: number): Buffer {
    return subtreeLevels(hashLeaves(data, first), this.height);
  }

  finish(): Buffer {
    const root = this.builder.finish();
    if (this.writer && this.fd !== null && this.tmp && this.dest) {
      this.writer.finish(root);
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      fs.renameSync(this.tmp, this.dest);
      fsyncDir(path.dirname(this.dest));
    }
    return root;
  }

  abort(): void {
    if (this.fd !== null && this.tmp) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed by finish()
      }
      fs.rmSync(this.tmp, { force: true });
    }
  }
}

/** Leaf count of a run whose levels 0..height hold `total` nodes. */
function leavesOf(total: number, height: number): number {
  // total is increasing in n, so search the smallest n that matches.
  let lo = 1;
  let hi = total;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    let t = 0;
    let m = mid;
    for (let k = 0; k <= height; k++) {
      t += m;
      m = Math.ceil(m / 2);
    }
    if (t < total)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/** Runs hashing jobs with bounded concurrency, delivering results in order. */
export class OrderedQueue {
  private readonly queue: { first: number; p: Promise<Buffer> }[] = [];
  constructor(private readonly sink: TreeSink, private readonly depth: number) {}

  async push(first: number, p: Promise<Buffer>): Promise<void> {
    // Attach a no-op catch so a rejection is never "unhandled" while queued.
    p.catch(() => {});
    this.queue.push({ first, p });
    while (this.queue.length > this.depth)
      await this.shift();
  }

  private async shift(): Promise<void> {
    const job = this.queue.shift();
    if (job)
      this.sink.add(job.first, await job.p);
  }

  async drain(): Promise<void> {
    while (this.queue.length > 0)
      await this.shift();
  }
}

export async function withPool<T>(opts: FileOpOptions, fn: (pool: LeafHasherPool | null) => Promise<T>): Promise<T> {
  if (opts.inline)
    return fn(null);
  if (opts.pool)
    return fn(opts.pool);
  const pool = new LeafHasherPool();
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

/** Segment handed to one worker when hashing a file in place. */
const HASH_SEGMENT = 8 * CHUNK_SIZE;

/** Merkle root (and optionally the tree file) of the file at `file`. */
export async function hashFile(file: string, opts: FileOpOptions = {}): Promise<FileDigest> {
  const size = fs.statSync(file).size;
  if (size < 1)
    throw new StorageError('bad-size', 'cannot hash an empty object');
  return withPool(opts, async (pool) => {
    const sink = new TreeSink(size, HASH_SEGMENT / LEAF_SIZE, opts.treePath);
    try {
      const q = new OrderedQueue(sink, pool ? pool.size * 4 : 0);
      const fd = pool ? null : fs.openSync(file, 'r');
      try {
        for (let off = 0; off < size; off += HASH_SEGMENT) {
          const len = Math.min(HASH_SEGMENT, size - off);
          const first = off / LEAF_SIZE;
          if (pool) {
            await q.push(first, pool.hashFileRange(file, off, len, first, sink.height));
          } else if (fd !== null) {
            const buf = Buffer.allocUnsafe(len);
            readFull(fd, buf, off);
            await q.push(first, Promise.resolve(sink.inline(buf, first)));
          }
        }
      } finally {
        if (fd !== null)
          fs.closeSync(fd);
      }
      await q.drain();
      return { size, root: sink.finish() };
    } catch (e) {
      sink.abort();
      throw e;
    }
  });
}

function readFull(fd: number, buf: Buffer, pos: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.readSync(fd, buf, off, buf.length - off, pos + off);
    if (n === 0)
      throw new StorageError('truncated', 'file shrank while reading');
    off += n;
  }
}

/** Writes buffers back to back at `pos`, finishing short writes. */
export async function writeAll(fh: fs.promises.FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  const total = bufs.reduce((a, b) => a + b.length, 0);
  const { bytesWritten } = await fh.writev(bufs, pos);
  if (bytesWritten < total) {
    const rest = Buffer.concat(bufs).subarray(bytesWritten);
    let off = 0;
    while (off < rest.length)
      off += (await fh.write(rest, off, rest.length - off, pos + bytesWritten + off)).bytesWritten;
  }
}

/** Chunks read, encrypted and written per batch by encryptFile. */
const ENCRYPT_BATCH = 8;

/** Result of encrypting a file. */
export interface EncryptResult extends FileDigest {
  plainSize: number;
}

/**
 * Encrypts `input` into `output` (see cipher.ts for the layout) and hashes
 * the ciphertext as it goes; returns the object's size and root. With
 * `output` null nothing is written: the first pass of a streamed upload,
 * which needs the root before any byte is sent (transfer.ts).
 */
export async function encryptFile(key: Buffer, input: string, output: string | null, opts: FileOpOptions = {}): Promise<EncryptResult> {
  const plain = fs.statSync(input).size;
  const size = cipherSize(plain);
  const chunks = Math.max(1, Math.ceil(plain / PLAIN_CHUNK_SIZE));
  return withPool(opts, async (pool) => {
    const sink = new TreeSink(size, LEAVES_PER_CHUNK, opts.treePath);
    const tmp = output === null ? null : tempPath(output);
    const inFh = await fs.promises.open(input, 'r');
    const outFh = tmp === null ? null : await fs.promises.open(tmp, 'w');
    // The write of the previous batch, running while the next is read and
    // encrypted. Its failure (ENOSPC) is kept in `writeError` the moment it
    // happens, so it is never an unhandled rejection, and the next batch
    // (or the end) throws it into the cleanup below.
    let pendingWrite: Promise<void> = Promise.resolve();
    let writeError: unknown = null;
    let readBuf: Buffer | null = null;
    try {
      // Enough runs in flight to keep every worker busy while we read.
      // (Half as many with nothing to write: each holds a 1 MiB chunk, and
      // one chunk per read keeps the workers fed as well.)
      const q = new OrderedQueue(sink, pool ? pool.size * (outFh ? 4 : 2) : 0);
      // Read and write ENCRYPT_BATCH chunks per system call; one batch is
      // written while the next is read and encrypted.
      // With nothing to write (an upload's first pass) one chunk per read:
      // batches only save write calls, and each costs 8 MiB held per pass.
      const batch = outFh ? ENCRYPT_BATCH : 1;
      for (let b = 0; b < chunks; b += batch) {
        opts.signal?.throwIfAborted();
        const n = Math.min(batch, chunks - b);
        const start = b * PLAIN_CHUNK_SIZE;
        const len = Math.min(n * PLAIN_CHUNK_SIZE, plain - start);
        // One read buffer for the whole file: each batch is encrypted (into
        // new buffers) before the next read, so nothing refers to it after.
        readBuf ??= Buffer.allocUnsafeSlow(Math.min(batch * PLAIN_CHUNK_SIZE, Math.max(plain, 1)));
        const buf = readBuf.subarray(0, len);
        let got = 0;
        while (got < len) {
          const { bytesRead } = await inFh.read(buf, got, len - got, start + got);
          if (bytesRead === 0)
            throw new StorageError('truncated', 'input shrank while encrypting');
          got += bytesRead;
        }
        if (writeError)
          throw writeError;
        const out: Buffer[] = [];
        for (let j = 0; j < n; j++) {
          const i = b + j;
          const piece = buf.subarray(j * PLAIN_CHUNK_SIZE, Math.min((j + 1) * PLAIN_CHUNK_SIZE, len));
          const first = i * LEAVES_PER_CHUNK;
          if (pool && !outFh) {
            // Nothing to write: ciphertext and tag move to the worker as
            // they come out of the cipher, never joined (a 1 MiB allocation
            // and copy per chunk less).
            const [ct, tag] = sealChunk(key, i, i === chunks - 1, piece);
            await q.push(first, pool.hashSealed(ct, tag, first, sink.height));
            continue;
          }
          const ct = encryptChunk(key, i, i === chunks - 1, piece);
          await q.push(first, pool ? pool.hashBuffer(ct, first, sink.height) : Promise.resolve(sink.inline(ct, first)));
          if (outFh)
            out.push(ct);
        }
        await pendingWrite;
        if (writeError)
          throw writeError;
        // writev: no copy into one block (the chunks are 8 MiB together).
        if (outFh)
          pendingWrite = writeAll(outFh, out, b * CHUNK_SIZE).catch((e: unknown) => {
            writeError = e;
          });
      }
      await pendingWrite;
      if (writeError)
        throw writeError;
      await q.drain();
      if (outFh && opts.sync !== false)
        await outFh.sync();
      await outFh?.close();
      await inFh.close();
      const root = sink.finish();
      if (tmp !== null && output !== null) {
        fs.renameSync(tmp, output);
        fsyncDir(path.dirname(output));
      }
      return { size, plainSize: plain, root };
    } catch (e) {
      // Let an in-flight write settle before closing its file under it.
      await pendingWrite;
      sink.abort();
      await outFh?.close().catch(() => {});
      await inFh.close().catch(() => {});
      if (tmp !== null)
        fs.rmSync(tmp, { force: true });
      throw e;
    }
  });
}

/**
 * Decrypts the object at `input` into `output`. Every chunk is
 * authenticated before anything is renamed into place: on any tampering
 * the call throws StorageError (`bad-tag`, `bad-size`) and `output` is not
 * created.
 */
export async function decryptFile(key: Buffer, input: string, output: string): Promise<{ plainSize: number }> {
  const size = fs.statSync(input).size;
  const plain = plainSize(size);
  if (plain < 0)
    throw new StorageError('truncated', `object size ${size} is not a valid ciphertext size`);
  const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE));
  const tmp = tempPath(output);
  const inFh = await fs.promises.open(input, 'r');
  const outFh = await fs.promises.open(tmp, 'w');
  try {
    for (let i = 0; i < chunks; i++) {
      const len = Math.min(CHUNK_SIZE, size - i * CHUNK_SIZE);
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await inFh.read(buf, got, len - got, i * CHUNK_SIZE + got);
        if (bytesRead === 0)
          throw new StorageError('truncated', 'object shrank while decrypting');
        got += bytesRead;
      }
      const pt = decryptChunk(key, i, i === chunks - 1, buf);
      await outFh.write(pt, 0, pt.length, i * PLAIN_CHUNK_SIZE);
    }
    await outFh.sync();
    await outFh.close();
    await inFh.close();
    fs.renameSync(tmp, output);
    fsyncDir(path.dirname(output));
    return { plainSize: plain };
  } catch (e) {
    await outFh.close().catch(() => {});
    await inFh.close().catch(() => {});
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
