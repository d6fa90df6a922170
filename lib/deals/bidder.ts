/*!
 * bidder.ts - the renter finds hosts and bids for offers.
 *
 * Bidding: the renter asks every host for a quote, keeps those within its
 * maximum storage price, and opens each chosen host at the lowest price any
 * candidate quoted. A host that cannot match answers `price-too-low` with
 * its asking prices; the renter raises to them while they stay within the
 * maximum, else moves on to the next candidate. Offers no proposal used
 * yet are kept and used again for the same terms.
 */

import type bcoin from 'bcoin';
import type { Identity } from '../base/identity';
import type { Negotiator } from '../negotiator/negotiator';
import type { AnnouncePacket } from '../negotiator/announcepacket';
import { describeDecline, statuses } from '../negotiator/status';
import { CALL_TIMEOUT_MS, MAX_QUOTES, PRICE_TOO_LOW, SERVICE_NAME, getDealParams } from './common';
import {
  chooseHosts, contractCost, withinPrice, type HostScore, type Prices, type QuotedHost
} from './pricing';
import { type HostRef, callHost, explain, isAllowedURL, priceText, readPrices } from './renterhosts';
import { Offer, OfferArgs, Quote, QuoteArgs } from './wire';

/** What bidding needs from the node. */
export interface BidderContext {
  network: bcoin.Network;
  negotiator: Negotiator;
  identity(): Identity;
  height(): number;
  /** This node's reputation of each host (lib/reputation), when the extension is loaded. */
  reputation?(hosts: Buffer[]): Promise<HostScore[]>;
  /** Hosts (hex key) not to dial or choose, with why (pricing.ts avoidReason), given --min-score. */
  avoid?(hosts: Buffer[], minScore: number | undefined): Promise<Map<string, string>>;
}

/** One quote, or why a peer gave none. */
export interface QuoteResult {
  host: HostRef;
  quote: Quote | null;
  status: string;
  /** Why there is no quote (a host asking more than the maximum quote payment says so), null with a quote. */
  reason?: string | null;
  /** Sat paid (or deferred) for the quote. */
  paid?: number;
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
  /** The host's reputation when it was chosen, null without the reputation extension. */
  score: HostScore | null;
}

export interface NegotiateResult {
  quotes: QuoteResult[];
  offers: NegotiatedOffer[];
  /** Hosts that declined and why. */
  declined: Array<{ host: HostRef; reason: string }>;
}

/**
 * Blocks an open offer must have left to be reused: enough to upload and
 * commit in (half the offer window, at least the commit margin).
 */
function reuseMargin(network: bcoin.Network): number {
  return Math.max(2, Math.floor(getDealParams(network).offerWindow / 2));
}

/** Finds hosts, collects quotes, bids, and keeps the offers no proposal used yet. */
export class Bidder {
  readonly ctx: BidderContext;
  /**
   * Offers hosts made us that no proposal used yet, by host escrow key:
   * a later negotiation with the same terms uses them again instead of
   * asking the host for more (each host caps open offers per renter).
   */
  private readonly open = new Map<string, NegotiatedOffer>();

  constructor(ctx: BidderContext) {
    this.ctx = ctx;
  }

  /** Connected CloudStorage peers with a proven identity. */
  peers(): HostRef[] {
    const out: HostRef[] = [];
    for (const p of this.ctx.negotiator.cloudPeers()) {
      if (!p.pubkey || !p.identity)
        continue;
      const pubkey = Buffer.from(p.pubkey, 'hex');
      // The address the host announced, not our socket's (an inbound peer's port is ephemeral).
      out.push({ pubkey, identity: p.identity, addr: this.ctx.negotiator.announcedAddress(pubkey) ?? p.addr });
    }
    return out.slice(0, MAX_QUOTES);
  }

  private async call(host: HostRef, method: string, args: Buffer) {
    return callHost(this.ctx.negotiator, host, method, args);
  }

  /**
   * Ask every peer for a quote, paying a host that prices it up to the
   * negotiator's maximum quote payment (deferred where it allows);
   * peers that do not host answer nothing useful. Quotes feed the market.
   * Peers `skip` names are not asked (a host to avoid is not paid for a quote).
   */
  async quoteAll(size: number, duration: number, skip: (pubkey: Buffer) => boolean = () => false): Promise<QuoteResult[]> {
    const args = new QuoteArgs();
    args.size = size;
    args.duration = duration;
    const raw = args.encode();
    const neg = this.ctx.negotiator;
    const maxPayment = neg.maxQuotePayment;
    return Promise.all(this.peers().filter((host) => !skip(host.pubkey)).map(async (host): Promise<QuoteResult> => {
      try {
        const res = await neg.request(host.pubkey, SERVICE_NAME, 'quote', raw, { timeout: CALL_TIMEOUT_MS, maxPayment });
        if (res.status !== statuses.OK)
          return { host, quote: null, status: res.status, reason: describeDecline(res.status, res.body, maxPayment), paid: 0 };
        const quote = Quote.decode(res.body);
        neg.market.recordQuote(host.pubkey, quote, this.ctx.height());
        return { host, quote, status: res.status, reason: null, paid: res.paid };
      } catch (e) {
        return { host, quote: null, status: `error: ${(e as Error).message}`, reason: (e as Error).message, paid: 0 };
      }
    }));
  }

  /**
   * Negotiate offers from up to `count` hosts within `maxPrice`, none of
   * them in `exclude`, ranked by price and reputation (chooseHosts); hosts
   * scoring below `minScore` are declined with their score.
   */
  async negotiate(size: number, duration: number, maxPrice: number, count: number, exclude: Buffer[] = [],
    minScore?: number): Promise<NegotiateResult> {
    const fits = (a: AnnouncePacket): boolean =>
      withinPrice({ storage: a.storagePrice, upload: a.uploadPrice, download: a.downloadPrice }, maxPrice)
      && a.capacity >= size && a.maxDuration >= duration && !exclude.some((pk) => pk.equals(a.publicKey));
    // [SKIP] hosts whose audits failed or that score below --min-score: not dialled, not asked for a
    // (possibly paid) quote even when connected, not chosen
    const connected = this.peers();
    const avoid = this.ctx.avoid
      ? await this.ctx.avoid(uniqueKeys([...this.ctx.negotiator.hosts().filter(fits).map((a) => a.publicKey),
        ...connected.map((h) => h.pubkey)]), minScore)
      : new Map<string, string>();
    const excluded = (pk: Buffer): boolean => exclude.some((x) => x.equals(pk));
    // Dial announced hosts that fit, some spare for declines: at most count x 3 new connections.
    const { lease } = await this.ctx.negotiator.connectHosts({
      count: 2 * count,
      maxNew: 3 * count,
      filter: (a) => fits(a) && !avoid.has(a.publicKey.toString('hex'))
    });
    const quotes = await this.quoteAll(size, duration, (pk) => excluded(pk) || avoid.has(pk.toString('hex')));
    const usable: QuotedHost<HostRef>[] = [];
    const declined: Array<{ host: HostRef; reason: string }> = [];
    for (const q of quotes) {
      if (q.quote)
        usable.push({ host: q.host, prices: q.quote.prices, freeCapacity: q.quote.freeCapacity, maxDuration: q.quote.maxDuration });
    }
    // Avoided hosts are named too, so the table says why they were not asked.
    const named = new Set<string>();
    for (const host of connected) {
      const key = host.pubkey.toString('hex');
      const why = avoid.get(key);
      if (why && !excluded(host.pubkey) && !named.has(key)) {
        named.add(key);
        declined.push({ host, reason: `${why}: not asked for a quote` });
      }
    }
    for (const a of this.ctx.negotiator.hosts()) {
      const key = a.publicKey.toString('hex');
      const why = avoid.get(key);
      if (why && !named.has(key)) {
        named.add(key);
        declined.push({ host: { pubkey: a.publicKey, identity: this.ctx.negotiator.addressOf(a.publicKey),
          addr: this.ctx.negotiator.announcedAddress(a.publicKey) ?? '' }, reason: `${why}: not dialled` });
      }
    }
    const scores = new Map<HostRef, HostScore>();
    if (this.ctx.reputation) {
      const got = await this.ctx.reputation(usable.map((q) => q.host.pubkey));
      usable.forEach((q, i) => scores.set(q.host, got[i]));
    }
    const scoreOf = (h: HostRef): HostScore | null => scores.get(h) ?? null;
    const candidates = chooseHosts(usable, usable.length, size, duration, maxPrice, this.ctx.reputation ? {
      scoreOf: (h) => scores.get(h)!,
      minScore,
      wanted: count,
      keyOf: (h) => h.pubkey.toString('hex')
    } : {});
    // Hosts that gave no quote, with why (a price above the maximum quote payment); peers that do not host are not hosts.
    for (const q of quotes) {
      if (!q.quote && q.status !== statuses.SERVICE_UNSUPPORTED)
        declined.push({ host: q.host, reason: `no quote: ${q.reason ?? q.status}` });
    }
    for (const q of usable) {
      if (!candidates.includes(q))
        declined.push({ host: q.host, reason: describeUnfit(q, size, duration, maxPrice, scoreOf(q.host), minScore) });
    }
    // Open every host at the lowest storage price any candidate quoted.
    const opening = candidates.length ? Math.min(...candidates.map((c) => c.prices.storage)) : 0;
    const offers: NegotiatedOffer[] = [];
    let reached = 0;
    for (const cand of candidates) {
      if (offers.length >= count)
        break;
      reached++;
      const open = this.reusable(cand.host, size, duration, maxPrice);
      if (open) {
        offers.push({ ...open, score: scoreOf(cand.host) });
        continue;
      }
      const got = await this.bid(cand.host, size, duration, { ...cand.prices, storage: opening }, maxPrice);
      if ('offer' in got) {
        got.offer.score = scoreOf(cand.host);
        this.open.set(got.offer.offer.hostEscrowKey.toString('hex'), got.offer);
        offers.push(got.offer);
      } else {
        declined.push({ host: cand.host, reason: got.reason });
      }
    }
    // The fit hosts the ranking left out, with what ranked them there.
    for (const cand of candidates.slice(reached)) {
      const sc = scoreOf(cand.host);
      declined.push({ host: cand.host, reason: `not needed: ranked below the chosen (cost ${contractCost(size, duration, cand.prices)} sat`
        + `${sc ? `, reputation score ${sc.score}${sc.known ? '' : ' (unknown host)'}` : ''})` });
    }
    // Connections dialled for this negotiation close now, except to the hosts that made offers.
    this.ctx.negotiator.release(lease, offers.map((o) => o.host.pubkey));
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
  used(offer: { hostEscrowKey: Buffer }): void {
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
        if (!isAllowedURL(offer.dataURL, this.ctx.network))
          return { reason: `data URL ${offer.dataURL || '(none)'} is not https (plain http only on loopback)` };
        return { offer: { host, offer, bids, cost: contractCost(size, duration, offer.prices), reused: false, score: null } };
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
}

/** Why a quoted host was not chosen, for people. */
function describeUnfit(q: QuotedHost<HostRef>, size: number, duration: number, maxPrice: number,
  score: HostScore | null, minScore: number | undefined): string {
  if (!withinPrice(q.prices, maxPrice))
    return `asks ${priceText(q.prices)}, above the maximum ${maxPrice}`;
  if (q.freeCapacity < size)
    return `has ${q.freeCapacity} bytes free, needs ${size}`;
  if (q.maxDuration < duration)
    return `serves at most ${q.maxDuration} blocks`;
  if (score && minScore !== undefined && score.score < minScore)
    return `reputation score ${score.score}${score.known ? '' : ' (unknown host)'} below --min-score ${minScore}`;
  return 'not chosen';
}

/** Keys without repeats (an announced host may be connected too). */
function uniqueKeys(keys: Buffer[]): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const k of keys)
    seen.set(k.toString('hex'), k);
  return [...seen.values()];
}
