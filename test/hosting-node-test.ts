// The hosting extension inside cloudcoind: `getfileservers` lists the
// local directory or a remote file server with its capacity; a wrong
// --fileserver-key shows it unhealthy with a clear reason. Runs one
// in-process node per case and one cloudcoind process with real flags.
import t from 'tap';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { randomBytes } from 'crypto';
import * as hostingModule from '../lib/hosting';
import type { BackendInfo, Hosting } from '../lib/hosting';
import { FileServerClient, MerkleTree, footprint } from '../lib/storage';
import type { ExtensionModule } from '../lib/base/extension';
import { DaemonProcess, NodesContext, ROOT } from './util/nodes-context';
import { forValue } from './util/wait';
import { startServer, tempDir } from './util/fileserver';

const KEY = randomBytes(32);

t.test('hosting extension', async (t) => {
  const dir = tempDir('cc-host-node-');
  const { server, port } = await startServer(dir, KEY, { capacity: 123456789 });
  const url = `http://127.0.0.1:${port}`;
  t.teardown(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ext = [hostingModule as ExtensionModule];
  // A stand-in file server that records what a node sends it.
  const seen: http.IncomingHttpHeaders[] = [];
  const capture = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"bad-signature","message":"x"}}');
  });
  await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', () => resolve()));
  const capturePort = (capture.address() as { port: number }).port;
  t.teardown(() => new Promise<void>((resolve) => { capture.closeAllConnections(); capture.close(() => resolve()); }));

  t.test('should list a remote file server, and a wrong key as unhealthy', async (t) => {
    const ctx = await NodesContext.create([
      { memory: true, extensions: ext, config: { host: true, fileserver: url, 'fileserver-key': KEY.toString('hex') } },
      { memory: true, extensions: ext, config: { host: true, fileserver: url, 'fileserver-key': randomBytes(32).toString('hex') } },
      { memory: true, extensions: ext, config: { host: true, 'host-capacity': '5MB' } },
      { memory: true, extensions: ext },
      { memory: true, extensions: ext, config: { host: true, fileserver: `http://127.0.0.1:${capturePort}`, 'fileserver-key': KEY.toString('hex') } }
    ]);
    t.teardown(() => ctx.close());
    await ctx.open();
    const [good] = await ctx.nodes[0].rpc('getfileservers') as BackendInfo[];
    t.match(good, { kind: 'remote', url, capacity: 123456789, healthy: true, error: null });
    t.ok(good.lastOk && good.lastOk > 0, 'lastOk set');
    const [bad] = await ctx.nodes[1].rpc('getfileservers') as BackendInfo[];
    t.match(bad, { kind: 'remote', url, healthy: false, capacity: null, lastOk: null });
    t.match(bad.error, /rejected the admin key \(bad-signature\)/);
    const [local] = await ctx.nodes[2].rpc('getfileservers') as BackendInfo[];
    t.match(local, { kind: 'local', capacity: 5000000, used: 0, healthy: true });
    t.same(await ctx.nodes[3].rpc('getfileservers'), [], 'not hosting: no backends');
    // The node's RPC key ('test' in NodesContext) never reaches a file server:
    // admin calls carry only the HMAC headers.
    await ctx.nodes[4].rpc('getfileservers');
    t.ok(seen.length > 0, 'the capture server saw admin calls');
    for (const h of seen) {
      t.notOk('authorization' in h, 'no Authorization header');
      t.notMatch(JSON.stringify(h), /test/, 'no RPC key in any header');
      t.same(Object.keys(h).sort(), ['connection', 'content-length', 'host', 'x-cc-auth', 'x-cc-nonce', 'x-cc-time'], 'only HMAC headers');
    }
  });

  t.test('should serve the data API of the local directory with --host-http', async (t) => {
    const ctx = await NodesContext.create([
      { memory: true, extensions: ext, config: { host: true, 'host-http': '127.0.0.1:0', 'host-capacity': '1MB' } }
    ]);
    t.teardown(() => ctx.close());
    await ctx.open();
    const [info] = await ctx.nodes[0].rpc('getfileservers') as BackendInfo[];
    t.match(info, { kind: 'local', url: /^http:\/\/127\.0\.0\.1:\d+$/, capacity: 1000000, healthy: true });
    const backend = ctx.nodes[0].node.require<Hosting>('hosting').backend!;
    t.equal(backend.dataURL(), info.url);
    const data = randomBytes(50000);
    const id = randomBytes(32).toString('hex');
    const root = MerkleTree.fromData(data).root.toString('hex');
    const notAfter = Math.floor(Date.now() / 1000) + 60;
    await backend.register({ id, expiry: notAfter, manifestLimit: 1000 });
    await backend.registerObject(id, 1, { root, size: data.length });
    const renter = new FileServerClient(info.url!);
    const fields = { contract: id, object: 1, notAfter, maxBytes: data.length, renterPkHash: 'ee'.repeat(20) };
    await renter.putPart(backend.mintToken({ ...fields, op: 'put' }), id, 1, 0, data);
    t.same(await backend.receipt(id, 1), { contract: id, object: 1, root, size: data.length, complete: true });
    t.same(await renter.download(backend.mintToken({ ...fields, op: 'get' }), id, 1, 10, 19), data.subarray(10, 20));
    const [after] = await ctx.nodes[0].rpc('getfileservers') as BackendInfo[];
    t.equal(after.used, footprint(data.length), 'the object and its tree file');
  });

  // The daemon runs from dist/: `npm test` builds first.
  const built = fs.existsSync(path.join(ROOT, 'dist', 'lib', 'hosting', 'index.js'));
  t.test('should work from cloudcoind flags (cloudcoind --regtest --host --fileserver URL --fileserver-key K)',
    { skip: built ? false : 'dist/ not built (npm run build)' }, async (t) => {
    const d = await DaemonProcess.create(['--host', '--fileserver', url, '--fileserver-key', KEY.toString('hex')]);
    t.teardown(async () => {
      await d.stop();
      d.cleanup();
    });
    await d.start();
    t.match(d.stdout, /extensions:.*hosting/);
    await forValue(() => d.stdout, (o) => new RegExp(`hosting: +remote ${url} \\(capacity 0\\.11 GiB, reserved 0\\.00 GiB, 0 contracts\\)`).test(o),
      10000, 'the banner shows the backend');
    const res = await d.cli(['getfileservers']);
    t.equal(res.code, 0, res.stderr);
    const list = JSON.parse(res.stdout) as BackendInfo[];
    t.match(list, [{ kind: 'remote', url, capacity: 123456789, healthy: true }]);

    const down = await DaemonProcess.create(['--host', '--fileserver', 'http://127.0.0.1:1', '--fileserver-key', KEY.toString('hex')]);
    t.teardown(async () => {
      await down.stop();
      down.cleanup();
    });
    await down.start();
    await forValue(() => down.stdout, (o) => /hosting: +remote http:\/\/127\.0\.0\.1:1 \(UNHEALTHY\)/.test(o), 10000, 'the banner says unhealthy');
    await forValue(() => down.stderr, (e) => /warning: hosting backend http:\/\/127\.0\.0\.1:1 is unhealthy: cannot reach file server/.test(e),
      10000, 'console warning');

    const bad = await DaemonProcess.create(['--fileserver', url]);
    t.teardown(() => bad.cleanup());
    await t.rejects(bad.start(), /need --host/, 'a bad combination is one clear line');
  });

  t.test('should warn at start when a local host offers more than its disk has free', { skip: built ? false : 'dist/ not built' },
    async (t) => {
      // 1000 TB: more than any test machine's disk; 5 MB: less.
      const big = await DaemonProcess.create(['--host', '--host-capacity', '1000TB']);
      const small = await DaemonProcess.create(['--host', '--host-capacity', '5MB']);
      t.teardown(async () => {
        for (const d of [big, small]) {
          await d.stop();
          d.cleanup();
        }
      });
      await Promise.all([big.start(), small.start()]);
      const dir = path.join(big.datadir, 'hostdata');
      const want = new RegExp(`^warning: hosting capacity 909\\.5 TiB \\(--host-capacity\\) is more than the disk of ${dir} can hold: `
        + '[0-9.]+ [KMGT]?i?B free; renters may be sold space this host cannot store \\(lower --host-capacity or free space\\)$', 'm');
      await forValue(() => big.stderr, (e) => want.test(e), 10000, 'one warning line on the console');
      t.equal(big.stderr.split('\n').filter((l) => /capacity/.test(l)).length, 1, 'said once');
      // debug.log is written asynchronously: the console line can come first.
      t.ok(await forValue(() => /hosting: capacity 909\.5 TiB \(--host-capacity\) is more than the disk of/
        .test(fs.readFileSync(path.join(big.datadir, 'debug.log'), 'utf8')), true, 10000, 'the warning in debug.log'), 'and in debug.log');
      await forValue(() => small.stdout, (o) => /hosting: +local /.test(o), 10000, 'the small host\'s banner');
      t.notMatch(small.stderr, /capacity/, 'a capacity the disk holds: no warning');
    });
});
