/*!
 * erasure.ts - Reed-Solomon erasure coding of an object into K data and M
 * parity shards (PROTOCOL 4.9), stripe by stripe between files on disk, so
 * no more than (K + M) x STRIPE_UNIT bytes are ever in memory.
 *
 * Layout: S = ceil(objectSize / K). Data shard i is bytes [i*S, (i+1)*S)
 * of the object, zero-padded to S at the end; parity shard j is, at every
 * byte position t, row K+j of the systematic Vandermonde matrix over
 * GF(2^8) (Backblaze's JavaReedSolomon construction, as the Rust
 * reed-solomon-erasure crate and klauspost/reedsolomon build it) applied
 * to byte t of the data shards. The code works byte position by byte
 * position, so the stripe unit is only a memory bound, not part of the
 * format. With every data shard present, decoding is a concatenation.
 *
 * The codec is wasm-reed-solomon-erasure (that crate compiled to
 * WebAssembly), chosen by measurement: docs/REDUNDANCY.md.
 */

import * as fs from 'fs';
import * as path from 'path';
import type * as ReedSolomon from 'wasm-reed-solomon-erasure';
import { MAX_FILE_REPLICAS } from './common';
import { StorageError } from './errors';
import { fsyncDir, tempPath } from './fsutil';

let codec: typeof ReedSolomon | null = null;

/**
 * The wasm codec, compiled on first use rather than when this module
 * loads: every put reads this module for its shard checks, but only a
 * sharded put or get codes (compiling the wasm is a tenth of a CLI start).
 */
function rs(): typeof ReedSolomon {
  codec ??= require('wasm-reed-solomon-erasure') as typeof ReedSolomon;
  return codec;
}

/** Bytes of each shard coded per step: 1 MiB, so 10+4 holds 14 MiB at once. */
export const STRIPE_UNIT = 1 << 20;

/** Most data shards: a shard per host, and a manifest entry holds at most 64 replicas. */
export const MAX_DATA_SHARDS = 32;

/** Most shards in all (data + parity): the manifest's replica limit. */
export const MAX_SHARDS = MAX_FILE_REPLICAS;

/** K data shards and M parity shards: any K of the K + M rebuild the object. */
export interface ShardScheme {
  dataShards: number;
  parityShards: number;
}

/**
 * Throws StorageError `bad-scheme` unless 1 <= K <= 32, 1 <= M and
 * K + M <= 64 (GF(2^8) allows 256; the manifest's replica limit is lower).
 */
export function checkScheme(s: ShardScheme): void {
  const { dataShards: k, parityShards: m } = s;
  // [REJECT] shard counts outside what a manifest entry can hold
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || k > MAX_DATA_SHARDS || m < 1 || k + m > MAX_SHARDS)
    throw new StorageError('bad-scheme', `a scheme is 1..${MAX_DATA_SHARDS} data shards and at least 1 parity shard, `
      + `at most ${MAX_SHARDS} in all: got ${k}+${m}`);
}

/** Size of every shard of an object of `objectSize` bytes (bytes): ceil(objectSize / K). */
export function shardSize(objectSize: number, dataShards: number): number {
  return Math.ceil(objectSize / dataShards);
}

/** Parity of one stripe: `data` holds K pieces of equal length; returns M pieces. */
export function encodeStripe(data: Uint8Array[], parityShards: number): Uint8Array[] {
  if (data.length === 0 || data.some((d) => d.length !== data[0].length))
    throw new StorageError('bad-size', 'stripe pieces must have equal lengths');
  const all = rs().encode(data, parityShards);
  return all.slice(data.length);
}

/**
 * Every shard of one stripe from any K of them: `shards` holds K + M
 * entries, null for a missing one; returns all K + M pieces.
 */
export function reconstructStripe(shards: Array<Uint8Array | null>, s: ShardScheme): Uint8Array[] {
  const k = s.dataShards;
  const present = shards.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
  if (shards.length !== k + s.parityShards)
    throw new StorageError('bad-scheme', `expected ${k + s.parityShards} shards, got ${shards.length}`);
  if (present.length < k)
    throw new StorageError('too-few-shards', `${present.length} of ${shards.length} shards present, ${k} needed`);
  const len = (shards[present[0]] as Uint8Array).length;
  if (present.slice(0, k).every((i) => i < k) && present.length === shards.length)
    return shards as Uint8Array[];
  // Only the first K present shards are used; the rest count as missing.
  const use = new Set(present.slice(0, k));
  const dead: number[] = [];
  const input = shards.map((p, i) => {
    if (use.has(i)) {
      if ((p as Uint8Array).length !== len)
        throw new StorageError('bad-size', 'stripe pieces must have equal lengths');
      return p as Uint8Array;
    }
    dead.push(i);
    return new Uint8Array(len);
  });
  if (dead.length === 0)
    return input;
  return rs().reconstruct(input, s.parityShards, new Uint32Array(dead));
}

/** Reads exactly `len` bytes at `pos`, zero-filling past the end of the file. */
async function readAt(fh: fs.promises.FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
    if (bytesRead === 0)
      break;
    done += bytesRead;
  }
  buf.fill(0, done, len);
}

/** Writes all of `buf` at `pos`. */
async function writeAt(fh: fs.promises.FileHandle, buf: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, pos + done);
    done += bytesWritten;
  }
}

/** Opens every output as a temp file; `finish` renames them into place (fsynced when asked). */
async function openOutputs(outputs: string[]) {
  const tmps = outputs.map((o) => tempPath(o));
  const fhs: fs.promises.FileHandle[] = [];
  try {
    for (const t of tmps)
      fhs.push(await fs.promises.open(t, 'w'));
  } catch (e) {
    await Promise.all(fhs.map((f) => f.close()));
    throw e;
  }
  return {
    fhs,
    async finish(sync: boolean): Promise<void> {
      if (sync)
        await Promise.all(fhs.map((f) => f.sync()));
      await Promise.all(fhs.map((f) => f.close()));
      for (let i = 0; i < outputs.length; i++)
        await fs.promises.rename(tmps[i], outputs[i]);
      if (sync)
        for (const dir of new Set(outputs.map((o) => path.dirname(o))))
          fsyncDir(dir);
    },
    async abort(): Promise<void> {
      await Promise.all(fhs.map((f) => f.close().catch(() => {})));
      for (const t of tmps)
        await fs.promises.rm(t, { force: true });
    }
  };
}

/** Options of the file-level coders. */
export interface ShardFileOptions {
  /** fsync outputs before they are renamed into place (default false: a renter's staging copies are re-derivable). */
  sync?: boolean;
  /** Called after each stripe with the bytes of the object coded so far. */
  progress?(done: number): void;
}

/**
 * Splits the object at `input` (`objectSize` bytes) into K + M shard
 * files, `outputs[i]` for shard i; each appears complete or not at all.
 */
export async function encodeShards(input: string, objectSize: number, s: ShardScheme, outputs: string[],
  opts: ShardFileOptions = {}): Promise<{ shardSize: number }> {
  checkScheme(s);
  if (outputs.length !== s.dataShards + s.parityShards)
    throw new StorageError('bad-scheme', `expected ${s.dataShards + s.parityShards} outputs, got ${outputs.length}`);
  const size = shardSize(objectSize, s.dataShards);
  const src = await fs.promises.open(input, 'r');
  const out = await openOutputs(outputs);
  try {
    const bufs = Array.from({ length: s.dataShards }, () => Buffer.allocUnsafe(Math.min(STRIPE_UNIT, size)));
    for (let off = 0; off < size; off += STRIPE_UNIT) {
      const len = Math.min(STRIPE_UNIT, size - off);
      const data: Buffer[] = [];
      for (let i = 0; i < s.dataShards; i++) {
        const pos = i * size + off;
        // Bytes past the object are the zero padding of the last data shard.
        await readAt(src, bufs[i], Math.max(0, Math.min(len, objectSize - pos)), pos);
        bufs[i].fill(0, Math.max(0, Math.min(len, objectSize - pos)), len);
        data.push(bufs[i].subarray(0, len));
      }
      const parity = encodeStripe(data, s.parityShards);
      await Promise.all([...data, ...parity].map((piece, i) => writeAt(out.fhs[i], piece, off)));
      if (opts.progress)
        opts.progress(Math.min(objectSize, (off + len) * s.dataShards));
    }
    await src.close();
    await out.finish(opts.sync ?? false);
  } catch (e) {
    await src.close().catch(() => {});
    await out.abort();
    throw e;
  }
  return { shardSize: size };
}

/**
 * Runs `each` over every stripe of the shards, rebuilt from the first K
 * shard files given (`inputs[i]` null for a missing shard i).
 */
async function eachStripe(inputs: Array<string | null>, s: ShardScheme, size: number, need: number[],
  each: (off: number, pieces: Uint8Array[]) => Promise<void>): Promise<void> {
  checkScheme(s);
  if (inputs.length !== s.dataShards + s.parityShards)
    throw new StorageError('bad-scheme', `expected ${s.dataShards + s.parityShards} inputs, got ${inputs.length}`);
  const chosen = inputs.map((p, i) => (p ? i : -1)).filter((i) => i >= 0).slice(0, s.dataShards);
  if (chosen.length < s.dataShards)
    throw new StorageError('too-few-shards', `${chosen.length} shards present, ${s.dataShards} needed`);
  const fhs = new Map<number, fs.promises.FileHandle>();
  try {
    for (const i of chosen) {
      const fh = await fs.promises.open(inputs[i] as string, 'r');
      fhs.set(i, fh);
      // [REJECT] a shard of another size is not this object's
      if ((await fh.stat()).size !== size)
        throw new StorageError('bad-size', `shard ${i} holds ${(await fh.stat()).size} bytes, expected ${size}`);
    }
    const bufs = new Map(chosen.map((i) => [i, Buffer.allocUnsafe(Math.min(STRIPE_UNIT, size))]));
    for (let off = 0; off < size; off += STRIPE_UNIT) {
      const len = Math.min(STRIPE_UNIT, size - off);
      const pieces: Array<Uint8Array | null> = inputs.map(() => null);
      for (const i of chosen) {
        const buf = bufs.get(i) as Buffer;
        await readAt(fhs.get(i) as fs.promises.FileHandle, buf, len, off);
        pieces[i] = buf.subarray(0, len);
      }
      // Nothing to compute when every shard wanted was read (decoding with all data shards at hand).
      await each(off, need.every((i) => pieces[i]) ? pieces as Uint8Array[] : reconstructStripe(pieces, s));
    }
  } finally {
    await Promise.all([...fhs.values()].map((f) => f.close()));
  }
}

/**
 * Rebuilds the object (`objectSize` bytes) into `output` from any K of its
 * shard files (`inputs[i]` null for a missing shard i). The shards'
 * integrity is the caller's to check (their Merkle roots) before this.
 */
export async function decodeShards(inputs: Array<string | null>, s: ShardScheme, objectSize: number, output: string,
  opts: ShardFileOptions = {}): Promise<void> {
  const size = shardSize(objectSize, s.dataShards);
  const out = await openOutputs([output]);
  try {
    const data = Array.from({ length: s.dataShards }, (_, i) => i);
    await eachStripe(inputs, s, size, data, async (off, pieces) => {
      for (let i = 0; i < s.dataShards; i++) {
        const pos = i * size + off;
        const keep = Math.max(0, Math.min(pieces[i].length, objectSize - pos));
        if (keep > 0)
          await writeAt(out.fhs[0], pieces[i].subarray(0, keep), pos);
      }
      if (opts.progress)
        opts.progress(Math.min(objectSize, (off + pieces[0].length) * s.dataShards));
    });
    await out.finish(opts.sync ?? false);
  } catch (e) {
    await out.abort();
    throw e;
  }
}

/**
 * Rebuilds shards `targets` (indexes) into `outputs` from any K of the
 * others (`inputs[i]` null for a missing shard i): what a repair uploads.
 */
export async function rebuildShards(inputs: Array<string | null>, s: ShardScheme, objectSize: number, targets: number[],
  outputs: string[], opts: ShardFileOptions = {}): Promise<void> {
  const size = shardSize(objectSize, s.dataShards);
  const out = await openOutputs(outputs);
  try {
    await eachStripe(inputs, s, size, targets, async (off, pieces) => {
      await Promise.all(targets.map((t, i) => writeAt(out.fhs[i], pieces[t], off)));
    });
    await out.finish(opts.sync ?? false);
  } catch (e) {
    await out.abort();
    throw e;
  }
}
