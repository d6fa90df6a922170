/*!
 * coreservices.ts - the services every CloudStorage node offers:
 *
 *   info.services  -> the services with versions, methods and prices
 *   peers.list     -> connected peers that announce themselves as hosts
 *   peers.connect  -> (relay) have a connected host dial the caller back
 *   peers.dialback -> (host) dial back the renter a relay names
 *
 * Bodies are binary (JSON never goes on the wire); each method carries a
 * decoder so `cloudrequest` can print them as JSON.
 */

import bio = require('bufio');
import {
  MAX_SERVICES, MAX_METHODS, MAX_PEERS_LISTED, MAX_ADDR_SIZE, PUBKEY_SIZE
} from './common';
import {
  readLength, readName, readU32, readAmount, writeAmount, readPubkey, readVarBytes,
  checkEnd, sizeVarBytes, sizeVarint
} from './wire';
import { ServiceError } from './errors';
import { Service, ServiceRegistry, type RequestContext } from './services';
import { connectArgs } from './dialer';
import { emptyArgs } from './standard';

export const INFO_VERSION = 1;
/** 2 adds `connect` and `dialback`. */
export const PEERS_VERSION = 2;

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
      }
    }
  };
}
