/*!
 * peers.ts - connected peers that advertise NODE_CLOUDSTORAGE.
 *
 * bcoin's `peer.hostname()` is only the socket address (the ephemeral port
 * for inbound peers), so each peer is also known by its identity key: claimed
 * in `cshello`, proven in `csauth` by a signature over our fresh challenge.
 * Only peers tracked here are ever sent cs* packets.
 */

import { BoundedMap } from './boundedmap';
import {
  ANNOUNCE_FLOOD_BURST, ANNOUNCE_FLOOD_RATE, ANNOUNCE_SEND_BURST, ANNOUNCE_SEND_RATE, FLOOD_BURST, FLOOD_RATE,
  MAX_CLOUD_PEERS, MAX_SEND_QUEUE, NODE_CLOUDSTORAGE, REQ_FLOOD_BURST, REQ_FLOOD_RATE, REQ_SEND_BURST,
  REQ_SEND_RATE
} from './common';

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

/** A token bucket: `rate` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private at: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly clock: () => number;

  constructor(rate: number, burst: number, clock: () => number = Date.now) {
    this.rate = rate;
    this.burst = burst;
    this.clock = clock;
    this.tokens = burst;
    this.at = clock();
  }

  private refill(): void {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1)
      return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0: now). */
  wait(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }
}

/**
 * Token buckets keyed by a string (a source address), bounded: forgetting
 * the oldest key only refills that key, so memory stays bounded.
 */
export class KeyedBuckets {
  private readonly buckets: BoundedMap<string, TokenBucket>;
  private readonly rate: number;
  private readonly burst: number;
  private readonly clock: () => number;

  constructor(rate: number, burst: number, limit: number, clock: () => number = Date.now) {
    this.buckets = new BoundedMap(limit);
    this.rate = rate;
    this.burst = burst;
    this.clock = clock;
  }

  /** The bucket of `key`, created full. */
  get(key: string): TokenBucket {
    let b = this.buckets.touch(key);
    if (!b) {
      b = new TokenBucket(this.rate, this.burst, this.clock);
      this.buckets.set(key, b);
    }
    return b;
  }
}

/**
 * The source a peer's traffic is charged to: its IP address, or the /64
 * of an IPv6 address (one machine is commonly given a whole /64), without
 * the port, so reconnecting does not earn a fresh budget.
 */
export function sourceOf(hostname: string): string {
  const v6 = /^\[([0-9a-fA-F:.]+)\]:\d+$/.exec(hostname);
  if (v6) {
    // An IPv4-mapped address is that IPv4 address.
    if (v6[1].includes('.'))
      return v6[1].slice(v6[1].lastIndexOf(':') + 1);
    const groups = expandIPv6(v6[1]);
    return groups ? groups.slice(0, 4).join(':') + '::/64' : v6[1].toLowerCase();
  }
  const colon = hostname.lastIndexOf(':');
  return colon === -1 ? hostname : hostname.slice(0, colon);
}

/** The eight 16-bit groups of an IPv6 address as lowercase hex, or null. */
function expandIPv6(addr: string): string[] | null {
  const halves = addr.toLowerCase().split('::');
  if (halves.length > 2)
    return null;
  const parse = (part: string): string[] => part === '' ? [] : part.split(':');
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0))
    return null;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  return groups.every(g => /^[0-9a-f]{1,4}$/.test(g)) ? groups.map(g => g.replace(/^0+(?=.)/, '')) : null;
}

/**
 * Outgoing pacing for one kind of packet to one peer: sends at once while
 * the bucket allows, queues the rest (at most `limit`) and drains them on a
 * timer, so we never exceed the budget the receiver enforces.
 */
export class Pacer {
  private readonly bucket: TokenBucket;
  private readonly queue: Array<() => void> = [];
  private readonly limit: number;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(rate: number, burst: number, limit: number) {
    // Wall clock on purpose: pacing waits on real timers.
    this.bucket = new TokenBucket(rate, burst);
    this.limit = limit;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Run `send` now or later; false (and never run) when the queue is full. */
  push(send: () => void): boolean {
    if (this.queue.length === 0 && this.bucket.take()) {
      send();
      return true;
    }
    if (this.queue.length >= this.limit)
      return false;
    this.queue.push(send);
    this.schedule();
    return true;
  }

  /** Drop what is queued (the peer is gone). */
  close(): void {
    this.queue.length = 0;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private schedule(): void {
    if (this.timer)
      return;
    this.timer = setTimeout(() => {
      this.timer = null;
      while (this.queue.length > 0 && this.bucket.take())
        (this.queue.shift() as () => void)();
      if (this.queue.length > 0)
        this.schedule();
    }, Math.max(1, this.bucket.wait()));
    // Queued gossip must not keep the process alive; a queued request's own
    // timeout timer does.
    this.timer.unref?.();
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
  /** Inbound budget of cshello, csauth, csres (and unknown cs* commands). */
  readonly flood: TokenBucket;
  /** Inbound csreq budget: each costs a signature check. */
  readonly reqFlood: TokenBucket;
  /** Inbound csannounce budget (excess dropped unscored: it is relayed gossip). */
  readonly announceFlood: TokenBucket;
  /** Our csreq to this peer, paced under its reqFlood. */
  readonly reqPacer = new Pacer(REQ_SEND_RATE, REQ_SEND_BURST, MAX_SEND_QUEUE);
  /** Our csannounce (relays, sync) to this peer, paced under its announceFlood. */
  readonly announcePacer = new Pacer(ANNOUNCE_SEND_RATE, ANNOUNCE_SEND_BURST, MAX_SEND_QUEUE);

  constructor(peer: PeerLike, clock?: () => number) {
    this.peer = peer;
    this.flood = new TokenBucket(FLOOD_RATE, FLOOD_BURST, clock);
    this.reqFlood = new TokenBucket(REQ_FLOOD_RATE, REQ_FLOOD_BURST, clock);
    this.announceFlood = new TokenBucket(ANNOUNCE_FLOOD_RATE, ANNOUNCE_FLOOD_BURST, clock);
  }

  /** Stop sending anything queued (the connection closed). */
  close(): void {
    this.reqPacer.close();
    this.announcePacer.close();
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
  private readonly clock: () => number;

  /** `clock` drives every inbound budget (tests freeze it to count exactly). */
  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  add(peer: PeerLike): CloudPeer {
    const existing = this.peers.get(peer.id);
    if (existing)
      return existing;
    const cp = new CloudPeer(peer, this.clock);
    this.peers.set(peer.id, cp);
    return cp;
  }

  get(peer: PeerLike): CloudPeer | null {
    const cp = this.peers.get(peer.id);
    return cp && cp.peer === peer ? cp : null;
  }

  remove(peer: PeerLike): CloudPeer | null {
    const cp = this.get(peer);
    if (cp) {
      this.peers.delete(peer.id);
      cp.close();
    }
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
