/*!
 * compat.ts - runtime fixes for bcoin 1.0.2 on Node 20.
 *
 * bcoin 1.0.2's bdb passes `gt: null, lt: null` iterator bounds. leveldown 6
 * (the only version that builds on Node 20) treats a null bound as a real
 * bound, so every range scan on disk silently returns nothing: chain hash
 * lookups, wallet accounts, our own indexes. Dropping null bounds restores
 * leveldown 4 semantics. This module must load before bcoin or bdb open a
 * database; lib/bcoin.ts and lib/bdb.ts import it first.
 */

import leveldown = require('leveldown');

const PATCHED = Symbol.for('cloudcoin.leveldown.patched');

type Iterate = (this: unknown, options?: Record<string, unknown>) => unknown;
type Proto = { iterator: Iterate; [PATCHED]?: boolean };

const proto = Object.getPrototypeOf(leveldown('/nonexistent')) as Proto;

if (!proto[PATCHED]) {
  const iterator = proto.iterator;
  proto.iterator = function iteratorWithoutNullBounds(options) {
    if (options) {
      const clean: Record<string, unknown> = { ...options };
      for (const bound of ['gt', 'gte', 'lt', 'lte']) {
        if (clean[bound] == null)
          delete clean[bound];
      }
      return iterator.call(this, clean);
    }
    return iterator.call(this, options);
  };
  proto[PATCHED] = true;
}

export {};
