/*!
 * credit.ts - per-identity credit counters for `defer` payments.
 *
 * A client may defer payment up to `limit` satoshis in total (or the
 * defer-limit policy of the call's scope); past that
 * the server answers `please-pay` with the amount owed, and an attached
 * payment above the price pays the debt down. The map is bounded; an
 * identity pushed out loses its record (its debt is forgiven), which is why
 * the default limit is small: new identities cost nothing to make anyway.
 */

import { BoundedMap } from './boundedmap';
import { MAX_CREDIT_ACCOUNTS } from './common';

export class CreditLedger {
  readonly limit: number;
  private readonly owed = new BoundedMap<string, number>(MAX_CREDIT_ACCOUNTS);

  constructor(limit: number) {
    this.limit = limit;
  }

  get(pk: Buffer): number {
    return this.owed.get(pk.toString('hex')) ?? 0;
  }

  /** Could `amount` more be deferred, under `limit` (default the node's)? */
  canDefer(pk: Buffer, amount: number, limit = this.limit): boolean {
    return this.get(pk) + amount <= limit;
  }

  charge(pk: Buffer, amount: number): void {
    if (amount > 0)
      this.owed.set(pk.toString('hex'), this.get(pk) + amount);
  }

  /** Pay down; returns what is still owed. */
  settle(pk: Buffer, amount: number): number {
    const left = Math.max(0, this.get(pk) - amount);
    if (left === 0)
      this.owed.delete(pk.toString('hex'));
    else
      this.owed.set(pk.toString('hex'), left);
    return left;
  }
}
