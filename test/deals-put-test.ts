// put and get when things go wrong for the user: the CLI killed or cut off
// mid-put, Ctrl-C, awkward destinations and names, ids by prefix, hosts
// gone. A renter and two hosts as cloudcoind processes, driven by
// cloudcoin-cli as a user runs it.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { CLOUDCOIN_CLI, spawnCLI, tempDir, type DaemonProcess } from './util/nodes-context';
import { json, mine, startNetwork } from './util/network';
import { rpcProxy } from './util/rpcproxy';
import { forValue } from './util/wait';

interface ReplicaJSON {
  contractId: string;
  host: string;
  state: string;
  reachable: boolean;
  endHeight: number;
  blocksLeft: number;
}
interface FileJSON {
  fileId: string;
  name: string;
  nameHex: string;
  replicas: ReplicaJSON[];
}

async function files(renter: DaemonProcess): Promise<FileJSON[]> {
  return json<FileJSON[]>(renter.cli(['ls', '--json']));
}

async function states(renter: DaemonProcess, fileId: string): Promise<string[]> {
  const f = (await files(renter)).find((x) => x.fileId === fileId);
  return f ? f.replicas.map((r) => r.state) : [];
}

/** A text file (so `get -` output compares as a string). */
function textFile(file: string, bytes: number): Buffer {
  const data = Buffer.from(randomBytes(Math.ceil(bytes / 2)).toString('hex').slice(0, bytes));
  fs.writeFileSync(file, data);
  return data;
}

t.test('put and get under failures', async (t) => {
  // The third host is dearer and caps what a renter new to it may reserve.
  const { renter, hosts } = await startNetwork(t, [[], [], ['--host-storage-price', '3000sat', '--host-new-renter-cap', '1MB']]);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'notes.txt');
  const data = textFile(file, 2 * 1024 * 1024 + 77);
  let fileId = '';

  await t.test('should refuse a 0-byte file before negotiating', async (t) => {
    const empty = path.join(work, 'empty');
    fs.writeFileSync(empty, '');
    const r = await renter.cli(['put', empty]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^error: the file is empty: CloudCoin does not store 0-byte files/);
    t.equal(r.stderr.trim().split('\n').length, 1);
  });

  await t.test('should never lock a renter out by asking again, nor let a stranger reserve a host', async (t) => {
    type Negotiated = { offers: Array<{ host: string; reused: boolean }>; declined: Array<{ host: string; reason: string }> };
    const runs: Negotiated[] = [];
    for (let i = 0; i < 9; i++) {
      runs.push(await json<Negotiated>(renter.cli(['negotiate-storage', '--size', '3MB', '--max-price', '5000sat',
        '--hosts', '3', '--json'])));
    }
    t.same(runs.map((r) => r.offers.length), [2, 2, 2, 2, 2, 2, 2, 2, 2], 'two offers every time');
    t.same(runs[0].offers.map((o) => o.reused), [false, false]);
    t.same(runs[8].offers.map((o) => o.reused), [true, true], 'the renter\'s own open offers are used again');
    t.equal(runs[0].declined.length, 1);
    t.match(runs[0].declined[0].reason, /no-capacity \(over-new-renter-limit\)/, 'over what a new renter may hold');
    const table = await renter.cli(['negotiate-storage', '--size', '3MB', '--max-price', '5000sat', '--hosts', '2']);
    t.match(table.stdout, /reused/);
    t.match(table.stdout, /a put with the same terms reuses them/);
  });

  await t.test('should keep a put whose CLI is killed once the commitment is out', async (t) => {
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2', '--json']));
    await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0,
      60000, 'the commitment in the mempool');
    cli.proc.kill('SIGKILL');
    await cli.done;
    const listed = await files(renter);
    t.equal(listed.length, 1, 'the file is recorded');
    fileId = listed[0].fileId;
    t.same(listed[0].replicas.map((r) => r.state), ['pending', 'pending'], 'pending commitments are visible');
    const c0 = listed[0].replicas[0].contractId;
    const pending = await json<{ state: string; role: string; commit: { txid: string } }>(renter.cli(['getcontract', c0]));
    t.same([pending.state, pending.role], ['pending', 'renter'], 'getcontract sees the pending commitment');
    t.ok((await json<string[]>(renter.cli(['getrawmempool']))).includes(pending.commit.txid), 'with its txid');
    const rm = await renter.cli(['removefile', fileId]);
    t.not(rm.code, 0, 'a file with pending contracts cannot be forgotten');
    t.match(rm.stderr, /keys must be kept/);
    await mine(renter);
    await forValue(() => states(renter, fileId), (s) => s.join() === 'active,active', 30000, 'active');
    const active = await json<{ id: string; state: string }>(renter.cli(['getcontract', c0.slice(0, 10)]));
    t.same([active.id, active.state], [c0, 'active'], 'getcontract takes an id prefix');
    const out = path.join(work, 'back.txt');
    const r = await renter.cli(['get', fileId.slice(0, 8), out]);
    t.equal(r.code, 0, r.stderr);
    t.ok(fs.readFileSync(out).equals(data), 'bytes identical, fetched by an 8-digit id prefix');
  });

  await t.test('should keep a put whose connection drops right after commitfile', async (t) => {
    const proxy = await rpcProxy(renter.rpcPort, 'commitfile', 'cut');
    t.teardown(() => proxy.close());
    const before = (await files(renter)).length;
    const r = await spawnCLI(renter.cliArgs(['put', file, '--hosts', '2', '--no-wait'], proxy.port)).done;
    t.equal(r.code, 1);
    t.match(r.stderr, /error: lost cloudcoind while it committed file [0-9a-f]{64} .*keeps the file's keys; check `cloudcoin-cli ls`/);
    t.notMatch(r.stderr, /nothing was paid/);
    const listed = await files(renter);
    t.equal(listed.length, before + 1, 'the file is kept');
    const cut = listed.find((f) => f.fileId !== fileId)!;
    await forValue(() => states(renter, cut.fileId), (s) => s.join() === 'pending,pending', 30000, 'the node committed');
    await mine(renter);
    await forValue(() => states(renter, cut.fileId), (s) => s.join() === 'active,active', 30000, 'active');
    const out = path.join(work, 'back2.txt');
    t.equal((await renter.cli(['get', cut.fileId, out])).code, 0);
    t.ok(fs.readFileSync(out).equals(data));
  });

  await t.test('should clean up staged replicas on Ctrl-C, and the node forgets the put', async (t) => {
    const tmp = path.join(work, 'tmp');
    fs.mkdirSync(tmp);
    const proxy = await rpcProxy(renter.rpcPort, 'proposestorage', 'hold');
    t.teardown(() => proxy.close());
    const before = (await files(renter)).length;
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2'], proxy.port), { ...process.env, TMPDIR: tmp });
    const staged = () => fs.readdirSync(tmp).flatMap((d) => fs.readdirSync(path.join(tmp, d)));
    await forValue(() => proxy.seen.includes('proposestorage') && staged().length > 0, true, 60000, 'replicas staged');
    cli.proc.kill('SIGINT');
    const r = await cli.done;
    t.equal(r.code, 130, 'exit code of an interrupt');
    t.same(fs.readdirSync(tmp), [], 'no staged replica left behind');
    t.equal((await files(renter)).length, before, 'nothing recorded before a replica was proposed');
  });

  await t.test('should clean up after a put killed mid-upload once its offers expire', async (t) => {
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    t.teardown(() => proxy.close());
    const before = (await files(renter)).length;
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2'], proxy.port));
    await forValue(() => proxy.seen.includes('getstoragereceipt'), true, 60000, 'uploads done');
    cli.proc.kill('SIGKILL');
    await cli.done;
    const listed = await files(renter);
    t.equal(listed.length, before + 1);
    const stuck = listed.find((f) => f.replicas.some((r) => r.state === 'uploading'));
    t.ok(stuck, 'the interrupted put shows as uploading');
    await mine(renter, 21); // past the offers' expiry (regtest offer window: 20 blocks)
    await forValue(async () => (await files(renter)).length, before, 30000, 'the node forgot the unpaid put');
  });

  await t.test('should write where the user means, checking before downloading', async (t) => {
    const link = path.join(work, 'link');
    const target = path.join(work, 'target.txt');
    fs.writeFileSync(target, 'old');
    fs.symlinkSync(target, link);
    t.equal((await renter.cli(['get', fileId, link])).code, 0);
    t.ok(fs.lstatSync(link).isSymbolicLink(), 'the link stays a link');
    t.ok(fs.readFileSync(target).equals(data), 'written through the link');

    const dangling = path.join(work, 'dangling');
    fs.symlinkSync(path.join(work, 'created.txt'), dangling);
    t.equal((await renter.cli(['get', fileId, dangling])).code, 0);
    t.ok(fs.readFileSync(path.join(work, 'created.txt')).equals(data), 'a dangling link\'s target is created');

    const dash = await renter.cli(['get', fileId, '-']);
    t.equal(dash.code, 0);
    t.equal(dash.stdout, data.toString(), '- is standard output');
    t.match(dash.stderr, /^wrote - /, 'the report goes to stderr');
    t.notOk(fs.existsSync(path.join(process.cwd(), '-')));

    const devStdout = await renter.cli(['get', fileId, '/dev/stdout']);
    t.equal(devStdout.code, 0);
    t.equal(devStdout.stdout, data.toString(), '/dev/stdout is written through, not replaced');

    const fifo = path.join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const chunks: Buffer[] = [];
    const reading = new Promise<void>((resolve) => {
      fs.createReadStream(fifo).on('data', (c) => chunks.push(c as Buffer)).on('end', () => resolve());
    });
    t.equal((await renter.cli(['get', fileId, fifo])).code, 0);
    await reading;
    t.ok(Buffer.concat(chunks).equals(data), 'a FIFO is written as a stream');
    t.ok(fs.statSync(fifo).isFIFO(), 'and stays a FIFO');

    const cases: Array<[string, RegExp]> = [
      [work, /is a directory: give the file name to write/],
      [path.join(work, 'no', 'such', 'dir', 'f'), /directory .*no\/such\/dir does not exist/],
      [path.join(target, 'f'), /is not a directory/]
    ];
    for (const [out, re] of cases) {
      const r = await renter.cli(['get', fileId, out]);
      t.equal(r.code, 1, out);
      t.match(r.stderr, re);
      t.equal(r.stderr.trim().split('\n').length, 1, 'one line, no download attempted');
    }
    const bad = await renter.cli(['get', 'ab', path.join(work, 'x')]);
    t.match(bad.stderr, /unique prefix of at least 4/);
    const none = await renter.cli(['get', 'ffffffffff', path.join(work, 'x')]);
    t.match(none.stderr, /No such file: ffffffffff/);
  });

  await t.test('should remove a partial download on Ctrl-C', async (t) => {
    const dir = path.join(work, 'dl');
    fs.mkdirSync(dir);
    const proxy = await rpcProxy(renter.rpcPort, 'derivefilekey', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['get', fileId, path.join(dir, 'out.txt')], proxy.port));
    await forValue(() => proxy.seen.includes('derivefilekey'), true, 60000, 'the download done');
    t.equal(fs.readdirSync(dir).length, 1, 'the download is staged next to its destination');
    cli.proc.kill('SIGINT');
    t.equal((await cli.done).code, 130);
    t.same(fs.readdirSync(dir), [], 'nothing left behind');
  });

  await t.test('should store any name and print it on one line', async (t) => {
    const names = [Buffer.from('two\nlines.txt'), Buffer.from([0x66, 0xff, 0x2e, 0x62, 0x69, 0x6e])];
    for (const name of names) {
      const p = Buffer.concat([Buffer.from(work + '/'), name]);
      fs.writeFileSync(p, 'x'.repeat(1000));
      // The shell passes the name's exact bytes, as a user's shell would.
      const octal = [...name].map((c) => `\\${c.toString(8).padStart(3, '0')}`).join('');
      const r = execFileSync('/bin/sh', ['-c', 'exec "$0" "$@" "$(printf "$NAME")"', process.execPath, CLOUDCOIN_CLI,
        ...renter.cliArgs(['put', '--no-wait', '--json'])], { env: { ...process.env, NAME: `${work}/${octal}` } });
      t.ok(JSON.parse(r.toString()).fileId, `put ${JSON.stringify(name.toString('latin1'))}`);
    }
    const listed = await files(renter);
    for (const name of names)
      t.ok(listed.some((f) => f.nameHex === name.toString('hex')), 'the name is stored as its bytes');
    const table = await renter.cli(['ls']);
    const rows = table.stdout.trim().split('\n');
    t.equal(rows.length, 2 + listed.reduce((n, f) => n + f.replicas.length, 0), 'one line per replica');
    t.match(table.stdout, /two\\nlines\.txt/);
    t.match(table.stdout, /f\\xff\.bin/);
  });

  await t.test('should show end height, blocks left and unreachable hosts', async (t) => {
    const height = Number((await renter.cli(['getblockcount'])).stdout);
    const f = (await files(renter)).find((x) => x.fileId === fileId)!;
    for (const r of f.replicas) {
      t.ok(r.endHeight > height);
      t.equal(r.blocksLeft, r.endHeight - height);
      t.match(r.host, /^rb1/, 'hosts by identity address');
    }
    await hosts[1].stop('SIGKILL');
    await forValue(async () => (await files(renter)).find((x) => x.fileId === fileId)!.replicas.filter((r) => !r.reachable).length,
      1, 30000, 'one host unreachable');
    const table = await renter.cli(['ls']);
    t.match(table.stdout, /active \(host unreachable\)/);
    t.match(table.stdout, /end\s+left/);
    t.match(table.stdout, / \d+ blocks/);
  });
});
