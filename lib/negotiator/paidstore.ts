/*!
 * paidstore.ts - the attached payments a server took (paidtx.ts) on disk,
 * so a restart, even a crash, forgets no payment (PROTOCOL 2.5): a retry
 * of a call whose answer was lost is served again, a replay of a payment
 * for another call is refused, and a double spend of a payment taken
 * before the restart is charged back (its raw tx, kept until the record is
 * forgotten, is put back into the mempool at start and after a reorg). One file in the datadir,
 * `cspaid.dat`, replaced atomically and fsynced at every change, before
 * the answer that took a payment leaves (checkedfile.ts), at most
 * MAX_PAID_FILE_BYTES (2 MiB; paidtx.ts forgets the oldest records past it):
 *
 *   u32 LE magic 0x64696150 ("Paid")  u8 version (1)
 *   varint n (<= MAX_PAID_RECORDS, 4 096), oldest first; n x
 *     txid 32 (RPC byte order)  payer pubkey 33  call key 32 (paidtx.ts callKey)
 *     u64 LE amount sat  u8 retries (<= PAID_RETRIES)  u8 flags (1 = double spent)
 *     u32 LE height of the block holding the tx (0: unconfirmed)
 *     varint size (<= MAX_PAYMENT_SIZE, 4 096) + raw tx (kept until the record is
 *       forgotten, PAID_KEEP_DEPTH blocks past its block; size 0 once double spent)
 *   4 bytes: sha256 of everything before, first 4 bytes
 *
 * A file that does not read is moved aside to `cspaid.dat.bad` with a
 * logged error and the records start empty: those payments can be
 * replayed once and are no longer charged back, which the log line says.
 */

import bio = require('bufio');
import { CHECK_SIZE, CheckedFile, openSealed, sealFile, type CheckedCodec } from './checkedfile';
import { MAX_PAID_RECORDS, MAX_PAYMENT_SIZE, PAID_RETRIES } from './common';
import type { LoggerLike } from './options';
import type { PaidRecord } from './paidtx';
import {
  checkEnd, decodeCodes, malformed, readAmount, readFixed, readLength, readPubkey, readU32, readU8, readVarBytes, sizeVarint, writeAmount
} from './wire';

const MAGIC = 0x64696150;
const VERSION = 1;
const FLAG_DOUBLE_SPENT = 1;
const HASH_SIZE = 32;

/** Bytes one record takes in the file: 111 fixed, the raw tx and its length. */
export function paidRecordSize(rec: PaidRecord): number {
  const tx = rec.data?.length ?? 0;
  return HASH_SIZE + 33 + HASH_SIZE + 8 + 1 + 1 + 4 + sizeVarint(tx) + tx;
}

/** Bytes of the file holding `recs`, check included (bounded by MAX_PAID_FILE_BYTES, paidtx.ts). */
export function paidFileSize(recs: Iterable<PaidRecord>): number {
  let size = 0;
  let n = 0;
  for (const rec of recs) {
    size += paidRecordSize(rec);
    n++;
  }
  return 5 + sizeVarint(n) + size + CHECK_SIZE;
}

/** The file's bytes: the records (oldest first) and their check. */
export function encodePaid(recs: PaidRecord[]): Buffer {
  const bw = bio.write(paidFileSize(recs) - CHECK_SIZE);
  bw.writeU32(MAGIC);
  bw.writeU8(VERSION);
  bw.writeVarint(recs.length);
  for (const rec of recs) {
    bw.writeBytes(Buffer.from(rec.id, 'hex'));
    bw.writeBytes(rec.from);
    bw.writeBytes(Buffer.from(rec.call, 'hex'));
    writeAmount(bw, rec.amount);
    bw.writeU8(rec.retries);
    bw.writeU8(rec.doubleSpent ? FLAG_DOUBLE_SPENT : 0);
    bw.writeU32(rec.height);
    bw.writeVarBytes(rec.data ?? Buffer.alloc(0));
  }
  return sealFile(bw.render());
}

/** Read the file's bytes; throws PacketError (malformed) on a bad check or content. */
export function decodePaid(data: Buffer): PaidRecord[] {
  const br = openSealed(data);
  // [REJECT] not a payments file, or a version we do not know
  if (readU32(br) !== MAGIC || readU8(br) !== VERSION)
    throw malformed(decodeCodes.BAD_VERSION);
  const n = readLength(br, MAX_PAID_RECORDS);
  const recs: PaidRecord[] = [];
  for (let i = 0; i < n; i++) {
    const id = readFixed(br, HASH_SIZE).toString('hex');
    const from = readPubkey(br);
    const call = readFixed(br, HASH_SIZE).toString('hex');
    const amount = readAmount(br);
    const retries = readU8(br);
    // [REJECT] more retries than a server serves
    if (retries > PAID_RETRIES)
      throw malformed(decodeCodes.BAD_FLAGS);
    const flags = readU8(br);
    // [REJECT] unknown flags
    if (flags & ~FLAG_DOUBLE_SPENT)
      throw malformed(decodeCodes.BAD_FLAGS);
    const height = readU32(br);
    const raw = readVarBytes(br, MAX_PAYMENT_SIZE);
    recs.push({
      id, from, call, amount, retries, doubleSpent: (flags & FLAG_DOUBLE_SPENT) !== 0, height, data: raw.length > 0 ? raw : null
    });
  }
  checkEnd(br);
  return recs;
}

const codec: CheckedCodec<PaidRecord[]> = {
  what: 'payments taken (a replay of one may be served once, a double spend of one is not charged back)',
  empty: () => [],
  encode: encodePaid,
  decode: decodePaid
};

/** Keeps `cspaid.dat` in step with the server's records: `changed()` after each change, `flush()` at close. */
export class PaidStore extends CheckedFile<PaidRecord[]> {
  constructor(file: string, snapshot: () => PaidRecord[], logger: LoggerLike) {
    super(file, codec, snapshot, logger);
  }
}
