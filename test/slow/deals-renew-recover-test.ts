// A file whose contracts were renewed comes back after a restore from the
// seed, as a user runs it: a renter puts a file on two cloudcoind hosts,
// renews its contracts (`cloudcoin-cli renew`), and `recover` on the
// healthy node reads a manifest from every contract, the renewals too.
// Past the old contracts' refund height it loses its datadir and restores from its
// mnemonic: the renewals' sealed manifests (object 0) name them, so `ls`
// lists the file on the renewed contracts and `get` returns its bytes.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess } from '../util/nodes-context';
import { height, identity, json, mine, startNetwork } from '../util/network';
import { logLines, scratch } from '../util/blocks';
import { forValue } from '../util/wait';
import type { PutResult } from '../../lib/deals/renterclient';
import type { FileInfo, RenewContractResult } from '../../lib/deals/rpctypes';
import type { RecoverResult } from '../../lib/deals/recovery';

const WAIT_MS = 120000;
const DURATION = 30;

// Two cloudcoind networks' worth of processes on a loaded machine.
t.setTimeout(10 * 60 * 1000);

t.test('a renewed contract carries the manifest: the file comes back from the seed', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], []], ['--renew', 'off']);
  const restored = await DaemonProcess.create();
  t.teardown(async () => {
    await restored.stop('SIGKILL');
    restored.cleanup();
  });
  const work = scratch(t);
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(400 * 1024 + 3));
  const put = await json<PutResult>(renter.cli(['put', file, '--hosts', '2', '--duration', String(DURATION), '--no-wait', '--json']));
  await mine(renter);
  const old = put.contracts.map((c) => c.id).sort();
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.replicas.every((r) => r.state === 'active'), WAIT_MS, 'the put active');

  // Longer than the first term, so the renewals outlive the old contracts' refund height.
  const renewal = await json<RenewContractResult>(renter.cli(['renew', put.fileId, '--duration', String(3 * DURATION), '--json']));
  t.same(renewal.failed, [], 'both contracts renewed');
  const renewed = renewal.renewed.map((r) => r.id).sort();
  t.equal(renewed.length, 2);
  await mine(renter);
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.replicas.every((r) => renewed.includes(r.contractId) && r.state === 'active'), WAIT_MS, 'the file on the renewals');

  // On the healthy node every contract in force has a manifest, the renewals too.
  const healthy = await json<RecoverResult>(renter.cli(['recover', '--json']));
  t.same(healthy.contracts.filter((c) => c.error !== null).map((c) => [c.id, c.error]), [], 'no contract without a manifest');
  t.same(renewed.filter((id) => healthy.contracts.some((c) => c.id === id && c.files === 1)), renewed,
    'each renewal\'s manifest lists the file');

  // Past the old contracts' refund height: their hosts forget them, only the renewals hold the file.
  const refunds = await Promise.all(old.map(async (id) => (await json<{ contract: { refundHeight: number } }>(
    renter.cli(['getcontract', id]))).contract.refundHeight));
  const now = await height(renter);
  await mine(renter, Math.max(...refunds) + 2 - now);

  const me = await identity(renter);
  const seed = path.join(work, 'seed.txt');
  await json(renter.cli(['dumpmnemonic', seed]));
  await renter.stop();
  renter.cleanup();

  await restored.start(['--restore-mnemonic-file', seed, '--renew', 'off', ...hosts.flatMap((h) => ['--connect', h.addr])]);
  t.equal(await identity(restored), me, 'the same identity from the seed');
  const tip = await height(hosts[0]);
  await forValue(() => height(restored), (h) => h >= tip, WAIT_MS, 'synced');
  await forValue(async () => (await json<Array<{ id: string; state: string }>>(restored.cli(['listcontracts'])))
    .filter((c) => renewed.includes(c.id) && c.state === 'active').length, 2, WAIT_MS, 'the renewals found again');
  // The restored node reads the manifests on its own at the block after it found its contracts, and logs the run.
  await mine(hosts[0]);
  await forValue(async () => logLines(restored, 'recover:'), (l) => /contract\(s\) taken over/.test(l), WAIT_MS, 'recovery on its own');
  const rec = await json<RecoverResult>(restored.cli(['recover', '--json']));
  t.same(rec.contracts.map((c) => c.id).sort(), renewed, 'recover asks the renewals, the contracts in force');
  t.same(rec.contracts.filter((c) => c.error !== null || !c.takenOver).map((c) => [c.id, c.error, c.takeoverError]), [],
    'every renewal gave its manifest and was taken over');
  t.same([rec.recovered.length, rec.known], [0, 1], 'the file found by the node on its own');
  const info = await json<FileInfo>(restored.cli(['getfile', put.fileId]));
  t.same(info.replicas.map((r) => r.contractId).sort(), renewed, 'listed on the renewed contracts, not the ended ones');
  const out = path.join(work, 'out.bin');
  const got = await restored.cli(['get', put.fileId, out]);
  t.equal(got.code, 0, got.stderr);
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');
});
