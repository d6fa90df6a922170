/*!
 * peers.ts - connected peers that advertise NODE_CLOUDSTORAGE.
 *
 * bcoin's `peer.hostname()` is only the socket address (the ephemeral port
 * for inbound peers), so each peer is also known by its identity key: claimed
 * in `cshello`, proven in `csauth` by a signature over our fresh challenge.
 * Only peers tracked here are ever sent cs* packets.
 */

import { BoundedMap } from './boundedmap';
import { FLOOD_BURST, FLOOD_RATE, MAX_CLOUD_PEERS, NODE_CLOUDSTORAGE } from './common';

/** The part of bcoin's Peer this layer uses (stubbed in unit tests). */
export interface PeerLike {
  readonly id: number;
  readonly services: number;
  readonly outbound: boolean;
  readonly agent: string | null;
  readonly version: number;
  hostname(): string;
}

export function hasCloudBit(peer: PeerLike): boolean {
  return ((peer.services >>> 0) & NODE_CLOUDSTORAGE) !== 0;
}

/** A token bucket against packet floods. */
export class FloodGuard {
  private tokens: number;
  private at: number;
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
    this.tokens = FLOOD_BURST;
    this.at = clock();
  }

  take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(FLOOD_BURST, this.tokens + ((now - this.at) * FLOOD_RATE) / 1000);
    this.at = now;
    if (this.tokens < 1)
      return false;
    this.tokens -= 1;
    return true;
  }
}

export class CloudPeer {
  readonly peer: PeerLike;
  /** Identity key, once proven by csauth; null until then. */
  publicKey: Buffer | null = null;
  /** Identity key claimed in the peer's hello. */
  claimedKey: Buffer | null = null;
  /** Challenge from the peer's hello, which our csauth signs. */
  peerChallenge: Buffer | null = null;
  /** Challenge we sent in our hello, which the peer's csauth signs. */
  challenge: Buffer | null = null;
  /** cs protocol version from the peer's hello. */
  csVersion = 0;
  helloSent = false;
  authSent = false;
  /** Requests of this peer our server is working on. */
  inflight = 0;
  readonly flood: FloodGuard;

  constructor(peer: PeerLike, clock?: () => number) {
    this.peer = peer;
    this.flood = new FloodGuard(clock);
  }
}

/** JSON shape of one entry of `getcloudpeers`. */
export interface CloudPeerInfo {
  identity: string | null;
  pubkey: string | null;
  addr: string;
  services: string;
  version: number;
  csversion: number;
  agent: string | null;
  inbound: boolean;
}

export class CloudPeers {
  private readonly peers = new BoundedMap<number, CloudPeer>(MAX_CLOUD_PEERS);

  add(peer: PeerLike): CloudPeer {
    const existing = this.peers.get(peer.id);
    if (existing)
      return existing;
    const cp = new CloudPeer(peer);
    this.peers.set(peer.id, cp);
    return cp;
  }

  get(peer: PeerLike): CloudPeer | null {
    const cp = this.peers.get(peer.id);
    return cp && cp.peer === peer ? cp : null;
  }

  remove(peer: PeerLike): CloudPeer | null {
    const cp = this.get(peer);
    if (cp)
      this.peers.delete(peer.id);
    return cp;
  }

  all(): CloudPeer[] {
    return [...this.peers.values()];
  }

  get size(): number {
    return this.peers.size;
  }

  byKey(publicKey: Buffer): CloudPeer | null {
    for (const cp of this.peers.values()) {
      if (cp.publicKey && cp.publicKey.equals(publicKey))
        return cp;
    }
    return null;
  }

  byHostname(hostname: string): CloudPeer | null {
    for (const cp of this.peers.values()) {
      if (cp.peer.hostname() === hostname)
        return cp;
    }
    return null;
  }
}
