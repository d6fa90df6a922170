/*!
 * coreservices.ts - the services every CloudStorage node offers:
 *
 *   info.services  -> the services with versions, methods and prices
 *   peers.list     -> connected peers that announce themselves as hosts
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
import { Service, ServiceRegistry } from './services';

export const INFO_VERSION = 1;
export const PEERS_VERSION = 1;

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
    throw ServiceError.badRequest('bad-args');
}

function emptyArgs(json: unknown): Buffer {
  if (json !== undefined && json !== null && !(Array.isArray(json) && json.length === 0)
      && !(typeof json === 'object' && Object.keys(json).length === 0))
    throw new Error('This method takes no arguments.');
  return Buffer.alloc(0);
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

/**
 * `peers`: the connected CloudStorage peers whose identity is public (they
 * announce themselves as hosts), each with the address it published; never
 * a renter, never a socket address.
 */
export function peersService(list: () => PeerEntry[],
  addressOf: (pk: Buffer) => string): Service {
  return {
    name: 'peers',
    version: PEERS_VERSION,
    methods: {
      list: {
        description: 'connected hosts (identity, announced address)',
        handler(args: Buffer): Buffer {
          noArgs(args);
          return encodePeers(list().filter(p => Buffer.byteLength(p.addr, 'latin1') <= MAX_ADDR_SIZE));
        },
        encodeArgs: emptyArgs,
        decodeBody: (body: Buffer) => decodePeers(body).map(p => ({
          identity: addressOf(p.pubkey), pubkey: p.pubkey.toString('hex'), addr: p.addr
        }))
      }
    }
  };
}
