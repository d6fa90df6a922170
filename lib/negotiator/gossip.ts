/*!
 * gossip.ts - host announcements on the wire: accept, relay, sync, and our
 * own announcement.
 *
 * Accepted announcements are relayed to every CloudStorage peer with a
 * proven identity (a `csannounce2` only to peers that read it), paced under
 * the receiver's budget. A newer announcement of an identity replaces the
 * older one at once; its relay waits until that identity's relay interval
 * ends (AnnouncementStore), so a host that re-announces often is rate
 * limited without anyone keeping a stale price.
 *
 * Our own announcement carries the offer the host service gives, our
 * direct P2P addresses, and as relays the CloudStorage nodes we keep
 * outbound connections to (a host behind NAT is reached through them,
 * `peers.connect`). It is signed again when those addresses change, and a
 * node that receives its own identity's offer while not hosting withdraws
 * it, so a host that stopped hosting disappears everywhere.
 */

import { EventEmitter } from 'events';
import {
  ADDR_REFRESH_MS, ANNOUNCE2_VERSION, ANNOUNCE_SYNC_LIMIT, MAX_DIRECT_ADDRS, MAX_RELAY_ADDRS
} from './common';
import { AnnouncementStore, announcement, announceResults, withdrawal, type AnnounceResult } from './announce';
import { AnnouncePacket, HostAddr, addrKinds, type HostOffer } from './announcepacket';
import type { Signer } from '../base/signed';
import type { CloudPeer, CloudPeers, KeyedBuckets } from './peers';
import { sourceOf } from './peers';

export interface GossipOptions {
  magic: number;
  store: AnnouncementStore;
  peers: CloudPeers;
  /** New-identity budgets per source address. */
  newHosts: KeyedBuckets;
  /** Queue an announcement for a peer (paced). */
  send(cp: CloudPeer, ann: AnnouncePacket): void;
  signer(): Signer;
  height(): number;
  clock(): number;
  /** Our dialable P2P addresses (`ip:port`), e.g. --externalip; empty behind NAT. */
  directAddresses(): string[];
}

/** Announcement gossip of one negotiator. Emits `announcement` (AnnouncePacket) for each one stored. */
export class Gossip extends EventEmitter {
  private readonly options: GossipOptions;
  readonly store: AnnouncementStore;
  /** The offer we announce while hosting; null when not hosting. */
  private offer: HostOffer | null = null;
  private dueTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private lastOwnAt = 0;

  constructor(options: GossipOptions) {
    super();
    this.options = options;
    this.store = options.store;
  }

  get hosting(): boolean {
    return this.offer !== null;
  }

  close(): void {
    for (const timer of [this.dueTimer, this.refreshTimer]) {
      if (timer)
        clearTimeout(timer);
    }
    this.dueTimer = this.refreshTimer = null;
  }

  /** Store an announcement from `cp`; relays it as the store says. Returns the store's verdict. */
  handle(cp: CloudPeer, ann: AnnouncePacket): AnnounceResult {
    const store = this.options.store;
    const result = store.add(ann, this.options.height(),
      { newHosts: this.options.newHosts.get(sourceOf(cp.peer.hostname())) });
    if (result !== announceResults.ACCEPTED && result !== announceResults.DEFERRED)
      return result;
    this.emit('announcement', ann);
    if (ann.publicKey.equals(this.options.signer().publicKey))
      this.answerOwn(ann);
    else if (result === announceResults.ACCEPTED)
      this.relay(ann, cp);
    else
      this.scheduleDue();
    return result;
  }

  /**
   * Someone relays an announcement of ours we did not make in this run: an
   * earlier run's. Not hosting: withdraw it. Hosting: outbid its seq.
   */
  private answerOwn(ann: AnnouncePacket): void {
    if (this.offer)
      this.publish(this.offer, ann.seq + 1);
    else if (!ann.withdrawn)
      this.withdraw();
  }

  /** Send to every proven peer but the source and the announcer, if it reads the version. */
  relay(ann: AnnouncePacket, source: CloudPeer | null): void {
    for (const other of this.options.peers.all()) {
      if (other !== source && other.publicKey && !other.publicKey.equals(ann.publicKey) && reads(other, ann))
        this.options.send(other, ann);
    }
  }

  /** Bring a newly proven peer up to date: verified and long-known hosts first. */
  sync(cp: CloudPeer): void {
    for (const ann of this.options.store.forSync(this.options.height(), ANNOUNCE_SYNC_LIMIT)) {
      if (reads(cp, ann))
        this.options.send(cp, ann);
    }
  }

  private scheduleDue(): void {
    if (this.dueTimer)
      return;
    const at = this.options.store.nextDue();
    if (at === null)
      return;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = null;
      for (const ann of this.options.store.takeDue())
        this.relay(ann, null);
      this.scheduleDue();
    }, Math.max(1, at - this.options.clock()));
    this.dueTimer.unref?.();
  }

  /** Our announced addresses: direct ones, then outbound CloudStorage peers as relays. */
  addresses(): HostAddr[] {
    const out: HostAddr[] = [];
    for (const name of this.options.directAddresses().slice(0, MAX_DIRECT_ADDRS)) {
      const a = HostAddr.fromHostname(addrKinds.DIRECT, name);
      if (a)
        out.push(a);
    }
    let relays = 0;
    for (const cp of this.options.peers.all()) {
      if (relays >= MAX_RELAY_ADDRS)
        break;
      if (!cp.peer.outbound || !cp.publicKey || cp.csVersion < ANNOUNCE2_VERSION)
        continue;
      const a = HostAddr.fromHostname(addrKinds.RELAY, cp.peer.hostname());
      if (a) {
        out.push(a);
        relays += 1;
      }
    }
    return out;
  }

  /**
   * Sign and gossip our host offer (with our current addresses). A later
   * call replaces it everywhere (higher seq).
   */
  announce(offer: HostOffer): AnnouncePacket {
    this.offer = offer;
    return this.publish(offer, 0);
  }

  /** Sign and gossip a withdrawal: we stopped hosting. Null if we never announced. */
  withdraw(): AnnouncePacket | null {
    this.offer = null;
    const prev = this.options.store.get(this.options.signer().publicKey);
    // Nothing to withdraw: never announced, already withdrawn, or expired anyway.
    if (!prev || prev.withdrawn || prev.expiry < this.options.height())
      return null;
    const ann = withdrawal(this.nextSeq(prev.seq + 1), prev.expiry);
    return this.store_(ann.sign(this.options.signer(), this.options.magic));
  }

  /** Our connections changed: announce the new direct and relay addresses (debounced), if they differ. */
  addressesChanged(): void {
    if (!this.offer || this.refreshTimer)
      return;
    const wait = Math.max(ADDR_REFRESH_MS, this.lastOwnAt + ADDR_REFRESH_MS - this.options.clock());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      const own = this.options.store.get(this.options.signer().publicKey);
      if (this.offer && own && !sameAddrs(own.addrs, this.addresses()))
        this.publish(this.offer, 0);
    }, wait);
    this.refreshTimer.unref?.();
  }

  private nextSeq(min: number): number {
    const prev = this.options.store.get(this.options.signer().publicKey);
    const seconds = Math.floor(this.options.clock() / 1000);
    return Math.min(0xffffffff, Math.max(prev ? prev.seq + 1 : 0, min, seconds));
  }

  private publish(offer: HostOffer, minSeq: number): AnnouncePacket {
    const ann = announcement(offer, this.nextSeq(minSeq), this.addresses());
    return this.store_(ann.sign(this.options.signer(), this.options.magic));
  }

  private store_(ann: AnnouncePacket): AnnouncePacket {
    const result = this.options.store.add(ann, this.options.height(), { own: true });
    if (result !== announceResults.ACCEPTED)
      throw new RangeError(`Announcement not accepted: ${result}.`);
    this.lastOwnAt = this.options.clock();
    this.relay(ann, null);
    return ann;
  }
}

/** Whether `cp` reads `ann`'s version (v2 needs a cs version 2 peer). */
function reads(cp: CloudPeer, ann: AnnouncePacket): boolean {
  return ann.version === 1 || cp.csVersion >= ANNOUNCE2_VERSION;
}

function sameAddrs(a: HostAddr[], b: HostAddr[]): boolean {
  return a.length === b.length && a.every((x, i) => x.encode().equals(b[i].encode()));
}
