/*!
 * objectstore.ts - the on-disk object store shared by the file server and the
 * node's local hosting backend (one layout, one implementation).
 *
 * A contract holds object 0 (the renter's sealed manifest) and any number
 * of data objects with ids 1..2^32-2, each registered with its Merkle root
 * and size before it is uploaded (Sia's model: one contract per
 * renter-host pair, changed by revisions). The renter allocates object
 * ids; an id is never reused within a contract (a deleted object leaves a
 * tombstone record).
 *
 * Layout under the store directory:
 *   contracts/<id>.json           contract record {id, expiry, registered, manifestLimit}
 *   objects/<id>/<n>.json         object record {contract, object, root, size, registered},
 *                                 or a tombstone {contract, object, deleted}
 *   objects/<id>/<n>/{data,tree}  complete object n; the directory is renamed in
 *                                 whole from uploads/, so it appears atomically
 *   objects/<id>/0                sealed manifest (replaced atomically)
 *   uploads/<id>/<n>/data         object being uploaded (written part by part)
 *   uploads/<id>/<n>/tree         its tree file; level 0 filled part by part
 *   uploads/<id>/<n>/state.json   {received}: bytes written so far; never the full
 *                                 size (the last part completes the object
 *                                 before anything records it)
 * Parts are not fsynced: the part that completes an object fsyncs its data
 * and tree once, before the object appears. A process crash loses nothing
 * written; after a power loss an upload resumes from what its files still
 * hold, re-checked by length (received() takes the smallest of state.json
 * and the data file, on a leaf boundary), and lost leaf hashes make the
 * completing part fail root-mismatch (the upload is deleted, never wrong):
 * no partial or wrong object is ever visible.
 * Names are always validated ids (hex, decimal) or fixed words, never
 * caller paths. No state is kept in memory between calls except per-object
 * upload locks, so every call works from disk alone (as the PHP port does).
 */

import * as fs from 'fs';
import * as path from 'path';
import { CodedError } from '../base/errors';
import { LEAF_SIZE, MAX_MANIFEST_SIZE, MAX_OBJECT_SIZE, leafCount } from './common';
import { MerkleProof, hashLeaves } from './merkle';
import { TreeWriter, buildTreeBlocks, completeTreeFile, fullTreeBlocks, proofFromTreePath, treeFileSize } from './treefile';
import { fsyncDir, fsyncFile, mkdirDurable, readJSON, writeFileAtomic } from './fsutil';
import { LeafHasherPool, sharedHasherPool } from './hashpool';

/** Largest part a single upload request may carry (PHP-shaped requests). */
export const MAX_PART_SIZE = 8 << 20;

/** Bytes gathered per disk write while receiving a part (a whole number of leaves). */
const WRITE_BLOCK = 1 << 20;

/** Blocks of a part being hashed on the pool at once (each WRITE_BLOCK bytes). */
const MAX_LENT = 4;

/**
 * Spare blocks a store keeps between parts: a part's lent blocks come back
 * here, so uploads reuse a few MiB rather than leaving a few per part for
 * the collector (external memory the GC frees late: +45 MB peak RSS on a
 * 200 MB upload without them).
 */
const MAX_SPARE = 2 * MAX_LENT;

/**
 * Object ids: 0 holds the sealed manifest, 1..MAX data objects (u32, as in
 * tokens); 2^32-1 is never an object: a `get` token names every data object
 * with it (token.ts ALL_OBJECTS), and the object tree reserves it too.
 */
export const objects = {
  MANIFEST: 0,
  /** The first data object; today's deal flow stores its file there. */
  DATA: 1,
  MAX: 0xfffffffe
} as const;

/** Data objects one contract may register over its life (tombstones count): bounds a contract's directory. */
export const MAX_OBJECTS_PER_CONTRACT = 65536;

/** Objects one adopt call may name (its JSON body stays under the 64 KiB admin limit). */
export const MAX_ADOPT_OBJECTS = 4096;

/** Stable reasons a store call fails. */
export type StoreErrorCode =
  | 'bad-contract'
  | 'bad-object'
  | 'contract-exists'
  | 'object-exists'
  | 'too-many-objects'
  | 'unknown-contract'
  | 'contract-expired'
  | 'no-capacity'
  | 'unknown-object'
  | 'object-not-found'
  | 'bad-offset'
  | 'unaligned-part'
  | 'too-large'
  | 'empty-body'
  | 'truncated-body'
  | 'root-mismatch'
  | 'already-complete'
  | 'upload-incomplete'
  | 'bad-leaf'
  | 'busy'
  | 'disk-full'
  | 'not-writable'
  | 'io-error';

/** A store failure; `detail` carries machine-readable extras (e.g. `received`). */
export class StoreError extends CodedError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(code, message, detail);
  }
}

/**
 * Maps a file-system error to the store's documented code (docs/FILESERVER.md):
 * ENOSPC/EDQUOT `disk-full`, EACCES/EPERM/EROFS `not-writable`, EIO `io-error`.
 * Anything else is returned unchanged.
 */
export function ioError(e: unknown): unknown {
  switch ((e as NodeJS.ErrnoException | null)?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StoreError('disk-full', 'the server\'s disk is full');
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StoreError('not-writable', 'the server cannot write its data folder');
    case 'EIO':
      return new StoreError('io-error', 'the server\'s disk failed to read or write');
    default:
      return e;
  }
}

/** A registered contract as the store knows it. */
export interface ContractRecord {
  id: string;
  /** Unix seconds after which the data may be purged. */
  expiry: number;
  /** Unix seconds when registered. */
  registered: number;
  /** Largest manifest (object 0) the contract may store, bytes; reserved at registration. */
  manifestLimit: number;
}

/** A registered data object of a contract. */
export interface ObjectRecord {
  /** Contract id, 64 hex. */
  contract: string;
  /** Object id, 1..2^32-2. */
  object: number;
  /** Merkle root of the object, 64 hex. */
  root: string;
  /** Size in bytes. */
  size: number;
  /** Unix seconds when registered. */
  registered: number;
  /**
   * The contract this object was adopted from (a renewal), sharing its
   * bytes through hard links; absent for an uploaded object.
   */
  adoptedFrom?: string;
}

/** Upload progress of one object. */
export interface ObjectState extends ObjectRecord {
  received: number;
  complete: boolean;
}

/** A contract with what it holds. */
export interface ContractState extends ContractRecord {
  /** Bytes of the stored manifest (0 when none). */
  manifestSize: number;
  /** Data objects registered and not deleted. */
  objects: number;
  /** Disk this contract may fill: the manifest limit plus each object with its tree file. */
  reserved: number;
  /** Disk it holds now. */
  used: number;
}

/** What a host signs a receipt over: one complete object. */
export interface ObjectReceipt {
  contract: string;
  object: number;
  root: string;
  size: number;
  complete: true;
}

/** Totals for capacity planning. */
export interface StoreStatus {
  capacity: number;
  /**
   * Disk the registered contracts may fill: each contract's manifest limit,
   * and each registered object with its tree file (see footprint()).
   */
  reserved: number;
  /** Bytes actually held (objects, their tree files, uploads in progress, manifests). */
  used: number;
  free: number;
  contracts: number;
  /** Data objects registered (not deleted), over all contracts. */
  objects: number;
}

/** Options of an ObjectStore. */
export interface StoreOptions {
  dir: string;
  /** Bytes of contract data this store accepts in total. */
  capacity: number;
  /** Clock in unix seconds; tests inject one. */
  now?: () => number;
  /**
   * Hashes uploads off the event loop (default: the process's shared pool,
   * hashpool.ts); null hashes on the calling thread.
   */
  hasher?: LeafHasherPool | null;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Disk bytes an object of `size` bytes reserves: the object and its tree
 * file (about 1.6 % more). Capacity is checked against this, so
 * --capacity bounds the disk the store fills.
 */
export function footprint(size: number): number {
  return size + treeFileSize(size);
}

/**
 * Disk bytes a contract holding one object of `size` bytes may fill: the
 * object with its tree file plus the largest manifest (1 MiB). What a host
 * must have free before offering such a contract.
 */
export function contractFootprint(size: number, manifestLimit = MAX_MANIFEST_SIZE): number {
  return footprint(size) + manifestLimit;
}

/** Checks that `id` is a contract id (64 lowercase hex). */
export function isId(id: unknown): id is string {
  return typeof id === 'string' && HEX64.test(id);
}

/** Checks that `n` is a data object id (1..2^32-2). */
export function isDataObject(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= objects.MAX;
}

/** A stored object record or tombstone. */
type StoredObject = ObjectRecord | { contract: string; object: number; deleted: number };

function isLive(r: StoredObject | null): r is ObjectRecord {
  return r !== null && !('deleted' in r);
}

/** The object store. */
export class ObjectStore {
  readonly dir: string;
  readonly capacity: number;
  private readonly now: () => number;
  private readonly locks = new Set<string>();
  /** Free WRITE_BLOCK-sized blocks (see MAX_SPARE). */
  private readonly spare: Buffer[] = [];
  private readonly hasher: LeafHasherPool | null | undefined;

  constructor(options: StoreOptions) {
    this.dir = options.dir;
    this.capacity = options.capacity;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.hasher = options.hasher;
  }

  /**
   * Creates the layout, sweeps leftovers of interrupted calls and finishes
   * uploads that received every byte but were not moved into place.
   */
  open(): void {
    for (const sub of ['contracts', 'uploads', 'objects'])
      mkdirDurable(path.join(this.dir, sub));
    // Temp files of interrupted atomic writes, and data of contracts whose
    // record is gone (unregister removes the record first).
    this.sweepTemps(path.join(this.dir, 'contracts'));
    for (const sub of ['uploads', 'objects']) {
      for (const name of fs.readdirSync(path.join(this.dir, sub))) {
        if (!isId(name) || !fs.existsSync(this.recordPath(name)))
          fs.rmSync(path.join(this.dir, sub, name), { recursive: true, force: true });
      }
    }
    for (const rec of this.listContracts()) {
      const odir = path.join(this.dir, 'objects', rec.id);
      if (fs.existsSync(odir)) {
        this.sweepTemps(odir);
        // Object directories whose record is gone or a tombstone (deleteObject
        // writes the tombstone first).
        for (const name of fs.readdirSync(odir)) {
          if (/^[1-9][0-9]*$/.test(name) && !isLive(this.readObject(rec.id, Number(name))))
            fs.rmSync(path.join(odir, name), { recursive: true, force: true });
        }
      }
      const udir = path.join(this.dir, 'uploads', rec.id);
      if (fs.existsSync(udir)) {
        for (const name of fs.readdirSync(udir)) {
          const n = /^[1-9][0-9]*$/.test(name) ? Number(name) : 0;
          const obj = n ? this.readObject(rec.id, n) : null;
          if (!isLive(obj) || this.isComplete(rec.id, n)) {
            // Interrupted after the rename (or deleted): the rest is litter.
            fs.rmSync(path.join(udir, name), { recursive: true, force: true });
            if (isLive(obj))
              fs.rmSync(path.join(this.objectDir(rec.id, n), 'state.json'), { force: true });
            continue;
          }
          try {
            this.salvage(obj);
          } catch {
            // root-mismatch deleted the upload; anything else is retried by
            // the next writePart() or receipt().
          }
        }
      }
    }
  }

  private sweepTemps(dir: string): void {
    for (const name of fs.readdirSync(dir)) {
      // Files of atomic writes, and directories of interrupted adoptions.
      if (name.includes('.tmp-'))
        fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }

  private recordPath(id: string): string {
    return path.join(this.dir, 'contracts', `${id}.json`);
  }

  private objectRecordPath(id: string, n: number): string {
    return path.join(this.dir, 'objects', id, `${n}.json`);
  }

  private uploadDir(id: string, n: number): string {
    return path.join(this.dir, 'uploads', id, String(n));
  }

  private objectDir(id: string, n: number): string {
    return path.join(this.dir, 'objects', id, String(n));
  }

  private manifestPath(id: string): string {
    return path.join(this.dir, 'objects', id, String(objects.MANIFEST));
  }

  /** A contract record, or null. */
  getContract(id: string): ContractRecord | null {
    if (!isId(id))
      return null;
    const json = readJSON(this.recordPath(id));
    if (!json || typeof json !== 'object')
      return null;
    return json as ContractRecord;
  }

  private mustContract(id: string): ContractRecord {
    const rec = this.getContract(id);
    if (!rec)
      throw new StoreError('unknown-contract', 'no such contract');
    return rec;
  }

  private liveContract(id: string): ContractRecord {
    const rec = this.mustContract(id);
    // [REJECT] data calls after expiry: the host is no longer paid to keep it
    if (rec.expiry <= this.now())
      throw new StoreError('contract-expired', 'contract has expired');
    return rec;
  }

  private readObject(id: string, n: number): StoredObject | null {
    const json = readJSON(this.objectRecordPath(id, n));
    if (!json || typeof json !== 'object')
      return null;
    return json as StoredObject;
  }

  /** A data object's record, or null (unknown, deleted, or not a data object id). */
  getObject(id: string, n: number): ObjectRecord | null {
    if (!isId(id) || !isDataObject(n))
      return null;
    const r = this.readObject(id, n);
    return isLive(r) ? r : null;
  }

  private mustObject(id: string, n: number): ObjectRecord {
    const r = this.getObject(id, n);
    if (!r)
      throw new StoreError('unknown-object', `object ${n} is not registered`);
    return r;
  }

  /** Every record of a contract's data objects (tombstones included), by id. */
  private storedObjects(id: string): StoredObject[] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.dir, 'objects', id));
    } catch {
      return [];
    }
    const out: StoredObject[] = [];
    for (const name of names) {
      const m = /^([1-9][0-9]*)\.json$/.exec(name);
      const r = m ? this.readObject(id, Number(m[1])) : null;
      if (r)
        out.push(r);
    }
    return out.sort((a, b) => a.object - b.object);
  }

  /** Every live data object of a contract, by id. */
  listObjects(id: string): ObjectRecord[] {
    this.mustContract(id);
    return this.storedObjects(id).filter(isLive);
  }

  /** Every contract record. */
  listContracts(): ContractRecord[] {
    const out: ContractRecord[] = [];
    for (const name of fs.readdirSync(path.join(this.dir, 'contracts'))) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (!m)
        continue;
      const rec = this.getContract(m[1]);
      if (rec)
        out.push(rec);
    }
    return out;
  }

  /**
   * Registers a contract until `expiry` (unix s), reserving `manifestLimit`
   * bytes (default and most 1 MiB) for its manifest. Registering the same
   * terms again is a no-op. Objects are registered with registerObject().
   */
  register(input: { id: unknown; expiry: unknown; manifestLimit?: unknown }): ContractRecord {
    const { id, expiry } = input;
    const manifestLimit = input.manifestLimit ?? MAX_MANIFEST_SIZE;
    if (!isId(id))
      throw new StoreError('bad-contract', 'id must be 64 lowercase hex');
    if (typeof expiry !== 'number' || !Number.isSafeInteger(expiry) || expiry <= this.now())
      throw new StoreError('bad-contract', 'expiry must be unix seconds in the future');
    if (typeof manifestLimit !== 'number' || !Number.isSafeInteger(manifestLimit) || manifestLimit < 1
      || manifestLimit > MAX_MANIFEST_SIZE)
      throw new StoreError('bad-contract', `manifestLimit must be an integer in 1..${MAX_MANIFEST_SIZE}`);
    const old = this.getContract(id);
    if (old) {
      if (old.expiry === expiry && old.manifestLimit === manifestLimit)
        return old;
      throw new StoreError('contract-exists', 'contract already registered with other terms');
    }
    this.reserve(manifestLimit);
    const rec: ContractRecord = { id, expiry, registered: this.now(), manifestLimit };
    this.write(() => writeFileAtomic(this.recordPath(id), JSON.stringify(rec)));
    return rec;
  }

  /** [REJECT] more than the operator offered: throws `no-capacity` unless `bytes` more fit. */
  private reserve(bytes: number): void {
    const { reserved } = this.status();
    if (reserved + bytes > this.capacity)
      throw new StoreError('no-capacity', 'not enough capacity', { free: Math.max(0, this.capacity - reserved) });
  }

  /** Runs a disk write, mapping file-system errors to store codes. */
  private write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw ioError(e);
    }
  }

  /**
   * Registers data object `n` (1..2^32-2) of a live contract with its root
   * and size, reserving its footprint. The same terms again are a no-op;
   * other terms, or an id used before (even if deleted), `object-exists`.
   */
  registerObject(id: string, n: unknown, input: { root: unknown; size: unknown }): ObjectRecord {
    const { root, size } = input;
    if (!isDataObject(n))
      throw new StoreError('bad-object', `data object ids are 1..${objects.MAX}`);
    if (typeof root !== 'string' || !HEX64.test(root))
      throw new StoreError('bad-object', 'root must be 64 lowercase hex');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > MAX_OBJECT_SIZE)
      throw new StoreError('bad-object', `size must be an integer in 1..${MAX_OBJECT_SIZE}`);
    this.liveContract(id);
    const old = this.readObject(id, n);
    if (old) {
      if (isLive(old) && old.root === root && old.size === size)
        return old;
      // [REJECT] an id is never reused: receipts name (contract, object)
      throw new StoreError('object-exists', isLive(old) ? `object ${n} is registered with other terms`
        : `object ${n} was deleted; ids are never reused`);
    }
    const stored = this.storedObjects(id);
    if (stored.length >= MAX_OBJECTS_PER_CONTRACT)
      throw new StoreError('too-many-objects', `a contract holds at most ${MAX_OBJECTS_PER_CONTRACT} objects`);
    this.reserve(footprint(size));
    const rec: ObjectRecord = { contract: id, object: n, root, size, registered: this.now() };
    this.write(() => {
      mkdirDurable(path.join(this.dir, 'objects', id));
      writeFileAtomic(this.objectRecordPath(id, n), JSON.stringify(rec));
    });
    // Unregistered meanwhile (another process): do not leave an orphan.
    this.stillRegistered(id);
    return rec;
  }

  /** True while a request is writing one of the contract's objects. */
  private busy(id: string): boolean {
    for (const key of this.locks) {
      if (key.startsWith(`${id}/`))
        return true;
    }
    return false;
  }

  /**
   * Deletes data object `n` and frees its reservation; its id stays used.
   * Throws `unknown-object` if it is not registered, `busy` while a part is
   * being written (retry later).
   */
  deleteObject(id: string, n: number): void {
    this.mustContract(id);
    const rec = this.mustObject(id, n);
    // [REJECT] a write in flight: its bytes would land in a deleted directory
    if (this.locks.has(`${id}/${n}`))
      throw new StoreError('busy', 'a write to this object is in progress; retry');
    // Tombstone first: without a live record the data is unreachable, and open() sweeps it.
    this.write(() => writeFileAtomic(this.objectRecordPath(id, n),
      JSON.stringify({ contract: id, object: rec.object, deleted: this.now() })));
    fs.rmSync(this.uploadDir(id, n), { recursive: true, force: true });
    fs.rmSync(this.objectDir(id, n), { recursive: true, force: true });
  }

  /**
   * Adopts complete data objects of contract `from` into contract `id` (a
   * renewal carries the renewed contract's objects without a re-upload):
   * each gets a record in `id` with the same root and size, and its bytes
   * and tree file are hard-linked into place, so both contracts hold them
   * on one copy until `from` is deleted or purged. Idempotent per object.
   * Crash-safe: the record is written first and the linked directory
   * appears by one rename, so a crash leaves the object absent or whole in
   * `id` and never touches `from`; calling again finishes it. Throws
   * `unknown-contract`, `unknown-object` (not live in `from`),
   * `upload-incomplete` (not complete in `from`), `object-exists` (the id
   * was used in `id` otherwise), `too-many-objects`, `busy`.
   */
  adopt(id: string, input: { from: unknown; objects: unknown }): number {
    const { from, objects: list } = input;
    if (!isId(from) || from === id)
      throw new StoreError('bad-contract', 'from must be another contract id (64 lowercase hex)');
    if (!Array.isArray(list) || list.length > MAX_ADOPT_OBJECTS || !list.every(isDataObject))
      throw new StoreError('bad-object', `objects must be a list of at most ${MAX_ADOPT_OBJECTS} data object ids`);
    this.liveContract(id);
    this.mustContract(from);
    // Check everything before changing anything.
    let fresh = 0;
    for (const n of list as number[]) {
      const rec = this.mustObject(from, n);
      if (!this.isComplete(from, n))
        throw new StoreError('upload-incomplete', `object ${n} of ${from} is not complete`);
      const mine = this.readObject(id, n);
      if (mine === null) {
        fresh++;
        continue;
      }
      if (!isLive(mine) || mine.root !== rec.root || mine.size !== rec.size)
        throw new StoreError('object-exists', `object ${n} was used in ${id} otherwise; ids are never reused`);
    }
    if (this.storedObjects(id).length + fresh > MAX_OBJECTS_PER_CONTRACT)
      throw new StoreError('too-many-objects', `a contract holds at most ${MAX_OBJECTS_PER_CONTRACT} objects`);
    for (const n of list as number[]) {
      const rec = this.mustObject(from, n);
      const key = `${id}/${n}`;
      const unlock = this.lock(key);
      try {
        this.write(() => {
          mkdirDurable(path.join(this.dir, 'objects', id));
          if (!this.readObject(id, n)) {
            const mine: ObjectRecord = { contract: id, object: n, root: rec.root, size: rec.size, registered: this.now(), adoptedFrom: from };
            writeFileAtomic(this.objectRecordPath(id, n), JSON.stringify(mine));
          }
          if (!this.isComplete(id, n)) {
            const tmp = path.join(this.dir, 'objects', id, `${n}.tmp-adopt`);
            fs.rmSync(tmp, { recursive: true, force: true });
            fs.mkdirSync(tmp);
            for (const file of ['data', 'tree'])
              fs.linkSync(path.join(this.objectDir(from, n), file), path.join(tmp, file));
            fsyncDir(tmp);
            fs.renameSync(tmp, this.objectDir(id, n));
            fsyncDir(path.join(this.dir, 'objects', id));
          }
        });
      } finally {
        unlock();
      }
    }
    this.stillRegistered(id);
    return list.length;
  }

  /**
   * True while an adopted object's bytes are still counted by the contract
   * it came from (same id, same root, live there): capacity counts them once.
   */
  private shared(rec: ObjectRecord): boolean {
    if (!rec.adoptedFrom || !this.getContract(rec.adoptedFrom))
      return false;
    const src = this.readObject(rec.adoptedFrom, rec.object);
    return isLive(src) && src.root === rec.root && src.size === rec.size;
  }

  /**
   * Removes a contract and all its data. Returns false if it was unknown;
   * throws `busy` while a part or manifest is being written (retry later).
   */
  unregister(id: string): boolean {
    if (!isId(id) || !this.getContract(id))
      return false;
    // [REJECT] a write in flight: its bytes would land in a deleted directory
    if (this.busy(id))
      throw new StoreError('busy', 'a write to this contract is in progress; retry');
    // Record first: without it the data is unreachable, and open() sweeps it.
    fs.rmSync(this.recordPath(id), { force: true });
    fsyncDir(path.join(this.dir, 'contracts'));
    fs.rmSync(path.join(this.dir, 'uploads', id), { recursive: true, force: true });
    fs.rmSync(path.join(this.dir, 'objects', id), { recursive: true, force: true });
    return true;
  }

  /**
   * Removes every contract whose expiry has passed; returns their ids.
   * Contracts being written to are skipped: the next purge takes them.
   */
  purge(now = this.now()): string[] {
    const out: string[] = [];
    for (const rec of this.listContracts()) {
      if (rec.expiry <= now && !this.busy(rec.id) && this.unregister(rec.id))
        out.push(rec.id);
    }
    return out;
  }

  /**
   * Bytes of an upload that count: what state.json records, but no more
   * than the data file holds (parts are not fsynced: after a power loss the
   * file can be shorter than the record), on a leaf boundary.
   */
  private received(id: string, n: number): number {
    const dir = this.uploadDir(id, n);
    const st = readJSON(path.join(dir, 'state.json'));
    if (!st || typeof st !== 'object' || typeof (st as { received?: unknown }).received !== 'number')
      return 0;
    const recorded = (st as { received: number }).received;
    const held = this.fileSize(path.join(dir, 'data'));
    return held >= recorded ? recorded : Math.floor(held / LEAF_SIZE) * LEAF_SIZE;
  }

  private isComplete(id: string, n: number): boolean {
    return fs.existsSync(path.join(this.objectDir(id, n), 'data'));
  }

  private fileSize(file: string): number {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  }

  /** Upload progress and completion of data object `n`. */
  objectState(id: string, n: number): ObjectState {
    this.mustContract(id);
    const rec = this.mustObject(id, n);
    const complete = this.isComplete(id, n);
    return { ...rec, complete, received: complete ? rec.size : this.received(id, n) };
  }

  /** Disk an object holds now: complete with its tree, or the bytes received and the tree file. */
  private objectUsed(rec: ObjectRecord): number {
    if (this.isComplete(rec.contract, rec.object))
      return footprint(rec.size);
    if (fs.existsSync(path.join(this.uploadDir(rec.contract, rec.object), 'tree')))
      return this.received(rec.contract, rec.object) + treeFileSize(rec.size);
    return 0;
  }

  /** A contract with its manifest size, object count and disk use. */
  state(id: string): ContractState {
    const rec = this.mustContract(id);
    return this.contractState(rec);
  }

  private contractState(rec: ContractRecord): ContractState {
    const manifestSize = this.fileSize(this.manifestPath(rec.id));
    let reserved = rec.manifestLimit;
    let used = manifestSize;
    let count = 0;
    for (const o of this.storedObjects(rec.id)) {
      if (!isLive(o))
        continue;
      count++;
      // Bytes shared with the contract an object was adopted from count there.
      if (this.shared(o))
        continue;
      reserved += footprint(o.size);
      used += this.objectUsed(o);
    }
    return { ...rec, manifestSize, objects: count, reserved, used };
  }

  /** Capacity and usage. */
  status(): StoreStatus {
    let reserved = 0;
    let used = 0;
    let count = 0;
    const list = this.listContracts();
    for (const rec of list) {
      const st = this.contractState(rec);
      reserved += st.reserved;
      used += st.used;
      count += st.objects;
    }
    return { capacity: this.capacity, reserved, used, free: Math.max(0, this.capacity - reserved), contracts: list.length, objects: count };
  }

  /**
   * What a host signs a receipt over: only for a complete object whose
   * size and root matched its registration (checked when it completed).
   */
  receipt(id: string, n: number): ObjectReceipt {
    this.mustContract(id);
    const rec = this.mustObject(id, n);
    const key = `${id}/${n}`;
    // A legacy upload that holds every byte is finished here, unless a
    // part is being written right now (then it is not complete anyway).
    if (!this.isComplete(id, n) && !this.locks.has(key)) {
      const unlock = this.lock(key);
      try {
        this.salvage(rec);
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'root-mismatch'))
          throw ioError(e);
      } finally {
        unlock();
      }
    }
    if (!this.isComplete(id, n))
      throw new StoreError('upload-incomplete', 'upload is not complete', { received: this.received(id, n), size: rec.size });
    return { contract: id, object: n, root: rec.root, size: rec.size, complete: true };
  }

  private lock(key: string): () => void {
    // [REJECT] concurrent writes to one object: parts must arrive in order
    if (this.locks.has(key))
      throw new StoreError('busy', 'another request is writing this object');
    this.locks.add(key);
    return () => this.locks.delete(key);
  }

  /**
   * Finishes an upload that holds every byte but was never moved into
   * place (written by a version that recorded the last part first, then
   * died). Call with the object's lock held, or before serving.
   */
  private salvage(rec: ObjectRecord): void {
    if (!this.isComplete(rec.contract, rec.object) && this.received(rec.contract, rec.object) === rec.size)
      this.finish(rec);
  }

  /**
   * Writes one part of data object `n` at `offset` (which must equal the
   * bytes received so far, so a client resumes by asking objectState()).
   * Parts are whole leaves except the last. The part counts only once it
   * is durable; the part that completes the object checks the root and
   * either moves the object into place or deletes the upload, before
   * state.json could ever say the upload is whole: if completing fails or
   * the process dies, the client simply sends the last part again. A part
   * that fails (short body, full disk, ...) is rolled back: the data file
   * is cut back to `offset`, and an upload left empty is removed.
   */
  async writePart(id: string, n: number, offset: number, length: number, body: AsyncIterable<Buffer>): Promise<ObjectState> {
    this.liveContract(id);
    const rec = this.mustObject(id, n);
    const unlock = this.lock(`${id}/${n}`);
    const dir = this.uploadDir(id, n);
    let started = false;
    try {
      this.salvage(rec);
      if (this.isComplete(id, n))
        throw new StoreError('already-complete', 'object already uploaded');
      const received = this.received(id, n);
      // [REJECT] parts out of order: tell the client where to resume
      if (offset !== received)
        throw new StoreError('bad-offset', `expected offset ${received}`, { received });
      // [REJECT] beyond the object size (per-object quota)
      if (offset + length > rec.size)
        throw new StoreError('too-large', 'part goes beyond the object size', { size: rec.size });
      if (length < 1 || length > MAX_PART_SIZE)
        throw new StoreError(length < 1 ? 'empty-body' : 'too-large', `part must be 1..${MAX_PART_SIZE} bytes`);
      const last = offset + length === rec.size;
      // [REJECT] a middle part must end on a leaf boundary to be hashed alone
      if (!last && length % LEAF_SIZE !== 0)
        throw new StoreError('unaligned-part', `parts other than the last must be a multiple of ${LEAF_SIZE} bytes`);

      started = true;
      mkdirDurable(dir);
      const data = await fs.promises.open(path.join(dir, 'data'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      try {
        const treeFile = path.join(dir, 'tree');
        const fresh = !fs.existsSync(treeFile);
        const tree = await fs.promises.open(treeFile, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
        try {
          if (fresh)
            await tree.truncate(treeFileSize(rec.size));
          const hashes = await this.receivePart(data, offset, length, body);
          const writer = new TreeWriter(tree.fd, rec.size);
          writer.putLeaves(offset / LEAF_SIZE, hashes);
          // Upper levels of every block this part completed, so the final
          // part only combines block roots however large the object.
          buildTreeBlocks(tree.fd, rec.size, fullTreeBlocks(rec.size, offset), fullTreeBlocks(rec.size, offset + length));
          // No fsync per part: the completing part fsyncs the whole object
          // (finish), and received() re-checks what a power loss kept.
        } finally {
          await tree.close();
        }
      } finally {
        await data.close();
      }
      this.stillRegistered(id, n);
      if (last)
        this.finish(rec);
      else
        writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify({ received: offset + length }), 0o644, false);
      return this.objectState(id, n);
    } catch (e) {
      if (started && !this.isComplete(id, n))
        this.rollback(id, n, offset);
      throw ioError(this.orphaned(id, n, e));
    } finally {
      unlock();
    }
  }

  /**
   * Undoes a failed part: cuts the data file back to the bytes recorded
   * before it, or removes an upload that has recorded nothing (so a PUT
   * that failed leaves no directories behind).
   */
  private rollback(id: string, n: number, offset: number): void {
    const dir = this.uploadDir(id, n);
    try {
      if (offset === 0 || this.received(id, n) === 0) {
        fs.rmSync(dir, { recursive: true, force: true });
        // The contract's upload folder too, when this was its only upload.
        fs.rmdirSync(path.dirname(dir));
      } else {
        fs.truncateSync(path.join(dir, 'data'), offset);
      }
    } catch {
      // Best effort: a folder still in use by another upload, or a disk
      // that fails even this; the next part rewrites from `received`.
    }
  }

  /**
   * After a body arrived: the record may have gone meanwhile (another
   * process serving the same directory unregistered it). Then the bytes
   * just written are litter, and the client hears `unknown-contract`.
   */
  private stillRegistered(id: string, n?: number): void {
    // [REJECT] contract removed while the body was in flight
    if (!this.getContract(id)) {
      fs.rmSync(path.join(this.dir, 'uploads', id), { recursive: true, force: true });
      throw new StoreError('unknown-contract', 'contract was removed during the upload');
    }
    if (n !== undefined && !this.getObject(id, n)) {
      fs.rmSync(this.uploadDir(id, n), { recursive: true, force: true });
      throw new StoreError('unknown-object', 'object was deleted during the upload');
    }
  }

  /** Turns a file-system error caused by a vanished contract into `unknown-contract`. */
  private orphaned(id: string, n: number, e: unknown): unknown {
    if ((e as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
      if (!this.getContract(id))
        return new StoreError('unknown-contract', 'contract was removed during the upload');
      if (n !== objects.MANIFEST && !this.getObject(id, n))
        return new StoreError('unknown-object', 'object was deleted during the upload');
    }
    return e;
  }

  /**
   * Streams a part to disk at `offset`, hashing its leaves; returns the
   * leaf hashes. Pieces are gathered into 1 MiB blocks (whole leaves): each
   * block is written, then lent to the pool and hashed off the event loop
   * while the next one arrives.
   */
  private async receivePart(fh: fs.promises.FileHandle, offset: number, length: number, body: AsyncIterable<Buffer>): Promise<Buffer> {
    const pool = this.hasher === undefined ? sharedHasherPool() : this.hasher;
    const hashes = Buffer.allocUnsafe(leafCount(length) * 32);
    const blockSize = Math.min(WRITE_BLOCK, length);
    // Whole blocks come from and go back to the store's spares; a short
    // part's one small block is left to the collector.
    const take = (): Buffer => (blockSize === WRITE_BLOCK ? this.spare.pop() : undefined) ?? Buffer.allocUnsafeSlow(blockSize);
    const give = (b: Buffer): void => {
      if (b.length === WRITE_BLOCK && this.spare.length < MAX_SPARE)
        this.spare.push(b);
    };
    const jobs: Promise<void>[] = [];
    const inFlight = new Set<Promise<void>>();
    let block: Buffer = take();
    let fill = 0;
    let written = 0;
    let got = 0;
    const flush = async (): Promise<void> => {
      if (fill === 0)
        return;
      const data = block.subarray(0, fill);
      const first = (offset + written) / LEAF_SIZE;
      const at = (written / LEAF_SIZE) * 32;
      let off = 0;
      while (off < fill) {
        const { bytesWritten } = await fh.write(data, off, fill - off, offset + written + off);
        off += bytesWritten;
      }
      if (pool) {
        const job: Promise<void> = pool.hashLent(block, fill, first, give).then((h) => {
          h.copy(hashes, at);
        }).finally(() => inFlight.delete(job));
        job.catch(() => {});
        jobs.push(job);
        inFlight.add(job);
        // Backpressure: at most MAX_LENT blocks out at once.
        while (inFlight.size >= MAX_LENT)
          await Promise.race(inFlight).catch(() => {});
        block = take();
      } else {
        hashLeaves(data, first).copy(hashes, at);
      }
      written += fill;
      fill = 0;
    };
    try {
      for await (const piece of body) {
        if (got + piece.length > length)
          throw new StoreError('too-large', 'body longer than declared');
        got += piece.length;
        let p = 0;
        while (p < piece.length) {
          const n = Math.min(block.length - fill, piece.length - p);
          piece.copy(block, fill, p, p + n);
          fill += n;
          p += n;
          if (fill === block.length)
            await flush();
        }
      }
    } catch (e) {
      if (e instanceof StoreError)
        throw e;
      // A write error is the disk's; anything else is the body stream's.
      if (typeof (e as NodeJS.ErrnoException | null)?.errno === 'number' && (e as NodeJS.ErrnoException).syscall)
        throw e;
      throw new StoreError('truncated-body', 'request body ended early');
    }
    if (got !== length)
      throw new StoreError('truncated-body', `body had ${got} of ${length} bytes`, { got });
    // The last block may end in a short leaf: only the object's last part can.
    await flush();
    await Promise.all(jobs);
    give(block);
    return hashes;
  }

  /**
   * Completes an upload holding every byte: the tree's upper levels, the
   * root check, then the one fsync of the object's data and tree, and the
   * rename that makes it appear.
   */
  private finish(rec: ObjectRecord): void {
    const { contract: id, object: n } = rec;
    const dir = this.uploadDir(id, n);
    fsyncFile(path.join(dir, 'data'));
    const fd = fs.openSync(path.join(dir, 'tree'), 'r+');
    let root: Buffer;
    try {
      root = completeTreeFile(fd, rec.size, fullTreeBlocks(rec.size, rec.size));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // [REJECT] wrong root: the upload is deleted and leaves nothing
    if (root.toString('hex') !== rec.root) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new StoreError('root-mismatch', 'uploaded data does not match the registered root', { root: root.toString('hex') });
    }
    const dest = this.objectDir(id, n);
    mkdirDurable(path.dirname(dest));
    fs.renameSync(dir, dest);
    fsyncDir(path.dirname(dest));
    // Only now: until the rename, state.json must not say more than it did.
    fs.rmSync(path.join(dest, 'state.json'), { force: true });
    try {
      fs.rmdirSync(path.dirname(dir));
    } catch {
      // other uploads of the contract are in progress
    }
  }

  /** Replaces the sealed manifest (object 0): at most the contract's manifestLimit bytes. */
  async writeManifest(id: string, length: number, body: AsyncIterable<Buffer>): Promise<number> {
    const rec = this.liveContract(id);
    if (length < 1)
      throw new StoreError('empty-body', 'a manifest is at least 1 byte');
    if (length > rec.manifestLimit)
      throw new StoreError('too-large', `the manifest may be at most ${rec.manifestLimit} bytes`, { limit: rec.manifestLimit });
    const unlock = this.lock(`${id}/0`);
    try {
      const parts: Buffer[] = [];
      let got = 0;
      try {
        for await (const piece of body) {
          got += piece.length;
          if (got > length)
            throw new StoreError('too-large', 'body longer than declared');
          parts.push(piece);
        }
      } catch (e) {
        if (e instanceof StoreError)
          throw e;
        throw new StoreError('truncated-body', 'request body ended early');
      }
      if (got !== length)
        throw new StoreError('truncated-body', `body had ${got} of ${length} bytes`, { got });
      this.stillRegistered(id);
      const file = this.manifestPath(id);
      mkdirDurable(path.dirname(file));
      writeFileAtomic(file, Buffer.concat(parts, length));
      return length;
    } catch (e) {
      throw ioError(this.orphaned(id, objects.MANIFEST, e));
    } finally {
      unlock();
    }
  }

  /** Where to read an object from; throws if it is not (completely) stored. */
  locate(id: string, n: number): { file: string; size: number; record: ObjectRecord | null } {
    this.liveContract(id);
    if (n === objects.MANIFEST) {
      const file = this.manifestPath(id);
      if (!fs.existsSync(file))
        throw new StoreError('object-not-found', 'no manifest stored');
      return { file, size: this.fileSize(file), record: null };
    }
    const record = this.mustObject(id, n);
    if (!this.isComplete(id, n))
      throw new StoreError('object-not-found', 'object not (completely) uploaded');
    const file = path.join(this.objectDir(id, n), 'data');
    return { file, size: this.fileSize(file), record };
  }

  /** Proof for leaf `index` of data object `n`, from the stored tree (O(log n) reads). */
  proof(id: string, n: number, index: number): MerkleProof {
    const { size } = this.locate(id, n);
    if (n === objects.MANIFEST)
      throw new StoreError('unknown-object', 'the manifest has no Merkle tree');
    if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount(size))
      throw new StoreError('bad-leaf', `leaf must be in 0..${leafCount(size) - 1}`);
    return proofFromTreePath(path.join(this.objectDir(id, n), 'tree'), index);
  }
}
