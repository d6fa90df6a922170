/*!
 * blocksweep.ts - the shape the closer and the refunder share: at every
 * block (and once at start-up), walk what is stored (channel states, our
 * escrows), act on each item that is due, and log a failure that recurs
 * at every block once per reason (failurelog.ts). Runs never overlap;
 * nothing but the failure log is kept between blocks, so a restart or a
 * crash misses nothing.
 */

import type bcoin = require('../bcoin');
import { FailureLog } from './failurelog';
import { Mutex } from './mutex';

/** What a sweep does with one stored item. */
export interface SweepStep<T> {
  /** The item's key in the failure log (a contract id, an escrow outpoint). */
  key(item: T): string;
  /** What is being done, for a failure's log line ("Closing contract ID"). */
  what(item: T): string;
  /**
   * Act on `item` at tip `height` if it is due: the id acted on; null when
   * it is not due yet; false when it is gone for good (its failures are
   * forgotten). Throws when acting failed (logged, tried again next block).
   */
  act(item: T, height: number): Promise<string | null | false>;
}

/** A per-block scan over stored items with failures logged once. */
export class BlockSweep<T> {
  private readonly logger: bcoin.Logger | null | undefined;
  /** What reading the items is called in a log line ("Closer: reading channel states"). */
  private readonly reading: string;
  private readonly list: () => Promise<T[]>;
  private readonly step: SweepStep<T>;
  private readonly lock = new Mutex();
  private readonly failed: FailureLog;

  constructor(logger: bcoin.Logger | null | undefined, reading: string, list: () => Promise<T[]>, step: SweepStep<T>) {
    this.logger = logger;
    this.reading = reading;
    this.list = list;
    this.step = step;
    this.failed = new FailureLog(logger);
  }

  /** Act on every item due at tip `height`; returns the ids acted on. Never throws. */
  run(height: number): Promise<string[]> {
    return this.lock.run(async () => {
      const done: string[] = [];
      let items: T[];
      try {
        items = await this.list();
      } catch (e) {
        this.logger?.warning('%s failed: %s', this.reading, (e as Error).message);
        return done;
      }
      const keep = new Set<string>();
      for (const item of items) {
        const key = this.step.key(item);
        try {
          const id = await this.step.act(item, height);
          if (id === false)
            continue;
          keep.add(key);
          if (id === null)
            continue;
          this.failed.clear(key);
          done.push(id);
        } catch (e) {
          keep.add(key);
          this.failed.fail(key, this.step.what(item), e);
        }
      }
      this.failed.retain(keep);
      return done;
    });
  }
}
