// Streamed replicas (lib/storage/transfer.ts) against a real file server:
// two-pass encrypted upload (resumed mid-way, never staged on disk) and a
// download that verifies tags and the Merkle root before the plaintext
// appears; tampering, a wrong root and a short budget leave nothing.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import {
  CHUNK_SIZE, FileServerClient, LEAF_SIZE, LeafHasherPool, TokenFields, cipherSize, decryptFile, deriveFileKey,
  downloadDecrypted, encryptFile, encryptedRoot, uploadEncrypted
} from '../lib/storage';
import { startServer, tempDir } from './util/fileserver';
import { randomFile } from '../bench/util';

const MiB = 1 << 20;

t.test('streamed replicas', async (t) => {
  const dir = tempDir('cc-transfer-');
  const KEY = randomBytes(32);
  const { server, port } = await startServer(path.join(dir, 'server'), KEY);
  const pool = new LeafHasherPool(2);
  t.teardown(async () => {
    await pool.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: KEY });
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const key = deriveFileKey(randomBytes(64), randomBytes(32), 0, randomBytes(32));
  const token = (contract: string, op: 'get' | 'put', maxBytes = 2 ** 40): string =>
    client.mintToken({ contract, op, object: 1, notAfter: expiry, maxBytes, renterPkHash: '55'.repeat(20) } as TokenFields);

  // 19 MiB + a few bytes: three parts, the last short, and a short last chunk.
  const plain = path.join(dir, 'plain.bin');
  randomFile(plain, 19 * MiB + 4321);
  const size = cipherSize(fs.statSync(plain).size);

  t.test('should compute the root without writing anything', async (t) => {
    const before = fs.readdirSync(dir).sort();
    const one = await encryptedRoot(key, plain, { pool });
    const staged = await encryptFile(key, plain, path.join(dir, 'staged.enc'), { inline: true });
    t.same([one.size, one.root], [staged.size, staged.root], 'same as encrypting to a file');
    fs.rmSync(path.join(dir, 'staged.enc'));
    t.same(fs.readdirSync(dir).sort(), before, 'nothing written');
  });

  t.test('should upload in two passes, resume, and download verified', async (t) => {
    const { root } = await encryptedRoot(key, plain, { pool });
    const id = randomBytes(32).toString('hex');
    await client.register({ id, expiry });
    await client.registerObject(id, 1, { root: root.toString('hex'), size });
    // An earlier attempt sent the first 3 MiB + 2 leaves (not a chunk boundary).
    const enc = path.join(dir, 'ref.enc');
    await encryptFile(key, plain, enc, { inline: true });
    const head = fs.readFileSync(enc).subarray(0, 3 * MiB + 2 * LEAF_SIZE);
    await client.putPart(token(id, 'put'), id, 1, 0, head);
    const seen: number[] = [];
    const st = await uploadEncrypted({ client, token: token(id, 'put'), contract: id, object: 1 }, key, plain,
      { progress: (done) => seen.push(done) });
    t.same([st.complete, st.received], [true, size]);
    t.same(seen, [8 * MiB, 16 * MiB, size], 'one short part realigns, then whole parts');
    t.equal((await client.receipt(id, 1)).root, root.toString('hex'), 'the server verified the root');
    const again = await uploadEncrypted({ client, token: token(id, 'put'), contract: id, object: 1 }, key, plain);
    t.equal(again.complete, true, 'a complete object is left as it is');

    const out = path.join(dir, 'back.bin');
    const got = await downloadDecrypted({ client, token: token(id, 'get', size), contract: id, object: 1 }, key, size, root, out, { pool });
    t.same(got, { size, plainSize: fs.statSync(plain).size });
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(plain)), 'plaintext identical');
    const inline = path.join(dir, 'back-inline.bin');
    await downloadDecrypted({ client, token: token(id, 'get'), contract: id, object: 1 }, key, size, root, inline, { inline: true, rangeSize: 2 * MiB });
    t.ok(fs.readFileSync(inline).equals(fs.readFileSync(plain)), 'the same on the calling thread with other ranges');
    const ref = path.join(dir, 'ref.bin');
    await decryptFile(key, enc, ref);
    t.ok(fs.readFileSync(ref).equals(fs.readFileSync(plain)), 'what was uploaded is what encryptFile makes');

    t.test('should refuse a wrong root, a tampered host and a short budget, leaving nothing', async (t) => {
      const dest = path.join(dir, 'never.bin');
      const from = { client, token: token(id, 'get'), contract: id, object: 1 };
      await t.rejects(downloadDecrypted(from, key, size, randomBytes(32), dest, { pool }), { code: 'bad-root' });
      t.notOk(fs.existsSync(dest), 'no output for a wrong root');
      await t.rejects(downloadDecrypted(from, key, size + 1, root, dest, { pool }), { code: 'bad-size' });
      await t.rejects(downloadDecrypted({ ...from, token: token(id, 'get', size - 1) }, key, size, root, dest, { pool }), { code: 'over-budget' });
      // The host flips a byte of chunk 9.
      const data = path.join(dir, 'server', 'objects', id, '1', 'data');
      const fd = fs.openSync(data, 'r+');
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, 9 * CHUNK_SIZE + 5);
      b[0] ^= 1;
      fs.writeSync(fd, b, 0, 1, 9 * CHUNK_SIZE + 5);
      fs.closeSync(fd);
      await t.rejects(downloadDecrypted(from, key, size, root, dest, { pool }), { code: 'bad-tag' });
      t.notOk(fs.existsSync(dest), 'no output for tampered bytes');
      t.same(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), [], 'no temp file left');
    });
  });

  t.test('should verify uploads hashed on the event loop or on a pool of its own', async (t) => {
    const small = path.join(dir, 'small.bin');
    randomFile(small, 3 * MiB + 7);
    const { root, size: n } = await encryptedRoot(key, small, { inline: true });
    for (const hashThreads of [0, 1]) {
      const other = await startServer(path.join(dir, `server-${hashThreads}`), KEY, { hashThreads });
      try {
        const c = new FileServerClient(`http://127.0.0.1:${other.port}`, { adminKey: KEY });
        const id = randomBytes(32).toString('hex');
        await c.register({ id, expiry });
        await c.registerObject(id, 1, { root: root.toString('hex'), size: n });
        const st = await uploadEncrypted({ client: c, token: token(id, 'put'), contract: id, object: 1 }, key, small, { partSize: MiB });
        t.equal(st.complete, true, `hashThreads ${hashThreads}`);
        t.equal((await c.receipt(id, 1)).root, root.toString('hex'));
      } finally {
        await other.server.close();
      }
    }
  });

  t.test('should refuse a file of another size than the registered object', async (t) => {
    const id = randomBytes(32).toString('hex');
    await client.register({ id, expiry });
    await client.registerObject(id, 1, { root: randomBytes(32).toString('hex'), size: size + 16 });
    await t.rejects(uploadEncrypted({ client, token: token(id, 'put'), contract: id, object: 1 }, key, plain), { code: 'bad-size' });
  });
});
