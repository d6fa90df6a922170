/*!
 * packets.ts - the contract-record P2P packets.
 *
 *   csgetctr: id (32)                          ask a peer for a record
 *   csgetcmt: txid (32, internal order)        ask a peer for every record
 *             it holds of one commitment (a batch names no ids on chain)
 *   csctr:    ContractRecord (see records.ts)  a record, with its commit
 *             txid, leaf index and inclusion branch
 *
 * Decoders check the exact length before reading; a malformed packet is a
 * PacketError, so the node raises the sender's ban score.
 */

import * as common from './common';
import { ContractError } from './errors';
import { ContractRecord } from './records';
import { PacketError } from '../base/errors';

/** Smallest and largest csctr payloads (branch of 0..4 hashes). */
export const MIN_RECORD_PACKET = common.CONTRACT_SIZE + 32 + 1 + 1;
export const MAX_RECORD_PACKET = MIN_RECORD_PACKET + 32 * common.MAX_BRANCH;

export function encodeGetContract(id: Buffer): Buffer {
  return Buffer.from(id);
}

export function decodeGetContract(payload: Buffer): Buffer {
  // [REJECT] csgetctr is exactly one 32-byte id
  if (payload.length !== 32)
    throw new PacketError('bad-getctr-size', 'reject', common.MALFORMED_SCORE);
  return Buffer.from(payload);
}

export function encodeGetCommit(txid: Buffer): Buffer {
  return Buffer.from(txid);
}

export function decodeGetCommit(payload: Buffer): Buffer {
  // [REJECT] csgetcmt is exactly one 32-byte txid
  if (payload.length !== 32)
    throw new PacketError('bad-getcmt-size', 'reject', common.MALFORMED_SCORE);
  return Buffer.from(payload);
}

export function encodeContractRecord(record: ContractRecord): Buffer {
  return record.encode();
}

export function decodeContractRecord(payload: Buffer): ContractRecord {
  // [REJECT] size outside what a record with a 0..4 hash branch can be
  if (payload.length < MIN_RECORD_PACKET || payload.length > MAX_RECORD_PACKET
    || (payload.length - MIN_RECORD_PACKET) % 32 !== 0)
    throw new PacketError('bad-ctr-size', 'reject', common.MALFORMED_SCORE);
  try {
    return new ContractRecord().decode(payload);
  } catch (e) {
    if (e instanceof ContractError)
      throw new PacketError(e.code, 'reject', common.MALFORMED_SCORE);
    throw new PacketError('bad-ctr-encoding', 'reject', common.MALFORMED_SCORE);
  }
}
