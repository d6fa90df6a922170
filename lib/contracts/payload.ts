/*!
 * payload.ts - the two CloudCoin OP_RETURN payloads.
 *
 * Commit (38 B): "CC" | version u8 = 0 | type u8 = 1 | n u8 (1..16) |
 *   vout0 u8 | id (n = 1) or batch root (32).
 * Rating (50 B): "CC" | version u8 = 0 | type u8 = 2 | id (32) | role u8 |
 *   score i8 | passed u16 | failed u16 | flags u8 | commit height u32 |
 *   commit tx index u16 | leaf index u8.
 * Parsers return null for anything that is not ours and throw ContractError
 * for ours but malformed, so an indexer can tell noise from mistakes.
 */

import bio = require('bufio');
import bcoin = require('../bcoin');
import * as common from './common';
import { ContractError, enforce } from './errors';

/** The commit payload of a commitment transaction. */
export class CommitPayload extends bio.Struct {
  count = 1;
  vout0 = 0;
  root: Buffer = Buffer.alloc(32);

  constructor(options?: { count: number; vout0: number; root: Buffer }) {
    super();
    if (options) {
      this.count = options.count;
      this.vout0 = options.vout0;
      this.root = options.root;
    }
  }

  getSize(): number {
    return common.COMMIT_SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(common.MAGIC);
    bw.writeU8(common.PAYLOAD_VERSION);
    bw.writeU8(common.payloadTypes.COMMIT);
    bw.writeU8(this.count);
    bw.writeU8(this.vout0);
    bw.writeBytes(this.root);
    return bw;
  }

  read(br: bio.BufferReader): this {
    enforce(br.left() === common.COMMIT_SIZE, 'bad-commit-size');
    br.readBytes(4); // header, checked by parsePayloadType
    this.count = br.readU8();
    this.vout0 = br.readU8();
    this.root = br.readBytes(32);
    return this;
  }

  /** Context-free checks of the payload itself. */
  check(): void {
    // [REJECT] count outside 1..16
    enforce(this.count >= 1 && this.count <= common.MAX_BATCH, 'bad-commit-count');
    // [REJECT] escrows would run past output 255
    enforce(this.vout0 + this.count <= 0xff, 'bad-commit-vout');
    enforce(this.root.length === 32, 'bad-commit-root');
  }

  getJSON(): { count: number; vout0: number; root: string } {
    return { count: this.count, vout0: this.vout0, root: this.root.toString('hex') };
  }
}

/** The rating payload. */
export class RatingPayload extends bio.Struct {
  id: Buffer = Buffer.alloc(32);
  role = 0;
  score = 0;
  passed = 0;
  failed = 0;
  flags = 0;
  commitHeight = 0;
  commitIndex = 0;
  leafIndex = 0;

  constructor(options?: Partial<Pick<RatingPayload, 'id' | 'role' | 'score' | 'passed' | 'failed'
    | 'flags' | 'commitHeight' | 'commitIndex' | 'leafIndex'>>) {
    super();
    if (options)
      Object.assign(this, options);
  }

  getSize(): number {
    return common.RATING_SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(common.MAGIC);
    bw.writeU8(common.PAYLOAD_VERSION);
    bw.writeU8(common.payloadTypes.RATE);
    bw.writeBytes(this.id);
    bw.writeU8(this.role);
    bw.writeI8(this.score);
    bw.writeU16(this.passed);
    bw.writeU16(this.failed);
    bw.writeU8(this.flags);
    bw.writeU32(this.commitHeight);
    bw.writeU16(this.commitIndex);
    bw.writeU8(this.leafIndex);
    return bw;
  }

  read(br: bio.BufferReader): this {
    enforce(br.left() === common.RATING_SIZE, 'bad-rating-size');
    br.readBytes(4);
    this.id = br.readBytes(32);
    this.role = br.readU8();
    this.score = br.readI8();
    this.passed = br.readU16();
    this.failed = br.readU16();
    this.flags = br.readU8();
    this.commitHeight = br.readU32();
    this.commitIndex = br.readU16();
    this.leafIndex = br.readU8();
    return this;
  }

  check(): void {
    // [REJECT] unknown role
    enforce(this.role === common.roles.RENTER || this.role === common.roles.HOST, 'bad-rating-role');
    // [REJECT] score outside -100..100
    enforce(this.score >= common.MIN_SCORE && this.score <= common.MAX_SCORE, 'bad-rating-score');
    // [REJECT] undefined flag bits
    enforce((this.flags & ~common.RATING_FLAGS_MASK) === 0, 'bad-rating-flags');
    // [REJECT] leaf index outside a batch
    enforce(this.leafIndex < common.MAX_BATCH, 'bad-rating-leaf');
  }

  getJSON(): Record<string, unknown> {
    return {
      id: this.id.toString('hex'),
      role: common.rolesByVal[this.role] ?? this.role,
      score: this.score,
      passed: this.passed,
      failed: this.failed,
      flags: this.flags,
      commitHeight: this.commitHeight,
      commitIndex: this.commitIndex,
      leafIndex: this.leafIndex
    };
  }
}

/** Type of a CloudCoin payload, or -1 if `data` is not one. */
export function payloadType(data: Buffer): number {
  if (data.length < 4 || data[0] !== common.MAGIC[0] || data[1] !== common.MAGIC[1])
    return -1;
  if (data[2] !== common.PAYLOAD_VERSION)
    return -1;
  return data[3];
}

/** The nulldata of the first CloudCoin OP_RETURN output of `tx`. */
export function findPayload(tx: bcoin.TX): { type: number; data: Buffer; index: number } | null {
  for (let i = 0; i < tx.outputs.length; i++) {
    const script = tx.outputs[i].script;
    if (!script.isNulldata())
      continue;
    const data = script.getData(1);
    if (!data)
      continue;
    const type = payloadType(data);
    if (type === common.payloadTypes.COMMIT || type === common.payloadTypes.RATE)
      return { type, data, index: i };
  }
  return null;
}

/** Decode a commit payload (throws ContractError if malformed). */
export function decodeCommit(data: Buffer): CommitPayload {
  const p = new CommitPayload().decode(data);
  p.check();
  return p;
}

/** Decode a rating payload (throws ContractError if malformed). */
export function decodeRating(data: Buffer): RatingPayload {
  const p = new RatingPayload().decode(data);
  p.check();
  return p;
}

export { ContractError };
