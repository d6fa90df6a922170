/*!
 * budget.ts - the byte budgets of download tokens: a `get` token's
 * maxBytes is the number of bytes the server may serve over every request
 * made with it (downloads are paid ahead per token, docs/MARKET.md), so the
 * server keeps one small counter per token used, on disk, as it keeps
 * admin nonces, and a PHP port keeps it the same way in the same folder.
 *
 *   budgets/<hour>/<mac>/<spent>    hour = floor(notAfter / 3600), mac = the
 *                                   token's MAC (unique per token); the one
 *                                   file's name is the bytes served so far
 *
 * Spending is a compare-and-swap by rename(2): read the one name `s`, check
 * `s + n <= budget`, rename `s` to `s + n`. Of two requests racing for the
 * same bytes one rename succeeds and the other finds its source gone
 * (ENOENT) and reads again, so the budget holds across threads, processes
 * and the two servers sharing a folder, with no lock to leave behind: a
 * crash at any point leaves exactly one counter. A token's folder appears
 * with its counter by one rename too. Counters are not fsynced: after a
 * power loss a token may serve the bytes of its last few requests again,
 * which costs the host a little bandwidth and nothing else. Whole hours
 * whose tokens have all expired are deleted.
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { HTTPError } from './errors';

/** Counters are grouped by the hour their tokens expire in, so expired ones go by the folder. */
export const BUDGET_BUCKET = 3600;

/** Rounds of compare-and-swap before a request is answered `busy` (only under a storm on one token). */
const MAX_ROUNDS = 64;

/** What a spend found. */
export interface Spend {
  /** True if the bytes were counted (or nothing was asked). */
  ok: boolean;
  /** Bytes served with the token before this request. */
  spent: number;
  /** Bytes left after this request (before it, when refused). */
  left: number;
  /**
   * Set when the bytes fit but could not be counted: the data folder cannot
   * be written (full, read-only). The read is served anyway: a host whose
   * disk filled up must still pass audits of the data it holds, and loses
   * only the bandwidth it could not count.
   */
  uncounted?: string;
}

/** Errors that mean the folder cannot take a write now, rather than a broken request. */
const CANNOT_WRITE = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM']);

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** The counters of one data folder. */
export class BudgetStore {
  private readonly dir: string;
  private lastSweep = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  open(): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      // A full or read-only folder still serves reads (spend() says so).
      if (!CANNOT_WRITE.has(errno(e) ?? ''))
        throw e;
    }
  }

  private tokenDir(mac: string, notAfter: number): string {
    return path.join(this.dir, String(Math.floor(notAfter / BUDGET_BUCKET)), mac);
  }

  /** The counter's value, or null when the token was never used. */
  private read(dir: string): number | null {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      if (errno(e) === 'ENOENT')
        return null;
      throw e;
    }
    // One name, always; the largest decimal wins should anything else appear.
    let spent = -1;
    for (const name of names) {
      if (/^(0|[1-9][0-9]{0,15})$/.test(name))
        spent = Math.max(spent, Number(name));
    }
    return spent < 0 ? 0 : spent;
  }

  /** Makes a token's folder holding counter 0, in one rename; losing the race to another request is fine. */
  private create(dir: string): void {
    // Not recursive: Node's recursive mkdir reports a read-only folder as ENOENT.
    for (const d of [this.dir, path.dirname(dir)]) {
      try {
        fs.mkdirSync(d);
      } catch (e) {
        if (errno(e) !== 'EEXIST')
          throw e;
      }
    }
    const tmp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
    fs.mkdirSync(tmp);
    try {
      fs.closeSync(fs.openSync(path.join(tmp, '0'), 'wx'));
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (errno(e) !== 'ENOTEMPTY' && errno(e) !== 'EEXIST')
        throw e;
    }
  }

  /**
   * Counts `n` bytes against the token `mac` (expiring at `notAfter`, unix
   * s) with a budget of `budget` bytes, unless they do not fit: then
   * nothing is counted and `ok` is false. `n` = 0 only reads the counter.
   * Throws HTTPError `busy` only after many lost races; file-system errors
   * are thrown as they are.
   */
  spend(mac: string, notAfter: number, budget: number, n: number, now: number): Spend {
    this.sweep(now);
    const dir = this.tokenDir(mac, notAfter);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const spent = this.read(dir);
      const have = spent ?? 0;
      // [REJECT] more bytes than the token has left
      if (have + n > budget)
        return { ok: false, spent: have, left: Math.max(0, budget - have) };
      if (n === 0)
        return { ok: true, spent: have, left: budget - have };
      try {
        if (spent === null) {
          this.create(dir);
          continue;
        }
        fs.renameSync(path.join(dir, String(spent)), path.join(dir, String(spent + n)));
        return { ok: true, spent, left: budget - spent - n };
      } catch (e) {
        const code = errno(e);
        if (code !== undefined && CANNOT_WRITE.has(code))
          return { ok: true, spent: have, left: budget - have - n, uncounted: code };
        // Another request moved the counter first: read it again.
        if (code !== 'ENOENT')
          throw e;
      }
    }
    throw new HTTPError('busy', 'the token\'s budget is being spent by other requests; retry');
  }

  /** Deletes the hours whose tokens have all expired, at most once a minute. */
  private sweep(now: number): void {
    // Either way: a clock set back (tests) must not stop sweeping for long.
    if (Math.abs(now - this.lastSweep) < 60)
      return;
    this.lastSweep = now;
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      // A token is valid while now <= notAfter: hour h holds notAfter up to (h+1)*3600-1.
      if (/^[0-9]+$/.test(name) && (Number(name) + 1) * BUDGET_BUCKET - 1 < now)
        fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    }
  }
}
