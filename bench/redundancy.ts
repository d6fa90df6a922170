// K + M Reed-Solomon shards against N whole replicas, with the code the
// renter runs (lib/storage: encryptFile, encodeShards, rebuildShards,
// decryptFile; lib/deals/pricing.ts contractCost), in the same run:
//
// - storage overhead: bytes on hosts (shard files as encodeShards writes
//   them, replicas as encryptFile writes them) over the file's size;
// - upload cost in sat per GiB of file at the same durability target, two
//   ways: the same number of hosts lost survived (4+2 vs 3 replicas, 10+4
//   vs 5), and the same probability of losing the file when each host is
//   lost independently with probability --p over the contract (the fewest
//   replicas, or parity shards for K = 4 and 10, that reach --target);
// - rebuild time: a repair's local work after M hosts are lost (rebuild M
//   shards from K) against a replica's (decrypt a surviving replica,
//   encrypt it anew under a fresh key), both against a streamed copy of the
//   object measured in the same run, and the bytes each repair moves
//   (renterrepair.ts: every surviving copy is downloaded and verified).
//
//   npx tsx bench/redundancy.ts [--size 32MiB] [--p 0.05] [--target 1e-9] [--json]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DEFAULT_STORAGE_PRICE, DEFAULT_UPLOAD_PRICE, GIB } from '../lib/deals/common';
import { contractCost } from '../lib/deals/pricing';
import { encodeShards, rebuildShards, shardSize, type ShardScheme } from '../lib/storage/erasure';
import { decryptFile, encryptFile } from '../lib/storage/fileops';
import { printReport, randomFile, rawCopy, sizeFlag, stringFlag, timed, type BenchRatio, type BenchTable } from './util';

const SIZE = sizeFlag(process.argv, 'size', 32 * 1024 * 1024);
const P = Number(stringFlag(process.argv, 'p', '0.05'));
const TARGET = Number(stringFlag(process.argv, 'target', '1e-9'));
/** About a month of blocks: the cost is storage for it plus one upload. */
const DURATION = 4320;
const PRICES = { storage: DEFAULT_STORAGE_PRICE, upload: DEFAULT_UPLOAD_PRICE, download: 0 };

/** ln C(n, k). */
function lnChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++)
    s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** Probability that more than `m` of `n` hosts are lost, each with probability p: the file is then gone. */
export function lossProbability(n: number, m: number, p: number): number {
  let sum = 0;
  for (let j = m + 1; j <= n; j++)
    sum += Math.exp(lnChoose(n, j) + j * Math.log(p) + (n - j) * Math.log(1 - p));
  return sum;
}

/** Sat to store one GiB of file for DURATION blocks when `hosts` hosts each hold `perHost` of it (fraction). */
function costPerGiB(hosts: number, perHost: number): number {
  return hosts * contractCost(Math.round(perHost * GIB), DURATION, PRICES);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-redundancy-'));
  try {
    const file = path.join(dir, 'file');
    randomFile(file, SIZE);
    const object = path.join(dir, 'object');
    const key = randomBytes(32);
    const enc = await encryptFile(key, file, object, { sync: false });
    const objectSize = enc.size;
    const copyS = await rawCopy(object, path.join(dir, 'copy'));
    fs.rmSync(path.join(dir, 'copy'), { force: true });

    // Replica repair: decrypt a surviving replica, encrypt it under a fresh key (what renterrepair.ts does).
    const plain = path.join(dir, 'plain');
    const fresh = path.join(dir, 'fresh');
    const decryptS = await timed(() => decryptFile(key, object, plain));
    const encryptS = await timed(() => encryptFile(randomBytes(32), plain, fresh, { sync: false }));
    for (const f of [plain, fresh])
      fs.rmSync(f, { force: true });

    const schemes: Array<{ s: ShardScheme; replicas: number }> = [
      { s: { dataShards: 4, parityShards: 2 }, replicas: 3 },
      { s: { dataShards: 10, parityShards: 4 }, replicas: 5 }
    ];
    const storage: BenchTable = { title: `storage and repair, ${SIZE} bytes (object ${objectSize} bytes)`,
      columns: ['scheme', 'hosts lost survived', 'bytes on hosts', 'x file', 'rebuild after M lost', 'x object copy',
        'repair download', 'repair upload'], rows: [] };
    const ratios: BenchRatio[] = [];
    for (const { s, replicas } of schemes) {
      const k = s.dataShards;
      const n = k + s.parityShards;
      const shards = Array.from({ length: n }, (_, i) => path.join(dir, `shard-${i}`));
      await encodeShards(object, objectSize, s, shards);
      const onHosts = shards.reduce((sum, f) => sum + fs.statSync(f).size, 0);
      // M hosts lost: the first M data shards (the costly case) rebuilt from the rest.
      const lost = Array.from({ length: s.parityShards }, (_, i) => i);
      const outs = lost.map((i) => path.join(dir, `rebuilt-${i}`));
      const rebuildS = await timed(() => rebuildShards(shards.map((f, i) => (lost.includes(i) ? null : f)), s, objectSize, lost, outs));
      for (const [j, i] of lost.entries()) {
        if (!fs.readFileSync(outs[j]).equals(fs.readFileSync(shards[i])))
          throw new Error(`rebuilt shard ${i} of ${k}+${s.parityShards} differs`);
      }
      for (const f of [...shards, ...outs])
        fs.rmSync(f, { force: true });
      const shard = shardSize(objectSize, k);
      // N - 1 replicas lost: the survivor decrypted once, each new replica encrypted under its own key.
      const repS = decryptS + encryptS * (replicas - 1);
      storage.rows.push([`${k}+${s.parityShards} shards`, String(s.parityShards), String(onHosts), (onHosts / SIZE).toFixed(3),
        `${rebuildS.toFixed(2)} s`, (rebuildS / copyS).toFixed(2), String(shard * (n - s.parityShards)),
        String(shard * s.parityShards)]);
      storage.rows.push([`${replicas} replicas`, String(replicas - 1), String(objectSize * replicas), (objectSize * replicas / SIZE).toFixed(3),
        `${repS.toFixed(2)} s`, (repS / copyS).toFixed(2), String(objectSize), String(objectSize * (replicas - 1))]);
      ratios.push({ name: `${k}+${s.parityShards} bytes on hosts / ${replicas} replicas`, value: onHosts / (objectSize * replicas),
        baseline: `${replicas} replicas, same hosts lost survived`, lowerIsBetter: true });
      ratios.push({ name: `${k}+${s.parityShards} rebuild of ${s.parityShards} lost / ${replicas - 1} replicas made anew`,
        value: rebuildS / repS, baseline: 'replica repair (decrypt + encrypt anew), same run', lowerIsBetter: true });
      ratios.push({ name: `${k}+${s.parityShards} rebuild of ${s.parityShards} lost / object copy`, value: rebuildS / copyS,
        baseline: 'streamed copy of the object, same run', lowerIsBetter: true });
    }

    // Cost at the same durability target.
    const cost: BenchTable = { title: `upload cost, sat per GiB of file for ${DURATION} blocks at the default prices `
      + `(${PRICES.storage} sat/GiB/1000 blocks, ${PRICES.upload} sat/GiB upload), overhead from this run`,
      columns: ['target', 'scheme', 'hosts', 'P(file lost)', 'sat/GiB', 'x replicas'], rows: [] };
    const over = objectSize / SIZE;
    for (const { s, replicas } of schemes) {
      const k = s.dataShards;
      const n = k + s.parityShards;
      const coded = costPerGiB(n, over / k);
      const repl = costPerGiB(replicas, over);
      const target = `${s.parityShards} hosts lost`;
      cost.rows.push([target, `${k}+${s.parityShards}`, String(n), lossProbability(n, s.parityShards, P).toExponential(1),
        String(coded), (coded / repl).toFixed(2)]);
      cost.rows.push([target, `${replicas} replicas`, String(replicas), lossProbability(replicas, replicas - 1, P).toExponential(1),
        String(repl), '1.00']);
      ratios.push({ name: `${k}+${s.parityShards} sat / ${replicas} replicas (same hosts lost)`, value: coded / repl,
        baseline: `${replicas} replicas`, lowerIsBetter: true });
    }
    // The same loss probability: the fewest replicas, the fewest parity shards per K.
    let replicas = 1;
    while (lossProbability(replicas, replicas - 1, P) > TARGET)
      replicas++;
    const repl = costPerGiB(replicas, over);
    const target = `P <= ${TARGET.toExponential(0)}, p = ${P}`;
    cost.rows.push([target, `${replicas} replicas`, String(replicas), lossProbability(replicas, replicas - 1, P).toExponential(1),
      String(repl), '1.00']);
    for (const k of [4, 10]) {
      let m = 0;
      while (lossProbability(k + m, m, P) > TARGET)
        m++;
      const coded = costPerGiB(k + m, over / k);
      cost.rows.push([target, `${k}+${m}`, String(k + m), lossProbability(k + m, m, P).toExponential(1), String(coded),
        (coded / repl).toFixed(2)]);
      ratios.push({ name: `${k}+${m} sat / ${replicas} replicas (P(lost) <= ${TARGET.toExponential(0)})`, value: coded / repl,
        baseline: `${replicas} replicas`, lowerIsBetter: true });
    }
    printReport({
      bench: 'redundancy',
      notes: [`${SIZE} bytes of random data; streamed copy of the object ${(objectSize / 1e6 / copyS).toFixed(0)} MB/s; `
        + `replica repair: decrypt the survivor ${decryptS.toFixed(2)} s, encrypt each new replica anew ${encryptS.toFixed(2)} s; `
        + 'repair download/upload: the bytes a repair of M lost hosts (shards) or N-1 lost (replicas) moves'],
      tables: [storage, cost],
      ratios
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
