/*!
 * mutex.ts - a minimal async mutex: one critical section at a time, FIFO.
 */

/** Serializes async critical sections in call order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Run `fn` after every section queued before it has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
