/*!
 * renterdelta.ts - the renter client's delta uploads (docs/REDUNDANCY.md
 * "Delta uploads"): a put of a new version fingerprints its plaintext
 * chunks (HMAC under the node's chunk key), compares them with the newest
 * earlier version's, and on each host that holds that version uploads only
 * the changed chunks as a new object, with a chunk map (PROTOCOL 4.5,
 * scheme 3) naming where each unchanged chunk already is in that host's
 * contract. A get of such a version reads every chunk by range from the
 * object that holds it and opens it under that object's key and nonce.
 */

import * as fs from 'fs';
import * as path from 'path';
import { CHUNK_SIZE, PLAIN_CHUNK_SIZE } from '../storage/common';
import { decryptChunk } from '../storage/cipher';
import {
  ChunkMap, type ChunkSource, MAX_CHUNK_SOURCES, MAX_PRINTED_CHUNKS, PRINT_SIZE, chunkPrints, fileChunks, locate, objectChunks, plainChunkLength, printIndex
} from '../storage/delta';
import { FileServerClient } from '../storage/fileserverclient';
import { StorageError } from '../storage/errors';
import type { ChunkMapInfo, FileInfo, ReplicaInfo } from './rpctypes';
import type { RenterCore } from './rentercore';

/** Sealed chunks read per range request (the file server's 8 MiB read limit). */
const READ_CHUNKS = 8;

/** What a put learned by comparing the new file's chunks with the newest earlier version's. */
export interface DeltaPlan {
  /** The new file's fingerprints (32 bytes per chunk), kept by commitfile for the next version. */
  prints: Buffer;
  /** The version compared with (its replicas say where its chunks are), or null. */
  base: FileInfo | null;
  /** Per chunk of the new file: the base's chunk with the same content, or -1 (changed: uploaded). */
  same: number[];
  /** Chunks of the new file uploaded into the own object of a delta replica, in order. */
  own: number[];
  /** Why there is no base (said in put's output), or ''. */
  note: string;
}

/**
 * Fingerprint the file and find the newest earlier version of the name
 * whose fingerprints the node kept. Null for a file too large to keep
 * fingerprints of (it uploads whole). An unfinished earlier put of the
 * name is being given up while the hosts are chosen (`chosen`, rentercore
 * giveUpEarlier), and settling it may make its copies final for a moment:
 * for a name stored before, the versions are read once that is done.
 */
export async function planDelta(c: RenterCore, name: Buffer, file: string, size: number, chosen?: Promise<{ gaveUp: string[] }>)
  : Promise<DeltaPlan | null> {
  const chunks = fileChunks(size);
  if (chunks > MAX_PRINTED_CHUNKS)
    return null;
  const { key } = await c.rpc('getchunkprints', []);
  const prints = await chunkPrints(Buffer.from(key, 'hex'), file);
  // A version whose put never finished (every copy still uploading) has no copy to read chunks from, nor fingerprints.
  const unfinished = (f: FileInfo) => f.replicas.length > 0 && f.replicas.every((r) => r.state === 'uploading');
  let all = await c.versions(name);
  let gaveUp = false;
  // Only a name stored before waits (its base comes first then, and early passes do not run).
  if (all.length && chosen !== undefined) {
    gaveUp = ((await chosen.catch(() => null))?.gaveUp.length ?? 0) > 0;
    all = await c.versions(name);
  }
  const versions = all.filter((f) => f.dataShards === 0 && !unfinished(f)).reverse();
  let base: FileInfo | null = null;
  let old: Buffer | null = null;
  for (const v of versions) {
    const got = await c.rpc('getchunkprints', [v.fileId]);
    if (got.prints) {
      base = v;
      old = Buffer.from(got.prints, 'hex');
      break;
    }
  }
  const index = old ? printIndex(old) : new Map<string, number>();
  const same = Array.from({ length: chunks }, (_, i) => index.get(prints.subarray(i * PRINT_SIZE, (i + 1) * PRINT_SIZE).toString('hex')) ?? -1);
  const own = same.flatMap((s, i) => (s < 0 ? [i] : []));
  // Every version has an object of its own (its revision, receipt and
  // commitment hang on one): an unchanged file still uploads its last chunk.
  if (own.length === 0)
    own.push(chunks - 1);
  const note = base ? '' : versions.length ? 'no earlier version of this name has chunk fingerprints here (recovered from the seed, '
    + 'or stored before delta uploads): uploaded whole'
    : gaveUp || all.some(unfinished) ? 'the earlier put of this name never finished: uploaded whole' : '';
  return { prints, base, same, own, note };
}

/**
 * The chunk map of the new version's replica in `contractId`, reading its
 * unchanged chunks from wherever the base's replica in that contract has
 * them; null when the base has no replica there held under the contract
 * (that host gets the whole file).
 */
export function mapFor(plan: DeltaPlan, contractId: string): ChunkMap | null {
  const base = plan.base;
  const r = base?.replicas.find((x) => x.contractId === contractId && ['pending', 'committed', 'active'].includes(x.state));
  if (!base || !r)
    return null;
  const baseMap = toMap(r.chunks, base.size);
  const sources: ChunkSource[] = [];
  const sourceOf = (from: number): number => {
    const s: ChunkSource = from === 0
      ? { object: r.object, fileId: Buffer.from(base.fileId, 'hex'), revision: base.revision, salt: Buffer.from(r.salt, 'hex'), objectSize: r.objectSize }
      : baseMap.sources[from - 1];
    let i = sources.findIndex((x) => x.object === s.object);
    if (i < 0)
      i = sources.push(s) - 1;
    return i + 1;
  };
  const map = new ChunkMap();
  map.sources = sources;
  const owned = new Set(plan.own);
  let ownNext = 0;
  plan.same.forEach((s, i) => {
    let from = 0;
    let chunk = 0;
    if (owned.has(i)) {
      chunk = ownNext++;
    } else {
      const at = locate(baseMap, s);
      from = sourceOf(at.from);
      chunk = at.chunk;
    }
    const last = map.runs[map.runs.length - 1];
    if (last && last.from === from && last.first + last.count === chunk)
      last.count++;
    else
      map.runs.push({ from, first: chunk, count: 1 });
  });
  // Nothing the host holds is reused: the whole file is the object, no
  // map. Chunks spread over more earlier objects than a map may name: the
  // whole file too, which starts the history afresh.
  return map.sources.length && map.sources.length <= MAX_CHUNK_SOURCES ? map : null;
}

function toMap(info: ChunkMapInfo | null, size: number): ChunkMap {
  if (!info)
    return ChunkMap.whole(size);
  const m = new ChunkMap();
  m.sources = info.sources.map((s) => ({ object: s.object, fileId: Buffer.from(s.fileId, 'hex'), revision: s.revision,
    salt: Buffer.from(s.salt, 'hex'), objectSize: s.objectSize }));
  m.runs = info.runs.map(([from, first, count]) => ({ from, first, count }));
  return m;
}

/** Write the plaintext of chunks `own` of `file` (in order) to `dest`: what the own object encrypts. Returns its size. */
export async function stageOwn(file: string, size: number, own: number[], dest: string): Promise<number> {
  const src = await fs.promises.open(file, 'r');
  const out = await fs.promises.open(dest, 'w');
  let written = 0;
  try {
    const buf = Buffer.allocUnsafe(PLAIN_CHUNK_SIZE);
    for (const i of own) {
      const len = plainChunkLength(size, i);
      const { bytesRead } = await src.read(buf, 0, len, i * PLAIN_CHUNK_SIZE);
      if (bytesRead !== len)
        throw new StorageError('truncated', `${file} changed while it was read (chunk ${i} is short)`);
      await out.write(buf, 0, len, written);
      written += len;
    }
  } finally {
    await src.close();
    await out.close();
  }
  return written;
}

/**
 * Fetch a delta version's replica into `workDir`/plain: each run's chunks
 * read by range (at most READ_CHUNKS per request) from the object holding
 * them, each opened under that object's key with its own index and final
 * flag (a chunk from anywhere else fails its tag). The file appears only
 * once every chunk verified.
 */
export async function fetchDelta(c: RenterCore, f: FileInfo, r: ReplicaInfo, workDir: string): Promise<string> {
  const map = toMap(r.chunks, f.size);
  const objects: ChunkSource[] = [
    { object: r.object, fileId: Buffer.from(f.fileId, 'hex'), revision: f.revision, salt: Buffer.from(r.salt, 'hex'), objectSize: r.objectSize },
    ...map.sources
  ];
  const access = new Map<number, Promise<{ key: Buffer; client: FileServerClient; token: string }>>();
  const open = (o: ChunkSource) => {
    let a = access.get(o.object);
    if (!a) {
      a = (async () => {
        const t = await c.rpc('getstoragetoken', [r.hostKey, r.contractId, o.object]);
        const key = Buffer.from(await c.rpc('derivefilekey', [o.fileId.toString('hex'), o.revision, o.salt.toString('hex')]), 'hex');
        return { key, client: new FileServerClient(t.dataURL), token: t.token };
      })();
      access.set(o.object, a);
    }
    return a;
  };
  const plain = path.join(workDir, 'plain');
  const part = `${plain}.part`;
  const total = f.size + fileChunks(f.size) * 16;
  if (c.events.downloadStart)
    c.events.downloadStart(total);
  const out = await fs.promises.open(part, 'w');
  let pos = 0;
  try {
    for (const run of map.runs) {
      const o = objects[run.from];
      const n = objectChunks(o.objectSize);
      const { key, client, token } = await open(o);
      for (let i = run.first; i < run.first + run.count; i += READ_CHUNKS) {
        const j = Math.min(run.first + run.count, i + READ_CHUNKS);
        const start = i * CHUNK_SIZE;
        const end = Math.min(o.objectSize, j * CHUNK_SIZE);
        const buf = await client.download(token, r.contractId, o.object, start, end - 1);
        if (buf.length !== end - start)
          throw new Error(`host sent ${buf.length} bytes of object ${o.object} where ${end - start} were asked`);
        for (let k = i; k < j; k++) {
          const sealed = buf.subarray((k - i) * CHUNK_SIZE, Math.min(buf.length, (k - i + 1) * CHUNK_SIZE));
          let text: Buffer;
          try {
            text = decryptChunk(key, k, k === n - 1, sealed);
          } catch (e) {
            throw new Error(`chunk ${k} of object ${o.object} does not match what we stored: ${(e as Error).message}`);
          }
          await out.write(text, 0, text.length, pos);
          pos += text.length;
        }
        if (c.events.downloaded)
          c.events.downloaded(buf.length);
      }
    }
    if (pos !== f.size)
      throw new Error(`the chunks hold ${pos} bytes, the file has ${f.size}`);
    await out.sync();
  } catch (e) {
    await out.close();
    fs.rmSync(part, { force: true });
    throw e;
  }
  await out.close();
  fs.renameSync(part, plain);
  return plain;
}
