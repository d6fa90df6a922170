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
import { BlockSweep } from './blocksweep';
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
  /** A refund that keeps failing (per escrow outpoint) is logged once per reason, not at every block. */
  private readonly sweep: BlockSweep<EscrowInfo>;

  constructor(ctx: RefunderContext) {
    super();
    this.ctx = ctx;
    this.sweep = new BlockSweep(ctx.logger, 'Refunder: reading our escrows', () => ctx.openEscrows(), {
      key: (e) => e.commit.outpointKey(e.record.leaf),
      what: (e) => `Refunding contract ${e.record.contract.id()}`,
      act: (e, height) => this.refundIfDue(e, height)
    });
  }

  /** Refund every escrow due at tip `height`; returns the contract ids (hex). Never throws. */
  handleBlock(height: number): Promise<string[]> {
    return this.sweep.run(height);
  }

  private async refundIfDue(e: EscrowInfo, height: number): Promise<string | null> {
    if (height < refundFrom(e.record.contract))
      return null;
    const id = e.record.contract.id();
    const tx = await this.ctx.refund(e);
    this.ctx.logger?.info('Refunded contract %s at height %d: %s.', id, height, tx.txid());
    this.emit('refund', e.record.contract.hash(), tx);
    return id;
  }
}
