/*!
 * chainhooks.ts - the extensions' chain hooks, run one at a time.
 *
 * bcoin emits the chain's `connect` and `disconnect` events without
 * waiting for listeners, and a listener that throws reaches the chain. Hooks
 * registered here run in event order, one job per event (every hook of
 * that kind, in registration order), and a failing hook is logged, never
 * thrown into the chain.
 */

import bcoin = require('../bcoin');
import type { ChainHook } from '../base/extension';

/** Serial queue: jobs run in push order, one at a time. */
class HookQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly idleWaiters: Array<() => void> = [];

  push(job: () => Promise<void>): void {
    this.pending += 1;
    this.tail = this.tail.then(job).finally(() => {
      this.pending -= 1;
      if (this.pending === 0) {
        for (const wake of this.idleWaiters.splice(0))
          wake();
      }
    });
  }

  idle(): Promise<void> {
    if (this.pending === 0)
      return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/** Connect and disconnect hooks of every extension, run serially off the chain's events. */
export class ChainHooks {
  private readonly connectHooks: ChainHook[] = [];
  private readonly disconnectHooks: ChainHook[] = [];
  private readonly queue = new HookQueue();
  private readonly logger: bcoin.Logger;

  constructor(chain: bcoin.Chain, logger: bcoin.Logger) {
    this.logger = logger;
    chain.on('connect', (entry: bcoin.ChainEntry, block: bcoin.Block) => {
      this.run(this.connectHooks, 'connect', entry, block);
    });
    chain.on('disconnect', (entry: bcoin.ChainEntry, block: bcoin.Block) => {
      this.run(this.disconnectHooks, 'disconnect', entry, block);
    });
  }

  onConnect(hook: ChainHook): void {
    this.connectHooks.push(hook);
  }

  onDisconnect(hook: ChainHook): void {
    this.disconnectHooks.push(hook);
  }

  /** Resolves once every queued hook has run. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private run(hooks: ChainHook[], kind: string, entry: bcoin.ChainEntry, block: bcoin.Block): void {
    if (hooks.length === 0)
      return;
    this.queue.push(async () => {
      for (const hook of hooks) {
        try {
          await hook(entry, block);
        } catch (err) {
          this.logger.error('Chain %s hook failed at height %d: %s', kind, entry.height,
            err instanceof Error ? err.stack || err.message : String(err));
        }
      }
    });
  }
}
