// The renter's bookkeeping of chunk references (lib/deals/deltarefs.ts):
// a proposed chunk map naming an object the contract does not hold, or
// with key material no stored file gives it, is refused; a removal keeps
// the objects later versions read and frees the rest; an object left by a
// removed version is charged to exactly one kept version.
import t from 'tap';
import { randomBytes } from 'crypto';
import { ChunkMap, ManifestFile, PLAIN_CHUNK_SIZE, Replica, cipherSize } from '../lib/storage';
import { asSource, checkSources, inherited, removals } from '../lib/deals/deltarefs';

const contract = randomBytes(32);
const SIZE = 4 * PLAIN_CHUNK_SIZE;

function version(revision: number, object: number, objectSize: number, chunks: ChunkMap | null = null): ManifestFile {
  const f = new ManifestFile();
  f.fileId = randomBytes(32);
  f.revision = revision;
  f.name = Buffer.from('a');
  f.size = SIZE;
  const r = new Replica();
  r.contractId = contract;
  r.object = object;
  r.salt = randomBytes(32);
  r.objectSize = objectSize;
  r.chunks = chunks;
  f.replicas = [r];
  return f;
}

/** v0 whole (object 1); v1 changes chunk 2 (object 2); v2 changes chunk 3 (object 3), reading v1's chunk 2 too. */
function history(): ManifestFile[] {
  const v0 = version(0, 1, cipherSize(SIZE));
  const m1 = new ChunkMap();
  m1.sources = [asSource(v0, v0.replicas[0])];
  m1.runs = [{ from: 1, first: 0, count: 2 }, { from: 0, first: 0, count: 1 }, { from: 1, first: 3, count: 1 }];
  const v1 = version(1, 2, cipherSize(PLAIN_CHUNK_SIZE), m1);
  const m2 = new ChunkMap();
  m2.sources = [asSource(v0, v0.replicas[0]), asSource(v1, v1.replicas[0])];
  m2.runs = [{ from: 1, first: 0, count: 2 }, { from: 2, first: 0, count: 1 }, { from: 0, first: 0, count: 1 }];
  const v2 = version(2, 3, cipherSize(PLAIN_CHUNK_SIZE), m2);
  return [v0, v1, v2];
}

t.test('a chunk map naming an unknown or mismatched object is refused', async (t) => {
  const [v0, v1, v2] = history();
  const held = [1, 2, 3].map((id, i) => ({ id, root: Buffer.alloc(32), size: [v0, v1, v2][i].replicas[0].objectSize, fileId: Buffer.alloc(32) }));
  const map = v2.replicas[0].chunks as ChunkMap;
  t.doesNotThrow(() => checkSources(map, contract, held, [v0, v1]));
  t.throws(() => checkSources(map, contract, held.filter((o) => o.id !== 2), [v0, v1]),
    { code: 'bad-chunk-map', message: /names object 2, which contract .* does not hold/ }, 'an object the contract does not hold');
  const wrongSalt = new ChunkMap();
  wrongSalt.sources = [{ ...map.sources[0], salt: randomBytes(32) }];
  t.throws(() => checkSources(wrongSalt, contract, held, [v0, v1]), { code: 'bad-chunk-map', message: /no stored file of ours/ },
    'key material no stored file gives the object');
  const wrongSize = new ChunkMap();
  wrongSize.sources = [{ ...map.sources[0], objectSize: map.sources[0].objectSize + 16 }];
  t.throws(() => checkSources(wrongSize, contract, held, [v0, v1]), { code: 'bad-chunk-map' }, 'another size');
  t.throws(() => checkSources(map, randomBytes(32), [], [v0, v1]), { code: 'bad-chunk-map' }, 'another contract');
});

t.test('removals keep what kept versions read; left objects are charged once', async (t) => {
  const [v0, v1, v2] = history();
  const all = [v0, v1, v2];
  const plan = (f: ManifestFile, files: ManifestFile[]) => removals(f, files).get(f.replicas[0]);
  t.same(plan(v0, all), { remove: [], referenced: [1] }, 'version 0: read by 1 and 2, kept');
  t.same(plan(v2, all), { remove: [3], referenced: [1, 2] }, 'version 2: only its own object goes');
  t.same(plan(v1, [v1, v2]), { remove: [], referenced: [2, 1] }, 'version 1 after 0 went: both read by 2');
  t.same(plan(v2, [v2]), { remove: [3, 1, 2], referenced: [] }, 'the last version takes every object it read');
  const heirs = inherited([v1, v2]);
  t.same([...heirs.entries()].map(([k, v]) => [k.split('/')[1], v.fileId]), [['1', v1.fileId.toString('hex')]],
    'version 0\'s object is charged to version 1 only');
  t.same(inherited(all).size, 0, 'nothing is left behind while every owner is stored');
});
