/*!
 * rawargs.ts - command-line paths as the bytes the user typed.
 *
 * Node decodes argv as UTF-8 and replaces bytes that are not UTF-8 with
 * U+FFFD, so a file whose name is not valid UTF-8 could not even be
 * opened. On Linux the exact bytes are in /proc/self/cmdline; a path with
 * a replacement character is looked up there, and then used as bytes.
 */

import * as fs from 'fs';
import { CommandError } from './cmdutil';

/** The bytes of argument `text`: from /proc/self/cmdline when argv lost them. */
export function rawArg(text: string): Buffer {
  if (!text.includes('\ufffd'))
    return Buffer.from(text, 'utf8');
  let raw: Buffer;
  try {
    raw = fs.readFileSync('/proc/self/cmdline');
  } catch {
    return Buffer.from(text, 'utf8');
  }
  const args: Buffer[] = [];
  for (let start = 0; start < raw.length;) {
    let end = raw.indexOf(0, start);
    if (end < 0)
      end = raw.length;
    args.push(raw.subarray(start, end));
    start = end + 1;
  }
  return args.find((a) => a.toString('utf8') === text) ?? Buffer.from(text, 'utf8');
}

/** An input file opened by its exact bytes. */
export interface InputFile {
  fd: number;
  /** A path that reaches the open file (/dev/fd/N). */
  path: string;
  /** The file name (last path component) as bytes. */
  name: Buffer;
}

/** Open `text` for reading; a failure is one clear line. */
export function fileArg(text: string): InputFile {
  const raw = rawArg(text);
  let fd: number;
  try {
    // Non-blocking, so a FIFO is refused as not a regular file instead of
    // waiting for a writer.
    fd = fs.openSync(raw, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'unreadable';
    throw new CommandError('no-file', `cannot read ${text}: ${why}`);
  }
  const name = raw.subarray(raw.lastIndexOf(0x2f) + 1);
  return { fd, path: `/dev/fd/${fd}`, name };
}

/** The name put records for a path (its last component, as bytes): what `log` and `get --rev` look up. */
export function nameArg(text: string): Buffer {
  const raw = rawArg(text);
  return raw.subarray(raw.lastIndexOf(0x2f) + 1);
}
