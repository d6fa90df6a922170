// Shared bench helpers: size flags, a random test file, timing, printing.
import * as fs from 'fs';
import { pipeline } from 'stream/promises';
import { randomFillSync } from 'crypto';
import { parseSize } from '../lib/base/units';

/** Parses `--size 1GB` style flags (decimal and binary units, lib/base/units). */
export function sizeFlag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= argv.length)
    return fallback;
  const size = parseSize(argv[i + 1]);
  if (size === null || size < 1)
    throw new Error(`--${name} must be a size such as 256MB`);
  return size;
}

/** Writes `size` random bytes to `file`, 1 MiB at a time. */
export function randomFile(file: string, size: number): void {
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let off = 0; off < size; off += buf.length) {
    const n = Math.min(buf.length, size - off);
    randomFillSync(buf, 0, n);
    fs.writeSync(fd, buf, 0, n);
  }
  fs.closeSync(fd);
}

/** Runs `fn` and returns seconds taken. */
export async function timed(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** MB/s for `bytes` in `secs`. */
export function mbps(bytes: number, secs: number): string {
  return `${(bytes / 1e6 / secs).toFixed(0)} MB/s`;
}

/** The baseline of the file server benches: a streamed copy of `input` to `out` with fsync, in seconds. */
export async function rawCopy(input: string, out: string): Promise<number> {
  return timed(async () => {
    await pipeline(fs.createReadStream(input, { highWaterMark: 1 << 20 }), fs.createWriteStream(out));
    const fd = fs.openSync(out, 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  });
}
