// Adopting a renewed contract's objects: over the admin API, idempotent,
// capacity counted once, the old contract untouched and deletable, codes
// for every refusal, and an adoption cut short by a crash finished on the
// next call (the store swept at open).
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { FileServerClient, MerkleTree, ObjectStore, footprint } from '../lib/storage';
import { startServer, tempDir } from './util/fileserver';

const MiB = 1 << 20;

async function upload(store: ObjectStore, id: string, n: number, data: Buffer): Promise<void> {
  store.registerObject(id, n, { root: MerkleTree.fromData(data).root.toString('hex'), size: data.length });
  await store.writePart(id, n, 0, data.length, (async function* () { yield data; })());
}

t.test('adopt', async (t) => {
  const dir = tempDir('cc-fs-adopt-');
  const key = randomBytes(32);
  const { server, port } = await startServer(dir, key, { capacity: 64 * MiB });
  t.teardown(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const store = server.store;
  const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: key });
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const oldId = 'aa'.repeat(32);
  const newId = 'bb'.repeat(32);
  const data = [randomBytes(MiB + 5), randomBytes(3000), randomBytes(9000)];
  await client.register({ id: oldId, expiry });
  for (let i = 0; i < data.length; i++)
    await upload(store, oldId, i + 1, data[i]);
  await store.deleteObject(oldId, 3);
  await client.register({ id: newId, expiry });
  const before = await client.status();

  await t.test('should refuse by code before changing anything', async (t) => {
    const table: Array<[string, unknown, unknown, string]> = [
      ['unknown from', 'cc'.repeat(32), [1], 'unknown-contract'],
      ['itself', newId, [1], 'bad-contract'],
      ['a deleted object', oldId, [1, 3], 'unknown-object'],
      ['never registered', oldId, [9], 'unknown-object'],
      ['not a list', oldId, 'all', 'bad-object']
    ];
    for (const [name, from, objects, code] of table) {
      const err = await client.adopt(newId, from as string, objects as number[]).catch((e: { code: string }) => e);
      t.equal((err as { code: string }).code, code, name);
    }
    t.same(store.listObjects(newId), [], 'nothing adopted');
    store.registerObject(oldId, 4, { root: '11'.repeat(32), size: 100 });
    t.equal((await client.adopt(newId, oldId, [4]).catch((e: { code: string }) => e) as { code: string }).code,
      'upload-incomplete', 'an object still uploading');
    await store.deleteObject(oldId, 4);
  });

  await t.test('should adopt complete objects without copying, counting their bytes once', async (t) => {
    t.equal(await client.adopt(newId, oldId, [1, 2]), 2);
    t.equal(await client.adopt(newId, oldId, [1, 2]), 2, 'again: the same');
    const objs = store.listObjects(newId);
    t.same(objs.map((o) => [o.object, o.adoptedFrom]), [[1, oldId], [2, oldId]]);
    const a = fs.statSync(path.join(dir, 'objects', oldId, '1', 'data'));
    const b = fs.statSync(path.join(dir, 'objects', newId, '1', 'data'));
    t.equal(a.ino, b.ino, 'one copy on disk (hard link)');
    const after = await client.status();
    t.same([after.reserved, after.used], [before.reserved, before.used], 'capacity counts them once');
    t.equal((await client.receipt(newId, 2)).root, MerkleTree.fromData(data[1]).root.toString('hex'), 'a receipt in the new contract');
    t.equal((await client.registerObject(newId, 2, { root: '22'.repeat(32), size: 5 }).catch((e: { code: string }) => e) as { code: string }).code,
      'object-exists', 'the id is taken');
  });

  await t.test('should keep the new contract whole when the old one goes', async (t) => {
    await client.unregister(oldId);
    const st = await client.status();
    t.equal(st.reserved, store.getContract(newId)!.manifestLimit + footprint(data[0].length) + footprint(data[1].length),
      'now counted under the new contract');
    t.ok(fs.readFileSync(path.join(dir, 'objects', newId, '1', 'data')).equals(data[0]), 'bytes intact');
  });

  await t.test('should finish an adoption a crash cut short', async (t) => {
    const cId = 'cc'.repeat(32);
    const dId = 'dd'.repeat(32);
    await client.register({ id: cId, expiry });
    await upload(store, cId, 5, data[2]);
    await client.register({ id: dId, expiry });
    // The record written, the linked directory not yet renamed into place.
    const rec = { ...store.getObject(cId, 5)!, contract: dId, adoptedFrom: cId };
    fs.mkdirSync(path.join(dir, 'objects', dId), { recursive: true });
    fs.writeFileSync(path.join(dir, 'objects', dId, '5.json'), JSON.stringify(rec));
    fs.mkdirSync(path.join(dir, 'objects', dId, '5.tmp-adopt'));
    const reopened = new ObjectStore({ dir, capacity: 64 * MiB });
    reopened.open();
    t.notOk(fs.existsSync(path.join(dir, 'objects', dId, '5.tmp-adopt')), 'the temp directory swept');
    t.equal(reopened.objectState(dId, 5).complete, false, 'absent, not half there');
    t.equal(reopened.adopt(dId, { from: cId, objects: [5] }), 1);
    t.equal(reopened.objectState(dId, 5).complete, true, 'finished by the next call');
    t.equal(reopened.receipt(dId, 5).root, MerkleTree.fromData(data[2]).root.toString('hex'));
  });
});
