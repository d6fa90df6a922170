/*!
 * cipher.ts - chunked AES-256-GCM: the on-host format of a file.
 *
 * Plaintext is cut into chunks of 1 MiB - 16 B; chunk i is sealed with
 * nonce(i, final) and stored as ciphertext || 16-byte tag, so every full
 * chunk is exactly 1 MiB (256 leaves) and only the last chunk is short
 * (its plaintext remainder plus its tag). An empty file is one empty final
 * chunk: just a tag. Chunk boundaries are implied by position, so no
 * lengths are stored. Reordering, dropping, appending or flipping anything
 * makes a tag check fail (see keys.ts#chunkNonce).
 */

import { createCipheriv, createDecipheriv } from 'crypto';
import { CHUNK_SIZE, PLAIN_CHUNK_SIZE, TAG_SIZE } from './common';
import { StorageError } from './errors';
import { chunkNonce } from './keys';

function checkKey(key: Buffer): void {
  if (key.length !== 32)
    throw new StorageError('bad-key', 'file key must be 32 bytes');
}

/** Seals plaintext chunk `index` (at most PLAIN_CHUNK_SIZE bytes). */
export function encryptChunk(key: Buffer, index: number, final: boolean, plain: Buffer): Buffer {
  checkKey(key);
  if (plain.length > PLAIN_CHUNK_SIZE || (!final && plain.length !== PLAIN_CHUNK_SIZE))
    throw new StorageError('bad-size', 'only the final chunk may be short');
  const c = createCipheriv('aes-256-gcm', key, chunkNonce(index, final));
  const out = Buffer.allocUnsafe(plain.length + TAG_SIZE);
  const n = c.update(plain).copy(out, 0);
  c.final();
  c.getAuthTag().copy(out, n);
  return out;
}

/**
 * encryptChunk as two pieces, ciphertext and tag, without copying them
 * into one buffer: for a caller that only writes them out (an upload),
 * one 1 MiB allocation per chunk instead of two.
 */
export function sealChunk(key: Buffer, index: number, final: boolean, plain: Buffer): [Buffer, Buffer] {
  checkKey(key);
  if (plain.length > PLAIN_CHUNK_SIZE || (!final && plain.length !== PLAIN_CHUNK_SIZE))
    throw new StorageError('bad-size', 'only the final chunk may be short');
  const c = createCipheriv('aes-256-gcm', key, chunkNonce(index, final));
  const ct = c.update(plain);
  c.final();
  return [ct, c.getAuthTag()];
}

/** Opens ciphertext chunk `index`; throws StorageError `bad-tag` if it was altered. */
export function decryptChunk(key: Buffer, index: number, final: boolean, chunk: Buffer): Buffer {
  checkKey(key);
  if (chunk.length < TAG_SIZE || chunk.length > CHUNK_SIZE || (!final && chunk.length !== CHUNK_SIZE))
    throw new StorageError('bad-size', `chunk ${index} has a bad length`);
  const d = createDecipheriv('aes-256-gcm', key, chunkNonce(index, final));
  d.setAuthTag(chunk.subarray(chunk.length - TAG_SIZE));
  const plain = d.update(chunk.subarray(0, chunk.length - TAG_SIZE));
  try {
    d.final();
  } catch {
    throw new StorageError('bad-tag', `chunk ${index} failed authentication (tampered, truncated or wrong key)`);
  }
  return plain;
}

/**
 * Re-cuts a byte stream into pieces of exactly `size` bytes (the last may
 * be short or empty), holding one piece back so the final one is known.
 */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<{ data: Buffer; final: boolean }> {
  let parts: Buffer[] = [];
  let have = 0;
  let held: Buffer | null = null;
  for await (const piece of source) {
    let buf = piece;
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        if (held)
          yield { data: held, final: false };
        held = Buffer.concat(parts, size);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) {
    if (held)
      yield { data: held, final: false };
    yield { data: Buffer.concat(parts, have), final: true };
  } else if (held) {
    yield { data: held, final: true };
  } else {
    yield { data: Buffer.alloc(0), final: true };
  }
}

/** Encrypts a plaintext stream into ciphertext chunks. */
export async function* encryptStream(key: Buffer, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let index = 0;
  for await (const { data, final } of rechunk(source, PLAIN_CHUNK_SIZE))
    yield encryptChunk(key, index++, final, data);
}

/**
 * Decrypts a ciphertext stream. Each yielded chunk is authenticated; a
 * stream cut at a chunk boundary fails on its last chunk (sealed as
 * non-final), so a consumer sees an error, never a silently short file.
 */
export async function* decryptStream(key: Buffer, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let index = 0;
  for await (const { data, final } of rechunk(source, CHUNK_SIZE)) {
    if (data.length < TAG_SIZE)
      throw new StorageError('truncated', 'ciphertext ends inside a tag');
    yield decryptChunk(key, index++, final, data);
  }
}
