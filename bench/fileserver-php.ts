// The PHP file server against the Node one and a raw copy, in one run: one
// object uploaded in 8 MiB parts and downloaded with 8 MiB Range requests
// through each server (the Node server as its own process from dist/, PHP
// under `php -S`, PHP under Apache 2.4 + mod_php with the shipped .htaccess
// and shared-hosting limits), with a plain streamed copy + fsync of the same
// file as the baseline. Prints MB/s and ratios (x copy, x Node); the
// figures go to docs/HOSTING.md. Run `npm run build` first.
//   npx tsx bench/fileserver-php.ts [--size 100MB]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { FileServerClient, deriveTokenKey, hashFile, mintToken } from '../lib/storage';
import { renderTable } from '../lib/cli/table';
import { missing, startTarget } from '../test/util/fileserver-targets';
import { mbps, randomFile, rawCopy, sha256, sizeFlag, timed } from './util';

interface Row {
  server: string;
  up: number;
  down: number;
  same: boolean;
}

async function main(): Promise<void> {
  const size = sizeFlag(process.argv, 'size', 100e6);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-php-'));
  try {
    const input = path.join(dir, 'input');
    randomFile(input, size);
    const copy = await rawCopy(input, path.join(dir, 'copy'));
    fs.rmSync(path.join(dir, 'copy'));
    const { root } = await hashFile(input);
    const want = await sha256(input);
    const rows: Row[] = [];
    for (const name of ['node', 'php', 'apache'] as const) {
      const why = missing(name);
      if (why) {
        console.log(`${name}: skipped (${why})`);
        continue;
      }
      const key = randomBytes(32);
      const target = await startTarget(name, key, size * 3, { separateProcess: true });
      try {
        const client = new FileServerClient(target.url, { adminKey: key });
        const id = randomBytes(32).toString('hex');
        const expiry = Math.floor(Date.now() / 1000) + 3600;
        await client.register({ id, expiry });
        await client.registerObject(id, 1, { root: root.toString('hex'), size });
        const token = (op: 'get' | 'put') => mintToken(deriveTokenKey(key), {
          contract: id, op, object: 1, notAfter: expiry, maxBytes: size, renterPkHash: '00'.repeat(20)
        });
        const up = await timed(() => client.uploadFile(token('put'), id, 1, input));
        const receipt = await client.receipt(id, 1);
        const output = path.join(dir, `out-${name}`);
        const down = await timed(() => client.downloadFile(token('get'), id, 1, output, { size }));
        rows.push({ server: name, up, down, same: receipt.root === root.toString('hex') && await sha256(output) === want });
        fs.rmSync(output);
      } finally {
        await target.close();
      }
    }
    const node = rows.find((r) => r.server === 'node');
    const label: Record<string, string> = {
      node: 'Node (cloudcoin-fileserver)', php: 'PHP 8.2, php -S', apache: 'PHP 8.2, Apache 2.4 + mod_php, .htaccess'
    };
    console.log(`object ${(size / 1e6).toFixed(0)} MB; raw streamed copy + fsync: ${mbps(size, copy)} (baseline)`);
    console.log(renderTable<Row>([
      { title: 'server', value: (r) => label[r.server] },
      { title: 'upload', value: (r) => mbps(size, r.up) },
      { title: 'x copy', value: (r) => (copy / r.up).toFixed(2), align: 'right' },
      { title: 'x Node', value: (r) => (node ? (node.up / r.up).toFixed(2) : '-'), align: 'right' },
      { title: 'download', value: (r) => mbps(size, r.down) },
      { title: 'x copy', value: (r) => (copy / r.down).toFixed(2), align: 'right' },
      { title: 'x Node', value: (r) => (node ? (node.down / r.down).toFixed(2) : '-'), align: 'right' },
      { title: 'bytes identical', value: (r) => (r.same ? 'yes' : 'NO') }
    ], rows));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
