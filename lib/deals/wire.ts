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
  readAmount, readFixed, readLength, readPubkey, readU32, readU8, writeAmount, sizeVarBytes, sizeVarint,
  malformed, decodeCodes
} from '../negotiator/wire';
import { StorageContract } from '../contracts/storagecontract';
import { REVISION_SIZE, Revision } from '../contracts/revision';
import { CHANNEL_STATE_SIZE, ChannelState } from '../contracts/channel';
import type { ObjectEntry } from '../contracts/objecttree';
import { MAX_ADDED_OBJECTS, MAX_OBJECT_SIZE, MAX_REMOVED_OBJECTS, MAX_SEALED_SIZE, MAX_URL_SIZE, OFFER_TAG } from './common';
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

/** Bytes of one object on the wire: u32 id || root(32) || u64 size (the object leaf's preimage). */
export const OBJECT_ENTRY_SIZE = 44;

export function writeObjects(bw: bio.Writer, list: readonly ObjectEntry[]): void {
  bw.writeVarint(list.length);
  for (const e of list) {
    bw.writeU32(e.id);
    bw.writeBytes(e.root);
    writeAmount(bw, e.size);
  }
}

export function readObjects(br: bio.BufferReader, max: number): ObjectEntry[] {
  const n = readLength(br, max);
  // [REJECT] a count the bytes left cannot hold (checked before looping)
  if (n * OBJECT_ENTRY_SIZE > br.left())
    throw malformed(decodeCodes.TRUNCATED);
  const out: ObjectEntry[] = [];
  for (let i = 0; i < n; i++)
    out.push({ id: readU32(br), root: readFixed(br, 32), size: readSize(br) });
  return out;
}

export function readRevision(br: bio.BufferReader): Revision {
  return new Revision().decode(readFixed(br, REVISION_SIZE));
}

function readContract(br: bio.BufferReader): StorageContract {
  return new StorageContract().decode(readFixed(br, new StorageContract().getSize()));
}

/**
 * `propose` args: the renter-signed contract, its renter-signed revision 0
 * and the objects revision 0 holds (empty for a renewal: the host takes the
 * renewed contract's latest objects, which it already stores).
 */
export class ProposeArgs extends StrictStruct {
  contract: StorageContract = new StorageContract();
  revision: Revision = new Revision();
  objects: ObjectEntry[] = [];

  getSize(): number {
    return this.contract.getSize() + REVISION_SIZE + sizeVarint(this.objects.length)
      + OBJECT_ENTRY_SIZE * this.objects.length;
  }

  write(bw: bio.Writer): bio.Writer {
    this.contract.write(bw);
    this.revision.write(bw);
    writeObjects(bw, this.objects);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.contract = readContract(br);
    this.revision = readRevision(br);
    this.objects = readObjects(br, MAX_ADDED_OBJECTS);
    return this;
  }
}

/** Sealed `put` tokens for objects, in the order they were added. */
function writeTokens(bw: bio.Writer, tokens: readonly Buffer[]): void {
  bw.writeVarint(tokens.length);
  for (const t of tokens)
    bw.writeVarBytes(t);
}

function readTokens(br: bio.BufferReader): Buffer[] {
  const n = readLength(br, MAX_ADDED_OBJECTS);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++)
    out.push(br.readBytes(readLength(br, MAX_SEALED_SIZE)));
  return out;
}

function tokensSize(tokens: readonly Buffer[]): number {
  return tokens.reduce((sum, t) => sum + sizeVarBytes(t.length), sizeVarint(tokens.length));
}

/**
 * The host's answer to `propose` and `revise`: a signature (the contract's,
 * or the revision's when it is final at once, else zeros), where to
 * upload, sealed (seal.ts) `put` tokens for the objects in order, and a
 * sealed `put` token for object 0, the renter's manifest.
 */
export class UploadGrant extends StrictStruct {
  hostSig: Buffer = Buffer.alloc(64);
  dataURL = '';
  dataTokens: Buffer[] = [];
  manifestToken: Buffer = Buffer.alloc(0);

  getSize(): number {
    return 64 + sizeVarBytes(Buffer.byteLength(this.dataURL)) + tokensSize(this.dataTokens)
      + sizeVarBytes(this.manifestToken.length);
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.hostSig);
    bw.writeVarString(this.dataURL, 'ascii');
    writeTokens(bw, this.dataTokens);
    bw.writeVarBytes(this.manifestToken);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.hostSig = readFixed(br, 64);
    this.dataURL = readString(br, MAX_URL_SIZE);
    this.dataTokens = readTokens(br);
    this.manifestToken = br.readBytes(readLength(br, MAX_SEALED_SIZE));
    return this;
  }
}

/** `propose` body: the contract countersigned, tokens for revision 0's objects (none for a renewal). */
export class ProposeResult extends UploadGrant {}

/**
 * `revise` args: revision n+1 signed by the renter, and the changes it
 * makes to revision n's objects (objects added, ids removed).
 */
export class ReviseArgs extends StrictStruct {
  revision: Revision = new Revision();
  add: ObjectEntry[] = [];
  remove: number[] = [];

  getSize(): number {
    return REVISION_SIZE + sizeVarint(this.add.length) + OBJECT_ENTRY_SIZE * this.add.length
      + sizeVarint(this.remove.length) + 4 * this.remove.length;
  }

  write(bw: bio.Writer): bio.Writer {
    this.revision.write(bw);
    writeObjects(bw, this.add);
    bw.writeVarint(this.remove.length);
    for (const id of this.remove)
      bw.writeU32(id);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.revision = readRevision(br);
    this.add = readObjects(br, MAX_ADDED_OBJECTS);
    const n = readLength(br, MAX_REMOVED_OBJECTS);
    // [REJECT] a count the bytes left cannot hold (checked before looping)
    if (n * 4 > br.left())
      throw malformed(decodeCodes.TRUNCATED);
    this.remove = [];
    for (let i = 0; i < n; i++)
      this.remove.push(readU32(br));
    return this;
  }
}

/** `revise` body: the revision's host signature if it only removes (final at once), tokens for added objects. */
export class ReviseResult extends UploadGrant {}

/** Args naming one contract: `revision` (the host's latest). */
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

/** `receipt` args: a contract and the number of the revision to make final. */
export class ReceiptArgs extends StrictStruct {
  id: Buffer = Buffer.alloc(32);
  number = 0;

  getSize(): number {
    return 40;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.id);
    writeAmount(bw, this.number);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.id = readFixed(br, 32);
    this.number = readAmount(br);
    return this;
  }
}

/**
 * `token` args: a contract and one of its data objects, or 2^32-1 for an
 * audit's token (every data object, a budget of 16 leaves).
 */
export class TokenArgs extends StrictStruct {
  id: Buffer = Buffer.alloc(32);
  object = 0;
  /**
   * The channel state prepaying the token's bytes at the contract's
   * download price (PROTOCOL 5 `token`), or null when they cost nothing.
   */
  state: ChannelState | null = null;

  getSize(): number {
    return 36 + (this.state ? CHANNEL_STATE_SIZE : 0);
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.id);
    bw.writeU32(this.object);
    if (this.state)
      this.state.write(bw);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.id = readFixed(br, 32);
    this.object = readU32(br);
    this.state = null;
    if (br.left() > 0) {
      // [REJECT] a truncated state (ChannelState checks its own fields; StrictStruct refuses trailing bytes)
      if (br.left() < CHANNEL_STATE_SIZE)
        throw malformed(decodeCodes.TRUNCATED);
      this.state = new ChannelState().read(br);
    }
    return this;
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

export { readU8 };
