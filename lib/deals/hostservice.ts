/*!
 * hostservice.ts - the `storage` service a host offers over csreq.
 *
 * Methods, in deal order (DESIGN 5, "upload first, then money"):
 *   quote   -> the host's prices and limits now (no commitment)
 *   offer   -> a signed offer at the renter's bid, reserving capacity until
 *              the offer expires; a bid under the price is declined with
 *              `price-too-low` and the asking prices in the body
 *   propose -> the renter-signed contract, its revision 0 and the objects
 *              it is formed with; the host checks them against its offer,
 *              registers them with its storage backend, countersigns the
 *              contract and returns sealed upload tokens (a renewal
 *              adopts the renewed contract's objects: nothing to upload)
 *   revise  -> revision n+1 with its changes (objects added, removed): the
 *              host checks numbers, accrual and allowance, registers the
 *              added objects and returns upload tokens; a revision that
 *              only removes is final at once and frees the space
 *   receipt -> after the upload: the backend confirms every added object,
 *              the host countersigns the revision, fsyncs it and answers
 *              with it (the renter commits a new contract only after all)
 *   revision-> the latest revision both signed
 *   token   -> a sealed download token for one object of the contract
 */

import bio = require('bufio');
import bcoin = require('../bcoin');
import { StorageContract, verifyContract } from '../contracts/storagecontract';
import { type Revision, verifyRevisionSigs } from '../contracts/revision';
import type { ObjectEntry } from '../contracts/objecttree';
import { ContractError } from '../contracts/errors';
import { Mutex } from '../contracts/mutex';
import { getParams as getContractParams } from '../contracts/common';
import type { Identity } from '../base/identity';
import { ZERO_HASH } from '../base/consts';
import { ServiceError, type RequestContext, type Service } from '../negotiator/services';
import { statuses } from '../negotiator/status';
import type { StorageBackend } from '../hosting/backend';
import { MAX_MANIFEST_SIZE } from '../storage/common';
import { contractFootprint, footprint } from '../storage/objectstore';
import {
  BAD_TERMS, DEFAULT_HOLDBACK_BPS, MAX_OFFERS_PER_RENTER, MAX_RESERVATIONS, NO_CAPACITY, PRICE_TOO_LOW,
  REVISION_HEIGHT_SLACK, SERVICE_NAME, SERVICE_VERSION, getDealParams
} from './common';
import { auditTerms, contractCost, type Prices } from './pricing';
import { accrualTerms, allowanceCovers, checkNextRevision, firstRevision, isRenewal } from './revisions';
import { seal } from './seal';
import type { ChannelState } from '../contracts/channel';
import { intervals } from './accrual';
import { PayArgs, dueFor } from './payments';
import { AUDITED_STATES } from './auditor';
import { AUDIT_BUDGET } from './audits';
import { ALL_OBJECTS } from '../storage/token';
import {
  ContractArgs, Offer, OfferArgs, ProposeArgs, ProposeResult, Quote, QuoteArgs, ReceiptArgs, ReviseArgs, ReviseResult,
  TokenArgs, TokenResult
} from './wire';
import { type ContractObject, type DealStore, PendingRevision } from './dealstore';

/** What the host service needs from the node. */
export interface HostContext {
  network: bcoin.Network;
  identity(): Identity;
  height(): number;
  backend(): StorageBackend | null;
  /** Base URL of the data API renters upload to and download from. */
  dataURL(): string;
  createEscrowKey(): Promise<Buffer>;
  /** State of a contract in the chain index, or null if no commit is known. */
  contractState(id: Buffer): Promise<string | null>;
  /**
   * Store a renter-signed channel state once it verifies against the
   * escrow (lib/contracts/channelstore.ts), fsynced before it resolves;
   * `final`: the renter's last state. Throws ContractError.
   */
  acceptState(c: StorageContract, state: ChannelState, final: boolean): Promise<void>;
  /** Sat paid by the latest state stored for a contract (0 without one). */
  latestPaid(id: Buffer): Promise<number>;
  store: DealStore;
  now?: () => number;
}

/** A host's terms, from flags or cloudcoin.conf. */
export interface HostTerms {
  prices: Prices;
  maxDuration: number;
  /**
   * Smallest contract cost (pricing.contractCost of the offer, sat) the
   * host accepts: below it the host's close would cost more than it earns
   * (--host-min-contract, like Sia's contract price).
   */
  minContract: number;
  /** Percent of free capacity a renter without paid history may hold in open offers. */
  newRenterShare: number;
  /** Most bytes a renter without paid history may hold in open offers. */
  newRenterCap: number;
}

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

/** A countersigned contract whose escrow is awaited on chain. */
interface Watched {
  id: Buffer;
  expiryHeight: number;
}

/** How an escrow output is recognised: its script and exact value. */
function watchKey(c: StorageContract): string {
  return c.escrowOutputScript().toRaw().toString('hex') + ':' + c.escrowValue;
}

/** OP_RETURN carrying a CloudCoin commit (43 43, version 0, type 1). */
function isCommitScript(script: bcoin.Script): boolean {
  if (!script.isNulldata())
    return false;
  const data = script.getNulldata();
  return data !== null && data.length >= 4 && data[0] === 0x43 && data[1] === 0x43 && data[2] === 0 && data[3] === 1;
}

/** Intervals a host waits for a state after it served an audit (docs/MARKET.md). */
export const NON_PAYMENT_INTERVALS = 2;

/** Upload tokens stay valid this long past the offer's last block. */
const UPLOAD_GRACE_SECONDS = 3600;
/** Download tokens: short-lived, renewed through `token`. */
const DOWNLOAD_TOKEN_SECONDS = 3600;
/** Upload tokens of a revision: an hour to upload what it adds (the renter may revise again). */
const UPLOAD_TOKEN_SECONDS = 3600;

function keyHash(pk: Buffer): string {
  return bcoin.KeyRing.fromPublic(pk).getKeyHash().toString('hex');
}

function pricesBody(p: Prices): Buffer {
  const bw = bio.write(24);
  for (const v of [p.storage, p.upload, p.download]) {
    bw.writeU32(v % 0x100000000);
    bw.writeU32(Math.floor(v / 0x100000000));
  }
  return bw.render();
}

/** A decline whose body carries its code, so the renter can tell the user why. */
function decline(status: string, code: string): ServiceError {
  return new ServiceError(status, code, Buffer.from(code, 'ascii'));
}

function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch {
    throw decline(statuses.BAD_REQUEST, 'bad-args');
  }
}

export class HostService {
  readonly ctx: HostContext;
  terms: HostTerms;
  private readonly reservations = new Map<string, Reservation>();
  /** Escrows awaited on chain (see unfunded()); null = load from the store. */
  private watch: Map<string, Watched> | null = null;
  /** Renters with a committed contract here (hex keys); null = rebuild. */
  private payers: Set<string> | null = null;
  private payersHeight = -1;
  /** offer() checks capacity, then awaits: one at a time, or offers overcommit. */
  private offerLock: Promise<unknown> = Promise.resolve();
  /** Revisions (formation, revise, receipt, housekeeping) change state one at a time. */
  private readonly lock = new Mutex();

  constructor(ctx: HostContext, terms: HostTerms) {
    this.ctx = ctx;
    this.terms = terms;
  }

  private now(): number {
    return this.ctx.now ? this.ctx.now() : Math.floor(Date.now() / 1000);
  }

  private mustBackend(): StorageBackend {
    const backend = this.ctx.backend();
    if (!backend)
      throw decline(statuses.SERVICE_UNSUPPORTED, 'not-hosting');
    return backend;
  }

  /** Drop reservations whose offer expired. */
  private prune(): void {
    const height = this.ctx.height();
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
    const status = await this.mustBackend().status();
    return Math.max(0, status.capacity - status.reserved - this.reservedByOffers());
  }

  /** The service definition for Negotiator#registerService. */
  service(): Service {
    return {
      name: SERVICE_NAME,
      version: SERVICE_VERSION,
      methods: {
        quote: { description: 'prices and limits now', handler: (a, c) => this.quote(a, c) },
        offer: { description: 'signed offer at a bid, reserving capacity', handler: (a, c) => this.offer(a, c) },
        propose: { description: 'countersign a renter-signed contract and its revision 0', handler: (a, c) => this.propose(a, c) },
        revise: { description: 'accept revision n+1 of a contract', handler: (a, c) => this.revise(a, c) },
        receipt: { description: 'countersign a revision once its upload is complete', handler: (a, c) => this.receipt(a, c) },
        revision: { description: 'the latest revision both signed', handler: (a, c) => this.revision(a, c) },
        token: { description: 'sealed download token for one object', handler: (a, c) => this.token(a, c) },
        pay: { description: 'a renter-signed channel state paying for audited intervals', handler: (a, c) => this.pay(a, c) }
      }
    };
  }

  async quote(args: Buffer, _ctx: RequestContext): Promise<Buffer> {
    parse(() => QuoteArgs.decode(args));
    const q = new Quote();
    q.prices = { ...this.terms.prices };
    q.maxDuration = this.terms.maxDuration;
    q.freeCapacity = await this.freeCapacity();
    q.height = this.ctx.height();
    q.offerWindow = getDealParams(this.ctx.network).offerWindow;
    return q.encode();
  }

  offer(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const run = this.offerLock.then(() => this.makeOffer(args, ctx));
    this.offerLock = run.catch(() => {});
    return run;
  }

  private async makeOffer(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => OfferArgs.decode(args));
    const terms = this.terms;
    const window = getDealParams(this.ctx.network).offerWindow;
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
    await this.makeRoom(ctx.from, contractFootprint(a.size));
    // [DECLINE] no data API renters could upload to
    if (!this.ctx.dataURL())
      throw decline(statuses.SERVER_ERROR, 'no-data-api');

    const height = this.ctx.height();
    const offer = new Offer();
    offer.hostKey = this.ctx.identity().publicKey;
    offer.renterKey = ctx.from;
    offer.hostEscrowKey = await this.ctx.createEscrowKey();
    offer.size = a.size;
    offer.duration = a.duration;
    offer.prices = { ...a.bid };
    offer.height = height;
    offer.expiryHeight = height + getDealParams(this.ctx.network).offerWindow;
    offer.dataURL = this.ctx.dataURL();
    offer.sign(this.ctx.identity());
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
   * reserve the host. Declines if the offer cannot fit even so.
   */
  private async makeRoom(renterKey: Buffer, need: number): Promise<void> {
    const mine = [...this.reservations.entries()].filter(([, r]) => r.renterKey.equals(renterKey) && !r.used);
    const held = () => mine.reduce((sum, [, r]) => sum + contractFootprint(r.size), 0);
    const paid = await this.hasPaid(renterKey);
    // Free capacity as if this renter's open offers were released.
    const free = await this.freeCapacity() + held();
    const limit = paid ? free : Math.min(Math.floor(free * this.terms.newRenterShare / 100), this.terms.newRenterCap);
    // [DECLINE] not enough room for the object and its tree file
    if (need > free)
      throw decline(NO_CAPACITY, 'no-capacity');
    // [DECLINE] more than a renter without paid history may hold
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
    if (!this.payers || this.payersHeight !== this.ctx.height()) {
      const payers = new Set<string>();
      for (const c of await this.ctx.store.listHosted()) {
        if (await this.isCommitted(c.hash()))
          payers.add(c.renterKey.toString('hex'));
      }
      this.payers = payers;
      this.payersHeight = this.ctx.height();
    }
    return this.payers.has(renterKey.toString('hex'));
  }

  /** An object id the backend does not know (deleted before, or never registered). */
  private static gone(e: unknown): boolean {
    return (e as { code?: unknown } | null)?.code === 'unknown-object';
  }

  async propose(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ProposeArgs.decode(args));
    const c = a.contract;
    const me = this.ctx.identity();
    const key = c.hostEscrowKey.toString('hex');
    const r = this.reservations.get(key);
    const height = this.ctx.height();
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
      || c.startHeight + 2 * getDealParams(this.ctx.network).offerWindow < height;
    if (bad)
      throw decline(BAD_TERMS, 'terms-differ-from-offer');
    // [DECLINE] the audit schedule the protocol derives, with the standard holdback
    const auditInterval = auditTerms(r.duration, getDealParams(this.ctx.network).auditInterval);
    if (c.auditInterval !== auditInterval || c.holdback !== DEFAULT_HOLDBACK_BPS)
      throw decline(BAD_TERMS, 'bad-audit-terms');
    try {
      verifyContract(c, height + 1, this.ctx.network, { requireSigs: false });
    } catch (e) {
      throw decline(BAD_TERMS, (e as { code?: string }).code || 'bad-contract');
    }
    // [DECLINE] the renter must have signed
    if (!c.hasRenterSig())
      throw decline(statuses.BAD_REQUEST, 'contract-unsigned');
    // An offer is used once: mark it before the first await, but keep its
    // bytes counted until the backend has registered them.
    r.used = true;
    return this.lock.run(async () => {
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
    const old = await this.ctx.store.getHosted(c.prevId);
    // [DECLINE] a renewal names a contract of the same renter here, not ended, with no revision in flight
    if (listed !== 0 || !old || !old.renterKey.equals(c.renterKey) || this.ctx.height() >= old.endHeight)
      throw decline(BAD_TERMS, 'bad-renewal');
    if (!await this.ctx.store.latestRevision(c.prevId) || await this.ctx.store.getPending(c.prevId))
      throw decline(BAD_TERMS, 'renewed-contract-busy');
    return (await this.ctx.store.listObjects(c.prevId)).map(({ id, root, size }) => ({ id, root, size }));
  }

  /** Countersign, store (synced), register with the backend, answer with upload tokens. */
  private async form(c: StorageContract, rev0: Revision, objects: ObjectEntry[], r: Reservation, key: string,
    renewal: boolean): Promise<Buffer> {
    const me = this.ctx.identity();
    const height = this.ctx.height();
    const id = c.hash();
    const idHex = id.toString('hex');
    const backend = this.mustBackend();
    const blockSeconds = getDealParams(this.ctx.network).blockSeconds;
    // Wall-clock expiry is only the file server's backstop (blocks can be
    // slow): twice the time to the refund height plus a day. The host
    // removes data by height in maintain().
    const expiry = this.now() + 2 * (c.refundHeight - height) * blockSeconds + 86400;
    c.sign(me);
    const pending = new PendingRevision();
    pending.revision = rev0;
    pending.add = objects.map((o) => ({ ...o, fileId: ZERO_HASH }));
    // Recorded before the backend holds anything, so a crash leaves a
    // record that housekeeping cleans up, never bytes nobody accounts for.
    await this.ctx.store.putHosted(c, pending);
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
      await this.ctx.store.deleteHosted(id);
      const code = (e as { code?: unknown }).code;
      throw decline(code === 'no-capacity' ? NO_CAPACITY : statuses.SERVER_ERROR,
        code === 'no-capacity' ? 'no-capacity' : 'backend-failed');
    }
    this.reservations.delete(key);
    if (this.watch)
      this.watch.set(watchKey(c), { id, expiryHeight: c.expiryHeight });
    const res = new ProposeResult();
    res.hostSig = c.hostSig;
    res.dataURL = this.ctx.dataURL();
    const notAfter = this.now() + (c.expiryHeight - height) * blockSeconds + UPLOAD_GRACE_SECONDS;
    res.dataTokens = renewal ? [] : this.putTokens(c, objects, notAfter);
    res.manifestToken = this.manifestToken(c, notAfter);
    return res.encode();
  }

  /** Sealed `put` tokens, one per object. */
  private putTokens(c: StorageContract, objects: readonly ObjectEntry[], notAfter: number): Buffer[] {
    const backend = this.mustBackend();
    const id = c.hash();
    return objects.map((o) => seal(this.ctx.identity(), c.renterKey, id, Buffer.from(backend.mintToken({
      contract: id.toString('hex'), op: 'put', object: o.id, notAfter, maxBytes: o.size, renterPkHash: keyHash(c.renterKey)
    }), 'ascii')));
  }

  private manifestToken(c: StorageContract, notAfter: number): Buffer {
    const id = c.hash();
    return seal(this.ctx.identity(), c.renterKey, id, Buffer.from(this.mustBackend().mintToken({
      contract: id.toString('hex'), op: 'put', object: 0, notAfter, maxBytes: MAX_MANIFEST_SIZE, renterPkHash: keyHash(c.renterKey)
    }), 'ascii'));
  }

  private async renterContract(id: Buffer, ctx: RequestContext): Promise<StorageContract> {
    const c = await this.ctx.store.getHosted(id);
    // [DECLINE] only the contract's renter may ask (unknown ids look the same)
    if (!c || !c.renterKey.equals(ctx.from))
      throw decline(statuses.BAD_REQUEST, 'unknown-contract');
    return c;
  }

  /**
   * Revision n+1: check it (numbers only grow, exact accrual, the
   * allowance pays it to the end), then either make it final at once
   * (it only removes objects: they are deleted and the space is free) or
   * record it and register the objects it adds, answering with upload
   * tokens; `receipt` makes it final after the upload. A revision with the
   * number of one still pending replaces it (the renter gave that one up);
   * the same one again is answered again.
   */
  async revise(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ReviseArgs.decode(args));
    const rev = a.revision;
    const c = await this.renterContract(rev.contractId, ctx);
    // [DECLINE] the renter must have signed it
    if (!verifyRevisionSigs(c, rev, false))
      throw decline(BAD_TERMS, 'revision-bad-sig');
    return this.lock.run(async () => {
      const id = c.hash();
      const latest = await this.ctx.store.latestRevision(id);
      // [DECLINE] revision 0 is not final yet (its upload has no receipt)
      if (!latest)
        throw decline(BAD_TERMS, 'not-formed');
      const pending = await this.ctx.store.getPending(id);
      const again = pending !== null && pending.revision.hash().equals(rev.hash());
      const floor = pending ? pending.revision.nextObject : 0;
      if (!again) {
        try {
          checkNextRevision(c, latest, await this.ctx.store.listObjects(id), { add: a.add, remove: a.remove },
            rev, floor, this.ctx.height(), REVISION_HEIGHT_SLACK);
        } catch (e) {
          if (e instanceof ContractError)
            throw decline(BAD_TERMS, e.code);
          throw e;
        }
        const added = a.add.reduce((sum, o) => sum + footprint(o.size), 0);
        // [DECLINE] no room for what it adds
        if (added > await this.freeCapacity())
          throw decline(NO_CAPACITY, 'no-capacity');
        if (pending)
          await this.dropPendingObjects(c, pending);
      }
      const res = new ReviseResult();
      res.dataURL = this.ctx.dataURL();
      if (a.add.length === 0) {
        await this.finish(c, rev, [], a.remove);
        res.hostSig = rev.hostSig;
        return res.encode();
      }
      if (!again) {
        const p = new PendingRevision();
        p.revision = rev;
        p.add = a.add.map((o) => ({ ...o, fileId: ZERO_HASH }));
        p.remove = a.remove;
        await this.ctx.store.putPending(id, p);
      }
      await this.registerObjects(c, a.add);
      const notAfter = this.now() + UPLOAD_TOKEN_SECONDS;
      res.dataTokens = this.putTokens(c, a.add, notAfter);
      res.manifestToken = this.manifestToken(c, notAfter);
      return res.encode();
    });
  }

  /** Register added objects with the backend (idempotent); on failure none stays and the pending revision goes. */
  private async registerObjects(c: StorageContract, add: readonly ObjectEntry[]): Promise<void> {
    const backend = this.mustBackend();
    const idHex = c.id();
    try {
      for (const o of add)
        await backend.registerObject(idHex, o.id, { root: o.root.toString('hex'), size: o.size });
    } catch (e) {
      const p = await this.ctx.store.getPending(c.hash());
      if (p)
        await this.dropPendingObjects(c, p);
      await this.ctx.store.dropPending(c.hash());
      const code = (e as { code?: unknown }).code;
      throw decline(code === 'no-capacity' ? NO_CAPACITY : statuses.SERVER_ERROR,
        code === 'no-capacity' ? 'no-capacity' : 'backend-failed');
    }
  }

  /** Free what an abandoned pending revision registered. */
  private async dropPendingObjects(c: StorageContract, p: PendingRevision): Promise<void> {
    const backend = this.mustBackend();
    for (const o of p.add) {
      try {
        await backend.deleteObject(c.id(), o.id);
      } catch (e) {
        // [DECLINE] its upload is being written right now
        if ((e as { code?: unknown }).code === 'busy')
          throw decline(statuses.BUSY, 'upload-in-progress');
        if (!HostService.gone(e))
          throw decline(statuses.SERVER_ERROR, 'backend-failed');
      }
    }
  }

  /**
   * Make `rev` final: delete the objects it removes (first: a crash before
   * the revision is stored leaves the renter's retry to find them gone,
   * never bytes nobody pays for), countersign, and store it with the new
   * object list in one synced batch.
   */
  private async finish(c: StorageContract, rev: Revision, add: ContractObject[], remove: number[]): Promise<void> {
    const backend = this.mustBackend();
    for (const n of remove) {
      try {
        await backend.deleteObject(c.id(), n);
      } catch (e) {
        if ((e as { code?: unknown }).code === 'busy')
          throw decline(statuses.BUSY, 'upload-in-progress');
        if (!HostService.gone(e))
          throw decline(statuses.SERVER_ERROR, 'backend-failed');
      }
    }
    rev.sign(this.ctx.identity(), c);
    await this.ctx.store.applyRevision({ id: c.hash(), revision: rev, add, remove });
  }

  /**
   * After the upload: the host checks that the backend holds every object
   * the revision adds, complete and exactly as registered, countersigns,
   * stores it (synced) and answers with it. A revision already final is
   * answered again (the renter may have lost the first answer).
   */
  async receipt(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ReceiptArgs.decode(args));
    const c = await this.renterContract(a.id, ctx);
    return this.lock.run(async () => {
      const done = await this.ctx.store.getRevision(a.id, a.number);
      if (done)
        return done.encode();
      const p = await this.ctx.store.getPending(a.id);
      // [DECLINE] no such revision pending
      if (!p || p.revision.number !== a.number)
        throw decline(statuses.BAD_REQUEST, 'unknown-revision');
      const backend = this.mustBackend();
      for (const o of p.add) {
        let got;
        try {
          got = await backend.receipt(c.id(), o.id);
        } catch {
          throw decline(BAD_TERMS, 'upload-incomplete');
        }
        // [DECLINE] the stored object must be exactly what the revision names
        if (got.root !== o.root.toString('hex') || got.size !== o.size)
          throw decline(BAD_TERMS, 'upload-mismatch');
      }
      await this.finish(c, p.revision, p.add, p.remove);
      return p.revision.encode();
    });
  }

  /** The latest revision both signed: what this host holds for the renter. */
  async revision(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ContractArgs.decode(args));
    await this.renterContract(a.id, ctx);
    const latest = await this.ctx.store.latestRevision(a.id);
    if (!latest)
      throw decline(BAD_TERMS, 'not-formed');
    return latest.encode();
  }

  async token(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => TokenArgs.decode(args));
    const c = await this.renterContract(a.id, ctx);
    const id = c.hash();
    // [DECLINE] a contract dropped for non-payment: its data is gone
    if (await this.ctx.store.droppedAt(id) !== null)
      throw decline(BAD_TERMS, 'contract-dropped');
    // [DECLINE] downloads are for paid storage: the commitment must be on chain
    if (!await this.isCommitted(id))
      throw decline(BAD_TERMS, 'not-committed');
    let object: number;
    let budget: number;
    if (a.object === ALL_OBJECTS) {
      // An audit's token: every data object, 16 leaves. A payment is due
      // after it (the renter's node pays after each passed audit).
      object = ALL_OBJECTS;
      budget = AUDIT_BUDGET;
      await this.ctx.store.markAuditServed(id, this.ctx.height());
    } else {
      const o = await this.ctx.store.getObject(id, a.object);
      // [DECLINE] only objects of the latest final revision are served
      if (!o)
        throw decline(statuses.BAD_REQUEST, 'unknown-object');
      object = o.id;
      budget = o.size;
    }
    const backend = this.mustBackend();
    const res = new TokenResult();
    res.dataURL = this.ctx.dataURL();
    res.token = seal(this.ctx.identity(), c.renterKey, id, Buffer.from(backend.mintToken({
      contract: id.toString('hex'), op: 'get', object, notAfter: this.now() + DOWNLOAD_TOKEN_SECONDS,
      maxBytes: budget, renterPkHash: keyHash(c.renterKey)
    }), 'ascii'));
    return res.encode();
  }

  /**
   * A channel state from the renter: the contract is ours, not dropped,
   * its escrow funded and unspent; it pays for intervals that have ended,
   * at least what accrual says they earned (the missed ones unpaid); then
   * the channel store checks number, amount and signature and fsyncs it
   * before we answer. Body: u64 number || u64 paid of the stored state.
   */
  async pay(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => PayArgs.decode(args));
    const c = await this.renterContract(a.state.contractId, ctx);
    const id = c.hash();
    // [DECLINE] a contract this host dropped for non-payment
    if (await this.ctx.store.droppedAt(id) !== null)
      throw decline(BAD_TERMS, 'contract-dropped');
    const state = await this.ctx.contractState(id);
    // [DECLINE] only a contract whose escrow is on chain (closed or refunded ones cannot pay)
    if (state === null || !AUDITED_STATES.has(state))
      throw decline(BAD_TERMS, 'not-active');
    const ivs = intervals(accrualTerms(c));
    // [DECLINE] paying for intervals that have not ended
    if (a.through < 1 || a.through > ivs.length || ivs[a.through - 1].to > this.ctx.height() + REVISION_HEIGHT_SLACK)
      throw decline(BAD_TERMS, 'bad-interval');
    const due = dueFor(c, await this.ctx.store.listRevisions(id), a.through, a.missed);
    // [DECLINE] less than the intervals earned (accrual.ts, from the revisions both signed)
    if (a.state.paid < due.paid)
      throw decline(BAD_TERMS, 'state-underpays');
    try {
      await this.ctx.acceptState(c, a.state, a.through === ivs.length);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (e instanceof ContractError || typeof code === 'string')
        throw decline(BAD_TERMS, String(code));
      throw e;
    }
    await this.ctx.store.clearAuditServed(id);
    const bw = bio.write(16);
    bw.writeU64(a.state.number);
    bw.writeU64(a.state.paid);
    return bw.render();
  }

  /**
   * Contracts whose renter stopped paying at `height`: an audit was served
   * at h0, the tip is 2 intervals past it, no state came since and the
   * audited intervals earned more than the latest state pays. (A renter
   * owing nothing, e.g. sat amounts that round to 0, is not one.)
   */
  async nonPaying(height: number): Promise<StorageContract[]> {
    const out: StorageContract[] = [];
    for (const c of await this.ctx.store.listHosted()) {
      const id = c.hash();
      const served = await this.ctx.store.auditServedAt(id);
      if (served === null || height < served + NON_PAYMENT_INTERVALS * c.auditInterval)
        continue;
      if (await this.ctx.store.droppedAt(id) !== null)
        continue;
      const through = intervals(accrualTerms(c)).filter((iv) => iv.to <= served).length;
      const owed = dueFor(c, await this.ctx.store.listRevisions(id), through, []).paid;
      if (owed <= await this.ctx.latestPaid(id)) {
        await this.ctx.store.clearAuditServed(id);
        continue;
      }
      out.push(c);
    }
    return out;
  }

  /**
   * Forget contracts whose commitment never came (DESIGN 5: pending data
   * is deleted at offer expiry) or whose refund height has passed, and
   * purge what the backend holds past its expiry, so capacity returns.
   * Called from the chain hook with that block's height: hooks run in
   * order, so every block up to `height` has been scanned.
   */
  async maintain(height: number): Promise<string[]> {
    const window = getContractParams(this.ctx.network).window;
    const backend = this.mustBackend();
    const dropped: string[] = [];
    for (const c of await this.ctx.store.listHosted()) {
      const id = c.hash();
      // Past the refund height the contract is over either way: the data
      // and the record go. Before that, keep a margin of W blocks past the
      // offer so a shallow reorg of the commitment cannot delete paid data.
      const over = c.refundHeight < height;
      if (await this.ctx.store.droppedAt(id) !== null) {
        // Dropped for non-payment: its data is gone; the record goes at the refund height.
        if (over)
          await this.ctx.store.deleteHosted(id);
        continue;
      }
      if (!over && (c.expiryHeight + window >= height || await this.isCommitted(id))) {
        await this.dropStale(c, height);
        continue;
      }
      try {
        await backend.unregister(id.toString('hex'));
      } catch {
        continue; // busy (a part being written): next time
      }
      await this.ctx.store.deleteHosted(id);
      this.watch?.delete(watchKey(c));
      dropped.push(id.toString('hex'));
    }
    await backend.purge();
    return dropped;
  }

  /**
   * A revision the renter never finished uploading (it gave up or died)
   * is dropped after two offer windows, with the objects it registered,
   * so capacity returns; revision 0 goes with its contract above.
   */
  private async dropStale(c: StorageContract, height: number): Promise<void> {
    await this.lock.run(async () => {
      const p = await this.ctx.store.getPending(c.hash());
      const stale = 2 * getDealParams(this.ctx.network).offerWindow;
      if (!p || p.revision.number === 0 || p.revision.height + stale >= height)
        return;
      try {
        await this.dropPendingObjects(c, p);
      } catch {
        return; // being written: next time
      }
      await this.ctx.store.dropPending(c.hash());
    });
  }

  /**
   * Watch a connected block for the escrow outputs of contracts we
   * countersigned: we may never get the renter's record (it is relayed
   * by peers), but the funded escrow on chain is proof enough to keep the
   * data; returns the ids seen so the caller can fetch their records.
   */
  async scanBlock(block: bcoin.Block, height: number): Promise<Buffer[]> {
    this.payers = null;
    const pending = await this.unfunded();
    for (const [key, w] of pending) {
      // [IGNORE] a commit after the offer expired voids the contract
      if (w.expiryHeight < height)
        pending.delete(key);
    }
    if (pending.size === 0)
      return [];
    const seen: Buffer[] = [];
    for (const tx of block.txs) {
      // Only a commitment (a tx with a CloudCoin commit OP_RETURN) funds a
      // contract; a payment that happens to reuse the script does not.
      if (!tx.outputs.some((o) => isCommitScript(o.script)))
        continue;
      for (const out of tx.outputs) {
        if (!out.script.isWitnessScripthash())
          continue;
        const key = out.script.toRaw().toString('hex') + ':' + out.value;
        const w = pending.get(key);
        if (w) {
          await this.ctx.store.markFunded(w.id, height);
          pending.delete(key);
          seen.push(w.id);
        }
      }
    }
    return seen;
  }

  /** Forget escrows seen funded in a block that was disconnected. */
  async unscanBlock(height: number): Promise<void> {
    await this.ctx.store.unmarkFundedAt(height);
    this.watch = null; // rebuilt from the store on the next block
    this.payers = null;
  }

  /**
   * Escrow outputs still awaited, by `script:value`: loaded from the store
   * once, then kept in step, so a block costs O(awaited), not O(hosted).
   */
  private async unfunded(): Promise<Map<string, Watched>> {
    if (!this.watch) {
      const watch = new Map<string, Watched>();
      for (const c of await this.ctx.store.listHosted()) {
        const id = c.hash();
        if (!await this.ctx.store.isFunded(id))
          watch.set(watchKey(c), { id, expiryHeight: c.expiryHeight });
      }
      this.watch = watch;
    }
    return this.watch;
  }

  /** Committed on chain: known to the index (not void), or its escrow seen funded in time. */
  private async isCommitted(id: Buffer): Promise<boolean> {
    const state = await this.ctx.contractState(id);
    return (state !== null && state !== 'void') || await this.ctx.store.isFunded(id);
  }

  /** Reservations for getstorageinfo. */
  openOffers(): number {
    this.prune();
    return this.reservations.size;
  }
}

