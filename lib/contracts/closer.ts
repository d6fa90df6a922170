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
import { FailureLog } from './failurelog';
import { Mutex } from './mutex';
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
  private readonly lock = new Mutex();
  /** A close that keeps failing is logged once per reason, not at every block. */
  private readonly failed: FailureLog;

  constructor(ctx: CloserContext) {
    super();
    this.ctx = ctx;
    this.failed = new FailureLog(ctx.logger);
  }

  /** Close every contract due at tip `height`; returns their ids (hex). Never throws. */
  async handleBlock(height: number): Promise<string[]> {
    return this.lock.run(async () => {
      const closed: string[] = [];
      let states: StoredState[];
      try {
        states = await this.ctx.states();
      } catch (e) {
        this.ctx.logger?.warning('Closer: reading channel states failed: %s', (e as Error).message);
        return closed;
      }
      for (const stored of states) {
        const id = stored.state.contractId;
        const hex = id.toString('hex');
        try {
          const escrow = await this.ctx.escrowOpen(id);
          if (!escrow || !escrow.open) {
            this.failed.clear(hex);
            continue;
          }
          if (height < autoCloseHeight(escrow.contract, stored.final, this.ctx.params))
            continue;
          const { tx, amounts } = await this.ctx.close(id);
          this.failed.clear(hex);
          closed.push(hex);
          this.ctx.logger?.info('Closed contract %s at height %d: %s (host %d sat, renter %d sat, fee %d sat).',
            hex, height, tx.txid(), amounts.host, amounts.renter, amounts.fee);
          this.emit('close', id, tx, amounts);
        } catch (e) {
          this.failed.fail(hex, `Closing contract ${hex}`, e);
        }
      }
      return closed;
    });
  }
}
