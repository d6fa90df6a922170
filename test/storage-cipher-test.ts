// Chunked AES-256-GCM, key derivation, manifests and tokens.
import t, { Test } from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hkdfSync, randomBytes } from 'crypto';
import {
  CHUNK_SIZE, LeafHasherPool, Manifest, ManifestFile, PLAIN_CHUNK_SIZE, Replica, TAG_SIZE,
  chunkNonce, cipherSize, decryptChunk, decryptFile, decryptStream, deriveFileKey, deriveTokenKey,
  ALL_OBJECTS, encryptChunk, encryptFile, encryptStream, hashFile, mintToken, parseToken, plainSize, tokenId, verifyToken,
  signAdmin, checkAdmin, adminMessage
} from '../lib/storage';

function tmpdir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-cipher-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function* from(bufs: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of bufs)
    yield b;
}

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of gen)
    parts.push(p);
  return Buffer.concat(parts);
}

const master = Buffer.alloc(64, 9);
const fileId = Buffer.alloc(32, 1);
const salt = Buffer.alloc(32, 2);

t.test('keys', async (t) => {
  t.test('should derive HKDF(master, "cc/file" || fileId || u32 rev || salt)', async (t) => {
    const info = Buffer.concat([Buffer.from('cc/file'), fileId, Buffer.from('05000000', 'hex'), salt]);
    const want = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
    t.same(deriveFileKey(master, fileId, 5, salt), want);
    t.not(deriveFileKey(master, fileId, 6, salt).toString('hex'), want.toString('hex'), 'revision changes key');
    t.not(deriveFileKey(master, fileId, 5, Buffer.alloc(32, 3)).toString('hex'), want.toString('hex'), 'salt changes key');
  });
  t.test('should reject bad inputs with bad-key', async (t) => {
    t.throws(() => deriveFileKey(master, Buffer.alloc(31), 0, salt), { code: 'bad-key' });
    t.throws(() => deriveFileKey(master, fileId, -1, salt), { code: 'bad-key' });
    t.throws(() => deriveFileKey(Buffer.alloc(8), fileId, 0, salt), { code: 'bad-key' });
  });
  t.test('should lay nonces out as u64 index || u32 final', async (t) => {
    t.equal(chunkNonce(0x0102030405, true).toString('hex'), '050403020100000001000000');
  });
});

t.test('cipher', async (t) => {
  const key = deriveFileKey(master, fileId, 0, salt);

  t.test('should size chunks so full ciphertext chunks are exactly 1 MiB', async (t) => {
    t.equal(encryptChunk(key, 0, false, Buffer.alloc(PLAIN_CHUNK_SIZE)).length, CHUNK_SIZE);
    t.equal(cipherSize(0), TAG_SIZE);
    t.equal(cipherSize(PLAIN_CHUNK_SIZE), CHUNK_SIZE);
    t.equal(cipherSize(PLAIN_CHUNK_SIZE + 1), CHUNK_SIZE + 1 + TAG_SIZE);
    for (const n of [0, 1, PLAIN_CHUNK_SIZE, PLAIN_CHUNK_SIZE + 1, 3 * PLAIN_CHUNK_SIZE - 5])
      t.equal(plainSize(cipherSize(n)), n, `plainSize inverts cipherSize(${n})`);
    t.equal(plainSize(CHUNK_SIZE + TAG_SIZE), -1, 'empty trailing chunk is never produced');
    t.equal(plainSize(5), -1);
  });

  t.test('should round-trip streams of awkward sizes', async (t) => {
    for (const n of [0, 1, PLAIN_CHUNK_SIZE, PLAIN_CHUNK_SIZE + 7, 2 * PLAIN_CHUNK_SIZE]) {
      const plain = randomBytes(n);
      const pieces = [plain.subarray(0, n >> 2), plain.subarray(n >> 2, n >> 1), plain.subarray(n >> 1)];
      const ct = await collect(encryptStream(key, from(pieces)));
      t.equal(ct.length, cipherSize(n), `size ${n}`);
      t.same(await collect(decryptStream(key, from([ct]))), plain, `round trip ${n}`);
    }
  });

  t.test('should fail clearly on tampering, truncation, reordering and wrong keys', async (t) => {
    const plain = randomBytes(2 * PLAIN_CHUNK_SIZE + 100);
    const ct = await collect(encryptStream(key, from([plain])));
    const flipped = Buffer.from(ct);
    flipped[CHUNK_SIZE + 10] ^= 1;
    await t.rejects(collect(decryptStream(key, from([flipped]))), { code: 'bad-tag' });
    // Dropping the last chunk: the new last chunk was sealed as non-final.
    await t.rejects(collect(decryptStream(key, from([ct.subarray(0, 2 * CHUNK_SIZE)]))), { code: 'bad-tag' });
    await t.rejects(collect(decryptStream(key, from([ct.subarray(0, ct.length - 3)]))), { code: 'bad-tag' });
    const swapped = Buffer.concat([ct.subarray(CHUNK_SIZE, 2 * CHUNK_SIZE), ct.subarray(0, CHUNK_SIZE), ct.subarray(2 * CHUNK_SIZE)]);
    await t.rejects(collect(decryptStream(key, from([swapped]))), { code: 'bad-tag' });
    const other = deriveFileKey(master, fileId, 1, salt);
    t.throws(() => decryptChunk(other, 0, false, ct.subarray(0, CHUNK_SIZE)), { code: 'bad-tag' });
    t.throws(() => decryptChunk(key, 0, false, ct.subarray(0, 100)), { code: 'bad-size' });
  });

  t.test('encryptFile / decryptFile', async (t) => {
    const dir = tmpdir(t);
    const pool = new LeafHasherPool(2);
    t.teardown(() => pool.close());
    const input = path.join(dir, 'in');
    const plain = randomBytes(5 * PLAIN_CHUNK_SIZE + 12345);
    fs.writeFileSync(input, plain);
    const obj = path.join(dir, 'obj');
    const res = await encryptFile(key, input, obj, { pool, treePath: path.join(dir, 'obj.tree') });
    t.equal(res.size, fs.statSync(obj).size);
    t.equal(res.plainSize, plain.length);
    t.same(res.root, (await hashFile(obj, { inline: true })).root, 'root of the written ciphertext');
    t.same(fs.readFileSync(obj), await collect(encryptStream(key, from([plain]))), 'same bytes as the stream API');
    const out = path.join(dir, 'out');
    await decryptFile(key, obj, out);
    t.same(fs.readFileSync(out), plain);

    // A flipped byte: typed error and no output file left behind.
    const fd = fs.openSync(obj, 'r+');
    fs.writeSync(fd, Buffer.from([0x55]), 0, 1, 3 * CHUNK_SIZE + 77);
    fs.closeSync(fd);
    const out2 = path.join(dir, 'out2');
    await t.rejects(decryptFile(key, obj, out2), { code: 'bad-tag' });
    t.notOk(fs.existsSync(out2), 'no partial output');
    t.same(fs.readdirSync(dir).filter(n => n.includes('.tmp-')), [], 'no temp files');
    fs.truncateSync(obj, res.size - 20);
    await t.rejects(decryptFile(key, obj, out2), { code: /bad-tag|truncated/ });
  });

  t.test('should reject cleanly when a batch write fails (disk full)', async (t) => {
    // The write of one batch runs while the next is encrypted; its failure
    // must reach the caller and the cleanup, not crash the process as an
    // unhandled rejection.
    const dir = tmpdir(t);
    const input = path.join(dir, 'in');
    fs.writeFileSync(input, randomBytes(17 * PLAIN_CHUNK_SIZE));
    const open = fs.promises.open;
    const failing = async (...args: Parameters<typeof open>): Promise<fs.promises.FileHandle> => {
      const fh = await open(...args);
      if (String(args[0]).includes('.tmp-')) {
        fh.writev = async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        };
      }
      return fh;
    };
    fs.promises.open = failing as typeof open;
    try {
      const out = path.join(dir, 'out');
      await t.rejects(encryptFile(key, input, out, { inline: true, treePath: path.join(dir, 'out.tree') }), { code: 'ENOSPC' });
      t.notOk(fs.existsSync(out), 'no output');
      t.same(fs.readdirSync(dir).filter(n => n.includes('.tmp-')), [], 'no temp files');
    } finally {
      fs.promises.open = open;
    }
  });
});

t.test('Manifest', async (t) => {
  const m = new Manifest();
  m.updated = 1700000000;
  const f = new ManifestFile();
  f.fileId = randomBytes(32);
  f.revision = 3;
  f.name = Buffer.from('photos/été.jpg');
  f.size = 123456789;
  const r = new Replica();
  r.contractId = randomBytes(32);
  r.hostPk = randomBytes(33);
  r.salt = randomBytes(32);
  r.root = randomBytes(32);
  r.objectSize = cipherSize(f.size);
  f.replicas.push(r);
  m.files.push(f);

  t.test('should encode, decode and keep its size exact', async (t) => {
    const raw = m.encode();
    t.equal(raw.length, m.getSize());
    t.same(Manifest.decode(raw).getJSON(), m.getJSON());
  });
  t.test('should seal and open with the wallet master only', async (t) => {
    const sealed = m.seal(master);
    t.notOk(sealed.includes(Buffer.from('photos')), 'names are encrypted');
    t.same(Manifest.open(master, sealed).getJSON(), m.getJSON());
    t.not(m.seal(master).toString('hex'), sealed.toString('hex'), 'fresh salt each time');
    t.throws(() => Manifest.open(Buffer.alloc(64, 8), sealed), { code: 'bad-tag' });
    const bad = Buffer.from(sealed);
    bad[bad.length - 1] ^= 1;
    t.throws(() => Manifest.open(master, bad), { code: 'bad-tag' });
    t.throws(() => Manifest.open(master, sealed.subarray(0, 20)), { code: 'bad-manifest' });
  });
  t.test('should reject oversized counts before allocating', async (t) => {
    const raw = Buffer.concat([Buffer.from([0]), Buffer.alloc(8), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f])]);
    t.throws(() => Manifest.decode(raw), { code: 'bad-manifest' });
  });
});

t.test('tokens', async (t) => {
  const kAdmin = randomBytes(32);
  const kTok = deriveTokenKey(kAdmin);
  const fields = {
    contract: 'ab'.repeat(32), op: 'put' as const, object: 1, notAfter: 1800000000,
    maxBytes: 1 << 30, renterPkHash: 'cd'.repeat(20)
  };
  t.test('should derive K_tok = HKDF(K_admin, "cc/token")', async (t) => {
    t.same(kTok, Buffer.from(hkdfSync('sha256', kAdmin, Buffer.alloc(0), Buffer.from('cc/token'), 32)));
  });
  t.test('should mint, parse and verify', async (t) => {
    const tok = mintToken(kTok, fields);
    t.match(tok, /^v2\.[0-9a-f]{64}\.put\.1\.1800000000\.1073741824\.[0-9a-f]{16}\.[0-9a-f]{40}\.[0-9a-f]{64}$/);
    t.same(verifyToken(kTok, tok), { ...fields, nonce: tok.split('.')[6] });
    t.equal(parseToken(tok).op, 'put');
    const again = mintToken(kTok, fields);
    t.not(tokenId(again), tokenId(tok), 'equal fields, another nonce, another id (its own budget)');
    t.equal(mintToken(kTok, { ...fields, nonce: '00'.repeat(8) }), mintToken(kTok, { ...fields, nonce: '00'.repeat(8) }),
      'a given nonce mints the same token');
    t.throws(() => mintToken(kTok, { ...fields, nonce: 'AB'.repeat(8) }), { code: 'bad-token' }, 'nonce is lowercase hex');
  });
  t.test('should reject forged and malformed tokens with bad-token', async (t) => {
    const tok = mintToken(kTok, fields);
    const cases = [
      tok.replace('.put.', '.get.'),
      tok.replace('.1800000000.', '.1900000000.'),
      tok.slice(0, -1) + (tok.endsWith('0') ? '1' : '0'),
      'v1' + tok.slice(2),
      tok.replace(/\.[0-9a-f]{16}\./, '.00.'),
      tok + '.x',
      'v1.' + 'x'.repeat(300),
      tok.replace('.1.', '.01.')
    ];
    for (const c of cases)
      t.throws(() => verifyToken(kTok, c), { code: 'bad-token' }, c.slice(0, 40));
    t.throws(() => verifyToken(deriveTokenKey(randomBytes(32)), tok), { code: 'bad-token' });
  });
  t.test('should name every data object only for get, and identify a token by its MAC', async (t) => {
    const all = mintToken(kTok, { ...fields, op: 'get', object: ALL_OBJECTS });
    t.equal(verifyToken(kTok, all).object, 0xffffffff);
    t.equal(tokenId(all), all.split('.')[8]);
    t.throws(() => mintToken(kTok, { ...fields, object: ALL_OBJECTS }), { code: 'bad-token' }, 'a put token names one object');
    t.throws(() => mintToken(kTok, { ...fields, object: 2 ** 32 }), { code: 'bad-token' });
  });
});

t.test('admin signatures', async (t) => {
  const k = randomBytes(32);
  const body = Buffer.from('{"a":1}');
  t.test('should sign method, path, body digest, time and nonce', async (t) => {
    const h = signAdmin(k, 'PUT', '/admin/contracts/x', body, 1000, '00'.repeat(16));
    t.equal(checkAdmin(k, 'PUT', '/admin/contracts/x', body, h, 1000), null);
    t.equal(checkAdmin(k, 'PUT', '/admin/contracts/x', body, h, 1121), 'stale-request');
    t.equal(checkAdmin(k, 'PUT', '/admin/contracts/y', body, h, 1000), 'bad-signature');
    t.equal(checkAdmin(k, 'PUT', '/admin/contracts/x', Buffer.from('{}'), h, 1000), 'bad-signature');
    t.equal(checkAdmin(randomBytes(32), 'PUT', '/admin/contracts/x', body, h, 1000), 'bad-signature');
    t.equal(checkAdmin(k, 'PUT', '/admin/contracts/x', body, {}, 1000), 'missing-auth');
    t.match(adminMessage('get', '/p', Buffer.alloc(0), 5, 'n'), /^GET\n\/p\ne3b0c442[0-9a-f]{56}\n5\nn$/);
  });
});
