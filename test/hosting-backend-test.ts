// Hosting backends: option validation, the local directory backend, and the
// remote backend against a real file server (good key, wrong key, down).
import t from 'tap';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { FileServerClient, MerkleTree, TokenFields, footprint } from '../lib/storage';
import { HostingOptions, LocalBackend, RemoteBackend } from '../lib/hosting';
import { startServer, tempDir } from './util/fileserver';
import { stretched } from './util/wait';

const KEY = randomBytes(32);
const HEXKEY = KEY.toString('hex');

t.test('HostingOptions', async (t) => {
  type Raw = Parameters<typeof HostingOptions.from>[0];
  const base: Raw = { host: true, hostDir: null, capacity: null, fileserver: null, fileserverKey: null };
  t.test('should default to a local directory under the datadir', async (t) => {
    const o = HostingOptions.from(base, '/d', false);
    t.equal(o.hostDir, path.join('/d', 'hostdata'));
    t.equal(o.capacity, 10 * 2 ** 30);
    t.equal(o.fileserver, null);
    t.equal(HostingOptions.from({ ...base, hostDir: 'x' }, '/d', false).hostDir, '/d/x');
    t.equal(HostingOptions.from({ ...base, host: false }, '/d', false).host, false);
    t.ok(HostingOptions.from(base, '/d', true).tempDir, 'memory mode uses a temp dir');
    const h = HostingOptions.from({ ...base, hostHTTP: '[::1]:8480', hostURL: 'https://files.example.com/cc/' }, '/d', false);
    t.same([h.http, h.publicURL], [{ host: '::1', port: 8480 }, 'https://files.example.com/cc']);
  });
  t.test('should reject bad combinations with one clear line', async (t) => {
    const cases: [Partial<Raw>, RegExp][] = [
      [{ host: false, fileserver: 'http://x' }, /need --host/],
      [{ fileserver: 'http://127.0.0.1:1' }, /needs --fileserver-key/],
      [{ fileserverKey: HEXKEY }, /needs --fileserver/],
      [{ fileserver: 'ftp://x', fileserverKey: HEXKEY }, /http/],
      [{ fileserver: 'not a url', fileserverKey: HEXKEY }, /must be a URL/],
      [{ fileserver: 'http://x', fileserverKey: 'abc' }, /64 hex/],
      [{ capacity: 0 }, /host-capacity/],
      [{ host: false, hostHTTP: '127.0.0.1:0' }, /need --host/],
      [{ hostHTTP: 'nope' }, /host:port/],
      [{ hostHTTP: '127.0.0.1:70000' }, /host:port/],
      [{ hostURL: 'https://x' }, /needs --host-http/],
      [{ hostHTTP: '127.0.0.1:0', hostURL: 'ftp://x' }, /http/],
      [{ hostHTTP: '127.0.0.1:0', fileserver: 'http://x', fileserverKey: HEXKEY }, /file server serves renters/]
    ];
    for (const [raw, msg] of cases)
      t.throws(() => HostingOptions.from({ ...base, ...raw }, '/d', false), { code: 'bad-config', message: msg }, JSON.stringify(raw));
  });
});

t.test('LocalBackend', async (t) => {
  const dir = tempDir('cc-host-local-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const b = new LocalBackend({ dir, capacity: 1 << 20 });
  await b.open();
  const data = randomBytes(10000);
  const id = randomBytes(32).toString('hex');
  const root = MerkleTree.fromData(data).root.toString('hex');
  const expiry = Math.floor(Date.now() / 1000) + 60;
  await b.register({ id, expiry, manifestLimit: 1000 });
  await t.rejects(b.register({ id: randomBytes(32).toString('hex'), expiry }), { code: 'no-capacity' },
    'the default 1 MiB manifest limit counts');
  await b.registerObject(id, 1, { root, size: data.length });
  await t.rejects(b.receipt(id, 1), { code: 'upload-incomplete' });
  let info = await b.check();
  // Capacity counts the manifest limit and the tree file next to the object (PROTOCOL 4.3).
  t.match(info, { kind: 'local', dir, capacity: 1 << 20, reserved: footprint(10000) + 1000, used: 0, healthy: true, error: null });
  t.equal(footprint(10000), 10000 + 44 + 32 * (3 + 2 + 1));
  await t.rejects(b.registerObject(id, 2, { root, size: 2 << 20 }), { code: 'no-capacity' });
  t.match((await b.check()).error, null, 'a refused call is not a health problem once the next succeeds');
  // Same layout as the file server: an admin key file and a store it can serve.
  t.ok(fs.existsSync(path.join(dir, 'admin.key')));
  await b.store.writePart(id, 1, 0, data.length, (async function* () { yield data; })());
  t.same(await b.receipt(id, 1), { contract: id, object: 1, root, size: data.length, complete: true });
  info = await b.check();
  t.equal(info.used, footprint(10000));
  await b.store.writeManifest(id, 500, (async function* () { yield randomBytes(500); })());
  info = await b.check();
  t.same([info.used, info.reserved], [footprint(10000) + 500, footprint(10000) + 1000], 'manifests: stored bytes used, the limit reserved');
  const free = (1 << 20) - footprint(10000) - 1000;
  const big = Math.floor(free * 0.99);
  await t.rejects(b.registerObject(id, 2, { root, size: big }),
    { code: 'no-capacity' }, 'an object whose data fits but whose tree file does not');
  await b.registerObject(id, 3, { root, size: 4096 });
  t.equal((await b.state(id)).objects, 2);
  await b.deleteObject(id, 3);
  t.equal((await b.check()).reserved, footprint(10000) + 1000, 'deleting an object frees its reservation');
  await t.rejects(b.registerObject(id, 3, { root, size: 4096 }), { code: 'object-exists' }, 'ids are never reused');
  await t.rejects(b.deleteObject(id, 3), { code: 'unknown-object' });
  const tok = b.mintToken({ contract: id, op: 'get', object: 1, notAfter: 2e9, maxBytes: 1e9, renterPkHash: '00'.repeat(20) });
  t.match(tok, /^v2\./);
  t.equal(b.dataURL(), null);
  t.equal(await b.unregister(id), true);
  t.equal(await b.unregister(id), false);
});

t.test('RemoteBackend', async (t) => {
  const dir = tempDir('cc-host-remote-');
  const { server, port } = await startServer(dir, KEY, { capacity: 5 << 20 });
  t.teardown(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;

  t.test('should drive a file server with the admin key', async (t) => {
    const b = new RemoteBackend({ url, adminKey: KEY });
    await b.open();
    const info = await b.check();
    t.match(info, { kind: 'remote', url, capacity: 5 << 20, healthy: true, error: null });
    t.ok(info.lastOk! > 0);
    const data = randomBytes(70000);
    const id = randomBytes(32).toString('hex');
    const root = MerkleTree.fromData(data).root.toString('hex');
    await b.register({ id, expiry: Math.floor(Date.now() / 1000) + 60 });
    await b.registerObject(id, 1, { root, size: data.length });
    await t.rejects(b.receipt(id, 1), { code: 'upload-incomplete' });
    // The renter uploads with a token the backend minted.
    const fields: TokenFields = { contract: id, op: 'put', object: 1, notAfter: Math.floor(Date.now() / 1000) + 60, maxBytes: data.length, renterPkHash: 'aa'.repeat(20) };
    const renter = new FileServerClient(b.dataURL());
    await renter.putPart(b.mintToken(fields), id, 1, 0, data);
    t.same(await b.receipt(id, 1), { contract: id, object: 1, root, size: data.length, complete: true });
    t.equal((await b.objectState(id, 1)).complete, true);
    t.equal((await b.state(id)).objects, 1);
    t.same(await b.purge(), []);
    t.equal(await b.unregister(id), true);
    t.equal(await b.unregister(id), false);
  });

  t.test('should show a wrong key as unhealthy with a clear reason', async (t) => {
    const b = new RemoteBackend({ url, adminKey: randomBytes(32) });
    const info = await b.check();
    t.match(info, { healthy: false, capacity: null, lastOk: null });
    t.match(info.error, /rejected the admin key \(bad-signature\): check --fileserver-key/);
  });

  t.test('should show a server that floods or stalls an admin answer as unhealthy, in time', async (t) => {
    // An endless JSON answer is cut at 64 KiB; a dripped one at the deadline.
    const flood = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const iv = setInterval(() => res.write(Buffer.alloc(16 << 10, 0x20)), 20);
      res.on('close', () => clearInterval(iv));
    });
    await new Promise<void>((resolve) => flood.listen(0, '127.0.0.1', () => resolve()));
    t.teardown(() => {
      flood.closeAllConnections();
      flood.close();
    });
    const furl = `http://127.0.0.1:${(flood.address() as net.AddressInfo).port}`;
    const t0 = Date.now();
    const info = await new RemoteBackend({ url: furl, adminKey: KEY, timeoutMs: 5000 }).check();
    t.equal(info.healthy, false);
    t.match(info.error, /more than the 65536 bytes expected/);
    // Stretched by the load (this process may be paused); the error above already names the size limit.
    t.ok(Date.now() - t0 < stretched(2000), 'cut off at the size limit, not the deadline');
  });

  t.test('should show an unreachable server as unhealthy', async (t) => {
    const down = new RemoteBackend({ url: 'http://127.0.0.1:1', adminKey: KEY, timeoutMs: 2000 });
    const info = await down.check();
    t.equal(info.healthy, false);
    t.match(info.error, /cannot reach file server/);
  });
});
