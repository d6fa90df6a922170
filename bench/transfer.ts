/*!
 * transfer.ts - a renter's replica to and from one file server process
 * (lib/storage/transfer.ts): encrypt + hash + upload, and download +
 * verify + decrypt, against a raw streamed HTTP copy of the same plaintext
 * over loopback (a PUT into a file with fsync, a GET back into a file with
 * fsync: another process, as the file server is) measured in every round.
 *
 * Two ways to move a replica are compared, the choice behind transfer.ts:
 *   streamed: pass 1 encrypts and hashes for the root (nothing written),
 *     pass 2 encrypts again while uploading; download verifies and
 *     decrypts range by range into the output;
 *   staged:   the encrypted replica is written to a temp file (no fsync),
 *     then uploaded; the download is staged, hashed, then decrypted.
 *
 *   npm run build && npx tsx bench/transfer.ts [--size 64MiB] [--rounds 3] [--json]
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import {
  FileServerClient, LeafHasherPool, cipherSize, decryptFile, deriveFileKey, downloadDecrypted, encryptFile,
  encryptedRoot, hashFile, uploadEncrypted
} from '../lib/storage';
import { fileserverProcess } from '../test/util/fileserver-targets';
import {
  BenchReport, intFlag, mbps, median, printReport, procCPU, procMemory, randomFile, rawGet, rawPut, rawServer, sameFile, sizeFlag, timed
} from './util';

function selfCPU(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds this process and `pids` spend in `fn`. */
async function cpuOf(pids: number[], fn: () => Promise<unknown>): Promise<number> {
  const before = pids.map(procCPU);
  const self = selfCPU();
  await fn();
  return selfCPU() - self + pids.reduce((n, p, i) => n + procCPU(p) - before[i], 0);
}

interface Variant {
  mode: 'streamed' | 'staged';
  put: number[];
  get: number[];
  putRatio: number[];
  getRatio: number[];
  putCPU: number[];
  getCPU: number[];
  same: boolean;
}

async function main(): Promise<void> {
  const argv = process.argv;
  const size = sizeFlag(argv, 'size', 64 * 2 ** 20);
  const rounds = Math.max(1, intFlag(argv, 'rounds', 3));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-transfer-'));
  const input = path.join(dir, 'input');
  randomFile(input, size);
  const osize = cipherSize(size);
  const raw = await rawServer(dir);
  const pool = new LeafHasherPool();
  const adminKey = randomBytes(32);
  const server = await fileserverProcess(path.join(dir, 'server'), adminKey, osize * 4, true);
  const client = new FileServerClient(`http://127.0.0.1:${server.port}`, { adminKey });
  const pids = [server.proc.pid!];
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  const variants: Variant[] = (['streamed', 'staged'] as const).map((mode) => ({
    mode, put: [], get: [], putRatio: [], getRatio: [], putCPU: [], getCPU: [], same: true
  }));
  const rawUp: number[] = [];
  const rawDown: number[] = [];
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  try {
    for (let r = 0; r < rounds; r++) {
      let up = 0;
      let down = 0;
      await cpuOf([raw.proc.pid!], async () => { up = await timed(() => rawPut(raw.port, input, 'copy')); });
      await cpuOf([raw.proc.pid!], async () => { down = await timed(() => rawGet(raw.port, 'copy', path.join(dir, 'raw-back'))); });
      fs.rmSync(path.join(dir, 'raw-back'));
      rawUp.push(up);
      rawDown.push(down);
      for (const v of variants) {
        const key = deriveFileKey(randomBytes(64), randomBytes(32), 0, randomBytes(32));
        const id = randomBytes(32).toString('hex');
        const token = (op: 'get' | 'put') => client.mintToken({ contract: id, op, object: 1, notAfter: expiry, maxBytes: 2 ** 40, renterPkHash: '00'.repeat(20) });
        const at = (op: 'get' | 'put') => ({ client, token: token(op), contract: id, object: 1 });
        const staged = path.join(dir, 'staged');
        let root: Buffer = Buffer.alloc(0);
        let cpu = 0;
        const put = await timed(async () => {
          cpu = await cpuOf(pids, async () => {
            root = v.mode === 'streamed' ? (await encryptedRoot(key, input, { pool })).root
              : (await encryptFile(key, input, staged, { pool, sync: false })).root;
            await client.register({ id, expiry });
            await client.registerObject(id, 1, { root: root.toString('hex'), size: osize });
            if (v.mode === 'streamed') {
              await uploadEncrypted(at('put'), key, input);
            } else {
              await client.uploadFile(token('put'), id, 1, staged);
              fs.rmSync(staged);
            }
          });
        });
        v.putCPU.push(cpu);
        const out = path.join(dir, 'out');
        const get = await timed(async () => {
          cpu = await cpuOf(pids, async () => {
            if (v.mode === 'streamed') {
              await downloadDecrypted(at('get'), key, osize, root, out, { pool });
            } else {
              await client.downloadFile(token('get'), id, 1, staged, { size: osize });
              if (!(await hashFile(staged, { pool })).root.equals(root))
                throw new Error('staged download: wrong root');
              await decryptFile(key, staged, out);
              fs.rmSync(staged);
            }
          });
        });
        v.getCPU.push(cpu);
        if (r === 0)
          v.same = await sameFile(input, out);
        fs.rmSync(out);
        await client.unregister(id);
        v.put.push(put);
        v.get.push(get);
        v.putRatio.push(up / put);
        v.getRatio.push(down / get);
      }
    }
  } finally {
    clearInterval(sampler);
    await pool.close();
    raw.proc.kill('SIGKILL');
    server.proc.kill('SIGKILL');
  }
  const serverHWM = procMemory(server.proc.pid!, 'VmHWM');
  fs.rmSync(dir, { recursive: true, force: true });
  const MB = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const report: BenchReport = {
    bench: 'transfer',
    notes: [`replica of ${MB(size)} to one file server process over loopback, ${rounds} rounds; baseline: raw HTTP copy + fsync, `
      + `up ${mbps(size, median(rawUp))}, down ${mbps(size, median(rawDown))} (medians); renter peak RSS ${MB(peak)}`
      + (serverHWM ? `, file server ${MB(serverHWM)}` : '')],
    tables: [{
      title: 'replica transfer (lib/storage/transfer.ts) vs raw HTTP copy (medians; ratios per round)',
      columns: ['mode', 'put', 'x raw', 'CPU s', 'get', 'x raw', 'CPU s', 'plaintext back'],
      rows: variants.map((v) => [v.mode, mbps(size, median(v.put)), median(v.putRatio).toFixed(2), median(v.putCPU).toFixed(2),
        mbps(size, median(v.get)), median(v.getRatio).toFixed(2), median(v.getCPU).toFixed(2), v.same ? 'identical' : 'DIFFERENT'])
    }],
    ratios: variants.flatMap((v) => [
      { name: `replica upload (${v.mode}), ${MB(size)}`, value: median(v.putRatio), baseline: 'raw HTTP upload' },
      { name: `replica download (${v.mode}), ${MB(size)}`, value: median(v.getRatio), baseline: 'raw HTTP download' }
    ])
  };
  printReport(report, argv);
  if (variants.some((v) => !v.same))
    process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
