/*!
 * wire.ts - checked readers for every CloudCoin wire object.
 *
 * Every read goes through these helpers so a bad packet always fails with a
 * typed PacketError code (never bufio's generic errors) and no length is
 * trusted before it is compared with its limit and with the bytes left.
 * The negotiator's packets, the deals' args and bodies and the signed
 * structs (lib/base/signed.ts) all read with them.
 */

import bio = require('bufio');
import { PacketError } from './errors';
import { MAX_MONEY, PUBKEY_SIZE } from './consts';

/** Ban score for a malformed packet: five of them ban (bcoin bans at 100). */
export const MALFORMED_SCORE = 20;

/** Decode error codes (PacketError.code) raised by packet decoders. */
export const decodeCodes = {
  TRUNCATED: 'truncated',
  TRAILING: 'trailing-bytes',
  OVERSIZED: 'oversized-field',
  BAD_VARINT: 'bad-varint',
  BAD_NAME: 'bad-name',
  BAD_STATUS: 'bad-status',
  BAD_PUBKEY: 'bad-pubkey',
  BAD_AMOUNT: 'bad-amount',
  BAD_PAYMENT: 'bad-payment',
  BAD_VERSION: 'bad-version',
  BAD_URL: 'bad-url',
  BAD_ADDR: 'bad-addr',
  BAD_FLAGS: 'bad-flags',
  UNKNOWN_COMMAND: 'unknown-command'
} as const;

export type DecodeCode = typeof decodeCodes[keyof typeof decodeCodes];

/** A malformed packet: rejected with the malformed ban score. */
export function malformed(code: DecodeCode): PacketError {
  return new PacketError(code, 'reject', MALFORMED_SCORE);
}

function need(br: bio.BufferReader, size: number): void {
  // [REJECT] a field runs past the end of the packet
  if (br.left() < size)
    throw malformed(decodeCodes.TRUNCATED);
}

export function readU8(br: bio.BufferReader): number {
  need(br, 1);
  return br.readU8();
}

/** A big-endian u16 (ports, as in Bitcoin's addr messages). */
export function readU16BE(br: bio.BufferReader): number {
  need(br, 2);
  return br.readU16BE();
}

export function readU32(br: bio.BufferReader): number {
  need(br, 4);
  return br.readU32();
}

/** A satoshi amount: u64 LE, at most MAX_MONEY. */
export function readAmount(br: bio.BufferReader): number {
  need(br, 8);
  const lo = br.readU32();
  const hi = br.readU32();
  const value = hi * 0x100000000 + lo;
  // [REJECT] amount above the money supply
  if (value > MAX_MONEY)
    throw malformed(decodeCodes.BAD_AMOUNT);
  return value;
}

export function writeAmount(bw: bio.Writer, value: number): void {
  bw.writeU32(value % 0x100000000);
  bw.writeU32(Math.floor(value / 0x100000000));
}

export function readFixed(br: bio.BufferReader, size: number): Buffer {
  need(br, size);
  return br.readBytes(size);
}

/** A varint length, checked against `max` and the bytes left. */
export function readLength(br: bio.BufferReader, max: number): number {
  need(br, 1);
  let size: number;
  try {
    size = br.readVarint();
  } catch {
    // [REJECT] varint cut short or not canonical
    throw malformed(decodeCodes.BAD_VARINT);
  }
  // [REJECT] length above the field's limit
  if (size > max)
    throw malformed(decodeCodes.OVERSIZED);
  need(br, size);
  return size;
}

export function readVarBytes(br: bio.BufferReader, max: number): Buffer {
  return br.readBytes(readLength(br, max));
}

/** A compressed public key (prefix checked; the curve check is the signature's). */
export function readPubkey(br: bio.BufferReader): Buffer {
  const key = readFixed(br, PUBKEY_SIZE);
  // [REJECT] identity keys are compressed points
  if (key[0] !== 0x02 && key[0] !== 0x03)
    throw malformed(decodeCodes.BAD_PUBKEY);
  return key;
}

/** Reject bytes after the last field. */
export function checkEnd(br: bio.BufferReader): void {
  // [REJECT] trailing bytes after the last field
  if (br.left() !== 0)
    throw malformed(decodeCodes.TRAILING);
}

/** Size of a varint-prefixed byte string. */
export function sizeVarBytes(size: number): number {
  if (size < 0xfd)
    return 1 + size;
  if (size <= 0xffff)
    return 3 + size;
  return 5 + size;
}

/** Size of a varint. */
export function sizeVarint(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}
