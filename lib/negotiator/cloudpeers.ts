/*!
 * cloudpeers.ts - where the negotiator meets bcoin's pool: extra outbound
 * slots for CloudStorage peers, dialling, and our announced addresses.
 *
 * Bitcoin Core keeps extra outbound slots for peers it wants for a purpose
 * (block-relay-only); `--cloudpeers N` does the same for CloudStorage
 * peers: bcoin's outbound filler is given N more slots, and while fewer
 * than N outbound peers carry NODE_CLOUDSTORAGE it dials addresses from the
 * address manager that advertise the bit (learned from `addr` gossip).
 * Other peers never get more than the original slots, so block relay keeps
 * all of them. `--connect` turns cloud slots off unless `--cloudpeers` asks
 * for them (bitcoind's -connect turns automatic connections off); with
 * both, the original slots stay with the given peers and the cloud slots
 * fill from the address manager.
 *
 * On regtest a node whose public address is private (a namespace test
 * network: 10/8, 172.16/12, 192.168/16, fc00::/7) treats private addresses
 * as routable, so `addr` gossip carries them; loopback stays unroutable, so
 * nodes a test runs in one process do not start dialling each other.
 */

import bcoin = require('../bcoin');
import { NODE_CLOUDSTORAGE } from './common';

/** bcoin HostList score of an address given by the user (--externalip). */
const MANUAL_SCORE = 4;

/** Seconds before an address that failed is tried again for a cloud slot (Core: 60 s for feelers). */
const RETRY_SECONDS = 60;

let privateRoutable = false;

const ONION_PREFIX = Buffer.from('fd87d87eeb43', 'hex');

/**
 * Make private addresses routable for this process (regtest test networks
 * only): bcoin's address manager and `addr` handling ask NetAddress.
 */
export function allowPrivateAddresses(): void {
  if (privateRoutable)
    return;
  privateRoutable = true;
  const proto = bcoin.net.NetAddress.prototype;
  const isRoutable = proto.isRoutable;
  proto.isRoutable = function isRoutableOrPrivate(this: bcoin.NetAddress): boolean {
    return isRoutable.call(this) || isPrivate(this.raw);
  };
}

/** RFC 1918 (10/8, 172.16/12, 192.168/16) or RFC 4193 (fc00::/7), in bcoin's 16-byte form (IPv4 mapped). */
export function isPrivate(raw: Buffer): boolean {
  if (raw.length !== 16)
    return false;
  const mapped = raw.subarray(0, 10).every(b => b === 0) && raw[10] === 0xff && raw[11] === 0xff;
  // bcoin keeps onion addresses in fd87:d87e:eb43::/48, inside fc00::/7.
  if (!mapped)
    return (raw[0] & 0xfe) === 0xfc && !raw.subarray(0, 6).equals(ONION_PREFIX);
  const [a, b] = [raw[12], raw[13]];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** Whether `host` (an IPv4 or IPv6 string) is private. */
export function isPrivateHost(host: string): boolean {
  try {
    return isPrivate(bcoin.net.NetAddress.fromHostname(host.includes(':') ? `[${host}]:1` : `${host}:1`).raw);
  } catch {
    return false;
  }
}

/** Whether `host` is a wildcard bind address (no address of its own). */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export interface CloudSlotsOptions {
  pool: bcoin.Pool;
  network: bcoin.Network;
  /** Extra outbound slots for CloudStorage peers (0: none). */
  slots: number;
  /** Connections the dialer holds for a while: they use no slot. */
  isTemporary(peer: bcoin.Peer): boolean;
}

/** The cloud slots of one pool. */
export class CloudSlots {
  private readonly options: CloudSlotsOptions;
  private readonly pool: bcoin.Pool;
  /** bcoin's own outbound slots (8, or the --connect count). */
  readonly base: number;
  private temporary = 0;

  constructor(options: CloudSlotsOptions) {
    this.options = options;
    this.pool = options.pool;
    this.base = this.pool.options.maxOutbound;
    const getHost = this.pool.getHost.bind(this.pool);
    this.pool.getHost = () => this.getHost(getHost);
    this.resize();
  }

  /** The dialer opened or closed a temporary connection: it gets a slot of its own. */
  setTemporary(count: number): void {
    this.temporary = count;
    this.resize();
  }

  private resize(): void {
    this.pool.options.maxOutbound = this.base + this.options.slots + this.temporary;
  }

  /** Outbound peers (temporary ones left out) and how many of them are CloudStorage peers. */
  count(): { outbound: number; cloud: number } {
    let outbound = 0;
    let cloud = 0;
    for (let peer = this.pool.peers.head(); peer; peer = peer.next) {
      if (!peer.outbound || this.options.isTemporary(peer))
        continue;
      outbound += 1;
      // Before the handshake the address manager's services say what the peer is.
      const services = peer.handshake ? peer.services : peer.address.services;
      if ((services & NODE_CLOUDSTORAGE) !== 0)
        cloud += 1;
    }
    return { outbound, cloud };
  }

  /** bcoin's getHost with cloud slots: CloudStorage peers first while slots are free. */
  private getHost(original: () => bcoin.NetAddress | null): bcoin.NetAddress | null {
    const { outbound, cloud } = this.count();
    if (cloud < this.options.slots) {
      const addr = this.pickCloudHost();
      if (addr)
        return addr;
    }
    // Other peers keep to bcoin's own slots; the rest wait for CloudStorage peers.
    if (outbound - Math.min(cloud, this.options.slots) >= this.base)
      return null;
    return original();
  }

  /** A random address manager entry with the service bit we are not connected to. */
  pickCloudHost(): bcoin.NetAddress | null {
    const now = this.options.network.now();
    const hosts = this.pool.hosts;
    const found: bcoin.NetAddress[] = [];
    for (const entry of hosts.map.values()) {
      const addr = entry.addr;
      if ((addr.services & NODE_CLOUDSTORAGE) === 0 || this.pool.peers.has(addr.hostname))
        continue;
      // As bcoin's `addr` handling: only routable addresses (never loopback;
      // private ones only on a private regtest network).
      if (!addr.isRoutable())
        continue;
      if (hosts.local.has(addr.hostname) || hosts.isBanned(addr.host))
        continue;
      if (now - entry.lastAttempt < RETRY_SECONDS)
        continue;
      found.push(addr);
    }
    return found.length ? found[Math.floor(Math.random() * found.length)] : null;
  }
}

/**
 * Our dialable addresses, `ip:port`, to announce while we listen: the
 * public address (--externalip, else a specific --bind); bound to every
 * address (the default) with no --externalip, the local ends of our
 * connections (bitcoind's GetLocal learns its address from its sockets
 * too): the address an inbound peer reached us at, then the interface
 * our outbound connections leave from, at our listening port. On main
 * and testnet only routable ones: a host behind NAT has a private
 * interface address, announces none and is reached through its relays.
 */
export function directAddresses(pool: bcoin.Pool, network: bcoin.Network): string[] {
  const { listen, publicHost, publicPort } = pool.options;
  if (!listen)
    return [];
  const out: string[] = [];
  for (const host of isWildcard(publicHost) ? socketHosts(pool) : [publicHost]) {
    let addr: bcoin.NetAddress;
    try {
      addr = bcoin.net.NetAddress.fromHostname(hostPort(host, publicPort), network);
    } catch {
      continue;
    }
    if ((network.type === 'regtest' || addr.isRoutable()) && !isWildcard(addr.host) && !out.includes(addr.hostname))
      out.push(addr.hostname);
  }
  return out;
}

/** The local addresses of our connections: inbound ones (proven reachable) first. */
function socketHosts(pool: bcoin.Pool): string[] {
  const inbound: string[] = [];
  const outbound: string[] = [];
  for (let peer = pool.peers.head(); peer; peer = peer.next) {
    const local = peer.socket?.localAddress;
    if (peer.connected && local)
      (peer.outbound ? outbound : inbound).push(local.replace(/^::ffff:(?=\d+\.)/, ''));
  }
  return [...inbound, ...outbound];
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * On a private regtest network (a public address in 10/8 and the like),
 * make private addresses routable and advertise ours: bcoin's address
 * manager refused it when the pool was built, before extensions ran.
 */
export function refreshLocalAddresses(pool: bcoin.Pool, network: bcoin.Network): void {
  if (network.type !== 'regtest' || !isPrivateHost(pool.options.publicHost))
    return;
  allowPrivateAddresses();
  const hosts = pool.hosts;
  hosts.address.services = (hosts.address.services | pool.options.services) >>> 0;
  hosts.pushLocal(hosts.address, MANUAL_SCORE);
}

/** Open an outbound connection to `hostname` through the pool; null if banned or already connected. */
export function dialer(pool: bcoin.Pool, network: bcoin.Network): (hostname: string) => bcoin.Peer | null {
  return (hostname: string): bcoin.Peer | null => {
    if (!pool.opened)
      return null;
    let addr: bcoin.NetAddress;
    try {
      addr = bcoin.net.NetAddress.fromHostname(hostname, network);
    } catch {
      return null;
    }
    if (pool.hosts.isBanned(addr.host))
      return null;
    const existing = pool.peers.get(addr.hostname);
    if (existing)
      return existing;
    const peer = pool.createOutbound(addr);
    pool.peers.add(peer);
    return peer;
  };
}
