// Waiting helpers for tests: every wait has a deadline and says what it waited for.
import { EventEmitter } from 'events';
import * as os from 'os';

/** Default deadline for a wait in tests (on an unloaded machine; see stretched). */
export const WAIT_TIMEOUT_MS = 20000;

/** Most a deadline is stretched by the machine's load. */
const MAX_STRETCH = 10;

/**
 * A deadline stretched by how loaded the machine is now: x (1-minute load
 * average / cores), between 1 and 10. Deadlines only decide how long a
 * failing wait takes to say so; on a 2-core machine shared by other suites
 * (load 30+) a sync that takes 2 s idle can take 40 s, and a fixed deadline
 * would fail a correct node.
 */
export function stretched(timeoutMs: number): number {
  const load = os.loadavg()[0] / Math.max(1, os.cpus().length);
  return Math.round(timeoutMs * Math.min(MAX_STRETCH, Math.max(1, load)));
}

/** Resolve with the event's first argument; reject after `timeoutMs` (stretched by the machine's load). */
export function forEvent<T = unknown>(emitter: EventEmitter, event: string,
  timeoutMs = WAIT_TIMEOUT_MS, filter?: (...args: unknown[]) => boolean): Promise<T> {
  const limit = stretched(timeoutMs);
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      if (filter && !filter(...args))
        return;
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      resolve(args[0] as T);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`Timed out after ${limit} ms waiting for event "${event}".`));
    }, limit);
    emitter.on(event, onEvent);
  });
}

/**
 * Poll `get` until it returns `want` (or, with a predicate, until the
 * predicate holds). Rejects with the last value seen after `timeoutMs`
 * (stretched by the machine's load).
 */
export async function forValue<T>(get: () => T | Promise<T>, want: T | ((v: T) => boolean),
  timeoutMs = WAIT_TIMEOUT_MS, what = 'value'): Promise<T> {
  const limit = stretched(timeoutMs);
  const deadline = Date.now() + limit;
  const ok = typeof want === 'function' ? want as (v: T) => boolean : (v: T) => v === want;
  let last: T | undefined;
  for (;;) {
    last = await get();
    if (ok(last))
      return last;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${limit} ms waiting for ${what}: last saw ${JSON.stringify(last)}`
        + (typeof want === 'function' ? '' : `, wanted ${JSON.stringify(want)}`));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
