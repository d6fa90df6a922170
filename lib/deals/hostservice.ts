/*!
 * hostservice.ts - the `storage` service a host offers over csreq.
 *
 * Methods, in deal order (DESIGN 5, "upload first, then money"):
 *   quote, offer, propose     -> hostformation.ts
 *   revise, receipt, revision, latest -> hostrevisions.ts
 *   token, pay                -> hostpayments.ts
 * This file composes them into the service and keeps the chain
 * housekeeping: escrows seen funded in blocks, contracts dropped once
 * their commitment never came or their refund height passed.
 */

import bcoin = require('../bcoin');
import type { StorageContract } from '../contracts/storagecontract';
import { getParams as getContractParams } from '../contracts/common';
import type { RequestContext, Service } from '../negotiator/services';
import { SERVICE_NAME, SERVICE_VERSION, getDealParams } from './common';
import { HostCore, type HostContext, type HostTerms } from './hostcommon';
import { HostFormation } from './hostformation';
import { HostRevisions } from './hostrevisions';
import { HostPayments } from './hostpayments';

export type { HostContext, HostTerms } from './hostcommon';
export { NON_PAYMENT_INTERVALS } from './hostpayments';

/** A countersigned contract whose escrow is awaited on chain. */
interface Watched {
  id: Buffer;
  expiryHeight: number;
}

/** A contract maintain() deleted, and why. */
export interface Dropped {
  contract: StorageContract;
  /** Past its refund height; false: its commitment never came in time. */
  ended: boolean;
}

/** How an escrow output is recognised: its script and exact value. */
function watchKey(c: StorageContract): string {
  return c.escrowOutputScript().toRaw().toString('hex') + ':' + c.escrowValue;
}

/** OP_RETURN carrying a CloudCoin commit (43 43, version 0, type 1). */
function isCommitScript(script: bcoin.Script): boolean {
  if (!script.isNulldata())
    return false;
  const data = script.getNulldata();
  return data !== null && data.length >= 4 && data[0] === 0x43 && data[1] === 0x43 && data[2] === 0 && data[3] === 1;
}

export class HostService {
  readonly ctx: HostContext;
  terms: HostTerms;
  private readonly core: HostCore;
  private readonly formation: HostFormation;
  private readonly revisions: HostRevisions;
  private readonly payments: HostPayments;
  /** Escrows awaited on chain (see unfunded()); null = load from the store. */
  private watch: Map<string, Watched> | null = null;

  constructor(ctx: HostContext, terms: HostTerms) {
    this.ctx = ctx;
    this.terms = terms;
    this.core = new HostCore(ctx);
    this.formation = new HostFormation(this.core, () => this.terms, (c) => {
      this.watch?.set(watchKey(c), { id: c.hash(), expiryHeight: c.expiryHeight });
    });
    this.revisions = new HostRevisions(this.core, () => this.formation.freeCapacity());
    this.payments = new HostPayments(this.core);
  }

  /** Bytes promised to open offers. */
  reservedByOffers(): number {
    return this.formation.reservedByOffers();
  }

  /** Free bytes: capacity minus registered contracts minus open offers. */
  freeCapacity(): Promise<number> {
    return this.formation.freeCapacity();
  }

  /** Reservations for getstorageinfo. */
  openOffers(): number {
    return this.formation.openOffers();
  }

  /** The service definition for Negotiator#registerService. */
  service(): Service {
    return {
      name: SERVICE_NAME,
      version: SERVICE_VERSION,
      methods: {
        quote: { description: 'prices and limits now', handler: (a, c) => this.quote(a, c) },
        offer: { description: 'signed offer at a bid, reserving capacity', handler: (a, c) => this.offer(a, c) },
        propose: { description: 'countersign a renter-signed contract and its revision 0', handler: (a, c) => this.propose(a, c) },
        revise: { description: 'accept revision n+1 of a contract', handler: (a, c) => this.revise(a, c) },
        receipt: { description: 'countersign a revision once its upload is complete', handler: (a, c) => this.receipt(a, c) },
        revision: { description: 'the latest revision both signed', handler: (a, c) => this.revision(a, c) },
        latest: { description: 'revisions, objects and the latest channel state, for a renter taking the contract over',
          handler: (a, c) => this.revisions.latest(a, c) },
        token: { description: 'sealed download token for one object', handler: (a, c) => this.token(a, c) },
        pay: { description: 'a renter-signed channel state paying for audited intervals', handler: (a, c) => this.pay(a, c) }
      }
    };
  }

  quote(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.formation.quote(args, ctx);
  }

  offer(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.formation.offer(args, ctx);
  }

  propose(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.formation.propose(args, ctx);
  }

  revise(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.revisions.revise(args, ctx);
  }

  receipt(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.revisions.receipt(args, ctx);
  }

  revision(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.revisions.revision(args, ctx);
  }

  token(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.payments.token(args, ctx);
  }

  pay(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    return this.payments.pay(args, ctx);
  }

  /** Note what recent audit tokens' reads served (hostpayments.ts), at every block. */
  observeAuditReads(height: number): Promise<void> {
    return this.payments.observeAuditReads(height);
  }

  /** Close contract `id` for non-payment with `close`; no state is stored for it from then on (hostpayments.ts). */
  closeForNonPayment<T>(id: Buffer, close: () => Promise<T>): Promise<T> {
    return this.payments.closeWith(id, close);
  }

  /** Contracts whose renter stopped paying at `height` (hostpayments.ts). */
  nonPaying(height: number): Promise<StorageContract[]> {
    return this.payments.nonPaying(height);
  }

  /**
   * Forget contracts whose commitment never came (DESIGN 5: pending data
   * is deleted at offer expiry) or whose refund height has passed, and
   * purge what the backend holds past its expiry, so capacity returns.
   * Called from the chain hook at every block with that block's height:
   * hooks run in order, so every block up to `height` has been scanned.
   * Everything is derived from the store, so a host down at the offer's
   * end collects at its first block after a restart. `mempool` gives
   * the `script:value` keys of escrow outputs of commitments in the
   * mempool (asked at most once, and only when a contract needs it).
   * Returns the contracts dropped (`ended`: past the refund height; else
   * never committed).
   */
  async maintain(height: number, mempool: () => ReadonlySet<string> = () => new Set()): Promise<Dropped[]> {
    const window = getContractParams(this.ctx.network).window;
    let pooled: ReadonlySet<string> | null = null;
    const inMempool = (c: StorageContract) => (pooled ??= mempool()).has(watchKey(c));
    const backend = this.core.mustBackend();
    const dropped: Dropped[] = [];
    for (const c of await this.ctx.store.listHosted()) {
      const id = c.hash();
      // Past the refund height the contract is over either way: the data
      // and the record go.
      const over = c.refundHeight < height;
      if (await this.ctx.store.droppedAt(id) !== null) {
        // Dropped for non-payment: its data is gone; the record goes at the refund height.
        if (over)
          await this.ctx.store.deleteHosted(id);
        continue;
      }
      if (!over && (height <= c.expiryHeight || await this.core.isCommitted(id) || await this.mayReturn(c, height, window, inMempool))) {
        await this.revisions.dropStale(c, height);
        continue;
      }
      try {
        await backend.unregister(id.toString('hex'));
      } catch {
        continue; // busy (a part being written): next time
      }
      await this.ctx.store.deleteHosted(id);
      this.watch?.delete(watchKey(c));
      dropped.push({ contract: c, ended: over });
    }
    await backend.purge();
    return dropped;
  }

  /**
   * Past its offer and not committed now, may a contract's commitment
   * still come back? Only one seen once (in a block since disconnected,
   * or in the mempool): a reorg of up to W blocks may confirm it again at
   * or below its offer expiry, so its data is kept W blocks past the
   * offer. A commitment never seen cannot confirm in time any more short
   * of a reorg replacing blocks the host already holds with ones it never
   * saw; its data goes at the first block past the offer.
   */
  private async mayReturn(c: StorageContract, height: number, window: number,
    inMempool: (c: StorageContract) => boolean): Promise<boolean> {
    if (c.expiryHeight + window < height)
      return false;
    return await this.ctx.store.wasFunded(c.hash()) || inMempool(c);
  }

  /** `script:value` of a tx's escrow-looking outputs if it carries a CloudCoin commit, else none. */
  static escrowKeys(tx: bcoin.TX): string[] {
    if (!tx.outputs.some((o) => isCommitScript(o.script)))
      return [];
    return tx.outputs.filter((o) => o.script.isWitnessScripthash()).map((o) => o.script.toRaw().toString('hex') + ':' + o.value);
  }

  /**
   * Watch a connected block for the escrow outputs of contracts we
   * countersigned: we may never get the renter's record (it is relayed
   * by peers), but the funded escrow on chain is proof enough to keep the
   * data; returns the ids seen so the caller can fetch their records.
   */
  async scanBlock(block: bcoin.Block, height: number): Promise<Buffer[]> {
    this.formation.resetPayers();
    const pending = await this.unfunded();
    for (const [key, w] of pending) {
      // [IGNORE] a commit after the offer expired voids the contract
      if (w.expiryHeight < height)
        pending.delete(key);
    }
    if (pending.size === 0)
      return [];
    const seen: Buffer[] = [];
    for (const tx of block.txs) {
      // Only a commitment (a tx with a CloudCoin commit OP_RETURN) funds a
      // contract; a payment that happens to reuse the script does not.
      if (!tx.outputs.some((o) => isCommitScript(o.script)))
        continue;
      for (const out of tx.outputs) {
        if (!out.script.isWitnessScripthash())
          continue;
        const key = out.script.toRaw().toString('hex') + ':' + out.value;
        const w = pending.get(key);
        if (w) {
          await this.ctx.store.markFunded(w.id, height);
          pending.delete(key);
          seen.push(w.id);
        }
      }
    }
    return seen;
  }

  /**
   * Scan again, at start, the blocks up to `tip` that may fund an escrow
   * still awaited (from the earliest such offer on): a crash between
   * bcoin storing a block and the chain hook scanning it would lose that
   * block's funded marks, and maintain() would take a committed contract
   * for one never committed. scanBlock is idempotent. Returns the ids
   * seen funded.
   */
  async rescan(tip: number, getBlock: (height: number) => Promise<bcoin.Block | null>): Promise<Buffer[]> {
    const awaited = [...(await this.unfunded()).values()].map((w) => w.expiryHeight);
    if (awaited.length === 0)
      return [];
    const from = Math.max(1, Math.min(...awaited) - getDealParams(this.ctx.network).offerWindow);
    const to = Math.min(tip, Math.max(...awaited));
    const seen: Buffer[] = [];
    for (let height = from; height <= to; height++) {
      const block = await getBlock(height);
      if (block)
        seen.push(...await this.scanBlock(block, height));
    }
    return seen;
  }

  /** Forget escrows seen funded in a block that was disconnected. */
  async unscanBlock(height: number): Promise<void> {
    await this.ctx.store.unmarkFundedAt(height);
    this.watch = null; // rebuilt from the store on the next block
    this.formation.resetPayers();
  }

  /**
   * Escrow outputs still awaited, by `script:value`: loaded from the store
   * once, then kept in step, so a block costs O(awaited), not O(hosted).
   */
  private async unfunded(): Promise<Map<string, Watched>> {
    if (!this.watch) {
      const watch = new Map<string, Watched>();
      for (const c of await this.ctx.store.listHosted()) {
        const id = c.hash();
        if (!await this.ctx.store.isFunded(id))
          watch.set(watchKey(c), { id, expiryHeight: c.expiryHeight });
      }
      this.watch = watch;
    }
    return this.watch;
  }
}
