/*!
 * syncwrite.ts - write a leveldb batch with fsync, for stores whose
 * writes are acknowledged to another party (the host's channel states,
 * the deals' revisions): nobody is told before the bytes are on disk.
 */

import type bdb = require('../bdb');

/**
 * Write `b` with leveldown's `sync: true`, resolving once it is fsynced,
 * so whatever is acknowledged after it survives kill -9 and power loss.
 * The in-memory database (tests, --memory) has nothing to sync and takes
 * no options. Rejects with the database's error.
 */
export function writeSync(b: bdb.Batch): Promise<void> {
  const binding = (b as unknown as { binding: { write: (...args: unknown[]) => void } }).binding;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null): void => (err ? reject(err) : resolve());
    if (binding.write.length >= 2)
      binding.write({ sync: true }, done);
    else
      binding.write(done);
  });
}
