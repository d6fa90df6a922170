// The renter's file book against a restore from the seed (renterfiles.ts):
// the newest manifest state of a file wins across recovery runs, a
// manifest lists only paid-for copies (no put still uploading or
// interrupted), and a recovered copy its host does not hold is dropped.
import t from 'tap';
import * as fs from 'fs';
import { randomBytes } from 'crypto';
import { DealStore } from '../lib/deals/dealstore';
import { PendingRevision, RenterContract } from '../lib/deals/dealrecords';
import { RenterFiles } from '../lib/deals/renterfiles';
import { ManifestFile, Replica } from '../lib/storage/manifest';
import { tempDir } from './util/nodes-context';

function file(name: string, replicas: Array<[Buffer, number]>, fileId: Buffer = randomBytes(32)): ManifestFile {
  const f = new ManifestFile();
  f.fileId = fileId;
  f.name = Buffer.from(name);
  f.size = 10;
  for (const [id, object] of replicas) {
    const r = new Replica();
    r.contractId = id;
    r.object = object;
    f.replicas.push(r);
  }
  return f;
}

t.test('recovered files and the manifest', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new DealStore({ datadir: dir, memory: true });
  await store.open();
  t.teardown(() => store.close());
  const committed = new Set<string>();
  const files = new RenterFiles({
    store, height: () => 500, contractInfo: async () => null,
    hasCommitment: async (id) => committed.has(id.toString('hex')),
    commit: async () => [], addressOf: (pk) => pk.toString('hex'), reachable: () => false, release: () => {},
    givenUpAt: async () => null,
    leaseExpires: () => null
  });

  await t.test('a newer manifest\'s entry replaces one an earlier run found', async (t) => {
    const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const old = file('big.bin', [[a, 1], [b, 1]]);
    t.equal(await files.adopt(old, 100), 'new');
    t.equal(await files.adopt(file('big.bin', [[b, 1], [c, 1]], old.fileId), 90), 'known', 'an older manifest changes nothing');
    const repaired = file('big.bin', [[a, 1], [b, 1], [c, 1]], old.fileId);
    t.equal(await files.adopt(repaired, 200), 'newer', 'the repair\'s manifest wins');
    t.equal((await store.getFile(old.fileId))?.replicas.length, 3);
    t.equal(await files.adopt(repaired, 300), 'known', 'the same entry again is not a change');
    // A file this node changed itself is its own: no manifest replaces it.
    await store.putFile(old);
    t.equal(await files.adopt(repaired, 400), 'known');
    t.equal((await store.getFile(old.fileId))?.replicas.length, 2);
  });

  await t.test('a manifest lists only paid-for copies', async (t) => {
    const mine = new RenterContract();
    mine.contract.escrowValue = 11111;
    const fresh = new RenterContract();
    fresh.contract.escrowValue = 22222;
    const [m, n] = [mine.contract.hash(), fresh.contract.hash()];
    committed.add(m.toString('hex'));
    await store.putRenterContract(mine);
    await store.putRenterContract(fresh);
    const p = new PendingRevision();
    p.add = [{ id: 5, root: Buffer.alloc(32), size: 10, fileId: Buffer.alloc(32) }];
    await store.putPending(m, p);
    const other = randomBytes(32);
    const uploading = file('uploading.bin', [[m, 5]]);
    const unpaid = file('unpaid.bin', [[n, 1]]);
    const half = file('half.bin', [[m, 4], [m, 5]]);
    const recovered = file('recovered.bin', [[other, 3]]);
    for (const f of [uploading, unpaid, half, recovered])
      await store.putFile(f);
    const listed = (await files.manifest()).files;
    const names = listed.map((f) => f.name.toString()).sort();
    t.notOk(names.includes('uploading.bin'), 'a put whose copies are all in flight is not listed');
    t.notOk(names.includes('unpaid.bin'), 'nor one in a new contract never committed');
    t.same(listed.find((f) => f.name.toString() === 'half.bin')?.replicas.map((r) => r.object), [4], 'only the copy paid for');
    t.ok(names.includes('recovered.bin'), 'a copy not taken over yet stays');
  });

  await t.test('a recovered copy its host does not hold is dropped after the takeover', async (t) => {
    const rc = new RenterContract();
    rc.contract.escrowValue = 33333;
    const id = rc.contract.hash();
    await store.putRenterContract(rc);
    const ghost = file('ghost.bin', [[id, 9]]);
    t.equal(await files.adopt(ghost, 100), 'new');
    const own = file('own.bin', [[id, 8]]);
    await store.putFile(own);
    t.equal(await files.dropUnheld(id), 1);
    t.equal(await store.getFile(ghost.fileId), null, 'the never-uploaded put is gone');
    t.ok(await store.getFile(own.fileId), 'a file this node wrote is untouched');
  });
});
