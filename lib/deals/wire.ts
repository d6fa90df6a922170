/*!
 * wire.ts - args and bodies of the `storage` service (bio.Struct each).
 *
 * These travel inside csreq/csres envelopes (args / body), so every reader
 * uses the negotiator's checked readers: lengths are compared with limits
 * and with the bytes left before anything is allocated, and trailing bytes
 * are rejected. Layouts are in docs/PROTOCOL.md section 5.
 */

import bio = require('bufio');
import { SignedStruct, StrictStruct, type Signer } from '../base/signed';
import {
  readAmount, readFixed, readLength, readPubkey, readU32, readU8, writeAmount, sizeVarBytes,
  malformed, decodeCodes
} from '../negotiator/wire';
import { MAX_OBJECT_SIZE, MAX_SEALED_SIZE, MAX_URL_SIZE, OFFER_TAG, RECEIPT_TAG } from './common';
import type { Prices } from './pricing';

function readSize(br: bio.BufferReader): number {
  const size = readAmount(br);
  // [REJECT] object larger than one contract may hold
  if (size > MAX_OBJECT_SIZE)
    throw malformed(decodeCodes.OVERSIZED);
  return size;
}

function readPrices(br: bio.BufferReader): Prices {
  return { storage: readAmount(br), upload: readAmount(br), download: readAmount(br) };
}

function writePrices(bw: bio.Writer, p: Prices): void {
  writeAmount(bw, p.storage);
  writeAmount(bw, p.upload);
  writeAmount(bw, p.download);
}

function readString(br: bio.BufferReader, max: number): string {
  const raw = br.readBytes(readLength(br, max));
  const text = raw.toString('utf8');
  // [REJECT] not printable ASCII
  if (!/^[\x21-\x7e]*$/.test(text))
    throw malformed(decodeCodes.BAD_URL);
  return text;
}

/** `quote` args: how much, for how long. */
export class QuoteArgs extends StrictStruct {
  size = 0;
  duration = 0;

  getSize(): number {
    return 12;
  }

  write(bw: bio.Writer): bio.Writer {
    writeAmount(bw, this.size);
    bw.writeU32(this.duration);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.size = readSize(br);
    this.duration = readU32(br);
    return this;
  }
}

/** `quote` body: the host's prices and limits now. */
export class Quote extends StrictStruct {
  prices: Prices = { storage: 0, upload: 0, download: 0 };
  maxDuration = 0;
  freeCapacity = 0;
  height = 0;
  offerWindow = 0;

  getSize(): number {
    return 24 + 4 + 8 + 4 + 4;
  }

  write(bw: bio.Writer): bio.Writer {
    writePrices(bw, this.prices);
    bw.writeU32(this.maxDuration);
    writeAmount(bw, this.freeCapacity);
    bw.writeU32(this.height);
    bw.writeU32(this.offerWindow);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.prices = readPrices(br);
    this.maxDuration = readU32(br);
    this.freeCapacity = readAmount(br);
    this.height = readU32(br);
    this.offerWindow = readU32(br);
    return this;
  }

  getJSON(): Record<string, unknown> {
    return { ...this.prices, maxDuration: this.maxDuration, freeCapacity: this.freeCapacity,
      height: this.height, offerWindow: this.offerWindow };
  }
}

/** `offer` args: the terms the renter bids. */
export class OfferArgs extends StrictStruct {
  size = 0;
  duration = 0;
  bid: Prices = { storage: 0, upload: 0, download: 0 };

  getSize(): number {
    return 12 + 24;
  }

  write(bw: bio.Writer): bio.Writer {
    writeAmount(bw, this.size);
    bw.writeU32(this.duration);
    writePrices(bw, this.bid);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.size = readSize(br);
    this.duration = readU32(br);
    this.bid = readPrices(br);
    return this;
  }
}

/**
 * A host's signed offer: capacity reserved for this renter until
 * `expiryHeight` at these prices, with the host escrow key to put in the
 * contract. sig = host identity over TH("cc/offer/0", unsigned encoding).
 */
export class Offer extends SignedStruct {
  hostKey: Buffer = Buffer.alloc(33);
  renterKey: Buffer = Buffer.alloc(33);
  hostEscrowKey: Buffer = Buffer.alloc(33);
  size = 0;
  duration = 0;
  prices: Prices = { storage: 0, upload: 0, download: 0 };
  height = 0;
  expiryHeight = 0;
  dataURL = '';

  get tag(): string {
    return OFFER_TAG;
  }

  /** The host signs its offers. */
  signerKey(): Buffer {
    return this.hostKey;
  }

  protected setSignerKey(key: Buffer): void {
    this.hostKey = key;
  }

  getUnsignedSize(): number {
    return 99 + 12 + 24 + 8 + sizeVarBytes(Buffer.byteLength(this.dataURL));
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.hostKey);
    bw.writeBytes(this.renterKey);
    bw.writeBytes(this.hostEscrowKey);
    writeAmount(bw, this.size);
    bw.writeU32(this.duration);
    writePrices(bw, this.prices);
    bw.writeU32(this.height);
    bw.writeU32(this.expiryHeight);
    bw.writeVarString(this.dataURL, 'ascii');
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    this.hostKey = readPubkey(br);
    this.renterKey = readPubkey(br);
    this.hostEscrowKey = readPubkey(br);
    this.size = readSize(br);
    this.duration = readU32(br);
    this.prices = readPrices(br);
    this.height = readU32(br);
    this.expiryHeight = readU32(br);
    this.dataURL = readString(br, MAX_URL_SIZE);
  }

  hash(): Buffer {
    return this.signatureHash();
  }

  /** Sign as the host, who becomes `hostKey`. */
  sign(host: Signer): this {
    return this.signWith(host);
  }

  verify(): boolean {
    return this.verifyWith(null);
  }

  getJSON(): Record<string, unknown> {
    return {
      hostKey: this.hostKey.toString('hex'),
      renterKey: this.renterKey.toString('hex'),
      hostEscrowKey: this.hostEscrowKey.toString('hex'),
      size: this.size,
      duration: this.duration,
      prices: { ...this.prices },
      height: this.height,
      expiryHeight: this.expiryHeight,
      dataURL: this.dataURL,
      sig: this.sig.toString('hex')
    };
  }
}

/** `propose` body: the host's countersignature and sealed upload tokens. */
export class ProposeResult extends StrictStruct {
  hostSig: Buffer = Buffer.alloc(64);
  dataURL = '';
  /** Sealed (see seal.ts) `put` token for object 1, the file. */
  dataToken: Buffer = Buffer.alloc(0);
  /** Sealed `put` token for object 0, the renter's manifest. */
  manifestToken: Buffer = Buffer.alloc(0);

  getSize(): number {
    return 64 + sizeVarBytes(Buffer.byteLength(this.dataURL))
      + sizeVarBytes(this.dataToken.length) + sizeVarBytes(this.manifestToken.length);
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.hostSig);
    bw.writeVarString(this.dataURL, 'ascii');
    bw.writeVarBytes(this.dataToken);
    bw.writeVarBytes(this.manifestToken);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.hostSig = readFixed(br, 64);
    this.dataURL = readString(br, MAX_URL_SIZE);
    this.dataToken = br.readBytes(readLength(br, MAX_SEALED_SIZE));
    this.manifestToken = br.readBytes(readLength(br, MAX_SEALED_SIZE));
    return this;
  }
}

/** Args naming one contract: `receipt`, `token`. */
export class ContractArgs extends StrictStruct {
  id: Buffer = Buffer.alloc(32);

  getSize(): number {
    return 32;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.id);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.id = readFixed(br, 32);
    return this;
  }
}

/**
 * A host's receipt for a complete upload: the file server holds `size`
 * bytes with Merkle root `root` for contract `id`.
 * sig = host identity over TH("cc/receipt/0", id || root || u64 size).
 */
export class Receipt extends SignedStruct {
  id: Buffer = Buffer.alloc(32);
  root: Buffer = Buffer.alloc(32);
  size = 0;

  get tag(): string {
    return RECEIPT_TAG;
  }

  getUnsignedSize(): number {
    return 32 + 32 + 8;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.id);
    bw.writeBytes(this.root);
    writeAmount(bw, this.size);
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    this.id = readFixed(br, 32);
    this.root = readFixed(br, 32);
    this.size = readSize(br);
  }

  hash(): Buffer {
    return this.signatureHash();
  }

  sign(host: Signer): this {
    return this.signWith(host);
  }

  /** True if the contract's host (`hostKey`) signed this receipt. */
  verify(hostKey: Buffer): boolean {
    return this.verifyWith(hostKey);
  }
}

/** `token` body: a sealed `get` token and where to use it. */
export class TokenResult extends StrictStruct {
  dataURL = '';
  token: Buffer = Buffer.alloc(0);

  getSize(): number {
    return sizeVarBytes(Buffer.byteLength(this.dataURL)) + sizeVarBytes(this.token.length);
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeVarString(this.dataURL, 'ascii');
    bw.writeVarBytes(this.token);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.dataURL = readString(br, MAX_URL_SIZE);
    this.token = br.readBytes(readLength(br, MAX_SEALED_SIZE));
    return this;
  }
}

/** Token op codes inside `token` args. */
export const tokenOps = { GET: 0, PUT: 1 } as const;

export { readU8 };
