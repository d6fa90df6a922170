/*!
 * auditor.ts - the renter's node audits each of its contracts once per
 * audit interval, on its own, driven by blocks.
 *
 * At every block (and once at start) the schedule is derived from what is
 * stored, never from memory: the contract's intervals (accrual.ts) and
 * its audit records (audits.ts). Interval k = [a_k, b_k) is due once the
 * tip reaches b_k. The node audits the latest due interval; intervals
 * before it that were never audited (the node was offline) are covered by
 * that one audit and paid iff it passes (one catch-up audit, one state).
 * An audit with no complete answer is retried at each block while the
 * interval's window lasts (until b_k + I, when the next one is due) and
 * then recorded `missed`. A `failed` audit ends the contract's audits:
 * the loss is proven, nothing is paid from then on.
 *
 * A node that was offline audits when it is back and has caught up with
 * the chain its host announces (so a restart audits once, at the tip,
 * not once per block it syncs). Runs never overlap; a block arriving during one runs
 * the schedule again after it. The audit holds the contract's lock, so a
 * revision cannot change the objects under it.
 *
 * Records are written (fsynced) before anything acts on them: `passed`
 * hands the record to `onPassed` (the payment, payments.ts).
 */

import { Rerunner } from '../base/rerun';
import type { ContractObject, RenterContract } from './dealrecords';
import type { DealStore } from './dealstore';
import type { HostRef } from './renterhosts';
import { type AuditAccess, AuditRecord, auditOnce, chooseLeaves } from './audits';
import { intervals, type Interval } from './accrual';
import { accrualTerms } from './revisions';

/** States in which a contract's data is audited (its escrow is funded, not spent). */
export const AUDITED_STATES = new Set(['committed', 'active', 'expired']);
/** Attempts per block before an audit counts as not answered this time. */
const ATTEMPTS = 2;
/** Pause between attempts (ms): a host restarting its file server gets a moment. */
const RETRY_PAUSE_MS = 1000;

/** What the auditor needs from the node. */
export interface AuditorContext {
  store: DealStore;
  height(): number;
  /**
   * The best height the contract's host announced on its connection (-1
   * if not connected): its audit waits until our tip reaches it. Only the
   * host's own claim counts, so no other peer can hold audits back; a
   * host that overstates its height only delays its own payments.
   */
  hostHeight(pk: Buffer): number;
  /** The contract's chain state, or null. */
  state(id: Buffer): Promise<string | null>;
  /** Run `fn` under the contract's lock (no revision meanwhile). */
  withContract<T>(id: Buffer, fn: () => Promise<T>): Promise<T>;
  /** The host, connected (dialled by its announcement if need be), or null when unreachable. */
  host(pk: Buffer): Promise<HostRef | null>;
  /**
   * An audit token (every object, AUDIT_BUDGET bytes) from the host, its
   * reads paid ahead; rejects with code `cannot-pay` when the renter
   * cannot sign the state paying them.
   */
  access(host: HostRef, id: Buffer): Promise<AuditAccess>;
  /** After a passed audit is stored: pay for it. */
  onPassed?(rc: RenterContract, rec: AuditRecord): Promise<void>;
  /** At every run, after the audits: resend what is unacknowledged. */
  afterRun?(): Promise<void>;
  log?(level: 'info' | 'warning', msg: string): void;
}

export class Auditor {
  readonly ctx: AuditorContext;
  private readonly runner = new Rerunner(() => this.runOnce(),
    (e) => this.ctx.log?.('warning', `audits: ${e.message}`));
  /** Interval whose audit got no answer yet, by contract (hex): recorded `missed` when its window ends. */
  private readonly unanswered = new Map<string, { interval: number; from: number; reason: string }>();

  constructor(ctx: AuditorContext) {
    this.ctx = ctx;
  }

  /** Run the schedule now (or once more after the run in progress). Never throws. */
  kick(): Promise<void> {
    return this.runner.kick();
  }

  /** Resolves once no run is in progress (tests, shutdown). */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  private async runOnce(): Promise<void> {
    const height = this.ctx.height();
    for (const rc of await this.ctx.store.listRenterContracts())
      await this.auditContract(rc, height);
    await this.ctx.afterRun?.();
  }

  /** Audit one contract if an interval is due; returns the record written, if any. */
  async auditContract(rc: RenterContract, height: number): Promise<AuditRecord | null> {
    const c = rc.contract;
    const id = c.hash();
    const key = id.toString('hex');
    const state = await this.ctx.state(id);
    if (state === null || !AUDITED_STATES.has(state))
      return null;
    // Still syncing from the host: audit once at the tip, not once per block.
    if (height < this.ctx.hostHeight(c.hostKey))
      return null;
    const ivs = intervals(accrualTerms(c));
    const records = await this.ctx.store.listAudits(id);
    // Proven loss: nothing more to audit or pay.
    if (records.some((r) => r.outcome === 'failed'))
      return null;
    const last = records.length ? records[records.length - 1].interval : -1;
    const due = ivs.filter((iv) => iv.index > last && iv.to <= height);
    if (due.length === 0)
      return null;
    let from = last + 1;
    const target = due[due.length - 1];
    const waiting = this.unanswered.get(key);
    if (waiting && waiting.interval > last && waiting.interval < target.index) {
      // The window of an interval nobody answered for is over: missed.
      await this.record(id, waiting.interval, waiting.from, height, 0, 'missed', 0, 0, [], waiting.reason);
      from = waiting.interval + 1;
    }
    this.unanswered.delete(key);
    return this.ctx.withContract(id, () => this.attempt(rc, target, from, height, c.auditInterval));
  }

  private async attempt(rc: RenterContract, target: Interval, from: number, height: number,
    step: number): Promise<AuditRecord | null> {
    const id = rc.contract.hash();
    const rev = await this.ctx.store.latestRevision(id);
    if (!rev)
      return null;
    const objects = (await this.ctx.store.listObjects(id)).map(({ id: n, root, size }: ContractObject) => ({ id: n, root, size }));
    const leaves = chooseLeaves(objects);
    let reason = 'host not connected';
    for (let i = 0; i < ATTEMPTS; i++) {
      if (i > 0)
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      const host = await this.ctx.host(rc.contract.hostKey);
      if (!host)
        continue;
      const started = Date.now();
      let access: AuditAccess;
      try {
        access = await this.ctx.access(host, id);
      } catch (e) {
        const why = (e as Error).message.split('\n')[0];
        // The renter cannot pay for the reads (wallet locked, escrow
        // gone), or another node with this identity drives the contract
        // (othernode.ts): not the host's fault, so no record; a later
        // audit catches the interval up.
        const code = (e as { code?: unknown }).code;
        if (code === 'cannot-pay' || code === 'other-node') {
          this.ctx.log?.('warning', `audit of contract ${rc.contract.id()} interval ${target.index} waits: ${why}`);
          return null;
        }
        reason = `no audit token: ${why}`;
        continue;
      }
      const res = await auditOnce(rc.contract.id(), rev, objects, leaves, access, started);
      if (res.outcome === 'missed') {
        reason = res.reason;
        continue;
      }
      const rec = await this.record(id, target.index, from, height, rev.number, res.outcome, res.latency, res.bytes,
        leaves, res.reason);
      this.ctx.log?.(res.outcome === 'passed' ? 'info' : 'warning', `audit of contract ${rc.contract.id()} interval `
        + `${target.index} at height ${height}: ${res.outcome}${res.reason ? ` (${res.reason})` : ''}`);
      if (res.outcome === 'passed' && this.ctx.onPassed)
        await this.ctx.onPassed(rc, rec);
      return rec;
    }
    // No answer: retried at the next blocks while the interval's window lasts.
    if (height >= target.to + step - 1)
      return this.record(id, target.index, from, height, rev.number, 'missed', 0, 0, leaves, reason);
    this.unanswered.set(id.toString('hex'), { interval: target.index, from, reason });
    return null;
  }

  private async record(id: Buffer, interval: number, from: number, height: number, revision: number,
    outcome: AuditRecord['outcome'], latency: number, bytes: number, leaves: AuditRecord['leaves'],
    reason: string): Promise<AuditRecord> {
    const rec = new AuditRecord();
    Object.assign(rec, { interval, from, height, revision, outcome, latency, bytes, leaves, reason });
    await this.ctx.store.putAudit(id, rec);
    if (outcome === 'missed')
      this.ctx.log?.('warning', `audit of contract ${id.toString('hex')} interval ${interval}: missed (${reason})`);
    return rec;
  }
}
