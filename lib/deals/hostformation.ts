/*!
 * hostformation.ts - forming a contract on the host: quote, offer, propose.
 *
 *   quote   -> the host's prices and limits now (no commitment)
 *   offer   -> a signed offer at the renter's bid, reserving capacity until
 *              the offer expires; a bid under the price is declined with
 *              `price-too-low` and the asking prices in the body
 *   propose -> the renter-signed contract, its revision 0 and the objects
 *              it is formed with; the host checks them against its offer,
 *              registers them with its storage backend, countersigns the
 *              contract and returns sealed upload tokens (a renewal
 *              adopts the renewed contract's objects: nothing to upload)
 *
 * Open offers (reservations) live in memory: an offer outlives no restart.
 */

import bio = require('bufio');
import { type StorageContract, verifyContract } from '../contracts/storagecontract';
import { type Revision, verifyRevisionSigs } from '../contracts/revision';
import type { ObjectEntry } from '../contracts/objecttree';
import { ZERO_HASH } from '../base/consts';
import { ServiceError, type RequestContext } from '../negotiator/services';
import { statuses } from '../negotiator/status';
import { coinNeedBody, coinsCover, type VerifiedCoin } from '../negotiator/coins';
import { contractFootprint } from '../storage/storetypes';
import {
  BAD_TERMS, DEFAULT_HOLDBACK_BPS, MAX_OFFERS_PER_RENTER, MAX_RESERVATIONS, NO_CAPACITY, PRICE_TOO_LOW, getDealParams
} from './common';
import { auditTerms, contractCost, type Prices } from './pricing';
import { allowanceCovers, firstRevision, isRenewal } from './revisions';
import { Offer, OfferArgs, ProposeArgs, ProposeResult, Quote, QuoteArgs } from './wire';
import { PendingRevision } from './dealrecords';
import { type HostCore, type HostTerms, UPLOAD_GRACE_SECONDS, decline, parse } from './hostcommon';

/** Capacity held for an open offer. */
interface Reservation {
  renterKey: Buffer;
  size: number;
  duration: number;
  prices: Prices;
  expiryHeight: number;
  /** A proposal is registering it: still counted, no longer usable. */
  used?: boolean;
}

function pricesBody(p: Prices): Buffer {
  const bw = bio.write(24);
  for (const v of [p.storage, p.upload, p.download]) {
    bw.writeU32(v % 0x100000000);
    bw.writeU32(Math.floor(v / 0x100000000));
  }
  return bw.render();
}

/** Offers and formation: the host's reservations and the contracts they become. */
export class HostFormation {
  readonly core: HostCore;
  private readonly terms: () => HostTerms;
  /** Called once a contract is formed (its escrow is then awaited on chain). */
  private readonly formed: (c: StorageContract) => void;
  private readonly reservations = new Map<string, Reservation>();
  /** Renters with a committed contract here (hex keys); null = rebuild. */
  private payers: Set<string> | null = null;
  private payersHeight = -1;
  /** offer() checks capacity, then awaits: one at a time, or offers overcommit. */
  private offerLock: Promise<unknown> = Promise.resolve();

  constructor(core: HostCore, terms: () => HostTerms, formed: (c: StorageContract) => void) {
    this.core = core;
    this.terms = terms;
    this.formed = formed;
  }

  /** Forget who has paid (a block came or went): rebuilt on the next offer. */
  resetPayers(): void {
    this.payers = null;
  }

  /** Drop reservations whose offer expired. */
  private prune(): void {
    const height = this.core.ctx.height();
    for (const [key, r] of this.reservations) {
      if (r.expiryHeight < height)
        this.reservations.delete(key);
    }
  }

  /** Bytes promised to open offers. */
  reservedByOffers(): number {
    this.prune();
    let sum = 0;
    for (const r of this.reservations.values())
      sum += contractFootprint(r.size);
    return sum;
  }

  /** Free bytes: capacity minus registered contracts minus open offers. */
  async freeCapacity(): Promise<number> {
    const status = await this.core.mustBackend().status();
    return Math.max(0, status.capacity - status.reserved - this.reservedByOffers());
  }


  async quote(args: Buffer, _ctx: RequestContext): Promise<Buffer> {
    parse(() => QuoteArgs.decode(args));
    const q = new Quote();
    q.prices = { ...this.terms().prices };
    q.maxDuration = this.terms().maxDuration;
    q.freeCapacity = await this.freeCapacity();
    q.height = this.core.ctx.height();
    q.offerWindow = getDealParams(this.core.ctx.network).offerWindow;
    return q.encode();
  }

  offer(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const run = this.offerLock.then(() => this.makeOffer(args, ctx));
    this.offerLock = run.catch(() => {});
    return run;
  }

  private async makeOffer(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => OfferArgs.decode(args));
    const terms = this.terms();
    const window = getDealParams(this.core.ctx.network).offerWindow;
    // [DECLINE] nothing to store, shorter than the offer window, or longer
    // than this host serves
    if (a.size === 0 || a.duration <= window || a.duration > terms.maxDuration)
      throw decline(BAD_TERMS, 'bad-duration');
    // [DECLINE] a bid under any of the host's prices: answer with the prices
    if (a.bid.storage < terms.prices.storage || a.bid.upload < terms.prices.upload
      || a.bid.download < terms.prices.download) {
      throw new ServiceError(PRICE_TOO_LOW, 'price-too-low', pricesBody(terms.prices));
    }
    // [DECLINE] a contract that would not pay for its close (--host-min-contract)
    if (contractCost(a.size, a.duration, a.bid) < terms.minContract)
      throw decline(BAD_TERMS, 'below-min-contract');
    this.prune();
    // [DECLINE] too many open offers in all (bounded memory)
    if (this.reservations.size >= MAX_RESERVATIONS && !this.hasOpen(ctx.from))
      throw decline(statuses.BUSY, 'too-many-offers');
    await this.makeRoom(ctx.from, contractFootprint(a.size), ctx.coins);
    // [DECLINE] no data API renters could upload to
    if (!this.core.ctx.dataURL())
      throw decline(statuses.SERVER_ERROR, 'no-data-api');

    const height = this.core.ctx.height();
    const offer = new Offer();
    offer.hostKey = this.core.ctx.identity().publicKey;
    offer.renterKey = ctx.from;
    offer.hostEscrowKey = await this.core.ctx.createEscrowKey();
    offer.size = a.size;
    offer.duration = a.duration;
    offer.prices = { ...a.bid };
    offer.height = height;
    offer.expiryHeight = height + getDealParams(this.core.ctx.network).offerWindow;
    offer.dataURL = this.core.ctx.dataURL();
    offer.sign(this.core.ctx.identity());
    this.reservations.set(offer.hostEscrowKey.toString('hex'), {
      renterKey: ctx.from,
      size: a.size,
      duration: a.duration,
      prices: { ...a.bid },
      expiryHeight: offer.expiryHeight
    });
    return offer.encode();
  }

  private hasOpen(renterKey: Buffer): boolean {
    for (const r of this.reservations.values()) {
      if (r.renterKey.equals(renterKey) && !r.used)
        return true;
    }
    return false;
  }

  /**
   * Make room for `need` more bytes of open offers for `renterKey`: an
   * identity asking for a new offer releases its oldest ones while it is
   * over its count, or, without paid history, over its share of the free
   * capacity or the absolute cap; so a renter that asks again is never
   * locked out by its own earlier offers, and a throwaway identity cannot
   * reserve the host. Coins the renter proved with the request
   * (--host-new-renter-coins, coins.ts) count as paid history. Declines if
   * the offer cannot fit even so.
   */
  private async makeRoom(renterKey: Buffer, need: number, coins: readonly VerifiedCoin[]): Promise<void> {
    const mine = [...this.reservations.entries()].filter(([, r]) => r.renterKey.equals(renterKey) && !r.used);
    const held = () => mine.reduce((sum, [, r]) => sum + contractFootprint(r.size), 0);
    const terms = this.terms();
    const coinNeed = terms.newRenterCoins > 0 ? { amount: terms.newRenterCoins, age: terms.newRenterCoinsAge } : null;
    const paid = await this.hasPaid(renterKey) || (coinNeed !== null && coinsCover(coins, coinNeed.amount, coinNeed.age));
    // Free capacity as if this renter's open offers were released.
    const free = await this.freeCapacity() + held();
    const limit = paid ? free : Math.min(Math.floor(free * this.terms().newRenterShare / 100), this.terms().newRenterCap);
    // [DECLINE] not enough room for the object and its tree file
    if (need > free)
      throw decline(NO_CAPACITY, 'no-capacity');
    // [DECLINE] more than a renter without paid history may hold: ask for coins when they would lift the cap
    if (need > limit && coinNeed)
      throw new ServiceError(statuses.COINS_REQUIRED, 'coins-required', coinNeedBody(coinNeed));
    if (need > limit)
      throw decline(NO_CAPACITY, 'over-new-renter-limit');
    while (mine.length > 0 && (mine.length >= MAX_OFFERS_PER_RENTER || held() + need > limit
      || (this.reservations.size >= MAX_RESERVATIONS))) {
      const [key] = mine.shift()!;
      this.reservations.delete(key);
    }
    // [DECLINE] not enough room for the object and its tree file
    if (need > await this.freeCapacity())
      throw decline(NO_CAPACITY, 'no-capacity');
  }

  /**
   * Whether a renter has paid this host before: one of its contracts here
   * is committed on chain. Cached for the current height.
   */
  private async hasPaid(renterKey: Buffer): Promise<boolean> {
    if (!this.payers || this.payersHeight !== this.core.ctx.height()) {
      const payers = new Set<string>();
      for (const c of await this.core.ctx.store.listHosted()) {
        if (await this.core.isCommitted(c.hash()))
          payers.add(c.renterKey.toString('hex'));
      }
      this.payers = payers;
      this.payersHeight = this.core.ctx.height();
    }
    return this.payers.has(renterKey.toString('hex'));
  }


  async propose(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ProposeArgs.decode(args));
    const c = a.contract;
    const me = this.core.ctx.identity();
    const key = c.hostEscrowKey.toString('hex');
    const r = this.reservations.get(key);
    const height = this.core.ctx.height();
    const renewal = isRenewal(c);
    // [DECLINE] no open offer with this escrow key (expired, used or never made)
    if (!r || r.used || r.expiryHeight < height)
      throw decline(BAD_TERMS, 'no-offer');
    // [DECLINE] the contract must match the offer it claims (a renewal
    // stores no new bytes: its size is the renewed contract's)
    const bad = !c.hostKey.equals(me.publicKey) || !c.renterKey.equals(ctx.from)
      || !r.renterKey.equals(ctx.from) || (!renewal && c.size > r.size)
      || c.endHeight - c.startHeight !== r.duration || c.expiryHeight > r.expiryHeight
      || c.storagePrice < r.prices.storage || c.uploadPrice < r.prices.upload
      || c.downloadPrice < r.prices.download || c.startHeight > height + 1
      || c.startHeight + 2 * getDealParams(this.core.ctx.network).offerWindow < height;
    if (bad)
      throw decline(BAD_TERMS, 'terms-differ-from-offer');
    // [DECLINE] the audit schedule the protocol derives, with the standard holdback
    const auditInterval = auditTerms(r.duration, getDealParams(this.core.ctx.network).auditInterval);
    if (c.auditInterval !== auditInterval || c.holdback !== DEFAULT_HOLDBACK_BPS)
      throw decline(BAD_TERMS, 'bad-audit-terms');
    try {
      verifyContract(c, height + 1, this.core.ctx.network, { requireSigs: false });
    } catch (e) {
      throw decline(BAD_TERMS, (e as { code?: string }).code || 'bad-contract');
    }
    // [DECLINE] the renter must have signed
    if (!c.hasRenterSig())
      throw decline(statuses.BAD_REQUEST, 'contract-unsigned');
    // An offer is used once: mark it before the first await, but keep its
    // bytes counted until the backend has registered them.
    r.used = true;
    return this.core.lock.run(async () => {
      try {
        return await this.checkAndForm(c, a.revision, a.objects, r, key, renewal);
      } catch (e) {
        if (this.reservations.has(key))
          r.used = false;
        throw e;
      }
    });
  }

  /** Revision 0's checks (one proposal at a time), then formation. */
  private async checkAndForm(c: StorageContract, revision: Revision, listed: ObjectEntry[], r: Reservation, key: string,
    renewal: boolean): Promise<Buffer> {
    const objects = renewal ? await this.renewedObjects(c, listed.length) : listed;
    let rev0: Revision;
    try {
      rev0 = firstRevision(c, objects);
    } catch (e) {
      throw decline(BAD_TERMS, (e as { code?: string }).code || 'bad-object-list');
    }
    // [DECLINE] revision 0 must be exactly what the contract and its objects give, signed by the renter
    if (!revision.sameTerms(rev0) || !verifyRevisionSigs(c, revision, false))
      throw decline(BAD_TERMS, 'bad-revision-zero');
    // [DECLINE] the allowance must pay revision 0's data to the end
    if (!allowanceCovers(c, rev0))
      throw decline(BAD_TERMS, 'insufficient-allowance');
    return this.form(c, revision, objects, r, key, renewal);
  }

  /**
   * The objects a renewal carries over: the renewed contract's latest
   * ones, which this host already holds for the same renter. Declines
   * unless that contract is final, has nothing pending and has not ended.
   */
  private async renewedObjects(c: StorageContract, listed: number): Promise<ObjectEntry[]> {
    const old = await this.core.ctx.store.getHosted(c.prevId);
    // [DECLINE] a renewal names a contract of the same renter here, not ended, with no revision in flight
    if (listed !== 0 || !old || !old.renterKey.equals(c.renterKey) || this.core.ctx.height() >= old.endHeight)
      throw decline(BAD_TERMS, 'bad-renewal');
    if (!await this.core.ctx.store.latestRevision(c.prevId) || await this.core.ctx.store.getPending(c.prevId))
      throw decline(BAD_TERMS, 'renewed-contract-busy');
    return (await this.core.ctx.store.listObjects(c.prevId)).map(({ id, root, size }) => ({ id, root, size }));
  }

  /** Countersign, store (synced), register with the backend, answer with upload tokens. */
  private async form(c: StorageContract, rev0: Revision, objects: ObjectEntry[], r: Reservation, key: string,
    renewal: boolean): Promise<Buffer> {
    const me = this.core.ctx.identity();
    const height = this.core.ctx.height();
    const id = c.hash();
    const idHex = id.toString('hex');
    const backend = this.core.mustBackend();
    const blockSeconds = getDealParams(this.core.ctx.network).blockSeconds;
    // Wall-clock expiry is only the file server's backstop (blocks can be
    // slow): twice the time to the refund height plus a day. The host
    // removes data by height in maintain().
    const expiry = this.core.now() + 2 * (c.refundHeight - height) * blockSeconds + 86400;
    c.sign(me);
    const pending = new PendingRevision();
    pending.revision = rev0;
    pending.add = objects.map((o) => ({ ...o, fileId: ZERO_HASH }));
    // Recorded before the backend holds anything, so a crash leaves a
    // record that housekeeping cleans up, never bytes nobody accounts for.
    await this.core.ctx.store.putHosted(c, pending);
    try {
      await backend.register({ id: idHex, expiry });
      if (renewal)
        await backend.adopt(idHex, c.prevId.toString('hex'), objects.map((o) => o.id));
      else {
        for (const o of objects)
          await backend.registerObject(idHex, o.id, { root: o.root.toString('hex'), size: o.size });
      }
    } catch (e) {
      await backend.unregister(idHex).catch(() => false);
      await this.core.ctx.store.deleteHosted(id);
      const code = (e as { code?: unknown }).code;
      throw decline(code === 'no-capacity' ? NO_CAPACITY : statuses.SERVER_ERROR,
        code === 'no-capacity' ? 'no-capacity' : 'backend-failed');
    }
    this.reservations.delete(key);
    this.formed(c);
    const res = new ProposeResult();
    res.hostSig = c.hostSig;
    res.dataURL = this.core.ctx.dataURL();
    const notAfter = this.core.now() + (c.expiryHeight - height) * blockSeconds + UPLOAD_GRACE_SECONDS;
    res.dataTokens = renewal ? [] : this.core.putTokens(c, objects, notAfter);
    res.manifestToken = this.core.manifestToken(c, notAfter);
    return res.encode();
  }


  /** Reservations for getstorageinfo. */
  openOffers(): number {
    this.prune();
    return this.reservations.size;
  }
}
