/*!
 * repairlog.ts - the renter's record of each repair: which shard of which
 * file was rebuilt (or which whole replica re-uploaded: shard NO_SHARD),
 * where it went, what it replaced, and when. Kept
 * in the deals database (layout `R[fileId][seq]`) for as long as the file,
 * shown by getfile and ls.
 *
 *   RepairRecord = u32 height || u64 time (unix s) || u8 shard ||
 *                  contractId(32) || hostPk(33) || varint n (<= 64) ||
 *                  n x contractId(32)   (the contracts of the copies replaced)
 */

import bio = require('bufio');
import { sizeVarint } from '../base/wire';
import { MAX_FILE_REPLICAS } from '../storage/common';
import { DealError } from './errors';

/** `shard` of a repair that re-uploaded a whole replica (a file stored as replicas, not shards). */
export const NO_SHARD = 0xff;

/** One repair: shard `shard` rebuilt (or a replica re-uploaded) into an object of `contractId` on `hostPk`. */
export class RepairRecord extends bio.Struct {
  height = 0;
  time = 0;
  shard = 0;
  contractId: Buffer = Buffer.alloc(32);
  hostPk: Buffer = Buffer.alloc(33);
  /** Contracts whose copy of the shard was lost or unreachable when it was rebuilt. */
  replaced: Buffer[] = [];

  getSize(): number {
    return 4 + 8 + 1 + 32 + 33 + sizeVarint(this.replaced.length) + 32 * this.replaced.length;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU32(this.height);
    bw.writeU64(this.time);
    bw.writeU8(this.shard);
    bw.writeBytes(this.contractId);
    bw.writeBytes(this.hostPk);
    bw.writeVarint(this.replaced.length);
    for (const id of this.replaced)
      bw.writeBytes(id);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.height = br.readU32();
    this.time = br.readU64();
    this.shard = br.readU8();
    this.contractId = Buffer.from(br.readBytes(32));
    this.hostPk = Buffer.from(br.readBytes(33));
    const n = br.readVarint();
    // [REJECT] more replaced copies than a file holds
    if (n > MAX_FILE_REPLICAS)
      throw new DealError('bad-record', 'repair record lists too many contracts');
    this.replaced = [];
    for (let i = 0; i < n; i++)
      this.replaced.push(Buffer.from(br.readBytes(32)));
    return this;
  }
}
