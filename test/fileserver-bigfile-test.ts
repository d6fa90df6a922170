// The check: a 200 MB object uploaded in 8 MiB parts and downloaded
// with Range requests through a real file server process (the built one
// bin/cloudcoin-fileserver runs), by a client holding valid tokens: bytes
// identical and the server's peak RSS under 150 MB. Set CC_BIG_MB to
// change the size.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { FileServerClient, hashFile } from '../lib/storage';
import { ROOT, ServerProcess, tempDir } from './util/fileserver';
import { randomFile } from '../bench/util';

const SIZE = Number(process.env.CC_BIG_MB || 200) * 1e6;
const built = fs.existsSync(path.join(ROOT, 'dist', 'fileserver', 'cli.js'));

function sha256(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;)
    h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

t.test('200 MB through a file server process', { skip: built ? false : 'dist/ not built (npm run build)' }, async (t) => {
  const dir = tempDir('cc-fs-big-');
  const key = randomBytes(32);
  const sp = new ServerProcess(path.join(dir, 'server'), ['--admin-key', key.toString('hex'), '--capacity', '1GB'], true);
  t.teardown(async () => {
    await sp.kill9();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const input = path.join(dir, 'input');
  randomFile(input, SIZE);
  const port = await sp.start();
  const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: key });
  const { root } = await hashFile(input);
  const id = randomBytes(32).toString('hex');
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  await client.register({ id, expiry });
  await client.registerObject(id, 1, { root: root.toString('hex'), size: SIZE });
  const token = (op: 'get' | 'put') => client.mintToken({ contract: id, op, object: 1, notAfter: expiry, maxBytes: SIZE, renterPkHash: '44'.repeat(20) });
  const st = await client.uploadFile(token('put'), id, 1, input);
  t.equal(st.complete, true);
  t.equal((await client.receipt(id, 1)).root, root.toString('hex'), 'receipt for the matching root');
  const output = path.join(dir, 'output');
  t.equal(await client.downloadFile(token('get'), id, 1, output), SIZE);
  t.equal(sha256(output), sha256(input), 'bytes identical');
  const hwm = sp.memory('VmHWM');
  t.ok(hwm < 150e6, `server peak RSS ${(hwm / 1e6).toFixed(0)} MB < 150 MB`);
});
