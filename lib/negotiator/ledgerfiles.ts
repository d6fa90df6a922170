/*!
 * ledgerfiles.ts - the negotiator's payment ledgers kept on disk.
 *
 * Deferred tabs (tabs.ts: what clients owe this server, what this node
 * owes servers) and the payments this node took as a server (paidstore.ts)
 * are read back at open and written as they change, so a restart or a
 * crash forgets no debt and no taken payment (PROTOCOL 2.5).
 */

import type { LoggerLike } from './options';
import type { PaymentHooks } from './payment';
import type { Requester } from './requester';
import type { Server } from './server';
import { TabStore, Tabs } from './tabs';
import { PaidStore } from './paidstore';

export class LedgerFiles {
  private tabs: TabStore | null = null;
  private paid: PaidStore | null = null;

  constructor(private readonly server: Server, private readonly requester: Requester,
    private readonly logger: LoggerLike) {}

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
    // before the answer that took it leaves, so a crash forgets none.
    paid.onChange = () => {
      store.changed();
      store.flush();
    };
    this.paid = store;
    if (saved.length > 0)
      this.logger.info('negotiator: %d payments taken read back', saved.length);
  }

  /**
   * Put the payments taken before a restart that were unconfirmed back
   * into the mempool (PaymentHooks#restore), so a double spend of one is
   * reported as before; one found double spent already goes to
   * `doubleSpent` (charged back), one found confirmed is dated at
   * `height`, the tip (forgotten no earlier than its own block would have it).
   */
  async restorePayments(hooks: PaymentHooks, doubleSpent: (id: string) => boolean, height: number): Promise<void> {
    if (!hooks.restore)
      return;
    const counts: Record<string, number> = {};
    for (const rec of this.server.paid.entries()) {
      if (rec.doubleSpent || rec.height > 0 || !rec.data)
        continue;
      const outcome = await hooks.restore(rec.data);
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      if (outcome === 'double-spent')
        doubleSpent(rec.id);
      else if (outcome === 'confirmed')
        this.server.paid.connected([rec.id], height);
    }
    if (Object.keys(counts).length > 0)
      this.logger.info('negotiator: unconfirmed payments taken put back: %j', counts);
  }

  /** Write whatever changed since the last write (at close). */
  flush(): void {
    this.tabs?.flush();
    this.paid?.flush();
  }
}
