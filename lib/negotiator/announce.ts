/*!
 * announce.ts - `csannounce` host announcements and the store that gossips them.
 *
 * A host signs what a renter needs to pick it: its file-server URL, prices,
 * free capacity, longest contract and an expiry height. Announcements are
 * gossiped among CloudStorage peers; per identity the highest `seq` wins,
 * an identity is accepted at most once per ANNOUNCE_INTERVAL_MS, the source
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
  MAX_URL_SIZE, MAX_ANNOUNCEMENTS, MAX_ANNOUNCE_BLOCKS, ANNOUNCE_INTERVAL_MS, MAX_MONEY
} from './common';
import { AnnouncePacket, HostOffer, URL_RE } from './packets';

export type { HostOffer };

/** A signed announcement of `offer` with sequence number `seq`. */
export function announcement(offer: HostOffer, seq: number): AnnouncePacket {
  checkOffer(offer);
  const p = new AnnouncePacket();
  p.seq = seq;
  p.expiry = offer.expiry;
  p.url = offer.url;
  p.storagePrice = offer.storagePrice;
  p.uploadPrice = offer.uploadPrice;
  p.downloadPrice = offer.downloadPrice;
  p.capacity = offer.capacity;
  p.maxDuration = offer.maxDuration;
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
  TOO_SOON: 'too-soon',
  /** The sending peer's source address brought too many new identities lately. */
  TOO_MANY_NEW: 'too-many-new-hosts',
  /** Store full of verified or long-known hosts: an unverified newcomer has no room. */
  STORE_FULL: 'store-full'
} as const;

export type AnnounceResult = typeof announceResults[keyof typeof announceResults];

interface Entry {
  packet: AnnouncePacket;
  acceptedAt: number;
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

  /** Check and store; only `accepted` announcements are relayed. */
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
    // [IGNORE] the identity re-announced too soon after its last accepted announcement
    if (prev && !options.own && this.clock() - prev.acceptedAt < this.intervalMs)
      return announceResults.TOO_SOON;
    // [IGNORE] the sending source used up its budget of new identities (no
    // interval applies to those, so this is what bounds a fresh-key flood)
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
    if (prev) {
      prev.packet = ann;
      prev.acceptedAt = this.clock();
    } else {
      this.entries.set(id, { packet: ann, acceptedAt: this.clock() });
    }
    return announceResults.ACCEPTED;
  }

  /**
   * Make room for one newcomer: drop expired entries, else a random
   * unverified entry of the newer half (by first seen). A verified
   * newcomer (`anyRecent`) may also take a verified one's place there.
   * False when nothing may go.
   */
  private evict(height: number, anyRecent: boolean): boolean {
    for (const [id, e] of this.entries) {
      if (e.packet.expiry < height)
        this.entries.delete(id);
    }
    if (this.entries.size < this.limit)
      return true;
    const recent = [...this.entries.keys()].slice(Math.floor(this.entries.size / 2))
      .filter(id => id !== this.own);
    const unverified = recent.filter(id => !this.verified.has(id));
    const pool = unverified.length ? unverified : anyRecent ? recent : [];
    if (pool.length === 0)
      return false;
    this.entries.delete(pool[randomInt(pool.length)]);
    return true;
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
        this.entries.delete(id);
      else
        out.push([id, e]);
    }
    return out;
  }

  /** Valid announcements at `height`, newest accepted first; drops expired ones. */
  list(height: number): AnnouncePacket[] {
    const out = this.live(height).map(([, e]) => e);
    // Stable sort: among equal times, the later first seen comes first.
    return out.reverse().sort((a, b) => b.acceptedAt - a.acceptedAt).map(e => e.packet);
  }

  /**
   * What a newly connected peer receives, at most `limit`: our own, then
   * verified hosts (newest accepted first), then unverified ones
   * longest-known first, so fresh unverified identities come last.
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
