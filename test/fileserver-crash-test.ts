// Crash safety: kill -9 the file server in the middle of an upload; after a
// restart no partial object is visible, earlier data is intact, and the
// upload resumes from the last complete part (parts are not fsynced; what
// a power loss keeps is re-checked by length). Also checks the admin key is
// created, printed and stored on first start.
import t from 'tap';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { PassThrough, Readable } from 'stream';
import {
  FileServerClient, MerkleTree, ObjectStore, TokenFields, TreeWriter, buildTreeBlocks, fullTreeBlocks, hashLeaves
} from '../lib/storage';
import { ServerProcess, raw, tempDir } from './util/fileserver';
import { forValue } from './util/wait';

const MiB = 1 << 20;

t.test('file server crash safety', async (t) => {
  const dir = tempDir('cc-fs-crash-');
  const sp = new ServerProcess(dir);
  t.teardown(async () => {
    await sp.kill9();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await sp.start();
  const m = /admin key[^\n]*\n\s+([0-9a-f]{64})/.exec(sp.stdout);
  t.ok(m, 'admin key printed on first start');
  const key = Buffer.from(m![1], 'hex');
  t.equal(fs.readFileSync(path.join(dir, 'admin.key'), 'utf8').trim(), m![1], 'and stored');
  let client = new FileServerClient(`http://127.0.0.1:${sp.port}`, { adminKey: key });
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const tok = (contract: string, op: 'get' | 'put', object = 1): string => client.mintToken({
    contract, op, object, notAfter: expiry, maxBytes: 2 ** 40, renterPkHash: '33'.repeat(20)
  } as TokenFields);

  // Earlier data: contract A complete, with a manifest.
  const a = randomBytes(3 * MiB + 17);
  const aId = randomBytes(32).toString('hex');
  await client.register({ id: aId, expiry });
  await client.registerObject(aId, 1, { root: MerkleTree.fromData(a).root.toString('hex'), size: a.length });
  const aFile = path.join(dir, '..', `${path.basename(dir)}-a.bin`);
  fs.writeFileSync(aFile, a);
  t.teardown(() => fs.rmSync(aFile, { force: true }));
  await client.uploadFile(tok(aId, 'put'), aId, 1, aFile);
  const manifest = randomBytes(777);
  await client.putManifest(tok(aId, 'put', 0), aId, manifest);

  // Contract B: one part durable, the second in flight when the server dies.
  const b = randomBytes(20 * MiB + 5);
  const bId = randomBytes(32).toString('hex');
  await client.register({ id: bId, expiry });
  await client.registerObject(bId, 1, { root: MerkleTree.fromData(b).root.toString('hex'), size: b.length });
  await client.putPart(tok(bId, 'put'), bId, 1, 0, b.subarray(0, 8 * MiB));
  const req = http.request({
    host: '127.0.0.1', port: sp.port, method: 'PUT', path: `/v1/${bId}/1?offset=${8 * MiB}`,
    headers: { authorization: `CC-Token ${tok(bId, 'put')}`, 'content-length': 8 * MiB }
  });
  req.on('error', () => {});
  req.write(b.subarray(8 * MiB, 12 * MiB));
  const partial = path.join(dir, 'uploads', bId, '1', 'data');
  await forValue(() => fs.existsSync(partial) ? fs.statSync(partial).size : 0, (n) => n > 8 * MiB, 20000, 'part 2 bytes on disk');
  await sp.kill9();
  req.destroy();

  // Restart without --admin-key: the stored key is used.
  await sp.start();
  t.notMatch(sp.stdout, /admin key/, 'no new key on restart');
  client = new FileServerClient(`http://127.0.0.1:${sp.port}`, { adminKey: key });
  const st = await client.uploadStatus(tok(bId, 'put'), bId, 1);
  t.same([st.received, st.complete], [8 * MiB, false], 'only the durable part counts');
  const get = await raw(sp.port, 'GET', `/v1/${bId}/1`, { headers: { authorization: `CC-Token ${tok(bId, 'get')}`, range: 'bytes=0-9' } });
  t.equal(get.json.error?.code, 'object-not-found', 'no partial object visible');
  await t.rejects(client.receipt(bId, 1), { code: 'upload-incomplete' });

  // Earlier data intact.
  const outA = `${aFile}.out`;
  t.teardown(() => fs.rmSync(outA, { force: true }));
  await client.downloadFile(tok(aId, 'get'), aId, 1, outA);
  t.ok(fs.readFileSync(outA).equals(a), 'contract A bytes intact');
  t.same(await client.download(tok(aId, 'get', 0), aId, 0), manifest, 'manifest intact');
  t.equal((await client.receipt(aId, 1)).root, MerkleTree.fromData(a).root.toString('hex'));

  // Resume B to completion.
  const bFile = `${aFile}.b`;
  t.teardown(() => fs.rmSync(bFile, { force: true }));
  fs.writeFileSync(bFile, b);
  const done = await client.uploadFile(tok(bId, 'put'), bId, 1, bFile);
  t.equal(done.complete, true, 'upload resumed and completed');
  t.equal((await client.receipt(bId, 1)).size, b.length);
  const tail = await client.download(tok(bId, 'get'), bId, 1, b.length - 100);
  t.same(tail, b.subarray(b.length - 100));
});

t.test('ObjectStore completion and removal', async (t) => {
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const setup = (size: number) => {
    const dir = tempDir('cc-store-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const store = new ObjectStore({ dir, capacity: 1 << 30 });
    store.open();
    const data = randomBytes(size);
    const id = randomBytes(32).toString('hex');
    store.register({ id, expiry });
    store.registerObject(id, 1, { root: MerkleTree.fromData(data).root.toString('hex'), size });
    return { dir, store, data, id };
  };
  const part = (buf: Buffer) => Readable.from(buf.length ? [buf] : []);

  t.test('should let the client re-send a last part whose completion failed', async (t) => {
    const { dir, store, data, id } = setup(3 * 4096 + 10);
    await store.writePart(id, 1, 0, 8192, part(data.subarray(0, 8192)));
    // A file where objects/<id>/1 must go: the rename into place fails.
    fs.writeFileSync(path.join(dir, 'objects', id, '1'), '');
    await t.rejects(store.writePart(id, 1, 8192, data.length - 8192, part(data.subarray(8192))), { code: 'ENOTDIR' });
    t.same([store.objectState(id, 1).received, store.objectState(id, 1).complete], [8192, false], 'the last part is not recorded');
    fs.rmSync(path.join(dir, 'objects', id, '1'));
    const st = await store.writePart(id, 1, 8192, data.length - 8192, part(data.subarray(8192)));
    t.same([st.received, st.complete], [data.length, true], 'sent again, it completes');
    t.equal(store.receipt(id, 1).size, data.length);
    t.notOk(fs.existsSync(path.join(dir, 'objects', id, '1', 'state.json')), 'no state.json in the object');
    t.notOk(fs.existsSync(path.join(dir, 'uploads', id)), 'upload directory gone');
  });

  t.test('should finish an upload left with every byte on open, receipt and writePart', async (t) => {
    // What an older version left when it died between recording the last
    // part and moving the object into place.
    const wedge = async (s: { dir: string; store: ObjectStore; data: Buffer; id: string }) => {
      await s.store.writePart(s.id, 1, 0, 4096, part(s.data.subarray(0, 4096)));
      const up = path.join(s.dir, 'uploads', s.id, '1');
      const fd = fs.openSync(path.join(up, 'data'), 'r+');
      fs.writeSync(fd, s.data.subarray(4096), 0, s.data.length - 4096, 4096);
      fs.closeSync(fd);
      const tfd = fs.openSync(path.join(up, 'tree'), 'r+');
      new TreeWriter(tfd, s.data.length).putLeaves(1, hashLeaves(s.data.subarray(4096), 1));
      buildTreeBlocks(tfd, s.data.length, fullTreeBlocks(s.data.length, 4096), fullTreeBlocks(s.data.length, s.data.length));
      fs.closeSync(tfd);
      fs.writeFileSync(path.join(up, 'state.json'), JSON.stringify({ received: s.data.length }));
    };
    const a = setup(2 * 4096 + 3);
    await wedge(a);
    const reopened = new ObjectStore({ dir: a.dir, capacity: 1 << 30 });
    reopened.open();
    t.equal(reopened.objectState(a.id, 1).complete, true, 'open() finished it');
    t.equal(reopened.receipt(a.id, 1).root, MerkleTree.fromData(a.data).root.toString('hex'));

    const b = setup(2 * 4096 + 3);
    await wedge(b);
    t.equal(b.store.receipt(b.id, 1).size, b.data.length, 'receipt() finished it');

    const c = setup(2 * 4096 + 3);
    await wedge(c);
    await t.rejects(c.store.writePart(c.id, 1, 4096, c.data.length - 4096, part(c.data.subarray(4096))), { code: 'already-complete' },
      'writePart() finished it');
    t.equal(c.store.objectState(c.id, 1).complete, true);
  });

  t.test('should resume from what a power loss kept: lengths re-checked, lost hashes never complete', async (t) => {
    // Parts are not fsynced: a power loss can leave state.json ahead of the
    // data file, or a tree file with leaf hashes that never reached the disk.
    const a = setup(6 * 4096 + 5);
    await a.store.writePart(a.id, 1, 0, 8192, part(a.data.subarray(0, 8192)));
    await a.store.writePart(a.id, 1, 8192, 8192, part(a.data.subarray(8192, 16384)));
    const up = path.join(a.dir, 'uploads', a.id, '1');
    fs.truncateSync(path.join(up, 'data'), 12000);
    t.equal(a.store.objectState(a.id, 1).received, 8192, 'received: the data file\'s whole leaves, not the record');
    await t.rejects(a.store.writePart(a.id, 1, 16384, a.data.length - 16384, part(a.data.subarray(16384))), { code: 'bad-offset', detail: { received: 8192 } });
    const st = await a.store.writePart(a.id, 1, 8192, a.data.length - 8192, part(a.data.subarray(8192)));
    t.same([st.received, st.complete], [a.data.length, true], 'resumed from there, it completes');
    t.equal(a.store.receipt(a.id, 1).root, MerkleTree.fromData(a.data).root.toString('hex'));

    const b = setup(3 * 4096 + 5);
    await b.store.writePart(b.id, 1, 0, 8192, part(b.data.subarray(0, 8192)));
    const tfd = fs.openSync(path.join(b.dir, 'uploads', b.id, '1', 'tree'), 'r+');
    fs.writeSync(tfd, Buffer.alloc(32), 0, 32, 44);
    fs.closeSync(tfd);
    await t.rejects(b.store.writePart(b.id, 1, 8192, b.data.length - 8192, part(b.data.subarray(8192))), { code: 'root-mismatch' },
      'a lost leaf hash fails the root check');
    t.equal(b.store.objectState(b.id, 1).complete, false, 'nothing visible');
    t.notOk(fs.existsSync(path.join(b.dir, 'uploads', b.id, '1')), 'the upload is deleted: the renter sends it again');
  });

  t.test('should store the same tree file whatever the part layout, on workers or inline', async (t) => {
    // Whole 1 MiB blocks at 1 MiB offsets get their subtrees from the
    // workers; parts at other offsets, or tree blocks straddling parts,
    // are built from leaf hashes. Every layout must give the same file.
    const size = 20 * MiB + 5;
    const data = randomBytes(size);
    const layouts: Record<string, number[]> = {
      '8 MiB parts': [8 * MiB, 8 * MiB],
      '1 MiB parts': Array(19).fill(MiB),
      '3 MiB then 5 MiB': [3 * MiB, 5 * MiB, 3 * MiB, 5 * MiB],
      'off 1 MiB by a leaf': [3 * 4096, 8 * MiB, 8 * MiB],
      '1 MiB + a leaf': [MiB + 4096, 7 * MiB - 4096, 8 * MiB]
    };
    const trees: Buffer[] = [];
    for (const hasher of [undefined, null]) {
      for (const [name, parts] of Object.entries(layouts)) {
        const dir = tempDir('cc-store-');
        t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
        const store = new ObjectStore({ dir, capacity: 1 << 30, hasher });
        store.open();
        const id = randomBytes(32).toString('hex');
        store.register({ id, expiry });
        store.registerObject(id, 1, { root: MerkleTree.fromData(data).root.toString('hex'), size });
        let off = 0;
        for (const len of [...parts, size - parts.reduce((a, b) => a + b, 0)]) {
          await store.writePart(id, 1, off, len, part(data.subarray(off, off + len)));
          off += len;
        }
        t.equal(store.objectState(id, 1).complete, true, `${name}, ${hasher === null ? 'inline' : 'workers'}: complete`);
        trees.push(fs.readFileSync(path.join(dir, 'objects', id, '1', 'tree')));
      }
    }
    t.ok(trees.every((tree) => tree.equals(trees[0])), 'every tree file identical');
  });

  t.test('should not remove a contract while a part is being written', async (t) => {
    const { dir, store, data, id } = setup(2 * 4096);
    const body = new PassThrough();
    const p = store.writePart(id, 1, 0, data.length, body);
    body.write(data.subarray(0, 4096));
    await new Promise((resolve) => setImmediate(resolve));
    t.throws(() => store.unregister(id), { code: 'busy' });
    store.register({ id: randomBytes(32).toString('hex'), expiry });
    t.same(store.purge(expiry + 1).includes(id), false, 'purge skips it');
    body.end(data.subarray(4096));
    t.equal((await p).complete, true, 'the upload finishes');
    t.equal(store.unregister(id), true, 'then it can go');
    t.notOk(fs.existsSync(path.join(dir, 'objects', id)));
  });

  t.test('should answer unknown-contract when the record vanishes mid-body', async (t) => {
    // Another process serving the same directory removed the contract.
    const { dir, store, data, id } = setup(3 * 4096);
    const body = new PassThrough();
    const p = store.writePart(id, 1, 0, 8192, body);
    body.write(data.subarray(0, 4096));
    await new Promise((resolve) => setImmediate(resolve));
    fs.rmSync(path.join(dir, 'contracts', `${id}.json`));
    fs.rmSync(path.join(dir, 'uploads', id), { recursive: true, force: true });
    body.end(data.subarray(4096, 8192));
    await t.rejects(p, { code: 'unknown-contract' });
    t.notOk(fs.existsSync(path.join(dir, 'uploads', id)), 'nothing left behind');
  });
});
