/*!
 * storelayout.ts - where the object store keeps what (the layout below),
 * and reading it back: records, upload progress and disk use. Every
 * answer comes from disk alone, so several processes (or the PHP port)
 * can serve one directory.
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
 * Names are always validated ids (hex, decimal) or fixed words, never
 * caller paths.
 */

import * as fs from 'fs';
import * as path from 'path';
import { LEAF_SIZE } from './common';
import { readJSON } from './fsutil';
import { treeFileSize } from './treefile';
import {
  type ContractRecord, type ContractState, type ObjectRecord, type StoredObject, footprint, isId, isLive, objects
} from './storetypes';

/** Paths of a store directory and what they hold. */
export class StoreLayout {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** A contract's record file. */
  recordPath(id: string): string {
    return path.join(this.dir, 'contracts', `${id}.json`);
  }

  /** Object n's record (or tombstone) file. */
  objectRecordPath(id: string, n: number): string {
    return path.join(this.dir, 'objects', id, `${n}.json`);
  }

  /** Where object n is written while it uploads. */
  uploadDir(id: string, n: number): string {
    return path.join(this.dir, 'uploads', id, String(n));
  }

  /** Where complete object n lives (data and tree). */
  objectDir(id: string, n: number): string {
    return path.join(this.dir, 'objects', id, String(n));
  }

  /** The contract's sealed manifest, object 0. */
  manifestPath(id: string): string {
    return path.join(this.dir, 'objects', id, String(objects.MANIFEST));
  }

  /** A contract record as stored, or null (not an id, unknown, unreadable). */
  getContract(id: string): ContractRecord | null {
    if (!isId(id))
      return null;
    const json = readJSON(this.recordPath(id));
    if (!json || typeof json !== 'object')
      return null;
    return json as ContractRecord;
  }

  /** An object record or tombstone as stored, or null. */
  readObject(id: string, n: number): StoredObject | null {
    const json = readJSON(this.objectRecordPath(id, n));
    if (!json || typeof json !== 'object')
      return null;
    return json as StoredObject;
  }

  /** Every record of a contract's data objects (tombstones included), by id. */
  storedObjects(id: string): StoredObject[] {
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
   * Bytes of an upload that count: what state.json records, but no more
   * than the data file holds (parts are not fsynced: after a power loss the
   * file can be shorter than the record), on a leaf boundary.
   */
  received(id: string, n: number): number {
    const dir = this.uploadDir(id, n);
    const st = readJSON(path.join(dir, 'state.json'));
    if (!st || typeof st !== 'object' || typeof (st as { received?: unknown }).received !== 'number')
      return 0;
    const recorded = (st as { received: number }).received;
    const held = this.fileSize(path.join(dir, 'data'));
    return held >= recorded ? recorded : Math.floor(held / LEAF_SIZE) * LEAF_SIZE;
  }

  /** True once object n was moved into place (complete, root checked). */
  isComplete(id: string, n: number): boolean {
    return fs.existsSync(path.join(this.objectDir(id, n), 'data'));
  }

  /** A file's size in bytes, 0 when it does not exist. */
  fileSize(file: string): number {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  }

  /** Disk an object holds now: complete with its tree, or the bytes received and the tree file. */
  objectUsed(rec: ObjectRecord): number {
    if (this.isComplete(rec.contract, rec.object))
      return footprint(rec.size);
    if (fs.existsSync(path.join(this.uploadDir(rec.contract, rec.object), 'tree')))
      return this.received(rec.contract, rec.object) + treeFileSize(rec.size);
    return 0;
  }

  /**
   * True while an adopted object's bytes are still counted by the contract
   * it came from (same id, same root, live there): capacity counts them once.
   */
  shared(rec: ObjectRecord): boolean {
    if (!rec.adoptedFrom || !this.getContract(rec.adoptedFrom))
      return false;
    const src = this.readObject(rec.adoptedFrom, rec.object);
    return isLive(src) && src.root === rec.root && src.size === rec.size;
  }

  /** A contract with its manifest size, object count and disk use (reserved and held). */
  contractState(rec: ContractRecord): ContractState {
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
}
