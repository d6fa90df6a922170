// A put's lease: the client running a put renews it; a put whose client
// is killed outright (kill -9: no Ctrl-C hook runs) is given up by the
// node once its lease lapses, exactly as Ctrl-C gives it up, so a put of
// a different file reuses the open contracts it held without locking new
// escrows; a live put, however slow, keeps its lease and its contracts.
// A renter and two hosts as cloudcoind processes, driven by cloudcoin-cli.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { PUT_LEASE_SECONDS } from '../../lib/deals/common';
import { runCLI, spawnCLI, tempDir, type DaemonProcess } from '../util/nodes-context';
import { files, json, mine, startNetwork, states, textFile, type FileJSON } from '../util/network';
import { rpcProxy } from '../util/rpcproxy';
import { forValue } from '../util/wait';

/** What these tests read of getcontract. */
interface ContractJSON {
  objects: number;
  revision: number;
  pendingRevision: number | null;
}

/** What these tests read of a listed file beyond FileJSON. */
type LeasedFile = FileJSON & { leaseExpires: number | null };

async function contracts(renter: DaemonProcess, ids: string[]): Promise<ContractJSON[]> {
  return Promise.all(ids.map((id) => json<ContractJSON>(renter.cli(['getcontract', id]))));
}

async function fileOf(renter: DaemonProcess, fileId: string): Promise<LeasedFile | undefined> {
  return (await files(renter)).find((f) => f.fileId === fileId) as LeasedFile | undefined;
}

/** The renter's contracts (every one it ever formed): a put that reuses open contracts adds none. */
async function contractCount(renter: DaemonProcess): Promise<number> {
  return (await json<unknown[]>(renter.cli(['listcontracts']))).length;
}

t.test('put leases', async (t) => {
  const { renter } = await startNetwork(t, [[], []]);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const first = path.join(work, 'first.txt');
  textFile(first, 1024 * 1024 + 11);
  const put = await json<{ fileId: string }>(renter.cli(['put', first, '--hosts', '2', '--no-wait', '--json']));
  await mine(renter);
  await forValue(() => states(renter, put.fileId), (s) => s.join() === 'active,active', 30000, 'active');
  const open = (await fileOf(renter, put.fileId))!.replicas.map((r) => r.contractId);

  /**
   * A put of `what` into the two open contracts (by revisions) with its
   * receipts held by a proxy, the bytes on the hosts: started, its lease
   * taken. Returns the CLI and the file it left listed.
   */
  const heldPut = async (what: string, json = false) => {
    textFile(what, 1024 * 1024 + 37);
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'hold');
    t.teardown(() => proxy.close());
    const cli = spawnCLI(renter.cliArgs(['put', what, '--hosts', '2', ...(json ? ['--json'] : [])], proxy.port));
    await forValue(() => {
      if (cli.proc.exitCode !== null)
        throw new Error(`put exited early (${cli.proc.exitCode}): ${cli.stderr()}`);
      return proxy.seen.includes('getstoragereceipt') && proxy.seen.includes('renewputlease');
    }, true, 60000, 'uploads done, the lease taken');
    const listed = await forValue(async () => (await files(renter) as LeasedFile[]).find((f) => f.name === path.basename(what)),
      (f) => f !== undefined && f.replicas.every((r) => r.state === 'uploading'), 30000, 'the put listed as uploading');
    return { proxy, cli, file: listed! };
  };

  await t.test('should give a killed put up once its lease lapses, so a put of another file reuses its contracts', async (t) => {
    const before = await contracts(renter, open);
    const formed = await contractCount(renter);
    const { proxy, cli, file } = await heldPut(path.join(work, 'killed.txt'));
    const killedAt = Date.now() / 1000;
    cli.proc.kill('SIGKILL');
    await cli.done;
    await proxy.close();
    t.ok(file.leaseExpires !== null && file.leaseExpires > killedAt - 5, `the killed put held a lease: ${file.leaseExpires}`);
    // No block is mined: without the lease the killed put would hold both contracts until its offer window ends.
    await forValue(async () => (await fileOf(renter, file.fileId)) === undefined, true, (PUT_LEASE_SECONDS + 30) * 1000,
      'the node gave the killed put up when its lease lapsed');
    t.same((await contracts(renter, open)).map((c) => [c.objects, c.pendingRevision]), before.map((c) => [c.objects, null]),
      'settled as Ctrl-C settles it: no object left that no file names, nothing pending');
    // Its client, had it lived, hears why in one line.
    const late = await renter.cli(['renewputlease', file.fileId]);
    t.equal(late.code, 1);
    t.match(late.stderr, /^error: the put of file [0-9a-f]{12} was given up: its lease lapsed \(no renewputlease for \d+ s\)/);
    t.equal(late.stderr.trim().split('\n').length, 1, 'one line');

    const other = path.join(work, 'other.txt');
    textFile(other, 1024 * 1024 + 23);
    const again = await renter.cli(['put', other, '--hosts', '2', '--no-wait', '--json']);
    t.equal(again.code, 0, again.stderr);
    t.notMatch(again.stderr, /forming|not reused/, 'no new contract formed, no contract held');
    const summary = JSON.parse(again.stdout) as { contracts: Array<{ id: string; reused: boolean }>; fileId: string };
    t.same(summary.contracts.map((c) => c.reused), [true, true], 'both open contracts reused');
    t.same(summary.contracts.map((c) => c.id).sort(), [...open].sort());
    t.equal(await contractCount(renter), formed, 'no escrow locked');
    t.equal((await renter.cli(['rm', summary.fileId])).code, 0);
  });

  await t.test('should keep a live put\'s lease and contracts however long it runs', async (t) => {
    const before = await contracts(renter, open);
    const { proxy, cli, file } = await heldPut(path.join(work, 'slow.txt'), true);
    t.ok(file.leaseExpires !== null, 'the put holds a lease');
    const firstLapse = file.leaseExpires!;
    // The receipts stay held; the client keeps renewing until the lease runs well past where it would have lapsed unrenewed.
    await forValue(async () => {
      const now = await fileOf(renter, file.fileId);
      if (!now)
        throw new Error('the node gave a live put up');
      return now.leaseExpires ?? 0;
    }, (e) => e >= firstLapse + PUT_LEASE_SECONDS + 10, (2 * PUT_LEASE_SECONDS + 30) * 1000, 'the lease renewed past its first lapse');
    const now = await fileOf(renter, file.fileId);
    t.same(now!.replicas.map((r) => r.state), ['uploading', 'uploading'], 'the put is untouched');
    t.same((await contracts(renter, open)).map((c) => c.pendingRevision), before.map((c) => c.revision + 1),
      'its revisions still pending, left to it');
    proxy.release();
    const r = await cli.done;
    t.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { contracts: Array<{ reused: boolean }>; fileId: string };
    t.equal(summary.fileId, file.fileId);
    t.same(summary.contracts.map((c) => c.reused), [true, true], 'stored in both open contracts');
    t.same((await fileOf(renter, file.fileId))!.leaseExpires, null, 'committed: the lease ended');
    t.same((await contracts(renter, open)).map((c) => [c.objects, c.pendingRevision]), before.map((c) => [c.objects + 1, null]));
  });

  await t.test('should end the lease of a put that fails, leaving what it left as before leases', async (t) => {
    // The node gets every receipt but the client never hears one: both hosts fail for the put, which fails.
    const proxy = await rpcProxy(renter.rpcPort, 'getstoragereceipt', 'cut');
    t.teardown(() => proxy.close());
    const failing = path.join(work, 'failing.txt');
    textFile(failing, 1024 * 1024 + 41);
    const r = await runCLI(renter.cliArgs(['put', failing, '--hosts', '2'], proxy.port));
    t.equal(r.code, 1, 'the put failed');
    t.ok(proxy.seen.includes('renewputlease'), 'it held a lease');
    const left = (await files(renter) as LeasedFile[]).find((f) => f.name === 'failing.txt');
    t.ok(left, `the copies the hosts countersigned keep the file listed: ${r.stderr}`);
    // Ended by the failing client: nothing lapses, so the node does not give up (remove) copies the put reported on.
    t.equal(left!.leaseExpires, null, 'no lease left to lapse');
    t.equal((await renter.cli(['rm', left!.fileId])).code, 0);
  });
});
