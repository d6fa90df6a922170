// kill -9 of the host's node during a stream of payments: the renter's node
// prepays one download token after another (each token's state is checked
// and fsynced by the host before it answers) while the host is killed at
// random moments, some of them between a state's arrival and its fsync,
// and restarted. The host must hold at least every state it acknowledged,
// decode every one it holds (never a torn record), and close with the
// latest: its close pays what that state says.
import t from 'tap';
import { json, mine, putMined, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import type { AuditsResult } from '../../lib/deals/auditview';

const KILLS = 4;
const DOWNLOAD_PRICE = 1_000_000;

interface HostContract {
  state: string;
  channel: { number: number; paid: number; prepaid: number } | null;
  spend: { type: string; paid: number } | null;
}

// Each kill restarts a daemon: minutes on a loaded machine.
t.setTimeout(15 * 60 * 1000);

t.test('a host killed while being paid keeps every state it acknowledged', async (t) => {
  // A download price that makes each token worth ~500 sat, so the states
  // pay well over a close's fee (a close that would cost more is refused).
  const { renter, hosts } = await startNetwork(t, [['--host-download-price', `${DOWNLOAD_PRICE}sat`]]);
  const [host] = hosts;
  const put = await putMined(t, renter, 512 * 1024, ['--duration', '60', '--max-price', `${DOWNLOAD_PRICE}sat`,
    '--allowance', '1000000sat']);
  const id = put.contracts[0].id;
  const info = await json<{ replicas: Array<{ hostKey: string; object: number }> }>(renter.cli(['getfile', put.fileId]));
  const { hostKey, object } = info.replicas[0];
  const hostView = () => json<HostContract>(host.cli(['getcontract', id]));
  // The highest state number the renter saw acknowledged (it is never signed again once acknowledged).
  let acked = 0;
  let ackedPaid = 0;
  const watchAcks = async () => {
    const a = await json<AuditsResult>(renter.cli(['getaudits', id]));
    if (a.payment?.acknowledged && a.payment.number > acked) {
      acked = a.payment.number;
      ackedPaid = a.payment.paid;
    }
  };

  // One prepaid token after another; a call the kill cuts fails and the next one goes on.
  let streaming = true;
  let tokens = 0;
  const stream = (async () => {
    while (streaming) {
      const r = await renter.cli(['getstoragetoken', hostKey, id, String(object)]);
      if (r.code === 0) {
        tokens++;
        await watchAcks();
      }
    }
  })();
  t.teardown(() => {
    streaming = false;
  });

  for (let kill = 0; kill < KILLS; kill++) {
    const before = tokens;
    await forValue(async () => tokens, (n) => n >= before + 2, 120000, `tokens paid before kill ${kill + 1}`);
    // A random moment within a payment's round trip (a few ms to a few hundred).
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
    const seen = acked;
    await host.stop('SIGKILL');
    await host.start(['--connect', renter.addr]);
    const h = await forValue(hostView, (x) => x.channel !== null, 60000, 'the host\'s stored state after the restart');
    t.ok(h.channel!.number >= seen, `kill ${kill + 1}: holds state ${h.channel!.number}, ${seen} was acknowledged`);
    t.ok(h.channel!.paid >= 0 && h.channel!.prepaid <= h.channel!.paid, 'a whole record: prepaid within paid');
    await forValue(async () => (await json<unknown[]>(renter.cli(['getcloudpeers']))).length, 1, 60000, 'the host back');
  }
  const more = tokens;
  await forValue(async () => tokens, (n) => n >= more + 2, 120000, 'payments go on after the last restart');
  streaming = false;
  await stream;
  await watchAcks();
  t.ok(tokens >= 2 * KILLS + 2, `${tokens} tokens paid in all`);

  // The host closes with its latest state, which is at least the latest acknowledged one.
  const last = (await hostView()).channel!;
  t.ok(last.number >= acked && last.paid >= ackedPaid, `closes with state ${last.number} (${last.paid} sat); `
    + `the renter saw ${acked} (${ackedPaid} sat) acknowledged`);
  const close = await host.cli(['closecontract', id]);
  t.equal(close.code, 0, close.stderr);
  const settled = await forValue(async () => {
    await mine(renter);
    return hostView();
  }, (x) => x.state === 'settled', 120000, 'the close confirmed');
  t.equal(settled.spend!.paid, last.paid, 'the close paid what the latest state says');
});
