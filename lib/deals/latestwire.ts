/*!
 * latestwire.ts - args and body of `storage.latest`: what a host holds of
 * a contract (its revisions, the objects of the latest one, the latest
 * channel state the renter signed), for a renter that takes the contract
 * over after a restore from its seed (takeover.ts). Layout: PROTOCOL 5
 * "Taking over a contract"; checked readers as in wire.ts.
 */

import bio = require('bufio');
import { StrictStruct } from '../base/signed';
import { readAmount, readFixed, readLength, readU32, readU8, writeAmount, sizeVarint, malformed, decodeCodes }
  from '../negotiator/wire';
import { REVISION_SIZE, Revision } from '../contracts/revision';
import { CHANNEL_STATE_SIZE, ChannelState } from '../contracts/channel';
import type { ObjectEntry } from '../contracts/objecttree';
import { OBJECT_ENTRY_SIZE, readObjects, readRevision, writeObjects } from './wire';

/** Revisions in one `latest` answer (228 bytes each: 58 KiB, well under the 512 KiB body limit). */
export const MAX_LATEST_REVISIONS = 256;
/** Objects in one `latest` answer (44 bytes each: 176 KiB). */
export const MAX_LATEST_OBJECTS = 4096;
/** Missed intervals a state may name (as PayArgs). */
const MAX_MISSED = 0xffff;

/** LatestResult flags. */
export const latestFlags = {
  /** Revisions after the last one listed: ask again from the next number. */
  MORE_REVISIONS: 1,
  /** Objects after the last one listed: ask again from the next id. */
  MORE_OBJECTS: 2,
  /** A channel state follows. */
  STATE: 4
} as const;

/** `latest` args: the contract, the first revision number and the first object id wanted (paging). */
export class LatestArgs extends StrictStruct {
  id: Buffer = Buffer.alloc(32);
  fromRevision = 0;
  fromObject = 0;

  getSize(): number {
    return 44;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.id);
    writeAmount(bw, this.fromRevision);
    bw.writeU32(this.fromObject);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.id = readFixed(br, 32);
    this.fromRevision = readAmount(br);
    this.fromObject = readU32(br);
    return this;
  }
}

/** The latest channel state a host stored for a contract, as `latest` reports it. */
export interface LatestState {
  state: ChannelState;
  /** Sat of `state.paid` that prepaid downloads and audit reads (cumulative). */
  prepaid: number;
  /** Intervals the renter's payments called missed (ascending). */
  missed: number[];
}

/** `latest` body: the host's latest revision, a page of revisions and objects, and its latest state. */
export class LatestResult extends StrictStruct {
  latest: Revision = new Revision();
  /** Revisions from the asked number on, ascending, consecutive, at most MAX_LATEST_REVISIONS. */
  revisions: Revision[] = [];
  /** Objects of `latest` with ids from the asked one on, ascending, at most MAX_LATEST_OBJECTS. */
  objects: ObjectEntry[] = [];
  moreRevisions = false;
  moreObjects = false;
  state: LatestState | null = null;

  getSize(): number {
    let size = REVISION_SIZE + sizeVarint(this.revisions.length) + REVISION_SIZE * this.revisions.length
      + sizeVarint(this.objects.length) + OBJECT_ENTRY_SIZE * this.objects.length + 1;
    if (this.state)
      size += CHANNEL_STATE_SIZE + 8 + sizeVarint(this.state.missed.length) + 4 * this.state.missed.length;
    return size;
  }

  write(bw: bio.Writer): bio.Writer {
    this.latest.write(bw);
    bw.writeVarint(this.revisions.length);
    for (const r of this.revisions)
      r.write(bw);
    writeObjects(bw, this.objects);
    bw.writeU8((this.moreRevisions ? latestFlags.MORE_REVISIONS : 0) | (this.moreObjects ? latestFlags.MORE_OBJECTS : 0)
      | (this.state ? latestFlags.STATE : 0));
    if (this.state) {
      this.state.state.write(bw);
      writeAmount(bw, this.state.prepaid);
      bw.writeVarint(this.state.missed.length);
      for (const k of this.state.missed)
        bw.writeU32(k);
    }
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.latest = readRevision(br);
    const r = readLength(br, MAX_LATEST_REVISIONS);
    // [REJECT] a count the bytes left cannot hold (checked before looping)
    if (r * REVISION_SIZE > br.left())
      throw malformed(decodeCodes.TRUNCATED);
    this.revisions = [];
    for (let i = 0; i < r; i++)
      this.revisions.push(readRevision(br));
    this.objects = readObjects(br, MAX_LATEST_OBJECTS);
    const flags = readU8(br);
    // [REJECT] unknown flags
    if (flags & ~(latestFlags.MORE_REVISIONS | latestFlags.MORE_OBJECTS | latestFlags.STATE))
      throw malformed(decodeCodes.BAD_FLAGS);
    this.moreRevisions = (flags & latestFlags.MORE_REVISIONS) !== 0;
    this.moreObjects = (flags & latestFlags.MORE_OBJECTS) !== 0;
    this.state = null;
    if (flags & latestFlags.STATE) {
      // [REJECT] a truncated state (ChannelState checks its own fields)
      if (br.left() < CHANNEL_STATE_SIZE)
        throw malformed(decodeCodes.TRUNCATED);
      const state = new ChannelState().read(br);
      const prepaid = readAmount(br);
      const m = readLength(br, MAX_MISSED);
      // [REJECT] a count the bytes left cannot hold
      if (m * 4 > br.left())
        throw malformed(decodeCodes.TRUNCATED);
      const missed: number[] = [];
      for (let i = 0; i < m; i++) {
        const k = readU32(br);
        // [REJECT] missed intervals ascending and distinct
        if (missed.length && k <= missed[missed.length - 1])
          throw malformed(decodeCodes.BAD_PAYMENT);
        missed.push(k);
      }
      this.state = { state, prepaid, missed };
    }
    return this;
  }
}
