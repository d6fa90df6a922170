/*!
 * hostservice.ts - the `storage` service a host offers over csreq.
 *
 * Methods, in deal order (DESIGN 5, "upload first, then money"):
 *   quote   -> the host's prices and limits now (no commitment)
 *   offer   -> a signed offer at the renter's bid, reserving capacity until
 *              the offer expires; a bid under the price is declined with
 *              `price-too-low` and the asking prices in the body
 *   propose -> the renter-signed contract; the host checks it against its
 *              offer, registers it with its storage backend, countersigns
 *              and returns sealed upload tokens
 *   receipt -> after the upload: the backend confirms size and root, the
 *              host signs a receipt (the renter commits only after all)
 *   token   -> a sealed download token for the contract's renter
 */

import bio = require('bufio');
import bcoin = require('../bcoin');
import { StorageContract, verifyContract } from '../contracts/storagecontract';
import type { Identity } from '../node/identity';
import { ServiceError, type RequestContext, type Service } from '../negotiator/services';
import { statuses } from '../negotiator/status';
import type { StorageBackend } from '../hosting/backend';
import { MAX_MANIFEST_SIZE } from '../storage/common';
import {
  BAD_TERMS, MAX_RESERVATIONS, NO_CAPACITY, PRICE_TOO_LOW, SERVICE_NAME, SERVICE_VERSION, getDealParams
} from './common';
import { contractCost, escrowValue, type Prices } from './pricing';
import { seal } from './seal';
import { ContractArgs, Offer, OfferArgs, ProposeResult, Quote, QuoteArgs, Receipt, TokenResult } from './wire';
import type { DealStore } from './dealstore';

/** What the host service needs from the node. */
export interface HostContext {
  network: bcoin.Network;
  identity(): Identity;
  height(): number;
  backend(): StorageBackend | null;
  /** Base URL of the data API renters upload to and download from. */
  dataURL(): string;
  createEscrowKey(): Promise<Buffer>;
  store: DealStore;
  now?: () => number;
}

/** A host's terms, from flags or cloudcoin.conf. */
export interface HostTerms {
  prices: Prices;
  maxDuration: number;
}

/** Capacity held for an open offer. */
interface Reservation {
  renterKey: Buffer;
  size: number;
  duration: number;
  prices: Prices;
  expiryHeight: number;
}

/** Upload tokens stay valid this long past the offer's last block. */
const UPLOAD_GRACE_SECONDS = 3600;
/** Download tokens: short-lived, renewed through `token`. */
const DOWNLOAD_TOKEN_SECONDS = 3600;

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

function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch {
    throw ServiceError.badRequest('bad-args');
  }
}

export class HostService {
  readonly ctx: HostContext;
  terms: HostTerms;
  private readonly reservations = new Map<string, Reservation>();

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
      throw new ServiceError(statuses.SERVICE_UNSUPPORTED, 'not-hosting');
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
      sum += r.size;
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
        propose: { description: 'countersign a renter-signed contract', handler: (a, c) => this.propose(a, c) },
        receipt: { description: 'signed receipt for a complete upload', handler: (a, c) => this.receipt(a, c) },
        token: { description: 'sealed download token', handler: (a, c) => this.token(a, c) }
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

  async offer(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => OfferArgs.decode(args));
    const terms = this.terms;
    const window = getDealParams(this.ctx.network).offerWindow;
    // [DECLINE] nothing to store, shorter than the offer window, or longer
    // than this host serves
    if (a.size === 0 || a.duration <= window || a.duration > terms.maxDuration)
      throw new ServiceError(BAD_TERMS, 'bad-duration');
    // [DECLINE] a bid under any of the host's prices: answer with the prices
    if (a.bid.storage < terms.prices.storage || a.bid.upload < terms.prices.upload
      || a.bid.download < terms.prices.download) {
      throw new ServiceError(PRICE_TOO_LOW, 'price-too-low', pricesBody(terms.prices));
    }
    if (this.reservations.size >= MAX_RESERVATIONS)
      this.prune();
    // [DECLINE] too many open offers (bounded memory)
    if (this.reservations.size >= MAX_RESERVATIONS)
      throw new ServiceError(statuses.BUSY, 'too-many-offers');
    // [DECLINE] not enough room
    if (a.size > await this.freeCapacity())
      throw new ServiceError(NO_CAPACITY, 'no-capacity');

    // [DECLINE] no data API renters could upload to
    if (!this.ctx.dataURL())
      throw new ServiceError(statuses.SERVER_ERROR, 'no-data-api');

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

  async propose(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const c = parse(() => StorageContract.decode(args));
    const me = this.ctx.identity();
    const key = c.hostEscrowKey.toString('hex');
    const r = this.reservations.get(key);
    const height = this.ctx.height();
    // [DECLINE] no open offer with this escrow key (expired, used or never made)
    if (!r || r.expiryHeight < height)
      throw new ServiceError(BAD_TERMS, 'no-offer');
    // [DECLINE] the contract must match the offer it claims
    const bad = !c.hostKey.equals(me.publicKey) || !c.renterKey.equals(ctx.from)
      || !r.renterKey.equals(ctx.from) || c.size > r.size
      || c.endHeight - c.startHeight !== r.duration || c.expiryHeight > r.expiryHeight
      || c.storagePrice < r.prices.storage || c.uploadPrice < r.prices.upload
      || c.downloadPrice < r.prices.download || c.startHeight > height + 1
      || c.startHeight + 2 * getDealParams(this.ctx.network).offerWindow < height;
    if (bad)
      throw new ServiceError(BAD_TERMS, 'terms-differ-from-offer');
    const prices = { storage: c.storagePrice, upload: c.uploadPrice, download: c.downloadPrice };
    const min = escrowValue(contractCost(c.size, r.duration, prices), 0);
    // [DECLINE] escrow does not cover the price
    if (c.escrowValue < min)
      throw new ServiceError(BAD_TERMS, 'escrow-too-small');
    try {
      verifyContract(c, height + 1, this.ctx.network, { requireSigs: false });
    } catch (e) {
      throw new ServiceError(BAD_TERMS, (e as { code?: string }).code || 'bad-contract');
    }
    // [DECLINE] the renter must have signed
    if (!c.hasRenterSig())
      throw new ServiceError(statuses.BAD_REQUEST, 'contract-unsigned');

    const id = c.hash();
    const idHex = id.toString('hex');
    const backend = this.mustBackend();
    const blockSeconds = getDealParams(this.ctx.network).blockSeconds;
    const expiry = this.now() + (c.refundHeight - height) * blockSeconds;
    try {
      await backend.register({ id: idHex, root: c.root.toString('hex'), size: c.size, expiry });
    } catch {
      throw new ServiceError(statuses.SERVER_ERROR, 'backend-failed');
    }
    c.sign(me);
    this.reservations.delete(key);
    await this.ctx.store.putHosted(c);

    const notAfter = this.now() + (c.expiryHeight - height) * blockSeconds + UPLOAD_GRACE_SECONDS;
    const renterPkHash = keyHash(c.renterKey);
    const res = new ProposeResult();
    res.hostSig = c.hostSig;
    res.dataURL = this.ctx.dataURL();
    res.dataToken = seal(me, c.renterKey, id, Buffer.from(backend.mintToken({
      contract: idHex, op: 'put', object: 1, notAfter, maxBytes: c.size, renterPkHash
    }), 'ascii'));
    res.manifestToken = seal(me, c.renterKey, id, Buffer.from(backend.mintToken({
      contract: idHex, op: 'put', object: 0, notAfter, maxBytes: MAX_MANIFEST_SIZE, renterPkHash
    }), 'ascii'));
    return res.encode();
  }

  private async renterContract(args: Buffer, ctx: RequestContext): Promise<StorageContract> {
    const a = parse(() => ContractArgs.decode(args));
    const c = await this.ctx.store.getHosted(a.id);
    // [DECLINE] only the contract's renter may ask (unknown ids look the same)
    if (!c || !c.renterKey.equals(ctx.from))
      throw new ServiceError(statuses.BAD_REQUEST, 'unknown-contract');
    return c;
  }

  async receipt(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const c = await this.renterContract(args, ctx);
    const id = c.hash();
    let got;
    try {
      got = await this.mustBackend().receipt(id.toString('hex'));
    } catch {
      throw new ServiceError(BAD_TERMS, 'upload-incomplete');
    }
    // [DECLINE] the stored object must be exactly what the contract names
    if (got.root !== c.root.toString('hex') || got.size !== c.size)
      throw new ServiceError(BAD_TERMS, 'upload-mismatch');
    const r = new Receipt();
    r.id = id;
    r.root = c.root;
    r.size = c.size;
    r.sign(this.ctx.identity());
    return r.encode();
  }

  async token(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const c = await this.renterContract(args, ctx);
    const id = c.hash();
    const backend = this.mustBackend();
    const res = new TokenResult();
    res.dataURL = this.ctx.dataURL();
    res.token = seal(this.ctx.identity(), c.renterKey, id, Buffer.from(backend.mintToken({
      contract: id.toString('hex'), op: 'get', object: 1, notAfter: this.now() + DOWNLOAD_TOKEN_SECONDS,
      maxBytes: c.size, renterPkHash: keyHash(c.renterKey)
    }), 'ascii'));
    return res.encode();
  }

  /** Reservations for getstorageinfo. */
  openOffers(): number {
    this.prune();
    return this.reservations.size;
  }
}

