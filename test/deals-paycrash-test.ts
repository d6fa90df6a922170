// kill -9 of the renter's node around a payment: it is killed the moment
// its audit record appears (the state is being signed, stored or sent),
// restarted, and must end with the host holding exactly the state the
// renter stored, acknowledged, paying the formula: no money lost or
// double-counted on either side, whichever step the kill cut.
import t from 'tap';
import type { DaemonProcess } from './util/nodes-context';
import { height, json, mine, putMined, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { AuditsResult } from '../lib/deals/auditview';

const DURATION = 40;
const STORAGE_PRICE = 100_000_000;

interface HostContract {
  channel: { number: number; paid: number } | null;
}

t.test('a renter killed while paying pays once it is back', async (t) => {
  const { renter, hosts } = await startNetwork(t, [['--host-storage-price', `${STORAGE_PRICE}sat`]]);
  const [host] = hosts;
  const put = await putMined(t, renter, 1024 * 1024, ['--duration', String(DURATION), '--max-price', `${2 * STORAGE_PRICE}sat`]);
  const id = put.contracts[0].id;
  const start = (await json<AuditsResult>(renter.cli(['getaudits', id]))).startHeight;
  const hostView = () => json<HostContract>(host.cli(['getcontract', id]));
  const size = BigInt(put.objectSize);
  const GIB = 2n ** 30n;
  // E(start + 10n) less the 25% holdback, written out (upload 100 sat/GiB, rounded up).
  const expected = (n: number) => Math.floor(Number((100n * size + GIB - 1n) / GIB
    + BigInt(STORAGE_PRICE) * size * BigInt(10 * n) / (GIB * 1000n)) * 7500 / 10000);
  const audits = (d: DaemonProcess) => json<AuditsResult>(d.cli(['getaudits', id]));

  for (const k of [1, 2]) {
    const now = await height(renter);
    if (now < start + 10 * k)
      await mine(renter, start + 10 * k - now);
    // Poll without pause and kill at once: the payment follows the record within milliseconds.
    await forValue(async () => {
      const r = await renter.cli(['getaudits', id]);
      return r.code === 0 && (JSON.parse(r.stdout) as AuditsResult).audits.length >= k;
    }, true, 90000, `the audit of interval ${k - 1}`);
    await renter.stop('SIGKILL');
    await renter.start(['--connect', host.addr]);
    // Blocks bring the resend (it runs at every block).
    const a = await forValue(async () => {
      if (await height(host) < start + 10 * k + 5)
        await mine(host);
      return audits(renter);
    }, (x) => x.payment?.acknowledged === true && x.payment.intervals >= k, 120000, `state ${k} acknowledged after the restart`);
    const h = await hostView();
    t.equal(h.channel!.number, a.payment!.number, `interval ${k - 1}: the host holds the state the renter stored`);
    t.equal(h.channel!.paid, a.payment!.paid, 'paying the same amount');
    t.equal(a.payment!.paid - a.payment!.prepaid, expected(a.payment!.intervals), 'the formula, besides the reads prepaid');
  }
  const last = await audits(renter);
  t.same(last.audits.map((x) => x.outcome), ['passed', 'passed'], 'the kill cost no audit');
});
