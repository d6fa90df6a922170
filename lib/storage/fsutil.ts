/*!
 * fsutil.ts - crash-safe file writes: temp file, fsync, rename, fsync dir.
 *
 * After a crash a reader sees either the old file or the complete new one,
 * never a torn write; leftover temp files carry a `.tmp-` infix and are
 * swept by their owners.
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

/** A unique temp path next to `file` (same directory, so rename is atomic). */
export function tempPath(file: string): string {
  return `${file}.tmp-${randomBytes(6).toString('hex')}`;
}

/** fsync a directory so a rename or unlink in it is durable. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename still happened.
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `dir` and any missing parents (`mode`, before the umask),
 * fsyncing the parent of each one created: otherwise a crash can lose a
 * fresh directory, and everything renamed into it, after the rename was
 * reported durable. The parents are walked here, not by mkdirSync's
 * `recursive`, which in Node 20 spins for ever at full CPU when a parent
 * that exists answers ENOENT (`/proc/nope/x`).
 * @throws the first mkdirSync error but EEXIST (its `path` names the folder)
 */
export function mkdirDurable(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    missing.push(d);
    const up = path.dirname(d);
    if (up === d)
      break;
    d = up;
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw e;
    }
    fsyncDir(path.dirname(m));
  }
}

/**
 * Writes `data` to `file` atomically and (unless `durable` is false)
 * durably. Without fsync a reader still sees the old file or the whole new
 * one after a process crash; only a power loss may keep the old one.
 */
export function writeFileAtomic(file: string, data: Buffer | string, mode = 0o644, durable = true): void {
  const tmp = tempPath(file);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    try {
      fs.writeFileSync(fd, data);
      if (durable)
        fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (durable)
    fsyncDir(path.dirname(file));
}

/** fsync an open file by path. */
export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a JSON file, or null when it does not exist. */
export function readJSON(file: string): unknown {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return null;
    throw e;
  }
  return JSON.parse(raw) as unknown;
}
