// Crash safety: kill -9 the file server in the middle of an upload; after a
// restart no partial object is visible, earlier data is intact, and the
// upload resumes from the last durable part. Also checks the admin key is
// created, printed and stored on first start.
import t from 'tap';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { FileServerClient, MerkleTree, TokenFields } from '../lib/storage';
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
  await client.register({ id: aId, root: MerkleTree.fromData(a).root.toString('hex'), size: a.length, expiry });
  const aFile = path.join(dir, '..', `${path.basename(dir)}-a.bin`);
  fs.writeFileSync(aFile, a);
  t.teardown(() => fs.rmSync(aFile, { force: true }));
  await client.uploadFile(tok(aId, 'put'), aId, aFile);
  const manifest = randomBytes(777);
  await client.putManifest(tok(aId, 'put', 0), aId, manifest);

  // Contract B: one part durable, the second in flight when the server dies.
  const b = randomBytes(20 * MiB + 5);
  const bId = randomBytes(32).toString('hex');
  await client.register({ id: bId, root: MerkleTree.fromData(b).root.toString('hex'), size: b.length, expiry });
  await client.putPart(tok(bId, 'put'), bId, 0, b.subarray(0, 8 * MiB));
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
  const st = await client.uploadStatus(tok(bId, 'put'), bId);
  t.same([st.received, st.complete], [8 * MiB, false], 'only the durable part counts');
  const get = await raw(sp.port, 'GET', `/v1/${bId}/1`, { headers: { authorization: `CC-Token ${tok(bId, 'get')}`, range: 'bytes=0-9' } });
  t.equal(get.json.error?.code, 'object-not-found', 'no partial object visible');
  await t.rejects(client.receipt(bId), { code: 'upload-incomplete' });

  // Earlier data intact.
  const outA = `${aFile}.out`;
  t.teardown(() => fs.rmSync(outA, { force: true }));
  await client.downloadFile(tok(aId, 'get'), aId, outA);
  t.ok(fs.readFileSync(outA).equals(a), 'contract A bytes intact');
  t.same(await client.download(tok(aId, 'get', 0), aId, 0), manifest, 'manifest intact');
  t.equal((await client.receipt(aId)).root, MerkleTree.fromData(a).root.toString('hex'));

  // Resume B to completion.
  const bFile = `${aFile}.b`;
  t.teardown(() => fs.rmSync(bFile, { force: true }));
  fs.writeFileSync(bFile, b);
  const done = await client.uploadFile(tok(bId, 'put'), bId, bFile);
  t.equal(done.complete, true, 'upload resumed and completed');
  t.equal((await client.receipt(bId)).size, b.length);
  const tail = await client.download(tok(bId, 'get'), bId, 1, b.length - 100);
  t.same(tail, b.subarray(b.length - 100));
});
