/*!
 * envelope.ts - the OpenCloud request and response packets.
 *
 * `csreq` (a signed request, with its payment field), `csreqc` (a request
 * carrying coin proofs) and `csres` (the signed response). Layouts are in
 * docs/PROTOCOL.md section 2; decoders check every length against
 * common.ts before allocating and reject trailing bytes.
 */

import bio = require('bufio');
import { tags } from '../base/hash';
import { NetworkSignedStruct } from '../base/signed';
import {
  PUBKEY_SIZE, SIG_SIZE, HASH_SIZE, NONCE_SIZE, MAX_ARGS_SIZE, MAX_BODY_SIZE, MAX_PAYMENT_SIZE, MAX_STATUS_SIZE,
  STATUS_RE
} from './common';
import {
  decodeCodes, malformed, readU8, readAmount, writeAmount, readFixed, readVarBytes, readName, readPubkey,
  sizeVarBytes, sizeVarint, readLength
} from './wire';
import { COIN_PROOF_SIZE, MAX_COIN_PROOFS, readProof, writeProof, type CoinProof } from './coins';
import { ZERO_HASH, ZERO_KEY, ZERO_NONCE } from '../base/consts';
import { commands, types } from './packettypes';

/** Payment types of a request. */
export const paymentTypes = {
  /** Nothing offered. */
  NONE: 0,
  /** A new payment-channel state travels inside the request. */
  ATTACHED: 1,
  /** Charge to the client's credit counter, up to the server's limit. */
  DEFER: 2
} as const;

export type PaymentType = typeof paymentTypes[keyof typeof paymentTypes];

export const paymentTypesByVal: Record<PaymentType, keyof typeof paymentTypes> = {
  [paymentTypes.NONE]: 'NONE',
  [paymentTypes.ATTACHED]: 'ATTACHED',
  [paymentTypes.DEFER]: 'DEFER'
};

/** Payment field of a request. */
export class Payment extends bio.Struct {
  type: PaymentType = paymentTypes.NONE;
  /** Satoshis offered (attached, defer); 0 with none. */
  amount = 0;
  /** Opaque channel-state bytes (attached only); checked by the payment hook. */
  data: Buffer = Buffer.alloc(0);

  getSize(): number {
    return 1 + 8 + sizeVarBytes(this.data.length);
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU8(this.type);
    writeAmount(bw, this.amount);
    bw.writeVarBytes(this.data);
    return bw;
  }

  read(br: bio.BufferReader): this {
    const type = readU8(br);
    // [REJECT] unknown payment type
    if (type !== paymentTypes.NONE && type !== paymentTypes.ATTACHED && type !== paymentTypes.DEFER)
      throw malformed(decodeCodes.BAD_PAYMENT);
    this.type = type;
    this.amount = readAmount(br);
    this.data = readVarBytes(br, MAX_PAYMENT_SIZE);
    // [REJECT] `none` offers nothing
    if (type === paymentTypes.NONE && (this.amount !== 0 || this.data.length !== 0))
      throw malformed(decodeCodes.BAD_PAYMENT);
    // [REJECT] only `attached` carries channel-state bytes
    if (type === paymentTypes.DEFER && this.data.length !== 0)
      throw malformed(decodeCodes.BAD_PAYMENT);
    return this;
  }

  getJSON(): object {
    return {
      type: paymentTypesByVal[this.type].toLowerCase(),
      amount: this.amount,
      data: this.data.toString('hex')
    };
  }

  static none(): Payment {
    return new Payment();
  }

  static from(type: PaymentType, amount: number, data?: Buffer): Payment {
    const p = new Payment();
    p.type = type;
    p.amount = amount;
    p.data = data ?? Buffer.alloc(0);
    return p;
  }
}

/**
 * `csreq`: the OpenCloud request envelope. Signed by `from` over
 * TH('cc/env/0', magic u32 LE || every field but sig); that hash is also the
 * request's id, which the response quotes.
 */
export class RequestPacket extends NetworkSignedStruct {
  readonly type = types.REQUEST;
  from: Buffer = ZERO_KEY;
  to: Buffer = ZERO_KEY;
  nonce: Buffer = ZERO_NONCE;
  service = '';
  method = '';
  args: Buffer = Buffer.alloc(0);
  payment: Payment = new Payment();

  get cmd(): string {
    return commands[this.type];
  }

  get tag(): string {
    return tags.ENVELOPE;
  }

  signerKey(): Buffer {
    return this.from;
  }

  protected setSignerKey(key: Buffer): void {
    this.from = key;
  }

  getUnsignedSize(): number {
    return PUBKEY_SIZE * 2 + NONCE_SIZE
      + sizeVarBytes(this.service.length) + sizeVarBytes(this.method.length)
      + sizeVarBytes(this.args.length) + this.payment.getSize();
  }

  getSize(): number {
    return this.getUnsignedSize() + SIG_SIZE;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.from);
    bw.writeBytes(this.to);
    bw.writeBytes(this.nonce);
    bw.writeVarString(this.service, 'latin1');
    bw.writeVarString(this.method, 'latin1');
    bw.writeVarBytes(this.args);
    this.payment.write(bw);
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    this.from = readPubkey(br);
    this.to = readPubkey(br);
    this.nonce = readFixed(br, NONCE_SIZE);
    this.service = readName(br);
    this.method = readName(br);
    this.args = readVarBytes(br, MAX_ARGS_SIZE);
    this.payment = new Payment().read(br);
  }

  getJSON(): object {
    return {
      from: this.from.toString('hex'),
      to: this.to.toString('hex'),
      nonce: this.nonce.toString('hex'),
      service: this.service,
      method: this.method,
      args: this.args.toString('hex'),
      payment: this.payment.getJSON(),
      sig: this.sig.toString('hex')
    };
  }

}

/** Command of a request carrying coin proofs (PROTOCOL 2.11). */
export const COIN_REQUEST_CMD = 'csreqc';

/**
 * `csreqc`: a request with coin proofs (coins.ts): the csreq fields, then
 * varint n (1..MAX_COIN_PROOFS) and n proofs, then the sig, which covers
 * the proofs (tag `cc/envc/0`). Sent only in answer to
 * `request-declined/coins-required`, so only to servers that read it.
 */
export class CoinRequestPacket extends RequestPacket {
  coins: CoinProof[] = [];

  get cmd(): string {
    return COIN_REQUEST_CMD;
  }

  get tag(): string {
    return COIN_ENVELOPE_TAG;
  }

  getUnsignedSize(): number {
    return super.getUnsignedSize() + sizeVarint(this.coins.length) + this.coins.length * COIN_PROOF_SIZE;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    super.writeUnsigned(bw);
    bw.writeVarint(this.coins.length);
    for (const c of this.coins)
      writeProof(bw, c);
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    super.readUnsigned(br);
    const n = readLength(br, MAX_COIN_PROOFS);
    // [REJECT] a csreqc without proofs (a csreq says that)
    if (n === 0)
      throw malformed(decodeCodes.OVERSIZED);
    this.coins = [];
    for (let i = 0; i < n; i++)
      this.coins.push(readProof(br));
  }

  getJSON(): object {
    return { ...super.getJSON(), coins: this.coins.map((c) => ({
      hash: c.hash.toString('hex'), index: c.index, pubkey: c.pubkey.toString('hex'), sig: c.sig.toString('hex')
    })) };
  }
}

/** Tag of a csreqc's signature. */
export const COIN_ENVELOPE_TAG = 'cc/envc/0';

/**
 * `csres`: the response. Signed by the request's `to` over
 * TH('cc/res/0', magic u32 LE || every field but sig), which covers the
 * request hash, so a response cannot be replayed for another request.
 */
export class ResponsePacket extends NetworkSignedStruct {
  readonly type = types.RESPONSE;
  requestHash: Buffer = ZERO_HASH;
  status = '';
  body: Buffer = Buffer.alloc(0);
  /** The next nonce the client may use with this server; zero if none issued. */
  nextNonce: Buffer = ZERO_NONCE;

  get cmd(): string {
    return commands[this.type];
  }

  get tag(): string {
    return tags.RESPONSE;
  }

  getUnsignedSize(): number {
    return HASH_SIZE + sizeVarBytes(this.status.length)
      + sizeVarBytes(this.body.length) + NONCE_SIZE;
  }

  getSize(): number {
    return this.getUnsignedSize() + SIG_SIZE;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.requestHash);
    bw.writeVarString(this.status, 'latin1');
    bw.writeVarBytes(this.body);
    bw.writeBytes(this.nextNonce);
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    this.requestHash = readFixed(br, HASH_SIZE);
    const status = br.readBytes(readLength(br, MAX_STATUS_SIZE)).toString('latin1');
    // [REJECT] statuses are lowercase `/`-separated segments
    if (!STATUS_RE.test(status))
      throw malformed(decodeCodes.BAD_STATUS);
    this.status = status;
    this.body = readVarBytes(br, MAX_BODY_SIZE);
    this.nextNonce = readFixed(br, NONCE_SIZE);
  }

  hasNextNonce(): boolean {
    return !this.nextNonce.equals(ZERO_NONCE);
  }

  getJSON(): object {
    return {
      requestHash: this.requestHash.toString('hex'),
      status: this.status,
      body: this.body.toString('hex'),
      nextNonce: this.nextNonce.toString('hex'),
      sig: this.sig.toString('hex')
    };
  }

}

/** Check a status string before putting it on the wire (programmer errors). */
export function isValidStatus(status: string): boolean {
  return status.length <= MAX_STATUS_SIZE && STATUS_RE.test(status);
}
