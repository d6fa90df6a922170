/*!
 * ledgerfiles.ts - the negotiator's payment ledgers kept on disk.
 *
 * Deferred tabs (tabs.ts: what clients owe this server, what this node
 * owes servers) and the payments this node took as a server (paidstore.ts)
 * are read back at open and written as they change, so a restart or a
 * crash forgets no debt and no taken payment (PROTOCOL 2.5). The payments
 * follow the chain: put back into the mempool at start and when a reorg
 * takes them out of a block, and found double spent by a block tx that
 * spends one of their inputs even when the mempool did not hold them. A
 * spender that is the same payment under other input scripts (a
 * malleated copy, paymentkey.ts: anyone relaying a legacy tx can make
 * one) paid as the payment did: the record follows it (Server#paid
 * rekey), confirmed when it confirms, and nothing is charged back.
 */

import type { LoggerLike } from './options';
import type { PaymentHooks, RestoredPayment } from './payment';
import type { Requester } from './requester';
import type { Server } from './server';
import { TabStore, Tabs } from './tabs';
import { PaidStore } from './paidstore';
import type { PaidRecord } from './paidtx';

/** A payment double spent (`id`, txid RPC order), how it was found: charge it back; false if it was already. */
export type ChargeBack = (id: string, how: string) => boolean;

/** One tx of a connected block: its txid and the outputs it spends ("txid:index", RPC order). */
export interface BlockTX {
  id: string;
  spends: string[];
  /** Its raw bytes, read only for a tx that spends a payment's input. */
  data?: () => Buffer;
}

export class LedgerFiles {
  private tabs: TabStore | null = null;
  private paid: PaidStore | null = null;

  constructor(private readonly server: Server, private readonly requester: Requester,
    private readonly logger: LoggerLike, private readonly chargeBack: ChargeBack) {}

  /** Read the deferred tabs back from `file` and keep it in step with them (tabs.ts). */
  openTabs(file: string): void {
    const store = new TabStore(file, () => {
      const tabs = new Tabs();
      tabs.server = this.server.credits.entries();
      tabs.client = this.requester.debtEntries();
      return tabs;
    }, this.logger);
    const saved = store.load();
    this.server.credits.load(saved.server);
    this.requester.loadDebts(saved.client);
    this.server.credits.onChange = () => store.changed();
    this.requester.onChange = () => store.changed();
    this.tabs = store;
    if (saved.server.length + saved.client.length > 0)
      this.logger.info('negotiator: deferred tabs read back: %d clients owe us, we owe %d servers', saved.server.length, saved.client.length);
  }

  /** Read the payments taken as a server back from `file` and keep it in step (paidstore.ts). */
  openPaid(file: string): void {
    const paid = this.server.paid;
    const store = new PaidStore(file, () => paid.entries(), this.logger);
    const saved = store.load();
    paid.load(saved);
    // Written at once, not at the end of the turn: a payment is on disk
    // before the answer that took it leaves, so a crash forgets none; with
    // it the tabs changed in the same step (a debt it paid down, a
    // double spend charged back), which would else wait for the turn's end.
    paid.onChange = () => {
      store.changed();
      store.flush();
      this.tabs?.flush();
    };
    paid.onForget = (count, cap) => this.logger.warning('negotiator: %d oldest payments taken forgotten: past %s', count,
      cap === 'records' ? 'MAX_PAID_RECORDS (4 096 records)' : 'MAX_PAID_FILE_BYTES (2 MiB of cspaid.dat)');
    this.paid = store;
    if (saved.length > 0)
      this.logger.info('negotiator: %d payments taken read back', saved.length);
  }

  /**
   * Put the payments taken before a restart that were unconfirmed back
   * into the mempool (PaymentHooks#restore), so a double spend of one is
   * reported as before; one found double spent already (by a mempool tx,
   * or by a tx in the chain: a conflict mined while we were down) is
   * charged back, one found confirmed is dated at `height`, the tip
   * (forgotten no earlier than its own block would have it).
   */
  async restorePayments(hooks: PaymentHooks, height: number): Promise<void> {
    const counts = await this.putBack(hooks, this.server.paid.unconfirmedRecords(), 'at start', (id) => {
      this.server.paid.connected([id], height);
    });
    if (counts)
      this.logger.info('negotiator: unconfirmed payments taken put back: %j', counts);
  }

  /**
   * The block at `height` was disconnected: its payments are unconfirmed
   * again and go back into the mempool (bcoin puts a disconnected block's
   * txs back only when its mempool is not empty). This runs behind the
   * chain (chain hooks), so it sees the reorg's new chain: one a new block
   * holds is dated by that block's connect, one whose inputs the new chain
   * spent is charged back (unless that spender is a malleated copy).
   */
  async paymentsDisconnected(hooks: PaymentHooks, height: number): Promise<void> {
    const back = this.server.paid.disconnected(height).filter((rec) => !rec.doubleSpent && rec.data !== null);
    const counts = await this.putBack(hooks, back, `after block ${height} was disconnected`, () => {});
    if (counts)
      this.logger.info('negotiator: payments taken of disconnected block %d put back: %j', height, counts);
  }

  /**
   * A block at `height` holding `txs` was connected: a payment still
   * unconfirmed whose input one of them spends was double spent (found
   * here even when the mempool no longer held it, e.g. an orphan after a
   * restart), unless it is a malleated copy of the payment: then the
   * record follows it; those it holds are confirmed, and the deep ones forgotten.
   */
  paymentsConnected(hooks: PaymentHooks, txs: BlockTX[], height: number): void {
    const paid = this.server.paid;
    if (hooks.spends) {
      const ids = new Set(txs.map((tx) => tx.id));
      const spent = new Map<string, BlockTX>();
      for (const tx of txs) {
        for (const outpoint of tx.spends)
          spent.set(outpoint, tx);
      }
      for (const rec of paid.unconfirmedRecords()) {
        if (ids.has(rec.id) || !rec.data)
          continue;
        const by = hooks.spends(rec.data).map((outpoint) => spent.get(outpoint)).find((tx) => tx !== undefined);
        if (!by)
          continue;
        const data = by.data?.();
        if (data && this.followCopy(hooks, rec, by.id, data, `in block ${height}`))
          continue;
        this.chargeBack(rec.id, `tx ${by.id} of block ${height} spends its input`);
      }
    }
    paid.connected(txs.map((tx) => tx.id), height);
  }

  /**
   * Is `data` (txid `id`), which spends an input of `rec`'s payment, the
   * same payment under other input scripts (PaymentHooks#samePayment)?
   * Then it paid as `rec` did, and the record follows it (`where` it was
   * found, for the log): no double spend.
   */
  private followCopy(hooks: PaymentHooks, rec: PaidRecord, id: string, data: Buffer, where: string): boolean {
    if (!rec.data || !hooks.samePayment?.(rec.data, data))
      return false;
    this.logger.info('negotiator: payment %s of %d sat is now tx %s %s (the same payment, its input scripts changed: malleated, not double spent)',
      rec.id, rec.amount, id, where);
    this.server.paid.rekey(rec, id, data);
    return true;
  }

  /**
   * Restore each record's tx; charge back the double spent (a malleated
   * copy holding its inputs instead: the record follows it, pending or
   * confirmed as the copy is), call `confirmed` for the confirmed; counts
   * by outcome (null: none).
   */
  private async putBack(hooks: PaymentHooks, recs: PaidRecord[], when: string,
    confirmed: (id: string) => void): Promise<Partial<Record<RestoredPayment, number>> | null> {
    if (!hooks.restore || recs.length === 0)
      return null;
    const counts: Partial<Record<RestoredPayment, number>> = {};
    for (const rec of recs) {
      if (!rec.data)
        continue;
      let outcome = await hooks.restore(rec.data);
      if (outcome === 'double-spent') {
        const by = await hooks.spender?.(rec.data) ?? null;
        const id = by ? hooks.id?.(by.data) ?? null : null;
        if (by && id && this.followCopy(hooks, rec, id, by.data, `${by.confirmed ? 'in the chain' : 'in the mempool'} (found ${when})`))
          outcome = by.confirmed ? 'confirmed' : 'pending';
      }
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      if (outcome === 'double-spent')
        this.chargeBack(rec.id, `its inputs were spent by another tx (found ${when})`);
      else if (outcome === 'confirmed')
        confirmed(rec.id);
    }
    return Object.keys(counts).length > 0 ? counts : null;
  }

  /** Resolves once what changed so far is on disk (a call's answer waits for it: its tab charged or refunded). */
  async written(): Promise<void> {
    await Promise.all([this.tabs?.written(), this.paid?.written()]);
  }

  /** Write whatever changed since the last write (at close). */
  flush(): void {
    this.tabs?.flush();
    this.paid?.flush();
  }
}
