/*!
 * replay.ts - the admin nonce cache, on disk so it survives a restart and
 * a PHP port can keep it the same way.
 *
 * A nonce is remembered as an empty file nonces/<bucket>/<nonce>, where
 * bucket = floor(requestTime / 60). Creating it with O_EXCL is the check
 * and the insert in one step. A request is only valid within 120 s of its
 * time, so whole buckets older than that are deleted: the cache is
 * bounded by the admin request rate times the window.
 */

import * as fs from 'fs';
import * as path from 'path';
import { ADMIN_WINDOW } from '../lib/storage';

const BUCKET = 60;

export class ReplayCache {
  private readonly dir: string;
  private lastSweep = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  open(): void {
    fs.mkdirSync(this.dir, { recursive: true });
  }

  /** Records `nonce` for a request made at `time`; false if it was seen before. */
  check(nonce: string, time: number, now: number): boolean {
    this.sweep(now);
    const bucket = path.join(this.dir, String(Math.floor(time / BUCKET)));
    fs.mkdirSync(bucket, { recursive: true });
    try {
      fs.closeSync(fs.openSync(path.join(bucket, nonce), 'wx'));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        return false;
      throw e;
    }
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < BUCKET)
      return;
    this.lastSweep = now;
    // Keep every bucket that can still hold a request time within the window.
    const oldest = Math.floor((now - ADMIN_WINDOW) / BUCKET) - 1;
    for (const name of fs.readdirSync(this.dir)) {
      if (!/^[0-9]+$/.test(name) || Number(name) < oldest)
        fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    }
  }
}
