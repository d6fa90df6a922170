// Chunk maps of delta versions (manifest scheme 3): encoding, the checks
// that reject a malformed or hostile reference, and chunk fingerprints.
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import {
  CHUNK_SIZE, ChunkMap, Manifest, ManifestFile, PLAIN_CHUNK_SIZE, PRINT_SIZE, Replica, cipherSize, checkChunkMap, chunkPrints,
  locate, printIndex, schemes
} from '../lib/storage';

const MiB = PLAIN_CHUNK_SIZE;

function replica(object: number, size: number): Replica {
  const r = new Replica();
  r.contractId = Buffer.alloc(32, 1);
  r.object = object;
  r.hostPk = Buffer.alloc(33, 2);
  r.salt = Buffer.alloc(32, 3);
  r.root = Buffer.alloc(32, 4);
  r.objectSize = size;
  return r;
}

/** Version 1 of a 10-chunk file: chunk 4 new (own object, 1 chunk), the rest in object 1 (version 0, 10 chunks). */
function deltaMap(): ChunkMap {
  const m = new ChunkMap();
  m.sources = [{ object: 1, fileId: Buffer.alloc(32, 9), revision: 0, salt: Buffer.alloc(32, 8), objectSize: cipherSize(10 * MiB - 100) }];
  m.runs = [{ from: 1, first: 0, count: 4 }, { from: 0, first: 0, count: 1 }, { from: 1, first: 5, count: 5 }];
  return m;
}

t.test('a scheme-3 manifest round-trips; a file without references stays scheme 1', async (t) => {
  const size = 10 * MiB - 100;
  const f = new ManifestFile();
  f.fileId = randomBytes(32);
  f.revision = 1;
  f.name = Buffer.from('log.db');
  f.size = size;
  const whole = replica(7, cipherSize(size));
  f.replicas = [whole];
  t.equal(f.encode()[32 + 4 + 1 + 6 + 8], schemes.AES256GCM_1M, 'no chunk map: written as scheme 1, byte for byte');
  const d = replica(2, cipherSize(MiB));
  d.contractId = Buffer.alloc(32, 5);
  d.chunks = deltaMap();
  f.replicas.push(d);
  const raw = f.encode();
  t.equal(raw.length, f.getSize());
  t.equal(raw[32 + 4 + 1 + 6 + 8], schemes.AES256GCM_1M_DELTA);
  const back = ManifestFile.decode(raw);
  t.equal(back.scheme, schemes.AES256GCM_1M_DELTA);
  t.equal(back.replicas[0].chunks, null, 'the whole replica reads back without a map');
  t.same(back.replicas[1].chunks?.getJSON(), d.chunks.getJSON());
  t.same(locate(back.replicas[1].chunks as ChunkMap, 4), { from: 0, chunk: 0 });
  t.same(locate(back.replicas[1].chunks as ChunkMap, 9), { from: 1, chunk: 9 });
  const m = new Manifest();
  m.files = [f];
  const master = randomBytes(32);
  t.same(Manifest.open(master, m.seal(master)).getJSON(), m.getJSON());
});

t.test('hostile or malformed chunk maps are rejected with a clear error', async (t) => {
  const size = 10 * MiB - 100;
  const own = cipherSize(MiB);
  const reject = (change: (m: ChunkMap) => void, match: RegExp, what: string) => {
    const m = deltaMap();
    change(m);
    t.throws(() => checkChunkMap(m, size, 2, own), { code: 'bad-manifest', message: match }, what);
    // And through a manifest decode (the same check runs on every read).
    const f = new ManifestFile();
    f.size = size;
    const r = replica(2, own);
    r.chunks = m;
    f.replicas = [r];
    t.throws(() => ManifestFile.decode(f.encode()), { code: 'bad-manifest' }, `${what} (decode)`);
  };
  t.doesNotThrow(() => checkChunkMap(deltaMap(), size, 2, own));
  reject((m) => { m.runs[2].first = 6; }, /chunks 6\.\.10 of object 1, which has 10/, 'chunk index out of range');
  reject((m) => { m.runs[0].from = 2; }, /reads source 2, the map lists 1/, 'a run naming an unknown object');
  reject((m) => { m.sources[0].object = 2; }, /cannot be a source/, 'the own object as a source');
  reject((m) => { m.sources[0].object = 0; }, /cannot be a source/, 'the manifest (object 0) as a source');
  reject((m) => { m.sources.push({ ...m.sources[0] }); }, /cannot be a source/, 'an object named twice');
  reject((m) => { m.sources[0].objectSize = CHUNK_SIZE + 3; }, /no file encrypts to/, 'a source size no plaintext makes');
  reject((m) => { m.runs[2].count = 4; }, /runs hold 9 chunks, the file has 10/, 'too few chunks');
  reject((m) => { m.runs[2].count = 6; }, /holds 6 chunks where the file has 5 left/, 'too many chunks');
  reject((m) => { m.runs[1].count = 0; }, /holds 0 chunks/, 'an empty run');
  reject((m) => { m.runs = [{ from: 1, first: 0, count: 4 }, { from: 1, first: 9, count: 1 }, { from: 1, first: 5, count: 5 }]; },
    /ends on a chunk of .* where the file's chunk 4 has/, 'the short last chunk placed mid-file');
  reject((m) => { m.runs[1] = { from: 1, first: 4, count: 1 }; }, /use 0 of the own object's 1 chunks/, 'the own object unused');
  t.throws(() => checkChunkMap(deltaMap(), size, 2, cipherSize(2 * MiB)), { code: 'bad-manifest', message: /use 1 of the own object's 2/ });
  // Counts beyond the limits are refused before anything is allocated.
  const huge = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f]);
  t.throws(() => ChunkMap.decode(huge), { code: 'bad-manifest', message: /earlier objects, at most 64/ });
  t.throws(() => ChunkMap.decode(Buffer.from([0x00, 0xfe, 0xff, 0xff, 0xff, 0x7f])), { code: 'bad-manifest', message: /runs in/ });
});

t.test('chunk fingerprints: keyed, one per plaintext chunk, equal for equal chunks', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-delta-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const data = randomBytes(3 * MiB + 10);
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  fs.writeFileSync(a, data);
  const changed = Buffer.from(data);
  changed[MiB + 5] ^= 1;
  fs.writeFileSync(b, Buffer.concat([changed, Buffer.from('appended')]));
  const key = randomBytes(32);
  const pa = await chunkPrints(key, a);
  const pb = await chunkPrints(key, b);
  t.equal(pa.length, 4 * PRINT_SIZE);
  const ia = printIndex(pa);
  const same = [0, 1, 2, 3].map((i) => ia.get(pb.subarray(i * PRINT_SIZE, (i + 1) * PRINT_SIZE).toString('hex')) ?? null);
  t.same(same, [0, null, 2, null], 'chunk 1 changed, the short last chunk grew');
  t.not((await chunkPrints(randomBytes(32), a)).toString('hex'), pa.toString('hex'), 'another key, other prints');
});
