/*!
 * fileserver.ts - file server throughput, CPU and memory: an object
 * uploaded in 8 MiB parts and downloaded with 8 MiB Range requests through
 * a real cloudcoin-fileserver process, against a plain streamed file copy
 * (read, write, fsync) of the same file measured in every round of the
 * same run. Each server configuration (`--threads`: `default` hashes on
 * one worker per core, `0` on the server's own thread) runs in its own
 * process; rounds alternate baseline and configurations so load drifts
 * hit all of them, and the ratios are the medians of each round's ratio.
 * Prints the server's peak RSS (VmHWM): the bar is 150 MB.
 *
 *   npm run build && npx tsx bench/fileserver.ts [--size 200MB] [--rounds 3]
 *     [--threads default,0] [--before OLD/cli.js] [--entry dist/fileserver/cli.js] [--json]
 *
 * `--before OLD/dist/fileserver/cli.js` adds another build's server (an
 * older checkout's) to the same rounds: before/after on one machine in one
 * run. `--entry` replaces this build's; `--threads none` passes no flag.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { FileServerClient, hashFile } from '../lib/storage';
import { fileserverProcess } from '../test/util/fileserver-targets';
import {
  BenchRatio, BenchReport, intFlag, mbps, median, printReport, procCPU, procMemory, randomFile, rawCopy, sameFile, sizeFlag,
  stringFlag, timed
} from './util';

const ROOT = path.join(__dirname, '..');

interface Config {
  label: string;
  proc: ChildProcess;
  client: FileServerClient;
  up: number[];
  down: number[];
  upRatio: number[];
  downRatio: number[];
  upCPU: number[];
  downCPU: number[];
  same: boolean;
}

async function main(): Promise<void> {
  const argv = process.argv;
  const size = sizeFlag(argv, 'size', 200e6);
  const rounds = Math.max(1, intFlag(argv, 'rounds', 3));
  const entry = path.resolve(stringFlag(argv, 'entry', path.join(ROOT, 'dist', 'fileserver', 'cli.js')));
  const threads = stringFlag(argv, 'threads', 'default,0').split(',');
  const beforeFlag = stringFlag(argv, 'before', '');
  const before = beforeFlag ? path.resolve(beforeFlag) : null;
  for (const e of [entry, before])
    if (e && !fs.existsSync(e))
      throw new Error(`${e} is missing: npm run build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bench-fs-'));
  const key = randomBytes(32);
  const configs: Config[] = [];
  try {
    const input = path.join(dir, 'input');
    randomFile(input, size);
    const { root } = await hashFile(input);
    const wanted = threads.map((t) => ({ t, entry, label: t === 'none' ? 'as built' : t === 'default' ? `hash workers (one per core: ${os.availableParallelism()})` : `--hash-threads ${t}` }));
    if (before)
      wanted.unshift({ t: 'none', entry: before, label: 'before (--before build)' });
    for (const [i, { t, entry: e, label }] of wanted.entries()) {
      const args = t === 'default' || t === 'none' ? [] : ['--hash-threads', t];
      const { proc, port } = await fileserverProcess(path.join(dir, `server-${i}`), key, size * 3, true, { entry: e, args });
      configs.push({
        label,
        proc, client: new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: key }),
        up: [], down: [], upRatio: [], downRatio: [], upCPU: [], downCPU: [], same: true
      });
    }
    const copies: number[] = [];
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    for (let r = 0; r < rounds; r++) {
      const copy = await rawCopy(input, path.join(dir, 'copy'));
      fs.rmSync(path.join(dir, 'copy'));
      copies.push(copy);
      for (const c of configs) {
        const id = randomBytes(32).toString('hex');
        await c.client.register({ id, expiry });
        await c.client.registerObject(id, 1, { root: root.toString('hex'), size });
        const token = (op: 'get' | 'put') => c.client.mintToken({ contract: id, op, object: 1, notAfter: expiry, maxBytes: size, renterPkHash: '00'.repeat(20) });
        const pid = c.proc.pid!;
        let cpu0 = procCPU(pid);
        const up = await timed(() => c.client.uploadFile(token('put'), id, 1, input));
        c.upCPU.push(procCPU(pid) - cpu0);
        const receipt = await c.client.receipt(id, 1);
        const output = path.join(dir, 'output');
        cpu0 = procCPU(pid);
        const down = await timed(() => c.client.downloadFile(token('get'), id, 1, output, { size }));
        c.downCPU.push(procCPU(pid) - cpu0);
        if (r === 0)
          c.same = receipt.root === root.toString('hex') && await sameFile(input, output);
        fs.rmSync(output);
        await c.client.unregister(id);
        c.up.push(up);
        c.down.push(down);
        c.upRatio.push(copy / up);
        c.downRatio.push(copy / down);
      }
    }
    const copy = median(copies);
    const report: BenchReport = {
      bench: 'fileserver',
      notes: [`object ${(size / 1e6).toFixed(0)} MB, ${rounds} rounds, server ${path.relative(process.cwd(), entry) || entry}; `
        + `baseline: streamed copy + fsync, ${mbps(size, copy)} (median)`],
      tables: [{
        title: 'file server: upload in 8 MiB parts, download in 8 MiB ranges (medians; ratios per round vs the copy)',
        columns: ['server', 'upload', 'x copy', 'server CPU s', 'download', 'x copy', 'server CPU s', 'peak RSS', 'bytes identical'],
        rows: configs.map((c) => [
          c.label, mbps(size, median(c.up)), median(c.upRatio).toFixed(2), median(c.upCPU).toFixed(2),
          mbps(size, median(c.down)), median(c.downRatio).toFixed(2), median(c.downCPU).toFixed(2),
          `${(procMemory(c.proc.pid!, 'VmHWM') / 1e6).toFixed(0)} MB`, c.same ? 'yes' : 'NO'
        ])
      }],
      ratios: configs.flatMap((c): BenchRatio[] => [
        { name: `file server upload ${(size / 1e6).toFixed(0)} MB, ${c.label}`, value: median(c.upRatio), baseline: 'streamed copy + fsync' },
        { name: `file server download ${(size / 1e6).toFixed(0)} MB, ${c.label}`, value: median(c.downRatio), baseline: 'streamed copy + fsync' },
        { name: `file server peak RSS MB / 150, ${(size / 1e6).toFixed(0)} MB, ${c.label}`, value: procMemory(c.proc.pid!, 'VmHWM') / 150e6, baseline: 'the 150 MB bar', target: 1, lowerIsBetter: true }
      ])
    };
    printReport(report, argv);
    if (configs.some((c) => !c.same))
      process.exitCode = 1;
  } finally {
    for (const c of configs)
      c.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
