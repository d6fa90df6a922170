/*!
 * dealrecords.ts - the records deals keep on disk (dealstore.ts writes
 * them): a contract's objects, the renter's record of a contract it
 * formed, a revision signed by the renter and not yet by the host, and the
 * shapes of a revision update and a served audit token.
 */

import bio = require('bufio');
import { StorageContract } from '../contracts/storagecontract';
import { REVISION_SIZE, Revision } from '../contracts/revision';
import type { ObjectEntry } from '../contracts/objecttree';
import type { ManifestFile } from '../storage/manifest';
import { sizeVarint } from '../base/wire';

/** One object of a contract; `fileId` is the renter's file (zeros on the host). */
export interface ContractObject extends ObjectEntry {
  fileId: Buffer;
}

/** An object as stored: root(32) || u64 size || fileId(32); the ids are in the key. */
export function encodeObject(o: ContractObject): Buffer {
  const bw = bio.write(72);
  bw.writeBytes(o.root);
  bw.writeU64(o.size);
  bw.writeBytes(o.fileId);
  return bw.render();
}

/** An object read back: `id` from its key, the rest from its stored bytes. */
export function decodeObject(id: number, raw: Buffer): ContractObject {
  const br = bio.read(raw);
  return { id, root: Buffer.from(br.readBytes(32)), size: br.readU64(), fileId: Buffer.from(br.readBytes(32)) };
}

/**
 * A contract the renter formed:
 *   RenterContract = u8 flags || u32 nextObject || StorageContract
 * `nextObject` is the lowest object id never handed out (an id given to a
 * revision that was then abandoned is never used again, as the file
 * server keeps its tombstone). Flag 1: the host answered with an older
 * revision than ours (it lost data): never revise it again.
 */
export class RenterContract extends bio.Struct {
  flags = 0;
  nextObject = 1;
  contract: StorageContract = new StorageContract();

  static readonly HOST_BEHIND = 1;

  getSize(): number {
    return 1 + 4 + this.contract.getSize();
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU8(this.flags);
    bw.writeU32(this.nextObject);
    this.contract.write(bw);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.flags = br.readU8();
    this.nextObject = br.readU32();
    this.contract = StorageContract.read(br);
    return this;
  }

  get hostBehind(): boolean {
    return (this.flags & RenterContract.HOST_BEHIND) !== 0;
  }
}

/**
 * A revision signed by the renter and not yet by the host, with what it
 * changes (revision 0: the objects the contract is formed with):
 *   PendingRevision = Revision(228) || varint a || a x (u32 id || root(32) ||
 *                     u64 size || fileId(32)) || varint r || r x u32 id
 */
export class PendingRevision extends bio.Struct {
  revision: Revision = new Revision();
  add: ContractObject[] = [];
  remove: number[] = [];

  getSize(): number {
    return REVISION_SIZE + sizeVarint(this.add.length) + 76 * this.add.length
      + sizeVarint(this.remove.length) + 4 * this.remove.length;
  }

  write(bw: bio.Writer): bio.Writer {
    this.revision.write(bw);
    bw.writeVarint(this.add.length);
    for (const o of this.add) {
      bw.writeU32(o.id);
      bw.writeBytes(encodeObject(o));
    }
    bw.writeVarint(this.remove.length);
    for (const id of this.remove)
      bw.writeU32(id);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.revision = Revision.read(br);
    this.add = [];
    for (let i = br.readVarint(); i > 0; i--) {
      const id = br.readU32();
      this.add.push(decodeObject(id, br.readBytes(72)));
    }
    this.remove = [];
    for (let i = br.readVarint(); i > 0; i--)
      this.remove.push(br.readU32());
    return this;
  }

  /** Bytes the revision adds. */
  addedBytes(): number {
    return this.add.reduce((sum, o) => sum + o.size, 0);
  }
}

/** What applying a countersigned revision changes, in one batch. */
export interface RevisionUpdate {
  id: Buffer;
  revision: Revision;
  add: ContractObject[];
  remove: number[];
  /** A new renter record to write with it (id high-water, flags). */
  renter?: RenterContract;
  /** Files to write with it (their replicas). */
  files?: ManifestFile[];
}

/** An audit token a host served (deals db `w`). */
export interface AuditTokenRecord {
  height: number;
  /** Tells tokens of one height apart. */
  n: number;
  /** Bytes its reads were seen to serve (budget - the data API's X-CC-Budget-Left). */
  served: number;
  token: string;
}
