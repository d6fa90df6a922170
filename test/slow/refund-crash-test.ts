// kill -9 of the renter's node in the middle of its own refunds: at each
// refund height it is killed as soon as it has built the refund (the
// refund is in its mempool: the wallet write may or may not have
// happened), then restarted. Whatever the kill cut, every escrow ends
// refunded once, no wallet tx is left unconfirmed outside the mempool (a
// second refund must not leave the first as a pending wallet tx for
// ever: its coins would count in the balance and could be spent), and no
// coin is locked.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { spawnCLI, tempDir } from '../util/nodes-context';
import { json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';

interface ContractJSON {
  id: string;
  role: string | null;
  contract: { refundHeight: number };
  commit: { txid: string; height: number | null } | null;
  spend: { type: string; txid: string } | null;
}
interface WalletTX { txid: string; confirmations: number }

t.setTimeout(30 * 60 * 1000);

t.test('a renter killed while refunding refunds once, and no wallet tx is left stuck', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[]]);
  const [host] = hosts;
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  // One contract per height, so each refund height is a kill of its own.
  const KILLS = 4;
  for (let i = 0; i < KILLS; i++) {
    const file = path.join(work, `f${i}`);
    fs.writeFileSync(file, randomBytes(3000));
    await json(renter.cli(['put', file, '--hosts', '1', '--duration', '21', '--new-contracts', '--max-price', '5000',
      '--no-wait', '--json']));
    await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0, 60000,
      'the commitment in the mempool');
    await mine(renter);
  }
  const ours = async () => (await json<ContractJSON[]>(renter.cli(['listcontracts'])))
    .filter((c) => c.role === 'renter' && c.commit?.height != null);
  const contracts = await ours();
  t.equal(contracts.length, KILLS, 'one contract per put');
  const height = async () => Number((await renter.cli(['getblockcount'])).stdout.trim());
  const mempool = async () => json<string[]>(renter.cli(['getrawmempool']));

  for (const c of contracts.sort((a, b) => a.contract.refundHeight - b.contract.refundHeight)) {
    const due = c.contract.refundHeight;
    const h0 = await height();
    if (due - 1 > h0)
      await mine(renter, due - 1 - h0);
    // Mine the block that makes the refund due; the node refunds at once.
    const addr = (await renter.cli(['getnewaddress'])).stdout.trim();
    const mining = spawnCLI(renter.cliArgs(['generatetoaddress', '1', addr]));
    await forValue(async () => (await renter.cli(['getblockcount'])).stdout.trim() === String(due)
      && (await mempool()).length > 0, true, 120000, `the refund of ${c.id.slice(0, 12)} in the mempool`);
    await renter.stop('SIGKILL');
    await mining.done;
    await renter.start();
    await json(host.cli(['addnode', renter.addr, 'onetry'])).catch(() => undefined);
  }
  await mine(renter, 2);
  const list = await ours();
  const refunded = list.filter((c) => c.spend?.type === 'refunded');
  t.equal(refunded.length, KILLS, 'every escrow refunded');
  const pool = new Set(await mempool());
  const txs = await json<WalletTX[]>(renter.cli(['listtransactions', '*', '100000']));
  const stuck = txs.filter((x) => x.confirmations === 0 && !pool.has(x.txid)).map((x) => x.txid);
  t.same(stuck, [], 'no wallet tx unconfirmed outside the mempool');
  t.same(await json<unknown[]>(renter.cli(['listlockunspent'])), [], 'no coin locked');
});
