/*!
 * storerecovery.ts - what the object store does when it opens: creates its
 * layout and sweeps what interrupted calls left (temp files of atomic
 * writes and adoptions, data whose contract or object record is gone or a
 * tombstone, uploads that were already moved into place), and finishes
 * uploads that received every byte but were never moved into place. The
 * order of writes elsewhere (a record removed or tombstoned before its
 * data) makes every leftover recognisable from disk alone.
 */

import * as fs from 'fs';
import * as path from 'path';
import { mkdirDurable } from './fsutil';
import type { StoreLayout } from './storelayout';
import { type ObjectRecord, isId, isLive } from './storetypes';

/** Removes temp files and directories of interrupted atomic writes in `dir`. */
function sweepTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    // Files of atomic writes, and directories of interrupted adoptions.
    if (name.includes('.tmp-'))
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Brings a store directory to a consistent state after a crash. `salvage`
 * finishes an upload holding every byte; it may throw (root-mismatch
 * deleted the upload; anything else is retried by the next part or receipt).
 */
export function recoverStore(layout: StoreLayout, salvage: (rec: ObjectRecord) => void): void {
  const dir = layout.dir;
  for (const sub of ['contracts', 'uploads', 'objects'])
    mkdirDurable(path.join(dir, sub));
  // Temp files of interrupted atomic writes, and data of contracts whose
  // record is gone (unregister removes the record first).
  sweepTemps(path.join(dir, 'contracts'));
  for (const sub of ['uploads', 'objects']) {
    for (const name of fs.readdirSync(path.join(dir, sub))) {
      if (!isId(name) || !fs.existsSync(layout.recordPath(name)))
        fs.rmSync(path.join(dir, sub, name), { recursive: true, force: true });
    }
  }
  for (const rec of layout.listContracts()) {
    const odir = path.join(dir, 'objects', rec.id);
    if (fs.existsSync(odir)) {
      sweepTemps(odir);
      // Object directories whose record is gone or a tombstone (deleteObject
      // writes the tombstone first).
      for (const name of fs.readdirSync(odir)) {
        if (/^[1-9][0-9]*$/.test(name) && !isLive(layout.readObject(rec.id, Number(name))))
          fs.rmSync(path.join(odir, name), { recursive: true, force: true });
      }
    }
    const udir = path.join(dir, 'uploads', rec.id);
    if (!fs.existsSync(udir))
      continue;
    for (const name of fs.readdirSync(udir)) {
      const n = /^[1-9][0-9]*$/.test(name) ? Number(name) : 0;
      const obj = n ? layout.readObject(rec.id, n) : null;
      if (!isLive(obj) || layout.isComplete(rec.id, n)) {
        // Interrupted after the rename (or deleted): the rest is litter.
        fs.rmSync(path.join(udir, name), { recursive: true, force: true });
        if (isLive(obj))
          fs.rmSync(path.join(layout.objectDir(rec.id, n), 'state.json'), { force: true });
        continue;
      }
      try {
        salvage(obj);
      } catch {
        // root-mismatch deleted the upload; anything else is retried by
        // the next writePart() or receipt().
      }
    }
  }
}
