// Pay per passed audit, as a user runs it: a renter and a host as
// cloudcoind processes. The host is paid exactly the accrual formula after
// each audit (the holdback released by the final state), a renter that was
// offline for 3 intervals catches up with one state, and the host closes
// on its own at the end: its wallet grows by what the state paid less its
// fee. Prices are high so the amounts are well above dust on a 1 MiB file.
import t from 'tap';
import type { DaemonProcess } from './util/nodes-context';
import { height, json, mine, putMined, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { AuditsResult } from '../lib/deals/auditview';

const DURATION = 60;
const STORAGE_PRICE = 100_000_000;
const UPLOAD_PRICE = 100;
const GIB = 2n ** 30n;

interface HostContract {
  state: string;
  channel: { number: number; paid: number; final: boolean; prepaid: number } | null;
  spend: { type: string; txid: string; returned: number; paid: number; fee: number } | null;
  contract: { escrowValue: number };
}

async function balanceSat(d: DaemonProcess): Promise<number> {
  return Math.round(Number((await d.cli(['getbalance'])).stdout.trim()) * 1e8);
}

t.test('the host is paid the accrual formula after each passed audit', async (t) => {
  const { renter, hosts } = await startNetwork(t, [['--host-storage-price', `${STORAGE_PRICE}sat`]]);
  const [host] = hosts;
  const put = await putMined(t, renter, 1024 * 1024, ['--duration', String(DURATION), '--max-price', `${2 * STORAGE_PRICE}sat`]);
  const id = put.contracts[0].id;
  const size = BigInt(put.objectSize);
  const start = (await json<AuditsResult>(renter.cli(['getaudits', id]))).startHeight;

  // The formula, written out here rather than taken from lib/deals/accrual.ts.
  const upload = (BigInt(UPLOAD_PRICE) * size + GIB - 1n) / GIB;
  const earned = (blocks: number) => Number(upload + BigInt(STORAGE_PRICE) * size * BigInt(blocks) / (GIB * 1000n));
  const expected = (intervals: number, final: boolean) => {
    const payable = earned(Math.min(intervals * 10, DURATION));
    return final ? payable : Math.floor(payable * 7500 / 10000);
  };
  const hostView = () => json<HostContract>(host.cli(['getcontract', id]));
  // Audit reads are paid ahead (storage.token carries a state): at the default
  // 200 sat/GiB an audit's 16 x 4096 bytes cost 1 sat per attempt, recorded
  // as the host's prepaid; what the states pay for storage is the rest.
  const perAudit = Number((200n * 65536n + GIB - 1n) / GIB);
  const storagePaid = (x: HostContract) => (x.channel ? x.channel.paid - x.channel.prepaid : 0);
  const mineTo = async (h: number) => {
    const now = await height(renter);
    if (now < h)
      await mine(renter, h - now);
  };

  await t.test('should pay the first interval, less the holdback', async (t) => {
    await mineTo(start + 10);
    const c = await forValue(hostView, (x) => storagePaid(x) > 0, 90000, 'the first state paying storage on the host');
    t.ok(c.channel!.number >= 2, 'after the state prepaying the audit');
    t.equal(storagePaid(c), expected(1, false), `paid ${c.channel!.paid} - prepaid ${c.channel!.prepaid} = floor(E(start+10) x 0.75)`);
    t.ok(c.channel!.prepaid >= perAudit && c.channel!.prepaid % perAudit === 0, `the audit's reads prepaid: ${c.channel!.prepaid} sat`);
    t.ok(c.channel!.paid > 500, 'well above dust');
    t.equal(c.channel!.final, false);
  });

  await t.test('should catch up with one state after the renter was offline for 3 intervals', async (t) => {
    await renter.stop();
    // The host mines meanwhile: intervals 1, 2 and 3 end with nobody auditing.
    await mine(host, 30);
    await renter.start(['--connect', host.addr]);
    const a = await forValue(() => json<AuditsResult>(renter.cli(['getaudits', id])),
      (x) => x.audits.some((r) => r.interval === 3), 120000, 'the catch-up audit');
    t.same(a.audits.map((r) => [r.from, r.interval, r.outcome]), [[0, 0, 'passed'], [1, 3, 'passed']],
      'one audit covers intervals 1..3');
    const c = await forValue(hostView, (x) => storagePaid(x) > expected(1, false), 60000, 'the catch-up state');
    t.equal(storagePaid(c), expected(4, false), 'one state for the three intervals');
    const paid = await json<AuditsResult>(renter.cli(['getaudits', id]));
    t.equal(paid.payment!.intervals, 4, 'the renter paid intervals 0..3');
  });

  await t.test('should release the holdback at the end and close: the host gets the state less its fee', async (t) => {
    await mineTo(start + DURATION);
    const c = await forValue(hostView, (x) => x.channel?.final === true, 120000, 'the final state');
    t.equal(storagePaid(c), expected(6, true), 'every interval passed: holdback released');
    const prepaid = c.channel!.prepaid;
    t.ok(prepaid >= 3 * perAudit, `three audits' reads prepaid: ${prepaid} sat`);
    const before = await balanceSat(host);
    // The host closes on its own at the end height once it holds the final state.
    await forValue(async () => {
      await mine(renter);
      return (await hostView()).state;
    }, 'settled', 120000, 'the close confirmed');
    const after = await hostView();
    t.equal(after.spend!.type, 'settled');
    t.equal(after.spend!.paid, expected(6, true) + prepaid, 'paid to the host on chain: storage, uploads and the audits\' reads');
    t.equal(after.spend!.returned, after.contract.escrowValue - expected(6, true) - prepaid, 'the rest back to the renter');
    t.ok(after.spend!.fee > 0 && after.spend!.fee < 2000, `fee ${after.spend!.fee} sat`);
    t.equal(await balanceSat(host) - before, expected(6, true) + prepaid - after.spend!.fee, 'the host wallet grew by paid - fee');
  });
});
