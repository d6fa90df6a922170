/*!
 * coreservices.ts - the services every CloudStorage node offers:
 *
 *   info.services  -> the services with versions, methods and prices
 *   peers.list     -> connected peers that announce themselves as hosts
 *   peers.connect  -> (relay) have a connected host dial the caller back
 *   peers.dialback -> (host) dial back the renter a relay names
 *   peers.announce -> host announcements fetched on request (signed by their hosts)
 *
 * Bodies are binary (JSON never goes on the wire); each method carries a
 * decoder so `cloudrequest` can print them as JSON.
 */

import bio = require('bufio');
import {
  MAX_SERVICES, MAX_METHODS, MAX_PEERS_LISTED, MAX_ADDR_SIZE, PUBKEY_SIZE, MAX_ANNOUNCE_FETCH, MAX_ANNOUNCE_BYTES
} from './common';
import { AnnouncePacket } from './announcepacket';
import { commands, types } from './packettypes';
import { decode } from './packets';
import {
  readLength, readName, readU8, readU32, readAmount, writeAmount, readPubkey, readVarBytes,
  checkEnd, sizeVarBytes, sizeVarint, malformed, decodeCodes
} from './wire';
import { ServiceError } from './errors';
import { Service, ServiceRegistry, type RequestContext } from './services';
import { connectArgs } from './dialer';
import { emptyArgs } from './standard';

export const INFO_VERSION = 1;
/** 2 adds `connect` and `dialback`; 3 adds `announce`. */
export const PEERS_VERSION = 3;

export interface MethodInfo {
  name: string;
  price: number;
}

export interface ServiceInfo {
  name: string;
  version: number;
  methods: MethodInfo[];
}

/** Body of `info services`. */
export function encodeServices(list: ServiceInfo[]): Buffer {
  let size = sizeVarint(list.length);
  for (const s of list) {
    size += sizeVarBytes(s.name.length) + 4 + sizeVarint(s.methods.length);
    for (const m of s.methods)
      size += sizeVarBytes(m.name.length) + 8;
  }
  const bw = bio.write(size);
  bw.writeVarint(list.length);
  for (const s of list) {
    bw.writeVarString(s.name, 'latin1');
    bw.writeU32(s.version);
    bw.writeVarint(s.methods.length);
    for (const m of s.methods) {
      bw.writeVarString(m.name, 'latin1');
      writeAmount(bw, m.price);
    }
  }
  return bw.render();
}

export function decodeServices(body: Buffer): ServiceInfo[] {
  const br = bio.read(body);
  const count = readLength(br, MAX_SERVICES);
  const out: ServiceInfo[] = [];
  for (let i = 0; i < count; i++) {
    const name = readName(br);
    const version = readU32(br);
    const n = readLength(br, MAX_METHODS);
    const methods: MethodInfo[] = [];
    for (let j = 0; j < n; j++)
      methods.push({ name: readName(br), price: readAmount(br) });
    out.push({ name, version, methods });
  }
  checkEnd(br);
  return out;
}

export interface PeerEntry {
  pubkey: Buffer;
  addr: string;
}

/** Body of `peers list`. */
export function encodePeers(list: PeerEntry[]): Buffer {
  const items = list.slice(0, MAX_PEERS_LISTED);
  let size = sizeVarint(items.length);
  for (const p of items)
    size += PUBKEY_SIZE + sizeVarBytes(Buffer.byteLength(p.addr, 'latin1'));
  const bw = bio.write(size);
  bw.writeVarint(items.length);
  for (const p of items) {
    bw.writeBytes(p.pubkey);
    bw.writeVarString(p.addr, 'latin1');
  }
  return bw.render();
}

export function decodePeers(body: Buffer): PeerEntry[] {
  const br = bio.read(body);
  const count = readLength(br, MAX_PEERS_LISTED);
  const out: PeerEntry[] = [];
  for (let i = 0; i < count; i++)
    out.push({ pubkey: readPubkey(br), addr: readVarBytes(br, MAX_ADDR_SIZE).toString('latin1') });
  checkEnd(br);
  return out;
}

/** Args of `peers.announce`: varint n (<= 16); n x pubkey 33. */
export function encodeAnnounceArgs(keys: Buffer[]): Buffer {
  const bw = bio.write(sizeVarint(keys.length) + keys.length * PUBKEY_SIZE);
  bw.writeVarint(keys.length);
  for (const k of keys)
    bw.writeBytes(k);
  return bw.render();
}

/** Read `peers.announce` args; throws PacketError (malformed). */
export function decodeAnnounceArgs(args: Buffer): Buffer[] {
  const br = bio.read(args);
  const count = readLength(br, MAX_ANNOUNCE_FETCH);
  const keys: Buffer[] = [];
  for (let i = 0; i < count; i++)
    keys.push(readPubkey(br));
  checkEnd(br);
  return keys;
}

/** Body of `peers.announce`: varint m (<= 16); m x (u8 version 1|2, varbytes announcement <= 2048). */
export function encodeAnnouncements(list: AnnouncePacket[]): Buffer {
  const raws = list.map((a) => ({ version: a.version, raw: a.encode() }));
  let size = sizeVarint(raws.length);
  for (const r of raws)
    size += 1 + sizeVarBytes(r.raw.length);
  const bw = bio.write(size);
  bw.writeVarint(raws.length);
  for (const r of raws) {
    bw.writeU8(r.version);
    bw.writeVarBytes(r.raw);
  }
  return bw.render();
}

/** Read a `peers.announce` body (signatures not checked: the caller's store does); throws PacketError. */
export function decodeAnnouncements(body: Buffer): AnnouncePacket[] {
  const br = bio.read(body);
  const count = readLength(br, MAX_ANNOUNCE_FETCH);
  const out: AnnouncePacket[] = [];
  for (let i = 0; i < count; i++) {
    const version = readU8(br);
    // [REJECT] an announcement version that does not exist
    if (version !== 1 && version !== 2)
      throw malformed(decodeCodes.BAD_VERSION);
    const raw = readVarBytes(br, MAX_ANNOUNCE_BYTES);
    out.push(decode(commands[version === 1 ? types.ANNOUNCE : types.ANNOUNCE2], raw) as AnnouncePacket);
  }
  checkEnd(br);
  return out;
}

/** JSON args of `peers.announce` for cloudrequest: null or `[PUBKEY_HEX, ...]`. */
function announceArgsJSON(json: unknown): Buffer {
  const list = json ?? [];
  if (!Array.isArray(list) || list.length > MAX_ANNOUNCE_FETCH
    || !list.every((k) => typeof k === 'string' && /^0[23][0-9a-f]{64}$/i.test(k)))
    throw new Error(`args must be null or a list of at most ${MAX_ANNOUNCE_FETCH} compressed public keys in hex.`);
  return encodeAnnounceArgs(list.map((k: string) => Buffer.from(k, 'hex')));
}

function noArgs(args: Buffer): void {
  // [REJECT] the method takes no arguments
  if (args.length !== 0)
    throw ServiceError.badArgs();
}


/** `info`: what this node offers. `price` resolves policy minimums. */
export function infoService(registry: ServiceRegistry,
  price: (service: Service, method: string) => number): Service {
  return {
    name: 'info',
    version: INFO_VERSION,
    methods: {
      services: {
        description: 'services with versions, methods and prices',
        handler(args: Buffer): Buffer {
          noArgs(args);
          return encodeServices(registry.list().map(s => ({
            name: s.name,
            version: s.version,
            methods: Object.keys(s.methods).map(m => ({ name: m, price: price(s, m) }))
          })));
        },
        encodeArgs: emptyArgs,
        decodeBody: decodeServices
      }
    }
  };
}

/** What the `peers` service needs from the negotiator. */
export interface PeersServiceOptions {
  /** Connected hosts with the address each announced. */
  list(): PeerEntry[];
  /** `peers.connect`: relay a dial-back request to a connected host (Dialer). */
  connect(args: Buffer, ctx: RequestContext): Promise<Buffer>;
  /** `peers.dialback`: dial back a renter a relay names (Dialer). */
  dialback(args: Buffer, ctx: RequestContext): Promise<Buffer>;
  /** `peers.announce`: the stored announcements of these hosts, or (none named) the newest valid ones, at most 16. */
  announcements(keys: Buffer[]): AnnouncePacket[];
  addressOf(pk: Buffer): string;
}

/** JSON args of `peers.connect` for cloudrequest: `{"target": PUBKEY_HEX, "port": N}`. */
function connectArgsJSON(json: unknown): Buffer {
  const o = (json ?? {}) as { target?: unknown; port?: unknown };
  if (typeof o.target !== 'string' || !/^0[23][0-9a-f]{64}$/i.test(o.target))
    throw new Error('target must be a compressed public key in hex.');
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 0xffff)
    throw new Error('port must be 1 to 65535.');
  return connectArgs(Buffer.from(o.target, 'hex'), o.port);
}

/**
 * `peers`: the connected CloudStorage peers whose identity is public (they
 * announce themselves as hosts), each with the address it published, never
 * a renter, never a socket address; and dial-backs for hosts behind NAT.
 */
export function peersService(options: PeersServiceOptions): Service {
  return {
    name: 'peers',
    version: PEERS_VERSION,
    methods: {
      list: {
        description: 'connected hosts (identity, announced address)',
        handler(args: Buffer): Buffer {
          noArgs(args);
          return encodePeers(options.list().filter(p => Buffer.byteLength(p.addr, 'latin1') <= MAX_ADDR_SIZE));
        },
        encodeArgs: emptyArgs,
        decodeBody: (body: Buffer) => decodePeers(body).map(p => ({
          identity: options.addressOf(p.pubkey), pubkey: p.pubkey.toString('hex'), addr: p.addr
        }))
      },
      connect: {
        description: 'ask a connected host to dial the caller back (target pubkey, caller\'s port)',
        handler: (args, ctx) => options.connect(args, ctx),
        encodeArgs: connectArgsJSON,
        decodeBody: () => ({})
      },
      dialback: {
        description: 'dial back a renter a relay names (hosts only)',
        handler: (args, ctx) => options.dialback(args, ctx)
      },
      announce: {
        description: 'host announcements (the hosts named, else the newest known), signed by their hosts',
        handler(args: Buffer): Buffer {
          let keys: Buffer[];
          try {
            keys = decodeAnnounceArgs(args);
          } catch {
            // [REJECT] args are not a short list of public keys
            throw ServiceError.badArgs();
          }
          return encodeAnnouncements(options.announcements(keys).slice(0, MAX_ANNOUNCE_FETCH));
        },
        encodeArgs: announceArgsJSON,
        decodeBody: (body: Buffer) => decodeAnnouncements(body).map(a => ({
          identity: options.addressOf(a.publicKey), pubkey: a.publicKey.toString('hex'), version: a.version, seq: a.seq,
          expiry: a.expiry, withdrawn: a.withdrawn, url: a.url, storageprice: a.storagePrice, uploadprice: a.uploadPrice,
          downloadprice: a.downloadPrice, capacity: a.capacity, maxduration: a.maxDuration,
          addresses: a.addrs.map(x => x.getJSON())
        }))
      }
    }
  };
}
