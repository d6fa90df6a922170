// A host's earnings, as an operator reads them: a renter and a host as
// cloudcoind processes, a real put, the chain mined to the end height, the
// renter's node auditing and paying on its own (the final state releases
// the holdback), the host's node closing on its own, and `cloudcoin-cli
// earnings` (table, --json, --csv) printing figures that equal the printed
// formula and reconcile with the close on chain and the host's wallet. A
// second host with --host-min-contract declines a contract below it.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { StorageContract } from '../lib/contracts/storagecontract';
import type { EarningsResult } from '../lib/cli/earningscmd';
import type { ContractMoney } from '../lib/contracts/contractqueries';
import type { PutResult } from '../lib/deals/renterclient';
import { tempDir, type DaemonProcess } from './util/nodes-context';
import { identity, json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';

const STORAGE_PRICE = 100000000; // sat per GiB per 1000 blocks: a 300 kB file earns visible sat in 30 blocks
const UPLOAD_PRICE = 1000000; // sat per GiB
const SIZE = 300 * 1000;

/** The formula of PROTOCOL 3.9, restated independently of lib/deals/accrual.ts to check it. */
function storageCost(bytes: number, blocks: number): number {
  return Number(BigInt(STORAGE_PRICE) * BigInt(bytes) * BigInt(blocks) / (2n ** 30n * 1000n));
}
function uploadCost(bytes: number): number {
  return Number((BigInt(UPLOAD_PRICE) * BigInt(bytes) + 2n ** 30n - 1n) / 2n ** 30n);
}

async function height(d: DaemonProcess): Promise<number> {
  return json<number>(d.cli(['getblockcount']));
}

type MoneyJSON = ContractMoney;

t.test('host earnings', async (t) => {
  const { renter, hosts } = await startNetwork(t, [
    ['--host-storage-price', `${STORAGE_PRICE}sat`, '--host-upload-price', `${UPLOAD_PRICE}sat`],
    ['--host-storage-price', `${2 * STORAGE_PRICE}sat`, '--host-upload-price', `${UPLOAD_PRICE}sat`,
      '--host-min-contract', '1btc']
  ]);
  const [host, picky] = hosts;
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(SIZE));

  await t.test('should decline a contract whose cost is below --host-min-contract, saying so', async (t) => {
    const info = await json<{ minContract: number }>(picky.cli(['getstorageinfo']));
    t.equal(info.minContract, 100000000);
    const pickyId = await identity(picky);
    const res = await json<{ offers: Array<{ host: string }>; declined: Array<{ host: string; reason: string }> }>(
      renter.cli(['negotiate-storage', '--size', String(SIZE), '--duration', '30', '--max-price', `${2 * STORAGE_PRICE}sat`,
        '--hosts', '2', '--json']));
    t.notOk(res.offers.some((o) => o.host === pickyId), 'no offer from the host whose minimum the contract misses');
    t.match(res.declined.find((d) => d.host === pickyId)?.reason, /below-min-contract/);
  });

  const put = await json<PutResult>(renter.cli(['put', file, '--duration', '30', '--max-price', `${STORAGE_PRICE}sat`,
    '--no-wait', '--json']));
  t.equal(put.contracts.length, 1);
  const id = put.contracts[0].id;
  await mine(renter);
  // The host may not know the contract until the block reaches it: "Contract not found" until then.
  const info = await forValue(async () => json<{ state: string; contract: Record<string, unknown> }>(
    host.cli(['getcontract', id])).catch(() => null), (i) => i?.state === 'active', 60000, 'active on the host');
  const contract = new StorageContract().fromJSON(info!.contract);
  const start = contract.startHeight;
  const end = contract.endHeight;
  const size = contract.size;
  t.ok(size >= SIZE, `the contract holds the file (${size} bytes with its tree)`);

  await t.test('should show what the revisions accrued so far, to the sat', async (t) => {
    const h = await height(host);
    const res = await json<EarningsResult>(host.cli(['earnings', '--json']));
    t.equal(res.height, h);
    t.equal(res.contracts.length, 1);
    const e = res.contracts[0];
    t.match(e, { id, state: 'active', startHeight: start, endHeight: end, height: h });
    t.equal(e.expected.uploads, uploadCost(size), 'uploads: ceil(price x bytes / 2^30)');
    t.equal(e.expected.storage, storageCost(size, h - start), 'storage: floor(price x bytes x blocks / (2^30 x 1000))');
    t.equal(e.expected.earned, e.expected.storage + e.expected.uploads);
    t.same(e.received, { signed: 0, stateNumber: -1, final: false, closeTxid: null, closeHeight: null, paid: 0,
      closeFee: 0, payout: 0 }, 'nothing signed or paid yet');
    const money = (await json<{ money: MoneyJSON }>(host.cli(['getcontract', id]))).money;
    t.same(money, { earned: e.expected.earned, signed: null, paidOut: 0, closeTxid: null, returned: 0, fees: 0,
      closeDeadline: contract.refundHeight - 6 });
    const renterMoney = (await json<{ money: MoneyJSON }>(renter.cli(['getcontract', id]))).money;
    t.equal(renterMoney.earned, e.expected.earned, 'the renter derives the same figure from the same revisions');
    t.equal(renterMoney.signed, null, 'no state signed by the renter yet');
    await t.rejects(json(renter.cli(['earnings', id, '--json'])), /not-host/, 'earnings are the host\'s');
  });

  let payout = 0;
  let closeTxid = '';
  await t.test('should close with the final state at end height and reconcile to the wallet', async (t) => {
    await mine(renter, end - await height(renter));
    await forValue(() => height(host), end, 60000, 'host at end height');
    const atEnd = (await json<EarningsResult>(host.cli(['earnings', id, '--json']))).contracts[0];
    const earned = storageCost(size, end - start) + uploadCost(size);
    t.equal(atEnd.expected.earned, earned + atEnd.expected.downloads, 'the whole contract: storage over every block, the upload '
      + 'and the audit reads prepaid');
    t.equal(atEnd.expected.heldBack, 0, 'every interval ended: nothing held back any more');
    t.equal(atEnd.expected.holdbackReleased, earned - Math.floor(earned * (10000 - contract.holdback) / 10000),
      'the holdback the final state releases');
    // Audit reads are prepaid in states of their own (storage.token): downloads.
    t.equal(atEnd.expected.due, earned + atEnd.expected.downloads, 'due: the whole contract and the reads prepaid');

    // The renter's node audits the last interval and pays the final state
    // (holdback released); the host's node closes with it at the next block.
    const before = await json<number>(host.cli(['getbalance']));
    // An audit that got no answer is retried at the next block: on a loaded
    // machine give it up to 3 more (the close deadline is 6 past the end).
    let extra = 0;
    let lastMine = Date.now();
    const channel = await forValue(async () => {
      const c = (await json<{ channel: { final: boolean; paid: number; number: number; prepaid: number } | null }>(
        host.cli(['getcontract', id]))).channel;
      if ((!c || !c.final) && extra < 3 && Date.now() - lastMine > 30000) {
        await mine(renter);
        extra += 1;
        lastMine = Date.now();
      }
      return c;
    }, (c) => c !== null && c.final, 180000, 'the final state on the host');
    const prepaid = channel!.prepaid;
    t.ok(prepaid >= 2, `each audit's reads prepaid: ${prepaid} sat`);
    t.equal(channel!.paid, earned + prepaid, 'the renter paid exactly the formula, and the reads ahead');
    const paid = earned + prepaid;
    await mine(renter);
    await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n >= 1, 60000,
      'the close reaches the renter');
    await mine(renter);
    const settled = await forValue(async () => json<{ state: string; spend: { txid: string; height: number; paid: number; fee: number; returned: number }; money: MoneyJSON }>(
      host.cli(['getcontract', id])), (i) => i.state === 'settled', 60000, 'settled on the host');
    closeTxid = settled.spend.txid;
    t.equal(settled.spend.paid, paid);
    t.equal(settled.spend.returned, contract.escrowValue - paid, 'the rest of the allowance back to the renter');
    t.ok(settled.spend.fee >= 100 && settled.spend.fee < 1000, `close fee ${settled.spend.fee} sat (at least 1 sat/vB)`);
    t.same(settled.money, { earned, signed: paid, paidOut: paid, closeTxid, returned: contract.escrowValue - paid,
      fees: settled.spend.fee, closeDeadline: contract.refundHeight - 6 });
    const renterSettled = await forValue(async () => json<{ state: string; money: MoneyJSON }>(renter.cli(['getcontract', id])),
      (i) => i.state === 'settled', 60000, 'settled on the renter');
    t.equal(renterSettled.money.signed, paid, 'the renter\'s node shows what its own latest state signed');

    const e = (await json<EarningsResult>(host.cli(['earnings', '--json']))).contracts[0];
    payout = paid - settled.spend.fee;
    t.equal(e.expected.downloads, prepaid, 'downloads: the reads prepaid');
    t.same(e.received, { signed: paid, stateNumber: channel!.number, final: true, closeTxid, closeHeight: settled.spend.height,
      paid, closeFee: settled.spend.fee, payout });
    t.equal(e.unsigned, 0);
    t.equal(e.unclosed, 0);
    const after = await forValue(async () => json<number>(host.cli(['getbalance'])),
      (b) => b !== before, 60000, 'the payout in the host wallet');
    t.equal(Math.round((after - before) * 1e8), payout, 'the wallet grew by what was earned less the close fee');
  });

  await t.test('should print a table with the formula, and CSV for bookkeeping', async (t) => {
    const table = await host.cli(['earnings']);
    t.equal(table.code, 0, table.stderr);
    t.match(table.stdout, /contract\s+state\s+storage\s+uploads\s+downloads\s+missed\s+held back\s+holdback released\s+expected\s+signed\s+closed\s+close fee\s+received/);
    t.match(table.stdout, /^total\s/m, 'a totals line');
    t.match(table.stdout, new RegExp(`received = paid \\d+ - close fee \\d+ = ${payout} sat`), 'the formula with the figures');
    const csv = await host.cli(['earnings', '--csv']);
    t.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\r\n');
    t.equal(lines[0], 'contract,state,storage,uploads,downloads,missed,held_back,holdback_released,expected,signed,closed,close_fee,received,close_txid');
    const res = await json<EarningsResult>(host.cli(['earnings', '--json']));
    const e = res.contracts[0];
    t.equal(lines[1], [id, 'settled', e.expected.storage, e.expected.uploads, e.expected.downloads, e.expected.missed, e.expected.heldBack,
      e.expected.holdbackReleased, e.expected.due, e.received.signed, e.received.paid, e.received.closeFee, payout,
      closeTxid].join(','));
    t.equal(lines[2].split(',')[0], 'total');
    t.equal(Number(lines[2].split(',')[12]), res.totals.payout);
    const both = await host.cli(['earnings', '--json', '--csv']);
    t.equal(both.code, 1);
    t.match(both.stderr, /give one of --json and --csv/);
    const unknown = await host.cli(['earnings', 'ffffffff']);
    t.equal(unknown.code, 1);
    t.match(unknown.stderr, /^error: .*\n$/, 'one line');
  });
});
