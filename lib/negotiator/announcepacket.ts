/*!
 * announcepacket.ts - a host's announcement: its offer and the addresses
 * renters reach it at (`csannounce`, `csannounce2`).
 *
 * Layouts are in docs/PROTOCOL.md section 2; decoders check every length
 * against common.ts before allocating and reject trailing bytes.
 */

import bio = require('bufio');
import { tags } from '../base/hash';
import { NetworkSignedStruct, StrictStruct } from '../base/signed';
import { PUBKEY_SIZE, MAX_URL_SIZE, MAX_HOST_ADDRS, MAX_NET_ADDR_SIZE } from './common';
import {
  decodeCodes, malformed, readU8, readU32, readAmount, writeAmount, readVarBytes, readPubkey, sizeVarBytes,
  sizeVarint, readLength, readU16BE
} from './wire';
import { ZERO_KEY } from '../base/consts';
import { commands, types } from './packettypes';

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
export class AnnouncePacket extends NetworkSignedStruct implements HostOffer {
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
