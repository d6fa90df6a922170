/*!
 * payments.ts - pay per passed audit: the renter's side of the channel.
 *
 * After an audit passes, the renter's node signs the next channel state
 * (lib/contracts/channel.ts) for what accrual.ts says the paid intervals
 * earned, less the holdback (released by the final state when every
 * interval passed), and sends it to the host with `storage.pay`. The
 * state is stored (fsynced) before it is sent, and marked acknowledged
 * only when the host says it stored it: a crash between signing and
 * sending, a lost answer or an unreachable host loses nothing, since the
 * node sends what is unacknowledged again at every block, re-signing it
 * (number + 1) when the figures moved meanwhile (a later audit, a
 * revision the host had countersigned first).
 *
 * SignedPayment (deals db `y[id]`):
 *   ChannelState (113) || u32 through (intervals 0..through-1 are due) ||
 *   u8 flags (1 = acknowledged) || varint m || m x u32 missed interval ||
 *   u64 prepaid (sat of `paid` that prepaid downloads, cumulative) ||
 *   varint c || c x u32 conceded (intervals the renter called missed and
 *   the host showed it served: paid after all) || varint a || a x u32
 *   acknowledged missed (the missed list of the last state the host took);
 *   fields absent in records written before them: 0, none
 *
 * Downloads (and an audit's reads) are paid ahead the same way: `prepay`
 * signs the next state paying the last one plus the token's bytes at the
 * contract's download price; it travels with `storage.token`, and the host
 * checks and stores it before it hands out the token (PROTOCOL 5).
 *
 * PayArgs (the `storage.pay` args, PROTOCOL 5) carry the state, `through`
 * and the missed intervals, so the host computes the same amount from the
 * same signed revisions and refuses a state that pays less.
 */

import bio = require('bufio');
import type bcoin = require('../bcoin');
import { ChannelState, CHANNEL_STATE_SIZE, signState } from '../contracts/channel';
import type { StorageContract } from '../contracts/storagecontract';
import { readLength, readU32, sizeVarint, malformed, decodeCodes } from '../negotiator/wire';
import { StrictStruct } from '../base/signed';
import { Mutex } from '../contracts/mutex';
import { type AuditOutcome, stateAmounts, type StateAmounts, intervals, transferCost } from './accrual';
import type { AuditRecord } from './audits';
import type { DealStore } from './dealstore';
import type { RenterContract } from './dealrecords';
import type { HostRef } from './renterhosts';
import { accrualTerms } from './revisions';

/** Most intervals one contract has (its duration fits a u32 of blocks, an interval is at least 1). */
const MAX_MISSED = 0xffff;

/** `storage.pay` args: a renter-signed state and what it pays for. */
export class PayArgs extends StrictStruct {
  state = new ChannelState();
  /** Intervals 0..through-1 are due: the state pays those that passed (or were caught up). */
  through = 0;
  /** Intervals (< through) whose audit got no answer: unpaid. */
  missed: number[] = [];

  getSize(): number {
    return CHANNEL_STATE_SIZE + 4 + sizeVarint(this.missed.length) + 4 * this.missed.length;
  }

  write(bw: bio.Writer): bio.Writer {
    this.state.write(bw);
    bw.writeU32(this.through);
    bw.writeVarint(this.missed.length);
    for (const k of this.missed)
      bw.writeU32(k);
    return bw;
  }

  read(br: bio.BufferReader): this {
    // [REJECT] truncated state (ChannelState checks its own fields)
    if (br.left() < CHANNEL_STATE_SIZE)
      throw malformed(decodeCodes.TRUNCATED);
    this.state = new ChannelState().read(br);
    this.through = readU32(br);
    const n = readLength(br, MAX_MISSED);
    // [REJECT] a count the bytes left cannot hold (checked before looping)
    if (n * 4 > br.left())
      throw malformed(decodeCodes.TRUNCATED);
    this.missed = [];
    let last = -1;
    for (let i = 0; i < n; i++) {
      const k = readU32(br);
      // [REJECT] missed intervals ascending, distinct, below `through`
      if (k <= last || k >= this.through)
        throw malformed(decodeCodes.BAD_PAYMENT);
      this.missed.push(k);
      last = k;
    }
    return this;
  }
}

/** What the renter keeps of the latest state it signed for a contract. */
export class SignedPayment extends bio.Struct {
  state = new ChannelState();
  through = 0;
  acked = false;
  missed: number[] = [];
  /** Sat of `state.paid` that prepaid downloads and audit reads (cumulative). */
  prepaid = 0;
  /** Missed intervals the host showed it served every audit read of (`missed-but-served`): paid. */
  conceded: number[] = [];
  /** The missed intervals of the last state the host acknowledged. */
  ackedMissed: number[] = [];

  getSize(): number {
    const list = (l: readonly number[]) => sizeVarint(l.length) + 4 * l.length;
    return CHANNEL_STATE_SIZE + 4 + 1 + list(this.missed) + 8 + list(this.conceded) + list(this.ackedMissed);
  }

  write(bw: bio.Writer): bio.Writer {
    this.state.write(bw);
    bw.writeU32(this.through);
    bw.writeU8(this.acked ? 1 : 0);
    bw.writeVarint(this.missed.length);
    for (const k of this.missed)
      bw.writeU32(k);
    bw.writeU64(this.prepaid);
    for (const list of [this.conceded, this.ackedMissed]) {
      bw.writeVarint(list.length);
      for (const k of list)
        bw.writeU32(k);
    }
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.state = new ChannelState().read(br);
    this.through = br.readU32();
    this.acked = (br.readU8() & 1) !== 0;
    const list = (): number[] => {
      const out: number[] = [];
      for (let n = br.readVarint(); n > 0; n--)
        out.push(br.readU32());
      return out;
    };
    this.missed = list();
    this.prepaid = br.left() >= 8 ? br.readU64() : 0;
    this.conceded = br.left() > 0 ? list() : [];
    this.ackedMissed = br.left() > 0 ? list() : [];
    return this;
  }

  /** A state following this one: what the host was shown and took carries over. */
  next(): SignedPayment {
    const p = new SignedPayment();
    p.through = this.through;
    p.missed = this.missed;
    p.prepaid = this.prepaid;
    p.conceded = this.conceded;
    p.ackedMissed = this.ackedMissed;
    return p;
  }

  args(): PayArgs {
    const a = new PayArgs();
    a.state = this.state;
    a.through = this.through;
    a.missed = this.missed;
    return a;
  }
}

/**
 * The amounts a state must pay for intervals 0..through-1 given the
 * missed ones (every other interval passed or was caught up), plus
 * `prepaid` sat of downloads: what the host checks a state against.
 * Shared by both sides.
 */
export function dueFor(c: StorageContract, revisions: readonly { number: number; height: number; size: number; accrued: number }[],
  through: number, missed: readonly number[], prepaid = 0): StateAmounts {
  const outcomes: AuditOutcome[] = [];
  for (let k = 0; k < through; k++)
    outcomes.push(missed.includes(k) ? 'missed' : 'passed');
  return stateAmounts(accrualTerms(c), revisions, outcomes, prepaid);
}

/** Sat a `get` token's byte budget costs at the contract's download price (accrual.ts downloadCost). */
export function tokenCost(c: StorageContract, budget: number): number {
  return transferCost(c.downloadPrice, budget);
}

/**
 * The outcomes the renter's records give intervals 0..through-1 (null for
 * an interval no audit covered), and the missed ones.
 */
export function recordedOutcomes(records: readonly AuditRecord[], through: number): { outcomes: AuditOutcome[]; missed: number[] } {
  const outcomes: AuditOutcome[] = new Array<AuditOutcome>(through).fill(null);
  for (const r of records) {
    if (r.interval < through)
      outcomes[r.interval] = r.outcome;
  }
  const missed = outcomes.flatMap((o, k) => (o === 'missed' ? [k] : []));
  return { outcomes, missed };
}

/** What the payer needs from the node. */
export interface PayerContext {
  store: DealStore;
  /** The contract's escrow coin (its resolved commit), or null while none is indexed or it is spent. */
  escrow(c: StorageContract): Promise<bcoin.Coin | null>;
  /** The renter escrow key's private key, or null (not ours, or the wallet is locked). */
  escrowKey(c: StorageContract): Promise<Buffer | null>;
  host(pk: Buffer): HostRef | null;
  /** Send `storage.pay`; resolves once the host stored the state, throws with its decline otherwise. */
  send(host: HostRef, args: PayArgs): Promise<void>;
  log?(level: 'info' | 'warning', msg: string): void;
}

/** Signs, stores and sends the renter's channel states. */
export class Payer {
  readonly ctx: PayerContext;
  /** Why a contract's state could not be signed, as last logged (hex id -> reason). */
  private readonly warned = new Map<string, string>();
  /** One state change per contract at a time (payments and prepaid tokens share the number sequence). */
  private readonly locks = new Map<string, Mutex>();

  constructor(ctx: PayerContext) {
    this.ctx = ctx;
  }

  private locked<T>(c: StorageContract, fn: () => Promise<T>): Promise<T> {
    let m = this.locks.get(c.id());
    if (!m) {
      m = new Mutex();
      this.locks.set(c.id(), m);
    }
    return m.run(fn);
  }

  /**
   * Pay `cost` sat ahead for a token: sign the next state paying the last
   * one plus `cost` (the amounts already signed stay as they are), store
   * it (fsynced) before it leaves, and hand it to `use`, which sends it
   * with `storage.token`. Acknowledged when `use` resolves. When the host
   * answered with a decline it did not store the state: the previous one
   * is put back and the number is used again. With no answer at all the
   * state stays (sent again with the next `storage.pay`): the host may
   * hold it. Throws PrepayError (`cannot-pay`) when no state can be
   * signed now (escrow spent or not found, wallet locked).
   */
  async prepay<T>(c: StorageContract, cost: number, use: (state: ChannelState) => Promise<T>,
    declined: (e: unknown) => boolean): Promise<T> {
    return this.locked(c, async () => {
      const id = c.hash();
      const prev = await this.ctx.store.getPayment(id);
      const coin = await this.ctx.escrow(c);
      const key = coin ? await this.ctx.escrowKey(c) : null;
      if (!coin || !key)
        throw new PrepayError(coin ? 'escrow key unavailable: wallet locked?' : 'escrow not found or spent');
      const pay = prev ? prev.next() : new SignedPayment();
      const paid = (prev ? prev.state.paid : 0) + cost;
      try {
        pay.state = signState(c, coin, prev ? prev.state.number + 1 : 1, paid, key);
      } catch (e) {
        throw new PrepayError(`${(e as Error).message} (paying ${paid} sat of ${c.escrowValue})`);
      }
      pay.prepaid += cost;
      pay.acked = false;
      // On disk before it leaves: a crash from here on sends it again (storage.pay).
      await this.ctx.store.putPayment(id, pay);
      let out: T;
      try {
        out = await use(pay.state);
      } catch (e) {
        if (declined(e)) {
          if (prev)
            await this.ctx.store.putPayment(id, prev);
          else
            await this.ctx.store.deletePayment(id);
        }
        throw e;
      }
      pay.acked = true;
      pay.ackedMissed = pay.missed;
      await this.ctx.store.putPayment(id, pay);
      return out;
    });
  }

  /**
   * Pay after the passed audit `rec`: sign the state for every interval up
   * to it, store it, send it. Returns the stored payment, or null when
   * nothing new is owed or it cannot be signed now (tried again later).
   */
  async afterAudit(rc: RenterContract, rec: AuditRecord): Promise<SignedPayment | null> {
    return this.update(rc, rec.interval + 1);
  }

  /**
   * Send again every state the host has not acknowledged (re-signed if the
   * figures moved). A state that only prepaid tokens before any interval
   * was due (through 0) is not a payment `storage.pay` takes: the next
   * state, which pays at least as much, supersedes it.
   */
  async resend(): Promise<void> {
    for (const rc of await this.ctx.store.listRenterContracts()) {
      const p = await this.ctx.store.getPayment(rc.contract.hash());
      if (p && !p.acked && p.through > 0)
        await this.update(rc, p.through);
    }
  }

  private update(rc: RenterContract, through: number): Promise<SignedPayment | null> {
    return this.locked(rc.contract, () => this.updateLocked(rc, through));
  }

  private async updateLocked(rc: RenterContract, through: number): Promise<SignedPayment | null> {
    const c = rc.contract;
    const id = c.hash();
    const records = await this.ctx.store.listAudits(id);
    // A proven loss pays nothing more, ever.
    const lost = records.find((r) => r.outcome === 'failed');
    if (lost && lost.interval < through)
      through = lost.interval;
    const prev = await this.ctx.store.getPayment(id);
    through = Math.max(through, prev ? prev.through : 0);
    const recorded = recordedOutcomes(records, through);
    // A miss the host showed it served (every audit read counted) is paid after all.
    const conceded = new Set(prev ? prev.conceded : []);
    // An interval the last state covered with no record here (a contract taken
    // over after a restore from the seed, takeover.ts) is as that state took it.
    const taken = new Set(prev ? prev.missed : []);
    const covered = prev ? prev.through : 0;
    const outcomes = recorded.outcomes.map((o, k): AuditOutcome => {
      if (o === 'missed' && conceded.has(k))
        return 'passed';
      if (o === null && k < covered)
        return taken.has(k) ? 'missed' : 'passed';
      return o;
    });
    const missed = outcomes.flatMap((o, k) => (o === 'missed' ? [k] : []));
    const prepaid = prev ? prev.prepaid : 0;
    const amounts = stateAmounts(accrualTerms(c), await this.ctx.store.listRevisions(id), outcomes, prepaid);
    const paid = Math.max(amounts.paid, prev ? prev.state.paid : 0);
    let pay = prev;
    if (!prev || prev.through !== through || prev.state.paid !== paid || prev.missed.length !== missed.length) {
      if (paid === 0 && !prev)
        return null; // nothing earned yet
      const coin = await this.ctx.escrow(c);
      const key = coin ? await this.ctx.escrowKey(c) : null;
      if (!coin || !key) {
        const why = coin ? 'escrow key unavailable: wallet locked?' : 'escrow not found or spent';
        // Said once per contract and reason, not at every block.
        if (this.warned.get(c.id()) !== why)
          this.ctx.log?.('warning', `payments: cannot sign a state for contract ${c.id()} now (${why})`);
        this.warned.set(c.id(), why);
        return null;
      }
      this.warned.delete(c.id());
      pay = prev ? prev.next() : new SignedPayment();
      pay.state = signState(c, coin, prev ? prev.state.number + 1 : 1, paid, key);
      pay.through = through;
      pay.missed = missed;
      pay.prepaid = prepaid;
      pay.acked = false;
      // On disk before it leaves: a crash from here on resends it.
      await this.ctx.store.putPayment(id, pay);
    }
    if (!pay || pay.acked)
      return pay;
    const host = this.ctx.host(c.hostKey);
    if (!host)
      return pay;
    try {
      await this.ctx.send(host, pay.args());
    } catch (e) {
      if ((e as { reason?: unknown }).reason === 'missed-but-served') {
        // The host counted every read of an audit we called missed (our
        // deadline passed as its answer came): we pay those intervals.
        // Only the claims it had not taken before are in question.
        const taken = new Set(pay.ackedMissed);
        pay.conceded = [...new Set([...pay.conceded, ...pay.missed.filter((k) => !taken.has(k))])].sort((x, y) => x - y);
        await this.ctx.store.putPayment(id, pay);
        this.ctx.log?.('warning', `payments: contract ${c.id()}: the host served every audit read of intervals `
          + `${pay.conceded.join(', ')} we called missed: paid (sent at the next block)`);
        return pay;
      }
      const why = `host did not take state ${pay.state.number}: ${(e as Error).message}`;
      if (this.warned.get(c.id()) !== why)
        this.ctx.log?.('warning', `payments: contract ${c.id()}: ${why}`);
      this.warned.set(c.id(), why);
      return pay;
    }
    pay.acked = true;
    pay.ackedMissed = pay.missed;
    await this.ctx.store.putPayment(id, pay);
    const all = intervals(accrualTerms(c)).length;
    this.ctx.log?.('info', `payments: contract ${c.id()} state ${pay.state.number} pays ${pay.state.paid} sat `
      + `for intervals 0..${through - 1} of ${all}${through === all ? ' (final)' : ''}`);
    return pay;
  }
}

/** No state can be signed to prepay a token now (not the host's fault: no audit blames it). */
export class PrepayError extends Error {
  readonly code = 'cannot-pay';

  constructor(why: string) {
    super(`cannot prepay the download: ${why}`);
    this.name = 'PrepayError';
  }
}
