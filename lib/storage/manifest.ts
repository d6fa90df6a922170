/*!
 * manifest.ts - the renter's file list, stored encrypted as object 0 on
 * every host, so the wallet seed plus any one host recovers every file.
 *
 *   Manifest      = u8 version(0) || u64 updated || varint n || ManifestFile*n
 *   ManifestFile  = fileId(32) || u32 revision || varbytes name ||
 *                   u64 size || u8 scheme || Scheme2? || varint r || Replica*r
 *   Scheme2       = u8 dataShards || u8 parityShards    (scheme 2 only)
 *   Replica       = contractId(32) || u32 object || hostPk(33) || salt(32) ||
 *                   root(32) || u64 objectSize || u8 shard (scheme 2 only) ||
 *                   ChunkMap (scheme 3 only, delta.ts)
 * Scheme 1 entries (whole replicas) are byte for byte what they were
 * before shards and chunk maps existed, so older manifests read unchanged;
 * a file is written as scheme 3 only when one of its replicas references
 * chunks of earlier objects.
 *   EncryptedManifest = u8 version(0) || salt(32) || varbytes(ct || tag)
 * The manifest key is HKDF(walletMaster, "cc/manifest" || salt) with a
 * fresh random salt per write, so the all-zero nonce is never reused.
 */

import bio = require('bufio');
import { createCipheriv, createDecipheriv, randomBytes } from 'crypto';
import {
  FILE_ID_SIZE, MAX_FILE_REPLICAS, MAX_MANIFEST_FILES, MAX_MANIFEST_SIZE, MAX_NAME_BYTES,
  NONCE_SIZE, SALT_SIZE, TAG_SIZE, schemes
} from './common';
import { StorageError } from './errors';
import { checkScheme } from './erasure';
import { ChunkMap, checkChunkMap, varintSize } from './delta';
import { deriveManifestKey } from './keys';

function readFixed(br: bio.BufferReader, size: number): Buffer {
  return Buffer.from(br.readBytes(size));
}

/** One host's copy of a file: object `object` of contract `contractId`. */
export class Replica extends bio.Struct {
  contractId: Buffer = Buffer.alloc(32);
  /** The object id within the contract (1..2^32-2). */
  object = 0;
  hostPk: Buffer = Buffer.alloc(33);
  salt: Buffer = Buffer.alloc(SALT_SIZE);
  root: Buffer = Buffer.alloc(32);
  objectSize = 0;
  /**
   * The shard this object is (0..K+M-1: data shards first) when its file
   * is coded (scheme 2); written by ManifestFile only for such files.
   */
  shard = 0;
  /**
   * Where the file's chunks live when this version references chunks of
   * earlier objects of the contract (scheme 3); null: the object is the
   * whole file.
   */
  chunks: ChunkMap | null = null;

  getSize(): number {
    return 32 + 4 + 33 + SALT_SIZE + 32 + 8;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.contractId);
    bw.writeU32(this.object);
    bw.writeBytes(this.hostPk);
    bw.writeBytes(this.salt);
    bw.writeBytes(this.root);
    bw.writeU64(this.objectSize);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.contractId = readFixed(br, 32);
    this.object = br.readU32();
    this.hostPk = readFixed(br, 33);
    this.salt = readFixed(br, SALT_SIZE);
    this.root = readFixed(br, 32);
    this.objectSize = br.readU64();
    return this;
  }

  getJSON(): Record<string, unknown> {
    return {
      contractId: this.contractId.toString('hex'),
      object: this.object,
      hostPk: this.hostPk.toString('hex'),
      salt: this.salt.toString('hex'),
      root: this.root.toString('hex'),
      objectSize: this.objectSize,
      shard: this.shard,
      chunks: this.chunks ? this.chunks.getJSON() : null
    };
  }
}

/** One file: what the renter needs to find, fetch and decrypt it. */
export class ManifestFile extends bio.Struct {
  fileId: Buffer = Buffer.alloc(FILE_ID_SIZE);
  revision = 0;
  /** The name as given (bytes: a file name need not be valid UTF-8). */
  name: Buffer = Buffer.alloc(0);
  size = 0;
  scheme: number = schemes.AES256GCM_1M;
  /** K and M of a coded file (scheme 2); 0 for whole replicas. */
  dataShards = 0;
  parityShards = 0;
  replicas: Replica[] = [];

  /** True if the file is stored as Reed-Solomon shards, not whole replicas. */
  get coded(): boolean {
    return this.scheme === schemes.AES256GCM_1M_RS;
  }

  /** True if a replica references chunks of earlier objects: written as scheme 3. */
  get delta(): boolean {
    return !this.coded && this.replicas.some((r) => r.chunks !== null && !r.chunks.trivial);
  }

  /** The scheme written: 3 once a replica references earlier chunks, else the file's. */
  private written(): number {
    return this.delta ? schemes.AES256GCM_1M_DELTA : this.scheme === schemes.AES256GCM_1M_DELTA ? schemes.AES256GCM_1M : this.scheme;
  }

  getSize(): number {
    const name = this.name.length;
    let size = FILE_ID_SIZE + 4 + varintSize(name) + name + 8 + 1 + varintSize(this.replicas.length);
    if (this.coded)
      size += 2 + this.replicas.length;
    const delta = this.delta;
    for (const r of this.replicas)
      size += r.getSize() + (delta ? (r.chunks ?? ChunkMap.whole(this.size)).getSize() : 0);
    return size;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.fileId);
    bw.writeU32(this.revision);
    bw.writeVarBytes(this.name);
    bw.writeU64(this.size);
    const scheme = this.written();
    bw.writeU8(scheme);
    if (this.coded) {
      bw.writeU8(this.dataShards);
      bw.writeU8(this.parityShards);
    }
    bw.writeVarint(this.replicas.length);
    for (const r of this.replicas) {
      r.write(bw);
      if (this.coded)
        bw.writeU8(r.shard);
      if (scheme === schemes.AES256GCM_1M_DELTA)
        (r.chunks ?? ChunkMap.whole(this.size)).write(bw);
    }
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.fileId = readFixed(br, FILE_ID_SIZE);
    this.revision = br.readU32();
    const nameSize = br.readVarint();
    // [REJECT] a name longer than any put stores
    if (nameSize > MAX_NAME_BYTES)
      throw new StorageError('bad-manifest', 'name too long');
    this.name = readFixed(br, nameSize);
    this.size = br.readU64();
    this.scheme = br.readU8();
    // [REJECT] unknown storage scheme
    if (this.scheme !== schemes.AES256GCM_1M && this.scheme !== schemes.AES256GCM_1M_RS && this.scheme !== schemes.AES256GCM_1M_DELTA)
      throw new StorageError('bad-manifest', `unknown scheme ${this.scheme}`);
    this.dataShards = 0;
    this.parityShards = 0;
    if (this.coded) {
      this.dataShards = br.readU8();
      this.parityShards = br.readU8();
      // [REJECT] shard counts no put makes (PROTOCOL 4.9)
      try {
        checkScheme(this);
      } catch {
        throw new StorageError('bad-manifest', `bad shard scheme ${this.dataShards}+${this.parityShards}`);
      }
    }
    const count = br.readVarint();
    // [REJECT] more replicas than any put makes
    if (count > MAX_FILE_REPLICAS)
      throw new StorageError('bad-manifest', 'too many replicas');
    this.replicas = [];
    for (let i = 0; i < count; i++) {
      const r = Replica.read(br);
      if (this.coded) {
        r.shard = br.readU8();
        // [REJECT] a shard index outside the scheme
        if (r.shard >= this.dataShards + this.parityShards)
          throw new StorageError('bad-manifest', `shard ${r.shard} outside ${this.dataShards}+${this.parityShards}`);
      }
      if (this.scheme === schemes.AES256GCM_1M_DELTA) {
        const map = ChunkMap.read(br);
        // [REJECT] a chunk map that does not describe this file (delta.ts checkChunkMap says which part)
        checkChunkMap(map, this.size, r.object, r.objectSize);
        r.chunks = map.trivial ? null : map;
      }
      this.replicas.push(r);
    }
    return this;
  }

  getJSON(): Record<string, unknown> {
    return {
      fileId: this.fileId.toString('hex'),
      revision: this.revision,
      name: this.name.toString('utf8'),
      nameHex: this.name.toString('hex'),
      size: this.size,
      scheme: this.written(),
      dataShards: this.dataShards,
      parityShards: this.parityShards,
      replicas: this.replicas.map(r => r.getJSON())
    };
  }
}

/** The renter's list of files. */
export class Manifest extends bio.Struct {
  version = 0;
  updated = 0;
  files: ManifestFile[] = [];

  getSize(): number {
    let size = 1 + 8 + varintSize(this.files.length);
    for (const f of this.files)
      size += f.getSize();
    return size;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU8(this.version);
    bw.writeU64(this.updated);
    bw.writeVarint(this.files.length);
    for (const f of this.files)
      f.write(bw);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.version = br.readU8();
    // [REJECT] unknown manifest version
    if (this.version !== 0)
      throw new StorageError('bad-manifest', `unknown manifest version ${this.version}`);
    this.updated = br.readU64();
    const count = br.readVarint();
    // [REJECT] more files than a manifest may list
    if (count > MAX_MANIFEST_FILES)
      throw new StorageError('bad-manifest', 'too many files');
    this.files = [];
    for (let i = 0; i < count; i++)
      this.files.push(ManifestFile.read(br));
    return this;
  }

  getJSON(): Record<string, unknown> {
    return { version: this.version, updated: this.updated, files: this.files.map(f => f.getJSON()) };
  }

  /** Seals the manifest under the wallet master with a fresh salt. */
  seal(master: Buffer): Buffer {
    const sealed = new EncryptedManifest();
    sealed.salt = randomBytes(SALT_SIZE);
    const key = deriveManifestKey(master, sealed.salt);
    const c = createCipheriv('aes-256-gcm', key, Buffer.alloc(NONCE_SIZE));
    sealed.ciphertext = Buffer.concat([c.update(this.encode()), c.final(), c.getAuthTag()]);
    const raw = sealed.encode();
    if (raw.length > MAX_MANIFEST_SIZE)
      throw new StorageError('bad-manifest', 'manifest too large');
    return raw;
  }

  /** Opens a sealed manifest; throws StorageError on a wrong key or tampering. */
  static open(master: Buffer, raw: Buffer): Manifest {
    if (raw.length > MAX_MANIFEST_SIZE)
      throw new StorageError('bad-manifest', 'manifest too large');
    let sealed: EncryptedManifest;
    try {
      sealed = EncryptedManifest.decode(raw);
    } catch (e) {
      if (e instanceof StorageError)
        throw e;
      throw new StorageError('bad-manifest', 'malformed sealed manifest');
    }
    const key = deriveManifestKey(master, sealed.salt);
    const ct = sealed.ciphertext;
    if (ct.length < TAG_SIZE)
      throw new StorageError('bad-manifest', 'sealed manifest too short');
    const d = createDecipheriv('aes-256-gcm', key, Buffer.alloc(NONCE_SIZE));
    d.setAuthTag(ct.subarray(ct.length - TAG_SIZE));
    const plain = d.update(ct.subarray(0, ct.length - TAG_SIZE));
    try {
      d.final();
    } catch {
      throw new StorageError('bad-tag', 'manifest failed authentication (tampered or wrong wallet)');
    }
    try {
      return Manifest.decode(plain);
    } catch (e) {
      if (e instanceof StorageError)
        throw e;
      throw new StorageError('bad-manifest', 'malformed manifest');
    }
  }
}

/** The sealed form of a manifest, as stored in object 0. */
export class EncryptedManifest extends bio.Struct {
  version = 0;
  salt: Buffer = Buffer.alloc(SALT_SIZE);
  ciphertext: Buffer = Buffer.alloc(0);

  getSize(): number {
    return 1 + SALT_SIZE + varintSize(this.ciphertext.length) + this.ciphertext.length;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU8(this.version);
    bw.writeBytes(this.salt);
    bw.writeVarBytes(this.ciphertext);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.version = br.readU8();
    if (this.version !== 0)
      throw new StorageError('bad-manifest', `unknown sealed manifest version ${this.version}`);
    this.salt = readFixed(br, SALT_SIZE);
    const len = br.readVarint();
    // [REJECT] length beyond the object-0 limit, checked before reading
    if (len > MAX_MANIFEST_SIZE || len > br.left())
      throw new StorageError('bad-manifest', 'bad ciphertext length');
    this.ciphertext = readFixed(br, len);
    if (br.left() !== 0)
      throw new StorageError('bad-manifest', 'trailing bytes after manifest');
    return this;
  }

  getJSON(): Record<string, unknown> {
    return { version: this.version, salt: this.salt.toString('hex'), size: this.ciphertext.length };
  }
}
