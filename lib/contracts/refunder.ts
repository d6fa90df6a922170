/*!
 * refunder.ts - the renter's node takes back escrows the host never closed.
 *
 * At every block (and once at start-up) every escrow of a contract we are
 * the renter of (resolved, or one of our void records whose commitment
 * confirmed) that is still unspent, on chain and in the mempool, is
 * refunded once the tip reaches its refund height (schedule.ts). Derived
 * from the index and the chain each time: a restart misses nothing.
 *
 * Events: 'refund' (id, tx) after a refund went to the mempool.
 */

import { EventEmitter } from 'events';
import type bcoin = require('../bcoin');
import type { EscrowInfo } from './contractqueries';
import { FailureLog } from './failurelog';
import { Mutex } from './mutex';
import { refundFrom } from './schedule';

/** What the refunder needs from the node. */
export interface RefunderContext {
  logger?: bcoin.Logger | null;
  /** Unspent escrows (chain and mempool) of contracts we are the renter of. */
  openEscrows(): Promise<EscrowInfo[]>;
  /** Refund one escrow (plugin.refundEscrow); throws ContractError. */
  refund(escrow: EscrowInfo): Promise<bcoin.TX>;
}

/** Refunds our escrows that are due, at every block. */
export class Refunder extends EventEmitter {
  private readonly ctx: RefunderContext;
  private readonly lock = new Mutex();
  /** A refund that keeps failing (per escrow outpoint) is logged once per reason, not at every block. */
  private readonly failed: FailureLog;

  constructor(ctx: RefunderContext) {
    super();
    this.ctx = ctx;
    this.failed = new FailureLog(ctx.logger);
  }

  /** Refund every escrow due at tip `height`; returns the contract ids (hex). Never throws. */
  async handleBlock(height: number): Promise<string[]> {
    return this.lock.run(async () => {
      const refunded: string[] = [];
      let escrows: EscrowInfo[];
      try {
        escrows = await this.ctx.openEscrows();
      } catch (e) {
        this.ctx.logger?.warning('Refunder: reading our escrows failed: %s', (e as Error).message);
        return refunded;
      }
      const due = new Set<string>();
      for (const e of escrows) {
        const id = e.record.contract.id();
        const outpoint = e.commit.outpointKey(e.record.leaf);
        due.add(outpoint);
        if (height < refundFrom(e.record.contract))
          continue;
        try {
          const tx = await this.ctx.refund(e);
          this.failed.clear(outpoint);
          refunded.push(id);
          this.ctx.logger?.info('Refunded contract %s at height %d: %s.', id, height, tx.txid());
          this.emit('refund', e.record.contract.hash(), tx);
        } catch (err) {
          this.failed.fail(outpoint, `Refunding contract ${id}`, err);
        }
      }
      this.failed.retain(due);
      return refunded;
    });
  }
}
