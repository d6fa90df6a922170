// Write errors on a real small filesystem: a file server on a 6 MiB tmpfs
// answers `disk-full` (507) when the disk runs out and rolls the part back;
// on a filesystem remounted read-only it answers `not-writable`. Needs root
// (mount); skipped with a message elsewhere. The errno table is checked too.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { MerkleTree, StoreError, deriveTokenKey, ioError, mintToken } from '../lib/storage';
import { FileServer } from '../fileserver/server';
import { admin, raw, tempDir } from './util/fileserver';
import { forValue } from './util/wait';

const KEY = randomBytes(32);
const KTOK = deriveTokenKey(KEY);
const MiB = 1 << 20;

t.test('every write errno maps to its documented code', async (t) => {
  const cases: [string, string][] = [
    ['ENOSPC', 'disk-full'], ['EDQUOT', 'disk-full'], ['EACCES', 'not-writable'], ['EPERM', 'not-writable'],
    ['EROFS', 'not-writable'], ['EIO', 'io-error']
  ];
  for (const [errno, code] of cases) {
    const e = Object.assign(new Error(errno), { code: errno });
    const mapped = ioError(e);
    t.ok(mapped instanceof StoreError, errno);
    t.equal((mapped as StoreError).code, code, errno);
  }
  const other = Object.assign(new Error('x'), { code: 'EBADF' });
  t.equal(ioError(other), other, 'anything else is left alone (server-error)');
});

function mountTmpfs(dir: string, size: string): string | null {
  if (process.getuid?.() !== 0)
    return 'not root: mounting a small tmpfs needs root (CI runs as root)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `mount -t tmpfs not permitted here (${(e as Error).message.split('\n')[0]})`;
  }
}

const mnt = tempDir('cc-fs-full-');
const why = mountTmpfs(mnt, '6m');
t.teardown(() => {
  if (!why)
    execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
  fs.rmSync(mnt, { recursive: true, force: true });
});

t.test('a full disk', { skip: why ?? false }, async (t) => {
  const clock = Math.floor(Date.now() / 1000);
  const server = new FileServer({ dataDir: mnt, adminKey: KEY, capacity: 2 ** 30, port: 0, log: () => {} });
  const { port } = await server.open();
  t.teardown(() => server.close());
  const tok = (id: string, n: number, op: 'get' | 'put' = 'put') => mintToken(KTOK, {
    contract: id, op, object: n, notAfter: clock + 600, maxBytes: 2 ** 40, renterPkHash: '11'.repeat(20)
  });
  const used = () => {
    let sum = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory())
          walk(p);
        else
          sum += fs.statSync(p).blocks * 512;
      }
    };
    walk(path.join(mnt, 'uploads'));
    return sum;
  };
  const data = randomBytes(16 * MiB);
  const id = randomBytes(32).toString('hex');
  t.equal((await admin(port, KEY, 'PUT', `/admin/contracts/${id}`, { expiry: clock + 3600, manifestLimit: 4096 }, { time: clock })).status, 200);
  t.equal((await admin(port, KEY, 'PUT', `/admin/contracts/${id}/objects/1`,
    { root: MerkleTree.fromData(data).root.toString('hex'), size: data.length }, { time: clock })).status, 200,
  '--capacity 1GiB accepts a 16 MiB object on a 6 MiB disk');
  const put = (offset: number, len: number) => raw(port, 'PUT', `/v1/${id}/1?offset=${offset}`, {
    headers: { authorization: `CC-Token ${tok(id, 1)}`, 'content-length': len }, body: data.subarray(offset, offset + len)
  });

  const first = await put(0, 8 * MiB);
  t.same([first.status, first.json.error?.code], [507, 'disk-full'], 'an 8 MiB part on a 6 MiB disk');
  await forValue(() => fs.existsSync(path.join(mnt, 'uploads', id)), false, 10000, 'the failed first part leaves no folder');

  const ok = await put(0, 2 * MiB);
  t.same([ok.status, ok.json.received], [200, 2 * MiB], 'a part that fits is stored');
  const before = used();
  const second = await put(2 * MiB, 8 * MiB);
  t.same([second.status, second.json.error?.code], [507, 'disk-full'], 'the next part fills the disk');
  t.equal(fs.statSync(path.join(mnt, 'uploads', id, '1', 'data')).size, 2 * MiB, 'the data file is cut back to the recorded bytes');
  t.ok(used() <= before, `disk use back to ${used()} bytes (was ${before} before the part)`);
  const st = await raw(port, 'GET', `/v1/${id}/1/status`, { headers: { authorization: `CC-Token ${tok(id, 1)}` } });
  t.equal(st.json.received, 2 * MiB, 'status still says where to resume');

  // Free the disk (delete the upload's object) and the same server writes again.
  t.equal((await admin(port, KEY, 'DELETE', `/admin/contracts/${id}/objects/1`, undefined, { time: clock })).status, 200);
  const small = randomBytes(3 * 4096);
  t.equal((await admin(port, KEY, 'PUT', `/admin/contracts/${id}/objects/2`,
    { root: MerkleTree.fromData(small).root.toString('hex'), size: small.length }, { time: clock })).status, 200);
  const again = await raw(port, 'PUT', `/v1/${id}/2?offset=0`, {
    headers: { authorization: `CC-Token ${tok(id, 2)}`, 'content-length': small.length }, body: small
  });
  t.equal(again.json.complete, true, 'writes succeed once space is back');

  // A read-only filesystem: every write is `not-writable`, reads still work.
  execFileSync('mount', ['-o', 'remount,ro', mnt], { stdio: 'pipe' });
  t.teardown(() => execFileSync('mount', ['-o', 'remount,rw', mnt], { stdio: 'pipe' }));
  const id2 = randomBytes(32).toString('hex');
  const reg = await admin(port, KEY, 'PUT', `/admin/contracts/${id2}`, { expiry: clock + 3600, manifestLimit: 4096 }, { time: clock });
  t.same([reg.status, reg.json.error?.code], [500, 'not-writable'], 'registering on a read-only disk');
  const man = await raw(port, 'PUT', `/v1/${id}/0`, {
    headers: { authorization: `CC-Token ${tok(id, 0)}`, 'content-length': 100 }, body: randomBytes(100)
  });
  t.same([man.status, man.json.error?.code], [500, 'not-writable'], 'a manifest on a read-only disk');
  const read = await raw(port, 'GET', `/v1/${id}/2`, { headers: { authorization: `CC-Token ${tok(id, 2, 'get')}` } });
  t.same(read.body, small, 'reads still work');
  const budget = (maxBytes: number) => mintToken(KTOK, {
    contract: id, op: 'get', object: 2, notAfter: clock + 600, maxBytes, renterPkHash: '22'.repeat(20)
  });
  t.equal((await raw(port, 'GET', `/v1/${id}/2`, { headers: { authorization: `CC-Token ${budget(small.length - 1)}` } })).json.error?.code,
    'over-budget', 'served uncounted, but never over a budget');
});
