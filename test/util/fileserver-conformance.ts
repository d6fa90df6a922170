// One conformance suite for every file server: the same HTTP cases against
// the Node server, PHP's built-in server and Apache 2.4 + mod_php with the
// shipped .htaccess in a subdirectory under shared-hosting limits
// (fileserver-targets.ts). The clock and the server's files are reached
// through the test-only admin hooks both servers implement. A target whose
// binaries are missing is skipped with the reason; CI installs them. One
// test file per target (fileserver-conformance-*-test.ts) runs it.
import t, { Test } from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { createHash, createHmac, randomBytes } from 'crypto';
import {
  ALL_OBJECTS, FileServerClient, LEAF_SIZE, Manifest, ManifestFile, MerkleProof, MerkleTree, Replica, TokenFields, decryptFile,
  deriveFileKey, deriveTokenKey, encryptFile, footprint, hashFile, mintToken, signAdmin, verifyLeaf
} from '../../lib/storage';
import { Reply, exchange, raw, tempDir } from './fileserver';
import { Target, missing, startTarget } from './fileserver-targets';
import { forValue } from './wait';
import { randomFile } from '../../bench/util';

const MiB = 1 << 20;
const CAPACITY = 256 * MiB;

/** Runs the suite against one target, skipping it (outside CI) when its binaries are missing. */
export function runConformance(name: 'node' | 'php' | 'apache'): void {
  const why = missing(name);
  t.test(`file server conformance: ${name}`, { skip: why ?? false }, async (t) => {
    const KEY = randomBytes(32);
    const KTOK = deriveTokenKey(KEY);
    const target = await startTarget(name, KEY, CAPACITY);
    const work = tempDir(`cc-conf-work-${name}-`);
    t.teardown(async () => {
      await target.close();
      fs.rmSync(work, { recursive: true, force: true });
    });
    await conformance(t, target, KEY, KTOK, work);
  });
}

async function conformance(t: Test, target: Target, KEY: Buffer, KTOK: Buffer, work: string): Promise<void> {
  const { port, base } = target;
  let offset = 0;
  const clock = () => Math.floor(Date.now() / 1000) + offset;
  const cid = () => randomBytes(32).toString('hex');
  const token = (contract: string, op: 'get' | 'put', object = 1, extra: Partial<TokenFields> = {}) => mintToken(KTOK, {
    contract, op, object, notAfter: clock() + 600, maxBytes: 2 ** 40, renterPkHash: '11'.repeat(20), ...extra
  });
  const req = (method: string, p: string, opts: Parameters<typeof raw>[3] = {}) => raw(port, method, base + p, opts);
  /** A signed admin call: signs the path relative to the base, sends it under the base. */
  const admin = (method: string, p: string, json?: unknown, opts: { time?: number; nonce?: string; key?: Buffer; signed?: string } = {}): Promise<Reply> => {
    const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
    const headers = signAdmin(opts.key ?? KEY, method, opts.signed ?? p, body, opts.time ?? clock(), opts.nonce ?? randomBytes(16).toString('hex'));
    return req(method, p, { headers: { ...headers, 'content-length': body.length, 'content-type': 'application/json' }, body });
  };
  const auth = (tok: string) => ({ authorization: `CC-Token ${tok}` });
  const put = (contract: string, offsetBytes: number, body: Buffer, tok = token(contract, 'put'), object = 1, extra: Record<string, string | number> = {}) =>
    req('PUT', `/v1/${contract}/${object}?offset=${offsetBytes}`, { headers: { ...auth(tok), 'content-length': body.length, ...extra }, body });
  const get = (contract: string, object: number, headers: Record<string, string> = {}, tok = token(contract, 'get', object), method = 'GET') =>
    req(method, `/v1/${contract}/${object}`, { headers: { ...auth(tok), ...headers } });
  /** A contract (manifest limit 64 KiB) with data object 1. */
  const register = async (size: number, root: Buffer, id = cid(), expiry = clock() + 3600) => {
    const c = await admin('PUT', `/admin/contracts/${id}`, { expiry, manifestLimit: 64 << 10 });
    if (c.status !== 200)
      return { id, r: c };
    return { id, r: await admin('PUT', `/admin/contracts/${id}/objects/1`, { root: root.toString('hex'), size }) };
  };
  const files = async (under: string) => (await admin('POST', '/admin/test/files', { under })).json.files as string[];
  const readFile = async (p: string) => Buffer.from((await admin('POST', '/admin/test/read', { path: p })).json.base64 as string, 'base64');
  const client = new FileServerClient(target.url, { adminKey: KEY });
  const setClock = async (seconds: number) => {
    const r = await admin('POST', '/admin/test/clock', { offset: seconds });
    offset = seconds;
    return r;
  };

  t.test('admin API', async (t) => {
    t.test('should report status with a good signature', async (t) => {
      const r = await admin('GET', '/admin/status');
      t.equal(r.status, 200);
      t.match(r.json, { capacity: CAPACITY, contracts: 0, objects: 0, version: String });
    });

    t.test('should refuse bad, stale, replayed and missing signatures', async (t) => {
      t.equal((await admin('GET', '/admin/status', undefined, { key: randomBytes(32) })).json.error?.code, 'bad-signature', 'wrong admin key');
      t.equal((await admin('GET', '/admin/status', undefined, { time: clock() - 300 })).json.error?.code, 'stale-request');
      t.equal((await admin('GET', '/admin/status', undefined, { time: clock() + 300 })).json.error?.code, 'stale-request');
      const nonce = randomBytes(16).toString('hex');
      t.equal((await admin('GET', '/admin/status', undefined, { nonce })).status, 200);
      const again = await admin('GET', '/admin/status', undefined, { nonce });
      t.same([again.status, again.json.error?.code], [401, 'replayed-nonce']);
      const none = await req('GET', '/admin/status');
      t.same([none.status, none.json.error?.code], [401, 'missing-auth']);
      const altered = await admin('PUT', `/admin/contracts/${cid()}`, { expiry: clock() + 60 }, { signed: '/admin/status' });
      t.equal(altered.json.error?.code, 'bad-signature', 'a MAC over another path');
      if (base)
        t.equal((await admin('GET', '/admin/status', undefined, { signed: `${base}/admin/status` })).json.error?.code, 'bad-signature',
          'a MAC over the prefixed path does not verify');
    });

    t.test('should validate contract and object registrations', async (t) => {
      const root = randomBytes(32).toString('hex');
      const contracts: [unknown, string][] = [
        [{ expiry: clock() - 1 }, 'bad-contract'], [{ expiry: '9999999999' }, 'bad-contract'], [{}, 'bad-contract'],
        [{ expiry: clock() + 10, manifestLimit: 0 }, 'bad-contract'], [{ expiry: clock() + 10, manifestLimit: MiB + 1 }, 'bad-contract'],
        [{ expiry: clock() + 10, manifestLimit: 1.5 }, 'bad-contract'], [[1, 2], 'bad-json']
      ];
      for (const [body, code] of contracts)
        t.equal((await admin('PUT', `/admin/contracts/${cid()}`, body)).json.error?.code, code, JSON.stringify(body));
      const holder = cid();
      t.equal((await admin('PUT', `/admin/contracts/${holder}`, { expiry: clock() + 100 })).status, 200);
      const objs: [string, unknown, string][] = [
        ['1', { root: 'zz', size: 10 }, 'bad-object'], ['1', { root, size: 0 }, 'bad-object'], ['1', { root, size: 1.5 }, 'bad-object'],
        ['1', { root, size: '10' }, 'bad-object'], ['0', { root, size: 10 }, 'bad-object'], ['01', { root, size: 10 }, 'bad-object'],
        ['4294967296', { root, size: 10 }, 'bad-object'], ['x', { root, size: 10 }, 'bad-object'],
        ['1', { root, size: CAPACITY + 1 }, 'no-capacity']
      ];
      for (const [n, body, code] of objs)
        t.equal((await admin('PUT', `/admin/contracts/${holder}/objects/${n}`, body)).json.error?.code, code, `${n} ${JSON.stringify(body)}`);
      const top = await admin('PUT', `/admin/contracts/${holder}/objects/4294967294`, { root, size: 10 });
      t.same([top.status, top.json.object], [200, 4294967294], '2^32-2 is the largest object id');
      t.equal((await admin('PUT', `/admin/contracts/${holder}/objects/4294967295`, { root, size: 10 })).json.error?.code, 'bad-object',
        '2^32-1 means every object in tokens, never an object');
      t.equal((await admin('PUT', `/admin/contracts/${cid()}/objects/1`, { root, size: 10 })).json.error?.code, 'unknown-contract');
      t.equal((await admin('DELETE', `/admin/contracts/${holder}`)).status, 200);
      t.equal((await admin('PUT', '/admin/contracts/../etc', { expiry: clock() + 9 })).status, 404, 'paths are never names');
      t.equal((await admin('PUT', '/admin/contracts/ABC', { expiry: clock() + 9 })).json.error?.code, 'bad-contract');
      const expiry = clock() + 3600;
      const rootBuf = randomBytes(32);
      const { id, r } = await register(100, rootBuf, cid(), expiry);
      t.equal(r.status, 200);
      t.equal((await register(100, rootBuf, id, expiry)).r.status, 200, 'idempotent');
      t.equal((await register(101, rootBuf, id, expiry)).r.json.error?.code, 'object-exists', 'object 1 with other terms');
      t.equal((await register(100, rootBuf, id, expiry + 1)).r.json.error?.code, 'contract-exists', 'another expiry');
      t.equal((await admin('GET', `/admin/contracts/${cid()}`)).json.error?.code, 'unknown-contract');
      t.equal((await admin('DELETE', `/admin/contracts/${id}`)).status, 200);
      t.equal((await admin('DELETE', `/admin/contracts/${id}`)).json.error?.code, 'unknown-contract');
      t.equal((await admin('POST', '/admin/nothing', {})).json.error?.code, 'not-found');
      t.equal((await admin('GET', '/admin/purge')).status, 404, 'purge is POST');
    });

    t.test('should mint working tokens on request', async (t) => {
      const c = cid();
      const fields = { contract: c, op: 'get', object: 1, notAfter: clock() + 60, maxBytes: 100, nonce: '0123456789abcdef',
        renterPkHash: '22'.repeat(20) };
      const r = await admin('POST', '/admin/tokens', fields);
      t.equal(r.status, 200);
      t.equal(r.json.token, mintToken(KTOK, fields as TokenFields));
      const { nonce: _n, ...fresh } = fields;
      const [a, b] = [await admin('POST', '/admin/tokens', fresh), await admin('POST', '/admin/tokens', fresh)];
      t.not(a.json.token, b.json.token, 'equal fields get tokens with their own nonce');
      t.equal((await admin('POST', '/admin/tokens', { ...fields, nonce: 'XY' })).json.error?.code, 'bad-request', 'a malformed nonce');
      t.equal((await admin('POST', '/admin/tokens', { contract: c })).json.error?.code, 'bad-request');
    });

    t.test('should refuse an admin body over 64 KiB', async (t) => {
      const r = await admin('POST', '/admin/purge', { pad: 'x'.repeat(70 << 10) });
      t.same([r.status, r.json.error?.code], [413, 'too-large']);
    });
  });

  t.test('upload and download', async (t) => {
    // 9 MiB + a short leaf: two parts, and more than one response's worth.
    const data = randomBytes(9 * MiB + 1000);
    const tree = MerkleTree.fromData(data);
    const { id } = await register(data.length, tree.root);
    const file = path.join(work, 'upload.bin');
    fs.writeFileSync(file, data);

    t.test('should accept parts in order, resume, and refuse a receipt until complete', async (t) => {
      t.equal((await admin('GET', `/admin/contracts/${id}/objects/1/receipt`)).json.error?.code, 'upload-incomplete');
      const p1 = await put(id, 0, data.subarray(0, 4 * MiB));
      t.same([p1.status, p1.json.received, p1.json.complete], [200, 4 * MiB, false]);
      const st = await req('GET', `/v1/${id}/1/status`, { headers: auth(token(id, 'put')) });
      t.equal(st.json.received, 4 * MiB);
      t.equal((await get(id, 1)).json.error?.code, 'object-not-found', 'nothing visible before completion');
      const done = await client.uploadFile(token(id, 'put'), id, 1, file, 4 * MiB);
      t.equal(done.complete, true, 'the client resumed from the server\'s status');
      const rc = await admin('GET', `/admin/contracts/${id}/objects/1/receipt`);
      t.same(rc.json, { contract: id, object: 1, root: tree.root.toString('hex'), size: data.length, complete: true });
      t.equal((await put(id, 0, data.subarray(0, 4096))).json.error?.code, 'already-complete');
    });

    t.test('should serve HEAD, ranges, and proofs that verify', async (t) => {
      const h = await get(id, 1, {}, undefined, 'HEAD');
      t.equal(h.status, 200);
      t.equal(Number(h.headers['content-length']), data.length);
      t.equal(h.headers['x-cc-root'], tree.root.toString('hex'));
      t.equal(Number(h.headers['x-cc-leaves']), Math.ceil(data.length / LEAF_SIZE));
      const r = await get(id, 1, { range: 'bytes=100-4195' });
      t.same([r.status, r.headers['content-range']], [206, `bytes 100-4195/${data.length}`]);
      t.same(r.body, data.subarray(100, 4196));
      t.same((await get(id, 1, { range: 'bytes=-10' })).body, data.subarray(data.length - 10));
      t.same((await get(id, 1, { range: `bytes=${data.length - 5}-` })).body, data.subarray(data.length - 5));
      t.same((await get(id, 1, { range: 'bytes=0-18446744073709551615' })).status, 416, 'clamped to 9 MiB: over the 8 MiB response limit');
      t.same((await get(id, 1, { range: `bytes=${data.length - 3}-18446744073709551615` })).body, data.subarray(data.length - 3), 'a huge end is clamped');
      const out = path.join(work, 'download.bin');
      await new FileServerClient(target.url).downloadFile(token(id, 'get'), id, 1, out, { size: data.length, rangeSize: 3 * MiB });
      t.ok(fs.readFileSync(out).equals(data), 'bytes identical');
      const leaves = Math.ceil(data.length / LEAF_SIZE);
      for (const i of [0, leaves - 1, 1 + Math.floor(Math.random() * (leaves - 2))]) {
        const pr = await req('GET', `/v1/${id}/1/proof/${i}`, { headers: auth(token(id, 'get')) });
        const leaf = (await get(id, 1, { range: `bytes=${i * LEAF_SIZE}-${Math.min((i + 1) * LEAF_SIZE, data.length) - 1}` })).body;
        t.ok(verifyLeaf(tree.root, data.length, MerkleProof.decode(pr.body), leaf), `proof of leaf ${i} verifies`);
        const { data: l2, proof } = await client.readLeaf(token(id, 'get'), id, 1, i, data.length);
        t.ok(verifyLeaf(tree.root, data.length, proof, l2), `readLeaf ${i} (X-CC-Proof) verifies`);
      }
      t.notOk('x-cc-proof' in (await get(id, 1, { range: 'bytes=1-4096' })).headers, 'no proof on unaligned reads');
      t.equal((await req('GET', `/v1/${id}/1/proof/${leaves}`, { headers: auth(token(id, 'get')) })).json.error?.code, 'bad-leaf');
      // The tree the server built part by part equals the one built in one pass.
      const ref = path.join(work, 'ref.tree');
      await hashFile(file, { inline: true, treePath: ref });
      t.ok((await readFile(`objects/${id}/1/tree`)).equals(fs.readFileSync(ref)), 'stored tree file identical to the reference');
      // A host that altered one byte fails the audit of that leaf.
      const victim = 1 + Math.floor(Math.random() * (leaves - 2));
      await admin('POST', '/admin/test/flip', { path: `objects/${id}/1/data`, offset: victim * LEAF_SIZE + 7 });
      const audited = await client.readLeaf(token(id, 'get'), id, 1, victim, data.length);
      t.notOk(verifyLeaf(tree.root, data.length, audited.proof, audited.data), 'a flipped byte fails the audit');
      await admin('POST', '/admin/test/flip', { path: `objects/${id}/1/data`, offset: victim * LEAF_SIZE + 7 });
    });

    t.test('should refuse bad ranges and oversized responses', async (t) => {
      for (const range of ['bytes=5-2', `bytes=${data.length}-`, 'bytes=0-1,5-6', 'items=0-1', 'bytes=-0', 'bytes=-', 'bytes=18446744073709551615-']) {
        const r = await get(id, 1, { range });
        t.same([r.status, r.json.error?.code], [416, 'bad-range'], range);
      }
      t.equal((await get(id, 1)).json.error?.code, 'range-required', 'whole 9 MiB object needs Range');
      t.equal((await get(id, 1, { range: 'bytes=0-' })).json.error?.code, 'bad-range', 'range over 8 MiB');
    });

    t.test('should refuse missing, forged, expired and out-of-scope tokens', async (t) => {
      t.equal((await req('GET', `/v1/${id}/1`)).json.error?.code, 'missing-token');
      t.equal((await get(id, 1, {}, token(id, 'get').replace(/.$/, 'x'))).json.error?.code, 'bad-token');
      t.equal((await get(id, 1, {}, mintToken(deriveTokenKey(randomBytes(32)), {
        contract: id, op: 'get', object: 1, notAfter: clock() + 60, maxBytes: 1e9, renterPkHash: '11'.repeat(20)
      }))).json.error?.code, 'bad-token', 'a token of another server');
      const expired = await get(id, 1, { range: 'bytes=0-9' }, token(id, 'get', 1, { notAfter: clock() - 1 }));
      t.same([expired.status, expired.json.error?.code], [401, 'token-expired']);
      t.equal((await get(id, 1, { range: 'bytes=0-9' }, token(id, 'put'))).json.error?.code, 'token-scope', 'put token cannot read');
      t.equal((await get(id, 1, { range: 'bytes=0-9' }, token(cid(), 'get'))).json.error?.code, 'token-scope', 'other contract');
      t.equal((await get(id, 1, { range: 'bytes=0-9' }, token(id, 'get', 0))).json.error?.code, 'token-scope', 'other object');
      const over = await get(id, 1, { range: 'bytes=0-99' }, token(id, 'get', 1, { maxBytes: 50 }));
      t.same([over.status, over.json.error?.code, over.json.error?.left], [402, 'over-budget', 50], 'a read over the budget');
      t.equal((await req('GET', `/v1/${id}/1?token=${token(id, 'get')}`, { headers: { range: 'bytes=0-9' } })).status, 206, 'token in the query string');
      t.equal((await req('GET', `/v1/${id}/1`, { headers: { authorization: 'Bearer x' } })).json.error?.code, 'bad-token');
      t.equal((await get(id, 1, {}, 'v1.' + 'a'.repeat(300))).json.error?.code, 'bad-token', 'an oversized token');
    });
  });

  t.test('bad uploads', async (t) => {
    t.test('should reject bad offsets, unaligned parts, oversized and chunked bodies', async (t) => {
      const data = randomBytes(3 * LEAF_SIZE + 5);
      const { id } = await register(data.length, MerkleTree.fromData(data).root);
      const r1 = await put(id, 4096, data.subarray(4096, 8192));
      t.same([r1.status, r1.json.error?.code, r1.json.error?.received], [409, 'bad-offset', 0]);
      t.equal((await put(id, 0, data.subarray(0, 100))).json.error?.code, 'unaligned-part');
      t.equal((await put(id, 0, Buffer.concat([data, Buffer.alloc(1)]))).json.error?.code, 'too-large', 'beyond the object size');
      const big = await put(id, 0, Buffer.alloc(8 * MiB + 1));
      t.same([big.status, big.json.error?.code], [413, 'too-large']);
      const chunked = await req('PUT', `/v1/${id}/1?offset=0`, { headers: { ...auth(token(id, 'put')), 'transfer-encoding': 'chunked' }, body: data });
      t.equal(chunked.json.error?.code, 'length-required');
      t.equal((await put(id, 0, Buffer.alloc(0))).json.error?.code, 'empty-body');
      t.equal((await put(id, 0, data.subarray(0, 4096))).status, 200);
      t.equal((await put(id, 4096, data.subarray(4096), token(id, 'put', 1, { maxBytes: 5000 }))).json.error?.code, 'token-scope', 'beyond token maxBytes');
      t.equal((await req('PUT', `/v1/${id}/1?offset=-1`, { headers: { ...auth(token(id, 'put')), 'content-length': 0 } })).json.error?.code, 'bad-request');
      t.equal((await req('PUT', `/v1/${id}/7`, { headers: { ...auth(token(id, 'put', 7)), 'content-length': 0 } })).json.error?.code, 'unknown-object');
      t.equal((await req('DELETE', `/v1/${id}/1`, { headers: auth(token(id, 'put')) })).json.error?.code, 'method-not-allowed');
      t.equal((await req('GET', '/v1/../../etc/passwd')).status, 404, 'traversal');
      t.equal((await req('GET', `/v1/${id}/1/%2e%2e/%2e%2e/config.php`)).status, 404, 'encoded traversal');
      t.equal((await req('GET', `/v1/${id}/4294967296`, { headers: auth(token(id, 'get')) })).status, 404, 'object id over u32');
    });

    t.test('should refuse a data PUT whose body ends before Content-Length and keep nothing', async (t) => {
      const d = randomBytes(2 * LEAF_SIZE);
      const { id } = await register(d.length, MerkleTree.fromData(d).root);
      // php -S waits for the whole body before PHP runs: give up on it after a while.
      const text = await exchange(port, Buffer.concat([Buffer.from(`PUT ${base}/v1/${id}/1?offset=0 HTTP/1.1\r\nHost: x\r\n`
        + `Authorization: CC-Token ${token(id, 'put')}\r\nContent-Length: ${d.length}\r\n\r\n`), d.subarray(0, 1000)]), { end: true, limitMs: 5000 });
      // Node and PHP under Apache answer truncated-body; php -S closes or never answers.
      t.match(text, /^(HTTP\/1\.[01] (400|408) |$)/, `answer: ${text.slice(0, 40) || '(none)'}`);
      if (text !== '')
        t.match(text, /"(truncated-body|request-timeout)"/);
      await forValue(async () => (await files('uploads')).some((f) => f.includes(id)), false, 15000, 'no upload folder left');
      const st = await req('GET', `/v1/${id}/1/status`, { headers: auth(token(id, 'put')) });
      t.equal(st.json.received, 0, 'nothing counted');
    });

    t.test('should ignore a part cut mid-body and accept it again (resumed upload)', async (t) => {
      const data = randomBytes(4 * LEAF_SIZE);
      const { id } = await register(data.length, MerkleTree.fromData(data).root);
      await req('PUT', `/v1/${id}/1?offset=0`, { headers: { ...auth(token(id, 'put')), 'content-length': data.length }, body: data, cutAfter: 5000 });
      const st = async () => (await req('GET', `/v1/${id}/1/status`, { headers: auth(token(id, 'get')) })).json;
      await forValue(async () => (await st()).received, 0, 10000, 'truncated part not counted');
      // The cut request's worker holds the object's lock until it sees the cut: retried with a deadline,
      // not a count (100 quick retries can all come before a loaded machine runs that worker).
      const r = await forValue(() => put(id, 0, data), (x) => x.json.error?.code !== 'busy', 15000, 'the cut part\'s lock released');
      t.equal(r.json.complete, true);
    });

    t.test('should count an upload whose last answer was lost as done', async (t) => {
      const data = randomBytes(2 * LEAF_SIZE + 9);
      const { id } = await register(data.length, MerkleTree.fromData(data).root);
      t.equal((await put(id, 0, data)).json.complete, true, 'the server completed it; the client never heard');
      class Forgetful extends FileServerClient {
        private stale = true;
        override async uploadStatus(tok: string, contract: string, object: number) {
          if (this.stale) {
            this.stale = false;
            return { contract, object, size: data.length, received: 0, complete: false };
          }
          return super.uploadStatus(tok, contract, object);
        }
      }
      const file = path.join(work, 'lost.bin');
      fs.writeFileSync(file, data);
      const st = await new Forgetful(target.url).uploadFile(token(id, 'put'), id, 1, file);
      t.same([st.received, st.complete], [data.length, true], 'already-complete on the retry, then status says done');
    });

    t.test('should reject a wrong root and leave nothing behind', async (t) => {
      const data = randomBytes(2 * LEAF_SIZE + 1);
      const { id } = await register(data.length, randomBytes(32));
      t.equal((await put(id, 0, data.subarray(0, 4096))).status, 200);
      const r = await put(id, 4096, data.subarray(4096));
      t.same([r.status, r.json.error?.code], [422, 'root-mismatch']);
      t.notOk((await files('uploads')).some((f) => f.includes(id)), 'upload deleted');
      t.notOk((await files('objects')).some((f) => f.startsWith(`objects/${id}/1/`)), 'no object');
      const st = await admin('GET', `/admin/contracts/${id}/objects/1`);
      t.same([st.json.received, st.json.complete], [0, false]);
    });

    t.test('should reject data calls for unknown contracts', async (t) => {
      const c = cid();
      t.equal((await put(c, 0, Buffer.alloc(10))).json.error?.code, 'unknown-contract');
      t.equal((await get(c, 1, { range: 'bytes=0-1' })).json.error?.code, 'unknown-contract');
    });
  });

  t.test('manifest object', async (t) => {
    const { id } = await register(10, randomBytes(32));
    const putM = (body: Buffer, len = body.length) => req('PUT', `/v1/${id}/0`, { headers: { ...auth(token(id, 'put', 0)), 'content-length': len }, body });
    t.equal((await get(id, 0)).json.error?.code, 'object-not-found');
    const m = randomBytes(5000);
    t.equal((await putM(m)).status, 200);
    t.same((await get(id, 0)).body, m);
    const m2 = randomBytes(100);
    t.equal((await putM(m2)).status, 200, 'replaced');
    t.same((await get(id, 0)).body, m2);
    t.equal((await putM(Buffer.alloc(MiB + 1))).json.error?.code, 'too-large');
    t.equal((await putM(randomBytes((64 << 10) + 1))).json.error?.code, 'too-large', 'over the contract\'s manifest limit');
    t.same([(await putM(Buffer.alloc(0))).status, (await putM(Buffer.alloc(0))).json.error?.code], [400, 'empty-body']);
    t.equal((await req('PUT', `/v1/${id}/0?offset=5`, { headers: { ...auth(token(id, 'put', 0)), 'content-length': 1 }, body: Buffer.alloc(1) })).json.error?.code, 'bad-offset');
    const st = await req('GET', `/v1/${id}/0/status`, { headers: auth(token(id, 'get', 0)) });
    t.same([st.json.size, st.json.complete], [100, true]);
  });

  t.test('many objects per contract', async (t) => {
    const id = cid();
    const status = async () => (await admin('GET', '/admin/status')).json;
    const before = await status();
    t.equal((await admin('PUT', `/admin/contracts/${id}`, { expiry: clock() + 3600 })).status, 200);
    t.equal((await status()).reserved as number, (before.reserved as number) + MiB, 'the contract reserves its 1 MiB manifest limit');
    const datas = new Map<number, Buffer>([[1, randomBytes(5 * LEAF_SIZE + 7)], [2, randomBytes(3 * LEAF_SIZE)], [70000, randomBytes(100)]]);
    for (const [n, d] of datas)
      await client.registerObject(id, n, { root: MerkleTree.fromData(d).root.toString('hex'), size: d.length });
    t.equal((await client.contract(id)).objects, 3);
    // Concurrent uploads of different objects of one contract.
    const results = await Promise.all([...datas].map(([n, d]) => client.putPart(token(id, 'put', n), id, n, 0, d)));
    t.same(results.map((r) => r.complete), [true, true, true], 'three objects uploaded at once');
    for (const [n, d] of datas)
      t.same(await client.receipt(id, n), { contract: id, object: n, root: MerkleTree.fromData(d).root.toString('hex'), size: d.length, complete: true });
    const d2 = datas.get(2)!;
    const leaf = await client.readLeaf(token(id, 'get', 2), id, 2, 1, d2.length);
    t.ok(verifyLeaf(MerkleTree.fromData(d2).root, d2.length, leaf.proof, leaf.data), 'a single-leaf read of object 2 carries its proof');
    const small = await client.readLeaf(token(id, 'get', 70000), id, 70000, 0, 100);
    t.ok(verifyLeaf(MerkleTree.fromData(datas.get(70000)!).root, 100, small.proof, small.data), 'and of a one-leaf object');
    // Deleting: refused while written, then frees the reservation; the id stays used.
    const d9 = randomBytes(2 * LEAF_SIZE);
    await client.registerObject(id, 9, { root: MerkleTree.fromData(d9).root.toString('hex'), size: d9.length });
    const mid = await status();
    if (!target.buffersBodies) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      let answer = '';
      s.on('data', (b: Buffer) => { answer += b.toString('latin1'); });
      s.write(`PUT ${base}/v1/${id}/9?offset=0 HTTP/1.1\r\nHost: x\r\nAuthorization: CC-Token ${token(id, 'put', 9)}\r\nContent-Length: ${d9.length}\r\n\r\n`);
      s.write(d9.subarray(0, LEAF_SIZE));
      const busy = await forValue(async () => (await admin('DELETE', `/admin/contracts/${id}/objects/9`)).json.error?.code ?? 'removed',
        (c) => c === 'busy' || c === 'removed', 10000, 'delete while writing');
      t.equal(busy, 'busy', 'an object being written is not deleted');
      t.equal((await admin('DELETE', `/admin/contracts/${id}`)).json.error?.code, 'busy', 'nor its contract');
      s.write(d9.subarray(LEAF_SIZE));
      await forValue(() => /"complete":true/.test(answer), true, 10000, 'the slow PUT completes');
      s.destroy();
    }
    t.same((await admin('DELETE', `/admin/contracts/${id}/objects/9`)).json, { removed: 9 });
    t.equal((await status()).reserved as number, (mid.reserved as number) - footprint(d9.length), 'deleting frees the reservation');
    t.equal((await get(id, 9, {}, token(id, 'get', 9))).json.error?.code, 'unknown-object');
    t.equal((await admin('PUT', `/admin/contracts/${id}/objects/9`, { root: MerkleTree.fromData(d9).root.toString('hex'), size: d9.length })).json.error?.code,
      'object-exists', 'a deleted id is never reused');
    t.equal((await admin('DELETE', `/admin/contracts/${id}/objects/9`)).json.error?.code, 'unknown-object');
    t.equal((await admin('DELETE', `/admin/contracts/${id}`)).status, 200);
  });

  t.test('renewal: adopt objects without a re-upload', async (t) => {
    const status = async () => (await admin('GET', '/admin/status')).json;
    const old = cid();
    const fresh = cid();
    const d1 = randomBytes(3 * LEAF_SIZE + 5);
    const d2 = randomBytes(LEAF_SIZE);
    t.equal((await admin('PUT', `/admin/contracts/${old}`, { expiry: clock() + 3600 })).status, 200);
    for (const [n, d] of [[1, d1], [2, d2]] as const) {
      await client.registerObject(old, n, { root: MerkleTree.fromData(d).root.toString('hex'), size: d.length });
      t.equal((await client.putPart(token(old, 'put', n), old, n, 0, d)).complete, true);
    }
    const d3 = randomBytes(100);
    await client.registerObject(old, 3, { root: MerkleTree.fromData(d3).root.toString('hex'), size: d3.length });
    t.equal((await admin('PUT', `/admin/contracts/${fresh}`, { expiry: clock() + 7200 })).status, 200);
    const adopt = (body: unknown, id = fresh) => admin('POST', `/admin/contracts/${id}/adopt`, body);
    // Refusals change nothing.
    const refused: [unknown, string, string?][] = [
      [{ from: fresh, objects: [1] }, 'bad-contract'],
      [{ from: 'x', objects: [1] }, 'bad-contract'],
      [{ from: old, objects: [0] }, 'bad-object'],
      [{ from: old, objects: 1 }, 'bad-object'],
      [{ from: old, objects: new Array(4097).fill(1) }, 'bad-object'],
      [{ from: cid(), objects: [1] }, 'unknown-contract'],
      [{ from: old, objects: [1, 4] }, 'unknown-object'],
      [{ from: old, objects: [1, 3] }, 'upload-incomplete'],
      [{ from: old, objects: [1] }, 'unknown-contract', cid()]
    ];
    for (const [body, code, id] of refused)
      t.equal((await adopt(body, id)).json.error?.code, code, `${code}: ${JSON.stringify(body).slice(0, 60)}`);
    t.equal((await client.contract(fresh)).objects, 0, 'nothing adopted by a refusal');
    const before = await status();
    t.same((await adopt({ from: old, objects: [1, 2] })).json, { contract: fresh, from: old, adopted: 2 });
    t.same((await adopt({ from: old, objects: [1, 2] })).json.adopted, 2, 'again: the same');
    t.equal((await adopt({ from: old, objects: [2] }, cid())).json.error?.code, 'unknown-contract');
    const after = await status();
    t.equal(after.reserved, before.reserved, 'shared bytes are counted once');
    t.same(await client.receipt(fresh, 1), { contract: fresh, object: 1, root: MerkleTree.fromData(d1).root.toString('hex'), size: d1.length, complete: true });
    t.ok((await get(fresh, 1, {}, token(fresh, 'get', 1))).body.equals(d1), 'the new contract serves the adopted bytes');
    const leaf = await client.readLeaf(token(fresh, 'get', 1), fresh, 1, 3, d1.length);
    t.ok(verifyLeaf(MerkleTree.fromData(d1).root, d1.length, leaf.proof, leaf.data), 'with proofs');
    // The old contract goes: the new one keeps the data and now counts it.
    t.equal((await admin('DELETE', `/admin/contracts/${old}`)).status, 200);
    t.ok((await get(fresh, 2, {}, token(fresh, 'get', 2))).body.equals(d2), 'still whole after the old contract is removed');
    t.equal((await status()).reserved, (after.reserved as number) - MiB - footprint(d3.length), 'counted under the new contract now');
    t.equal((await admin('DELETE', `/admin/contracts/${fresh}`)).status, 200);
  });

  t.test('concurrent parts of one object', async (t) => {
    const d = randomBytes(8 * MiB);
    const { id } = await register(d.length, MerkleTree.fromData(d).root);
    const both = await Promise.all([put(id, 0, d.subarray(0, 4 * MiB)), put(id, 0, d.subarray(0, 4 * MiB))]);
    const codes = both.map((r) => r.json.error?.code ?? 'ok').sort();
    t.ok(codes[1] === 'ok', `one is stored (${codes.join(', ')})`);
    t.ok(['bad-offset', 'busy', 'ok'].includes(codes[0]), `the other is busy or comes too late (${codes[0]})`);
    t.equal((await req('GET', `/v1/${id}/1/status`, { headers: auth(token(id, 'put')) })).json.received, 4 * MiB, 'stored once');
  });

  t.test('expiry and purge (clock hook)', async (t) => {
    const { id } = await register(10, randomBytes(32), cid(), clock() + 100);
    const contracts0 = (await admin('GET', '/admin/status')).json.contracts as number;
    t.equal((await setClock(101)).status, 200);
    t.equal((await get(id, 1, { range: 'bytes=0-1' })).json.error?.code, 'contract-expired');
    const st = await req('GET', `/v1/${id}/1/status`, { headers: auth(token(id, 'put')) });
    t.equal(st.status, 200, 'status keeps answering after expiry');
    const p = await admin('POST', '/admin/purge', {});
    t.ok((p.json.purged as string[]).includes(id));
    t.equal((await get(id, 1, { range: 'bytes=0-1' })).json.error?.code, 'unknown-contract');
    t.ok(((await admin('GET', '/admin/status')).json.contracts as number) < contracts0);
    await setClock(0);
  });

  t.test('download tokens are byte budgets', async (t) => {
    const data = randomBytes(5 * LEAF_SIZE + 100);
    const { id } = await register(data.length, MerkleTree.fromData(data).root);
    t.equal((await put(id, 0, data)).json.complete, true);
    const left = async (tok: string) => {
      const h = await get(id, 1, {}, tok, 'HEAD');
      t.equal(h.status, 200, 'a plain HEAD is always answered');
      return Number(h.headers['x-cc-budget-left']);
    };
    const leaf = (i: number, tok: string) => get(id, 1, { range: `bytes=${i * LEAF_SIZE}-${Math.min((i + 1) * LEAF_SIZE, data.length) - 1}` }, tok);

    t.test('should count every ranged read until the budget is spent', async (t) => {
      const tok = token(id, 'get', 1, { maxBytes: 3 * LEAF_SIZE + 100 });
      t.equal(await left(tok), 3 * LEAF_SIZE + 100, 'unused: the whole budget');
      for (let i = 0; i < 3; i++) {
        const r = await leaf(i, tok);
        t.same([r.status, Number(r.headers['x-cc-budget-left'])], [206, (2 - i) * LEAF_SIZE + 100], `leaf ${i}`);
        t.same(r.body, data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE));
      }
      const big = await leaf(3, tok);
      t.same([big.status, big.json.error?.code, big.json.error?.left], [402, 'over-budget', 100], 'a leaf over what is left');
      t.equal(await left(tok), 100, 'a refused read counts nothing');
      const head = await get(id, 1, { range: `bytes=0-${LEAF_SIZE - 1}` }, tok, 'HEAD');
      t.equal(head.status, 402, 'a HEAD with Range answers as its GET would');
      for (let i = 0; i < 5; i++)
        await left(tok);
      t.equal(await left(tok), 100, 'HEAD without Range is free');
      const last = await get(id, 1, { range: 'bytes=-100' }, tok);
      t.same([last.status, last.body], [206, data.subarray(data.length - 100)], 'the last 100 bytes fit exactly');
      t.equal((await get(id, 1, { range: 'bytes=0-0' }, tok)).json.error?.code, 'over-budget', 'then not one byte more');
      t.equal(await left(tok), 0);
      const other = token(id, 'get', 1, { maxBytes: 3 * LEAF_SIZE + 100, renterPkHash: '12'.repeat(20) });
      t.equal((await leaf(0, other)).status, 206, 'another token has its own budget');
      await t.rejects(new FileServerClient(target.url).downloadFile(other, id, 1, path.join(work, 'budget.bin')),
        { code: 'over-budget' }, 'the client refuses a download the budget cannot pay, before reading');
      t.equal(await left(other), 2 * LEAF_SIZE + 100, 'nothing read');
    });

    t.test('should count proofs as bytes served', async (t) => {
      const tok = token(id, 'get', 1, { maxBytes: 200 });
      const pr = await req('GET', `/v1/${id}/1/proof/2`, { headers: auth(tok) });
      t.equal(pr.status, 200);
      t.equal(Number(pr.headers['x-cc-budget-left']), 200 - pr.body.length);
      t.equal((await req('GET', `/v1/${id}/1/proof/9`, { headers: auth(tok) })).json.error?.code, 'bad-leaf');
      t.equal(await left(tok), 200 - pr.body.length, 'a bad leaf costs nothing');
      t.equal((await req('GET', `/v1/${id}/1/proof/0`, { headers: auth(token(id, 'get', 1, { maxBytes: 10 })) })).json.error?.code,
        'over-budget', 'a proof over the budget');
    });

    t.test('should give the last bytes to exactly one of racing reads', async (t) => {
      const tok = token(id, 'get', 1, { maxBytes: 5 * LEAF_SIZE });
      const tries = 12;
      const rs = await Promise.all(Array.from({ length: tries }, (_, i) => leaf(i % 5, tok)));
      const served = rs.filter((r) => r.status === 206);
      t.equal(served.length, 5, `5 of ${tries} concurrent one-leaf reads served (${rs.map((r) => r.status).join(' ')})`);
      t.ok(rs.every((r) => r.status === 206 || r.json.error?.code === 'over-budget'), 'the others refused over-budget');
      t.equal(served.reduce((a, r) => a + r.body.length, 0), 5 * LEAF_SIZE, 'exactly the budget served');
      t.equal(await left(tok), 0);
    });

    t.test('should read every data object of the contract on one budget', async (t) => {
      const more = [randomBytes(3 * LEAF_SIZE), randomBytes(LEAF_SIZE + 1)];
      for (const [i, d] of more.entries()) {
        await client.registerObject(id, i + 2, { root: MerkleTree.fromData(d).root.toString('hex'), size: d.length });
        t.equal((await put(id, 0, d, token(id, 'put', i + 2), i + 2)).json.complete, true);
      }
      await req('PUT', `/v1/${id}/0`, { headers: { ...auth(token(id, 'put', 0)), 'content-length': 10 }, body: randomBytes(10) });
      const objs: Buffer[] = [data, ...more];
      const all = token(id, 'get', ALL_OBJECTS, { maxBytes: 5 * LEAF_SIZE });
      // An audit: leaves across objects with one token, each proved.
      const picks: [number, number][] = [[1, 4], [2, 0], [3, 1], [1, 0], [2, 2]];
      for (const [n, i] of picks) {
        const d = objs[n - 1];
        const got = await client.readLeaf(all, id, n, i, d.length);
        t.ok(verifyLeaf(MerkleTree.fromData(d).root, d.length, got.proof, got.data), `object ${n} leaf ${i} verifies`);
      }
      const spent = picks.reduce((a, [n, i]) => a + Math.min(LEAF_SIZE, objs[n - 1].length - i * LEAF_SIZE), 0);
      const rest = 5 * LEAF_SIZE - spent;
      t.equal(Number((await get(id, 3, {}, all, 'HEAD')).headers['x-cc-budget-left']), rest, 'one budget over the objects');
      const r = await get(id, 2, { range: `bytes=0-${rest}` }, all);
      t.same([r.status, r.json.error?.code], [402, 'over-budget'], 'exhausted across objects');
      t.equal((await get(id, 2, { range: `bytes=0-${rest - 1}` }, all)).status, 206, 'what is left is served');
      t.equal((await get(id, 0, {}, all)).json.error?.code, 'token-scope', 'never the manifest');
      t.equal((await get(id, 1, { range: 'bytes=0-0' }, token(cid(), 'get', ALL_OBJECTS))).json.error?.code, 'token-scope', 'never another contract');
      t.equal((await req('GET', `/v1/${id}/3/status`, { headers: auth(all) })).json.complete, true, 'status of any object');
      t.equal((await admin('POST', '/admin/tokens', { contract: id, op: 'put', object: ALL_OBJECTS, notAfter: clock() + 60, maxBytes: 1,
        renterPkHash: '11'.repeat(20) })).json.error?.code, 'bad-request', 'no put token for every object');
      const body = `v2.${id}.put.${ALL_OBJECTS}.${clock() + 60}.${2 ** 40}.${'ab'.repeat(8)}.${'11'.repeat(20)}`;
      const forged = `${body}.${createHmac('sha256', KTOK).update(body).digest('hex')}`;
      t.equal((await put(id, 0, more[0], forged, 2)).json.error?.code, 'bad-token', 'a put token naming every object is refused');
    });

    t.test('should forget the counters of expired tokens', async (t) => {
      const d = randomBytes(100);
      const { id: c } = await register(d.length, MerkleTree.fromData(d).root, cid(), clock() + 4 * 3600);
      t.equal((await put(c, 0, d)).json.complete, true);
      const tok = token(c, 'get', 1, { maxBytes: 100, notAfter: clock() + 5 });
      t.equal((await get(c, 1, {}, tok)).status, 200);
      const mac = tok.slice(-64);
      t.ok((await files('budgets')).some((f) => f.includes(mac)), 'a used token has a counter');
      await setClock(2 * 3600);
      t.equal((await get(c, 1, {}, token(c, 'get', 1, { maxBytes: 1 }), 'HEAD')).status, 200);
      t.notOk((await files('budgets')).some((f) => f.includes(mac)), 'gone once its hour has passed');
      await setClock(0);
    });
  });

  t.test('renter round trip with the sealed manifest', async (t) => {
    const master = randomBytes(64);
    const fileId = randomBytes(32);
    const salt = randomBytes(32);
    const plain = randomBytes(3 * MiB + 12345);
    const src = path.join(work, 'plain.bin');
    fs.writeFileSync(src, plain);
    const enc = path.join(work, 'plain.enc');
    const { root, size } = await encryptFile(deriveFileKey(master, fileId, 0, salt), src, enc, { inline: true });
    const { id } = await register(size, root);
    await client.uploadFile(token(id, 'put'), id, 1, enc, MiB);
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
    const back = Manifest.open(master, await client.download(token(id, 'get', 0), id, 0));
    const rf = back.files[0];
    const got = path.join(work, 'got.enc');
    await client.downloadFile(token(id, 'get'), id, 1, got);
    const out = path.join(work, 'got.bin');
    await decryptFile(deriveFileKey(master, rf.fileId, rf.revision, rf.replicas[0].salt), got, out);
    t.ok(fs.readFileSync(out).equals(plain), 'plaintext recovered from the seed and this one host');
  });

  t.test('a large file streams', async (t) => {
    const size = 32 * MiB + 12345;
    const input = path.join(work, 'large.bin');
    randomFile(input, size);
    const { root } = await hashFile(input);
    const { id } = await register(size, root);
    const st = await client.uploadFile(token(id, 'put'), id, 1, input);
    t.equal(st.complete, true);
    t.equal((await client.receipt(id, 1)).root, root.toString('hex'));
    const output = path.join(work, 'large.out');
    t.equal(await client.downloadFile(token(id, 'get'), id, 1, output, { size }), size);
    const sha = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    t.equal(sha(output), sha(input), 'bytes identical');
    fs.rmSync(input);
    fs.rmSync(output);
  });

  t.test('bad input at the HTTP level', async (t) => {
    const huge = await exchange(port, `GET ${base}/admin/status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\nConnection: close\r\n\r\n`,
      { limitMs: 5000 });
    t.match(huge, /^(HTTP\/1\.[01] (400|413|431) |)/, 'oversized headers are refused (or the connection closed)');
    t.notMatch(huge, /^HTTP\/1\.[01] 200 /);
    const notJSON = await admin('PUT', `/admin/contracts/${cid()}`, undefined);
    t.equal(notJSON.json.error?.code, 'bad-contract', 'an empty admin body is an empty object');
    const garbage = await req('PUT', `/admin/contracts/${cid()}`, {
      headers: { ...signAdmin(KEY, 'PUT', `/admin/contracts/x`, Buffer.from('{')), 'content-length': 1 }, body: Buffer.from('{')
    });
    t.equal(garbage.json.error?.code, 'bad-signature');
    for (const p of ['/', '/v1', '/v1/x', '/admin', '/index.php', '/config.php', '/lib/store.php', '/data/contracts']) {
      const r = await req('GET', p);
      t.ok(r.status === 404 || r.status === 403 || r.status === 401, `${p}: ${r.status}`);
      t.notMatch(r.body.toString('latin1'), /admin_key|<\?php|Warning|Fatal/, `${p}: no source, no PHP warning`);
    }
  });
}
