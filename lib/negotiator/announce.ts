/*!
 * announce.ts - `csannounce` host announcements and the store that gossips them.
 *
 * A host signs what a renter needs to pick it and reach it: its file-server
 * URL, prices, free capacity, longest contract, an expiry height and (v2)
 * its P2P addresses. Announcements are gossiped among CloudStorage peers;
 * per identity the highest `seq` wins at once, relays of one identity are
 * paced to one per ANNOUNCE_INTERVAL_MS (a newer one arriving sooner is
 * stored and relayed when the interval ends, never dropped), the source
 * address that brings identities we never saw has a budget for them (across
 * its connections), and the store is bounded, so gossip cannot grow memory
 * or traffic without bound.
 *
 * Identities are `verified` once they proved their key on a connection to
 * us (csauth) or are our contract counterparties. When full, a new identity
 * evicts an unverified one of the most recently first-seen half: a flood of
 * fresh keys churns among itself and cannot push out long-known or verified
 * hosts. What a newly connected peer receives (`forSync`) lists verified
 * hosts first and unverified ones longest-known first, so newcomers never
 * displace them there either.
 */

import { randomInt } from 'crypto';

import { BoundedMap } from './boundedmap';
import { packetCodes } from './errors';
import {
  MAX_URL_SIZE, MAX_ANNOUNCEMENTS, MAX_ANNOUNCE_BLOCKS, ANNOUNCE_INTERVAL_MS, MAX_MONEY, MAX_HOST_ADDRS
} from './common';
import { AnnouncePacket, AnnounceV1Packet, HostAddr, HostOffer, URL_RE, announceFlags } from './announcepacket';

export type { HostOffer };

/**
 * An unsigned announcement of `offer` with sequence number `seq`: a
 * `csannounce2` reachable at `addrs`, or (version 1, for tests and vectors
 * of what older nodes send) a `csannounce`, which has no addresses.
 */
export function announcement(offer: HostOffer, seq: number, addrs: HostAddr[] = [], version: 1 | 2 = 2): AnnouncePacket {
  checkOffer(offer);
  if (addrs.length > MAX_HOST_ADDRS || (version === 1 && addrs.length > 0))
    throw new RangeError(`At most ${version === 1 ? 0 : MAX_HOST_ADDRS} announced addresses.`);
  const p = version === 1 ? new AnnounceV1Packet() : new AnnouncePacket();
  p.seq = seq;
  p.addrs = addrs;
  p.expiry = offer.expiry;
  p.url = offer.url;
  p.storagePrice = offer.storagePrice;
  p.uploadPrice = offer.uploadPrice;
  p.downloadPrice = offer.downloadPrice;
  p.capacity = offer.capacity;
  p.maxDuration = offer.maxDuration;
  return p;
}

/** An unsigned withdrawal: the host stopped hosting (replaces every older announcement). */
export function withdrawal(seq: number, expiry: number): AnnouncePacket {
  const p = new AnnouncePacket();
  p.seq = seq;
  p.expiry = expiry;
  p.flags = announceFlags.WITHDRAWN;
  return p;
}

/** Validate an offer before signing it (caller errors, not peer errors). */
export function checkOffer(offer: HostOffer): void {
  if (offer.url.length > MAX_URL_SIZE || !URL_RE.test(offer.url))
    throw new RangeError('Announcement URL must be an http(s) URL of at most 200 bytes.');
  for (const k of ['storagePrice', 'uploadPrice', 'downloadPrice', 'capacity'] as const) {
    if (!Number.isSafeInteger(offer[k]) || offer[k] < 0 || offer[k] > MAX_MONEY)
      throw new RangeError(`Announcement ${k} out of range.`);
  }
  for (const k of ['maxDuration', 'expiry'] as const) {
    if (!Number.isInteger(offer[k]) || offer[k] < 0 || offer[k] > 0xffffffff)
      throw new RangeError(`Announcement ${k} out of range.`);
  }
}

/** Outcome of offering an announcement to the store. */
export const announceResults = {
  ACCEPTED: 'accepted',
  BAD_SIG: packetCodes.BAD_ANNOUNCE,
  EXPIRED: 'expired',
  TOO_FAR: 'expiry-too-far',
  STALE: 'stale-seq',
  /** Stored (it replaces the older one at once); relayed when the identity's relay interval ends. */
  DEFERRED: 'relay-deferred',
  /** The sending peer's source address brought too many new identities lately. */
  TOO_MANY_NEW: 'too-many-new-hosts',
  /** Store full of verified or long-known hosts: an unverified newcomer has no room. */
  STORE_FULL: 'store-full'
} as const;

export type AnnounceResult = typeof announceResults[keyof typeof announceResults];

interface Entry {
  packet: AnnouncePacket;
  /** When the current packet was accepted (ms). */
  acceptedAt: number;
  /** Chain height when the current packet was accepted. */
  height: number;
  /** When this identity's announcement was last relayed (ms). */
  relayedAt: number;
}

/** A stored announcement with what the store knows about it. */
export interface HostRecord {
  packet: AnnouncePacket;
  /** Chain height when the current announcement was accepted. */
  height: number;
  acceptedAt: number;
  verified: boolean;
}

export interface AddOptions {
  /** Our own announcement: no interval, no new-identity budget. */
  own?: boolean;
  /** Budget for identities we never saw; taken before the signature check. */
  newHosts?: { take(): boolean };
}

/** The newest valid announcement per identity. */
export class AnnouncementStore {
  /** Identity hex -> entry, in first-seen order (replacing keeps the place). */
  private readonly entries = new Map<string, Entry>();
  /** Identities proven to us (csauth) or contract counterparties; bounded like the store. */
  private readonly verified: BoundedMap<string, true>;
  /** Identities whose newest announcement waits for its relay: identity hex -> due time (ms). */
  private readonly due = new Map<string, number>();
  /** Our own identity, never evicted and synced first. */
  private own: string | null = null;
  private readonly magic: number;
  private readonly clock: () => number;
  readonly intervalMs: number;
  readonly limit: number;

  constructor(magic: number, options: { clock?: () => number; intervalMs?: number; limit?: number } = {}) {
    this.magic = magic;
    this.clock = options.clock ?? Date.now;
    this.intervalMs = options.intervalMs ?? ANNOUNCE_INTERVAL_MS;
    this.limit = options.limit ?? MAX_ANNOUNCEMENTS;
    this.verified = new BoundedMap(this.limit);
  }

  /** Mark an identity verified: it proved its key to us, or we hold a contract with it. */
  verify(publicKey: Buffer): void {
    this.verified.set(publicKey.toString('hex'), true);
  }

  isVerified(publicKey: Buffer): boolean {
    return this.verified.has(publicKey.toString('hex'));
  }

  /**
   * Check and store. `accepted` is relayed now; `relay-deferred` is stored
   * and comes back from `takeDue` when the identity's relay interval ends.
   */
  add(ann: AnnouncePacket, height: number, options: AddOptions = {}): AnnounceResult {
    // [IGNORE] expired: the host no longer stands by it
    if (ann.expiry < height)
      return announceResults.EXPIRED;
    // [IGNORE] claims to hold too far ahead (stale chain or a host gaming freshness)
    if (ann.expiry > height + MAX_ANNOUNCE_BLOCKS)
      return announceResults.TOO_FAR;
    const id = ann.publicKey.toString('hex');
    const prev = this.entries.get(id);
    // [IGNORE] not newer than what we hold (normal during gossip)
    if (prev && ann.seq <= prev.packet.seq)
      return announceResults.STALE;
    // [IGNORE] the sending source used up its budget of new identities (no
    // relay interval applies to those, so this is what bounds a fresh-key flood)
    if (!prev && !options.own && options.newHosts && !options.newHosts.take())
      return announceResults.TOO_MANY_NEW;
    // [REJECT] signature by the announced identity does not verify
    if (!ann.verify(this.magic))
      return announceResults.BAD_SIG;
    // [IGNORE] the store is full and nothing may make room for an unverified newcomer
    if (!prev && this.entries.size >= this.limit && !this.evict(height, options.own === true || this.verified.has(id)))
      return announceResults.STORE_FULL;
    if (options.own)
      this.own = id;
    const now = this.clock();
    if (!prev) {
      this.entries.set(id, { packet: ann, acceptedAt: now, height, relayedAt: now });
      return announceResults.ACCEPTED;
    }
    // Latest wins at once; only the relay of one identity is paced.
    prev.packet = ann;
    prev.acceptedAt = now;
    prev.height = height;
    if (options.own || now - prev.relayedAt >= this.intervalMs) {
      prev.relayedAt = now;
      this.due.delete(id);
      return announceResults.ACCEPTED;
    }
    this.due.set(id, prev.relayedAt + this.intervalMs);
    return announceResults.DEFERRED;
  }

  /** Announcements whose deferred relay is due at `now` (each once), marked relayed. */
  takeDue(now = this.clock()): AnnouncePacket[] {
    const out: AnnouncePacket[] = [];
    for (const [id, at] of this.due) {
      if (at > now)
        continue;
      this.due.delete(id);
      const e = this.entries.get(id);
      if (e) {
        e.relayedAt = now;
        out.push(e.packet);
      }
    }
    return out;
  }

  /** When the next deferred relay is due (ms), or null. */
  nextDue(): number | null {
    let next: number | null = null;
    for (const at of this.due.values())
      next = next === null ? at : Math.min(next, at);
    return next;
  }

  /**
   * Make room for one newcomer: drop expired entries, else a random
   * unverified entry of the newer half (by first seen). A verified
   * newcomer (`anyRecent`) may also take a verified one's place there.
   * False when nothing may go.
   */
  private evict(height: number, anyRecent: boolean): boolean {
    this.live(height);
    if (this.entries.size < this.limit)
      return true;
    const recent = [...this.entries.keys()].slice(Math.floor(this.entries.size / 2))
      .filter(id => id !== this.own);
    const unverified = recent.filter(id => !this.verified.has(id));
    const pool = unverified.length ? unverified : anyRecent ? recent : [];
    if (pool.length === 0)
      return false;
    this.remove(pool[randomInt(pool.length)]);
    return true;
  }

  private remove(id: string): void {
    this.entries.delete(id);
    this.due.delete(id);
  }

  get(publicKey: Buffer): AnnouncePacket | null {
    return this.entries.get(publicKey.toString('hex'))?.packet ?? null;
  }

  has(publicKey: Buffer): boolean {
    return this.entries.has(publicKey.toString('hex'));
  }

  /** Valid entries at `height` with their identity hex, in first-seen order; drops expired ones. */
  private live(height: number): Array<[string, Entry]> {
    const out: Array<[string, Entry]> = [];
    for (const [id, e] of this.entries) {
      if (e.packet.expiry < height)
        this.remove(id);
      else
        out.push([id, e]);
    }
    return out;
  }

  /**
   * Valid hosts at `height` (withdrawn ones left out), newest accepted
   * first; drops expired ones.
   */
  records(height: number): HostRecord[] {
    const out = this.live(height).filter(([, e]) => !e.packet.withdrawn)
      .map(([id, e]) => ({ packet: e.packet, height: e.height, acceptedAt: e.acceptedAt, verified: this.verified.has(id) }));
    // Stable sort: among equal times, the later first seen comes first.
    return out.reverse().sort((a, b) => b.acceptedAt - a.acceptedAt);
  }

  /** Valid, not withdrawn announcements at `height`, newest accepted first. */
  list(height: number): AnnouncePacket[] {
    return this.records(height).map(r => r.packet);
  }

  /**
   * What a newly connected peer receives, at most `limit`: our own, then
   * verified hosts (newest accepted first), then unverified ones
   * longest-known first, so fresh unverified identities come last.
   * Withdrawals are included: they are what keeps older offers away.
   */
  forSync(height: number, limit: number): AnnouncePacket[] {
    const own: Entry[] = [];
    const verified: Entry[] = [];
    const rest: Entry[] = [];
    for (const [id, e] of this.live(height))
      (id === this.own ? own : this.verified.has(id) ? verified : rest).push(e);
    verified.reverse().sort((a, b) => b.acceptedAt - a.acceptedAt);
    return [...own, ...verified, ...rest].slice(0, limit).map(e => e.packet);
  }

  get size(): number {
    return this.entries.size;
  }
}
