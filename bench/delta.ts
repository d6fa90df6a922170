// Delta uploads between versions of a file: bytes a new version would
// upload if it stored only the chunks the previous version (on the same
// host) does not already hold, for two chunkings, against the whole-file
// upload every version makes today (the baseline, measured in the same
// run on the same data):
//   - fixed: the sealed 1 MiB chunks of PROTOCOL 4.1 (plaintext chunks of
//     1048560 bytes at fixed offsets), which a later version could
//     reference in the earlier version's object as they are;
//   - cdc: content-defined chunks (a gear rolling hash, 256 KiB min, about
//     1 MiB average, 4 MiB max), which survive insertions but need chunks
//     of variable size, a change of the 4.1 format.
// Edits: one byte changed in the middle, 100 KiB appended, one byte
// inserted in the middle, 1% of the file changed in 64 scattered places.
// Each upload counts the new chunks' ciphertext (plaintext + a 16-byte tag).
//
//   npx tsx bench/delta.ts [--size 16MiB]
import { createHash, randomBytes } from 'crypto';
import { PLAIN_CHUNK_SIZE, TAG_SIZE, cipherSize } from '../lib/storage/common';
import { sizeFlag } from './util';

const SIZE = sizeFlag(process.argv, 'size', 16 * 1024 * 1024);

type Chunker = (data: Buffer) => Buffer[];

const fixed: Chunker = (data) => {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += PLAIN_CHUNK_SIZE)
    out.push(data.subarray(off, off + PLAIN_CHUNK_SIZE));
  return out;
};

// Gear table: 256 pseudo-random u32s from a fixed seed (FastCDC's construction).
const GEAR = Array.from({ length: 256 }, (_, i) => createHash('sha256').update(`gear${i}`).digest().readUInt32LE(0));
const MIN = 256 * 1024;
const MAX = 4 * 1024 * 1024;
// A boundary where the low 20 bits of the rolling hash are zero: ~1 MiB past the minimum.
const MASK = (1 << 20) - 1;

const cdc: Chunker = (data) => {
  const out: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(data.length, start + MAX);
    let h = 0;
    for (let i = start + MIN; i < end; i++) {
      h = ((h << 1) + GEAR[data[i]]) >>> 0;
      if ((h & MASK) === 0) {
        end = i + 1;
        break;
      }
    }
    out.push(data.subarray(start, end));
    start = end;
  }
  return out;
};

/** Ciphertext bytes of the chunks of `next` that `prev` does not hold (by content). */
function deltaBytes(chunker: Chunker, prev: Buffer, next: Buffer): { bytes: number; chunks: number; total: number } {
  const held = new Set(chunker(prev).map((c) => createHash('sha256').update(c).digest('hex')));
  const chunks = chunker(next);
  const fresh = chunks.filter((c) => !held.has(createHash('sha256').update(c).digest('hex')));
  return { bytes: fresh.reduce((s, c) => s + c.length + TAG_SIZE, 0), chunks: fresh.length, total: chunks.length };
}

function edits(base: Buffer): Array<[string, Buffer]> {
  const mid = base.length >> 1;
  const flipped = Buffer.from(base);
  flipped[mid] ^= 1;
  const scattered = Buffer.from(base);
  const span = Math.floor(base.length / 100 / 64);
  for (let k = 0; k < 64; k++)
    randomBytes(span).copy(scattered, Math.floor((k + 0.5) * base.length / 64));
  return [
    ['1 byte changed', flipped],
    ['100 KiB appended', Buffer.concat([base, randomBytes(100 * 1024)])],
    ['1 byte inserted', Buffer.concat([base.subarray(0, mid), Buffer.from([7]), base.subarray(mid)])],
    ['1% in 64 places', scattered]
  ];
}

function main(): void {
  const base = randomBytes(SIZE);
  console.log(`${SIZE} bytes; the baseline is today's whole-version upload (${cipherSize(SIZE)} bytes for the unchanged size)`);
  console.log('edit | whole version (baseline) | fixed 1 MiB: bytes | x baseline | chunks | cdc ~1 MiB: bytes | x baseline | chunks');
  for (const [name, next] of edits(base)) {
    const whole = cipherSize(next.length);
    const f = deltaBytes(fixed, base, next);
    const c = deltaBytes(cdc, base, next);
    console.log(`${name} | ${whole} | ${f.bytes} | ${(f.bytes / whole).toFixed(3)} | ${f.chunks}/${f.total} | `
      + `${c.bytes} | ${(c.bytes / whole).toFixed(3)} | ${c.chunks}/${c.total}`);
  }
}

main();
