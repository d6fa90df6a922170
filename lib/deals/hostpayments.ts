/*!
 * hostpayments.ts - the host's side of payment: download tokens, channel
 * states (`storage.pay`) and renters that stop paying.
 *
 *   token -> a sealed download token for one object of the contract (0:
 *            the sealed manifest, how a renter restored from its seed
 *            finds its files: free), or an audit's token for every data
 *            object, paid ahead: its byte budget at the contract's download
 *            price travels as a channel state with the request (one
 *            mechanism for gets and audits)
 *   pay   -> a renter-signed channel state paying for audited intervals
 *
 * Both store the state in the channel store (fsynced) before answering,
 * one state at a time, so two requests can never both be paid by one
 * increment of the same state.
 */

import bio = require('bufio');
import type { StorageContract } from '../contracts/storagecontract';
import { ContractError } from '../contracts/errors';
import type { RequestContext } from '../negotiator/services';
import { statuses } from '../negotiator/status';
import { ALL_OBJECTS } from '../storage/token';
import { MAX_MANIFEST_SIZE } from '../storage/common';
import { BAD_TERMS, REVISION_HEIGHT_SLACK } from './common';
import { earnedAt, intervals } from './accrual';
import { Mutex } from '../contracts/mutex';
import type { ChannelState } from '../contracts/channel';
import { PayArgs, dueFor, tokenCost } from './payments';
import { AUDITED_STATES } from './auditor';
import { AUDIT_BUDGET } from './audits';
import { accrualTerms } from './revisions';
import { seal } from './seal';
import { FileServerClient } from '../storage/fileserverclient';
import { TokenArgs, TokenResult } from './wire';
import { type HostCore, DOWNLOAD_TOKEN_SECONDS, decline, keyHash, parse } from './hostcommon';

/** Object 0 of every contract: the renter's sealed manifest (PROTOCOL 4.5). */
const MANIFEST_OBJECT = 0;

/** Intervals a host waits for a state after it served an audit (docs/MARKET.md). */
export const NON_PAYMENT_INTERVALS = 2;

/** Tokens and channel states of contracts this node hosts. */
export class HostPayments {
  readonly core: HostCore;
  /** States are checked against the stored one and stored one at a time. */
  private readonly states = new Mutex();
  /**
   * Contracts closed for non-payment (closeWith): no state is stored for
   * them any more. In memory: after a restart the contract is either
   * marked dropped (droppedAt) or closed again from the states held.
   */
  private readonly closing = new Set<string>();

  constructor(core: HostCore) {
    this.core = core;
  }

  /**
   * Close contract `id` for non-payment with `close`, storing no state for
   * it from then on. A state that came between the close (built from the
   * latest state held) and the drop mark was stored and never paid: the
   * host served prepaid reads for nothing.
   */
  closeWith<T>(id: Buffer, close: () => Promise<T>): Promise<T> {
    return this.states.run(() => {
      this.closing.add(id.toString('hex'));
      return close();
    });
  }

  /** Store a state through the channel store; its codes become `bad-terms` declines. */
  private async accept(c: StorageContract, state: ChannelState, final: boolean, prepaid: number,
    missed?: readonly number[]): Promise<void> {
    try {
      await this.core.ctx.acceptState(c, state, { final, prepaid, missed });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (e instanceof ContractError || typeof code === 'string')
        throw decline(BAD_TERMS, String(code));
      throw e;
    }
  }

  /**
   * The state prepaying a token of `budget` bytes: it must pay the stored
   * state plus the bytes at the contract's download price, and leave the
   * allowance able to pay the data to the end (E(end) + prepaid <=
   * escrow). All it adds is recorded as prepaid. Nothing is checked when
   * the bytes cost nothing and no state came.
   */
  private async prepaid(c: StorageContract, state: ChannelState | null, budget: number, issue: () => Buffer): Promise<Buffer> {
    const cost = tokenCost(c, budget);
    if (!state) {
      // [DECLINE] bytes that cost something come with the state paying them
      if (cost > 0)
        throw decline(BAD_TERMS, 'prepay-required');
      return issue();
    }
    const id = c.hash();
    return this.states.run(async () => {
      // [DECLINE] a contract being closed for non-payment (its close pays the state held before)
      if (this.closing.has(id.toString('hex')))
        throw decline(BAD_TERMS, 'contract-dropped');
      const last = await this.core.ctx.latestState(id);
      const paid = last ? last.paid : 0;
      // [DECLINE] less than the stored state plus the token's bytes at the download price
      if (state.paid < paid + cost)
        throw decline(BAD_TERMS, 'state-underpays');
      const prepaid = (last ? last.prepaid : 0) + state.paid - paid;
      const end = earnedAt(accrualTerms(c), await this.core.ctx.store.listRevisions(id), c.endHeight);
      // [DECLINE] downloads may not eat what the stored data will have earned by the end
      if (end + prepaid > c.escrowValue)
        throw decline(BAD_TERMS, 'insufficient-allowance');
      // Minted before the state is stored: once it is stored, nothing fails.
      const token = issue();
      await this.accept(c, state, last ? last.final : false, prepaid);
      return token;
    });
  }

  async token(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => TokenArgs.decode(args));
    const c = await this.core.renterContract(a.id, ctx);
    const id = c.hash();
    // [DECLINE] a contract dropped for non-payment: its data is gone
    if (await this.core.ctx.store.droppedAt(id) !== null)
      throw decline(BAD_TERMS, 'contract-dropped');
    // [DECLINE] downloads are for paid storage: the commitment must be on chain
    if (!await this.core.isCommitted(id))
      throw decline(BAD_TERMS, 'not-committed');
    let object: number;
    let budget: number;
    if (a.object === ALL_OBJECTS) {
      // An audit's token: every data object, 16 leaves. A payment is due
      // after it (the renter's node pays after each passed audit).
      object = ALL_OBJECTS;
      budget = AUDIT_BUDGET;
    } else if (a.object === MANIFEST_OBJECT) {
      // The sealed manifest: what a renter restored from its seed reads
      // to find its files again. The caller proved the contract's renter
      // key (renterContract: the envelope's signed `from`), and the token
      // is sealed to that key; the budget is the manifest limit.
      object = MANIFEST_OBJECT;
      budget = MAX_MANIFEST_SIZE;
    } else {
      const o = await this.core.ctx.store.getObject(id, a.object);
      // [DECLINE] only objects of the latest final revision are served
      if (!o)
        throw decline(statuses.BAD_REQUEST, 'unknown-object');
      object = o.id;
      budget = o.size;
    }
    const backend = this.core.mustBackend();
    const res = new TokenResult();
    res.dataURL = this.core.ctx.dataURL();
    const raw = backend.mintToken({
      contract: id.toString('hex'), op: 'get', object, notAfter: this.core.now() + DOWNLOAD_TOKEN_SECONDS,
      maxBytes: budget, renterPkHash: keyHash(c.renterKey)
    });
    const sealed = () => seal(this.core.ctx.identity(), c.renterKey, id, Buffer.from(raw, 'ascii'));
    // The manifest is free: a renter restored from its seed holds no channel state to prepay with.
    res.token = object === MANIFEST_OBJECT ? sealed() : await this.prepaid(c, a.state, budget, sealed);
    if (object === ALL_OBJECTS) {
      const height = this.core.ctx.height();
      await this.core.ctx.store.markAuditServed(id, height);
      // Kept so a payment calling this interval missed can be checked against what its reads served.
      await this.core.ctx.store.recordAuditToken(id, height, raw);
    }
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
    const c = await this.core.renterContract(a.state.contractId, ctx);
    const id = c.hash();
    // [DECLINE] a contract this host dropped for non-payment
    if (await this.core.ctx.store.droppedAt(id) !== null)
      throw decline(BAD_TERMS, 'contract-dropped');
    const state = await this.core.ctx.contractState(id);
    // [DECLINE] only a contract whose escrow is on chain (closed or refunded ones cannot pay)
    if (state === null || !AUDITED_STATES.has(state))
      throw decline(BAD_TERMS, 'not-active');
    const ivs = intervals(accrualTerms(c));
    // [DECLINE] paying for intervals that have not ended
    if (a.through < 1 || a.through > ivs.length || ivs[a.through - 1].to > this.core.ctx.height() + REVISION_HEIGHT_SLACK)
      throw decline(BAD_TERMS, 'bad-interval');
    // [DECLINE] an interval called missed whose audit reads this host served, every one
    const before = await this.core.ctx.latestState(id);
    for (const k of a.missed) {
      if (!before?.missed?.includes(k) && await this.servedAudit(c, ivs[k].to, ivs[k].to + c.auditInterval))
        throw decline(BAD_TERMS, 'missed-but-served');
    }
    await this.states.run(async () => {
      // [DECLINE] a contract being closed for non-payment (its close pays the state held before)
      if (this.closing.has(id.toString('hex')))
        throw decline(BAD_TERMS, 'contract-dropped');
      const last = await this.core.ctx.latestState(id);
      const prepaid = last ? last.prepaid : 0;
      const due = dueFor(c, await this.core.ctx.store.listRevisions(id), a.through, a.missed, prepaid);
      // [DECLINE] less than the intervals earned (accrual.ts, from the revisions both signed) plus the downloads prepaid
      if (a.state.paid < due.paid)
        throw decline(BAD_TERMS, 'state-underpays');
      await this.accept(c, a.state, a.through === ivs.length || (last !== null && last.final), prepaid, a.missed);
    });
    await this.core.ctx.store.clearAuditServed(id);
    const bw = bio.write(16);
    bw.writeU64(a.state.number);
    bw.writeU64(a.state.paid);
    return bw.render();
  }

  /**
   * Whether an audit token served at a height in [from, to) (the window in
   * which the renter audits one interval) had all its reads served: its
   * whole budget counted by the data API. What was seen at a block is
   * kept (the token expires in an hour); a live token is asked again.
   */
  private async servedAudit(c: StorageContract, from: number, to: number): Promise<boolean> {
    const id = c.hash();
    for (const rec of await this.core.ctx.store.listAuditTokens(id)) {
      if (rec.height < from || rec.height >= to)
        continue;
      if (rec.served < AUDIT_BUDGET) {
        const served = await this.readsServed(c, rec.token);
        if (served !== null)
          await this.core.ctx.store.setAuditTokenServed(id, rec, served);
      }
      if (rec.served >= AUDIT_BUDGET)
        return true;
    }
    return false;
  }

  /**
   * Bytes an audit token's reads have served, from the data API (a free
   * HEAD answers X-CC-Budget-Left), or null when it cannot tell (the token
   * expired, the API is down).
   */
  private async readsServed(c: StorageContract, token: string): Promise<number | null> {
    if (this.core.ctx.auditReadsServed)
      return this.core.ctx.auditReadsServed(c, token);
    const objects = await this.core.ctx.store.listObjects(c.hash());
    if (objects.length === 0)
      return null;
    try {
      const head = await new FileServerClient(this.core.ctx.dataURL()).head(token, c.id(), objects[0].id);
      return head.budgetLeft === null ? null : AUDIT_BUDGET - head.budgetLeft;
    } catch {
      return null;
    }
  }

  /**
   * At every block: note what the audit tokens of the last two intervals
   * have served, while they are alive (an hour), so a later payment's
   * missed intervals can still be checked.
   */
  async observeAuditReads(height: number): Promise<void> {
    for (const c of await this.core.ctx.store.listHosted()) {
      for (const rec of await this.core.ctx.store.listAuditTokens(c.hash())) {
        if (rec.served >= AUDIT_BUDGET || rec.height + 2 * c.auditInterval < height)
          continue;
        const served = await this.readsServed(c, rec.token);
        if (served !== null)
          await this.core.ctx.store.setAuditTokenServed(c.hash(), rec, served);
      }
    }
  }

  /**
   * Contracts whose renter stopped paying at `height`: an audit was served
   * at h0, the tip is 2 intervals past it, no state came since and the
   * audited intervals earned more than the latest state pays. (A renter
   * owing nothing, e.g. sat amounts that round to 0, is not one.)
   */
  async nonPaying(height: number): Promise<StorageContract[]> {
    const out: StorageContract[] = [];
    for (const c of await this.core.ctx.store.listHosted()) {
      const id = c.hash();
      const served = await this.core.ctx.store.auditServedAt(id);
      if (served === null || height < served + NON_PAYMENT_INTERVALS * c.auditInterval)
        continue;
      if (await this.core.ctx.store.droppedAt(id) !== null)
        continue;
      const through = intervals(accrualTerms(c)).filter((iv) => iv.to <= served).length;
      const last = await this.core.ctx.latestState(id);
      const owed = dueFor(c, await this.core.ctx.store.listRevisions(id), through, [], last ? last.prepaid : 0).paid;
      if (owed <= (last ? last.paid : 0)) {
        await this.core.ctx.store.clearAuditServed(id);
        continue;
      }
      out.push(c);
    }
    return out;
  }
}
