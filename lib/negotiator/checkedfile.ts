/*!
 * checkedfile.ts - a small state file in the datadir that a crash never
 * leaves half written (the deferred tabs, tabs.ts; the payments a server
 * took, paidstore.ts): the bytes are followed by the first 4 bytes of
 * their sha256, the whole file is replaced atomically and fsynced
 * (writeFileAtomic), and the changes of one event-loop turn are written
 * together. A file that does not read (torn by a disk fault, edited) is
 * moved aside to `<file>.bad` with a one-line logged error and the state
 * starts empty.
 */

import * as fs from 'fs';
import { createHash } from 'crypto';
import bio = require('bufio');
import { writeFileAtomic } from '../storage/fsutil';
import type { LoggerLike } from './options';
import { decodeCodes, malformed } from './wire';

/** Bytes of the check that ends every such file. */
export const CHECK_SIZE = 4;

function check(raw: Buffer): Buffer {
  return createHash('sha256').update(raw).digest().subarray(0, CHECK_SIZE);
}

/** `raw` followed by its check. */
export function sealFile(raw: Buffer): Buffer {
  return Buffer.concat([raw, check(raw)]);
}

/** A reader over the bytes before the check; throws PacketError (malformed, truncated) when the check does not match. */
export function openSealed(data: Buffer): bio.BufferReader {
  // [REJECT] too short for a check, or a check that does not match
  if (data.length < CHECK_SIZE || !check(data.subarray(0, data.length - CHECK_SIZE)).equals(data.subarray(data.length - CHECK_SIZE)))
    throw malformed(decodeCodes.TRUNCATED);
  return bio.read(data.subarray(0, data.length - CHECK_SIZE));
}

/** How a CheckedFile reads and writes its state `T`. */
export interface CheckedCodec<T> {
  /** What the state is, for the log ("deferred tabs"). */
  what: string;
  empty(): T;
  /** The file's bytes (sealed). */
  encode(state: T): Buffer;
  /** Read the file's bytes; throws on a bad check or content. */
  decode(data: Buffer): T;
}

/** Keeps one file in step with a state: `changed()` after each change, `flush()` at close. */
export class CheckedFile<T> {
  private scheduled = false;
  /** Callers of `written()` waiting for the scheduled write. */
  private waiters: Array<() => void> = [];

  constructor(readonly file: string, private readonly codec: CheckedCodec<T>, private readonly snapshot: () => T,
    private readonly logger: LoggerLike) {}

  /** The state on disk (empty when there is no file; a bad one is moved aside). */
  load(): T {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        return this.codec.empty();
      throw e;
    }
    try {
      return this.codec.decode(data);
    } catch (e) {
      fs.renameSync(this.file, `${this.file}.bad`);
      this.logger.error('negotiator: %s does not read (%s): moved to %s.bad, %s start empty',
        this.file, (e as Error).message, this.file, this.codec.what);
      return this.codec.empty();
    }
  }

  /** The state changed: write the file once this turn of the event loop is over. */
  changed(): void {
    if (this.scheduled)
      return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Resolves once every change made so far is written (at once when none
   * waits): answers wait on it, and the changes of one turn still make
   * one write.
   */
  written(): Promise<void> {
    if (!this.scheduled)
      return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Write the file now if anything changed. */
  flush(): void {
    if (!this.scheduled)
      return;
    this.scheduled = false;
    try {
      writeFileAtomic(this.file, this.codec.encode(this.snapshot()), 0o600);
    } catch (e) {
      this.logger.error('negotiator: could not write %s: %s', this.file, (e as Error).message);
    }
    for (const wake of this.waiters.splice(0))
      wake();
  }
}
