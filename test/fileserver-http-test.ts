// The Node file server's own HTTP behaviour on loopback: connection limits
// and deadlines, Node's HTTP parser edge cases, the --base-path mount, a
// small capacity, and FileServerClient against a hostile host. The API
// cases every server shares (uploads, ranges, proofs, tokens, admin calls,
// manifests, objects, expiry) are in util/fileserver-conformance.ts, run
// against the Node and PHP servers alike.
import t from 'tap';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { FileServerClient, LEAF_SIZE, MerkleTree, TokenFields, deriveTokenKey, mintToken, signAdmin } from '../lib/storage';
import { admin, exchange, raw, startServer, tempDir } from './util/fileserver';
import { FileServer } from '../fileserver/server';
import { forValue, stretched } from './util/wait';
import { startResetServer } from './util/resetserver';

const KEY = randomBytes(32);
const KTOK = deriveTokenKey(KEY);
let clock = Math.floor(Date.now() / 1000);
const now = (): number => clock;
const MiB = 1 << 20;

const dir = tempDir('cc-fs-http-');
let port = 0;
let server: FileServer;

function cid(): string {
  return randomBytes(32).toString('hex');
}

function token(contract: string, op: 'get' | 'put', object = 1, extra: Partial<TokenFields> = {}): string {
  return mintToken(KTOK, {
    contract, op, object, notAfter: clock + 600, maxBytes: 2 ** 40, renterPkHash: '11'.repeat(20), ...extra
  });
}

function put(contract: string, offset: number, body: Buffer, tok = token(contract, 'put'), extra: Record<string, string | number> = {}) {
  return raw(port, 'PUT', `/v1/${contract}/1?offset=${offset}`, {
    headers: { authorization: `CC-Token ${tok}`, 'content-length': body.length, ...extra }, body
  });
}

function get(contract: string, object: number, headers: Record<string, string> = {}, tok = token(contract, 'get', object), method = 'GET') {
  return raw(port, method, `/v1/${contract}/${object}`, { headers: { authorization: `CC-Token ${tok}`, ...headers } });
}

/** Registers a contract (manifest limit 64 KiB) and its data object 1. */
async function register(size: number, root: Buffer, id = cid(), expiry = clock + 3600) {
  const c = await admin(port, KEY, 'PUT', `/admin/contracts/${id}`, { expiry, manifestLimit: 64 << 10 }, { time: clock });
  if (c.status !== 200)
    return { id, r: c };
  const r = await admin(port, KEY, 'PUT', `/admin/contracts/${id}/objects/1`, { root: root.toString('hex'), size }, { time: clock });
  return { id, r };
}

t.before(async () => {
  ({ port, server } = await startServer(dir, KEY, { capacity: 64 * MiB, now }));
});
t.teardown(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test('capacity counts manifests', async (t) => {
  const cdir = tempDir('cc-fs-cap-');
  const small = new FileServer({ dataDir: cdir, adminKey: KEY, now, port: 0, capacity: MiB, log: () => {} });
  const cport = (await small.open()).port;
  t.teardown(async () => {
    await small.close();
    fs.rmSync(cdir, { recursive: true, force: true });
  });
  const reg = (body: unknown) => admin(cport, KEY, 'PUT', `/admin/contracts/${cid()}`, body, { time: clock });
  t.equal((await reg({ expiry: clock + 60 })).status, 200, 'one contract with a 1 MiB manifest fills 1 MiB');
  const second = await reg({ expiry: clock + 60, manifestLimit: 1 });
  t.same([second.status, second.json.error?.code, second.json.error?.free], [507, 'no-capacity', 0], 'a second one does not fit');
});

/**
 * Writes `head` on a raw socket, then `drip` every 200 ms; resolves on close
 * with what came back, and whether the server closed it (`byServer`) or
 * this end gave up after `limitMs` (stretched by the load: wait.ts).
 */
function rawSocket(p: number, head: string, drip?: string, limitMs = 15000)
  : Promise<{ text: string; ms: number; byServer: boolean }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(p, '127.0.0.1');
    let text = '';
    let gaveUp = false;
    const iv = drip === undefined ? null : setInterval(() => {
      if (!s.destroyed)
        s.write(drip);
    }, 200);
    const stop = setTimeout(() => {
      gaveUp = true;
      s.destroy();
    }, stretched(limitMs));
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (iv)
        clearInterval(iv);
      clearTimeout(stop);
      resolve({ text, ms: Date.now() - t0, byServer: !gaveUp });
    });
    s.write(head);
  });
}

t.test('request limits', async (t) => {
  const logs: string[] = [];
  const sdir = tempDir('cc-fs-limits-');
  const strict = new FileServer({
    dataDir: sdir, adminKey: KEY, now, port: 0, log: (m) => logs.push(m), requestTimeoutMs: 2000, headersTimeoutMs: 1000
  });
  const sport = (await strict.open()).port;
  t.teardown(async () => {
    await strict.close();
    fs.rmSync(sdir, { recursive: true, force: true });
  });

  t.test('should cap connections', async (t) => {
    t.equal(strict.server.maxConnections, 256);
  });

  t.test('should time out slow headers and bodies within about a second of the deadline', async (t) => {
    const [hdr, body] = await Promise.all([
      rawSocket(sport, 'GET /admin/status HTTP/1.1\r\nHost: x\r\n', 'X-a: b\r\n'),
      rawSocket(sport, `POST /admin/purge HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n${adminHeaderText('POST', '/admin/purge')}\r\n`, 'a')
    ]);
    t.match(hdr.text, /^HTTP\/1\.1 408 /, 'headers too slow: 408');
    // Elapsed times stretched by the load: this process may be paused anywhere (wait.ts).
    t.ok(hdr.byServer && hdr.ms < stretched(3500), `closed after ${hdr.ms} ms`);
    t.match(body.text, /^HTTP\/1\.1 408 /, 'body too slow: 408');
    t.ok(body.byServer && body.ms < stretched(4500), `closed after ${body.ms} ms`);
  });

  t.test('should refuse an unauthenticated admin call before reading its body', async (t) => {
    const r = await rawSocket(sport, 'POST /admin/purge HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n', undefined, 1500);
    t.match(r.text, /^HTTP\/1\.1 401 /);
    t.match(r.text, /"missing-auth"/);
    t.ok(r.byServer && r.ms < stretched(1000), `answered and closed after ${r.ms} ms without any body sent`);
    const stale = await rawSocket(sport, `POST /admin/purge HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n${adminHeaderText('POST', '/admin/purge', clock - 500)}\r\n`,
      undefined, 1500);
    t.match(stale.text, /"stale-request"/);
    t.ok(stale.byServer && stale.ms < stretched(1000), `closed after ${stale.ms} ms`);
  });

  t.test('should answer oversized headers with 431', async (t) => {
    const r = await rawSocket(sport, `GET /v1/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`, undefined, 3000);
    t.match(r.text, /^HTTP\/1\.1 431 /);
  });

  t.test('should answer a target URL cannot parse with bad-request, logging nothing', async (t) => {
    logs.length = 0;
    for (const target of ['//[', '//[::1/admin/status', '*']) {
      const r = await rawSocket(sport, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, undefined, 3000);
      t.match(r.text, /^HTTP\/1\.1 (400|404) /, target);
    }
    t.same(logs, [], 'no stack in the log');
    const routed = await rawSocket(sport, `GET //evil/admin/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, undefined, 3000);
    t.match(routed.text, /"not-found"/, 'a "//host" target stays a path');
  });
});

function adminHeaderText(method: string, p: string, time = clock): string {
  // Well-formed headers; the MAC is never reached by these tests.
  const h = signAdmin(KEY, method, p, Buffer.alloc(0), time);
  return Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('');
}

/** A socket from `localAddress` (any of 127/8) to the server. */
function from(localAddress: string, p: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: p, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

t.test('connection exhaustion', async (t) => {
  const edir = tempDir('cc-fs-exhaust-');
  // No whole-request deadline that matters here (the patient server below has its own): a 4 s one
  // cut the 8 MiB upload on a paused test process, and also cut the stalled readers the send-stall
  // watch is shown to cut.
  const guarded = new FileServer({
    dataDir: edir, adminKey: KEY, now, port: 0, log: () => {}, requestTimeoutMs: 60000, headersTimeoutMs: 3000,
    maxConnectionsPerAddress: 8, sendStallMs: 1000
  });
  const gport = (await guarded.open()).port;
  const sockets: net.Socket[] = [];
  t.teardown(async () => {
    for (const s of sockets)
      s.destroy();
    await guarded.close();
    fs.rmSync(edir, { recursive: true, force: true });
  });
  const closed = (s: net.Socket) => s.destroyed || s.readyState === 'closed';

  t.test('should serve a second address while one holds slow headers', async (t) => {
    // 60 connections from 127.0.0.2 dripping headers, as a slowloris would.
    const bad = await Promise.all(Array.from({ length: 60 }, () => from('127.0.0.2', gport).catch(() => null)));
    for (const s of bad) {
      if (!s)
        continue;
      sockets.push(s);
      s.on('error', () => {});
      s.write('GET /admin/status HTTP/1.1\r\nHost: x\r\n');
    }
    const drip = setInterval(() => bad.forEach((s) => s && !closed(s) && s.write('X-a: b\r\n')), 200);
    t.teardown(() => clearInterval(drip));
    await forValue(() => bad.filter((s) => s && closed(s)).length, (n) => n >= 52, 10000, 'connections over the cap closed');
    // Meanwhile another address is served every time.
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      if ((await admin(gport, KEY, 'GET', '/admin/status', undefined, { time: clock })).status === 200)
        ok++;
    }
    t.equal(ok, 20, 'all 20 requests from 127.0.0.1 answered');
    t.ok(bad.filter((s) => s && !closed(s)).length <= 8, 'at most 8 held by the noisy address');
  });

  t.test('should cut responses a client stopped reading, and any exchange past its deadline', async (t) => {
    const size = 8 * MiB;
    const data = randomBytes(size);
    const id = cid();
    await admin(gport, KEY, 'PUT', `/admin/contracts/${id}`, { expiry: clock + 3600 }, { time: clock });
    await admin(gport, KEY, 'PUT', `/admin/contracts/${id}/objects/1`, { root: MerkleTree.fromData(data).root.toString('hex'), size }, { time: clock });
    const up = await raw(gport, 'PUT', `/v1/${id}/1?offset=0`, {
      headers: { authorization: `CC-Token ${token(id, 'put')}`, 'content-length': size }, body: data
    });
    t.equal(up.json.complete, true);
    // Token holders that ask for 32 MiB (four pipelined 8 MiB reads) and never read.
    const readers: net.Socket[] = [];
    const get = `GET /v1/${id}/1 HTTP/1.1\r\nHost: x\r\nAuthorization: CC-Token ${token(id, 'get')}\r\nRange: bytes=0-${size - 1}\r\n\r\n`;
    for (let i = 0; i < 6; i++) {
      const s = await from('127.0.0.3', gport);
      s.on('error', () => {});
      s.pause();
      s.write(get.repeat(4));
      readers.push(s);
      sockets.push(s);
    }
    const t0 = Date.now();
    await forValue(() => guarded.connections('127.0.0.3'), 6, 10000, 'readers connected');
    await forValue(() => guarded.connections('127.0.0.3'), 0, 15000, 'stalled readers cut');
    // The wait above is the bound (stretched by the load, as a fixed 15 s here was not): a
    // figure, not a check.
    t.comment(`all cut after ${Date.now() - t0} ms`);
    // A reader that keeps reading, but too slowly to finish, is cut at the
    // whole-request deadline (a server whose stall limit cannot fire first).
    const patient = new FileServer({
      dataDir: edir, adminKey: KEY, now, port: 0, log: () => {}, requestTimeoutMs: 3000, headersTimeoutMs: 2000, sendStallMs: 60000
    });
    const pport = (await patient.open()).port;
    t.teardown(() => patient.close());
    const slow = await from('127.0.0.4', pport);
    sockets.push(slow);
    slow.on('error', () => {});
    slow.pause();
    const trickle = setInterval(() => slow.read(), 50);
    t.teardown(() => clearInterval(trickle));
    const t1 = Date.now();
    slow.write(get.repeat(4));
    await forValue(() => patient.connections('127.0.0.4'), 1, 10000, 'slow reader connected');
    await forValue(() => patient.connections('127.0.0.4'), 0, 20000, 'slow reader cut at the deadline');
    clearInterval(trickle);
    t.ok(Date.now() - t1 >= 2500, `cut after ${Date.now() - t1} ms, at the 3 s deadline`);
    t.equal((await admin(gport, KEY, 'GET', '/admin/status', undefined, { time: clock })).status, 200, 'and the server still answers');
  });
});

t.test('HTTP edge cases', async (t) => {
  const data = randomBytes(3 * LEAF_SIZE + 10);
  const { id } = await register(data.length, MerkleTree.fromData(data).root);

  t.test('should clamp a Range end of any length and refuse a start beyond the object', async (t) => {
    t.equal((await put(id, 0, data)).json.complete, true);
    const cases: [string, number, Buffer | null][] = [
      ['bytes=0-18446744073709551615', 206, data],
      ['bytes=10-99999999999999999999999999999999', 206, data.subarray(10)],
      ['bytes=00000000000000000000000005-9', 206, data.subarray(5, 10)],
      ['bytes=18446744073709551615-', 416, null],
      ['bytes=-18446744073709551615', 206, data],
      [`bytes=0-${'9'.repeat(300)}`, 416, null]
    ];
    for (const [range, status, body] of cases) {
      const r = await get(id, 1, { range });
      t.equal(r.status, status, range.slice(0, 40));
      if (body)
        t.same(r.body, body, range.slice(0, 40));
    }
  });

  t.test('should answer a body cut short with truncated-body and keep nothing', async (t) => {
    const d = randomBytes(2 * LEAF_SIZE);
    const { id: cut } = await register(d.length, MerkleTree.fromData(d).root);
    // Half-closed after 1000 of the declared bytes: the client says it is done.
    const text = await exchange(port, Buffer.concat([Buffer.from(`PUT /v1/${cut}/1?offset=0 HTTP/1.1\r\nHost: x\r\n`
      + `Authorization: CC-Token ${token(cut, 'put')}\r\nContent-Length: ${d.length}\r\n\r\n`), d.subarray(0, 1000)]), { end: true });
    t.match(text, /^HTTP\/1\.1 400 /);
    t.match(text, /"truncated-body"/);
    await forValue(() => fs.existsSync(path.join(dir, 'uploads', cut)), false, 10000, 'no upload folder left');
    // Garbage after a complete PUT: the PUT stands, the garbage is refused, nothing else is left.
    const g = randomBytes(LEAF_SIZE);
    const { id: gid } = await register(g.length, MerkleTree.fromData(g).root);
    const reply = await exchange(port, Buffer.concat([Buffer.from(`PUT /v1/${gid}/1?offset=0 HTTP/1.1\r\nHost: x\r\n`
      + `Authorization: CC-Token ${token(gid, 'put')}\r\nContent-Length: ${g.length}\r\n\r\n`), g, Buffer.from('\x00\x01garbage\r\n\r\n')]), { end: true });
    // Node's parser may refuse the garbage before the PUT is done: then the
    // PUT is rolled back. Either way nothing half-done stays.
    t.match(reply, /HTTP\/1\.1 400 /, 'the garbage is a bad request');
    await forValue(() => fs.existsSync(path.join(dir, 'uploads', gid)), false, 10000, 'no upload folder left');
    const st = (await raw(port, 'GET', `/v1/${gid}/1/status`, { headers: { authorization: `CC-Token ${token(gid, 'put')}` } })).json;
    t.ok(st.complete === true || st.received === 0, `whole or nothing (${JSON.stringify(st)})`);
  });

  t.test('should answer a status pipelined after a PUT with the PUT\'s result', async (t) => {
    const d = randomBytes(3 * LEAF_SIZE);
    const { id: pid } = await register(d.length, MerkleTree.fromData(d).root);
    const auth = `Authorization: CC-Token ${token(pid, 'put')}\r\n`;
    const text = await exchange(port, Buffer.concat([
      Buffer.from(`PUT /v1/${pid}/1?offset=0 HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${2 * LEAF_SIZE}\r\n\r\n`), d.subarray(0, 2 * LEAF_SIZE),
      Buffer.from(`GET /v1/${pid}/1/status HTTP/1.1\r\nHost: x\r\n${auth}\r\n`)
    ]), { until: (got) => (got.match(/HTTP\/1\.1 /g) ?? []).length === 2 && /\}$/.test(got) });
    const bodies = text.split(/HTTP\/1\.1 /).slice(1).map((r) => JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4)) as { received: number });
    t.same(bodies.map((b) => b.received), [2 * LEAF_SIZE, 2 * LEAF_SIZE]);
  });
});

t.test('server mounted under a path prefix', async (t) => {
  const pdir = tempDir('cc-fs-prefix-');
  const mounted = new FileServer({ dataDir: pdir, adminKey: KEY, now, port: 0, log: () => {}, basePath: '/cc/' });
  const pport = (await mounted.open()).port;
  t.teardown(async () => {
    await mounted.close();
    fs.rmSync(pdir, { recursive: true, force: true });
  });
  // The client signs the path relative to its base URL; the server strips its mount point.
  const client = new FileServerClient(`http://127.0.0.1:${pport}/cc`, { adminKey: KEY });
  t.equal((await client.status()).contracts, 0);
  const data = randomBytes(3 * LEAF_SIZE + 1);
  const id = cid();
  await client.register({ id, expiry: clock + 3600 });
  await client.registerObject(id, 1, { root: MerkleTree.fromData(data).root.toString('hex'), size: data.length });
  t.equal((await client.putPart(token(id, 'put'), id, 1, 0, data)).complete, true);
  t.same(await client.download(token(id, 'get'), id, 1, 0, 99), data.subarray(0, 100));
  t.equal((await client.receipt(id, 1)).size, data.length);
  t.equal((await admin(pport, KEY, 'GET', '/cc/admin/status', undefined, { time: clock })).json.error?.code, 'bad-signature',
    'a MAC over the prefixed path does not verify');
  t.equal((await admin(pport, KEY, 'GET', '/admin/status', undefined, { time: clock })).json.error?.code, 'not-found',
    'outside the mount point');
  t.throws(() => new FileServer({ dataDir: pdir, adminKey: KEY, basePath: 'cc' }), /base path/);
});

t.test('FileServerClient against a hostile host', async (t) => {
  // A fake host that answers every read with what `mode` says.
  let mode = '';
  let gets = 0;
  let sent = 0;
  const fake = http.createServer((req, res) => {
    if (req.method === 'GET')
      gets++;
    const mib = Buffer.alloc(1 << 20);
    const endless = () => {
      const pump = () => {
        while (sent < 100 * MiB) {
          sent += mib.length;
          if (!res.write(mib))
            return;
        }
        res.end();
      };
      res.on('drain', pump);
      pump();
    };
    switch (mode) {
      case 'endless range':
        res.writeHead(206, { 'content-range': 'bytes 0-4095/1000000000' });
        return endless();
      case 'huge length':
        res.writeHead(206, { 'content-range': 'bytes 0-4095/1000000000', 'content-length': 100 * MiB });
        return endless();
      case 'other range':
        res.writeHead(206, { 'content-range': 'bytes 4096-8191/1000000000', 'content-length': 4096 });
        return res.end(Buffer.alloc(4096));
      case 'endless json':
        res.writeHead(200, { 'content-type': 'application/json' });
        return endless();
      case 'drip': {
        res.writeHead(206, { 'content-range': 'bytes 0-4095/1000000000', 'content-length': 4096 });
        const iv = setInterval(() => res.write('a'), 100);
        res.on('close', () => clearInterval(iv));
        return;
      }
      case 'big head':
        res.writeHead(200, { 'content-length': 10 * 2 ** 30 });
        return res.end();
    }
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => {
    fake.closeAllConnections();
    fake.close();
  });
  const url = `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}`;
  // A deadline no case but the drip's is about: a 1 s one made a paused test process
  // (a loaded machine) read an endless answer as unreachable instead of bad-response.
  const client = new FileServerClient(url, { adminKey: KEY, timeoutMs: 30000 });
  const quick = new FileServerClient(url, { adminKey: KEY, timeoutMs: 1000 });
  const c = cid();

  t.test('should stop reading a range answer at the range length', async (t) => {
    for (const m of ['endless range', 'huge length', 'other range']) {
      mode = m;
      sent = 0;
      await t.rejects(client.download('v1.x', c, 1, 0, 4095), { code: 'bad-response' }, m);
      t.ok(sent < 16 * MiB, `${m}: stopped after the server pushed ${sent >> 20} MiB into the socket`);
    }
    mode = 'endless range';
    await t.rejects(client.readLeaf('v1.x', c, 1, 0, 1e9), { code: 'bad-response' }, 'an audit read too');
  });

  t.test('should cap JSON answers at 64 KiB', async (t) => {
    mode = 'endless json';
    sent = 0;
    await t.rejects(client.status(), { code: 'bad-response' });
    await t.rejects(client.uploadStatus('v1.x', c, 1), { code: 'bad-response' });
    t.ok(sent < 16 * MiB);
  });

  t.test('should give every call a deadline, not just an idle timeout', async (t) => {
    mode = 'drip';
    const t0 = Date.now();
    await t.rejects(quick.download('v1.x', c, 1, 0, 4095), { code: 'unreachable', message: /within 1000 ms/ });
    // The drip would last 400 s: any bound well under it, stretched by the load (a paused process), shows the deadline.
    t.ok(Date.now() - t0 < stretched(2500), `gave up after ${Date.now() - t0} ms`);
  });

  t.test('should refuse a HEAD size other than the contract size before any range', async (t) => {
    mode = 'big head';
    gets = 0;
    const out = path.join(dir, 'hostile.out');
    await t.rejects(client.downloadFile('v1.x', c, 1, out, { size: 4096 }), { code: 'bad-size' });
    t.equal(gets, 0, 'no range was requested');
  });
});

t.test('a kept-alive socket the server drops as idle', async (t) => {
  // Each connection answers its first request and resets on the next, with
  // no Keep-Alive hint: the client's second call reuses the socket and meets
  // the reset, as when a server's idle timeout races a reuse.
  const server = await startResetServer('{"capacity":1}');
  t.teardown(() => server.close());
  const client = new FileServerClient(`http://127.0.0.1:${server.port}`, { adminKey: KEY, timeoutMs: 5000 });
  t.match(await client.status(), { capacity: 1 });
  t.match(await client.status(), { capacity: 1 }, 'a read is sent again on a fresh socket');
  t.equal(server.connections(), 2, 'over a second connection');
});

t.test('an https host URL', async (t) => {
  // The https module loads on the first https host (a CLI on http hosts
  // skips it): the client must still speak TLS to one. A bare TCP server
  // sees the ClientHello (a handshake record, type 22) and hangs up.
  const first = new Promise<number>((resolve) => {
    const srv = net.createServer((sock) => {
      sock.once('data', (d: Buffer) => {
        resolve(d[0]);
        sock.destroy();
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const client = new FileServerClient(`https://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, { adminKey: KEY, timeoutMs: 5000 });
      client.status().catch(() => {}).finally(() => srv.close());
    });
  });
  t.equal(await first, 22, 'a TLS handshake record');
});
