/*!
 * paidtx.ts - the attached payments a server took (PROTOCOL 2.5), by txid.
 *
 * A payment tx pays for one call: the server records which identity sent
 * it for which call (service, method, args), so that the same bytes
 * presented for another call, or by another identity, are a replay, while
 * a client retrying the very call whose answer it lost is served again
 * (at most PAID_RETRIES times) without paying twice. The records also
 * count what each identity has unconfirmed (the server's risk, capped by
 * `--unconfirmed-limit`) and find the payer of a tx that was double spent.
 * Bounded: the oldest records are forgotten.
 */

import { createHash } from 'crypto';
import { BoundedMap } from './boundedmap';
import { MAX_PAID_RECORDS, PAID_RETRIES } from './common';

/** One payment tx the server took. */
export interface PaidRecord {
  /** txid (hex, RPC order). */
  id: string;
  /** Payer identity key. */
  from: Buffer;
  /** callKey() of the call it paid for. */
  call: string;
  /** sat claimed and verified. */
  amount: number;
  /** Times the call was served again against it. */
  retries: number;
  /** Double spent after it was served (the amount was charged back to the payer's tab). */
  doubleSpent: boolean;
}

/** What presenting a known payment again amounts to. */
export type Reuse = 'retry' | 'replay' | 'exhausted';

/** sha256 of the call's service, method and args: a retry must be the same call. */
export function callKey(service: string, method: string, args: Buffer): string {
  return createHash('sha256').update(`${service}\0${method}\0`).update(args).digest('hex');
}

export class PaidTXs {
  private readonly records = new BoundedMap<string, PaidRecord>(MAX_PAID_RECORDS);

  get(id: string): PaidRecord | null {
    return this.records.get(id) ?? null;
  }

  add(id: string, from: Buffer, call: string, amount: number): PaidRecord {
    const rec: PaidRecord = { id, from, call, amount, retries: 0, doubleSpent: false };
    this.records.set(id, rec);
    return rec;
  }

  /** `rec` presented again by `from` for `call`: a retry of the same call (counted), or a replay. */
  reuse(rec: PaidRecord, from: Buffer, call: string): Reuse {
    if (!rec.from.equals(from) || rec.call !== call || rec.doubleSpent)
      return 'replay';
    if (rec.retries >= PAID_RETRIES)
      return 'exhausted';
    rec.retries += 1;
    return 'retry';
  }

  /** sat of `from`'s payments for which `pending(id)` holds (still unconfirmed). */
  unconfirmed(from: Buffer, pending: (id: string) => boolean): number {
    let sum = 0;
    for (const rec of this.records.values()) {
      if (!rec.doubleSpent && rec.from.equals(from) && pending(rec.id))
        sum += rec.amount;
    }
    return sum;
  }
}
