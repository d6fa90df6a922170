// Waiting helpers for tests: every wait has a deadline and says what it waited for.
import { EventEmitter } from 'events';

/** Default deadline for a wait in tests. */
export const WAIT_TIMEOUT_MS = 20000;

/** Resolve with the event's first argument; reject after `timeoutMs`. */
export function forEvent<T = unknown>(emitter: EventEmitter, event: string,
  timeoutMs = WAIT_TIMEOUT_MS, filter?: (...args: unknown[]) => boolean): Promise<T> {
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
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for event "${event}".`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/**
 * Poll `get` until it returns `want` (or, with a predicate, until the
 * predicate holds). Rejects with the last value seen after `timeoutMs`.
 */
export async function forValue<T>(get: () => T | Promise<T>, want: T | ((v: T) => boolean),
  timeoutMs = WAIT_TIMEOUT_MS, what = 'value'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const ok = typeof want === 'function' ? want as (v: T) => boolean : (v: T) => v === want;
  let last: T | undefined;
  for (;;) {
    last = await get();
    if (ok(last))
      return last;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}: last saw ${JSON.stringify(last)}`
        + (typeof want === 'function' ? '' : `, wanted ${JSON.stringify(want)}`));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
