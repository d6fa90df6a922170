/*!
 * store.ts - the on-disk object store shared by the file server and the
 * node's local hosting backend (one layout, one implementation).
 *
 * Layout under the store directory:
 *   contracts/<id>.json        contract record {id, root, size, expiry, registered}
 *   uploads/<id>/1/data        object being uploaded (written part by part)
 *   uploads/<id>/1/tree        its tree file; level 0 filled part by part
 *   uploads/<id>/1/state.json  {received}: bytes durably written so far; never
 *                              the full size (the last part completes the
 *                              object before anything records it)
 *   objects/<id>/1/{data,tree} complete object; the directory is renamed in
 *                              whole from uploads/, so it appears atomically
 *   objects/<id>/0             sealed manifest (replaced atomically)
 * Names are always validated ids (hex) or fixed words, never caller paths.
 * No state is kept in memory between calls except per-object upload locks,
 * so every call works from disk alone (as a PHP port must).
 */

import * as fs from 'fs';
import * as path from 'path';
import { CodedError } from '../base/errors';
import { LEAF_SIZE, MAX_MANIFEST_SIZE, MAX_OBJECT_SIZE, leafCount } from './common';
import { MerkleProof, hashLeaves } from './merkle';
import { TreeWriter, buildTreeBlocks, completeTreeFile, fullTreeBlocks, proofFromTreePath, treeFileSize } from './treefile';
import { fsyncDir, mkdirDurable, readJSON, writeFileAtomic } from './fsutil';

/** Largest part a single upload request may carry (PHP-shaped requests). */
export const MAX_PART_SIZE = 8 << 20;

/** Bytes gathered per disk write while receiving a part (a whole number of leaves). */
const WRITE_BLOCK = 1 << 20;

/** Objects of a contract: 0 holds the sealed manifest, 1 the contract data. */
export const objects = {
  MANIFEST: 0,
  DATA: 1
} as const;

/** Stable reasons a store call fails. */
export type StoreErrorCode =
  | 'bad-contract'
  | 'contract-exists'
  | 'unknown-contract'
  | 'contract-expired'
  | 'no-capacity'
  | 'unknown-object'
  | 'object-not-found'
  | 'bad-offset'
  | 'unaligned-part'
  | 'too-large'
  | 'truncated-body'
  | 'root-mismatch'
  | 'already-complete'
  | 'upload-incomplete'
  | 'bad-leaf'
  | 'busy';

/** A store failure; `detail` carries machine-readable extras (e.g. `received`). */
export class StoreError extends CodedError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(code, message, detail);
  }
}

/** A registered contract as the store knows it. */
export interface ContractRecord {
  id: string;
  /** Merkle root of object 1, 64 hex. */
  root: string;
  /** Size of object 1 in bytes. */
  size: number;
  /** Unix seconds after which the data may be purged. */
  expiry: number;
  /** Unix seconds when registered. */
  registered: number;
}

/** Progress and completion of a contract's objects. */
export interface ContractState extends ContractRecord {
  received: number;
  complete: boolean;
  manifestSize: number;
}

/** Totals for capacity planning. */
export interface StoreStatus {
  capacity: number;
  /**
   * Disk the registered contracts may fill: each object with its tree file
   * (see footprint()), plus the manifests stored.
   */
  reserved: number;
  /** Bytes actually held (objects, their tree files, uploads in progress, manifests). */
  used: number;
  free: number;
  contracts: number;
}

/** Options of an ObjectStore. */
export interface StoreOptions {
  dir: string;
  /** Bytes of contract data this store accepts in total. */
  capacity: number;
  /** Clock in unix seconds; tests inject one. */
  now?: () => number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Disk bytes a contract of object size `size` reserves: the object and its
 * tree file (about 1.6 % more). Capacity is checked against this, so
 * --capacity bounds the disk the store fills.
 */
export function footprint(size: number): number {
  return size + treeFileSize(size);
}

/** Checks that `id` is a contract id (64 lowercase hex). */
export function isId(id: unknown): id is string {
  return typeof id === 'string' && HEX64.test(id);
}

/** The object store. */
export class ObjectStore {
  readonly dir: string;
  readonly capacity: number;
  private readonly now: () => number;
  private readonly locks = new Set<string>();

  constructor(options: StoreOptions) {
    this.dir = options.dir;
    this.capacity = options.capacity;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
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
    for (const name of fs.readdirSync(path.join(this.dir, 'contracts'))) {
      if (name.includes('.tmp-'))
        fs.rmSync(path.join(this.dir, 'contracts', name), { force: true });
    }
    for (const sub of ['uploads', 'objects']) {
      for (const name of fs.readdirSync(path.join(this.dir, sub))) {
        if (!isId(name) || !fs.existsSync(this.recordPath(name)))
          fs.rmSync(path.join(this.dir, sub, name), { recursive: true, force: true });
        else if (sub === 'objects')
          this.sweepTemps(path.join(this.dir, sub, name));
      }
    }
    for (const rec of this.listContracts()) {
      if (this.isComplete(rec.id)) {
        // Interrupted after the rename: the rest of the upload is litter.
        fs.rmSync(path.join(this.dir, 'uploads', rec.id), { recursive: true, force: true });
        fs.rmSync(path.join(this.objectDir(rec.id), 'state.json'), { force: true });
        continue;
      }
      try {
        this.salvage(rec);
      } catch {
        // root-mismatch deleted the upload; anything else is retried by
        // the next writePart() or receipt().
      }
    }
  }

  private sweepTemps(dir: string): void {
    for (const name of fs.readdirSync(dir)) {
      if (name.includes('.tmp-'))
        fs.rmSync(path.join(dir, name), { force: true });
    }
  }

  private recordPath(id: string): string {
    return path.join(this.dir, 'contracts', `${id}.json`);
  }

  private uploadDir(id: string): string {
    return path.join(this.dir, 'uploads', id, String(objects.DATA));
  }

  private objectDir(id: string): string {
    return path.join(this.dir, 'objects', id, String(objects.DATA));
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
   * Registers a contract: reserves `size` bytes for object 1 with `root`.
   * Registering the same contract again is a no-op.
   */
  register(input: { id: unknown; root: unknown; size: unknown; expiry: unknown }): ContractRecord {
    const { id, root, size, expiry } = input;
    if (!isId(id))
      throw new StoreError('bad-contract', 'id must be 64 lowercase hex');
    if (typeof root !== 'string' || !HEX64.test(root))
      throw new StoreError('bad-contract', 'root must be 64 lowercase hex');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > MAX_OBJECT_SIZE)
      throw new StoreError('bad-contract', `size must be an integer in 1..${MAX_OBJECT_SIZE}`);
    if (typeof expiry !== 'number' || !Number.isSafeInteger(expiry) || expiry <= this.now())
      throw new StoreError('bad-contract', 'expiry must be unix seconds in the future');
    const old = this.getContract(id);
    if (old) {
      if (old.root === root && old.size === size && old.expiry === expiry)
        return old;
      throw new StoreError('contract-exists', 'contract already registered with other terms');
    }
    const { reserved } = this.status();
    // [REJECT] more than the operator offered: the object, its tree file,
    // and what manifests already take
    if (reserved + footprint(size) > this.capacity)
      throw new StoreError('no-capacity', 'not enough capacity', { free: Math.max(0, this.capacity - reserved) });
    const rec: ContractRecord = { id, root, size, expiry, registered: this.now() };
    writeFileAtomic(this.recordPath(id), JSON.stringify(rec));
    return rec;
  }

  /** True while a request is writing one of the contract's objects. */
  private busy(id: string): boolean {
    return this.locks.has(`${id}/${objects.DATA}`) || this.locks.has(`${id}/${objects.MANIFEST}`);
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

  private received(id: string): number {
    const st = readJSON(path.join(this.uploadDir(id), 'state.json'));
    if (st && typeof st === 'object' && typeof (st as { received?: unknown }).received === 'number')
      return (st as { received: number }).received;
    return 0;
  }

  private isComplete(id: string): boolean {
    return fs.existsSync(path.join(this.objectDir(id), 'data'));
  }

  private fileSize(file: string): number {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  }

  /** Upload progress and completion. */
  state(id: string): ContractState {
    const rec = this.mustContract(id);
    const complete = this.isComplete(id);
    return {
      ...rec,
      complete,
      received: complete ? rec.size : this.received(id),
      manifestSize: this.fileSize(this.manifestPath(id))
    };
  }

  /** Capacity and usage. */
  status(): StoreStatus {
    let reserved = 0;
    let used = 0;
    const list = this.listContracts();
    for (const rec of list) {
      const manifest = this.fileSize(this.manifestPath(rec.id));
      reserved += footprint(rec.size) + manifest;
      if (this.isComplete(rec.id))
        used += footprint(rec.size);
      else if (fs.existsSync(path.join(this.uploadDir(rec.id), 'tree')))
        used += this.received(rec.id) + treeFileSize(rec.size);
      used += manifest;
    }
    return { capacity: this.capacity, reserved, used, free: Math.max(0, this.capacity - reserved), contracts: list.length };
  }

  /**
   * What a host signs a receipt over: only for a complete upload whose
   * size and root matched the contract (checked when it completed).
   */
  receipt(id: string): { id: string; root: string; size: number; complete: true } {
    const rec = this.mustContract(id);
    // A legacy upload that holds every byte is finished here, unless a
    // part is being written right now (then it is not complete anyway).
    if (!this.isComplete(id) && !this.locks.has(`${id}/${objects.DATA}`)) {
      const unlock = this.lock(`${id}/${objects.DATA}`);
      try {
        this.salvage(rec);
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'root-mismatch'))
          throw e;
      } finally {
        unlock();
      }
    }
    if (!this.isComplete(id))
      throw new StoreError('upload-incomplete', 'upload is not complete', { received: this.received(id), size: rec.size });
    return { id: rec.id, root: rec.root, size: rec.size, complete: true };
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
  private salvage(rec: ContractRecord): void {
    if (!this.isComplete(rec.id) && this.received(rec.id) === rec.size)
      this.finish(rec);
  }

  /**
   * Writes one part of object 1 at `offset` (which must equal the bytes
   * received so far, so a client resumes by asking state()). Parts are
   * whole leaves except the last. The part counts only once it is durable;
   * the part that completes the object checks the root and either moves
   * the object into place or deletes the upload, before state.json could
   * ever say the upload is whole: if completing fails or the process dies,
   * the client simply sends the last part again.
   */
  async writePart(id: string, offset: number, length: number, body: AsyncIterable<Buffer>): Promise<ContractState> {
    const rec = this.liveContract(id);
    const unlock = this.lock(`${id}/1`);
    try {
      this.salvage(rec);
      if (this.isComplete(id))
        throw new StoreError('already-complete', 'object already uploaded');
      const received = this.received(id);
      // [REJECT] parts out of order: tell the client where to resume
      if (offset !== received)
        throw new StoreError('bad-offset', `expected offset ${received}`, { received });
      // [REJECT] beyond the contract size (per-contract quota)
      if (offset + length > rec.size)
        throw new StoreError('too-large', 'part goes beyond the contract size', { size: rec.size });
      if (length < 1 || length > MAX_PART_SIZE)
        throw new StoreError('too-large', `part must be 1..${MAX_PART_SIZE} bytes`);
      const last = offset + length === rec.size;
      // [REJECT] a middle part must end on a leaf boundary to be hashed alone
      if (!last && length % LEAF_SIZE !== 0)
        throw new StoreError('unaligned-part', `parts other than the last must be a multiple of ${LEAF_SIZE} bytes`);

      const dir = this.uploadDir(id);
      mkdirDurable(dir);
      const data = await fs.promises.open(path.join(dir, 'data'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
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
        await data.sync();
        await tree.sync();
      } finally {
        await data.close();
        await tree.close();
      }
      this.stillRegistered(id);
      if (last)
        this.finish(rec);
      else
        writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify({ received: offset + length }));
      return this.state(id);
    } catch (e) {
      throw this.orphaned(id, e);
    } finally {
      unlock();
    }
  }

  /**
   * After a body arrived: the record may have gone meanwhile (another
   * process serving the same directory unregistered it). Then the bytes
   * just written are litter, and the client hears `unknown-contract`.
   */
  private stillRegistered(id: string): void {
    // [REJECT] contract removed while the body was in flight
    if (!this.getContract(id)) {
      fs.rmSync(path.join(this.dir, 'uploads', id), { recursive: true, force: true });
      throw new StoreError('unknown-contract', 'contract was removed during the upload');
    }
  }

  /** Turns a file-system error caused by a vanished contract into `unknown-contract`. */
  private orphaned(id: string, e: unknown): unknown {
    if ((e as NodeJS.ErrnoException | null)?.code === 'ENOENT' && !this.getContract(id))
      return new StoreError('unknown-contract', 'contract was removed during the upload');
    return e;
  }

  /**
   * Streams a part to disk at `offset`, hashing its leaves; returns the
   * leaf hashes. Pieces are gathered into 1 MiB blocks (whole leaves) so
   * each block is one write and one hashing pass.
   */
  private async receivePart(fh: fs.promises.FileHandle, offset: number, length: number, body: AsyncIterable<Buffer>): Promise<Buffer> {
    const hashes = Buffer.allocUnsafe(leafCount(length) * 32);
    const block = Buffer.allocUnsafe(Math.min(WRITE_BLOCK, length));
    let fill = 0;
    let written = 0;
    let got = 0;
    const flush = async (): Promise<void> => {
      if (fill === 0)
        return;
      const data = block.subarray(0, fill);
      hashLeaves(data, (offset + written) / LEAF_SIZE).copy(hashes, (written / LEAF_SIZE) * 32);
      let off = 0;
      while (off < fill) {
        const { bytesWritten } = await fh.write(data, off, fill - off, offset + written + off);
        off += bytesWritten;
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
          const take = Math.min(block.length - fill, piece.length - p);
          piece.copy(block, fill, p, p + take);
          fill += take;
          p += take;
          if (fill === block.length)
            await flush();
        }
      }
    } catch (e) {
      if (e instanceof StoreError)
        throw e;
      throw new StoreError('truncated-body', 'request body ended early');
    }
    if (got !== length)
      throw new StoreError('truncated-body', `body had ${got} of ${length} bytes`, { got });
    // The last block may end in a short leaf: only the object's last part can.
    await flush();
    return hashes;
  }

  private finish(rec: ContractRecord): void {
    const dir = this.uploadDir(rec.id);
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
      fs.rmSync(path.join(this.dir, 'uploads', rec.id), { recursive: true, force: true });
      throw new StoreError('root-mismatch', 'uploaded data does not match the contract root', { root: root.toString('hex') });
    }
    const dest = this.objectDir(rec.id);
    mkdirDurable(path.dirname(dest));
    fs.renameSync(dir, dest);
    fsyncDir(path.dirname(dest));
    // Only now: until the rename, state.json must not say more than it did.
    fs.rmSync(path.join(dest, 'state.json'), { force: true });
    fs.rmSync(path.join(this.dir, 'uploads', rec.id), { recursive: true, force: true });
  }

  /** Replaces the sealed manifest (object 0). */
  async writeManifest(id: string, length: number, body: AsyncIterable<Buffer>): Promise<number> {
    this.liveContract(id);
    if (length < 1 || length > MAX_MANIFEST_SIZE)
      throw new StoreError('too-large', `manifest must be 1..${MAX_MANIFEST_SIZE} bytes`);
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
      throw this.orphaned(id, e);
    } finally {
      unlock();
    }
  }

  /** Where to read an object from; throws if it is not (completely) stored. */
  locate(id: string, object: number): { file: string; size: number } {
    this.liveContract(id);
    if (object === objects.MANIFEST) {
      const file = this.manifestPath(id);
      const size = this.fileSize(file);
      if (!fs.existsSync(file))
        throw new StoreError('object-not-found', 'no manifest stored');
      return { file, size };
    }
    if (object !== objects.DATA)
      throw new StoreError('unknown-object', 'objects are 0 (manifest) and 1 (data)');
    if (!this.isComplete(id))
      throw new StoreError('object-not-found', 'object not (completely) uploaded');
    const file = path.join(this.objectDir(id), 'data');
    return { file, size: this.fileSize(file) };
  }

  /** Proof for leaf `index` of object 1, from the stored tree (O(log n) reads). */
  proof(id: string, index: number): MerkleProof {
    const { size } = this.locate(id, objects.DATA);
    if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount(size))
      throw new StoreError('bad-leaf', `leaf must be in 0..${leafCount(size) - 1}`);
    return proofFromTreePath(path.join(this.objectDir(id), 'tree'), index);
  }
}
