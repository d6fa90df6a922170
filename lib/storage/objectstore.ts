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
 * The store checks every call (ids, terms, capacity, order of parts, one
 * writer per object) and answers from disk alone: where things live is
 * storelayout.ts, how a part's bytes reach disk and how an upload
 * completes (one fsync, then a rename: no partial or wrong object is ever
 * visible) is partwriter.ts, and the sweep after a crash is
 * storerecovery.ts.
 * Names are always validated ids (hex, decimal) or fixed words, never
 * caller paths. No state is kept in memory between calls except per-object
 * upload locks, so every call works from disk alone (as the PHP port does).
 */

import * as fs from 'fs';
import * as path from 'path';
import { LEAF_SIZE, MAX_MANIFEST_SIZE, MAX_OBJECT_SIZE, leafCount } from './common';
import { StoreError, ioError } from './errors';
import { fsyncDir, mkdirDurable, writeFileAtomic } from './fsutil';
import type { LeafHasherPool } from './hashpool';
import type { MerkleProof } from './merkle';
import { PartWriter } from './partwriter';
import { StoreLayout } from './storelayout';
import { recoverStore } from './storerecovery';
import {
  type ContractRecord, type ContractState, type ObjectReceipt, type ObjectRecord, type ObjectState, type StoreStatus,
  HEX64, MAX_ADOPT_OBJECTS, MAX_OBJECTS_PER_CONTRACT, MAX_PART_SIZE, footprint, isDataObject, isId, isLive, objects
} from './storetypes';
import { proofFromTreePath } from './treefile';

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

/** The object store. */
export class ObjectStore {
  readonly dir: string;
  readonly capacity: number;
  private readonly now: () => number;
  private readonly locks = new Set<string>();
  private readonly layout: StoreLayout;
  private readonly writer: PartWriter;

  constructor(options: StoreOptions) {
    this.dir = options.dir;
    this.capacity = options.capacity;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.layout = new StoreLayout(this.dir);
    this.writer = new PartWriter(this.layout, options.hasher);
  }

  /**
   * Creates the layout, sweeps leftovers of interrupted calls and finishes
   * uploads that received every byte but were not moved into place.
   */
  open(): void {
    recoverStore(this.layout, (rec) => this.salvage(rec));
  }

  /** A contract record, or null. */
  getContract(id: string): ContractRecord | null {
    return this.layout.getContract(id);
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

  /** A data object's record, or null (unknown, deleted, or not a data object id). */
  getObject(id: string, n: number): ObjectRecord | null {
    if (!isId(id) || !isDataObject(n))
      return null;
    const r = this.layout.readObject(id, n);
    return isLive(r) ? r : null;
  }

  private mustObject(id: string, n: number): ObjectRecord {
    const r = this.getObject(id, n);
    if (!r)
      throw new StoreError('unknown-object', `object ${n} is not registered`);
    return r;
  }

  /** Every live data object of a contract, by id. */
  listObjects(id: string): ObjectRecord[] {
    this.mustContract(id);
    return this.layout.storedObjects(id).filter(isLive);
  }

  /** Every contract record. */
  listContracts(): ContractRecord[] {
    return this.layout.listContracts();
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
    this.write(() => writeFileAtomic(this.layout.recordPath(id), JSON.stringify(rec)));
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
    const old = this.layout.readObject(id, n);
    if (old) {
      if (isLive(old) && old.root === root && old.size === size)
        return old;
      // [REJECT] an id is never reused: receipts name (contract, object)
      throw new StoreError('object-exists', isLive(old) ? `object ${n} is registered with other terms`
        : `object ${n} was deleted; ids are never reused`);
    }
    const stored = this.layout.storedObjects(id);
    if (stored.length >= MAX_OBJECTS_PER_CONTRACT)
      throw new StoreError('too-many-objects', `a contract holds at most ${MAX_OBJECTS_PER_CONTRACT} objects`);
    this.reserve(footprint(size));
    const rec: ObjectRecord = { contract: id, object: n, root, size, registered: this.now() };
    this.write(() => {
      mkdirDurable(path.join(this.dir, 'objects', id));
      writeFileAtomic(this.layout.objectRecordPath(id, n), JSON.stringify(rec));
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
    this.write(() => writeFileAtomic(this.layout.objectRecordPath(id, n),
      JSON.stringify({ contract: id, object: rec.object, deleted: this.now() })));
    fs.rmSync(this.layout.uploadDir(id, n), { recursive: true, force: true });
    fs.rmSync(this.layout.objectDir(id, n), { recursive: true, force: true });
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
      if (!this.layout.isComplete(from, n))
        throw new StoreError('upload-incomplete', `object ${n} of ${from} is not complete`);
      const mine = this.layout.readObject(id, n);
      if (mine === null) {
        fresh++;
        continue;
      }
      if (!isLive(mine) || mine.root !== rec.root || mine.size !== rec.size)
        throw new StoreError('object-exists', `object ${n} was used in ${id} otherwise; ids are never reused`);
    }
    if (this.layout.storedObjects(id).length + fresh > MAX_OBJECTS_PER_CONTRACT)
      throw new StoreError('too-many-objects', `a contract holds at most ${MAX_OBJECTS_PER_CONTRACT} objects`);
    for (const n of list as number[]) {
      const rec = this.mustObject(from, n);
      const key = `${id}/${n}`;
      const unlock = this.lock(key);
      try {
        this.write(() => {
          mkdirDurable(path.join(this.dir, 'objects', id));
          if (!this.layout.readObject(id, n)) {
            const mine: ObjectRecord = { contract: id, object: n, root: rec.root, size: rec.size, registered: this.now(), adoptedFrom: from };
            writeFileAtomic(this.layout.objectRecordPath(id, n), JSON.stringify(mine));
          }
          if (!this.layout.isComplete(id, n)) {
            const tmp = path.join(this.dir, 'objects', id, `${n}.tmp-adopt`);
            fs.rmSync(tmp, { recursive: true, force: true });
            fs.mkdirSync(tmp);
            for (const file of ['data', 'tree'])
              fs.linkSync(path.join(this.layout.objectDir(from, n), file), path.join(tmp, file));
            fsyncDir(tmp);
            fs.renameSync(tmp, this.layout.objectDir(id, n));
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
    fs.rmSync(this.layout.recordPath(id), { force: true });
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

  /** Upload progress and completion of data object `n`. */
  objectState(id: string, n: number): ObjectState {
    this.mustContract(id);
    const rec = this.mustObject(id, n);
    const complete = this.layout.isComplete(id, n);
    return { ...rec, complete, received: complete ? rec.size : this.layout.received(id, n) };
  }

  /** A contract with its manifest size, object count and disk use. */
  state(id: string): ContractState {
    const rec = this.mustContract(id);
    return this.layout.contractState(rec);
  }

  /** Capacity and usage. */
  status(): StoreStatus {
    let reserved = 0;
    let used = 0;
    let count = 0;
    const list = this.listContracts();
    for (const rec of list) {
      const st = this.layout.contractState(rec);
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
    if (!this.layout.isComplete(id, n) && !this.locks.has(key)) {
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
    if (!this.layout.isComplete(id, n))
      throw new StoreError('upload-incomplete', 'upload is not complete', { received: this.layout.received(id, n), size: rec.size });
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
    if (!this.layout.isComplete(rec.contract, rec.object) && this.layout.received(rec.contract, rec.object) === rec.size)
      this.writer.finish(rec);
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
    const dir = this.layout.uploadDir(id, n);
    let started = false;
    try {
      this.salvage(rec);
      if (this.layout.isComplete(id, n))
        throw new StoreError('already-complete', 'object already uploaded');
      const received = this.layout.received(id, n);
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
      await this.writer.write(rec, offset, length, body);
      this.stillRegistered(id, n);
      if (last)
        this.writer.finish(rec);
      else
        writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify({ received: offset + length }), 0o644, false);
      return this.objectState(id, n);
    } catch (e) {
      if (started && !this.layout.isComplete(id, n))
        this.writer.rollback(id, n, offset);
      throw ioError(this.orphaned(id, n, e));
    } finally {
      unlock();
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
      fs.rmSync(this.layout.uploadDir(id, n), { recursive: true, force: true });
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
      const file = this.layout.manifestPath(id);
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
      const file = this.layout.manifestPath(id);
      if (!fs.existsSync(file))
        throw new StoreError('object-not-found', 'no manifest stored');
      return { file, size: this.layout.fileSize(file), record: null };
    }
    const record = this.mustObject(id, n);
    if (!this.layout.isComplete(id, n))
      throw new StoreError('object-not-found', 'object not (completely) uploaded');
    const file = path.join(this.layout.objectDir(id, n), 'data');
    return { file, size: this.layout.fileSize(file), record };
  }

  /** Proof for leaf `index` of data object `n`, from the stored tree (O(log n) reads). */
  proof(id: string, n: number, index: number): MerkleProof {
    const { size } = this.locate(id, n);
    if (n === objects.MANIFEST)
      throw new StoreError('unknown-object', 'the manifest has no Merkle tree');
    if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount(size))
      throw new StoreError('bad-leaf', `leaf must be in 0..${leafCount(size) - 1}`);
    return proofFromTreePath(path.join(this.layout.objectDir(id, n), 'tree'), index);
  }
}
