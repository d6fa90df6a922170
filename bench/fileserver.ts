// File server throughput and memory: a 200 MB object uploaded in 8 MiB
// parts and downloaded with 8 MiB Range requests through a real
// cloudcoin-fileserver process, against a plain streamed file copy (read,
// write, fsync) of the same file in the same run. Prints the server's peak
// RSS (VmHWM), which the issue requires to stay under 150 MB.
//   npx tsx bench/fileserver.ts [--size 200MB] [--dist]   (--dist: run dist/ build, not tsx)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { pipeline } from 'stream/promises';
import { FileServerClient, hashFile } from '../lib/storage';
import { mbps, randomFile, rawCopy, sizeFlag, timed } from './util';
import { fileserverProcess } from '../test/util/fileserver-targets';


function procStatus(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const size = sizeFlag(process.argv, 'size', 200e6);
  const useDist = process.argv.includes('--dist');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-fs-'));
  const key = randomBytes(32);
  const input = path.join(dir, 'input');
  randomFile(input, size);
  const { proc, port } = await fileserverProcess(path.join(dir, 'server'), key, size * 2, useDist);
  try {
    const pid = proc.pid!;
    console.log(`object: ${(size / 1e6).toFixed(0)} MB, server: ${useDist ? 'dist/' : 'tsx'} pid ${pid}, RSS at start ${(procStatus(pid, 'VmRSS') / 1e6).toFixed(0)} MB`);

    const copy = await rawCopy(input, path.join(dir, 'copy'));
    console.log(`raw streamed copy + fsync:     ${mbps(size, copy)} (baseline)`);

    const { root } = await hashFile(input);
    const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: key });
    const id = randomBytes(32).toString('hex');
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    await client.register({ id, expiry });
    await client.registerObject(id, 1, { root: root.toString('hex'), size });
    const token = (op: 'get' | 'put') => client.mintToken({ contract: id, op, object: 1, notAfter: expiry, maxBytes: size, renterPkHash: '00'.repeat(20) });

    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, procStatus(pid, 'VmRSS')); }, 20);
    const up = await timed(() => client.uploadFile(token('put'), id, 1, input));
    console.log(`upload (8 MiB parts, fsync each): ${mbps(size, up)}  ratio ${(copy / up).toFixed(2)} x copy; server VmHWM so far ${(procStatus(pid, 'VmHWM') / 1e6).toFixed(0)} MB`);
    const receipt = await client.receipt(id, 1);
    const output = path.join(dir, 'output');
    const down = await timed(() => client.downloadFile(token('get'), id, 1, output));
    clearInterval(sampler);
    console.log(`download (8 MiB Range requests): ${mbps(size, down)}  ratio ${(copy / down).toFixed(2)} x copy`);
    const same = (await sha256(input)) === (await sha256(output));
    const hwm = procStatus(pid, 'VmHWM');
    const mem = (await client.status() as unknown as { memory: Record<string, number> }).memory;
    console.log(`server memory now: ${Object.entries(mem).map(([k, v]) => `${k} ${(v / 1e6).toFixed(0)} MB`).join(', ')}`);
    console.log(`receipt root matches: ${receipt.root === root.toString('hex')}; bytes identical: ${same}`);
    console.log(`server RSS: peak sampled ${(peak / 1e6).toFixed(0)} MB, VmHWM ${(hwm / 1e6).toFixed(0)} MB (limit 150 MB): ${hwm < 150e6 ? 'OK' : 'OVER'}`);
    if (!same || hwm >= 150e6)
      process.exitCode = 1;
  } finally {
    proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
