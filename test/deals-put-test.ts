// put when things go wrong for the user: an empty file, a renter asking
// again and again, the CLI killed or cut off once the commitment is out,
// odd file names, hosts gone. A renter and three hosts as cloudcoind
// processes, driven by cloudcoin-cli as a user runs it.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { CLOUDCOIN_CLI, spawnCLI, tempDir } from './util/nodes-context';
import { files, json, mine, startNetwork, states, textFile } from './util/network';
import { rpcProxy } from './util/rpcproxy';
import { forValue } from './util/wait';

t.test('put under failures', async (t) => {
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
    const rm = await renter.cli(['forgetfile', fileId]);
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
    // Longer than the open contracts have left: new contracts, so a commitment.
    const r = await spawnCLI(renter.cliArgs(['put', file, '--hosts', '2', '--duration', '600', '--no-wait'], proxy.port)).done;
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
    t.equal(rows.length, 3 + listed.reduce((n, f) => n + f.replicas.length, 0), 'one line per replica, and the total cost');
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
