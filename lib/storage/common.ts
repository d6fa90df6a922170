/*!
 * common.ts - constants of the CloudCoin data path.
 *
 * Leaf and chunk sizes are protocol constants (DESIGN 6): every host and
 * every renter must cut and hash a file the same way or roots differ.
 */

/** Merkle leaf size: one disk page, cheap to read for an audit. */
export const LEAF_SIZE = 4096;

/** Ciphertext chunk: 1 MiB, so a chunk is exactly 256 leaves. */
export const CHUNK_SIZE = 1 << 20;

/** AES-256-GCM authentication tag length. */
export const TAG_SIZE = 16;

/** Plaintext per full chunk: chunk minus its tag. */
export const PLAIN_CHUNK_SIZE = CHUNK_SIZE - TAG_SIZE;

/** Leaves per full ciphertext chunk. */
export const LEAVES_PER_CHUNK = CHUNK_SIZE / LEAF_SIZE;

/** AES-GCM nonce length (96 bits, the GCM fast path). */
export const NONCE_SIZE = 12;

/** File ids and replica salts are 32 random bytes. */
export const FILE_ID_SIZE = 32;
export const SALT_SIZE = 32;

/** Largest object a contract can hold: 2^40 bytes (1 TiB), so leaf counts fit a u32. */
export const MAX_OBJECT_SIZE = 2 ** 40;

/** A Merkle proof over at most 2^28 leaves needs at most 28 siblings; allow headroom. */
export const MAX_PROOF_DEPTH = 40;

/** Largest encrypted manifest (object 0). */
export const MAX_MANIFEST_SIZE = 1 << 20;

/** Limits inside a manifest, checked before allocating. */
export const MAX_MANIFEST_FILES = 10000;
export const MAX_FILE_REPLICAS = 64;
export const MAX_NAME_BYTES = 1024;

/** How a manifest entry's bytes are stored (PROTOCOL 4.5). */
export const schemes = {
  /** AES-256-GCM, 1 MiB ciphertext chunks, nonce = u64 index || u32 final: one whole encrypted copy per replica. */
  AES256GCM_1M: 1,
  /** The same encryption, once, then Reed-Solomon K data + M parity shards, one per replica (PROTOCOL 4.9). */
  AES256GCM_1M_RS: 2,
  /**
   * Whole replicas as scheme 1, each with a chunk map: a version that
   * stores only its changed chunks and reads the rest from earlier objects
   * of the same contract (delta.ts, PROTOCOL 4.5).
   */
  AES256GCM_1M_DELTA: 3
} as const;

/** Leaf count of an object of `size` bytes (the last leaf may be short). */
export function leafCount(size: number): number {
  return Math.ceil(size / LEAF_SIZE);
}

/** Ciphertext size for a plaintext of `size` bytes: one tag per chunk, at least one chunk. */
export function cipherSize(size: number): number {
  const chunks = Math.max(1, Math.ceil(size / PLAIN_CHUNK_SIZE));
  return size + chunks * TAG_SIZE;
}

/** Plaintext size for a ciphertext of `size` bytes, or -1 if no plaintext encrypts to it. */
export function plainSize(size: number): number {
  if (size < TAG_SIZE)
    return -1;
  const chunks = Math.ceil(size / CHUNK_SIZE);
  const last = size - (chunks - 1) * CHUNK_SIZE;
  // A short last chunk is legal only if it still holds its tag; a lone
  // 16-byte chunk after full chunks would mean an empty final chunk, which
  // the encryptor never emits unless the whole file is empty.
  if (last < TAG_SIZE || (last === TAG_SIZE && chunks > 1))
    return -1;
  return size - chunks * TAG_SIZE;
}
