/*!
 * keys.ts - key and nonce derivation for file encryption.
 *
 * Every (file, revision, replica) gets its own AES-256 key, derived from the
 * wallet's master secret so the seed plus a manifest recovers every key:
 *   K = HKDF-SHA256(ikm = walletMaster, salt = "",
 *                   info = "cc/file" || fileId || u32 revision || replicaSalt)
 * Because the key is unique per replica and revision, the nonce can be a
 * plain chunk counter and no key/nonce pair is ever used twice.
 */

import { hkdfSync } from 'crypto';
import { FILE_ID_SIZE, NONCE_SIZE, SALT_SIZE } from './common';
import { StorageError } from './errors';

const FILE_INFO = Buffer.from('cc/file', 'ascii');
const MANIFEST_INFO = Buffer.from('cc/manifest', 'ascii');
const PRINT_INFO = Buffer.from('cc/chunk-print', 'ascii');

function hkdf(ikm: Buffer, info: Buffer): Buffer {
  if (ikm.length < 16)
    throw new StorageError('bad-key', 'master secret must be at least 16 bytes');
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), info, 32));
}

/** AES-256 key of one replica of one revision of one file. */
export function deriveFileKey(master: Buffer, fileId: Buffer, revision: number, replicaSalt: Buffer): Buffer {
  if (fileId.length !== FILE_ID_SIZE)
    throw new StorageError('bad-key', 'file id must be 32 bytes');
  if (replicaSalt.length !== SALT_SIZE)
    throw new StorageError('bad-key', 'replica salt must be 32 bytes');
  if (!Number.isInteger(revision) || revision < 0 || revision > 0xffffffff)
    throw new StorageError('bad-key', 'revision must be a u32');
  const rev = Buffer.alloc(4);
  rev.writeUInt32LE(revision, 0);
  return hkdf(master, Buffer.concat([FILE_INFO, fileId, rev, replicaSalt]));
}

/** Key of an encrypted manifest: one per random manifest salt. */
export function deriveManifestKey(master: Buffer, salt: Buffer): Buffer {
  if (salt.length !== SALT_SIZE)
    throw new StorageError('bad-key', 'manifest salt must be 32 bytes');
  return hkdf(master, Buffer.concat([MANIFEST_INFO, salt]));
}

/**
 * HMAC key of the renter's chunk fingerprints (storage/delta.ts): one per
 * wallet, so equal chunks of two versions have equal prints and nobody
 * without the seed can test a guess of a chunk against them.
 */
export function deriveChunkPrintKey(master: Buffer): Buffer {
  return hkdf(master, PRINT_INFO);
}

/**
 * Nonce of chunk `index`: u64 LE index || u32 LE final flag. The final
 * flag (STREAM construction) makes dropping trailing chunks detectable:
 * the new last chunk was sealed as non-final and fails to open as final.
 */
export function chunkNonce(index: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(NONCE_SIZE);
  nonce.writeUInt32LE(index >>> 0, 0);
  nonce.writeUInt32LE(Math.floor(index / 0x100000000), 4);
  nonce.writeUInt32LE(final ? 1 : 0, 8);
  return nonce;
}
