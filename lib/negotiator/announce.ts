/*!
 * announce.ts - `csannounce` host announcements and the store that gossips them.
 *
 * A host signs what a renter needs to pick it: its file-server URL, prices,
 * free capacity, longest contract and an expiry height. Announcements are
 * gossiped among CloudStorage peers; per identity the highest `seq` wins,
 * an identity is accepted at most once per ANNOUNCE_INTERVAL_MS, and the
 * store is bounded, so gossip cannot grow memory or traffic without bound.
 */

import { BoundedMap } from './boundedmap';
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
  BAD_SIG: 'bad-announce-sig',
  EXPIRED: 'expired',
  TOO_FAR: 'expiry-too-far',
  STALE: 'stale-seq',
  TOO_SOON: 'too-soon'
} as const;

export type AnnounceResult = typeof announceResults[keyof typeof announceResults];

interface Entry {
  packet: AnnouncePacket;
  acceptedAt: number;
}

/** The newest valid announcement per identity. */
export class AnnouncementStore {
  private readonly entries = new BoundedMap<string, Entry>(MAX_ANNOUNCEMENTS);
  private readonly magic: number;
  private readonly clock: () => number;
  readonly intervalMs: number;

  constructor(magic: number, options: { clock?: () => number; intervalMs?: number } = {}) {
    this.magic = magic;
    this.clock = options.clock ?? Date.now;
    this.intervalMs = options.intervalMs ?? ANNOUNCE_INTERVAL_MS;
  }

  /** Check and store; only `accepted` announcements are relayed. */
  add(ann: AnnouncePacket, height: number, own = false): AnnounceResult {
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
    if (prev && !own && this.clock() - prev.acceptedAt < this.intervalMs)
      return announceResults.TOO_SOON;
    // [REJECT] signature by the announced identity does not verify
    if (!ann.verify(this.magic))
      return announceResults.BAD_SIG;
    this.entries.set(id, { packet: ann, acceptedAt: this.clock() });
    return announceResults.ACCEPTED;
  }

  get(publicKey: Buffer): AnnouncePacket | null {
    return this.entries.get(publicKey.toString('hex'))?.packet ?? null;
  }

  /** Valid announcements at `height`, newest first; drops expired ones. */
  list(height: number): AnnouncePacket[] {
    const out: AnnouncePacket[] = [];
    for (const [id, e] of [...this.entries.entries()]) {
      if (e.packet.expiry < height)
        this.entries.delete(id);
      else
        out.push(e.packet);
    }
    return out.reverse();
  }

  get size(): number {
    return this.entries.size;
  }
}
