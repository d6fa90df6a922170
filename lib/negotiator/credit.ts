/*!
 * credit.ts - per-identity credit counters for `defer` payments.
 *
 * A client may defer payment up to `limit` satoshis in total (or the
 * defer-limit policy of the call's scope); past that
 * the server answers `please-pay` with the amount owed, and an attached
 * payment above the price pays the debt down. The map is bounded; an
 * identity pushed out loses its record (its debt is forgiven), which is why
 * the default limit is small: new identities cost nothing to make anyway.
 * A payment double spent after it was served is charged back (`chargeBack`):
 * that identity defers nothing more until its tab is paid.
 */

import { BoundedMap } from './boundedmap';
import { MAX_CREDIT_ACCOUNTS } from './common';
import type { ServerTab } from './tabs';

export class CreditLedger {
  readonly limit: number;
  private readonly owed = new BoundedMap<string, number>(MAX_CREDIT_ACCOUNTS);
  /** Identities owing a charged-back payment: no deferral until paid. */
  private readonly due = new BoundedMap<string, true>(MAX_CREDIT_ACCOUNTS);

  /** Called after every change (the tabs file, tabs.ts). */
  onChange: () => void = () => {};

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Every open tab, for the tabs file. */
  entries(): ServerTab[] {
    return [...this.owed.entries()].map(([hex, owed]) => ({ key: Buffer.from(hex, 'hex'), owed, due: this.due.has(hex) }));
  }

  /** Tabs read back from the tabs file (replacing none: called once, at open). */
  load(tabs: ServerTab[]): void {
    for (const t of tabs) {
      this.owed.set(t.key.toString('hex'), t.owed);
      if (t.due)
        this.due.set(t.key.toString('hex'), true);
    }
  }

  get(pk: Buffer): number {
    return this.owed.get(pk.toString('hex')) ?? 0;
  }

  /** Could `amount` more be deferred, under `limit` (default the node's)? */
  canDefer(pk: Buffer, amount: number, limit = this.limit): boolean {
    return !this.due.has(pk.toString('hex')) && this.get(pk) + amount <= limit;
  }

  /** Does `pk` owe a charged-back payment (no deferral, and attached payments must cover it)? */
  isDue(pk: Buffer): boolean {
    return this.due.has(pk.toString('hex'));
  }

  /** A payment of `amount` sat that served `pk` was double spent: it owes it again, now. */
  chargeBack(pk: Buffer, amount: number): void {
    this.charge(pk, amount);
    this.due.set(pk.toString('hex'), true);
    this.onChange();
  }

  charge(pk: Buffer, amount: number): void {
    if (amount > 0) {
      this.owed.set(pk.toString('hex'), this.get(pk) + amount);
      this.onChange();
    }
  }

  /** Pay down; returns what is still owed. */
  settle(pk: Buffer, amount: number): number {
    const before = this.get(pk);
    const left = Math.max(0, this.get(pk) - amount);
    if (left === 0) {
      this.owed.delete(pk.toString('hex'));
      this.due.delete(pk.toString('hex'));
    } else {
      this.owed.set(pk.toString('hex'), left);
    }
    if (left !== before)
      this.onChange();
    return left;
  }
}
