// A renter that stops paying: its node keeps auditing, but its states no
// longer reach the host (the host restarts with a policy denying this
// renter's storage.pay, as if the renter sent none; a locked wallet does
// not stop payments: cloudcoind keeps its escrow keys in memory). Two
// intervals after the first unpaid audit the host closes with the last
// state it holds, deletes the contract's data and marks the renter; every
// step through the CLI.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { forCloudPeer, height, identity, json, mine, putMined, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { AuditsResult } from '../lib/deals/auditview';

const DURATION = 60;
const STORAGE_PRICE = 100_000_000;

interface HostContract {
  state: string;
  channel: { number: number; paid: number; prepaid: number } | null;
  spend: { type: string; paid: number; fee: number } | null;
}

t.test('a renter that stops paying is closed on and its data deleted', async (t) => {
  const { renter, hosts } = await startNetwork(t, [['--host-storage-price', `${STORAGE_PRICE}sat`]]);
  const [host] = hosts;
  const id = (await putMined(t, renter, 1024 * 1024, ['--duration', String(DURATION), '--max-price', `${2 * STORAGE_PRICE}sat`]))
    .contracts[0].id;
  const start = (await json<AuditsResult>(renter.cli(['getaudits', id]))).startHeight;
  const hostView = () => json<HostContract>(host.cli(['getcontract', id]));
  const mineTo = async (h: number) => {
    const now = await height(renter);
    if (now < h)
      await mine(host, h - now);
  };
  const data = path.join(host.datadir, 'hostdata', 'objects', id);

  await mineTo(start + 10);
  // Audit reads are prepaid by states of their own: what pays storage is the rest.
  const storagePaid = (x: HostContract) => (x.channel ? x.channel.paid - x.channel.prepaid : 0);
  const paid = storagePaid(await forValue(hostView, (x) => storagePaid(x) > 0, 90000, 'the first state paying storage'));
  t.ok(paid > 0, `first state pays ${paid} sat`);
  t.ok(fs.existsSync(data), 'the host holds the data');

  // From now on no state of this renter reaches the host; audits go on.
  const hostId = await identity(host);
  await host.stop();
  await forCloudPeer(renter, hostId, false, 60000, 'the host gone');
  await host.start(['--connect', renter.addr, '--policy', `deny storage.pay@${await identity(renter)}`]);
  await forCloudPeer(renter, hostId, true, 60000, 'the host back');
  await mineTo(start + 20);
  const a = await forValue(() => json<AuditsResult>(renter.cli(['getaudits', id])), (x) => x.audits.length >= 2, 90000,
    'the second audit');
  t.equal(a.audits[1].outcome, 'passed', 'the host served the audit');
  t.equal(storagePaid(await hostView()), paid, 'no state pays for it (the audit\'s reads were prepaid)');

  // Two intervals later the host closes with state 1 and deletes the data.
  await mineTo(start + 40);
  const closed = await forValue(async () => {
    await mine(host);
    return hostView();
  }, (x) => x.state === 'settled', 120000, 'the host\'s close confirmed');
  t.equal(closed.spend!.type, 'settled');
  t.equal(closed.spend!.paid, closed.channel!.paid, 'closed with the last state it held');
  t.equal(storagePaid(closed), paid, 'which paid storage for the first interval only');
  t.notOk(fs.existsSync(data), 'the data is deleted');
  const info = await json<{ nonPayingRenters: Array<{ renter: string; count: number; height: number }> }>(
    host.cli(['getstorageinfo']));
  t.same(info.nonPayingRenters.map((r) => [r.renter, r.count]), [[await identity(renter), 1]], 'the renter is marked');
  t.ok(info.nonPayingRenters[0].height >= start + 40);
});
