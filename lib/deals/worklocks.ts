/*!
 * worklocks.ts - one piece of background work per file and per contract
 * at a time. Automatic repair (autorepair.ts) and automatic renewal
 * (autorenew.ts) run on their own after each block and may reach for the
 * same file at once: a vanished host's contract is both a lost copy to
 * repair and a contract to move off at renewal. Each takes the locks of
 * what it changes (a repair: the file; a renewal or move: the contract
 * and every file it holds) and looks at the file again once it holds
 * them, so the second one finds the work done instead of doing it twice
 * (two new copies, the budget spent twice).
 */

import { Mutex } from '../contracts/mutex';

/** The lock key of a file (hex id). */
export function fileKey(fileId: string): string {
  return `file:${fileId}`;
}

/** The lock key of a contract (hex id). */
export function contractKey(id: string): string {
  return `contract:${id}`;
}

/** Keyed async locks; several keys are taken in sorted order, so two holders never wait on each other. */
export class WorkLocks {
  private readonly locks = new Map<string, { mutex: Mutex; users: number }>();

  /** Run `fn` holding every lock in `keys` (FIFO per key). */
  run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const nest = (i: number): Promise<T> => (i === sorted.length ? fn() : this.one(sorted[i], () => nest(i + 1)));
    return nest(0);
  }

  /** Keys held or waited for now (a lock is dropped once nobody holds or waits for it). */
  held(): string[] {
    return [...this.locks.keys()];
  }

  /** How many wait for `key` behind its holder now (0 when it is free or only held). */
  waiting(key: string): number {
    return Math.max(0, (this.locks.get(key)?.users ?? 0) - 1);
  }

  private async one<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let entry = this.locks.get(key);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.locks.set(key, entry);
    }
    entry.users += 1;
    try {
      return await entry.mutex.run(fn);
    } finally {
      entry.users -= 1;
      if (entry.users === 0)
        this.locks.delete(key);
    }
  }
}
