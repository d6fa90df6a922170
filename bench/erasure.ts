// Reed-Solomon shard coding (lib/storage/erasure.ts) against baselines
// measured in the same run: a plain in-memory copy and a SHA-256 pass over
// the same bytes, then file to file (encodeShards / decodeShards with M
// shards lost) against a streamed file copy.
//
//   npx tsx bench/erasure.ts [--size 64MiB]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import {
  STRIPE_UNIT, decodeShards, encodeShards, encodeStripe, reconstructStripe, type ShardScheme
} from '../lib/storage/erasure';
import { randomFile, rawCopy, sizeFlag, timed } from './util';

const SIZE = sizeFlag(process.argv, 'size', 64 * 1024 * 1024);
const MB = 1e6;

function rate(bytes: number, s: number): string {
  return `${(bytes / MB / s).toFixed(0).padStart(5)} MB/s`;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-erasure-'));
  try {
    const data = randomBytes(SIZE);
    const copy = await timed(() => Buffer.from(data));
    const sha = await timed(() => createHash('sha256').update(data).digest());
    const file = path.join(dir, 'object');
    randomFile(file, SIZE);
    const fileCopy = await rawCopy(file, path.join(dir, 'copy'));
    console.log(`${SIZE} bytes; baselines: copy ${rate(SIZE, copy)}, sha256 ${rate(SIZE, sha)}, streamed file copy ${rate(SIZE, fileCopy)}`);
    console.log('scheme | encode | x sha256 | decode, M lost | x sha256 | file encode | x file copy | file decode, M lost | x file copy');
    for (const s of [{ dataShards: 4, parityShards: 2 }, { dataShards: 10, parityShards: 4 }] as ShardScheme[]) {
      const k = s.dataShards;
      const n = k + s.parityShards;
      // In memory, stripe by stripe, as the file coders do.
      let enc = 0;
      let dec = 0;
      for (let off = 0; off < SIZE; off += k * STRIPE_UNIT) {
        const pieces = Array.from({ length: k }, (_, i) => {
          const p = Buffer.alloc(STRIPE_UNIT);
          data.copy(p, 0, Math.min(SIZE, off + i * STRIPE_UNIT), Math.min(SIZE, off + (i + 1) * STRIPE_UNIT));
          return p;
        });
        let parity: Uint8Array[] = [];
        enc += await timed(() => { parity = encodeStripe(pieces, s.parityShards); });
        // Lose the first M data shards: the costly case.
        const have = [...pieces, ...parity].map((p, i) => (i < s.parityShards ? null : p));
        dec += await timed(() => reconstructStripe(have, s));
      }
      const shards = Array.from({ length: n }, (_, i) => path.join(dir, `shard-${i}`));
      const fenc = await timed(() => encodeShards(file, SIZE, s, shards));
      const fdec = await timed(() => decodeShards(shards.map((f, i) => (i < s.parityShards ? null : f)), s, SIZE,
        path.join(dir, 'decoded')));
      console.log(`${k}+${s.parityShards} | ${rate(SIZE, enc)} | ${(sha / enc).toFixed(2)} | ${rate(SIZE, dec)} | ${(sha / dec).toFixed(2)}`
        + ` | ${rate(SIZE, fenc)} | ${(fileCopy / fenc).toFixed(2)} | ${rate(SIZE, fdec)} | ${(fileCopy / fdec).toFixed(2)}`);
      for (const f of [...shards, path.join(dir, 'decoded')])
        fs.rmSync(f, { force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
