/*!
 * hashpool.ts - leaf hashing on worker threads, so a large file is hashed
 * on every core while the main thread reads, encrypts and writes.
 *
 * The worker is inline CommonJS source (eval mode) rather than a file:
 * it then runs unchanged under tsx in tests and from dist/ after a build,
 * and needs nothing but Node built-ins. It must hash exactly as
 * merkle.ts#leafHash does; test/storage-merkle-test.ts checks that.
 */

import { Worker } from 'worker_threads';
import { availableParallelism } from 'os';

const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('worker_threads');
const crypto = require('crypto');
const fs = require('fs');
const LEAF = 4096;
const prefix = (tag) => { const t = crypto.createHash('sha256').update(tag).digest(); return Buffer.concat([t, t]); };
const LP = prefix('cc/leaf');
const NP = prefix('cc/node');
// crypto.hash (Node >= 20.12) hashes one buffer in one native call, about
// 20% faster per leaf than a Hash object; the leaf is copied after its
// prefix into a scratch buffer for it.
const oneShot = typeof crypto.hash === 'function';
const scratch4 = Buffer.alloc(64 + 4 + LEAF);
LP.copy(scratch4, 0);
// The bytes are data || tail (tail: a sealed chunk's tag, kept apart so
// the chunk is never copied whole to append it): a leaf reaching into the
// tail is assembled in the scratch buffer.
function hashInto(data, first, out, outOff, tail) {
  const total = data.length + (tail ? tail.length : 0);
  const n = Math.ceil(total / LEAF);
  for (let i = 0; i < n; i++) {
    const end = Math.min((i + 1) * LEAF, total);
    scratch4.writeUInt32LE(first + i, 64);
    if (end > data.length) {
      const start = i * LEAF;
      let w = 68;
      if (start < data.length)
        w += data.copy(scratch4, 68, start, data.length);
      const from = Math.max(0, start - data.length);
      w += tail.copy(scratch4, w, from, end - data.length);
      const msg = scratch4.subarray(0, w);
      (oneShot ? crypto.hash('sha256', msg, 'buffer') : crypto.createHash('sha256').update(msg).digest()).copy(out, outOff + i * 32);
      continue;
    }
    const leaf = data.subarray(i * LEAF, end);
    if (oneShot) {
      leaf.copy(scratch4, 68);
      crypto.hash('sha256', scratch4.subarray(0, 68 + leaf.length), 'buffer').copy(out, outOff + i * 32);
    } else {
      crypto.createHash('sha256').update(scratch4.subarray(0, 68)).update(leaf).digest().copy(out, outOff + i * 32);
    }
  }
  return n;
}
const nscratch = Buffer.alloc(128);
NP.copy(nscratch, 0);
// Levels 1..height above the n leaf hashes at the start of res, written
// after them in res (sized by size()): no buffer per level, so a block
// leaves no garbage here (a worker's small isolate frees external memory
// late: a buffer per level and their join per 1 MiB block added 20 MB to
// the file server's peak RSS on a 1 GiB upload).
function levelsInto(res, n, height) {
  let from = 0, to = n * 32;
  for (let k = 0; k < height; k++) {
    const m = Math.ceil(n / 2);
    for (let i = 0; i + 1 < n; i += 2) {
      res.copy(nscratch, 64, from + i * 32, from + i * 32 + 64);
      (oneShot ? crypto.hash('sha256', nscratch, 'buffer') : crypto.createHash('sha256').update(nscratch).digest()).copy(res, to + i * 16);
    }
    if (n & 1) res.copy(res, to + (m - 1) * 32, from + (n - 1) * 32, from + n * 32);
    from = to;
    to += m * 32;
    n = m;
  }
}
// Bytes of levels 0..height over n leaves.
function size(n, height) {
  let total = n;
  for (let k = 0; k < height; k++) { n = Math.ceil(n / 2); total += n; }
  return total * 32;
}
let scratch = null;
parentPort.on('message', (m) => {
  try {
    // One buffer per answer, owning its memory and moved (not copied) to
    // the caller: nothing of it stays here as garbage.
    let out, n;
    if (m.path) {
      n = Math.ceil(m.length / LEAF);
      out = Buffer.allocUnsafeSlow(size(n, m.height || 0));
      if (!scratch) scratch = Buffer.allocUnsafe(1 << 20);
      const fd = fs.openSync(m.path, 'r');
      try {
        let done = 0, leaf = 0;
        while (done < m.length) {
          const want = Math.min(scratch.length, m.length - done);
          let got = 0;
          while (got < want) {
            const r = fs.readSync(fd, scratch, got, want - got, m.offset + done + got);
            if (r === 0) throw new Error('file shrank while hashing');
            got += r;
          }
          leaf += hashInto(scratch.subarray(0, want), m.first + leaf, out, leaf * 32);
          done += want;
        }
      } finally {
        fs.closeSync(fd);
      }
    } else {
      const data = Buffer.from(m.buf.buffer, m.buf.byteOffset, m.length === undefined ? m.buf.byteLength : m.length);
      const tail = m.tail ? Buffer.from(m.tail.buffer, m.tail.byteOffset, m.tail.byteLength) : null;
      n = Math.ceil((data.length + (tail ? tail.length : 0)) / LEAF);
      out = Buffer.allocUnsafeSlow(size(n, m.height || 0));
      hashInto(data, m.first, out, 0, tail);
    }
    levelsInto(out, n, m.height || 0);
    if (m.lent) {
      // A lent buffer goes back to its owner, moved rather than copied.
      parentPort.postMessage({ id: m.id, hashes: out, lent: m.buf }, [m.buf.buffer, out.buffer]);
      return;
    }
    parentPort.postMessage({ id: m.id, hashes: out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
});
`;

interface Reply {
  id: number;
  hashes?: Uint8Array;
  /** A lent buffer, returned. */
  lent?: Uint8Array;
  error?: string;
}

interface Job {
  slot: number;
  resolve: (b: Buffer, lent?: Buffer) => void;
  reject: (e: Error) => void;
}

/**
 * A fixed pool of leaf-hashing workers. Close it when done. A worker that
 * dies (out of memory, killed) fails only the jobs it held and is
 * replaced, so later jobs never wait on a dead thread.
 */
/** Whether a buffer can be moved to a worker: it is its whole ArrayBuffer. */
function ownsBuffer(b: Buffer): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.byteLength > 0;
}

export class LeafHasherPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private closed = false;

  /** @param size worker count; defaults to the machine's parallelism */
  constructor(size = availableParallelism()) {
    for (let i = 0; i < Math.max(1, size); i++) {
      this.load.push(0);
      this.workers.push(this.spawn(i));
    }
  }

  private spawn(slot: number): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    let failure: Error | null = null;
    w.on('message', (r: Reply) => {
      this.load[slot] -= 1;
      // An idle pool must not keep the process alive; a busy one must.
      if (this.load[slot] === 0)
        w.unref();
      const job = this.jobs.get(r.id);
      if (!job)
        return;
      this.jobs.delete(r.id);
      if (r.error || !r.hashes)
        job.reject(new Error(r.error || 'hash worker failed'));
      else
        job.resolve(Buffer.from(r.hashes.buffer, r.hashes.byteOffset, r.hashes.byteLength),
          r.lent ? Buffer.from(r.lent.buffer, r.lent.byteOffset, r.lent.byteLength) : undefined);
    });
    w.on('error', (e) => {
      failure = e;
    });
    w.on('exit', (code) => {
      if (this.closed || this.workers[slot] !== w)
        return;
      this.failSlot(slot, failure ?? new Error(`hash worker exited with code ${code}`));
      this.load[slot] = 0;
      this.workers[slot] = this.spawn(slot);
    });
    w.unref();
    return w;
  }

  private failSlot(slot: number, e: Error): void {
    for (const [id, job] of this.jobs) {
      if (job.slot === slot) {
        this.jobs.delete(id);
        job.reject(e);
      }
    }
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  private failAll(e: Error): void {
    for (const job of this.jobs.values())
      job.reject(e);
    this.jobs.clear();
  }

  private submit(msg: object, transfer: ArrayBuffer[] = [], lent?: (b: Buffer) => void): Promise<Buffer> {
    if (this.closed)
      return Promise.reject(new Error('hash pool closed'));
    let slot = 0;
    for (let i = 1; i < this.load.length; i++) {
      if (this.load[i] < this.load[slot])
        slot = i;
    }
    const id = this.nextId++;
    this.load[slot] += 1;
    this.workers[slot].ref();
    return new Promise<Buffer>((resolve, reject) => {
      this.jobs.set(id, {
        slot, reject, resolve: (hashes, back) => {
          if (back && lent)
            lent(back);
          resolve(hashes);
        }
      });
      this.workers[slot].postMessage({ id, ...msg }, transfer);
    });
  }

  /**
   * Hashes of `data`, whose first leaf is leaf `first`: levels 0..height
   * of its subtree concatenated (see merkle.ts#subtreeLevels); height 0
   * gives just the leaf hashes.
   */
  hashBuffer(data: Buffer, first: number, height = 0): Promise<Buffer> {
    return this.submit({ buf: data, first, height });
  }

  /**
   * Leaf hashes of the first `length` bytes of `buf`, first leaf `first`,
   * with no copy: `buf` (which must own its whole ArrayBuffer, as
   * Buffer.allocUnsafeSlow makes) is moved to the worker, unusable
   * meanwhile, and handed back to `back` before the hashes resolve, so a
   * caller can reuse a few blocks instead of leaving a copy per block for
   * the collector (this bounds the file server's memory).
   */
  hashLent(buf: Buffer, length: number, first: number, back: (b: Buffer) => void, height = 0): Promise<Buffer> {
    if (!ownsBuffer(buf))
      throw new RangeError('a lent buffer must own its whole ArrayBuffer');
    return this.submit({ buf, length, first, height, lent: true }, [buf.buffer as ArrayBuffer], back);
  }

  /**
   * As hashBuffer, but `data` is moved to the worker when it owns its whole
   * ArrayBuffer (and copied otherwise): for a caller done with the bytes.
   * A copy would leave one more copy per call for each worker's collector,
   * which frees external memory late (tens of MB of RSS per worker on a
   * large transfer); moved, it comes back and is garbage here only.
   */
  hashDone(data: Buffer, first: number, height = 0): Promise<Buffer> {
    return ownsBuffer(data) ? this.hashLent(data, data.length, first, () => {}, height) : this.hashBuffer(data, first, height);
  }

  /**
   * As hashDone for the bytes `data` || `tail` without joining them: a
   * sealed chunk's ciphertext and tag (cipher.ts#sealChunk), so the first
   * pass of an upload neither allocates nor copies a whole chunk to append
   * its 16-byte tag. `data` is moved to the worker and back when it owns
   * its whole ArrayBuffer (the small tail is copied).
   */
  hashSealed(data: Buffer, tail: Buffer, first: number, height = 0): Promise<Buffer> {
    if (!ownsBuffer(data))
      return this.submit({ buf: data, tail, first, height });
    // Moved there and back, as hashDone: dropped in the worker, it is
    // garbage its small isolate frees late (a 1 GiB put to 3 hosts peaked
    // at 208 MB that way, 198 MB moved back).
    return this.submit({ buf: data, tail, first, height, lent: true }, [data.buffer as ArrayBuffer], () => {});
  }

  /** As hashBuffer, for `length` bytes of the file at `path` from `offset` (leaf-aligned). */
  hashFileRange(path: string, offset: number, length: number, first: number, height = 0): Promise<Buffer> {
    return this.submit({ path, offset, length, first, height });
  }

  async close(): Promise<void> {
    if (this.closed)
      return;
    this.closed = true;
    this.failAll(new Error('hash pool closed'));
    await Promise.all(this.workers.map(w => w.terminate()));
  }
}

let shared: LeafHasherPool | null = null;

/**
 * The process's own pool, made on first use and never closed: its idle
 * workers are unref'd, so it keeps no process alive. Servers hash every
 * upload on it, off their event loop, without each store owning threads.
 */
export function sharedHasherPool(): LeafHasherPool {
  if (!shared)
    shared = new LeafHasherPool();
  return shared;
}
