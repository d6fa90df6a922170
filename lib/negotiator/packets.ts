/*!
 * packets.ts - the cs* P2P packets of the CloudStorage layer.
 *
 * Each packet is a bio.Struct carried as the payload of a bcoin
 * UnknownPacket whose command starts with `cs` (at most 11 chars). Layouts
 * are in docs/PROTOCOL.md section 2. Decoders check every length against
 * common.ts before allocating and reject trailing bytes.
 */

import bio = require('bufio');
import { tags } from '../base/hash';
import { SignedStruct, StrictStruct, magicBytes, type Signer } from '../base/signed';
import {
  PUBKEY_SIZE, SIG_SIZE, HASH_SIZE, NONCE_SIZE, CHALLENGE_SIZE, AUTH_TAG, MAX_ARGS_SIZE, MAX_BODY_SIZE,
  MAX_PAYMENT_SIZE, MAX_STATUS_SIZE, STATUS_RE, MAX_URL_SIZE, MAX_HOST_ADDRS, MAX_NET_ADDR_SIZE
} from './common';
import {
  decodeCodes, malformed, readU8, readU32, readAmount, writeAmount, readFixed,
  readVarBytes, readName, readPubkey, sizeVarBytes, sizeVarint, readLength, readU16BE
} from './wire';
import { PacketError } from '../base/errors';
import { COIN_PROOF_SIZE, MAX_COIN_PROOFS, readProof, writeProof, type CoinProof } from './coins';
import { ZERO_HASH, ZERO_KEY, ZERO_NONCE } from '../base/consts';

/** Packet types. */
export const types = {
  HELLO: 0,
  AUTH: 1,
  REQUEST: 2,
  RESPONSE: 3,
  ANNOUNCE: 4,
  ANNOUNCE2: 5
} as const;

export type PacketType = typeof types[keyof typeof types];

/** Packet type names by value. */
export const typesByVal: Record<PacketType, keyof typeof types> = {
  [types.HELLO]: 'HELLO',
  [types.AUTH]: 'AUTH',
  [types.REQUEST]: 'REQUEST',
  [types.RESPONSE]: 'RESPONSE',
  [types.ANNOUNCE]: 'ANNOUNCE',
  [types.ANNOUNCE2]: 'ANNOUNCE2'
};

/** P2P command of each packet type. */
export const commands: Record<PacketType, string> = {
  [types.HELLO]: 'cshello',
  [types.AUTH]: 'csauth',
  [types.REQUEST]: 'csreq',
  [types.RESPONSE]: 'csres',
  [types.ANNOUNCE]: 'csannounce',
  [types.ANNOUNCE2]: 'csannounce2'
};

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

export type { Signer };

/**
 * `cshello`: sent once per connection by each side after the version
 * handshake, when the other side advertises NODE_CLOUDSTORAGE. It claims an
 * identity key and carries a fresh random challenge; the other side proves
 * its own claim by signing our challenge in `csauth`.
 */
export class HelloPacket extends StrictStruct {
  readonly type = types.HELLO;
  version = 0;
  publicKey: Buffer = ZERO_KEY;
  challenge: Buffer = Buffer.alloc(CHALLENGE_SIZE);

  get cmd(): string {
    return commands[this.type];
  }

  getSize(): number {
    return 4 + PUBKEY_SIZE + CHALLENGE_SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU32(this.version);
    bw.writeBytes(this.publicKey);
    bw.writeBytes(this.challenge);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.version = readU32(br);
    this.publicKey = readPubkey(br);
    this.challenge = readFixed(br, CHALLENGE_SIZE);
    return this;
  }

  getJSON(): object {
    return {
      version: this.version,
      publicKey: this.publicKey.toString('hex'),
      challenge: this.challenge.toString('hex')
    };
  }

  static fromOptions(version: number, publicKey: Buffer, challenge: Buffer): HelloPacket {
    const p = new HelloPacket();
    p.version = version;
    p.publicKey = publicKey;
    p.challenge = challenge;
    return p;
  }
}

/**
 * `csauth`: proof of the identity claimed in our hello. `sig` is the
 * sender's signature over TH('cc/auth/0', magic u32 LE || the receiver's
 * hello challenge || the sender's identity key), so it cannot be replayed
 * on another connection or network.
 */
export class AuthPacket extends SignedStruct {
  readonly type = types.AUTH;

  get cmd(): string {
    return commands[this.type];
  }

  get tag(): string {
    return AUTH_TAG;
  }

  /** Nothing but the signature: what it covers is all context. */
  getUnsignedSize(): number {
    return 0;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    return bw;
  }

  readUnsigned(): void {}

  getJSON(): object {
    return { sig: this.sig.toString('hex') };
  }

  static hash(magic: number, challenge: Buffer, publicKey: Buffer): Buffer {
    return new AuthPacket().signatureHash(magicBytes(magic), challenge, publicKey);
  }

  /** Prove `signer`'s identity against the peer's `challenge`. */
  static create(signer: Signer, magic: number, challenge: Buffer): AuthPacket {
    return new AuthPacket().signWith(signer, magicBytes(magic), challenge, signer.publicKey);
  }

  verify(magic: number, challenge: Buffer, publicKey: Buffer): boolean {
    return this.verifyWith(publicKey, magicBytes(magic), challenge, publicKey);
  }
}

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
export class RequestPacket extends SignedStruct {
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

  /** Request id and signing hash. */
  hash(magic: number): Buffer {
    return this.signatureHash(magicBytes(magic));
  }

  /** Sign as `signer`, who becomes `from`. */
  sign(signer: Signer, magic: number): this {
    return this.signWith(signer, magicBytes(magic));
  }

  verify(magic: number): boolean {
    return this.verifyWith(null, magicBytes(magic));
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
export class ResponsePacket extends SignedStruct {
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

  hash(magic: number): Buffer {
    return this.signatureHash(magicBytes(magic));
  }

  sign(signer: Signer, magic: number): this {
    return this.signWith(signer, magicBytes(magic));
  }

  /** True if the request's `to` (`publicKey`) signed this response. */
  verify(magic: number, publicKey: Buffer): boolean {
    return this.verifyWith(publicKey, magicBytes(magic));
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

/** URL syntax: http(s), printable ASCII, no spaces. */
export const URL_RE = /^https?:\/\/[\x21-\x7e]+$/;

/** What a host announces. */
export interface HostOffer {
  /** File-server base URL. */
  url: string;
  /** Sat per GiB per 1000 blocks. */
  storagePrice: number;
  /** Sat per GiB uploaded. */
  uploadPrice: number;
  /** Sat per GiB downloaded. */
  downloadPrice: number;
  /** Free bytes offered. */
  capacity: number;
  /** Longest contract, in blocks. */
  maxDuration: number;
  /** Last block height at which the announcement holds. */
  expiry: number;
}

/** How a renter reaches a host at an announced address (`csannounce2`). */
export const addrKinds = {
  /** The host's negotiator accepts P2P connections here. */
  DIRECT: 0,
  /** A node the host keeps a connection to: ask it to have the host dial back (`peers.connect`). */
  RELAY: 1
} as const;

/** Address networks, numbered as BIP155 (addrv2) numbers them. */
export const netIds = {
  IPV4: 1,
  IPV6: 2
} as const;

/** Address bytes per known network; other networks are kept opaque (onion later). */
const NET_SIZES: Record<number, number> = { [netIds.IPV4]: 4, [netIds.IPV6]: 16 };

/** `csannounce2` flags. */
export const announceFlags = {
  /** The host stopped hosting: no offer, no addresses; replaces what it announced before. */
  WITHDRAWN: 1
} as const;

const KNOWN_FLAGS = announceFlags.WITHDRAWN;

/**
 * One P2P address in a `csannounce2`: kind u8, network u8 (BIP155 ids),
 * varbytes address (4 bytes IPv4, 16 IPv6, at most 32 for networks we do
 * not know yet), port u16 big-endian (as Bitcoin's addr messages).
 */
export class HostAddr extends StrictStruct {
  kind = 0;
  net: number = netIds.IPV4;
  ip: Buffer = Buffer.alloc(4);
  port = 0;

  getSize(): number {
    return 2 + sizeVarBytes(this.ip.length) + 2;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU8(this.kind);
    bw.writeU8(this.net);
    bw.writeVarBytes(this.ip);
    bw.writeU16BE(this.port);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.kind = readU8(br);
    this.net = readU8(br);
    this.ip = readVarBytes(br, MAX_NET_ADDR_SIZE);
    const size = NET_SIZES[this.net];
    // [REJECT] a known network with an address of the wrong size
    if (size !== undefined && this.ip.length !== size)
      throw malformed(decodeCodes.BAD_ADDR);
    this.port = readU16BE(br);
    // [REJECT] port 0 cannot be dialled
    if (this.port === 0)
      throw malformed(decodeCodes.BAD_ADDR);
    return this;
  }

  /** `ip:port` / `[ipv6]:port` for the networks we dial, else null. */
  toHostname(): string | null {
    if (this.net === netIds.IPV4)
      return `${[...this.ip].join('.')}:${this.port}`;
    if (this.net === netIds.IPV6) {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2)
        groups.push(this.ip.readUInt16BE(i).toString(16));
      return `[${groups.join(':')}]:${this.port}`;
    }
    return null;
  }

  getJSON(): object {
    return {
      kind: this.kind === addrKinds.DIRECT ? 'direct' : this.kind === addrKinds.RELAY ? 'relay' : this.kind,
      addr: this.toHostname() ?? `net${this.net}:${this.ip.toString('hex')}:${this.port}`
    };
  }

  /** An address from `ip:port` or `[ipv6]:port`; null when it is neither. */
  static fromHostname(kind: number, hostname: string): HostAddr | null {
    const a = new HostAddr();
    a.kind = kind;
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(hostname);
    const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(hostname);
    if (v4) {
      const bytes = v4.slice(1, 5).map(Number);
      if (bytes.some(b => b > 255))
        return null;
      a.net = netIds.IPV4;
      a.ip = Buffer.from(bytes);
      a.port = Number(v4[5]);
    } else if (v6) {
      const raw = ipv6Bytes(v6[1]);
      if (!raw)
        return null;
      a.net = netIds.IPV6;
      a.ip = raw;
      a.port = Number(v6[2]);
    } else {
      return null;
    }
    return a.port > 0 && a.port <= 0xffff ? a : null;
  }
}

/** Sixteen bytes of an IPv6 address (an IPv4 tail allowed), or null. */
function ipv6Bytes(text: string): Buffer | null {
  let addr = text.toLowerCase();
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (tail) {
    const b = tail.slice(1, 5).map(Number);
    if (b.some(x => x > 255))
      return null;
    addr = addr.slice(0, tail.index) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const halves = addr.split('::');
  if (halves.length > 2)
    return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - rest.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0)
    return null;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...rest];
  if (!groups.every(g => /^[0-9a-f]{1,4}$/.test(g)))
    return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/**
 * A host announcement. Version 1 (`csannounce`) carries the offer; version
 * 2 (`csannounce2`) adds flags and the host's P2P addresses. Signed by
 * `publicKey` over TH(tag, magic u32 LE || every field but sig), tag
 * `cc/announce/0` (v1) or `cc/announce/1` (v2). Layouts: PROTOCOL 2.9.
 */
export class AnnouncePacket extends SignedStruct implements HostOffer {
  /** 1 or 2 (the command tells them apart). */
  version: 1 | 2 = 2;
  publicKey: Buffer = ZERO_KEY;
  seq = 0;
  expiry = 0;
  /** v2 only: announceFlags. */
  flags = 0;
  url = '';
  storagePrice = 0;
  uploadPrice = 0;
  downloadPrice = 0;
  capacity = 0;
  maxDuration = 0;
  /** v2 only: at most MAX_HOST_ADDRS. */
  addrs: HostAddr[] = [];

  get type(): typeof types.ANNOUNCE | typeof types.ANNOUNCE2 {
    return this.version === 1 ? types.ANNOUNCE : types.ANNOUNCE2;
  }

  get cmd(): string {
    return commands[this.type];
  }

  get tag(): string {
    return this.version === 1 ? tags.ANNOUNCE : tags.ANNOUNCE2;
  }

  get withdrawn(): boolean {
    return (this.flags & announceFlags.WITHDRAWN) !== 0;
  }

  signerKey(): Buffer {
    return this.publicKey;
  }

  protected setSignerKey(key: Buffer): void {
    this.publicKey = key;
  }

  getUnsignedSize(): number {
    let size = PUBKEY_SIZE + 4 + 4 + sizeVarBytes(this.url.length) + 8 * 4 + 4;
    if (this.version === 2) {
      size += 1 + sizeVarint(this.addrs.length);
      for (const a of this.addrs)
        size += a.getSize();
    }
    return size;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.publicKey);
    bw.writeU32(this.seq);
    bw.writeU32(this.expiry);
    if (this.version === 2)
      bw.writeU8(this.flags);
    bw.writeVarString(this.url, 'latin1');
    writeAmount(bw, this.storagePrice);
    writeAmount(bw, this.uploadPrice);
    writeAmount(bw, this.downloadPrice);
    writeAmount(bw, this.capacity);
    bw.writeU32(this.maxDuration);
    if (this.version === 2) {
      bw.writeVarint(this.addrs.length);
      for (const a of this.addrs)
        a.write(bw);
    }
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    this.publicKey = readPubkey(br);
    this.seq = readU32(br);
    this.expiry = readU32(br);
    if (this.version === 2) {
      this.flags = readU8(br);
      // [REJECT] flags this version does not define
      if ((this.flags & ~KNOWN_FLAGS) !== 0)
        throw malformed(decodeCodes.BAD_FLAGS);
    }
    const url = br.readBytes(readLength(br, MAX_URL_SIZE)).toString('latin1');
    // [REJECT] file-server URL is not an http(s) URL (a withdrawal may have none)
    if (!URL_RE.test(url) && !(this.withdrawn && url === ''))
      throw malformed(decodeCodes.BAD_URL);
    this.url = url;
    this.storagePrice = readAmount(br);
    this.uploadPrice = readAmount(br);
    this.downloadPrice = readAmount(br);
    // Capacity is bytes, not sat, but 2.1e15 bytes (2 PB) is a fine cap too.
    this.capacity = readAmount(br);
    this.maxDuration = readU32(br);
    if (this.version === 2)
      this.readAddrs(br);
  }

  private readAddrs(br: bio.BufferReader): void {
    const count = readLength(br, MAX_HOST_ADDRS);
    this.addrs = [];
    for (let i = 0; i < count; i++)
      this.addrs.push(new HostAddr().read(br));
    // [REJECT] a withdrawal offers nothing and cannot be reached
    if (this.withdrawn && (this.addrs.length !== 0 || this.capacity !== 0))
      throw malformed(decodeCodes.BAD_FLAGS);
  }

  hash(magic: number): Buffer {
    return this.signatureHash(magicBytes(magic));
  }

  /** Sign as `signer`, who becomes `publicKey`. */
  sign(signer: Signer, magic: number): this {
    return this.signWith(signer, magicBytes(magic));
  }

  verify(magic: number): boolean {
    return this.verifyWith(null, magicBytes(magic));
  }

  /** Addresses of one kind that we can dial, as `ip:port`. */
  hostnames(kind: number): string[] {
    const out: string[] = [];
    for (const a of this.addrs) {
      const name = a.kind === kind ? a.toHostname() : null;
      if (name)
        out.push(name);
    }
    return out;
  }

  getJSON(): object {
    return {
      version: this.version,
      publicKey: this.publicKey.toString('hex'),
      seq: this.seq,
      expiry: this.expiry,
      flags: this.flags,
      url: this.url,
      storagePrice: this.storagePrice,
      uploadPrice: this.uploadPrice,
      downloadPrice: this.downloadPrice,
      capacity: this.capacity,
      maxDuration: this.maxDuration,
      addrs: this.addrs.map(a => a.getJSON()),
      sig: this.sig.toString('hex')
    };
  }

}

/**
 * A version-1 announcement (`csannounce`), as older nodes send it: a class
 * of its own so `AnnounceV1Packet.decode` reads that layout.
 */
export class AnnounceV1Packet extends AnnouncePacket {
  version: 1 | 2 = 1;
}

export type Packet = HelloPacket | AuthPacket | RequestPacket | ResponsePacket | AnnouncePacket;

/** True for commands this layer owns. */
export function isCloudCommand(cmd: string): boolean {
  return cmd.startsWith('cs');
}

/**
 * Decode the payload of cs* command `cmd`. Throws PacketError: `reject`
 * for malformed payloads, `ignore` (score 0) for cs commands we do not know,
 * which a newer peer may send.
 */
export function decode(cmd: string, data: Buffer): Packet {
  switch (cmd) {
    case commands[types.HELLO]:
      return HelloPacket.decode(data);
    case commands[types.AUTH]:
      return AuthPacket.decode(data);
    case commands[types.REQUEST]:
      return RequestPacket.decode(data);
    case COIN_REQUEST_CMD:
      return CoinRequestPacket.decode(data);
    case commands[types.RESPONSE]:
      return ResponsePacket.decode(data);
    case commands[types.ANNOUNCE]:
      return AnnounceV1Packet.decode(data);
    case commands[types.ANNOUNCE2]:
      return new AnnouncePacket().decode(data);
  }
  throw new PacketError(decodeCodes.UNKNOWN_COMMAND, 'ignore', 0);
}

/** Check a status string before putting it on the wire (programmer errors). */
export function isValidStatus(status: string): boolean {
  return status.length <= MAX_STATUS_SIZE && STATUS_RE.test(status);
}

