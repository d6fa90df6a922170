// A host that stalls (SIGSTOP) in the middle of a revision and carries
// on later (SIGCONT) applies what it received while the renter had given
// up waiting: the renter must end up holding exactly what the host holds
// (same revision number, objects, accrued and committed sat), never build
// on a revision the host has moved past, and say truthfully what a put
// whose receipt answer was lost left behind. A renter and one host as
// cloudcoind processes, driven by cloudcoin-cli as a user runs it.
import t, { type Test } from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import type { DaemonProcess } from '../util/nodes-context';
import { spawnCLI, tempDir } from '../util/nodes-context';
import { files, json, putMined, startNetwork, textFile } from '../util/network';
import { rpcProxy } from '../util/rpcproxy';
import { forValue } from '../util/wait';

/** What both sides' getcontract say of a contract's revisions (contractDetails). */
interface ContractJSON {
  revision: number;
  pendingRevision: number | null;
  objects: number;
  size: number;
  used: number;
  committed: number;
}

// Each stall outlasts the renter's 20 s call timeout, some of them twice.
t.setTimeout(15 * 60 * 1000);

t.test('a host that stalls mid-revision', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[]]);
  const [host] = hosts;
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const first = await putMined(t, renter, 64 * 1024, ['--hosts', '1', '--duration', '300']);
  const id = first.contracts[0].id;
  const pid = host.proc!.pid!;
  let stalled = false;
  const stall = () => {
    process.kill(pid, 'SIGSTOP');
    stalled = true;
  };
  const resume = () => {
    process.kill(pid, 'SIGCONT');
    stalled = false;
  };
  // A failed test must not leave the host stopped for teardown's stop.
  t.teardown(() => {
    if (stalled)
      process.kill(pid, 'SIGCONT');
  });
  const view = async (d: DaemonProcess) => {
    const c = await json<ContractJSON>(d.cli(['getcontract', id]));
    return { revision: c.revision, pendingRevision: c.pendingRevision, objects: c.objects, size: c.size, used: c.used,
      committed: c.committed };
  };
  /** Renter and host hold the same revision, objects and money figures, with nothing pending. */
  const agree = async (t: Test, revision: number, objects: number) => {
    const mine = await view(renter);
    t.same(await view(host), mine, 'renter and host hold the same contract state');
    t.same([mine.revision, mine.objects, mine.pendingRevision], [revision, objects, null], `revision ${revision}, ${objects} object(s)`);
  };
  const log = () => fs.readFileSync(path.join(renter.datadir, 'debug.log'), 'utf8');
  let n = 0;
  const newFile = () => {
    const file = path.join(work, `f${++n}.txt`);
    textFile(file, 32 * 1024);
    return file;
  };
  const put = async () => {
    const r = await renter.cli(['put', newFile(), '--hosts', '1', '--json']);
    t.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { fileId: string; contracts: Array<{ id: string; reused: boolean; revision: number }> };
  };

  const second = await put();
  t.same(second.contracts.map((c) => [c.id, c.reused, c.revision]), [[id, true, 1]], 'the second file is revision 1 of the contract');
  await agree(t, 1, 2);

  await t.test('rm run again after a stall finds the removal the host applied late', async (t) => {
    stall();
    const timedOut = await renter.cli(['rm', second.fileId]);
    t.equal(timedOut.code, 1, 'the first rm cannot finish');
    t.match(timedOut.stdout, /run rm again/);
    resume();
    // The host applies the removal it received while stopped.
    await forValue(async () => (await view(host)).revision, 2, 60000, 'the host applying the removal');
    const again = await renter.cli(['rm', second.fileId]);
    t.equal(again.code, 0, `${again.stdout}${again.stderr}`);
    t.notMatch(again.stdout, /bad-object-changes|kept on/, again.stdout);
    t.match(again.stdout, new RegExp(`removed from .*: contract ${id.slice(0, 12)}.* revision 3\\n`));
    t.match(again.stdout, /deleted/);
    t.notOk((await files(renter)).some((f) => f.fileId === second.fileId), 'the file is gone');
    // Revision 2 removed it (the host's), 3 changed nothing and brought the manifest's upload token.
    await agree(t, 3, 1);
    t.same((await put()).contracts.map((c) => c.revision), [4], 'the next put revises the contract on top');
    await agree(t, 4, 2);
  });

  await t.test('a put whose receipt answer is lost asks again and succeeds', async (t) => {
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['put', newFile(), '--hosts', '1', '--json'], proxy.port));
    await forValue(() => proxy.seen.includes('getstoragereceipt'), true, 120000, 'the upload done, the receipt asked for');
    stall();
    proxy.release();
    // The first answer never comes in time; the host gets both requests and answers once resumed.
    await forValue(() => /no answer from host .* for the receipt of revision 5 .*: asking again/.test(log()), true, 60000,
      'the node asking the stalled host again');
    resume();
    const r = await cli.done;
    t.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { contracts: Array<{ revision: number; state: string }> };
    t.same(res.contracts.map((c) => c.revision), [5]);
    await agree(t, 5, 3);
    await proxy.close();
  });

  await t.test('a put whose host never answers for its receipt says the file is kept, not that nothing was paid', async (t) => {
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['put', newFile(), '--hosts', '1'], proxy.port));
    await forValue(() => proxy.seen.includes('getstoragereceipt'), true, 120000, 'the upload done, the receipt asked for');
    stall();
    proxy.release();
    const r = await cli.done;
    t.equal(r.code, 1, 'the put fails');
    t.notMatch(r.stderr, /nothing was paid|nothing committed/, r.stderr);
    t.match(r.stderr, /only 0 host\(s\) stored the file, 1 needed \(--min-hosts\); the file is kept, not forgotten: .*revision 6 /, r.stderr);
    resume();
    const kept = (await files(renter)).find((f) => f.name === `f${n}.txt`);
    t.ok(kept, 'the file is listed');
    // The host countersigned revision 6 once resumed; rm settles it and removes the copy by revision 7.
    const rm = await renter.cli(['rm', kept!.fileId]);
    t.equal(rm.code, 0, `${rm.stdout}${rm.stderr}`);
    t.match(rm.stdout, /revision 7\n/);
    await agree(t, 7, 3);
    await proxy.close();
  });
});
