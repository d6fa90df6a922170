/*!
 * demo.ts - `npm run demo`: a whole storage deal on a private regtest
 * network on loopback, through the same commands a user types.
 *
 * A renter and two hosts (one keeping data in its own directory, one
 * driving a separately started cloudcoin-fileserver) run as processes in a
 * temp dir. The renter is funded, puts a file on both hosts through
 * `cloudcoin-cli put`, the commitment is mined, and `cloudcoin-cli get`
 * brings the bytes back. Processes are stopped on exit and on Ctrl-C.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { ChildProcess, execFile, spawn } from 'child_process';
import { freePorts } from '../lib/node/ports';
import { formatSize } from '../lib/node/units';
import { renderTable } from '../lib/cli/table';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = (name: string) => path.join(ROOT, 'bin', name);
const FILE_SIZE = 8 * 1024 * 1024 + 4321;
const STEP_TIMEOUT_MS = 60000;

const children: ChildProcess[] = [];
let work = '';
let keep = process.argv.includes('--keep');

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function cleanup(): void {
  for (const c of children) {
    if (c.exitCode === null)
      c.kill('SIGTERM');
  }
  if (work && !keep)
    fs.rmSync(work, { recursive: true, force: true });
}

process.on('SIGINT', () => {
  say('\ninterrupted: stopping the demo network');
  cleanup();
  process.exit(130);
});

/** Start a process, logging to a file; resolves once `ready` appears on stdout. */
function start(name: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const log = fs.openSync(path.join(work, `${name}.log`), 'a');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', log] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start; see ${name}.log`)), STEP_TIMEOUT_MS);
    proc.stdout!.on('data', (d: Buffer) => {
      fs.writeSync(log, d);
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}; see ${path.join(work, `${name}.log`)}`));
    });
  });
}

interface Node {
  name: string;
  base: string;
  port: number;
  rpcPort: number;
}

function cli(node: Node, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN('cloudcoin-cli'), '--regtest', '--datadir', node.base,
      '--rpcport', String(node.rpcPort), ...args], { maxBuffer: 64 << 20, timeout: 10 * 60 * 1000 },
    (err, stdout, stderr) => {
      if (err)
        reject(new Error(`cloudcoin-cli ${args[0]} failed: ${stderr.trim() || err.message}`));
      else
        resolve(stdout.toString());
    });
  });
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const v = await get();
    if (ok(v))
      return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function main(): Promise<void> {
  const t0 = Date.now();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudcoin-demo-'));
  say(`CloudCoin demo: a renter and two hosts on regtest, loopback only`);
  say(`work dir and logs: ${work}${keep ? '' : ' (removed at the end; --keep keeps it)'}`);

  const ports = await freePorts(7);
  const mk = (name: string, i: number): Node => ({ name, base: path.join(work, name), port: ports[i], rpcPort: ports[i + 1] });
  const renter = mk('renter', 0);
  const hostA = mk('host-a', 2);
  const hostB = mk('host-b', 4);
  const fsPort = ports[6];
  const adminKey = randomBytes(32).toString('hex');

  const daemon = (n: Node, extra: string[]) => start(n.name, [BIN('cloudcoind'), '--regtest', '--datadir', n.base,
    '--bind', '127.0.0.1', '--port', String(n.port), '--rpcport', String(n.rpcPort), ...extra], /extensions:/);

  say('1. starting cloudcoin-fileserver and three cloudcoind nodes');
  await start('fileserver', [BIN('cloudcoin-fileserver'), '--data-dir', path.join(work, 'fileserver'),
    '--port', String(fsPort), '--admin-key', adminKey], /listening on/);
  await daemon(renter, []);
  await Promise.all([
    daemon(hostA, ['--host', '--host-storage-price', '800sat', '--connect', `127.0.0.1:${renter.port}`]),
    daemon(hostB, ['--host', '--host-storage-price', '1200sat', '--connect', `127.0.0.1:${renter.port}`,
      '--fileserver', `http://127.0.0.1:${fsPort}`, '--fileserver-key', adminKey])
  ]);
  await until('hosts to connect', async () => JSON.parse(await cli(renter, ['getcloudpeers'])) as unknown[],
    (p) => p.length === 2);

  say('2. funding the renter (440 blocks: coinbase maturity and segwit)');
  const addr = (await cli(renter, ['getnewaddress'])).trim();
  await cli(renter, ['generatetoaddress', '440', addr]);
  say(`   balance ${(await cli(renter, ['getbalance'])).trim()} BTC`);

  const file = path.join(work, 'hello.bin');
  fs.writeFileSync(file, randomBytes(FILE_SIZE));
  say(`3. cloudcoin-cli put ${path.basename(file)} --hosts 2  (${formatSize(FILE_SIZE)}, encrypted here first)`);
  const tPut = Date.now();
  const put = JSON.parse(await cli(renter, ['put', file, '--hosts', '2', '--max-price', '5000sat', '--json'])) as {
    fileId: string; objectSize: number; txids: string[];
    contracts: Array<{ id: string; host: string; prices: { storage: number }; cost: number; escrowValue: number; formula: string }>;
  };
  const putSecs = (Date.now() - tPut) / 1000;

  say('4. mining the commitment');
  await cli(renter, ['generatetoaddress', '1', addr]);
  const files = await until('contracts to become active',
    async () => JSON.parse(await cli(renter, ['ls', '--json'])) as Array<{ fileId: string; replicas: Array<{ contractId: string; state: string }> }>,
    (f) => f.length > 0 && f[0].replicas.every((r) => r.state === 'active'));

  const out = path.join(work, 'hello.out');
  say(`5. cloudcoin-cli get ${put.fileId.slice(0, 16)}… hello.out`);
  const tGet = Date.now();
  await cli(renter, ['get', put.fileId, out]);
  const getSecs = (Date.now() - tGet) / 1000;
  const same = sha256(file) === sha256(out);

  const hostAId = JSON.parse(await cli(hostA, ['getidentity'])).identity as string;
  say('');
  say('Contracts');
  say(renderTable([
    { title: 'contract', value: (c: typeof put.contracts[number]) => `${c.id.slice(0, 16)}…` },
    { title: 'host', value: (c) => (c.host === hostAId ? 'host-a (local dir)' : 'host-b (fileserver)') },
    { title: 'storage price', value: (c) => `${c.prices.storage}`, align: 'right' },
    { title: 'cost (sat)', value: (c) => `${c.cost}`, align: 'right' },
    { title: 'escrow (sat)', value: (c) => `${c.escrowValue}`, align: 'right' },
    { title: 'state', value: (c) => files[0].replicas.find((r) => r.contractId === c.id)?.state ?? '?' }
  ], put.contracts));
  for (const c of put.contracts)
    say(`  ${c.formula}`);
  const moved = put.objectSize * put.contracts.length;
  say('');
  say(`commitment txid   ${put.txids.join(', ')}`);
  say(`file id           ${put.fileId}`);
  say(`bytes uploaded    ${formatSize(moved)} in ${putSecs.toFixed(1)} s (${formatSize(Math.round(moved / putSecs))}/s, encryption included)`);
  say(`bytes downloaded  ${formatSize(put.objectSize)} in ${getSecs.toFixed(1)} s (${formatSize(Math.round(put.objectSize / getSecs))}/s, verify and decrypt included)`);
  say(`get == put        ${same ? 'yes, sha256 identical' : 'NO: bytes differ'}`);
  say(`logs              ${work}${keep ? '' : ' (removed now; run with --keep to keep them)'}`);
  say(`total             ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (!same)
    throw new Error('downloaded bytes differ from the uploaded file');
}

main().then(() => {
  cleanup();
  process.exit(0);
}, (e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  keep = true;
  cleanup();
  process.stderr.write(`logs kept in ${work}\n`);
  process.exit(1);
});
