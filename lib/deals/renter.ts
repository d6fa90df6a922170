/*!
 * renter.ts - the renter's side of a deal: find hosts, quote and bid
 * (bidder.ts), build and propose contracts, revise them, collect receipts,
 * revisions, download tokens, and pay. What a host's answers mean is in
 * renterhosts.ts.
 */

import { StorageContract } from '../contracts/storagecontract';
import { getParams, minEscrowValue } from '../contracts/common';
import { statuses } from '../negotiator/status';
import { DEFAULT_HOLDBACK_BPS, getDealParams } from './common';
import { auditTerms, type Prices } from './pricing';
import { DealError } from './errors';
import { allowanceCovers, committedCost, firstRevision } from './revisions';
import { unseal } from './seal';
import { LatestArgs, LatestResult } from './latestwire';
import {
  ContractArgs, Offer, ProposeArgs, ProposeResult, ReceiptArgs, ReviseArgs, ReviseResult, TokenArgs, TokenResult, UploadGrant
} from './wire';
import { Revision, verifyRevisionSigs } from '../contracts/revision';
import { type ObjectEntry, objectTreeRoot, objectsSize } from '../contracts/objecttree';
import type { PayArgs } from './payments';
import type { ChannelState } from '../contracts/channel';
import { Bidder, type BidderContext, type NegotiateResult, type NegotiatedOffer, type QuoteResult } from './bidder';
import { type HostRef, callHost, declined, isAllowedURL } from './renterhosts';

/** What the renter needs from the node: the bidder's context and escrow keys. */
export interface RenterContext extends BidderContext {
  createEscrowKey(): Promise<Buffer>;
}

/** The renter's calls to hosts: bids (through the bidder), contracts, revisions, tokens, payments. */
export class Renter {
  readonly ctx: RenterContext;
  /** Finds hosts, collects quotes and bids; keeps the offers no proposal used yet. */
  private readonly bidder: Bidder;

  constructor(ctx: RenterContext) {
    this.ctx = ctx;
    this.bidder = new Bidder(ctx);
  }

  /** Connected CloudStorage peers with a proven identity. */
  peers(): HostRef[] {
    return this.bidder.peers();
  }

  private async call(host: HostRef, method: string, args: Buffer) {
    return callHost(this.ctx.negotiator, host, method, args);
  }

  /**
   * Ask every peer for a quote (Bidder#quoteAll); peers `skip` names are
   * not asked.
   */
  quoteAll(size: number, duration: number, skip?: (pubkey: Buffer) => boolean): Promise<QuoteResult[]> {
    return this.bidder.quoteAll(size, duration, skip);
  }

  /**
   * Negotiate offers from up to `count` hosts within `maxPrice`, none of
   * them in `exclude` (Bidder#negotiate).
   */
  negotiate(size: number, duration: number, maxPrice: number, count: number, exclude?: Buffer[],
    minScore?: number): Promise<NegotiateResult> {
    return this.bidder.negotiate(size, duration, maxPrice, count, exclude, minScore);
  }

  /** Bid, raising on price-too-low up to `maxPrice` (Bidder#bid). */
  bid(host: HostRef, size: number, duration: number, start: Prices, maxPrice: number)
    : Promise<{ offer: NegotiatedOffer } | { reason: string }> {
    return this.bidder.bid(host, size, duration, start, maxPrice);
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
    this.bidder.used(contract);
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





