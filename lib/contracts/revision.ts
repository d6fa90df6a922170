/*!
 * revision.ts - an off-chain revision of a contract's data and cost.
 *
 * A contract (storagecontract.ts) is a funded relationship between one
 * renter and one host; what the host holds changes by revisions signed by
 * both identity keys, and never touches the chain. Revision 0 is the
 * contract itself (its root and size); revisions count up from 1, and the
 * latest one both parties signed decides what the host must hold, what
 * audits check and what the host has earned (lib/deals/accrual.ts).
 *
 * Fixed-size encoding (docs/PROTOCOL.md 3.7), 228 bytes:
 *   contractId(32) number(u64) height(u32) root(32) size(u64) count(u32)
 *   nextObject(u32) accrued(u64) || renterSig(64) || hostSig(64)
 * Signatures cover TH("cc/revision/0", the first 100 bytes).
 */

import bio = require('bufio');
import { taggedHash, tags } from '../base/hash';
import { Identity, verifyIdentitySig } from '../base/identity';
import { ZERO_HASH, ZERO_SIG } from '../base/consts';
import * as common from './common';
import { ContractError, enforce } from './errors';
import { MAX_OBJECTS, type ObjectEntry, objectTreeRoot, objectsSize } from './objecttree';
import type { StorageContract } from './storagecontract';

/** Unsigned revision encoding (bytes). */
export const REVISION_UNSIGNED_SIZE = 32 + 8 + 4 + 32 + 8 + 4 + 4 + 8;
/** Signed revision encoding (bytes). */
export const REVISION_SIZE = REVISION_UNSIGNED_SIZE + 64 + 64;


/** Fields of a revision (constructor options; every field defaults to zero). */
export interface RevisionOptions {
  contractId?: Buffer;
  number?: number;
  height?: number;
  root?: Buffer;
  size?: number;
  count?: number;
  nextObject?: number;
  accrued?: number;
  renterSig?: Buffer;
  hostSig?: Buffer;
}

/** JSON form of a revision (hex for bytes). */
export interface RevisionJSON {
  hash: string;
  contractId: string;
  number: number;
  height: number;
  root: string;
  size: number;
  count: number;
  nextObject: number;
  accrued: number;
  renterSig: string;
  hostSig: string;
}

/** One revision of a contract. */
export class Revision extends bio.Struct {
  contractId: Buffer = ZERO_HASH;
  /** 0 (the objects the contract is formed with, see revisionZero), 1, 2, ... */
  number = 0;
  /** Height from which this revision's objects are held and accrue storage cost. */
  height = 0;
  /** Object-tree root (objecttree.ts). */
  root: Buffer = ZERO_HASH;
  /** Total bytes of the data objects. */
  size = 0;
  /** Number of data objects. */
  count = 0;
  /** Next object id the renter may allocate: above every id used so far. */
  nextObject = 0;
  /** Sat the host has earned under the contract up to `height` (cumulative). */
  accrued = 0;
  renterSig: Buffer = ZERO_SIG;
  hostSig: Buffer = ZERO_SIG;

  constructor(options?: RevisionOptions) {
    super();
    if (options) {
      Object.assign(this, Object.fromEntries(
        Object.entries(options).filter(([, v]) => v !== undefined)));
    }
  }

  getSize(): number {
    return REVISION_SIZE;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.contractId);
    bw.writeU64(this.number);
    bw.writeU32(this.height);
    bw.writeBytes(this.root);
    bw.writeU64(this.size);
    bw.writeU32(this.count);
    bw.writeU32(this.nextObject);
    bw.writeU64(this.accrued);
    return bw;
  }

  write(bw: bio.Writer): bio.Writer {
    this.writeUnsigned(bw);
    bw.writeBytes(this.renterSig);
    bw.writeBytes(this.hostSig);
    return bw;
  }

  read(br: bio.BufferReader): this {
    // [REJECT] truncated: fixed size, checked once before reading
    if (br.left() < REVISION_SIZE)
      throw new ContractError('bad-revision-encoding', 'truncated revision');
    this.contractId = br.readBytes(32);
    this.number = readU64(br);
    this.height = br.readU32();
    this.root = br.readBytes(32);
    this.size = readU64(br);
    this.count = br.readU32();
    this.nextObject = br.readU32();
    this.accrued = readU64(br);
    this.renterSig = br.readBytes(64);
    this.hostSig = br.readBytes(64);
    return this;
  }

  /** Decode exactly one revision; trailing bytes are an error. */
  decode(data: Buffer): this {
    // [REJECT] not exactly one revision
    if (data.length !== REVISION_SIZE)
      throw new ContractError('bad-revision-encoding', `revision must be ${REVISION_SIZE} bytes`);
    return this.read(bio.read(data));
  }

  /** TH("cc/revision/0", unsigned encoding): what both parties sign. */
  hash(): Buffer {
    return taggedHash(tags.REVISION, this.writeUnsigned(bio.write(REVISION_UNSIGNED_SIZE)).render());
  }

  /** Sign as the renter or the host of `contract`. */
  sign(identity: Identity, contract: StorageContract): this {
    const hash = this.hash();
    if (identity.publicKey.equals(contract.renterKey))
      this.renterSig = identity.sign(hash);
    else if (identity.publicKey.equals(contract.hostKey))
      this.hostSig = identity.sign(hash);
    else
      throw new ContractError('contract-not-party', 'identity is neither renter nor host');
    return this;
  }

  hasRenterSig(): boolean {
    return !this.renterSig.equals(ZERO_SIG);
  }

  hasHostSig(): boolean {
    return !this.hostSig.equals(ZERO_SIG);
  }

  /** Same terms (every unsigned field) as `other`. */
  sameTerms(other: Revision): boolean {
    return this.hash().equals(other.hash());
  }

  getJSON(): RevisionJSON {
    return {
      hash: this.hash().toString('hex'),
      contractId: this.contractId.toString('hex'),
      number: this.number,
      height: this.height,
      root: this.root.toString('hex'),
      size: this.size,
      count: this.count,
      nextObject: this.nextObject,
      accrued: this.accrued,
      renterSig: this.renterSig.toString('hex'),
      hostSig: this.hostSig.toString('hex')
    };
  }
}

/** bufio throws a generic error above 2^53; give it our code. */
function readU64(br: bio.BufferReader): number {
  try {
    return br.readU64();
  } catch {
    throw new ContractError('bad-revision-encoding', 'u64 above 2^53');
  }
}

/**
 * Revision 0 of a contract formed with `objects` (unsigned): its root and
 * size are the contract's, its height the start height, and it has accrued
 * the upload of those objects (`uploadCost`, sat; 0 for a renewal, which
 * uploads nothing). Both parties sign it like any other revision: the
 * renter when it proposes the contract, the host once it holds every
 * object (the receipt). Throws ContractError `bad-object-list` if the
 * objects do not match the contract's root and size.
 */
export function revisionZero(contract: StorageContract, objects: readonly ObjectEntry[],
  uploadCost: number): Revision {
  // [REJECT] the objects must be what the contract committed to
  enforce(objectTreeRoot(objects).equals(contract.root) && objectsSize(objects) === contract.size,
    'bad-object-list', 'objects do not match the contract root and size');
  return new Revision({
    contractId: contract.hash(),
    number: 0,
    height: contract.startHeight,
    root: contract.root,
    size: contract.size,
    count: objects.length,
    nextObject: objects.length === 0 ? 1 : objects[objects.length - 1].id + 1,
    accrued: uploadCost
  });
}

/**
 * Context-free checks of a proposed revision against the contract and the
 * previous revision (numbers and heights only grow, counts and sizes match
 * the object list, money within MAX_MONEY). Money rules (accrued, the
 * allowance) are lib/deals/accrual.ts's. Throws ContractError.
 */
export function checkRevisionStep(contract: StorageContract, prev: Revision, next: Revision,
  objects: readonly ObjectEntry[]): void {
  // [REJECT] a revision of another contract
  enforce(next.contractId.equals(contract.hash()), 'revision-wrong-contract');
  // [REJECT] numbers only grow, one at a time: no replay, no rollback
  enforce(next.number === prev.number + 1, 'revision-out-of-order',
    `expected revision ${prev.number + 1}, got ${next.number}`);
  // [REJECT] heights never go back, and no data is added at or after the end
  enforce(next.height >= prev.height && next.height < contract.endHeight, 'revision-bad-height');
  // [REJECT] the object list must be what the revision commits to
  enforce(objects.length <= MAX_OBJECTS && next.count === objects.length
    && next.size === objectsSize(objects) && next.root.equals(objectTreeRoot(objects)),
  'revision-bad-root', 'root, size or count do not match the objects');
  // [REJECT] object ids are never reused
  enforce(next.nextObject >= prev.nextObject
    && (objects.length === 0 || next.nextObject > objects[objects.length - 1].id), 'revision-bad-next-object');
  // [REJECT] accrued cost never shrinks and stays a valid amount
  enforce(next.accrued >= prev.accrued && next.accrued <= common.MAX_MONEY, 'revision-bad-accrued');
}

/** True if `rev` carries valid signatures by the contract's renter (and host, when `both`). */
export function verifyRevisionSigs(contract: StorageContract, rev: Revision, both: boolean): boolean {
  const hash = rev.hash();
  if (!verifyIdentitySig(hash, rev.renterSig, contract.renterKey))
    return false;
  return !both || verifyIdentitySig(hash, rev.hostSig, contract.hostKey);
}
