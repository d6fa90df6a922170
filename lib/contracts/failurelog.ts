/*!
 * failurelog.ts - what the closer and the refunder share (blocksweep.ts): a failure that
 * recurs at every block (a close the fee cannot pay, a refund the mempool
 * refuses) is logged once, and again only when its reason changes.
 */

import type bcoin = require('../bcoin');
import { ContractError } from './errors';

/** The last failure logged per key (a contract id, an escrow outpoint). */
export class FailureLog {
  private readonly logger: bcoin.Logger | null | undefined;
  private readonly last = new Map<string, string>();

  constructor(logger: bcoin.Logger | null | undefined) {
    this.logger = logger;
  }

  /** Log `what` failing for `key` with `err` (its ContractError code, else its message), unless just logged. */
  fail(key: string, what: string, err: unknown): void {
    const code = err instanceof ContractError ? err.code : (err as Error).message;
    if (this.last.get(key) === code)
      return;
    this.last.set(key, code);
    this.logger?.warning('%s failed: %s', what, (err as Error).message);
  }

  /** `key` succeeded, or is no longer due: log its next failure again. */
  clear(key: string): void {
    this.last.delete(key);
  }

  /** Forget every key but those in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const key of [...this.last.keys()]) {
      if (!keep.has(key))
        this.last.delete(key);
    }
  }
}
