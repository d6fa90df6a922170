// The PHP file server's failure answers: a config.php without a valid
// admin key, a data folder the web server cannot write (Apache as
// www-data), and a full disk (a real 6 MiB tmpfs) each answer with their
// documented JSON error code, never a PHP warning page.
import t, { Test } from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { MerkleTree, deriveTokenKey, mintToken, signAdmin } from '../lib/storage';
import { raw, tempDir } from './util/fileserver';
import { Target, missing, startTarget } from './util/fileserver-targets';
import { forValue } from './util/wait';

const MiB = 1 << 20;
const KEY = randomBytes(32);

function admin(tg: Target, method: string, p: string, json?: unknown) {
  const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
  return raw(tg.port, method, tg.base + p, { headers: { ...signAdmin(KEY, method, p, body), 'content-length': body.length }, body });
}

function noWarningPage(t: Test, r: { body: Buffer; headers: Record<string, unknown> }, what: string): void {
  t.match(String(r.headers['content-type']), /application\/json/, `${what}: JSON`);
  t.notMatch(r.body.toString('latin1'), /Warning|Fatal error|Notice|<br|<html/i, `${what}: no PHP page`);
}

t.test('a config.php without a valid admin key', { skip: missing('php') ?? false }, async (t) => {
  const tg = await startTarget('php', KEY, MiB, { keyText: 'change-me' });
  t.teardown(() => tg.close());
  for (const [method, p] of [['GET', '/admin/status'], ['GET', `/v1/${'ab'.repeat(32)}/1`]]) {
    const r = await admin(tg, method, p);
    t.same([r.status, r.json.error?.code], [500, 'not-configured'], `${method} ${p}`);
    t.match(r.json.error?.message as string, /admin_key in config\.php must be 64 hex/);
    noWarningPage(t, r, p);
  }
});

t.test('a config.php capacity that is not a whole number of bytes', { skip: missing('php') ?? false }, async (t) => {
  // As written in config.php -> what the server answers: the capacity, or the reason it is refused.
  const table: Array<[string, number | RegExp]> = [
    ['\'10GB\'', /got '10GB' \(text, not a number of bytes\)$/],
    ['-5', /got -5 \(not above 0\)$/],
    ['0', /got 0 \(not above 0\)$/],
    ['1.5e20', /got 1\.5E\+20 \(above PHP_INT_MAX \(9223372036854775807\)\)$/],
    ['\'99999999999999999999\'', /above PHP_INT_MAX/],
    ['1.5', /got 1\.5 \(not a whole number\)$/],
    ['true', /got true \(not a number\)$/],
    ['10 * 1024 * 1024 * 1024', 10 * 1024 * 1024 * 1024],
    ['1e9', 1e9],
    ['\'1048576\'', 1048576]
  ];
  for (const [text, want] of table) {
    const tg = await startTarget('php', KEY, MiB, { capacityText: text });
    const r = await admin(tg, 'GET', '/admin/status');
    await tg.close();
    if (typeof want === 'number') {
      t.same([r.status, r.json.capacity], [200, want], `${text}: accepted as ${want} bytes`);
      continue;
    }
    t.same([r.status, r.json.error?.code], [500, 'not-configured'], `${text}: refused`);
    t.match(r.json.error?.message as string, /^capacity in config\.php must be a whole number of bytes from 1 to PHP_INT_MAX/,
      `${text}: names the setting`);
    t.match(r.json.error?.message as string, want, `${text}: says why`);
    noWarningPage(t, r, text);
  }
});

t.test('a wrong admin key', { skip: missing('php') ?? false }, async (t) => {
  const tg = await startTarget('php', randomBytes(32), MiB);
  t.teardown(() => tg.close());
  const r = await admin(tg, 'GET', '/admin/status');
  t.same([r.status, r.json.error?.code], [401, 'bad-signature']);
  noWarningPage(t, r, 'wrong key');
});

t.test('a data folder the web server cannot write', { skip: missing('apache') ?? false }, async (t) => {
  const root = tempDir('cc-php-ro-');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.chmodSync(root, 0o755);
  const tg = await startTarget('apache', KEY, 64 * MiB, { dataDir: path.join(root, 'data'), ownData: false });
  t.teardown(() => tg.close());
  for (const [method, p, body] of [['GET', '/admin/status', undefined], ['PUT', `/admin/contracts/${'cd'.repeat(32)}`, { expiry: 2e9 }]] as const) {
    const r = await admin(tg, method, p, body);
    t.same([r.status, r.json.error?.code], [500, 'not-writable'], `${method} ${p}`);
    noWarningPage(t, r, p);
  }
});

/** Mounts a 6 MiB tmpfs; returns why not (not root, not permitted, no php). */
function mountSmall(mnt: string): string | null {
  if (missing('php'))
    return missing('php');
  if (process.getuid?.() !== 0)
    return 'mounting a small tmpfs needs root (CI runs as root)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `mount -t tmpfs not permitted here (${(e as Error).message.split('\n')[0]})`;
  }
}

const mnt = tempDir('cc-php-full-');
const noMount = mountSmall(mnt);
t.teardown(() => {
  if (!noMount)
    execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
  fs.rmSync(mnt, { recursive: true, force: true });
});

t.test('a full disk', { skip: noMount ?? false }, async (t) => {
  const tg = await startTarget('php', KEY, 2 ** 30, { dataDir: path.join(mnt, 'data') });
  t.teardown(() => tg.close());
  const clock = Math.floor(Date.now() / 1000);
  const data = randomBytes(16 * MiB);
  const id = randomBytes(32).toString('hex');
  t.equal((await admin(tg, 'PUT', `/admin/contracts/${id}`, { expiry: clock + 3600, manifestLimit: 4096 })).status, 200);
  t.equal((await admin(tg, 'PUT', `/admin/contracts/${id}/objects/1`, { root: MerkleTree.fromData(data).root.toString('hex'), size: data.length })).status, 200);
  const tok = mintToken(deriveTokenKey(KEY), { contract: id, op: 'put', object: 1, notAfter: clock + 600, maxBytes: 2 ** 40, renterPkHash: '11'.repeat(20) });
  const put = (offset: number, len: number) => raw(tg.port, 'PUT', `/v1/${id}/1?offset=${offset}`, {
    headers: { authorization: `CC-Token ${tok}`, 'content-length': len }, body: data.subarray(offset, offset + len)
  });
  const first = await put(0, 8 * MiB);
  t.same([first.status, first.json.error?.code], [507, 'disk-full'], 'an 8 MiB part on a 6 MiB disk');
  noWarningPage(t, first, 'disk full');
  await forValue(() => fs.existsSync(path.join(mnt, 'data', 'uploads', id)), false, 10000, 'the failed first part leaves no folder');
  t.equal((await put(0, 2 * MiB)).json.received, 2 * MiB, 'a part that fits is stored');
  const second = await put(2 * MiB, 8 * MiB);
  t.same([second.status, second.json.error?.code], [507, 'disk-full'], 'the next part fills the disk');
  t.equal(fs.statSync(path.join(mnt, 'data', 'uploads', id, '1', 'data')).size, 2 * MiB, 'cut back to the recorded bytes');
});

// PHP has no start-up sweep: a writer killed between writing state.json's
// temp file and renaming it (the stress suite's kill -9 of php -S) left the
// temp file in the upload folder, and completing the upload carried it into
// the object's folder. The next write under the object's lock drops it.
t.test('a temp file a killed writer left in an upload', { skip: missing('php') ?? false }, async (t) => {
  const root = tempDir('cc-php-tmp-');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const dataDir = path.join(root, 'data');
  const tg = await startTarget('php', KEY, 2 ** 30, { dataDir });
  t.teardown(() => tg.close());
  const clock = Math.floor(Date.now() / 1000);
  const data = randomBytes(2 * MiB + 333);
  const id = randomBytes(32).toString('hex');
  t.equal((await admin(tg, 'PUT', `/admin/contracts/${id}`, { expiry: clock + 3600, manifestLimit: 4096 })).status, 200);
  t.equal((await admin(tg, 'PUT', `/admin/contracts/${id}/objects/1`, { root: MerkleTree.fromData(data).root.toString('hex'), size: data.length })).status, 200);
  const put = mintToken(deriveTokenKey(KEY), { contract: id, op: 'put', object: 1, notAfter: clock + 600, maxBytes: 2 ** 40, renterPkHash: '11'.repeat(20) });
  const part = (offset: number, len: number) => raw(tg.port, 'PUT', `${tg.base}/v1/${id}/1?offset=${offset}`, {
    headers: { authorization: `CC-Token ${put}`, 'content-length': len }, body: data.subarray(offset, offset + len)
  });
  t.equal((await part(0, MiB)).json.received, MiB, 'first part stored');
  const upload = path.join(dataDir, 'uploads', id, '1');
  const stale = path.join(upload, 'state.json.tmp-0123456789ab');
  fs.writeFileSync(stale, '{"received":');
  t.equal((await part(MiB, MiB)).json.received, 2 * MiB, 'second part stored beside the stale temp file');
  t.notOk(fs.existsSync(stale), 'the next part under the lock dropped it');
  fs.writeFileSync(stale, '{"received":');
  const last = await part(2 * MiB, 333);
  t.equal(last.status, 200, 'last part completes the object');
  const objectDir = path.join(dataDir, 'objects', id, '1');
  t.same(fs.readdirSync(objectDir).filter((f) => f.includes('.tmp-')), [], 'no temp file in the object folder');
  const get = mintToken(deriveTokenKey(KEY), { contract: id, op: 'get', object: 1, notAfter: clock + 600, maxBytes: 2 ** 40, renterPkHash: '11'.repeat(20) });
  const back = await raw(tg.port, 'GET', `${tg.base}/v1/${id}/1`, { headers: { authorization: `CC-Token ${get}` } });
  t.equal(back.status, 200);
  t.ok(back.body.equals(data), 'the object reads back byte for byte');
});
