// A renter restored from its seed takes its contract over, as a user runs
// it: a host that charges for downloads and storage, a renter that gets
// its file (a prepaid read) and is audited and pays once, then loses its
// datadir and restores from its mnemonic. The restored node adopts the
// host's revisions and channel state (storage.latest), gets the file
// with paid prepaid reads, audits and pays the intervals after the
// restore, and the host closes at the end with one state that pays every
// interval (before and after the restore) and every prepaid read.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess, tempDir } from '../util/nodes-context';
import { height, identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import type { PutResult } from '../../lib/deals/renterclient';
import type { AuditsResult } from '../../lib/deals/auditview';
import type { RecoverResult } from '../../lib/deals/recovery';

const WAIT_MS = 120000;
const DURATION = 60;
const STORAGE_PRICE = 100_000_000;
const DOWNLOAD_PRICE = 1_000_000;
const UPLOAD_PRICE = 100;
const SIZE = 200_000;
const GIB = 2n ** 30n;

interface HostContract {
  state: string;
  channel: { number: number; paid: number; final: boolean; prepaid: number } | null;
  spend: { type: string; paid: number; returned: number; fee: number } | null;
  contract: { escrowValue: number };
}

t.test('a restored renter takes its contract over from a host that charges for downloads', async (t) => {
  const { renter, hosts } = await startNetwork(t, [['--host-storage-price', `${STORAGE_PRICE}sat`,
    '--host-download-price', `${DOWNLOAD_PRICE}sat`]], ['--renew', 'off']);
  const [host] = hosts;
  const restored = await DaemonProcess.create();
  const work = tempDir();
  t.teardown(async () => {
    await restored.stop('SIGKILL');
    restored.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(SIZE));
  const putting = renter.cli(['put', file, '--duration', String(DURATION), '--max-price', `${2 * STORAGE_PRICE}sat`,
    '--allowance', '200000sat', '--json']);
  await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0, 60000, 'the commitment');
  await mine(renter);
  const res = await putting;
  t.equal(res.code, 0, res.stderr);
  const put = JSON.parse(res.stdout) as PutResult;
  const id = put.contracts[0].id;
  const start = (await json<AuditsResult>(renter.cli(['getaudits', id]))).startHeight;
  const hostView = () => json<HostContract>(host.cli(['getcontract', id]));
  const size = BigInt(put.objectSize);
  // The accrual formula written out (docs/MARKET.md), not taken from lib/deals/accrual.ts.
  const upload = (BigInt(UPLOAD_PRICE) * size + GIB - 1n) / GIB;
  const earned = (blocks: number) => Number(upload + BigInt(STORAGE_PRICE) * size * BigInt(blocks) / (GIB * 1000n));
  const getCost = Number((BigInt(DOWNLOAD_PRICE) * size + GIB - 1n) / GIB);
  const storagePaid = (x: HostContract) => (x.channel ? x.channel.paid - x.channel.prepaid : 0);
  const mineTo = async (h: number) => {
    const now = await height(host);
    if (now < h)
      await mine(host, h - now);
  };
  const getAndCompare = async (d: DaemonProcess, name: string) => {
    const out = path.join(work, name);
    const r = await d.cli(['get', put.fileId, out]);
    t.equal(r.code, 0, r.stderr);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), `${name}: bytes identical`);
  };

  // Before the loss: a prepaid get, then an audit paid.
  await getAndCompare(renter, 'before.out');
  t.ok(((await hostView()).channel?.prepaid ?? 0) >= getCost, `the get prepaid ${getCost} sat`);
  await mineTo(start + 10);
  const before = (await forValue(hostView, (x) => storagePaid(x) > 0, WAIT_MS, 'interval 0 paid')).channel!;
  t.equal(before.paid - before.prepaid, Math.floor(earned(10) * 7500 / 10000), 'interval 0 paid, less the holdback');
  const me = await identity(renter);
  const seed = path.join(work, 'seed.txt');
  await json(renter.cli(['dumpmnemonic', seed]));
  await renter.stop();
  renter.cleanup();

  await restored.start(['--restore-mnemonic-file', seed, '--renew', 'off', '--connect', host.addr]);
  t.equal(await identity(restored), me, 'the same identity from the seed');
  const tip = await height(host);
  await forValue(() => height(restored), (h) => h >= tip, WAIT_MS, 'synced');
  await forValue(async () => (await json<Array<{ id: string; state: string }>>(restored.cli(['listcontracts'])))
    .some((c) => c.id === id && c.state === 'active'), true, WAIT_MS, 'the contract found again');
  await mine(host);
  // Taken over at the block after: the restored node holds the host's channel state as its own.
  const adopted = await forValue(() => json<AuditsResult>(restored.cli(['getaudits', id])), (a) => a.payment !== null,
    WAIT_MS, 'the host\'s state adopted');
  t.ok(adopted.payment!.number >= before.number && adopted.payment!.paid >= before.paid, 'the state the old node signed, or a later one');
  const rec = await json<RecoverResult>(restored.cli(['recover', '--json']));
  t.same(rec.contracts.map((c) => [c.id, c.takenOver, c.takeoverError]), [[id, true, null]], 'recover: taken over');

  // After the restore: a get prepaid from the adopted state.
  const ahead = (await hostView()).channel!;
  await getAndCompare(restored, 'after.out');
  const afterGet = (await hostView()).channel!;
  t.ok(afterGet.number > ahead.number, `a new state: ${ahead.number} -> ${afterGet.number}`);
  t.ok(afterGet.prepaid - ahead.prepaid >= getCost, `the get prepaid ${afterGet.prepaid - ahead.prepaid} sat`);

  // An audit after the restore passes and is paid.
  await mineTo(start + 20);
  const audited = await forValue(() => json<AuditsResult>(restored.cli(['getaudits', id])),
    (a) => a.audits.some((r) => r.interval >= 1 && r.outcome === 'passed'), WAIT_MS, 'an audit passed after the restore');
  t.same(audited.audits.filter((r) => r.outcome !== 'passed'), [], 'no audit failed or missed');
  const paid = await forValue(hostView, (x) => storagePaid(x) > before.paid - before.prepaid, WAIT_MS, 'paid after the restore');
  t.equal(storagePaid(paid), Math.floor(earned(20) * 7500 / 10000), 'intervals 0 and 1 paid, less the holdback');

  // The end: one final state pays every interval and every prepaid read; the host closes with it.
  await mineTo(start + DURATION);
  const last = await forValue(hostView, (x) => x.channel?.final === true, WAIT_MS, 'the final state');
  t.equal(storagePaid(last), earned(DURATION), 'every interval paid, before and after the restore: holdback released');
  t.ok(last.channel!.prepaid >= afterGet.prepaid, 'the prepaid reads before and after the restore');
  await forValue(async () => {
    await mine(host);
    return (await hostView()).state;
  }, 'settled', WAIT_MS, 'the close confirmed');
  const closed = await hostView();
  t.equal(closed.spend!.paid, last.channel!.paid, `the close pays the host ${last.channel!.paid} sat`);
  t.equal(closed.spend!.returned, closed.contract.escrowValue - last.channel!.paid, 'the rest back to the renter');
});
