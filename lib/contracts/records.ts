/*!
 * records.ts - what the contract index stores: commit entries, contract
 * records, rating entries and per-block undo.
 */

import bio = require('bufio');
import { ZERO_HASH } from '../base/consts';
import * as common from './common';
import { enforce } from './errors';
import { StorageContract } from './storagecontract';

/** How an escrow output was spent. */
export const spendTypes = {
  NONE: 0,
  SETTLED: 1,
  REFUNDED: 2
} as const;

/**
 * One escrow slot of a commit. Once spent, what the spend moved (sat):
 * `returned` to the renter (a settle: the outputs paying P2WPKH of the
 * renter escrow key; a refund: the escrow less the fee), `paid` to the
 * host (a settle: the escrow less what was returned, before the fee the
 * host pays) and `fee`, the spending tx's fee (counted on the first escrow
 * a tx spends, when one tx spends several).
 */
export class LeafEntry {
  /** Escrow output value. */
  value = 0;
  /** P2WSH program (sha256 of the witness script). */
  scriptHash: Buffer = ZERO_HASH;
  /** Contract id once its record is known, else zeros. */
  id: Buffer = ZERO_HASH;
  spendType: number = spendTypes.NONE;
  spendHeight = 0;
  spendTxid: Buffer = ZERO_HASH;
  returned = 0;
  paid = 0;
  fee = 0;

  isResolved(): boolean {
    return !this.id.equals(ZERO_HASH);
  }

  /** Back to unspent (its spend was disconnected). */
  clearSpend(): void {
    this.spendType = spendTypes.NONE;
    this.spendHeight = 0;
    this.spendTxid = ZERO_HASH;
    this.returned = 0;
    this.paid = 0;
    this.fee = 0;
  }

  /** Encoded size at a database version (0 had no amounts). */
  static sizeAt(version: number): number {
    return 8 + 32 + 32 + 1 + 4 + 32 + (version >= 1 ? 24 : 0);
  }

  static readonly SIZE = LeafEntry.sizeAt(1);
}

/** A confirmed commitment transaction as the index sees it. */
export class CommitEntry extends bio.Struct {
  txid: Buffer = ZERO_HASH;
  height = 0;
  block: Buffer = ZERO_HASH;
  txIndex = 0;
  count = 0;
  vout0 = 0;
  root: Buffer = ZERO_HASH;
  leaves: LeafEntry[] = [];

  getSize(): number {
    return 32 + 4 + 32 + 2 + 1 + 1 + 32 + this.leaves.length * LeafEntry.SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.txid);
    bw.writeU32(this.height);
    bw.writeBytes(this.block);
    bw.writeU16(this.txIndex);
    bw.writeU8(this.count);
    bw.writeU8(this.vout0);
    bw.writeBytes(this.root);
    for (const leaf of this.leaves) {
      bw.writeU64(leaf.value);
      bw.writeBytes(leaf.scriptHash);
      bw.writeBytes(leaf.id);
      bw.writeU8(leaf.spendType);
      bw.writeU32(leaf.spendHeight);
      bw.writeBytes(leaf.spendTxid);
      bw.writeU64(leaf.returned);
      bw.writeU64(leaf.paid);
      bw.writeU64(leaf.fee);
    }
    return bw;
  }

  read(br: bio.BufferReader): this {
    return this.readAt(br, 1);
  }

  /** Decode an entry written at database `version` (layout.ts: 0 had no amounts). */
  decodeAt(data: Buffer, version: number): this {
    return this.readAt(bio.read(data), version);
  }

  private readAt(br: bio.BufferReader, version: number): this {
    this.txid = br.readBytes(32);
    this.height = br.readU32();
    this.block = br.readBytes(32);
    this.txIndex = br.readU16();
    this.count = br.readU8();
    this.vout0 = br.readU8();
    this.root = br.readBytes(32);
    enforce(this.count >= 1 && this.count <= common.MAX_BATCH, 'bad-commit-entry');
    this.leaves = [];
    for (let i = 0; i < this.count; i++) {
      const leaf = new LeafEntry();
      leaf.value = br.readU64();
      leaf.scriptHash = br.readBytes(32);
      leaf.id = br.readBytes(32);
      leaf.spendType = br.readU8();
      leaf.spendHeight = br.readU32();
      leaf.spendTxid = br.readBytes(32);
      if (version >= 1) {
        leaf.returned = br.readU64();
        leaf.paid = br.readU64();
        leaf.fee = br.readU64();
      }
      this.leaves.push(leaf);
    }
    return this;
  }

  /** Outpoint key (`txid-hex:vout`) of leaf i's escrow. */
  outpointKey(i: number): string {
    return `${this.txid.toString('hex')}:${this.vout0 + i}`;
  }
}

/**
 * A contract record: the signed contract plus where it is committed and
 * the inclusion branch, so any node holding the commit can check it. The
 * same encoding is the body of the `csctr` packet.
 */
export class ContractRecord extends bio.Struct {
  contract = new StorageContract();
  txid: Buffer = ZERO_HASH;
  leaf = 0;
  branch: Buffer[] = [];

  constructor(options?: { contract: StorageContract; txid: Buffer; leaf: number; branch: Buffer[] }) {
    super();
    if (options) {
      this.contract = options.contract;
      this.txid = options.txid;
      this.leaf = options.leaf;
      this.branch = options.branch;
    }
  }

  getSize(): number {
    return common.CONTRACT_SIZE + 32 + 1 + 1 + 32 * this.branch.length;
  }

  write(bw: bio.Writer): bio.Writer {
    this.contract.write(bw);
    bw.writeBytes(this.txid);
    bw.writeU8(this.leaf);
    bw.writeU8(this.branch.length);
    for (const hash of this.branch)
      bw.writeBytes(hash);
    return bw;
  }

  read(br: bio.BufferReader): this {
    // [REJECT] shorter than the fixed part
    enforce(br.left() >= common.CONTRACT_SIZE + 34, 'bad-record-size');
    this.contract = new StorageContract().read(br);
    this.txid = br.readBytes(32);
    this.leaf = br.readU8();
    const count = br.readU8();
    // [REJECT] leaf or branch longer than a 16-leaf tree allows
    enforce(this.leaf < common.MAX_BATCH && count <= common.MAX_BRANCH, 'bad-record-branch');
    // [REJECT] length does not match the branch count
    enforce(br.left() === 32 * count, 'bad-record-size');
    this.branch = [];
    for (let i = 0; i < count; i++)
      this.branch.push(br.readBytes(32));
    return this;
  }

  decode(data: Buffer): this {
    return this.read(new bio.BufferReader(data));
  }
}

/**
 * One of our own records that can no longer resolve: its commit confirmed
 * after the offer expired, never confirmed in time, or funds a contract
 * already committed elsewhere. Kept so the renter can still refund the
 * escrow once its commit is indexed.
 */
export class VoidRecord extends bio.Struct {
  /** Index height when it was voided. */
  height = 0;
  /** Why (a ContractError code, e.g. `contract-offer-expired`). */
  code = '';
  record = new ContractRecord();

  constructor(options?: { record: ContractRecord; code: string; height: number }) {
    super();
    if (options) {
      this.record = options.record;
      this.code = options.code;
      this.height = options.height;
    }
  }

  getSize(): number {
    return 4 + 1 + Buffer.byteLength(this.code, 'ascii') + this.record.getSize();
  }

  write(bw: bio.Writer): bio.Writer {
    const code = Buffer.from(this.code, 'ascii');
    bw.writeU32(this.height);
    bw.writeU8(code.length);
    bw.writeBytes(code);
    // Last: the record's reader checks the bytes left against its branch.
    this.record.write(bw);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.height = br.readU32();
    this.code = br.readBytes(br.readU8()).toString('ascii');
    this.record = new ContractRecord().read(br);
    return this;
  }
}

/** A rating seen on chain, valid or not (validity needs the record). */
export class RatingEntry extends bio.Struct {
  /** Witness pubkey of input 0 if it spends P2WPKH, else zeros. */
  raterKey: Buffer = Buffer.alloc(33);
  payload: Buffer = Buffer.alloc(common.RATING_SIZE);
  txid: Buffer = ZERO_HASH;
  height = 0;
  txIndex = 0;

  getSize(): number {
    return 33 + common.RATING_SIZE + 32 + 4 + 2;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.raterKey);
    bw.writeBytes(this.payload);
    bw.writeBytes(this.txid);
    bw.writeU32(this.height);
    bw.writeU16(this.txIndex);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.raterKey = br.readBytes(33);
    this.payload = br.readBytes(common.RATING_SIZE);
    this.txid = br.readBytes(32);
    this.height = br.readU32();
    this.txIndex = br.readU16();
    return this;
  }
}

/** Rating key parts stored in an undo record. */
export interface RatingKey {
  id: Buffer;
  role: number;
  txIndex: number;
}

/** Everything one block changed, to be reverted on disconnect. */
export class BlockUndo extends bio.Struct {
  hash: Buffer = ZERO_HASH;
  commits: Buffer[] = [];
  spends: Array<{ txid: Buffer; leaf: number }> = [];
  ratings: RatingKey[] = [];

  getSize(): number {
    return 32 + 2 + 32 * this.commits.length + 2 + 33 * this.spends.length
      + 2 + 35 * this.ratings.length;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.hash);
    bw.writeU16(this.commits.length);
    for (const txid of this.commits)
      bw.writeBytes(txid);
    bw.writeU16(this.spends.length);
    for (const s of this.spends) {
      bw.writeBytes(s.txid);
      bw.writeU8(s.leaf);
    }
    bw.writeU16(this.ratings.length);
    for (const r of this.ratings) {
      bw.writeBytes(r.id);
      bw.writeU8(r.role);
      bw.writeU16(r.txIndex);
    }
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.hash = br.readBytes(32);
    this.commits = [];
    for (let n = br.readU16(); n > 0; n--)
      this.commits.push(br.readBytes(32));
    this.spends = [];
    for (let n = br.readU16(); n > 0; n--)
      this.spends.push({ txid: br.readBytes(32), leaf: br.readU8() });
    this.ratings = [];
    for (let n = br.readU16(); n > 0; n--)
      this.ratings.push({ id: br.readBytes(32), role: br.readU8(), txIndex: br.readU16() });
    return this;
  }

  isEmpty(): boolean {
    return this.commits.length === 0 && this.spends.length === 0 && this.ratings.length === 0;
  }
}
