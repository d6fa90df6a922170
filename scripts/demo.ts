/*!
 * demo.ts - `npm run demo`: a whole storage deal on a private regtest
 * network on loopback, through the same commands a user types.
 *
 * A renter and two hosts (one keeping data in its own directory, one
 * driving a separately started file server: the PHP one under `php -S`
 * when php is installed, else cloudcoin-fileserver) run as processes in a
 * temp dir. The renter is funded, puts a file on both hosts through
 * `cloudcoin-cli put`, the commitment is mined, and `cloudcoin-cli get`
 * brings the bytes back. Then blocks are mined through the contracts'
 * two audit intervals: the renter's node audits each host (`cloudcoin-cli
 * audits`), pays it after each passed audit (a channel state, less the
 * holdback until the final one), and each host closes on its own at the
 * end height with its payout. Prices are high so the sat amounts on an
 * 8 MB file are visible. Processes are stopped on exit and on Ctrl-C.
 */

import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { freePorts } from '../lib/node/ports';
import { formatSize } from '../lib/base/units';
import { renderTable } from '../lib/cli/table';
import { FileServerClient } from '../lib/storage';
import { BIN, LocalNet, ROOT } from './localnet';

const FILE_SIZE = 8 * 1024 * 1024 + 4321;
/** Contract length: three audit intervals of 10 blocks on regtest (hosts take more than the 20-block offer window). */
const DURATION = 30;
/** Storage prices (sat per GiB per 1000 blocks): high, so an 8 MB file earns hundreds of sat per block. */
const PRICE_A = 100_000_000;
const PRICE_B = 150_000_000;

/** A host's view of a contract (getcontract), the parts the summary prints. */
interface HostContract {
  state: string;
  channel: { number: number; paid: number; final: boolean } | null;
  spend: { type: string; txid: string; returned: number; paid: number; fee: number } | null;
}

const net = new LocalNet('cloudcoin-demo-');
net.keep = process.argv.includes('--keep');
const work = net.dir;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`\n${signal}: stopping the demo network`);
    void net.cleanup().finally(() => process.exit(130));
  });
}

/** The php binary on PATH, or null. */
function findPHP(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'php');
    if (dir && fs.existsSync(p))
      return p;
  }
  return null;
}

/**
 * Starts host-b's file server on `port`: the PHP one (fileserver/php, as a
 * web host would run it, here under `php -S`) when php is installed, else
 * cloudcoin-fileserver. Returns what it is, for the output.
 */
async function startFileServer(port: number, adminKey: string, keyFile: string): Promise<string> {
  const php = findPHP();
  if (!php) {
    await net.start('fileserver', [BIN('cloudcoin-fileserver'), '--data-dir', path.join(work, 'fileserver'),
      '--port', String(port), '--admin-key-file', keyFile], /listening on/);
    return 'cloudcoin-fileserver (Node; install php to see the PHP one)';
  }
  const www = path.join(work, 'php-fileserver');
  fs.cpSync(path.join(ROOT, 'fileserver', 'php'), www, { recursive: true });
  fs.writeFileSync(path.join(www, 'config.php'), `<?php\nreturn ['admin_key' => '${adminKey}', 'data_dir' => '${path.join(work, 'php-data')}', `
    + `'base_path' => '', 'capacity' => 10 * 1024 * 1024 * 1024];\n`);
  net.startProgram('php-fileserver', php, ['-S', `127.0.0.1:${port}`, 'index.php'],
    { cwd: www, env: { ...process.env, PHP_CLI_SERVER_WORKERS: '4' } });
  const client = new FileServerClient(`http://127.0.0.1:${port}`, { adminKey: Buffer.from(adminKey, 'hex') });
  await net.until('the PHP file server', () => client.status().then(() => true, () => false), (ok) => ok);
  return `PHP file server (fileserver/php under php -S, ${(await client.status() as unknown as { server?: string }).server ?? 'php'})`;
}

/** SHA-256 of a file, streamed. */
async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file))
    h.update(chunk as Buffer);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const t0 = Date.now();
  say(`CloudCoin demo: a renter and two hosts on regtest, loopback only`);
  say(`work dir and logs: ${work}${net.keep ? '' : ' (removed at the end; --keep keeps it)'}`);

  const renter = await net.node('renter');
  const hostA = await net.node('host-a');
  const hostB = await net.node('host-b');
  const [fsPort] = await freePorts(1);
  const adminKey = randomBytes(32).toString('hex');
  // Keys go in files, never on a command line (ps shows those to every user).
  const keyFile = path.join(work, 'fileserver.key');
  fs.writeFileSync(keyFile, `${adminKey}\n`, { mode: 0o600 });
  const daemon = net.daemon.bind(net);
  const cli = net.cli.bind(net);

  say('1. starting host-b\'s file server and three cloudcoind nodes');
  const fileServer = await startFileServer(fsPort, adminKey, keyFile);
  say(`   host-a keeps its data in its own directory (cloudcoind --host)`);
  say(`   host-b keeps its data on the ${fileServer} at http://127.0.0.1:${fsPort}`);
  await daemon(renter, []);
  await Promise.all([
    daemon(hostA, ['--host', '--host-storage-price', `${PRICE_A}sat`, '--connect', `127.0.0.1:${renter.port}`]),
    daemon(hostB, ['--host', '--host-storage-price', `${PRICE_B}sat`, '--connect', `127.0.0.1:${renter.port}`,
      '--fileserver', `http://127.0.0.1:${fsPort}`, '--fileserver-key-file', keyFile])
  ]);
  await net.until('hosts to connect', async () => JSON.parse(await cli(renter, ['getcloudpeers'])) as unknown[],
    (p) => p.length === 2);

  say('2. funding the renter (440 blocks: coinbase maturity and segwit)');
  const addr = (await cli(renter, ['getnewaddress'])).trim();
  await cli(renter, ['generatetoaddress', '440', addr]);
  say(`   balance ${(await cli(renter, ['getbalance'])).trim()} BTC`);

  const file = path.join(work, 'hello.bin');
  fs.writeFileSync(file, randomBytes(FILE_SIZE));
  say(`3. cloudcoin-cli put ${path.basename(file)} --hosts 2  (${formatSize(FILE_SIZE)}, encrypted here first)`);
  const tPut = Date.now();
  // put waits for its commitment to confirm: be the miner meanwhile.
  const putting = cli(renter, ['put', file, '--hosts', '2', '--duration', String(DURATION), '--max-price', `${PRICE_B}sat`, '--json']);
  putting.catch(() => {});
  // A put that fails before its commitment says why at once.
  const putFailed = putting.then(() => new Promise<never>(() => {}));
  await Promise.race([putFailed, net.until('the commitment in the mempool',
    async () => JSON.parse(await cli(renter, ['getrawmempool'])) as string[], (txs) => txs.length > 0)]);
  const putSecs = (Date.now() - tPut) / 1000;
  say('4. mining the commitment');
  await cli(renter, ['generatetoaddress', '1', addr]);
  const put = JSON.parse(await putting) as {
    fileId: string; objectSize: number; txids: string[];
    contracts: Array<{ id: string; host: string; prices: { storage: number }; cost: number; escrowValue: number; formula: string }>;
  };
  const files = await net.until('contracts to become active',
    async () => JSON.parse(await cli(renter, ['ls', '--json'])) as Array<{ fileId: string; replicas: Array<{ contractId: string; state: string }> }>,
    (f) => f.length > 0 && f[0].replicas.every((r) => r.state === 'active'));

  const out = path.join(work, 'hello.out');
  say(`5. cloudcoin-cli get ${put.fileId.slice(0, 16)}… hello.out`);
  const tGet = Date.now();
  await cli(renter, ['get', put.fileId, out]);
  const getSecs = (Date.now() - tGet) / 1000;
  const same = (await sha256(file)) === (await sha256(out));

  say(`6. mining through the ${DURATION / 10} audit intervals: the renter audits each host, pays after each passed audit,`);
  say('   and each host closes on its own at the end height');
  const hostOf = (c: typeof put.contracts[number]) => (c.host === hostAId ? hostA : hostB);
  const hostAId = JSON.parse(await cli(hostA, ['getidentity'])).identity as string;
  const start = (await net.json<{ startHeight: number }>(renter, ['getaudits', put.contracts[0].id])).startHeight;
  for (let k = 1; k <= DURATION / 10; k++) {
    const tip = Number((await cli(renter, ['getblockcount'])).trim());
    if (tip < start + 10 * k)
      await net.mine(renter, start + 10 * k - tip, addr);
    await net.until(`the payments for interval ${k - 1}`, async () => Promise.all(put.contracts.map(async (c) =>
      (await net.json<HostContract>(hostOf(c), ['getcontract', c.id])).channel?.number ?? 0)), (n) => n.every((x) => x >= k));
  }
  const audits = await cli(renter, ['audits', put.fileId]);
  const closes = await net.until('both hosts to close and the closes to confirm', async () => {
    await net.mine(renter, 1, addr);
    return Promise.all(put.contracts.map((c) => net.json<HostContract>(hostOf(c), ['getcontract', c.id])));
  }, (v) => v.every((x) => x.state === 'settled'));

  say('');
  say('Contracts');
  say(renderTable([
    { title: 'contract', value: (c: typeof put.contracts[number]) => `${c.id.slice(0, 16)}…` },
    { title: 'host', value: (c) => (c.host === hostAId ? 'host-a (local dir)' : `host-b (${fileServer.startsWith('PHP') ? 'PHP file server' : 'fileserver'})`) },
    { title: 'storage sat/GiB/1000blk', value: (c) => `${c.prices.storage}`, align: 'right' },
    { title: 'cost (sat)', value: (c) => `${c.cost}`, align: 'right' },
    { title: 'escrow (sat)', value: (c) => `${c.escrowValue}`, align: 'right' },
    { title: 'state at put', value: (c) => files[0].replicas.find((r) => r.contractId === c.id)?.state ?? '?' }
  ], put.contracts));
  for (const c of put.contracts)
    say(`  ${c.formula}`);
  say('');
  say('Audits (cloudcoin-cli audits FILE_ID)');
  say(audits.trimEnd());
  say('');
  say('Payments and closes (each host\'s getcontract)');
  say(renderTable([
    { title: 'contract', value: (i: number) => `${put.contracts[i].id.slice(0, 16)}…` },
    { title: 'states', value: (i) => String(closes[i].channel?.number ?? 0), align: 'right' },
    { title: 'paid (sat)', value: (i) => String(closes[i].spend?.paid ?? 0), align: 'right' },
    { title: 'fee (sat)', value: (i) => String(closes[i].spend?.fee ?? 0), align: 'right' },
    { title: 'payout (sat)', value: (i) => String((closes[i].spend?.paid ?? 0) - (closes[i].spend?.fee ?? 0)), align: 'right' },
    { title: 'returned (sat)', value: (i) => String(closes[i].spend?.returned ?? 0), align: 'right' },
    { title: 'state', value: (i) => closes[i].state },
    { title: 'close txid', value: (i) => closes[i].spend?.txid ?? '-' }
  ], put.contracts.map((_, i) => i)));
  const moved = put.objectSize * put.contracts.length;
  say('');
  say(`commitment txid   ${put.txids.join(', ')}`);
  say(`file id           ${put.fileId}`);
  say(`bytes uploaded    ${formatSize(moved)} in ${putSecs.toFixed(1)} s (${formatSize(Math.round(moved / putSecs))}/s, encryption included)`);
  say(`bytes downloaded  ${formatSize(put.objectSize)} in ${getSecs.toFixed(1)} s (${formatSize(Math.round(put.objectSize / getSecs))}/s, verify and decrypt included)`);
  say(`get == put        ${same ? 'yes, sha256 identical' : 'NO: bytes differ'}`);
  say(`logs              ${work}${net.keep ? '' : ' (removed now; run with --keep to keep them)'}`);
  say(`total             ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (!same)
    throw new Error('downloaded bytes differ from the uploaded file');
}

main().then(async () => {
  await net.cleanup();
  process.exit(0);
}, async (e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  net.keep = true;
  await net.cleanup();
  process.stderr.write(`logs kept in ${work}\n`);
  process.exit(1);
});
