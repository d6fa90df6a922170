// Reed-Solomon shards: pinned parity, every K-of-N subset rebuilds, file coders stream stripe by stripe.
import t, { Test } from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import {
  ManifestFile, Replica, STRIPE_UNIT, StorageError, schemes, checkScheme, decodeShards, encodeShards, encodeStripe, rebuildShards, reconstructStripe,
  shardSize, type ShardScheme
} from '../lib/storage';

function tmpdir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-erasure-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every k-element subset of 0..n-1. */
function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const walk = (from: number, acc: number[]): void => {
    if (acc.length === k) {
      out.push([...acc]);
      return;
    }
    for (let i = from; i < n; i++)
      walk(i + 1, [...acc, i]);
  };
  walk(0, []);
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('encodeStripe', async (t) => {
  t.test('should give the Backblaze-matrix parity (pinned; the pure-JS Backblaze port gives the same)', async (t) => {
    const data = ['00010203', '04050607', '08090a0b', '0c0d0e0f'].map((h) => Buffer.from(h, 'hex'));
    t.same(encodeStripe(data, 2).map(hex), ['10111213', '14151617']);
    t.same(encodeStripe([Buffer.from('0102', 'hex'), Buffer.from('0304', 'hex')], 1).map(hex), ['050e']);
  });

  t.test('should refuse pieces of different lengths', async (t) => {
    t.throws(() => encodeStripe([Buffer.alloc(4), Buffer.alloc(5)], 1), { code: 'bad-size' });
  });
});

t.test('reconstructStripe', async (t) => {
  for (const s of [{ dataShards: 2, parityShards: 1 }, { dataShards: 4, parityShards: 2 }, { dataShards: 10, parityShards: 4 }]) {
    t.test(`should rebuild all ${s.dataShards}+${s.parityShards} shards from every subset of ${s.dataShards}`, async (t) => {
      const data = Array.from({ length: s.dataShards }, () => randomBytes(64));
      const all = [...data, ...encodeStripe(data, s.parityShards)].map(hex);
      let bad = 0;
      const combos = subsets(s.dataShards + s.parityShards, s.dataShards);
      for (const keep of combos) {
        const pieces = all.map((h, i) => (keep.includes(i) ? Buffer.from(h, 'hex') : null));
        if (reconstructStripe(pieces, s).map(hex).join() !== all.join())
          bad++;
      }
      t.equal(bad, 0, `${combos.length} subsets`);
    });
  }

  t.test('should refuse fewer than K shards', async (t) => {
    const s = { dataShards: 2, parityShards: 1 };
    t.throws(() => reconstructStripe([Buffer.alloc(4), null, null], s), { code: 'too-few-shards' });
  });
});

t.test('checkScheme', async (t) => {
  for (const [k, m] of [[0, 1], [1, 0], [33, 1], [32, 33], [1.5, 1], [-1, 2]])
    t.throws(() => checkScheme({ dataShards: k, parityShards: m }), StorageError, `${k}+${m}`);
  checkScheme({ dataShards: 32, parityShards: 32 });
  checkScheme({ dataShards: 1, parityShards: 1 });
});

t.test('file coders', async (t) => {
  const cases: Array<[string, number, ShardScheme]> = [
    ['a tiny object, shorter than K', 3, { dataShards: 4, parityShards: 2 }],
    ['several stripes with a short last one and padding', 2 * STRIPE_UNIT * 2 + 12345, { dataShards: 2, parityShards: 1 }],
    ['10+4 over three stripes', 10 * STRIPE_UNIT * 2 + 7, { dataShards: 10, parityShards: 4 }]
  ];
  for (const [what, size, s] of cases) {
    t.test(`should split and rebuild ${what}`, async (t) => {
      const dir = tmpdir(t);
      const obj = path.join(dir, 'object');
      fs.writeFileSync(obj, randomBytes(size));
      const n = s.dataShards + s.parityShards;
      const shards = Array.from({ length: n }, (_, i) => path.join(dir, `shard-${i}`));
      const done: number[] = [];
      const res = await encodeShards(obj, size, s, shards, { progress: (d) => done.push(d) });
      t.equal(res.shardSize, shardSize(size, s.dataShards));
      t.equal(done[done.length - 1], size, 'progress reaches the object size');
      for (const f of shards)
        t.equal(fs.statSync(f).size, res.shardSize);
      // Data shards are the object's bytes in order, the last one zero-padded.
      const want = fs.readFileSync(obj);
      const cat = Buffer.concat(shards.slice(0, s.dataShards).map((f) => fs.readFileSync(f)));
      t.ok(cat.subarray(0, size).equals(want), 'data shards are the object split');
      t.ok(cat.subarray(size).every((b) => b === 0), 'padding is zeros');
      // Lose the first M shards (data: the costly case) and rebuild.
      const lost = shards.map((f, i) => (i < s.parityShards ? null : f));
      const out = path.join(dir, 'rebuilt');
      await decodeShards(lost, s, size, out);
      t.ok(fs.readFileSync(out).equals(want), 'the object rebuilds from the survivors');
      // All data shards present: the concatenation path.
      await decodeShards(shards, s, size, out);
      t.ok(fs.readFileSync(out).equals(want), 'the object rebuilds from its data shards');
      // A repair: rebuild shard 0 (and the last parity shard when M allows) from the others.
      const targets = [0, n - 1].slice(0, s.parityShards);
      const repaired = targets.map((i) => path.join(dir, `repaired-${i}`));
      await rebuildShards(shards.map((f, i) => (targets.includes(i) ? null : f)), s, size, targets, repaired);
      targets.forEach((ti, j) => t.ok(fs.readFileSync(repaired[j]).equals(fs.readFileSync(shards[ti])), `shard ${ti} rebuilt`));
      t.same(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp files left');
    });
  }

  t.test('should refuse too few shards or a shard of the wrong size, leaving no output', async (t) => {
    const dir = tmpdir(t);
    const s = { dataShards: 2, parityShards: 1 };
    const obj = path.join(dir, 'object');
    fs.writeFileSync(obj, randomBytes(5000));
    const shards = [0, 1, 2].map((i) => path.join(dir, `shard-${i}`));
    await encodeShards(obj, 5000, s, shards);
    const out = path.join(dir, 'out');
    await t.rejects(decodeShards([shards[0], null, null], s, 5000, out), { code: 'too-few-shards' });
    fs.truncateSync(shards[1], 100);
    await t.rejects(decodeShards([shards[0], shards[1], null], s, 5000, out), { code: 'bad-size' });
    t.notOk(fs.existsSync(out));
    t.same(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});

t.test('ManifestFile scheme 2', async (t) => {
  const make = (coded: boolean): ManifestFile => {
    const f = new ManifestFile();
    f.fileId = Buffer.alloc(32, 7);
    f.revision = 3;
    f.name = Buffer.from('a.bin');
    f.size = 1000;
    for (let i = 0; i < 3; i++) {
      const r = new Replica();
      r.contractId = Buffer.alloc(32, i + 1);
      r.object = i + 1;
      r.hostPk = Buffer.alloc(33, 2);
      r.objectSize = 508;
      r.shard = coded ? i : 0;
      f.replicas.push(r);
    }
    if (coded) {
      f.scheme = schemes.AES256GCM_1M_RS;
      f.dataShards = 2;
      f.parityShards = 1;
    }
    return f;
  };

  t.test('should keep scheme 1 entries byte for byte as before (no shard fields)', async (t) => {
    const raw = make(false).encode();
    t.equal(raw.length, 32 + 4 + 1 + 5 + 8 + 1 + 1 + 3 * 141);
    t.equal(raw[32 + 4 + 1 + 5 + 8], 1, 'scheme 1');
    const back = ManifestFile.decode(raw);
    t.notOk(back.coded);
    t.same([back.dataShards, back.parityShards], [0, 0]);
  });

  t.test('should round-trip K, M and each replica\'s shard', async (t) => {
    const raw = make(true).encode();
    t.equal(raw.length, make(false).encode().length + 2 + 3, 'two scheme bytes and one shard byte per entry');
    const back = ManifestFile.decode(raw);
    t.ok(back.coded);
    t.same([back.dataShards, back.parityShards], [2, 1]);
    t.same(back.replicas.map((r) => r.shard), [0, 1, 2]);
    t.ok(back.encode().equals(raw));
  });

  t.test('should reject bad schemes and shard indexes', async (t) => {
    const raw = make(true).encode();
    const at = 32 + 4 + 1 + 5 + 8;
    const bad = (edit: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(raw);
      edit(b);
      return b;
    };
    t.throws(() => ManifestFile.decode(bad((b) => { b[at] = 3; })), { code: 'bad-manifest' }, 'unknown scheme');
    t.throws(() => ManifestFile.decode(bad((b) => { b[at + 1] = 0; })), { code: 'bad-manifest' }, 'K = 0');
    t.throws(() => ManifestFile.decode(bad((b) => { b[at + 2] = 0; })), { code: 'bad-manifest' }, 'M = 0');
    t.throws(() => ManifestFile.decode(bad((b) => { b[at + 1] = 40; })), { code: 'bad-manifest' }, 'K = 40');
    t.throws(() => ManifestFile.decode(bad((b) => { b[b.length - 1] = 3; })), { code: 'bad-manifest' }, 'shard 3 of 2+1');
  });
});
