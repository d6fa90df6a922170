/*!
 * delta.ts - chunk maps of delta versions (PROTOCOL 4.5, scheme 3) and
 * keyed chunk fingerprints (docs/REDUNDANCY.md "Delta uploads").
 *
 * A version of a file stored with scheme 3 holds, per replica, a chunk map:
 * the file's plaintext chunks (4.1) in order, each either a chunk of the
 * replica's own new object (the chunks that changed, sealed under the
 * version's fresh key) or a sealed chunk of an earlier object in the same
 * contract, read by range and opened under that object's key with that
 * object's nonce. Nothing is re-encrypted, so no key/nonce pair repeats.
 *
 *   ChunkMap = varint s (<= 64) || Source x s || varint k || Run x k
 *   Source   = u32 object || fileId(32) || u32 revision || salt(32) || u64 objectSize
 *   Run      = varint from (0: the own object; j: Source j-1) || varint first || varint count
 */

import bio = require('bufio');
import { createHmac } from 'crypto';
import * as fs from 'fs';
import { CHUNK_SIZE, FILE_ID_SIZE, PLAIN_CHUNK_SIZE, SALT_SIZE, TAG_SIZE, plainSize } from './common';
import { StorageError } from './errors';

/** Most earlier objects one chunk map may reference (a source per object). */
export const MAX_CHUNK_SOURCES = 64;
/** Bytes of one chunk fingerprint: HMAC-SHA256, whole. */
export const PRINT_SIZE = 32;
/** Largest file whose fingerprints a node keeps (64 Ki chunks: 64 GiB, 2 MiB of prints); bigger ones upload whole. */
export const MAX_PRINTED_CHUNKS = 65536;
/** Object ids of data objects (PROTOCOL 4): 1..2^32-2. */
const MAX_OBJECT_ID = 0xfffffffe;

/** Plaintext chunks of a file of `size` bytes (an empty file is one empty chunk, 4.1). */
export function fileChunks(size: number): number {
  return Math.max(1, Math.ceil(size / PLAIN_CHUNK_SIZE));
}

/** Sealed chunks of an object of `objectSize` bytes (4.1). */
export function objectChunks(objectSize: number): number {
  return Math.max(1, Math.ceil(objectSize / CHUNK_SIZE));
}

/** Plaintext bytes of chunk `index` of a file of `size` bytes. */
export function plainChunkLength(size: number, index: number): number {
  return Math.min(PLAIN_CHUNK_SIZE, size - index * PLAIN_CHUNK_SIZE);
}

/** An earlier object of the same contract a chunk map reads from, with what derives its key (4.1). */
export interface ChunkSource {
  object: number;
  fileId: Buffer;
  revision: number;
  salt: Buffer;
  objectSize: number;
}

/** `count` chunks from `first` on, of the own object (`from` 0) or of source `from - 1`. */
export interface ChunkRun {
  from: number;
  first: number;
  count: number;
}

/** Where one replica's plaintext chunks live: see the header. */
export class ChunkMap extends bio.Struct {
  sources: ChunkSource[] = [];
  runs: ChunkRun[] = [];

  /** The map of a replica that is the whole file in its own object (what scheme 1 means). */
  static whole(size: number): ChunkMap {
    const m = new ChunkMap();
    m.runs = [{ from: 0, first: 0, count: fileChunks(size) }];
    return m;
  }

  /** True when every chunk is the own object's (nothing referenced). */
  get trivial(): boolean {
    return this.sources.length === 0;
  }

  /** Chunks of the own object this map uses. */
  ownChunks(): number {
    return this.runs.reduce((n, r) => n + (r.from === 0 ? r.count : 0), 0);
  }

  getSize(): number {
    let size = varintSize(this.sources.length) + this.sources.length * (4 + FILE_ID_SIZE + 4 + SALT_SIZE + 8);
    size += varintSize(this.runs.length);
    for (const r of this.runs)
      size += varintSize(r.from) + varintSize(r.first) + varintSize(r.count);
    return size;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeVarint(this.sources.length);
    for (const s of this.sources) {
      bw.writeU32(s.object);
      bw.writeBytes(s.fileId);
      bw.writeU32(s.revision);
      bw.writeBytes(s.salt);
      bw.writeU64(s.objectSize);
    }
    bw.writeVarint(this.runs.length);
    for (const r of this.runs) {
      bw.writeVarint(r.from);
      bw.writeVarint(r.first);
      bw.writeVarint(r.count);
    }
    return bw;
  }

  /** Reads the encoding only; checkChunkMap says whether it fits a file. */
  read(br: bio.BufferReader): this {
    const s = br.readVarint();
    // [REJECT] more sources than a put makes, before allocating
    if (s > MAX_CHUNK_SOURCES)
      throw new StorageError('bad-manifest', `chunk map names ${s} earlier objects, at most ${MAX_CHUNK_SOURCES}`);
    this.sources = [];
    for (let i = 0; i < s; i++) {
      this.sources.push({
        object: br.readU32(), fileId: Buffer.from(br.readBytes(FILE_ID_SIZE)), revision: br.readU32(),
        salt: Buffer.from(br.readBytes(SALT_SIZE)), objectSize: br.readU64()
      });
    }
    const k = br.readVarint();
    // [REJECT] a run holds at least one chunk: more runs than bytes left cannot be
    if (k > br.left())
      throw new StorageError('bad-manifest', `chunk map claims ${k} runs in ${br.left()} bytes`);
    this.runs = [];
    for (let i = 0; i < k; i++)
      this.runs.push({ from: br.readVarint(), first: br.readVarint(), count: br.readVarint() });
    return this;
  }

  getJSON(): { sources: Array<{ object: number; fileId: string; revision: number; salt: string; objectSize: number }>;
    runs: Array<[number, number, number]>; } {
    return {
      sources: this.sources.map((s) => ({ object: s.object, fileId: s.fileId.toString('hex'), revision: s.revision,
        salt: s.salt.toString('hex'), objectSize: s.objectSize })),
      runs: this.runs.map((r): [number, number, number] => [r.from, r.first, r.count])
    };
  }
}

/**
 * Reject a chunk map that does not describe a file of `size` plaintext
 * bytes whose own object is `object` of `objectSize` bytes: a source
 * that is not a data object, repeats one or is the own object, or has a
 * size no plaintext encrypts to; a run naming no source; a chunk index
 * past its object's end; the own object's chunks not used once each in
 * order; chunk lengths that do not line up with the file's (a short
 * sealed chunk only where the file's last chunk is). Throws StorageError
 * `bad-manifest` saying which.
 */
export function checkChunkMap(map: ChunkMap, size: number, object: number, objectSize: number): void {
  const bad = (text: string): never => {
    throw new StorageError('bad-manifest', `chunk map: ${text}`);
  };
  const seen = new Set<number>([object]);
  for (const s of map.sources) {
    // [REJECT] a source must be another data object of the contract, each named once
    if (s.object < 1 || s.object > MAX_OBJECT_ID || seen.has(s.object))
      bad(`object ${s.object} cannot be a source (not a data object, the own object, or named twice)`);
    seen.add(s.object);
    if (s.objectSize > CHUNK_SIZE * 2 ** 30 || plainSize(s.objectSize) < 0)
      bad(`object ${s.object} has a size no file encrypts to (${s.objectSize})`);
  }
  const sizes = [objectSize, ...map.sources.map((s) => s.objectSize)];
  const total = fileChunks(size);
  let at = 0;
  let own = 0;
  for (const [i, r] of map.runs.entries()) {
    // [REJECT] unknown object: a run names a source the map does not list
    if (r.from > map.sources.length)
      bad(`run ${i} reads source ${r.from}, the map lists ${map.sources.length}`);
    if (r.count < 1 || at + r.count > total)
      bad(`run ${i} holds ${r.count} chunks where the file has ${total - at} left`);
    const chunks = objectChunks(sizes[r.from]);
    const name = r.from === 0 ? 'the own object' : `object ${map.sources[r.from - 1].object}`;
    // [REJECT] index out of range: a chunk past its object's end
    if (r.first + r.count > chunks)
      bad(`run ${i} reads chunks ${r.first}..${r.first + r.count - 1} of ${name}, which has ${chunks}`);
    if (r.from === 0) {
      if (r.first !== own)
        bad(`run ${i} reads own chunk ${r.first} where ${own} is next (own chunks go once each, in order)`);
      own += r.count;
    }
    // Only an object's last chunk may be short, and only the file's last may be: they must line up.
    const last = r.first + r.count - 1;
    const srcLen = Math.min(CHUNK_SIZE, sizes[r.from] - last * CHUNK_SIZE) - TAG_SIZE;
    const fileLen = plainChunkLength(size, at + r.count - 1);
    if (srcLen !== fileLen)
      bad(`run ${i} ends on a chunk of ${srcLen} bytes where the file's chunk ${at + r.count - 1} has ${fileLen}`);
    at += r.count;
  }
  if (at !== total)
    bad(`runs hold ${at} chunks, the file has ${total}`);
  if (own !== objectChunks(objectSize))
    bad(`runs use ${own} of the own object's ${objectChunks(objectSize)} chunks`);
}

/** Where file chunk `index` lives under a map: the object (0: own, else source index + 1) and its chunk. */
export function locate(map: ChunkMap, index: number): { from: number; chunk: number } {
  let at = 0;
  for (const r of map.runs) {
    if (index < at + r.count)
      return { from: r.from, chunk: r.first + index - at };
    at += r.count;
  }
  throw new StorageError('bad-manifest', `chunk ${index} is past the chunk map's end`);
}

/**
 * Keyed fingerprints of a file's plaintext chunks: HMAC-SHA256 under
 * `key` (the node's chunk key, derived from the wallet) of each chunk,
 * concatenated (PRINT_SIZE bytes each). Streams the file.
 */
export async function chunkPrints(key: Buffer, file: string): Promise<Buffer> {
  const out: Buffer[] = [];
  let mac = createHmac('sha256', key);
  let filled = 0;
  for await (const piece of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < piece.length) {
      const take = Math.min(PLAIN_CHUNK_SIZE - filled, piece.length - off);
      mac.update(piece.subarray(off, off + take));
      filled += take;
      off += take;
      if (filled === PLAIN_CHUNK_SIZE) {
        out.push(mac.digest());
        mac = createHmac('sha256', key);
        filled = 0;
      }
    }
  }
  if (filled > 0 || out.length === 0)
    out.push(mac.digest());
  return Buffer.concat(out);
}

/** The fingerprints in `prints` one by one (hex), as a lookup from print to its first chunk index. */
export function printIndex(prints: Buffer): Map<string, number> {
  const map = new Map<string, number>();
  for (let i = 0; i * PRINT_SIZE < prints.length; i++) {
    const p = prints.subarray(i * PRINT_SIZE, (i + 1) * PRINT_SIZE).toString('hex');
    if (!map.has(p))
      map.set(p, i);
  }
  return map;
}

/** Bytes of a bitcoin varint holding `n` (bufio's writeVarint). */
export function varintSize(n: number): number {
  if (n < 0xfd)
    return 1;
  if (n <= 0xffff)
    return 3;
  if (n <= 0xffffffff)
    return 5;
  return 9;
}
