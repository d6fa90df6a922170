/*!
 * put.ts - end-to-end storage throughput: `cloudcoin-cli put` and `get`
 * against one host on loopback, as ratios of a raw HTTP upload and
 * download of the same file over loopback measured in the same run.
 *
 *   npm run build && npx tsx bench/put.ts [--size 64MB]
 *
 * put includes encryption, Merkle hashing, negotiation, receipts and the
 * commitment; get includes root verification and decryption.
 */

import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { formatSize } from '../lib/base/units';
import { renderTable } from '../lib/cli/table';
import { LocalNet } from '../scripts/localnet';
import { randomFile, sizeFlag, timed } from './util';

/** Baseline: stream the file over loopback HTTP into a file (fsync), and back. */
async function rawCopy(file: string, dir: string): Promise<{ up: number; down: number }> {
  const dest = path.join(dir, 'raw-copy');
  const server = http.createServer((req, res) => {
    if (req.method === 'PUT') {
      const out = fs.createWriteStream(dest);
      pipeline(req, out).then(() => {
        const fd = fs.openSync(dest, 'r');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        res.end('ok');
      }, () => res.destroy());
    } else {
      pipeline(fs.createReadStream(dest), res).catch(() => res.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const size = fs.statSync(file).size;
  let t = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', headers: { 'content-length': size } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
  const up = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port }, (res) => {
      pipeline(res, fs.createWriteStream(path.join(dir, 'raw-back'))).then(resolve, reject);
    }).on('error', reject);
  });
  const down = Number(process.hrtime.bigint() - t) / 1e9;
  server.close();
  return { up, down };
}

async function main(): Promise<void> {
  const size = sizeFlag(process.argv, 'size', 64 * 2 ** 20);
  const net = new LocalNet('cloudcoin-bench-');
  try {
    const renter = await net.node('renter');
    const host = await net.node('host');
    await net.daemon(renter);
    await net.daemon(host, ['--host', '--connect', `127.0.0.1:${renter.port}`]);
    await net.until('the host', async () => net.json<unknown[]>(renter, ['getcloudpeers']), (p) => p.length === 1);
    const addr = await net.mine(renter, 440);

    const file = path.join(net.dir, 'bench.bin');
    randomFile(file, size);

    const raw = await rawCopy(file, net.dir);
    let put = { fileId: '' };
    const putSecs = await timed(async () => {
      put = await net.json<{ fileId: string }>(renter, ['put', file, '--no-wait', '--json']);
    });
    await net.mine(renter, 1, addr);
    const getSecs = await timed(() => net.cli(renter, ['get', put.fileId, path.join(net.dir, 'back.bin')]));

    const rate = (secs: number) => `${formatSize(Math.round(size / secs))}/s`;
    const rows = [
      { op: 'upload', raw: raw.up, ours: putSecs },
      { op: 'download', raw: raw.down, ours: getSecs }
    ];
    process.stdout.write(`file ${formatSize(size)}, one host on loopback\n`);
    process.stdout.write(renderTable([
      { title: 'operation', value: (r: typeof rows[number]) => r.op },
      { title: 'raw HTTP copy', value: (r) => rate(r.raw), align: 'right' },
      { title: 'cloudcoin-cli', value: (r) => rate(r.ours), align: 'right' },
      { title: 'ratio', value: (r) => (r.raw / r.ours).toFixed(2), align: 'right' }
    ], rows) + '\n');
  } finally {
    await net.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
