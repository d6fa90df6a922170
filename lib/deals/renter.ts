/*!
 * renter.ts - the renter's side of a deal: find hosts, quote, bid, propose,
 * collect receipts and tokens.
 *
 * Bidding: the renter asks every host for a quote, keeps those within its
 * maximum storage price, and opens each chosen host at the lowest price any
 * candidate quoted. A host that cannot match answers `price-too-low` with
 * its asking prices; the renter raises to them while they stay within the
 * maximum, else moves on to the next candidate.
 */

import bio = require('bufio');
import type bcoin from 'bcoin';
import { StorageContract } from '../contracts/storagecontract';
import { getParams, minEscrowValue } from '../contracts/common';
import type { Identity } from '../base/identity';
import type { Negotiator } from '../negotiator/negotiator';
import { statuses } from '../negotiator/status';
import { checkEnd, readAmount } from '../negotiator/wire';
import {
  CALL_TIMEOUT_MS, DEFAULT_HOLDBACK_BPS, MAX_QUOTES, PRICE_TOO_LOW, SERVICE_NAME, getDealParams
} from './common';
import { auditTerms, chooseHosts, contractCost, escrowValue, withinPrice, type Prices, type QuotedHost } from './pricing';
import { DealError } from './errors';
import { unseal } from './seal';
import { ContractArgs, Offer, OfferArgs, ProposeResult, Quote, QuoteArgs, Receipt, TokenResult } from './wire';

export interface RenterContext {
  network: bcoin.Network;
  negotiator: Negotiator;
  identity(): Identity;
  height(): number;
  createEscrowKey(): Promise<Buffer>;
}

/** A host as the renter knows it. */
export interface HostRef {
  pubkey: Buffer;
  identity: string;
  addr: string;
}

/** One quote, or why a peer gave none. */
export interface QuoteResult {
  host: HostRef;
  quote: Quote | null;
  status: string;
}

/** An accepted offer and how we got it. */
export interface NegotiatedOffer {
  host: HostRef;
  offer: Offer;
  /** Bids made, in order (storage price), for the record. */
  bids: number[];
  cost: number;
  /** An open offer from an earlier negotiation, used again. */
  reused: boolean;
}

export interface NegotiateResult {
  quotes: QuoteResult[];
  offers: NegotiatedOffer[];
  /** Hosts that declined and why. */
  declined: Array<{ host: HostRef; reason: string }>;
}

/** The `price-too-low` body: three checked amounts, nothing after. */
function readPrices(body: Buffer): Prices | null {
  try {
    const br = bio.read(body);
    const prices = { storage: readAmount(br), upload: readAmount(br), download: readAmount(br) };
    checkEnd(br);
    return prices;
  } catch {
    return null;
  }
}

/**
 * Blocks an open offer must have left to be reused: enough to upload and
 * commit in (half the offer window, at least the commit margin).
 */
function reuseMargin(network: bcoin.Network): number {
  return Math.max(2, Math.floor(getDealParams(network).offerWindow / 2));
}

export class Renter {
  readonly ctx: RenterContext;
  /**
   * Offers hosts made us that no proposal used yet, by host escrow key:
   * a later negotiation with the same terms uses them again instead of
   * asking the host for more (each host caps open offers per renter).
   */
  private readonly open = new Map<string, NegotiatedOffer>();

  constructor(ctx: RenterContext) {
    this.ctx = ctx;
  }

  /** Connected CloudStorage peers with a proven identity. */
  peers(): HostRef[] {
    const out: HostRef[] = [];
    for (const p of this.ctx.negotiator.cloudPeers()) {
      if (p.pubkey && p.identity)
        out.push({ pubkey: Buffer.from(p.pubkey, 'hex'), identity: p.identity, addr: p.addr });
    }
    return out.slice(0, MAX_QUOTES);
  }

  private async call(host: HostRef, method: string, args: Buffer) {
    return this.ctx.negotiator.request(host.pubkey, SERVICE_NAME, method, args, { timeout: CALL_TIMEOUT_MS });
  }

  /** Ask every peer for a quote; peers that do not host answer nothing useful. */
  async quoteAll(size: number, duration: number): Promise<QuoteResult[]> {
    const args = new QuoteArgs();
    args.size = size;
    args.duration = duration;
    const raw = args.encode();
    return Promise.all(this.peers().map(async (host): Promise<QuoteResult> => {
      try {
        const res = await this.call(host, 'quote', raw);
        if (res.status !== statuses.OK)
          return { host, quote: null, status: res.status };
        return { host, quote: Quote.decode(res.body), status: res.status };
      } catch (e) {
        return { host, quote: null, status: `error: ${(e as Error).message}` };
      }
    }));
  }

  /** Negotiate offers from up to `count` hosts within `maxPrice`. */
  async negotiate(size: number, duration: number, maxPrice: number, count: number): Promise<NegotiateResult> {
    const quotes = await this.quoteAll(size, duration);
    const usable: QuotedHost<HostRef>[] = [];
    for (const q of quotes) {
      if (q.quote)
        usable.push({ host: q.host, prices: q.quote.prices, freeCapacity: q.quote.freeCapacity, maxDuration: q.quote.maxDuration });
    }
    const candidates = chooseHosts(usable, usable.length, size, duration, maxPrice);
    const declined: Array<{ host: HostRef; reason: string }> = [];
    for (const q of usable) {
      if (!candidates.includes(q))
        declined.push({ host: q.host, reason: describeUnfit(q, size, duration, maxPrice) });
    }
    // Open every host at the lowest storage price any candidate quoted.
    const opening = candidates.length ? Math.min(...candidates.map((c) => c.prices.storage)) : 0;
    const offers: NegotiatedOffer[] = [];
    for (const cand of candidates) {
      if (offers.length >= count)
        break;
      const open = this.reusable(cand.host, size, duration, maxPrice);
      if (open) {
        offers.push(open);
        continue;
      }
      const got = await this.bid(cand.host, size, duration, { ...cand.prices, storage: opening }, maxPrice);
      if ('offer' in got) {
        this.open.set(got.offer.offer.hostEscrowKey.toString('hex'), got.offer);
        offers.push(got.offer);
      } else {
        declined.push({ host: cand.host, reason: got.reason });
      }
    }
    return { quotes, offers, declined };
  }

  /** An unused open offer from `host` for these terms, with time left. */
  private reusable(host: HostRef, size: number, duration: number, maxPrice: number): NegotiatedOffer | null {
    const height = this.ctx.height();
    for (const [key, o] of this.open) {
      if (o.offer.expiryHeight < height + reuseMargin(this.ctx.network)) {
        this.open.delete(key);
        continue;
      }
      if (o.host.pubkey.equals(host.pubkey) && o.offer.size >= size && o.offer.duration === duration
        && withinPrice(o.offer.prices, maxPrice)) {
        return { ...o, cost: contractCost(size, duration, o.offer.prices), reused: true };
      }
    }
    return null;
  }

  /** A proposal used the offer: it is no longer open. */
  private used(offer: { hostEscrowKey: Buffer }): void {
    this.open.delete(offer.hostEscrowKey.toString('hex'));
  }

  /** Bid, raising on price-too-low up to `maxPrice`. */
  async bid(host: HostRef, size: number, duration: number, start: Prices, maxPrice: number)
    : Promise<{ offer: NegotiatedOffer } | { reason: string }> {
    let bid = { ...start };
    const bids: number[] = [];
    for (let round = 0; round < 3; round++) {
      bids.push(bid.storage);
      const args = new OfferArgs();
      args.size = size;
      args.duration = duration;
      args.bid = bid;
      let res;
      try {
        res = await this.call(host, 'offer', args.encode());
      } catch (e) {
        return { reason: `no answer: ${(e as Error).message}` };
      }
      if (res.status === statuses.OK) {
        let offer: Offer;
        try {
          offer = Offer.decode(res.body);
        } catch {
          return { reason: 'malformed offer' };
        }
        if (!offer.verify() || !offer.hostKey.equals(host.pubkey)
          || !offer.renterKey.equals(this.ctx.identity().publicKey) || offer.size !== size
          || offer.duration !== duration || offer.prices.storage !== bid.storage
          || offer.prices.upload !== bid.upload || offer.prices.download !== bid.download
          || offer.expiryHeight <= this.ctx.height()) {
          return { reason: 'offer does not match the bid, is expired or is badly signed' };
        }
        if (!isAllowedURL(offer.dataURL))
          return { reason: `data URL ${offer.dataURL || '(none)'} is not https (plain http only on loopback)` };
        return { offer: { host, offer, bids, cost: contractCost(size, duration, offer.prices), reused: false } };
      }
      if (res.status === PRICE_TOO_LOW) {
        const asking = readPrices(res.body);
        if (!asking)
          return { reason: 'malformed price-too-low answer' };
        if (!withinPrice(asking, maxPrice))
          return { reason: `asks ${priceText(asking)}, above the maximum ${maxPrice}` };
        if (asking.storage <= bid.storage && asking.upload <= bid.upload && asking.download <= bid.download)
          return { reason: 'declined a bid at its own asking price' };
        bid = { storage: Math.max(bid.storage, asking.storage), upload: Math.max(bid.upload, asking.upload),
          download: Math.max(bid.download, asking.download) };
        continue;
      }
      if (res.body.toString('latin1') === 'too-many-offers') {
        const until = this.ctx.height() + getDealParams(this.ctx.network).offerWindow;
        return { reason: `declined: the host holds too many open offers (${explain(res.status, res.body)}); they expire by block ${until}` };
      }
      return { reason: `declined: ${explain(res.status, res.body)}` };
    }
    return { reason: 'no agreement after 3 bids' };
  }

  /** Build and sign the contract for an offer and a prepared object. */
  async buildContract(offer: Offer, root: Buffer, objectSize: number): Promise<StorageContract> {
    const cp = getParams(this.ctx.network);
    const dp = getDealParams(this.ctx.network);
    if (objectSize > offer.size)
      throw new DealError('object-too-large', `object is ${objectSize} bytes, the offer is for ${offer.size}`);
    const start = this.ctx.height();
    const end = start + offer.duration;
    const cost = contractCost(objectSize, offer.duration, offer.prices);
    const value = escrowValue(cost, minEscrowValue(this.ctx.network));
    const c = new StorageContract({
      network: this.ctx.network.magic,
      renterKey: this.ctx.identity().publicKey,
      hostKey: offer.hostKey,
      renterEscrowKey: await this.ctx.createEscrowKey(),
      hostEscrowKey: offer.hostEscrowKey,
      root,
      size: objectSize,
      startHeight: start,
      endHeight: end,
      auditInterval: auditTerms(offer.duration, dp.auditInterval),
      escrowValue: value,
      holdback: DEFAULT_HOLDBACK_BPS,
      refundHeight: end + cp.window,
      expiryHeight: offer.expiryHeight,
      storagePrice: offer.prices.storage,
      uploadPrice: offer.prices.upload,
      downloadPrice: offer.prices.download
    });
    c.sign(this.ctx.identity());
    return c;
  }

  /** Propose a signed contract; returns it countersigned with upload tokens. */
  async propose(host: HostRef, contract: StorageContract)
    : Promise<{ contract: StorageContract; dataURL: string; dataToken: string; manifestToken: string }> {
    this.used(contract);
    const res = await this.call(host, 'propose', contract.encode());
    if (res.status !== statuses.OK)
      throw new DealError('proposal-declined', `host ${host.identity} declined the contract: ${explain(res.status, res.body)}`);
    let pr: ProposeResult;
    try {
      pr = ProposeResult.decode(res.body);
    } catch {
      throw new DealError('bad-host-answer', `host ${host.identity} sent a malformed proposal answer`);
    }
    if (!isAllowedURL(pr.dataURL))
      throw new DealError('bad-data-url', `host ${host.identity} gave data URL ${pr.dataURL}: https required except on loopback`);
    contract.hostSig = pr.hostSig;
    if (!contract.verifyHostSig())
      throw new DealError('bad-host-sig', `host ${host.identity} countersigned with a bad signature`);
    const id = contract.hash();
    const me = this.ctx.identity();
    const dataToken = unseal(me, host.pubkey, id, pr.dataToken).toString('ascii');
    const manifestToken = unseal(me, host.pubkey, id, pr.manifestToken).toString('ascii');
    return { contract, dataURL: pr.dataURL, dataToken, manifestToken };
  }

  /** Ask for the host's receipt of a complete upload and check it. */
  async receipt(host: HostRef, contract: StorageContract): Promise<Receipt> {
    const args = new ContractArgs();
    args.id = contract.hash();
    const res = await this.call(host, 'receipt', args.encode());
    if (res.status !== statuses.OK)
      throw new DealError('no-receipt', `host ${host.identity} gave no receipt: ${explain(res.status, res.body)}`);
    const r = Receipt.decode(res.body);
    if (!r.id.equals(args.id) || !r.root.equals(contract.root) || r.size !== contract.size || !r.verify(host.pubkey))
      throw new DealError('bad-receipt', `host ${host.identity} sent a receipt that does not match the contract`);
    return r;
  }

  /** A download token for a contract's object. */
  async token(host: HostRef, contractId: Buffer): Promise<{ dataURL: string; token: string }> {
    const args = new ContractArgs();
    args.id = contractId;
    const res = await this.call(host, 'token', args.encode());
    if (res.status !== statuses.OK)
      throw new DealError('no-token', `host ${host.identity} gave no download token: ${explain(res.status, res.body)}`);
    const t = TokenResult.decode(res.body);
    if (!isAllowedURL(t.dataURL))
      throw new DealError('bad-data-url', `host ${host.identity} gave data URL ${t.dataURL}: https required except on loopback`);
    return { dataURL: t.dataURL, token: unseal(this.ctx.identity(), host.pubkey, contractId, t.token).toString('ascii') };
  }

  /** Find a connected host by identity key. */
  hostByKey(pubkey: Buffer): HostRef | null {
    return this.peers().find((h) => h.pubkey.equals(pubkey)) ?? null;
  }
}

function priceText(p: Prices): string {
  return `storage ${p.storage}, upload ${p.upload}, download ${p.download}`;
}

/** A status plus the host's decline code (ASCII in the body), for people. */
function explain(status: string, body: Buffer): string {
  const code = body.length > 0 && body.length <= 64 && /^[a-z0-9-]+$/.test(body.toString('latin1'))
    ? ` (${body.toString('latin1')})` : '';
  return `${status}${code}`;
}

/** DESIGN 7: data URLs are https, except plain http on a loopback host. */
export function isAllowedURL(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === 'https:')
    return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' && (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host));
}

function describeUnfit(q: QuotedHost<HostRef>, size: number, duration: number, maxPrice: number): string {
  if (!withinPrice(q.prices, maxPrice))
    return `asks ${priceText(q.prices)}, above the maximum ${maxPrice}`;
  if (q.freeCapacity < size)
    return `has ${q.freeCapacity} bytes free, needs ${size}`;
  if (q.maxDuration < duration)
    return `serves at most ${q.maxDuration} blocks`;
  return 'not chosen';
}
