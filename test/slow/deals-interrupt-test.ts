// Interrupted puts and gets, and where get writes: Ctrl-C during a put or
// a download (the node drops the put as rm does: no object left that no
// file names, its open contracts free at once), a put killed mid-upload
// (listed with the block the node gives it up at, named by a put that
// cannot reuse its contracts, released by rm or by a put of the same
// name), symlinks,
// standard output, FIFOs, bad destinations and existing files (refused
// without --force, also one that appears during the download), a file
// changed during its upload, Ctrl-C during rm, and a put whose cloudcoind
// stops mid-upload. A renter and two hosts as
// cloudcoind processes, driven by cloudcoin-cli as a user runs it.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { spawnCLI, tempDir } from '../util/nodes-context';
import { files, json, mine, startNetwork, states, textFile } from '../util/network';
import { rpcProxy } from '../util/rpcproxy';
import { forValue } from '../util/wait';

/** What these tests read of getcontract. */
interface ContractJSON {
  objects: number;
  revision: number;
  pendingRevision: number | null;
}

/** The objects and revisions of the renter's contracts `ids`. */
async function contracts(renter: Awaited<ReturnType<typeof startNetwork>>['renter'], ids: string[]): Promise<ContractJSON[]> {
  return Promise.all(ids.map((id) => json<ContractJSON>(renter.cli(['getcontract', id]))));
}

t.test('interrupted puts and gets, and destinations', async (t) => {
  const { renter } = await startNetwork(t, [[], []]);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'notes.txt');
  const data = textFile(file, 2 * 1024 * 1024 + 77);
  const put = await json<{ fileId: string }>(renter.cli(['put', file, '--hosts', '2', '--no-wait', '--json']));
  const fileId = put.fileId;
  await mine(renter);
  await forValue(() => states(renter, fileId), (s) => s.join() === 'active,active', 30000, 'active');
  const open = (await files(renter)).find((f) => f.fileId === fileId)!.replicas.map((r) => r.contractId);
  // A put into the two open contracts (by revisions) killed with the bytes on the hosts, its receipts held: the file it left listed.
  const killedPut = async (what = file) => {
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    try {
      const cli = spawnCLI(renter.cliArgs(['put', what, '--hosts', '2'], proxy.port));
      await forValue(() => proxy.seen.includes('getstoragereceipt'), true, 60000, 'uploads done');
      cli.proc.kill('SIGKILL');
      await cli.done;
    } finally {
      await proxy.close();
    }
    return (await files(renter)).find((f) => f.replicas.every((r) => r.state === 'uploading'));
  };

  await t.test('should stop on Ctrl-C leaving no temp file, and the node forgets the put', async (t) => {
    const tmp = path.join(work, 'tmp');
    fs.mkdirSync(tmp);
    // The file goes to the open contracts by revisions: hold the first one.
    const proxy = await rpcProxy(renter.rpcPort, 'proposerevision', 'hold');
    t.teardown(() => proxy.close());
    const before = (await files(renter)).length;
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2'], proxy.port), { ...process.env, TMPDIR: tmp });
    // Replicas stream to their hosts (nothing is staged): interrupt the put
    // while its first revision is held, mid-way.
    await forValue(() => proxy.seen.includes('proposerevision'), true, 60000, 'a revision proposed');
    cli.proc.kill('SIGINT');
    const r = await cli.done;
    t.equal(r.code, 130, 'exit code of an interrupt');
    t.same(fs.readdirSync(tmp), [], 'no temp file left behind');
    t.equal((await files(renter)).length, before, 'nothing recorded before a replica was proposed');
    // What became of the put, in the node's words (the file was only a draft: not "No such file").
    t.match(r.stderr, /interrupted: removed temporary files; abandoning the put: the node drops file [0-9a-f]{12} \(press Ctrl-C again/, r.stderr);
    t.match(r.stderr, /\ninterrupted: the put was abandoned and the node dropped file [0-9a-f]{12} before any commitment; its open contracts are free/,
      r.stderr);
  });

  await t.test('should list a put killed mid-upload with the block it is given up at, name it, and release it on rm', async (t) => {
    const before = await contracts(renter, open);
    const stuck = await killedPut();
    t.ok(stuck, 'the killed put is listed as uploading');
    const id = stuck!.fileId.slice(0, 12);
    const height = Number((await renter.cli(['getblockcount'])).stdout);
    const at = (stuck!.replicas as unknown as Array<{ givenUpAt: number | null }>).map((r) => r.givenUpAt);
    t.ok(at.every((h) => h !== null && h > height), `each copy says when the node gives it up: ${at.join()}`);
    const given = Math.max(...at.map(Number));
    t.match((await renter.cli(['ls'])).stdout, `uploading (dropped at block ${given} unless finished)`);
    t.match((await renter.cli(['log', 'notes.txt'])).stdout, `put unfinished: dropped at block ${given} unless finished`);
    const got = await renter.cli(['get', id, path.join(work, 'never.txt')]);
    t.equal(got.code, 1);
    t.match(got.stderr, new RegExp(`^error: notes\\.txt \\(file ${id}, version \\d+\\) was never fully stored: its put did not complete `
      + `\\(interrupted, or still running\\), so no host holds a copy; the node drops it at block ${given} unless it finishes, `
      + `and \`cloudcoin-cli rm ${id}\` drops it now\\n$`));
    // A put now could not reuse the contracts: the node names the put holding them and what releases it.
    const found = await json<{ contracts: unknown[]; skipped: Array<{ id: string; reason: string }> }>(
      renter.cli(['findcontracts', '3000000', '1', '5000', '0', 'true']));
    t.equal(found.contracts.length, 0, 'both open contracts are held by the killed put');
    t.equal(found.skipped.length, 2);
    for (const k of found.skipped)
      t.match(k.reason, `of an unfinished put is in flight until block ${given} ("notes.txt", file ${id}: if that put was interrupted, `
        + `\`cloudcoin-cli rm ${id}\` releases it now)`);
    // rm settles it with the hosts at once: a host that holds all the bytes countersigns and the copy is removed by a
    // revision; one still short of them (the other upload may not have ended when the put was killed) declines.
    const rm = await renter.cli(['rm', id]);
    t.equal(rm.code, 0, rm.stderr);
    t.notMatch(rm.stdout, /did not answer/, rm.stdout);
    t.match(rm.stdout, `file ${stuck!.fileId} deleted`);
    const after = await contracts(renter, open);
    t.same(after.map((c) => [c.objects, c.pendingRevision]), before.map((c) => [c.objects, null]),
      'no object left that no file names, nothing pending');
    const again = await renter.cli(['put', file, '--hosts', '2', '--no-wait', '--json']);
    t.equal(again.code, 0, again.stderr);
    t.notMatch(again.stderr, /forming/, 'no new contract formed');
    const summary = JSON.parse(again.stdout) as { contracts: Array<{ reused: boolean }>; fileId: string };
    t.same(summary.contracts.map((c) => c.reused), [true, true], 'both open contracts reused at once');
    t.equal((await renter.cli(['rm', summary.fileId])).code, 0);
  });

  await t.test('should give up a killed put when the same name is put again, reusing its open contracts', async (t) => {
    const killed = await killedPut();
    t.ok(killed, 'the killed put is listed');
    const before = await contracts(renter, open);
    const again = await renter.cli(['put', file, '--hosts', '2', '--no-wait', '--json']);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stderr, `warning: gave up the unfinished put of "notes.txt" (file ${killed!.fileId.slice(0, 12)}) holding open contract(s) `);
    t.match(again.stderr, 'as rm does: the contracts are free for this put');
    t.notMatch(again.stderr, /forming/, 'no new contract formed, no escrow locked');
    const summary = JSON.parse(again.stdout) as { contracts: Array<{ reused: boolean }>; fileId: string };
    t.same(summary.contracts.map((c) => c.reused), [true, true], 'both open contracts reused');
    t.notOk((await files(renter)).some((f) => f.fileId === killed!.fileId), 'the killed put is gone');
    t.same((await contracts(renter, open)).map((c) => [c.objects, c.pendingRevision]), before.map((c) => [c.objects + 1, null]),
      'one object more, the new put\'s: the killed copy was removed, not left unnamed');
    t.equal((await renter.cli(['rm', summary.fileId])).code, 0);
  });

  await t.test('should say why a name whose first put was killed is uploaded whole', async (t) => {
    const first = path.join(work, 'first.txt');
    textFile(first, 1024 * 1024 + 5);
    t.ok(await killedPut(first), 'the killed first put is listed');
    const again = await renter.cli(['put', first, '--hosts', '2', '--no-wait', '--json']);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stderr, 'gave up the unfinished put of "first.txt"');
    const summary = JSON.parse(again.stdout) as { fileId: string; delta: { notes: string[] } | null };
    // Not "no fingerprints (recovered from the seed...)": there was no stored version to compare with.
    t.same(summary.delta?.notes, ['the earlier put of this name never finished: uploaded whole']);
    t.equal((await renter.cli(['rm', summary.fileId])).code, 0);
  });

  await t.test('should clean up after a put killed mid-upload once its offers expire', async (t) => {
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    t.teardown(() => proxy.close());
    const before = (await files(renter)).length;
    // Longer than the open contracts have left: new contracts, never committed.
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2', '--duration', '2000'], proxy.port));
    await forValue(() => proxy.seen.includes('getstoragereceipt'), true, 60000, 'uploads done');
    cli.proc.kill('SIGKILL');
    await cli.done;
    const listed = await files(renter);
    t.equal(listed.length, before + 1);
    const stuck = listed.find((f) => f.replicas.some((r) => r.state === 'uploading'));
    t.ok(stuck, 'the interrupted put shows as uploading');
    // get says so in one line instead of asking each host for an object it never got.
    const got = await renter.cli(['get', stuck!.fileId, path.join(work, 'never.txt')]);
    t.equal(got.code, 1);
    t.match(got.stderr, /^error: notes\.txt \(file [0-9a-f]{12}, version \d+\) was never fully stored: its put did not complete/);
    t.equal(got.stderr.trim().split('\n').length, 1, 'one line, no host asked');
    await mine(renter, 21); // past the offers' expiry (regtest offer window: 20 blocks)
    await forValue(async () => (await files(renter)).length, before, 30000, 'the node forgot the unpaid put');
  });

  await t.test('should drop a put interrupted after its upload, and reuse its open contracts on the re-run', async (t) => {
    // The file goes to the two open contracts by revisions: hold the first receipt, the bytes are on the hosts.
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    t.teardown(() => proxy.close());
    const before = (await files(renter)).length;
    const held = await contracts(renter, open);
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2'], proxy.port));
    await forValue(() => proxy.seen.includes('getstoragereceipt'), true, 60000, 'uploads done');
    cli.proc.kill('SIGINT');
    const r = await cli.done;
    t.equal(r.code, 130);
    // The hosts hold the bytes: they countersign when the node settles, and the copies go by a revision (none left unnamed).
    t.match(r.stderr, /\ninterrupted: the put was abandoned and the node dropped file [0-9a-f]{12} before any commitment( \(the copies [12] host\(s\) had received were deleted from them by a revision; their upload stays charged\))?; its open contracts are free for the next put\n/, r.stderr);
    t.equal((await files(renter)).length, before, 'no file left listed');
    t.same((await contracts(renter, open)).map((c) => [c.objects, c.pendingRevision]), held.map((c) => [c.objects, null]),
      'the contracts hold what they held, nothing pending');
    await proxy.close();
    const again = await renter.cli(['put', file, '--hosts', '2', '--no-wait', '--json']);
    t.equal(again.code, 0, again.stderr);
    t.notMatch(again.stderr, /forming/, 'no new contract formed');
    const summary = JSON.parse(again.stdout) as { contracts: Array<{ reused: boolean }> };
    t.same(summary.contracts.map((c) => c.reused), [true, true], 'both open contracts reused');
    t.same((await contracts(renter, open)).map((c) => c.objects), held.map((c) => c.objects + 1), 'one object more: the re-run\'s');
  });

  await t.test('should write where the user means, checking before downloading', async (t) => {
    const link = path.join(work, 'link');
    const target = path.join(work, 'target.txt');
    fs.writeFileSync(target, 'old');
    fs.symlinkSync(target, link);
    const kept = await renter.cli(['get', fileId, link]);
    t.equal(kept.code, 1, 'a link to an existing file is an existing file');
    t.equal(kept.stderr, `error: ${link} already exists: give --force to replace it\n`);
    t.equal(fs.readFileSync(target, 'utf8'), 'old', 'untouched');
    t.equal((await renter.cli(['get', fileId, link, '--force'])).code, 0);
    t.ok(fs.lstatSync(link).isSymbolicLink(), 'the link stays a link');
    t.ok(fs.readFileSync(target).equals(data), 'written through the link');
    t.same(fs.readdirSync(work).filter((f) => f.startsWith('.cloudcoin-get-')), [], 'no temp file left');

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

  await t.test('should refuse a file that appeared during the download, keeping it', async (t) => {
    const dir = path.join(work, 'race');
    fs.mkdirSync(dir);
    const out = path.join(dir, 'out.txt');
    const proxy = await rpcProxy(renter.rpcPort, 'derivefilekey', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['get', fileId, out], proxy.port));
    await forValue(() => proxy.seen.includes('derivefilekey'), true, 60000, 'the download done');
    // Another program writes the name while get is decrypting: get must not replace it.
    fs.writeFileSync(out, 'theirs');
    proxy.release();
    const r = await cli.done;
    t.equal(r.code, 1);
    t.equal(r.stderr, `error: ${out} already exists: give --force to replace it\n`, 'one line');
    t.equal(fs.readFileSync(out, 'utf8'), 'theirs', 'their file kept');
    t.same(fs.readdirSync(dir), ['out.txt'], 'the download removed');
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

  await t.test('should say on Ctrl-C after the commitment that the node keeps the put', async (t) => {
    // Longer than the open contracts have left: new contracts, one commitment that put waits on.
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2', '--duration', '2000']));
    await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0, 60000, 'the commitment sent');
    await forValue(() => cli.stderr(), (e) => e.includes('waiting for commitment'), 60000, 'put waiting for it');
    cli.proc.kill('SIGINT');
    const r = await cli.done;
    t.equal(r.code, 130);
    // The open contracts are too short for --duration 2000: said so, not "no open contract yet".
    t.match(r.stderr, /forming 2 new contracts \(no open contract with room for \d+ bytes and 1000 blocks left\)/, r.stderr);
    t.match(r.stderr, /\ninterrupted: the put is committed \([0-9a-f]{64}\): the node keeps the file \(ls shows it\)\n/, r.stderr);
    await mine(renter);
    await forValue(async () => (await files(renter)).filter((f) => f.replicas.some((x) => x.state === 'active' && !open.includes(x.contractId)))
      .length, 1, 30000, 'the committed put stays, active');
  });

  await t.test('should refuse a file changed during its upload in one line that names it', async (t) => {
    const changing = path.join(work, 'changing.txt');
    textFile(changing, 2 * 1024 * 1024 + 77);
    const before = (await files(renter)).length;
    // Open contracts take it by revisions: hold both (each root is known by then), change the file, let them go.
    const proxy = await rpcProxy(renter.rpcPort, 'proposerevision', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['put', changing, '--hosts', '2'], proxy.port));
    await forValue(() => proxy.seen.filter((m) => m === 'proposerevision').length, 2, 60000, 'both revisions proposed');
    const fd = fs.openSync(changing, 'r+');
    fs.writeSync(fd, Buffer.from('changed while uploading'), 0, 23, 1024 * 1024);
    fs.closeSync(fd);
    proxy.release();
    const r = await cli.done;
    t.equal(r.code, 1);
    t.match(r.stderr, /^error: "changing\.txt" changed while it was being uploaded \(modified at \S+, after the put started\): not stored; put it again once it no longer changes\n$/,
      r.stderr);
    t.notMatch(r.stderr, /registered root|nothing committed/, 'no per-host root mismatch');
    t.equal((await files(renter)).length, before, 'the node dropped the put');
  });

  await t.test('should say on Ctrl-C during rm that the node may still remove the file, and how to finish it', async (t) => {
    const put = await json<{ fileId: string }>(renter.cli(['put', file, '--hosts', '2', '--no-wait', '--json']));
    const id = put.fileId.slice(0, 12);
    const proxy = await rpcProxy(renter.rpcPort, 'deletefile', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['rm', id], proxy.port));
    await forValue(() => proxy.seen.includes('deletefile'), true, 60000, 'rm asked the node');
    cli.proc.kill('SIGINT');
    const r = await cli.done;
    t.equal(r.code, 130, 'exit code of an interrupt');
    t.equal(r.stderr, `\ninterrupted: rm stopped waiting, but the node may still remove file ${id} from its hosts (it forgets the file `
      + `once all have dropped it): if \`cloudcoin-cli ls\` still lists it, run \`cloudcoin-cli rm ${id}\` again\n`, 'one line');
    // The held request never reached the node: the file is listed, and rm again removes it, as the line says.
    t.ok((await files(renter)).some((f) => f.fileId === put.fileId), 'still listed');
    const again = await renter.cli(['rm', id]);
    t.equal(again.code, 0, again.stderr);
    t.notOk((await files(renter)).some((f) => f.fileId === put.fileId), 'removed');
  });

  await t.test('should say a put that lost cloudcoind mid-upload may still complete, never that nothing was paid', async (t) => {
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2'], proxy.port));
    await forValue(() => proxy.seen.includes('getstoragereceipt'), true, 60000, 'uploads done');
    t.equal(await renter.stop('SIGINT'), 0, 'cloudcoind stopped cleanly');
    await proxy.close();
    const r = await cli.done;
    t.equal(r.code, 1);
    const m = /^error: lost cloudcoind during the put of file ([0-9a-f]{64}) \(.+\): the node may still complete the put when it runs again \(and charge it\), or drop it; check `cloudcoin-cli ls` before putting it again\n$/
      .exec(r.stderr);
    t.ok(m, `one line: ${r.stderr}`);
    t.notMatch(r.stderr, /nothing was paid|nothing committed/);
    await renter.start();
    t.ok((await files(renter)).some((f) => f.fileId === m?.[1]), 'the restarted node still holds the put (ls lists it)');
  });

});
