// File server HTTP API against a real server on loopback: happy paths and
// every kind of bad input, asserted by stable error codes.
import t from 'tap';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { randomBytes } from 'crypto';
import {
  FileServerClient, LEAF_SIZE, footprint, MerkleProof, hashFile, deriveFileKey, encryptFile, decryptFile,
  Manifest, ManifestFile, Replica, MerkleTree, deriveTokenKey, mintToken, verifyLeaf, signAdmin, TokenFields
} from '../lib/storage';
import { admin, raw, startServer, tempDir } from './util/fileserver';
import { FileServer } from '../fileserver/server';
import { forValue } from './util/wait';

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

t.test('admin API', async (t) => {
  t.test('should report status with a good signature', async (t) => {
    const r = await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock });
    t.equal(r.status, 200);
    t.equal(r.json.capacity, 64 * MiB);
  });

  t.test('should refuse bad, stale, replayed and missing signatures', async (t) => {
    t.equal((await admin(port, randomBytes(32), 'GET', '/admin/status', undefined, { time: clock })).json.error?.code, 'bad-signature');
    t.equal((await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock - 121 })).json.error?.code, 'stale-request');
    t.equal((await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock + 121 })).json.error?.code, 'stale-request');
    const nonce = randomBytes(16).toString('hex');
    t.equal((await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock, nonce })).status, 200);
    const again = await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock, nonce });
    t.equal(again.status, 401);
    t.equal(again.json.error?.code, 'replayed-nonce');
    const none = await raw(port, 'GET', '/admin/status');
    t.equal(none.status, 401);
    t.equal(none.json.error?.code, 'missing-auth');
  });

  t.test('should validate contract registrations', async (t) => {
    const root = randomBytes(32);
    const contracts: [unknown, string][] = [
      [{ expiry: clock - 1 }, 'bad-contract'],
      [{ expiry: '9999999999' }, 'bad-contract'],
      [{}, 'bad-contract'],
      [{ expiry: clock + 10, manifestLimit: 0 }, 'bad-contract'],
      [{ expiry: clock + 10, manifestLimit: MiB + 1 }, 'bad-contract'],
      [{ expiry: clock + 10, manifestLimit: 1.5 }, 'bad-contract']
    ];
    for (const [body, code] of contracts) {
      const r = await admin(port, KEY, 'PUT', `/admin/contracts/${cid()}`, body, { time: clock });
      t.equal(r.json.error?.code, code, JSON.stringify(body));
    }
    const holder = cid();
    t.equal((await admin(port, KEY, 'PUT', `/admin/contracts/${holder}`, { expiry: clock + 100 }, { time: clock })).status, 200);
    const objs: [string, unknown, string][] = [
      ['1', { root: 'zz', size: 10 }, 'bad-object'],
      ['1', { root: root.toString('hex'), size: 0 }, 'bad-object'],
      ['1', { root: root.toString('hex'), size: 1.5 }, 'bad-object'],
      ['1', { root: root.toString('hex'), size: '10' }, 'bad-object'],
      ['0', { root: root.toString('hex'), size: 10 }, 'bad-object'],
      ['01', { root: root.toString('hex'), size: 10 }, 'bad-object'],
      ['4294967296', { root: root.toString('hex'), size: 10 }, 'bad-object'],
      ['x', { root: root.toString('hex'), size: 10 }, 'bad-object'],
      ['1', { root: root.toString('hex'), size: 65 * MiB }, 'no-capacity']
    ];
    for (const [n, body, code] of objs) {
      const r = await admin(port, KEY, 'PUT', `/admin/contracts/${holder}/objects/${n}`, body, { time: clock });
      t.equal(r.json.error?.code, code, `${n} ${JSON.stringify(body)}`);
    }
    const top = await admin(port, KEY, 'PUT', `/admin/contracts/${holder}/objects/4294967295`, { root: root.toString('hex'), size: 10 }, { time: clock });
    t.same([top.status, top.json.object], [200, 4294967295], 'the largest u32 is an object id');
    t.equal((await admin(port, KEY, 'PUT', `/admin/contracts/${cid()}/objects/1`, { root: root.toString('hex'), size: 10 }, { time: clock })).json.error?.code,
      'unknown-contract');
    t.equal((await admin(port, KEY, 'DELETE', `/admin/contracts/${holder}`, undefined, { time: clock })).status, 200);
    t.equal((await admin(port, KEY, 'PUT', '/admin/contracts/../etc', { root: root.toString('hex'), size: 1, expiry: clock + 9 }, { time: clock })).status, 404,
      'paths are never names');
    t.equal((await admin(port, KEY, 'PUT', '/admin/contracts/ABC', { root: root.toString('hex'), size: 1, expiry: clock + 9 }, { time: clock })).json.error?.code, 'bad-contract');
    const bad = await raw(port, 'PUT', `/admin/contracts/${cid()}`, {
      headers: { ...signAdmin(KEY, 'PUT', '/x', Buffer.from('{')), 'content-length': 1 }, body: Buffer.from('{')
    });
    t.equal(bad.json.error?.code, 'bad-signature');
    const { id, r } = await register(100, root);
    t.equal(r.status, 200);
    const expiry = clock + 3600;
    t.equal((await register(100, root, id, expiry)).r.status, 200, 'idempotent');
    t.equal((await register(101, root, id, expiry)).r.json.error?.code, 'object-exists', 'object 1 with other terms');
    t.equal((await register(100, root, id, expiry + 1)).r.json.error?.code, 'contract-exists', 'another expiry');
    t.equal((await admin(port, KEY, 'GET', `/admin/contracts/${cid()}`, undefined, { time: clock })).json.error?.code, 'unknown-contract');
    t.equal((await admin(port, KEY, 'DELETE', `/admin/contracts/${id}`, undefined, { time: clock })).status, 200);
    t.equal((await admin(port, KEY, 'DELETE', `/admin/contracts/${id}`, undefined, { time: clock })).json.error?.code, 'unknown-contract');
    t.equal((await admin(port, KEY, 'POST', '/admin/nothing', {}, { time: clock })).json.error?.code, 'not-found');
  });

  t.test('should mint working tokens on request', async (t) => {
    const c = cid();
    const r = await admin(port, KEY, 'POST', '/admin/tokens', {
      contract: c, op: 'get', object: 1, notAfter: clock + 60, maxBytes: 100, renterPkHash: '22'.repeat(20)
    }, { time: clock });
    t.equal(r.status, 200);
    t.equal(r.json.token, token(c, 'get', 1, { notAfter: clock + 60, maxBytes: 100, renterPkHash: '22'.repeat(20) }));
    t.equal((await admin(port, KEY, 'POST', '/admin/tokens', { contract: c }, { time: clock })).json.error?.code, 'bad-request');
  });
});

t.test('upload and download', async (t) => {
  // 9 MiB + a short leaf: two parts, and more than one response's worth.
  const data = randomBytes(9 * MiB + 1000);
  const tree = MerkleTree.fromData(data);
  const { id } = await register(data.length, tree.root);

  t.test('should accept parts in order, resume, and refuse a receipt until complete', async (t) => {
    const r0 = await admin(port, KEY, 'GET', `/admin/contracts/${id}/objects/1/receipt`, undefined, { time: clock });
    t.equal(r0.json.error?.code, 'upload-incomplete');
    const p1 = await put(id, 0, data.subarray(0, 4 * MiB));
    t.equal(p1.status, 200);
    t.same([p1.json.received, p1.json.complete], [4 * MiB, false]);
    const st = await raw(port, 'GET', `/v1/${id}/1/status`, { headers: { authorization: `CC-Token ${token(id, 'put')}` } });
    t.equal(st.json.received, 4 * MiB);
    t.equal((await get(id, 1)).json.error?.code, 'object-not-found', 'nothing visible before completion');
    // The rest through the client, which resumes from the server's status.
    const file = path.join(dir, 'upload.bin');
    fs.writeFileSync(file, data);
    const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: KEY });
    const done = await client.uploadFile(token(id, 'put'), id, 1, file, 4 * MiB);
    t.equal(done.complete, true);
    const rc = await admin(port, KEY, 'GET', `/admin/contracts/${id}/objects/1/receipt`, undefined, { time: clock });
    t.same(rc.json, { contract: id, object: 1, root: tree.root.toString('hex'), size: data.length, complete: true });
    t.equal((await put(id, 0, data.subarray(0, 4096))).json.error?.code, 'already-complete');
  });

  t.test('should serve HEAD, ranges, and proofs that verify', async (t) => {
    const h = await get(id, 1, {}, undefined, 'HEAD');
    t.equal(h.status, 200);
    t.equal(Number(h.headers['content-length']), data.length);
    t.equal(h.headers['x-cc-root'], tree.root.toString('hex'));
    const r = await get(id, 1, { range: 'bytes=100-4195' });
    t.equal(r.status, 206);
    t.equal(r.headers['content-range'], `bytes 100-4195/${data.length}`);
    t.same(r.body, data.subarray(100, 4196));
    const tail = await get(id, 1, { range: 'bytes=-10' });
    t.same(tail.body, data.subarray(data.length - 10));
    const open = await get(id, 1, { range: `bytes=${data.length - 5}-` });
    t.same(open.body, data.subarray(data.length - 5));
    const client = new FileServerClient(`http://127.0.0.1:${port}`);
    const out = path.join(dir, 'download.bin');
    await client.downloadFile(token(id, 'get'), id, 1, out, { size: data.length, rangeSize: 3 * MiB });
    t.ok(fs.readFileSync(out).equals(data), 'bytes identical');
    const leaves = Math.ceil(data.length / LEAF_SIZE);
    for (const i of [0, leaves - 1, Math.floor(Math.random() * leaves)]) {
      const pr = await raw(port, 'GET', `/v1/${id}/1/proof/${i}`, { headers: { authorization: `CC-Token ${token(id, 'get')}` } });
      const proof = MerkleProof.decode(pr.body);
      const leaf = (await get(id, 1, { range: `bytes=${i * LEAF_SIZE}-${Math.min((i + 1) * LEAF_SIZE, data.length) - 1}` })).body;
      t.ok(verifyLeaf(tree.root, data.length, proof, leaf), `leaf ${i} verifies`);
    }
    // Audit-style reads: leaf + proof in one request, indistinguishable from a read.
    const reader = new FileServerClient(`http://127.0.0.1:${port}`);
    for (const i of [0, leaves - 1, 1 + Math.floor(Math.random() * (leaves - 2))]) {
      const { data: leaf, proof } = await reader.readLeaf(token(id, 'get'), id, 1, i, data.length);
      t.ok(verifyLeaf(tree.root, data.length, proof, leaf), `readLeaf ${i} verifies`);
    }
    t.notOk('x-cc-proof' in (await get(id, 1, { range: 'bytes=1-4096' })).headers, 'no proof on unaligned reads');
    // A host that lost or altered one byte fails the audit of that leaf.
    const victim = 1 + Math.floor(Math.random() * (leaves - 2));
    const stored = path.join(dir, 'objects', id, '1', 'data');
    const fd = fs.openSync(stored, 'r+');
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, victim * LEAF_SIZE + 7);
    fs.writeSync(fd, Buffer.from([one[0] ^ 0x01]), 0, 1, victim * LEAF_SIZE + 7);
    fs.closeSync(fd);
    const vp = await raw(port, 'GET', `/v1/${id}/1/proof/${victim}`, { headers: { authorization: `CC-Token ${token(id, 'get')}` } });
    const vleaf = (await get(id, 1, { range: `bytes=${victim * LEAF_SIZE}-${(victim + 1) * LEAF_SIZE - 1}` })).body;
    t.notOk(verifyLeaf(tree.root, data.length, MerkleProof.decode(vp.body), vleaf), 'flipped byte on the host fails');
    const audited = await reader.readLeaf(token(id, 'get'), id, 1, victim, data.length);
    t.notOk(verifyLeaf(tree.root, data.length, audited.proof, audited.data), 'and fails through readLeaf');
    const fd2 = fs.openSync(stored, 'r+');
    fs.writeSync(fd2, one, 0, 1, victim * LEAF_SIZE + 7);
    fs.closeSync(fd2);
    // The tree the server built part by part equals the one built in one pass.
    const ref = path.join(dir, 'ref.tree');
    await hashFile(path.join(dir, 'upload.bin'), { inline: true, treePath: ref });
    t.ok(fs.readFileSync(path.join(dir, 'objects', id, '1', 'tree')).equals(fs.readFileSync(ref)), 'stored tree file identical');
    const pbad = await raw(port, 'GET', `/v1/${id}/1/proof/${leaves}`, { headers: { authorization: `CC-Token ${token(id, 'get')}` } });
    t.equal(pbad.json.error?.code, 'bad-leaf');
  });

  t.test('should refuse bad ranges and oversized responses', async (t) => {
    for (const range of ['bytes=5-2', `bytes=${data.length}-`, 'bytes=0-1,5-6', 'items=0-1', 'bytes=-0', 'bytes=-']) {
      const r = await get(id, 1, { range });
      t.equal(r.status, 416, range);
      t.equal(r.json.error?.code, 'bad-range', range);
    }
    t.equal((await get(id, 1)).json.error?.code, 'range-required', 'whole 9 MiB object needs Range');
    t.equal((await get(id, 1, { range: 'bytes=0-' })).json.error?.code, 'bad-range', 'range over 8 MiB');
  });

  t.test('should refuse missing, forged, expired and out-of-scope tokens', async (t) => {
    const path1 = `/v1/${id}/1`;
    t.equal((await raw(port, 'GET', path1)).json.error?.code, 'missing-token');
    t.equal((await get(id, 1, {}, token(id, 'get').replace(/.$/, 'x'))).json.error?.code, 'bad-token');
    t.equal((await get(id, 1, {}, mintToken(deriveTokenKey(randomBytes(32)), {
      contract: id, op: 'get', object: 1, notAfter: clock + 60, maxBytes: 1e9, renterPkHash: '11'.repeat(20)
    }))).json.error?.code, 'bad-token');
    const expired = await get(id, 1, { range: 'bytes=0-9' }, token(id, 'get', 1, { notAfter: clock - 1 }));
    t.same([expired.status, expired.json.error?.code], [401, 'token-expired']);
    t.equal((await get(id, 1, { range: 'bytes=0-9' }, token(id, 'put'))).json.error?.code, 'token-scope', 'put token cannot read');
    t.equal((await get(id, 1, { range: 'bytes=0-9' }, token(cid(), 'get'))).json.error?.code, 'token-scope', 'other contract');
    t.equal((await get(id, 1, { range: 'bytes=0-9' }, token(id, 'get', 0))).json.error?.code, 'token-scope', 'other object');
    t.equal((await get(id, 1, { range: 'bytes=0-99' }, token(id, 'get', 1, { maxBytes: 50 }))).json.error?.code, 'token-scope', 'maxBytes');
    const ok = await raw(port, 'GET', `${path1}?token=${token(id, 'get')}`, { headers: { range: 'bytes=0-9' } });
    t.equal(ok.status, 206, 'token in the query string');
    t.equal((await raw(port, 'GET', path1, { headers: { authorization: 'Bearer x' } })).json.error?.code, 'bad-token');
  });
});

t.test('bad uploads', async (t) => {
  t.test('should reject bad offsets, unaligned parts, oversized and chunked bodies', async (t) => {
    const data = randomBytes(3 * LEAF_SIZE + 5);
    const { id } = await register(data.length, MerkleTree.fromData(data).root);
    const r1 = await put(id, 4096, data.subarray(4096, 8192));
    t.same([r1.status, r1.json.error?.code, r1.json.error?.received], [409, 'bad-offset', 0]);
    t.equal((await put(id, 0, data.subarray(0, 100))).json.error?.code, 'unaligned-part');
    t.equal((await put(id, 0, Buffer.concat([data, Buffer.alloc(1)]))).json.error?.code, 'too-large', 'beyond contract size');
    const big = await put(id, 0, Buffer.alloc(16), undefined, { 'content-length': 8 * MiB + 1 });
    t.same([big.status, big.json.error?.code], [413, 'too-large']);
    const chunked = await raw(port, 'PUT', `/v1/${id}/1?offset=0`, {
      headers: { authorization: `CC-Token ${token(id, 'put')}`, 'transfer-encoding': 'chunked' }, body: data
    });
    t.equal(chunked.json.error?.code, 'length-required');
    t.equal((await put(id, 0, data.subarray(0, 4096), undefined, {}).then(() => put(id, 4096, data.subarray(4096), token(id, 'put', 1, { maxBytes: 5000 })))).json.error?.code,
      'token-scope', 'beyond token maxBytes');
    t.equal((await raw(port, 'PUT', `/v1/${id}/1?offset=-1`, { headers: { authorization: `CC-Token ${token(id, 'put')}`, 'content-length': 0 } })).json.error?.code, 'bad-request');
    t.equal((await raw(port, 'PUT', `/v1/${id}/7`, { headers: { authorization: `CC-Token ${token(id, 'put', 7)}`, 'content-length': 0 } })).json.error?.code, 'unknown-object');
    t.equal((await raw(port, 'DELETE', `/v1/${id}/1`, { headers: { authorization: `CC-Token ${token(id, 'put')}` } })).json.error?.code, 'method-not-allowed');
    t.equal((await raw(port, 'GET', '/v1/../../etc/passwd')).status, 404);
  });

  t.test('should ignore a truncated part and accept it again', async (t) => {
    const data = randomBytes(4 * LEAF_SIZE);
    const { id } = await register(data.length, MerkleTree.fromData(data).root);
    await raw(port, 'PUT', `/v1/${id}/1?offset=0`, {
      headers: { authorization: `CC-Token ${token(id, 'put')}`, 'content-length': data.length }, body: data, cutAfter: 5000
    });
    const st = async () => (await raw(port, 'GET', `/v1/${id}/1/status`, { headers: { authorization: `CC-Token ${token(id, 'get')}` } })).json;
    t.equal((await st()).received, 0, 'truncated part not counted');
    // The server may still hold the lock for a moment while it notices the abort.
    let r = await put(id, 0, data);
    for (let i = 0; i < 100 && r.json.error?.code === 'busy'; i++)
      r = await put(id, 0, data);
    t.equal(r.json.complete, true);
  });

  t.test('should count an upload whose last answer was lost as done', async (t) => {
    const data = randomBytes(2 * LEAF_SIZE + 9);
    const { id } = await register(data.length, MerkleTree.fromData(data).root);
    t.equal((await put(id, 0, data)).json.complete, true, 'the server completed it; the client never heard');
    // The client still believes nothing arrived, as after a lost answer.
    class Forgetful extends FileServerClient {
      private stale = true;
      override async uploadStatus(tok: string, contract: string, object = 1) {
        if (this.stale) {
          this.stale = false;
          return { contract, object, size: data.length, received: 0, complete: false };
        }
        return super.uploadStatus(tok, contract, object);
      }
    }
    const file = path.join(dir, 'lost.bin');
    fs.writeFileSync(file, data);
    const st = await new Forgetful(`http://127.0.0.1:${port}`).uploadFile(token(id, 'put'), id, 1, file);
    t.same([st.received, st.complete], [data.length, true], 'already-complete on the retry, then status says done');
    const other = (await register(data.length + 1, randomBytes(32))).id;
    await t.rejects(new FileServerClient(`http://127.0.0.1:${port}`).uploadFile(token(other, 'put'), other, 1, file),
      { code: 'bad-size' }, 'a local file of another size than the contract is refused');
  });

  t.test('should reject a wrong root and leave nothing behind', async (t) => {
    const data = randomBytes(2 * LEAF_SIZE + 1);
    const { id } = await register(data.length, randomBytes(32));
    t.equal((await put(id, 0, data.subarray(0, 4096))).status, 200);
    const r = await put(id, 4096, data.subarray(4096));
    t.same([r.status, r.json.error?.code], [422, 'root-mismatch']);
    t.notOk(fs.existsSync(path.join(dir, 'uploads', id)), 'upload deleted');
    t.notOk(fs.existsSync(path.join(dir, 'objects', id, '1')), 'no object');
    const st = await admin(port, KEY, 'GET', `/admin/contracts/${id}/objects/1`, undefined, { time: clock });
    t.same([st.json.received, st.json.complete], [0, false]);
    t.equal((await admin(port, KEY, 'GET', `/admin/contracts/${id}/objects/1/receipt`, undefined, { time: clock })).json.error?.code, 'upload-incomplete');
  });

  t.test('should reject data calls for unknown contracts', async (t) => {
    const c = cid();
    t.equal((await put(c, 0, Buffer.alloc(10))).json.error?.code, 'unknown-contract');
    t.equal((await get(c, 1, { range: 'bytes=0-1' })).json.error?.code, 'unknown-contract');
  });
});

t.test('manifest object', async (t) => {
  const { id } = await register(10, randomBytes(32));
  const m = randomBytes(5000);
  const putM = (body: Buffer, len = body.length) => raw(port, 'PUT', `/v1/${id}/0`, {
    headers: { authorization: `CC-Token ${token(id, 'put', 0)}`, 'content-length': len }, body
  });
  t.equal((await get(id, 0)).json.error?.code, 'object-not-found');
  t.equal((await putM(m)).status, 200);
  t.same((await get(id, 0)).body, m);
  const m2 = randomBytes(100);
  t.equal((await putM(m2)).status, 200, 'replaced');
  t.same((await get(id, 0)).body, m2);
  t.equal((await putM(Buffer.alloc(10), (1 << 20) + 1)).json.error?.code, 'too-large');
  t.equal((await putM(randomBytes((64 << 10) + 1))).json.error?.code, 'too-large', 'over the contract\'s manifest limit');
  t.same([(await putM(Buffer.alloc(0))).status, (await putM(Buffer.alloc(0))).json.error?.code], [400, 'empty-body']);
  t.equal((await raw(port, 'PUT', `/v1/${id}/0?offset=5`, { headers: { authorization: `CC-Token ${token(id, 'put', 0)}`, 'content-length': 1 }, body: Buffer.alloc(1) })).json.error?.code, 'bad-offset');
});

t.test('many objects per contract', async (t) => {
  const id = cid();
  const reg = (body: unknown, p = `/admin/contracts/${id}`) => admin(port, KEY, 'PUT', p, body, { time: clock });
  const status = async () => (await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock })).json;
  const before = await status();
  t.equal((await reg({ expiry: clock + 3600 })).status, 200);
  t.equal((await status()).reserved as number, (before.reserved as number) + MiB, 'the contract reserves its 1 MiB manifest limit');
  const datas = new Map<number, Buffer>([[1, randomBytes(5 * LEAF_SIZE + 7)], [2, randomBytes(3 * LEAF_SIZE)], [70000, randomBytes(100)]]);
  for (const [n, d] of datas) {
    const r = await reg({ root: MerkleTree.fromData(d).root.toString('hex'), size: d.length }, `/admin/contracts/${id}/objects/${n}`);
    t.same([r.status, r.json.object, r.json.size], [200, n, d.length], `object ${n} registered`);
  }
  const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: KEY });
  t.equal((await client.contract(id)).objects, 3);
  for (const [n, d] of datas) {
    t.equal((await client.putPart(token(id, 'put', n), id, n, 0, d)).complete, true, `object ${n} uploaded`);
    t.same(await client.receipt(id, n), { contract: id, object: n, root: MerkleTree.fromData(d).root.toString('hex'), size: d.length, complete: true });
  }
  t.equal((await client.putPart(token(id, 'put', 1), id, 2, 0, datas.get(2)!).catch((e) => e)).code, 'token-scope', 'a token names its object');
  const d2 = datas.get(2)!;
  const leaf = await client.readLeaf(token(id, 'get', 2), id, 2, 1, d2.length);
  t.ok(verifyLeaf(MerkleTree.fromData(d2).root, d2.length, leaf.proof, leaf.data), 'a single-leaf read of object 2 carries its proof');
  const small = await client.readLeaf(token(id, 'get', 70000), id, 70000, 0, 100);
  t.ok(verifyLeaf(MerkleTree.fromData(datas.get(70000)!).root, 100, small.proof, small.data), 'and of a one-leaf object');
  t.same(await client.download(token(id, 'get', 70000), id, 70000), datas.get(70000));
  // Deleting: refused while written, then frees the object's reservation; the id stays used.
  const d9 = randomBytes(2 * LEAF_SIZE);
  await client.registerObject(id, 9, { root: MerkleTree.fromData(d9).root.toString('hex'), size: d9.length });
  const mid = await status();
  const slow = http.request({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/${id}/9?offset=0`,
    headers: { authorization: `CC-Token ${token(id, 'put', 9)}`, 'content-length': d9.length } });
  slow.on('error', () => {});
  const answered = new Promise<number>((resolve) => slow.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); }));
  slow.write(d9.subarray(0, LEAF_SIZE));
  let busy = '';
  for (let i = 0; i < 200 && busy !== 'busy'; i++) {
    busy = (await admin(port, KEY, 'DELETE', `/admin/contracts/${id}/objects/9`, undefined, { time: clock })).json.error?.code ?? 'removed';
    if (busy === 'removed')
      break;
  }
  t.equal(busy, 'busy', 'an object being written is not deleted');
  slow.end(d9.subarray(LEAF_SIZE));
  t.equal(await answered, 200);
  t.same((await admin(port, KEY, 'DELETE', `/admin/contracts/${id}/objects/9`, undefined, { time: clock })).json, { removed: 9 });
  t.equal((await status()).reserved as number, (mid.reserved as number) - footprint(d9.length), 'deleting frees the reservation');
  t.equal((await get(id, 9, {}, token(id, 'get', 9))).json.error?.code, 'unknown-object');
  t.equal((await reg({ root: MerkleTree.fromData(d9).root.toString('hex'), size: d9.length }, `/admin/contracts/${id}/objects/9`)).json.error?.code,
    'object-exists', 'a deleted id is never reused');
  t.equal((await admin(port, KEY, 'DELETE', `/admin/contracts/${id}/objects/9`, undefined, { time: clock })).json.error?.code, 'unknown-object');
  t.equal((await raw(port, 'GET', `/v1/${id}/4294967296`, { headers: { authorization: `CC-Token ${token(id, 'get', 1)}` } })).status, 404);
  t.equal((await admin(port, KEY, 'DELETE', `/admin/contracts/${id}`, undefined, { time: clock })).status, 200);
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

t.test('expiry and purge', async (t) => {
  const { id } = await register(10, randomBytes(32), cid(), clock + 100);
  const status0 = await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock });
  clock += 101;
  t.equal((await get(id, 1, { range: 'bytes=0-1' })).json.error?.code, 'contract-expired');
  const p = await admin(port, KEY, 'POST', '/admin/purge', {}, { time: clock });
  t.ok((p.json.purged as string[]).includes(id));
  t.equal((await get(id, 1, { range: 'bytes=0-1' })).json.error?.code, 'unknown-contract');
  const status1 = await admin(port, KEY, 'GET', '/admin/status', undefined, { time: clock });
  t.ok((status1.json.contracts as number) < (status0.json.contracts as number));
});

t.test('renter round trip', async (t) => {
  // encrypt -> register root -> upload -> receipt -> download -> decrypt,
  // plus the sealed manifest as object 0: the path issue 7 drives.
  const master = randomBytes(64);
  const fileId = randomBytes(32);
  const salt = randomBytes(32);
  const plain = randomBytes(3 * MiB + 12345);
  const src = path.join(dir, 'plain.bin');
  fs.writeFileSync(src, plain);
  const enc = path.join(dir, 'plain.enc');
  const key = deriveFileKey(master, fileId, 0, salt);
  const { root, size } = await encryptFile(key, src, enc, { inline: true });
  const { id } = await register(size, root);
  const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: KEY });
  await client.uploadFile(token(id, 'put'), id, 1, enc, 1 << 20);
  t.equal((await client.receipt(id, 1)).root, root.toString('hex'));
  const m = new Manifest();
  const f = new ManifestFile();
  f.fileId = fileId;
  f.name = Buffer.from('plain.bin');
  f.size = plain.length;
  const r = new Replica();
  r.contractId = Buffer.from(id, 'hex');
  r.salt = salt;
  r.root = root;
  r.objectSize = size;
  f.replicas.push(r);
  m.files.push(f);
  await client.putManifest(token(id, 'put', 0), id, m.seal(master));
  // Recovery from the seed and this one host.
  const back = Manifest.open(master, await client.download(token(id, 'get', 0), id, 0));
  const rf = back.files[0];
  const got = path.join(dir, 'got.enc');
  await client.downloadFile(token(id, 'get'), id, 1, got);
  const out = path.join(dir, 'got.bin');
  await decryptFile(deriveFileKey(master, rf.fileId, rf.revision, rf.replicas[0].salt), got, out);
  t.ok(fs.readFileSync(out).equals(plain), 'plaintext recovered');
  t.equal(rf.name.toString(), 'plain.bin');
});

/** Writes `head` on a raw socket, then `drip` every 200 ms; resolves on close with what came back. */
function rawSocket(p: number, head: string, drip?: string, limitMs = 15000): Promise<{ text: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(p, '127.0.0.1');
    let text = '';
    const iv = drip === undefined ? null : setInterval(() => {
      if (!s.destroyed)
        s.write(drip);
    }, 200);
    const stop = setTimeout(() => s.destroy(), limitMs);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (iv)
        clearInterval(iv);
      clearTimeout(stop);
      resolve({ text, ms: Date.now() - t0 });
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
    t.ok(hdr.ms < 3500, `closed after ${hdr.ms} ms`);
    t.match(body.text, /^HTTP\/1\.1 408 /, 'body too slow: 408');
    t.ok(body.ms < 4500, `closed after ${body.ms} ms`);
  });

  t.test('should refuse an unauthenticated admin call before reading its body', async (t) => {
    const r = await rawSocket(sport, 'POST /admin/purge HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n', undefined, 1500);
    t.match(r.text, /^HTTP\/1\.1 401 /);
    t.match(r.text, /"missing-auth"/);
    t.ok(r.ms < 1000, `answered and closed after ${r.ms} ms without any body sent`);
    const stale = await rawSocket(sport, `POST /admin/purge HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n${adminHeaderText('POST', '/admin/purge', clock - 500)}\r\n`,
      undefined, 1500);
    t.match(stale.text, /"stale-request"/);
    t.ok(stale.ms < 1000);
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
  const guarded = new FileServer({
    dataDir: edir, adminKey: KEY, now, port: 0, log: () => {}, requestTimeoutMs: 4000, headersTimeoutMs: 3000,
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
    t.ok(Date.now() - t0 < 15000, `all cut after ${Date.now() - t0} ms`);
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
    const text = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (b: Buffer) => { got += b.toString('latin1'); });
      s.on('error', () => {});
      s.on('close', () => resolve(got));
      s.write(`PUT /v1/${cut}/1?offset=0 HTTP/1.1\r\nHost: x\r\nAuthorization: CC-Token ${token(cut, 'put')}\r\nContent-Length: ${d.length}\r\n\r\n`);
      s.end(d.subarray(0, 1000)); // half-close: the client says it is done
    });
    t.match(text, /^HTTP\/1\.1 400 /);
    t.match(text, /"truncated-body"/);
    await forValue(() => fs.existsSync(path.join(dir, 'uploads', cut)), false, 10000, 'no upload folder left');
    // Garbage after a complete PUT: the PUT stands, the garbage is refused, nothing else is left.
    const g = randomBytes(LEAF_SIZE);
    const { id: gid } = await register(g.length, MerkleTree.fromData(g).root);
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (b: Buffer) => { got += b.toString('latin1'); });
      s.on('error', () => {});
      s.on('close', () => resolve(got));
      s.end(Buffer.concat([Buffer.from(`PUT /v1/${gid}/1?offset=0 HTTP/1.1\r\nHost: x\r\nAuthorization: CC-Token ${token(gid, 'put')}\r\nContent-Length: ${g.length}\r\n\r\n`),
        g, Buffer.from('\x00\x01garbage\r\n\r\n')]));
    });
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
    const text = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (b: Buffer) => {
        got += b.toString('latin1');
        if ((got.match(/HTTP\/1\.1 /g) ?? []).length === 2 && /\}$/.test(got))
          s.end();
      });
      s.on('error', () => {});
      s.on('close', () => resolve(got));
      const auth = `Authorization: CC-Token ${token(pid, 'put')}\r\n`;
      s.write(Buffer.concat([
        Buffer.from(`PUT /v1/${pid}/1?offset=0 HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${2 * LEAF_SIZE}\r\n\r\n`), d.subarray(0, 2 * LEAF_SIZE),
        Buffer.from(`GET /v1/${pid}/1/status HTTP/1.1\r\nHost: x\r\n${auth}\r\n`)
      ]));
    });
    const bodies = text.split(/HTTP\/1\.1 /).slice(1).map((r) => JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4)) as { received: number });
    t.same(bodies.map((b) => b.received), [2 * LEAF_SIZE, 2 * LEAF_SIZE]);
  });
});

t.test('token maxBytes on HEAD with Range and on proofs', async (t) => {
  const data = randomBytes(5 * LEAF_SIZE + 100);
  const { id } = await register(data.length, MerkleTree.fromData(data).root);
  t.equal((await put(id, 0, data)).json.complete, true);
  const small = token(id, 'get', 1, { maxBytes: LEAF_SIZE });
  const h = await get(id, 1, { range: `bytes=${5 * LEAF_SIZE}-${data.length - 1}` }, small, 'HEAD');
  t.equal(h.status, 403, 'HEAD of a range beyond maxBytes');
  t.notOk('x-cc-proof' in h.headers, 'and no proof of that leaf');
  t.equal((await get(id, 1, { range: 'bytes=0-4095' }, small, 'HEAD')).status, 206, 'HEAD within maxBytes');
  t.equal((await get(id, 1, {}, small, 'HEAD')).status, 200, 'a plain HEAD touches no bytes');
  const proof = (leaf: number) => raw(port, 'GET', `/v1/${id}/1/proof/${leaf}`, { headers: { authorization: `CC-Token ${small}` } });
  t.equal((await proof(0)).status, 200);
  t.equal((await proof(5)).json.error?.code, 'token-scope', 'proof of a leaf beyond maxBytes');
  t.equal((await proof(6)).json.error?.code, 'bad-leaf');
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
  const client = new FileServerClient(url, { adminKey: KEY, timeoutMs: 1000 });
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
    await t.rejects(client.download('v1.x', c, 1, 0, 4095), { code: 'unreachable', message: /within 1000 ms/ });
    t.ok(Date.now() - t0 < 2500, `gave up after ${Date.now() - t0} ms`);
  });

  t.test('should refuse a HEAD size other than the contract size before any range', async (t) => {
    mode = 'big head';
    gets = 0;
    const out = path.join(dir, 'hostile.out');
    await t.rejects(client.downloadFile('v1.x', c, 1, out, { size: 4096 }), { code: 'bad-size' });
    t.equal(gets, 0, 'no range was requested');
  });
});
