// Which manifest a restored renter trusts for each file (recovery.ts):
// the newest among those of the contracts the file names, so a file
// deleted since an older manifest stays deleted.
import t from 'tap';
import { randomBytes } from 'crypto';
import { mergeManifests } from '../lib/deals/recovery';
import { Manifest, ManifestFile, Replica } from '../lib/storage/manifest';

function file(name: string, contracts: Buffer[], fileId: Buffer = randomBytes(32)): ManifestFile {
  const f = new ManifestFile();
  f.fileId = fileId;
  f.name = Buffer.from(name);
  f.size = 10;
  for (const c of contracts) {
    const r = new Replica();
    r.contractId = c;
    f.replicas.push(r);
  }
  return f;
}

function manifest(updated: number, files: ManifestFile[]): Manifest {
  const m = new Manifest();
  m.updated = updated;
  m.files = files;
  return m;
}

t.test('mergeManifests', async (t) => {
  const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const kept = file('kept', [a, b]);
  const deleted = file('deleted', [a, c]);
  const other = file('other', [c]);
  // A holds an old manifest listing both; C was re-sealed after `deleted` was removed; B never held `deleted`.
  const merged = mergeManifests([
    { contractId: a, manifest: manifest(100, [kept, deleted]) },
    { contractId: b, manifest: manifest(150, [kept]) },
    { contractId: c, manifest: manifest(200, [other]) }
  ]);
  t.same(merged.files.map((f) => f.name.toString()).sort(), ['kept', 'other']);
  t.equal(merged.deleted, 1, 'the newest manifest of its contracts no longer lists it');

  // A repair added a replica: the newest entry (more replicas) wins.
  const grown = file('grown', [a, b, c], kept.fileId);
  const m2 = mergeManifests([
    { contractId: a, manifest: manifest(100, [kept]) },
    { contractId: c, manifest: manifest(300, [grown]) }
  ]);
  t.equal(m2.files[0].replicas.length, 3, 'the newest entry of the file');
  t.same(m2.updated, [300], 'with the time of the manifest it came from (a known file found in an older one is replaced)');

  // A file whose contracts gave no manifest but which another lists is kept (nothing newer says otherwise).
  const lone = file('lone', [randomBytes(32)]);
  t.same(mergeManifests([{ contractId: a, manifest: manifest(1, [lone]) }]).files.length, 1);
  t.same(mergeManifests([]), { files: [], updated: [], deleted: 0 });
});
