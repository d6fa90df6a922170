/*!
 * closer.ts - the host's node closes its contracts on its own.
 *
 * At every block (and once at start-up) it walks the channel store: a
 * contract whose escrow is still unspent, on chain and in the mempool, is
 * closed with its latest state once the tip reaches the height schedule.ts
 * derives from the contract, that state and the chain. Nothing is kept in
 * memory between blocks but which failures were already logged, so a
 * restart or a crash never loses a close: the next block (or the start)
 * finds the contract due and closes it. A contract with no state is left
 * to the renter's refund.
 *
 * Events: 'close' (id, tx, amounts) after a close went to the mempool.
 */

import { EventEmitter } from 'events';
import type bcoin = require('../bcoin');
import type { CloseAmounts } from './channel';
import type { StoredState } from './channelstore';
import type { ContractParams } from './common';
import { BlockSweep } from './blocksweep';
import { autoCloseHeight } from './schedule';
import type { StorageContract } from './storagecontract';

/** What the closer needs from the node. */
export interface CloserContext {
  params: ContractParams;
  logger?: bcoin.Logger | null;
  /** Every stored channel state. */
  states(): Promise<StoredState[]>;
  /** A contract by id and whether its escrow is unspent (chain and mempool); null if not indexed. */
  escrowOpen(id: Buffer): Promise<{ contract: StorageContract; open: boolean } | null>;
  /** Close with the latest state (plugin.closeContract); throws ContractError. */
  close(id: Buffer): Promise<{ tx: bcoin.TX; amounts: CloseAmounts }>;
}

/** Closes contracts that are due, at every block. */
export class Closer extends EventEmitter {
  private readonly ctx: CloserContext;
  /** A close that keeps failing is logged once per reason, not at every block. */
  private readonly sweep: BlockSweep<StoredState>;

  constructor(ctx: CloserContext) {
    super();
    this.ctx = ctx;
    this.sweep = new BlockSweep(ctx.logger, 'Closer: reading channel states', () => ctx.states(), {
      key: (stored) => stored.state.contractId.toString('hex'),
      what: (stored) => `Closing contract ${stored.state.contractId.toString('hex')}`,
      act: (stored, height) => this.closeIfDue(stored, height)
    });
  }

  /** Close every contract due at tip `height`; returns their ids (hex). Never throws. */
  handleBlock(height: number): Promise<string[]> {
    return this.sweep.run(height);
  }

  private async closeIfDue(stored: StoredState, height: number): Promise<string | null | false> {
    const id = stored.state.contractId;
    const hex = id.toString('hex');
    const escrow = await this.ctx.escrowOpen(id);
    if (!escrow || !escrow.open)
      return false;
    if (height < autoCloseHeight(escrow.contract, stored.final, this.ctx.params))
      return null;
    const { tx, amounts } = await this.ctx.close(id);
    this.ctx.logger?.info('Closed contract %s at height %d: %s (host %d sat, renter %d sat, fee %d sat).',
      hex, height, tx.txid(), amounts.host, amounts.renter, amounts.fee);
    this.emit('close', id, tx, amounts);
    return hex;
  }
}
