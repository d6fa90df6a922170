// A renter finds and dials its hosts by their announcements, whether it
// forms a contract or holds one already: a renter connected only to a
// plain node puts a file on a host it has never been connected to, and
// once restarted (connected to none of its hosts) gets the file back,
// puts another into the same contract by a revision (no commitment) and
// deletes the first. Three cloudcoind processes on loopback.
import t, { type Test } from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { RenterClient } from '../lib/deals/renterclient';
import { DaemonProcess, tempDir } from './util/nodes-context';
import { identity, json, mine } from './util/network';
import { forValue } from './util/wait';

const WAIT_MS = 120_000;

interface HostRow {
  identity: string;
  address: string | null;
  connected: boolean;
}

t.test('a renter dials the hosts it needs, and those it holds contracts with', { timeout: 900_000 }, async (t) => {
  const plain = await DaemonProcess.create();
  const host = await DaemonProcess.create(['--host']);
  const renter = await DaemonProcess.create();
  const work = tempDir();
  t.teardown(async () => {
    for (const d of [renter, host, plain]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });
  // The renter and the host each dial only the plain node.
  await plain.start();
  await host.start(['--connect', plain.addr]);
  // Nobody dials the renter: a restart may move it to fresh ports.
  const startRenter = () => renter.start(['--connect', plain.addr], true);
  await startRenter();
  const hostId = await identity(host);
  const hostRow = async (): Promise<HostRow | undefined> =>
    (await json<HostRow[]>(renter.cli(['listhosts']))).find((r) => r.identity === hostId);
  const announced = () => forValue(async () => (await hostRow())?.address ?? null, host.addr, WAIT_MS,
    'the host\'s announcement (with its address) at the renter');
  await mine(renter, 440);
  await forValue(async () => Number((await host.cli(['getblockcount'])).stdout), 440, WAIT_MS, 'the host synced');
  await announced();

  const rpc = () => {
    const c = renter.client();
    return new RenterClient((method, params) => c.call(method, params));
  };
  const put = (file: string) => rpc().put({
    file, name: Buffer.from(path.basename(file)), hosts: 1, minHosts: 1, duration: 200, maxPrice: 5000,
    workDir: fs.mkdtempSync(path.join(work, 'put-')), wait: false
  });
  const restart = async (t: Test): Promise<void> => {
    await renter.stop();
    await startRenter();
    await announced();
    t.equal((await hostRow())?.connected, false, 'restarted: not connected to the host');
  };
  const first = path.join(work, 'first.bin');
  const firstData = randomBytes(50_000);
  fs.writeFileSync(first, firstData);
  let fileId = '';
  let contractId = '';

  await t.test('put dials an announced host it was never connected to', async (t) => {
    t.equal((await hostRow())?.connected, false, 'not connected before the put');
    const res = await put(first);
    t.equal(res.contracts.length, 1);
    t.equal(res.txids.length, 1, 'a new contract: one commitment');
    fileId = res.fileId;
    contractId = res.contracts[0].id;
    await mine(renter, 1);
    t.equal((await hostRow())?.connected, true, 'connected after the put');
  });

  await t.test('a restarted renter dials its contract host to get the file', async (t) => {
    await restart(t);
    const out = path.join(work, 'first.out');
    const got = await renter.cli(['get', fileId, out]);
    t.equal(got.code, 0, got.stderr);
    t.same(fs.readFileSync(out), firstData, 'same bytes');
    t.equal((await hostRow())?.connected, true, 'connected again');
  });

  await t.test('a restarted renter reuses the open contract for the next put', async (t) => {
    await restart(t);
    const second = path.join(work, 'second.bin');
    fs.writeFileSync(second, randomBytes(30_000));
    const res = await put(second);
    t.same(res.txids, [], 'no commitment');
    t.same(res.contracts.map((c) => [c.id, c.reused]), [[contractId, true]], 'a revision of the same contract');
  });

  await t.test('a restarted renter reaches the host to delete a file', async (t) => {
    await restart(t);
    const rm = await json<{ removed: unknown[]; kept: unknown[] }>(renter.cli(['rm', fileId, '--json']));
    t.equal(rm.removed.length, 1, 'removed from the host');
    t.same(rm.kept, []);
  });
});
