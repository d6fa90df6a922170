/*!
 * transfer.ts - a renter's replica in motion: a local plaintext file
 * encrypted and uploaded to a file server, and downloaded, verified and
 * decrypted back, streaming, with nothing staged on disk.
 *
 * Upload is two passes over the plaintext: the first encrypts and hashes
 * to learn the object's root and size (the host registers the object with
 * them before accepting a byte, PROTOCOL 4.8), the second encrypts again,
 * part by part, while the previous part is on the wire. Encryption is
 * deterministic for one key (nonces are chunk indexes), so the second pass
 * yields exactly the bytes the first one hashed. The second pass costs
 * about what staging costs (writing the replica and reading it back:
 * within noise in bench/transfer.ts) but needs no disk, where staging
 * needs file size x hosts: docs/BENCHMARKS.md has the figures.
 *
 * Download reads ranges (the next two in flight while the current one is
 * hashed and decrypted, each into a reused buffer), hashes leaves on
 * worker threads, decrypts each chunk (its tag authenticates it) into a
 * temp file, and renames it into place only when the Merkle root matches
 * too.
 */

import * as fs from 'fs';
import * as path from 'path';
import { CHUNK_SIZE, LEAF_SIZE, PLAIN_CHUNK_SIZE, TAG_SIZE, cipherSize, plainSize } from './common';
import { StorageError } from './errors';
import { decryptChunk, encryptChunk, sealChunk } from './cipher';
import { FileServerClient, FileServerError, MAX_READ_SIZE, UploadStatus } from './fileserverclient';
import { EncryptResult, FileOpOptions, OrderedQueue, TreeSink, encryptFile, withPool, writeAll } from './fileops';
import { fsyncDir, tempPath } from './fsutil';
import { MAX_PART_SIZE } from './storetypes';

/** Bytes per upload part and per download range: 8 chunks, the file server's request limit. */
export const TRANSFER_PART = MAX_PART_SIZE;

/**
 * Ranges of a download on the wire at once, besides the one being
 * decrypted: two keep the host's disk and socket busy while the renter
 * decrypts and hashes (each costs one 8 MiB buffer).
 */
const DOWNLOAD_AHEAD = 2;

/** Where a replica lives on its file server. */
export interface ObjectAddress {
  client: FileServerClient;
  /** A data token for the object (`put` to upload, `get` to download). */
  token: string;
  contract: string;
  object: number;
}

/** Progress callback: bytes of the object moved so far, and its size. */
export type Progress = (done: number, size: number) => void;

/** Reads exactly buf.length bytes at `pos`, or fails `truncated`. */
async function readExact(fh: fs.promises.FileHandle, buf: Buffer, pos: number): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, pos + got);
    if (bytesRead === 0)
      throw new StorageError('truncated', 'the file shrank during the transfer');
    got += bytesRead;
  }
}

/**
 * Ciphertext bytes [start, end) of `plain` (a plaintext of `plainBytes`
 * bytes) under `key`: the chunks covering the range, encrypted, as pieces.
 */
async function cipherRange(key: Buffer, fh: fs.promises.FileHandle, plainBytes: number, start: number, end: number,
  scratch: Buffer): Promise<Buffer[]> {
  const chunks = Math.max(1, Math.ceil(plainBytes / PLAIN_CHUNK_SIZE));
  const first = Math.floor(start / CHUNK_SIZE);
  const last = Math.ceil(end / CHUNK_SIZE) - 1;
  const out: Buffer[] = [];
  for (let i = first; i <= last; i++) {
    // One chunk at a time into the caller's one read buffer: encryption
    // copies out of it before the next read, so the plaintext costs 1 MiB
    // per upload whatever the part size.
    const piece = scratch.subarray(0, Math.min(PLAIN_CHUNK_SIZE, plainBytes - i * PLAIN_CHUNK_SIZE));
    await readExact(fh, piece, i * PLAIN_CHUNK_SIZE);
    // Trim to the range (a resume may start mid-chunk, on a leaf boundary).
    const lo = Math.max(start - i * CHUNK_SIZE, 0);
    const hi = Math.min(end - i * CHUNK_SIZE, piece.length + TAG_SIZE);
    if (lo > 0 || hi < piece.length + TAG_SIZE)
      out.push(encryptChunk(key, i, i === chunks - 1, piece).subarray(lo, hi));
    else
      out.push(...sealChunk(key, i, i === chunks - 1, piece));
  }
  return out;
}

/**
 * Pass 1 of an upload: the object's size and root for `file` encrypted
 * under `key`, computed without writing anything (hashing on the pool).
 */
export function encryptedRoot(key: Buffer, file: string, opts: FileOpOptions = {}): Promise<EncryptResult> {
  return encryptFile(key, file, null, opts);
}

/**
 * Pass 2 of an upload: encrypts `file` under `key` again and uploads it as
 * data object `to.object`, one part after another from what the server
 * already holds (a resumed upload re-encrypts only what is missing); the
 * next part is read and encrypted while the previous one is on the wire.
 * A last part whose answer was lost (`already-complete` on the retry)
 * counts as done. Throws FileServerError (the server's codes, `bad-size`
 * when the server expects another size) or StorageError `truncated`.
 */
export async function uploadEncrypted(to: ObjectAddress, key: Buffer, file: string,
  opts: { partSize?: number; progress?: Progress } = {}): Promise<UploadStatus> {
  const partSize = opts.partSize ?? TRANSFER_PART;
  if (partSize % CHUNK_SIZE !== 0 || partSize < CHUNK_SIZE || partSize > MAX_PART_SIZE)
    throw new RangeError('part size must be whole chunks (1 MiB) up to 8 MiB');
  const { client, token, contract, object } = to;
  const fh = await fs.promises.open(file, 'r');
  try {
    const plainBytes = (await fh.stat()).size;
    const size = cipherSize(plainBytes);
    let st = await client.uploadStatus(token, contract, object);
    if (!st.complete && (st.size !== size || !(st.received >= 0 && st.received <= size)))
      throw new FileServerError('bad-size', 0, `the object is ${size} bytes; the server expects ${st.size} and holds ${st.received}`);
    // One read buffer of a chunk for every part: a part is read only once the one before is encrypted.
    const scratch = Buffer.allocUnsafeSlow(Math.max(1, Math.min(PLAIN_CHUNK_SIZE, plainBytes)));
    // Parts end on part boundaries, so a resumed upload realigns after one short part.
    const partAt = (offset: number) => {
      const end = Math.min((Math.floor(offset / partSize) + 1) * partSize, size);
      return { offset, end, data: cipherRange(key, fh, plainBytes, offset, end, scratch) };
    };
    let next = st.complete ? null : partAt(st.received);
    while (next) {
      const part = next;
      const data = await part.data;
      // The next part is prepared while this one travels.
      next = part.end < size ? partAt(part.end) : null;
      next?.data.catch(() => {});
      st = await client.putPartResumable(token, contract, object, part.offset, data);
      if (opts.progress)
        opts.progress(st.received, size);
      if (st.complete)
        break;
      // [REJECT] a server that did not take the part as sent
      if (st.received !== part.end)
        throw new FileServerError('bad-response', 200, `file server ${client.url} holds ${st.received} bytes after a part ending at ${part.end}`);
    }
    return st;
  } finally {
    await fh.close();
  }
}

/** Result of a verified download. */
export interface DownloadResult {
  /** Object (ciphertext) bytes read. */
  size: number;
  /** Plaintext bytes written. */
  plainSize: number;
}

/**
 * Downloads data object `from.object` of `size` bytes whose Merkle root
 * must be `root`, decrypting it under `key` into `output`, which appears
 * (atomically, fsynced) only when every chunk's tag and the root verified.
 * Throws FileServerError (`bad-size` when the host reports another size,
 * `over-budget` when the token cannot pay for the object), StorageError
 * `bad-root` (the host served other bytes), `bad-tag`. Hashing runs on
 * `opts.pool` (or a temporary pool), one job per range.
 */
export async function downloadDecrypted(from: ObjectAddress, key: Buffer, size: number, root: Buffer, output: string,
  opts: FileOpOptions & { rangeSize?: number; progress?: Progress } = {}): Promise<DownloadResult> {
  const rangeSize = opts.rangeSize ?? TRANSFER_PART;
  if (rangeSize % CHUNK_SIZE !== 0 || rangeSize < CHUNK_SIZE || rangeSize > MAX_READ_SIZE)
    throw new RangeError('range size must be whole chunks (1 MiB) up to 8 MiB');
  const plain = plainSize(size);
  if (plain < 0)
    throw new StorageError('bad-size', `object size ${size} is not a valid ciphertext size`);
  const { client, token, contract, object } = from;
  const head = await client.head(token, contract, object);
  // [REJECT] a host claiming another size than the contract's
  if (head.size !== size)
    throw new FileServerError('bad-size', 0, `file server ${client.url} reports ${head.size} bytes, the object is ${size}`);
  if (head.budgetLeft !== null && head.budgetLeft < size)
    throw new FileServerError('over-budget', 0, `the token has ${head.budgetLeft} bytes left, the object is ${size}`, { left: head.budgetLeft });
  const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE));
  return withPool(opts, async (pool) => {
    // One hashing job per range: its subtree's levels come back whole.
    const sink = new TreeSink(size, rangeSize / LEAF_SIZE);
    const q = new OrderedQueue(sink, pool ? pool.size * 2 : 0);
    const tmp = tempPath(output);
    const out = await fs.promises.open(tmp, 'w');
    // Range buffers are reused: each answer is copied into one as it
    // arrives, decrypted out of it, then lent to a hash worker and handed
    // back. Fresh buffers per range (the answer's pieces, their
    // concatenation) made garbage the collector ran full collections for.
    const free: Buffer[] = [];
    const take = (): Buffer => free.pop() ?? Buffer.allocUnsafeSlow(Math.min(rangeSize, size));
    const give = (b: Buffer): void => {
      if (free.length < DOWNLOAD_AHEAD + 2)
        free.push(b);
    };
    const fetch = (start: number): Promise<{ buf: Buffer; data: Buffer }> => {
      const buf = take();
      const p = client.downloadInto(token, contract, object, start, Math.min(start + rangeSize, size) - 1, buf).then((data) => ({ buf, data }));
      p.catch(() => {});
      return p;
    };
    try {
      // The next ranges are on the wire while this one is hashed and decrypted.
      const pending: Promise<{ buf: Buffer; data: Buffer }>[] = [];
      let ask = 0;
      const refill = (): void => {
        while (pending.length < DOWNLOAD_AHEAD && ask < size) {
          pending.push(fetch(ask));
          ask += rangeSize;
        }
      };
      refill();
      for (let start = 0; start < size; start += rangeSize) {
        const { buf, data } = await (pending.shift() as Promise<{ buf: Buffer; data: Buffer }>);
        refill();
        const first = start / LEAF_SIZE;
        const pieces: Buffer[] = [];
        for (let at = 0; at < data.length; at += CHUNK_SIZE) {
          const i = (start + at) / CHUNK_SIZE;
          pieces.push(decryptChunk(key, i, i === chunks - 1, data.subarray(at, Math.min(at + CHUNK_SIZE, data.length))));
        }
        // Decrypted first (into new buffers), so the range buffer can be lent.
        if (pool) {
          await q.push(first, pool.hashLent(buf, data.length, first, give, sink.height));
        } else {
          await q.push(first, Promise.resolve(sink.inline(data, first)));
          give(buf);
        }
        await writeAll(out, pieces, (start / CHUNK_SIZE) * PLAIN_CHUNK_SIZE);
        if (opts.progress)
          opts.progress(Math.min(start + rangeSize, size), size);
      }
      await q.drain();
      const got = sink.finish();
      // [REJECT] bytes that are not the object the contract names
      if (!got.equals(root))
        throw new StorageError('bad-root', `file server ${client.url} served bytes whose Merkle root is not the object's`);
      await out.sync();
      await out.close();
      fs.renameSync(tmp, output);
      fsyncDir(path.dirname(output));
      return { size, plainSize: plain };
    } catch (e) {
      await out.close().catch(() => {});
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  });
}
