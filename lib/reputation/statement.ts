/*!
 * statement.ts - a node's signed view of one identity (PROTOCOL 2.8), the
 * body of the `reputation` core service's `get`: so a renter can ask
 * others what they think of a host, keep the answer, and show who said it.
 *
 * Layout (200 bytes): signer (33), subject (33), height u32, score u16,
 * known u8, own: passed, failed, settled, refunded u32, paid u64 sat,
 * retrievals, retrievals failed u32; ratings: counted, unpaid u32,
 * settled, weight u64, score u16; trust u32 ppb (0xffffffff: none),
 * pretrusted u8; sig (64) over TH("cc/reputation/0", magic u32 LE ||
 * the 136 bytes before it).
 */

import bio = require('bufio');
import { SignerStatement } from '../base/signed';
import { readAmount, readFixed, readPubkey, readU8, readU32, writeAmount } from '../base/wire';
import { PacketError } from '../base/errors';
import { REPUTATION_TAG, SCORE_MAX } from './common';
import type { Reputation } from './view';

/** `trust` when the signer pre-trusts nobody (no EigenTrust run). */
export const NO_TRUST = 0xffffffff;

const KEY = 33;

/** A u16 LE with the checked reader. */
function readU16(br: bio.BufferReader): number {
  return readFixed(br, 2).readUInt16LE(0);
}

/** One identity's reputation as another node signs it. */
export class ReputationStatement extends SignerStatement {
  // `signer`: the answering node's identity key (SignerStatement).
  /** The identity it is about. */
  subject: Buffer = Buffer.alloc(KEY);
  /** The signer's contract index height. */
  height = 0;
  score = 0;
  known = false;
  passed = 0;
  failed = 0;
  settled = 0;
  refunded = 0;
  /** sat */
  paid = 0;
  retrievals = 0;
  retrievalsFailed = 0;
  counted = 0;
  unpaid = 0;
  /** sat */
  ratedSettled = 0;
  /** sat */
  ratedWeight = 0;
  ratingsScore = 0;
  /** ppb, NO_TRUST when none was computed. */
  trust = NO_TRUST;
  pretrusted = false;

  static readonly UNSIGNED_SIZE = KEY + KEY + 4 + 2 + 1 + 4 * 4 + 8 + 4 * 2 + 4 * 2 + 8 * 2 + 2 + 4 + 1;

  get tag(): string {
    return REPUTATION_TAG;
  }

  getUnsignedSize(): number {
    return ReputationStatement.UNSIGNED_SIZE;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.signer);
    bw.writeBytes(this.subject);
    bw.writeU32(this.height);
    bw.writeU16(this.score);
    bw.writeU8(this.known ? 1 : 0);
    for (const v of [this.passed, this.failed, this.settled, this.refunded])
      bw.writeU32(v);
    writeAmount(bw, this.paid);
    bw.writeU32(this.retrievals);
    bw.writeU32(this.retrievalsFailed);
    bw.writeU32(this.counted);
    bw.writeU32(this.unpaid);
    writeAmount(bw, this.ratedSettled);
    writeAmount(bw, this.ratedWeight);
    bw.writeU16(this.ratingsScore);
    bw.writeU32(this.trust);
    bw.writeU8(this.pretrusted ? 1 : 0);
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    this.signer = readPubkey(br);
    this.subject = readPubkey(br);
    this.height = readU32(br);
    this.score = readU16(br);
    const known = readU8(br);
    this.passed = readU32(br);
    this.failed = readU32(br);
    this.settled = readU32(br);
    this.refunded = readU32(br);
    this.paid = readAmount(br);
    this.retrievals = readU32(br);
    this.retrievalsFailed = readU32(br);
    this.counted = readU32(br);
    this.unpaid = readU32(br);
    this.ratedSettled = readAmount(br);
    this.ratedWeight = readAmount(br);
    this.ratingsScore = readU16(br);
    this.trust = readU32(br);
    const pre = readU8(br);
    // [REJECT] scores above the scale, flags other than 0/1, trust above one
    if (this.score > SCORE_MAX || this.ratingsScore > SCORE_MAX || known > 1 || pre > 1
      || (this.trust !== NO_TRUST && this.trust > 1_000_000_000))
      throw new PacketError('bad-reputation', 'reject', 10);
    this.known = known === 1;
    this.pretrusted = pre === 1;
  }

  /** A view entry as a statement (unsigned). */
  static fromReputation(r: Reputation, height: number): ReputationStatement {
    const s = new ReputationStatement();
    s.subject = Buffer.from(r.identity, 'hex');
    s.height = height;
    s.score = r.score;
    s.known = r.known;
    if (r.own) {
      s.passed = r.own.passed;
      s.failed = r.own.failed;
      s.settled = r.own.settled;
      s.refunded = r.own.refunded;
      s.paid = r.own.paid;
      s.retrievals = r.own.retrievals;
      s.retrievalsFailed = r.own.retrievalsFailed;
    }
    s.counted = r.ratings.counted;
    s.unpaid = r.ratings.unpaid;
    s.ratedSettled = r.ratings.settled;
    s.ratedWeight = r.ratings.weight;
    s.ratingsScore = r.ratings.score;
    s.trust = r.trust ? r.trust.value : NO_TRUST;
    s.pretrusted = r.trust?.pretrusted ?? false;
    return s;
  }

  getJSON(): Record<string, unknown> {
    return {
      signer: this.signer.toString('hex'),
      subject: this.subject.toString('hex'),
      height: this.height,
      score: this.score,
      known: this.known,
      own: {
        passed: this.passed, failed: this.failed, settled: this.settled, refunded: this.refunded, paid: this.paid,
        retrievals: this.retrievals, retrievalsfailed: this.retrievalsFailed
      },
      ratings: {
        counted: this.counted, unpaid: this.unpaid, settled: this.ratedSettled, weight: this.ratedWeight,
        score: this.ratingsScore
      },
      trust: this.trust === NO_TRUST ? null : { value: this.trust, pretrusted: this.pretrusted },
      sig: this.sig.toString('hex')
    };
  }
}
