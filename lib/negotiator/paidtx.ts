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
 * Bounded: the oldest records past MAX_PAID_RECORDS, or past
 * MAX_PAID_FILE_BYTES of file, are forgotten (`onForget` says so), and a
 * record is forgotten once its tx is PAID_KEEP_DEPTH blocks deep (`prune`).
 * Each record keeps its raw tx until then (unless double spent), so a
 * payment a reorg takes out of the chain, even across a restart, can be
 * put back into the mempool; a record follows a malleated copy of its tx
 * (`rekey`, ledgerfiles.ts). The records are kept on disk (paidstore.ts,
 * `cspaid.dat`): `onChange` is called after every change.
 */

import { createHash } from 'crypto';
import { BoundedMap } from './boundedmap';
import { MAX_PAID_FILE_BYTES, MAX_PAID_RECORDS, PAID_KEEP_DEPTH, PAID_RETRIES } from './common';
import { paidFileSize, paidRecordSize } from './paidstore';

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
  /** Height of the block that holds the tx; 0 while unconfirmed. */
  height: number;
  /**
   * The raw tx until the record is forgotten (put back into the mempool
   * after a restart or a reorg); null once double spent, or when none was kept.
   */
  data: Buffer | null;
}

/** What presenting a known payment again amounts to. */
export type Reuse = 'retry' | 'replay' | 'exhausted';

/** sha256 of the call's service, method and args: a retry must be the same call. */
export function callKey(service: string, method: string, args: Buffer): string {
  return createHash('sha256').update(`${service}\0${method}\0`).update(args).digest('hex');
}

export class PaidTXs {
  private readonly records = new BoundedMap<string, PaidRecord>(MAX_PAID_RECORDS);
  /** Called after every change (the file store, paidstore.ts). */
  onChange: (() => void) | null = null;
  /** Called when records are forgotten for a cap (`count`, which cap), not for depth. */
  onForget: ((count: number, cap: 'records' | 'bytes') => void) | null = null;

  get size(): number {
    return this.records.size;
  }

  get(id: string): PaidRecord | null {
    return this.records.get(id) ?? null;
  }

  /** A payment taken: `data` is the raw tx (null when the hooks have no tx to keep). */
  add(id: string, from: Buffer, call: string, amount: number, data: Buffer | null = null): PaidRecord {
    const rec: PaidRecord = { id, from, call, amount, retries: 0, doubleSpent: false, height: 0, data };
    if (!this.records.has(id) && this.records.size >= MAX_PAID_RECORDS)
      this.onForget?.(1, 'records');
    this.records.set(id, rec);
    this.trim();
    this.changed();
    return rec;
  }

  /**
   * Forget the oldest records while the file would pass
   * MAX_PAID_FILE_BYTES (never the newest). Returns how many.
   */
  private trim(): number {
    let size = paidFileSize(this.records.values());
    let n = 0;
    while (size > MAX_PAID_FILE_BYTES && this.records.size > 1) {
      const oldest = this.records.values().next().value as PaidRecord;
      // (n's varint may shrink too: the size stays an upper bound)
      size -= paidRecordSize(oldest);
      this.records.delete(oldest.id);
      n++;
    }
    if (n > 0)
      this.onForget?.(n, 'bytes');
    return n;
  }

  /** Every record, oldest first. */
  entries(): PaidRecord[] {
    return [...this.records.values()];
  }

  /**
   * Records read back from disk (oldest first), replacing none of those
   * held; the oldest are forgotten past the caps (a file an older version
   * wrote may hold more bytes).
   */
  load(recs: PaidRecord[]): void {
    for (const rec of recs) {
      if (!this.records.has(rec.id))
        this.records.set(rec.id, rec);
    }
    if (this.trim() > 0)
      this.changed();
  }

  /** Mark `rec` double spent (charged back); false when it was already. */
  markDoubleSpent(rec: PaidRecord): boolean {
    if (rec.doubleSpent)
      return false;
    rec.doubleSpent = true;
    rec.data = null;
    this.changed();
    return true;
  }

  /**
   * `rec`'s payment now stands as the tx `id` with raw bytes `data`: a
   * malleated copy of it (paymentkey.ts) that the chain or the mempool
   * holds instead. Keyed by that txid from now on, so its block confirms
   * the record and a reorg puts that tx back.
   */
  rekey(rec: PaidRecord, id: string, data: Buffer): void {
    if (this.records.get(rec.id) === rec)
      this.records.delete(rec.id);
    rec.id = id;
    rec.data = data;
    this.records.set(id, rec);
    this.changed();
  }

  /**
   * A block at `height` was connected holding the txs `ids` (RPC order):
   * those of ours are confirmed there (their raw tx is kept: a reorg may
   * take them out again); records PAID_KEEP_DEPTH blocks deep are forgotten.
   */
  connected(ids: Iterable<string>, height: number): void {
    let changed = false;
    for (const id of ids) {
      const rec = this.records.get(id);
      if (rec && rec.height === 0) {
        rec.height = height;
        changed = true;
      }
    }
    if (this.prune(height) > 0 || changed)
      this.changed();
  }

  /**
   * The block at `height` was disconnected (a reorg): its payments are
   * unconfirmed again. Returns them: their raw tx goes back into the
   * mempool (ledgerfiles.ts), as bcoin does not when its mempool is empty.
   */
  disconnected(height: number): PaidRecord[] {
    const back: PaidRecord[] = [];
    for (const rec of this.records.values()) {
      if (rec.height >= height) {
        rec.height = 0;
        back.push(rec);
      }
    }
    if (back.length > 0)
      this.changed();
    return back;
  }

  /** Payments still unconfirmed, not double spent, whose raw tx is kept. */
  unconfirmedRecords(): PaidRecord[] {
    return [...this.records.values()].filter((rec) => rec.height === 0 && !rec.doubleSpent && rec.data !== null);
  }

  /**
   * Forget the payments confirmed at least PAID_KEEP_DEPTH blocks below
   * `tip`: past the reorg depth this server guards against, no double
   * spend can charge them back. Returns how many were forgotten.
   */
  prune(tip: number): number {
    let n = 0;
    for (const rec of [...this.records.values()]) {
      if (rec.height > 0 && tip - rec.height >= PAID_KEEP_DEPTH) {
        this.records.delete(rec.id);
        n++;
      }
    }
    return n;
  }

  private changed(): void {
    this.onChange?.();
  }

  /** `rec` presented again by `from` for `call`: a retry of the same call (counted), or a replay. */
  reuse(rec: PaidRecord, from: Buffer, call: string): Reuse {
    if (!rec.from.equals(from) || rec.call !== call || rec.doubleSpent)
      return 'replay';
    if (rec.retries >= PAID_RETRIES)
      return 'exhausted';
    rec.retries += 1;
    this.changed();
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
