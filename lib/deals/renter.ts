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
import type { AnnouncePacket } from '../negotiator/packets';
import { describeDecline, statuses } from '../negotiator/status';
import { isPrivateHost } from '../negotiator/cloudpeers';
import { checkEnd, readAmount } from '../negotiator/wire';
import {
  CALL_TIMEOUT_MS, DEFAULT_HOLDBACK_BPS, MAX_QUOTES, PRICE_TOO_LOW, SERVICE_NAME, getDealParams
} from './common';
import {
  auditTerms, chooseHosts, contractCost, withinPrice, type HostScore, type Prices, type QuotedHost
} from './pricing';
import { DealError, type DealErrorCode } from './errors';
import { allowanceCovers, committedCost, firstRevision } from './revisions';
import { unseal } from './seal';
import { LatestArgs, LatestResult } from './latestwire';
import {
  ContractArgs, Offer, OfferArgs, ProposeArgs, ProposeResult, Quote, QuoteArgs, ReceiptArgs, ReviseArgs, ReviseResult,
  TokenArgs, TokenResult, UploadGrant
} from './wire';
import { Revision, verifyRevisionSigs } from '../contracts/revision';
import { type ObjectEntry, objectTreeRoot, objectsSize } from '../contracts/objecttree';
import type { PayArgs } from './payments';
import type { ChannelState } from '../contracts/channel';

export interface RenterContext {
  network: bcoin.Network;
  negotiator: Negotiator;
  identity(): Identity;
  height(): number;
  createEscrowKey(): Promise<Buffer>;
  /** This node's reputation of each host (lib/reputation), when the extension is loaded. */
  reputation?(hosts: Buffer[]): Promise<HostScore[]>;
  /** Hosts (hex key) not to dial or choose, with why (pricing.ts avoidReason), given --min-score. */
  avoid?(hosts: Buffer[], minScore: number | undefined): Promise<Map<string, string>>;
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
      if (!p.pubkey || !p.identity)
        continue;
      const pubkey = Buffer.from(p.pubkey, 'hex');
      // The address the host announced, not our socket's (an inbound peer's port is ephemeral).
      out.push({ pubkey, identity: p.identity, addr: this.ctx.negotiator.announcedAddress(pubkey) ?? p.addr });
    }
    return out.slice(0, MAX_QUOTES);
  }

  private async call(host: HostRef, method: string, args: Buffer) {
    return this.ctx.negotiator.request(host.pubkey, SERVICE_NAME, method, args, { timeout: CALL_TIMEOUT_MS });
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

  /**
   * Build and sign the contract for an offer, formed with `objects` (its
   * revision 0; empty for a renewal of `prevId`, which carries that
   * contract's latest objects `carried`), with `allowance` sat in escrow.
   */
  async buildContract(offer: Offer, objects: readonly ObjectEntry[], allowance: number,
    renew?: { prevId: Buffer; carried: readonly ObjectEntry[] }): Promise<StorageContract> {
    const cp = getParams(this.ctx.network);
    const dp = getDealParams(this.ctx.network);
    const held = renew ? renew.carried : objects;
    const size = objectsSize(held);
    if (!renew && size > offer.size)
      throw new DealError('object-too-large', `objects are ${size} bytes, the offer is for ${offer.size}`);
    const start = this.ctx.height();
    const end = start + offer.duration;
    const c = new StorageContract({
      network: this.ctx.network.magic,
      renterKey: this.ctx.identity().publicKey,
      hostKey: offer.hostKey,
      renterEscrowKey: await this.ctx.createEscrowKey(),
      hostEscrowKey: offer.hostEscrowKey,
      root: objectTreeRoot(held),
      size,
      startHeight: start,
      endHeight: end,
      auditInterval: auditTerms(offer.duration, dp.auditInterval),
      escrowValue: Math.max(allowance, minEscrowValue(this.ctx.network)),
      holdback: DEFAULT_HOLDBACK_BPS,
      refundHeight: end + cp.window,
      expiryHeight: offer.expiryHeight,
      storagePrice: offer.prices.storage,
      uploadPrice: offer.prices.upload,
      downloadPrice: offer.prices.download,
      prevId: renew ? renew.prevId : undefined
    });
    // [REJECT] the allowance must pay revision 0 to the end (the host checks the same)
    if (!allowanceCovers(c, firstRevision(c, held)))
      throw new DealError('insufficient-allowance', `an allowance of ${c.escrowValue} sat does not pay for `
        + `${size} bytes over ${offer.duration} blocks (${committedCost(c, firstRevision(c, held))} sat)`);
    c.sign(this.ctx.identity());
    return c;
  }

  /**
   * Propose a signed contract with its renter-signed revision 0 and
   * objects; returns it countersigned with upload tokens (one per object).
   */
  async propose(host: HostRef, contract: StorageContract, rev0: Revision, objects: ObjectEntry[])
    : Promise<{ contract: StorageContract; dataURL: string; dataTokens: string[]; manifestToken: string }> {
    this.used(contract);
    const args = new ProposeArgs();
    args.contract = contract;
    args.revision = rev0;
    args.objects = objects;
    const res = await this.call(host, 'propose', args.encode());
    if (res.status !== statuses.OK)
      throw declined('proposal-declined', `host ${host.identity} declined the contract`, res.status, res.body);
    const pr = this.grant(host, contract, res.body, objects.length, ProposeResult);
    contract.hostSig = pr.hostSig;
    if (!contract.verifyHostSig())
      throw new DealError('bad-host-sig', `host ${host.identity} countersigned with a bad signature`);
    // A contract there: keep the connection (a dialled one would close when idle).
    this.ctx.negotiator.hold(host.pubkey);
    return { contract, dataURL: pr.dataURL, dataTokens: pr.dataTokens, manifestToken: pr.manifestToken };
  }

  /** A host's UploadGrant, checked (URL, one token per object) and unsealed. */
  private grant(host: HostRef, contract: StorageContract, body: Buffer, objects: number, Type: typeof UploadGrant)
    : { hostSig: Buffer; dataURL: string; dataTokens: string[]; manifestToken: string } {
    let g: UploadGrant;
    try {
      g = Type.decode(body);
    } catch {
      throw new DealError('bad-host-answer', `host ${host.identity} sent a malformed answer`);
    }
    if (!isAllowedURL(g.dataURL, this.ctx.network))
      throw new DealError('bad-data-url', `host ${host.identity} gave data URL ${g.dataURL}: https required except on loopback`);
    if (g.dataTokens.length !== objects)
      throw new DealError('bad-host-answer', `host ${host.identity} gave ${g.dataTokens.length} upload tokens for ${objects} objects`);
    const id = contract.hash();
    const me = this.ctx.identity();
    const open = (b: Buffer) => unseal(me, host.pubkey, id, b).toString('ascii');
    return { hostSig: g.hostSig, dataURL: g.dataURL, dataTokens: g.dataTokens.map(open),
      manifestToken: g.manifestToken.length ? open(g.manifestToken) : '' };
  }

  /**
   * Send revision n+1 (renter-signed) with its changes. Returns upload
   * tokens for the added objects, or the host's signature when the
   * revision is final at once (it only removes).
   */
  async revise(host: HostRef, contract: StorageContract, rev: Revision, add: ObjectEntry[], remove: number[])
    : Promise<{ hostSig: Buffer; dataURL: string; dataTokens: string[]; manifestToken: string }> {
    const args = new ReviseArgs();
    args.revision = rev;
    args.add = add;
    args.remove = remove;
    const res = await this.call(host, 'revise', args.encode());
    if (res.status !== statuses.OK)
      throw declined('revision-declined', `host ${host.identity} declined revision ${rev.number}`, res.status, res.body);
    return this.grant(host, contract, res.body, add.length, ReviseResult);
  }

  /**
   * Ask the host to make revision `number` final (after the upload): its
   * answer is the revision countersigned, checked here against `mine`
   * (the one we signed) and the host's key.
   */
  async receipt(host: HostRef, contract: StorageContract, mine: Revision): Promise<Revision> {
    const args = new ReceiptArgs();
    args.id = contract.hash();
    args.number = mine.number;
    const res = await this.call(host, 'receipt', args.encode());
    if (res.status !== statuses.OK)
      throw declined('no-receipt', `host ${host.identity} did not countersign revision ${mine.number}`, res.status, res.body);
    let r: Revision;
    try {
      r = Revision.decode(res.body);
    } catch {
      throw new DealError('bad-receipt', `host ${host.identity} sent a malformed revision`);
    }
    if (!r.sameTerms(mine) || !verifyRevisionSigs(contract, r, true))
      throw new DealError('bad-receipt', `host ${host.identity} countersigned something other than revision ${mine.number}`);
    return r;
  }

  /** The latest revision the host holds, signed by both (checked). */
  async latestRevision(host: HostRef, contract: StorageContract): Promise<Revision> {
    const args = new ContractArgs();
    args.id = contract.hash();
    const res = await this.call(host, 'revision', args.encode());
    if (res.status !== statuses.OK)
      throw declined('bad-host-answer', `host ${host.identity} gave no revision`, res.status, res.body);
    let r: Revision;
    try {
      r = Revision.decode(res.body);
    } catch {
      throw new DealError('bad-host-answer', `host ${host.identity} sent a malformed revision`);
    }
    if (!r.contractId.equals(args.id) || !verifyRevisionSigs(contract, r, true))
      throw new DealError('bad-host-answer', `host ${host.identity} sent a revision not signed by both of us`);
    return r;
  }

  /** One page of what the host holds of a contract (`storage.latest`; checked by takeover.ts). */
  async latest(host: HostRef, contract: StorageContract, fromRevision: number, fromObject: number): Promise<LatestResult> {
    const args = new LatestArgs();
    args.id = contract.hash();
    args.fromRevision = fromRevision;
    args.fromObject = fromObject;
    const res = await this.call(host, 'latest', args.encode());
    if (res.status !== statuses.OK)
      throw declined('bad-host-answer', `host ${host.identity} gave no state for contract ${contract.id().slice(0, 12)}`,
        res.status, res.body);
    try {
      return LatestResult.decode(res.body);
    } catch {
      throw new DealError('bad-host-answer', `host ${host.identity} sent a malformed state`);
    }
  }

  /**
   * A download token for one object of a contract (or ALL_OBJECTS, an
   * audit's), with the channel state prepaying its bytes when they cost
   * anything (payments.ts Payer#prepay builds it). Throws DealError
   * `no-token` with the host's decline code as `reason`.
   */
  async token(host: HostRef, contractId: Buffer, object: number, state: ChannelState | null = null)
    : Promise<{ dataURL: string; token: string }> {
    const args = new TokenArgs();
    args.id = contractId;
    args.object = object;
    args.state = state;
    const res = await this.call(host, 'token', args.encode());
    if (res.status !== statuses.OK)
      throw declined('no-token', `host ${host.identity} gave no download token`, res.status, res.body);
    const t = TokenResult.decode(res.body);
    if (!isAllowedURL(t.dataURL, this.ctx.network))
      throw new DealError('bad-data-url', `host ${host.identity} gave data URL ${t.dataURL}: https required except on loopback`);
    return { dataURL: t.dataURL, token: unseal(this.ctx.identity(), host.pubkey, contractId, t.token).toString('ascii') };
  }

  /** Send a channel state (`storage.pay`); resolves once the host stored it. */
  async pay(host: HostRef, args: PayArgs): Promise<void> {
    const res = await this.call(host, 'pay', args.encode());
    if (res.status !== statuses.OK)
      throw declined('payment-declined', `host ${host.identity} refused state ${args.state.number}`, res.status, res.body);
  }

  /** Find a connected host by identity key. */
  hostByKey(pubkey: Buffer): HostRef | null {
    return this.peers().find((h) => h.pubkey.equals(pubkey)) ?? null;
  }
}

function priceText(p: Prices): string {
  return `storage ${p.storage}, upload ${p.upload}, download ${p.download}`;
}

/** A host's decline as a DealError whose `reason` is the host's code (its body). */
function declined(code: DealErrorCode, what: string, status: string, body: Buffer): DealError {
  const e = new DealError(code, `${what}: ${explain(status, body)}`);
  e.reason = declineCode(body);
  return e;
}

/** The host's kebab-case decline code in a body, or ''. */
export function declineCode(body: Buffer): string {
  const text = body.toString('latin1');
  return body.length > 0 && body.length <= 64 && /^[a-z0-9-]+$/.test(text) ? text : '';
}

/** A status plus the host's decline code (ASCII in the body), for people. */
function explain(status: string, body: Buffer): string {
  const code = body.length > 0 && body.length <= 64 && /^[a-z0-9-]+$/.test(body.toString('latin1'))
    ? ` (${body.toString('latin1')})` : '';
  return `${status}${code}`;
}

/**
 * DESIGN 7: data URLs are https, except plain http on a loopback host, and
 * on regtest on a private address too (a test network has no TLS).
 */
export function isAllowedURL(text: string, network?: bcoin.Network): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === 'https:')
    return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'http:')
    return false;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
    || (network?.type === 'regtest' && isPrivateHost(host));
}

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
