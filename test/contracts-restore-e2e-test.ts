// Restoring from the seed, as a user would: the renter backs up its
// mnemonic (dumpmnemonic), stores a file on two hosts (one batch
// commitment), loses its datadir, restores into a new one with
// `cloudcoind --restore-mnemonic-file`, and finds its contracts again (the
// batch's records from the hosts, its escrow keys from the seed): every
// escrow is refunded on its own after the refund height and the balance
// is back, less the refund fees.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import bcoin = require('../lib/bcoin');
import { DaemonProcess, tempDir } from './util/nodes-context';
import { forValue } from './util/wait';
import { forCloudPeers } from './util/network';

const WAIT_MS = 120000;

async function call<T>(d: DaemonProcess, method: string, params: unknown[] = []): Promise<T> {
  return await d.client().call(method, params) as T;
}

async function mine(d: DaemonProcess, n: number): Promise<void> {
  await call(d, 'generatetoaddress', [n, await call<string>(d, 'getnewaddress')]);
}

/**
 * Every confirmed coin of the wallet, in sat: getbalance leaves immature
 * coinbase out, as bitcoind's, and the renter's coinbases mature while
 * the hosts mine towards the refund height.
 */
async function balance(d: DaemonProcess): Promise<number> {
  const { mine } = await call<{ mine: { immature: number } }>(d, 'getbalances');
  return Math.round(await call<number>(d, 'getbalance', ['*', 1]) * 1e8) + Math.round(mine.immature * 1e8);
}

async function stateOf(d: DaemonProcess, id: string): Promise<string> {
  try {
    return (await call<{ state: string }>(d, 'getcontract', [id])).state;
  } catch {
    return 'unknown';
  }
}

/** Wait until `txids` reached the mempool of `d` (bcoin sends invs every 5 s). */
async function relayed(d: DaemonProcess, txids: string[]): Promise<void> {
  await forValue(async () => {
    const pool = new Set(await call<string[]>(d, 'getrawmempool'));
    return txids.every(txid => pool.has(txid));
  }, true, WAIT_MS, `txs relayed to ${d.addr}`);
}

interface SpendJSON {
  type: string;
  txid: string;
  returned: number;
  fee: number;
}

interface ContractJSON {
  state: string;
  contract: { escrowValue: number; refundHeight: number };
  commit: { txid: string; count: number };
}

t.test('a wallet restored from its seed refunds every escrow', async (t) => {
  const renter = await DaemonProcess.create();
  const restored = await DaemonProcess.create();
  const hosts = [await DaemonProcess.create(['--host']), await DaemonProcess.create(['--host'])];
  const work = tempDir();
  t.teardown(async () => {
    for (const d of [renter, restored, ...hosts]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });
  await renter.start();
  await Promise.all(hosts.map(h => h.start(['--connect', renter.addr])));
  await forCloudPeers(renter, hosts, WAIT_MS, 'hosts');
  await mine(renter, 440);

  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(100 * 1024));
  const put = await renter.cli(['put', file, '--hosts', '2', '--duration', '21', '--no-wait', '--json']);
  t.equal(put.code, 0, put.stderr);
  const summary = JSON.parse(put.stdout) as { txids: string[]; contracts: Array<{ id: string }> };
  const ids = summary.contracts.map(c => c.id);
  t.equal(ids.length, 2);
  await relayed(hosts[0], summary.txids);
  await mine(hosts[0], 1);
  for (const id of ids)
    await forValue(() => stateOf(renter, id), 'active', WAIT_MS, 'active');
  const infos = await Promise.all(ids.map(id => call<ContractJSON>(renter, 'getcontract', [id])));
  t.equal(infos[0].commit.count, 2, 'one batch commitment for both hosts');
  const identity = await call<{ identity: string }>(renter, 'getidentity');
  const before = await balance(renter);

  const seed = path.join(work, 'seed.txt');
  t.same(await call(renter, 'dumpmnemonic', [seed]), { filename: seed });
  t.equal(fs.statSync(seed).mode & 0o777, 0o600, 'readable by its owner only');
  const again = await call(renter, 'dumpmnemonic', [seed]).catch((e: { rpcCode?: number }) => e);
  t.equal((again as { rpcCode?: number }).rpcCode, -8, 'never overwrites a file (bitcoind\'s dumpwallet: an invalid parameter)');

  // The renter's datadir is lost.
  await renter.stop();
  renter.cleanup();

  // --rate off: the balance check below counts the refunds' fees only.
  await restored.start(['--rate', 'off', '--restore-mnemonic-file', seed, '--connect', hosts[0].addr, '--connect', hosts[1].addr]);
  const tip = await call<number>(hosts[0], 'getblockcount');
  await forValue(() => call<number>(restored, 'getblockcount'), tip, WAIT_MS, 'restored node synced');
  t.same(await call(restored, 'getidentity'), identity, 'same identity from the seed');
  await forValue(() => balance(restored), before, WAIT_MS, 'coins found again by the rescan');
  for (const id of ids)
    await forValue(() => stateOf(restored, id), 'active', WAIT_MS, `contract ${id} found again`);

  // After the refund height, every escrow comes back with no command run:
  // the restored node refunds on its own (refunder.ts).
  const refundHeight = Math.max(...infos.map(i => i.contract.refundHeight));
  await mine(hosts[0], refundHeight - tip);
  await forValue(() => call<number>(restored, 'getblockcount'), (h) => h >= refundHeight, WAIT_MS, 'refund height');
  const refunded = async (): Promise<SpendJSON[]> => {
    const out: SpendJSON[] = [];
    for (const id of ids) {
      const info = await call<{ state: string; spend: SpendJSON | null }>(restored, 'getcontract', [id]);
      if (info.state === 'refunded' && info.spend)
        out.push(info.spend);
    }
    return out;
  };
  await forValue(async () => {
    if ((await refunded()).length < ids.length)
      await mine(hosts[0], 1);
    return (await refunded()).length;
  }, ids.length, WAIT_MS, 'every escrow refunded');
  let expected = before;
  for (const [i, spend] of (await refunded()).entries()) {
    t.ok(spend.fee > 0 && spend.fee < 1000, `refund fee ${spend.fee} sat`);
    t.equal(spend.returned, infos[i].contract.escrowValue - spend.fee, 'the escrow came back less its fee');
    expected += spend.returned;
  }
  const manual = await restored.cli(['refundcontract', ids[0]]);
  t.not(manual.code, 0);
  t.match(manual.stderr, /already refunded in [0-9a-f]{64} at height \d+/, 'refundcontract says it was refunded, and where');
  await forValue(() => balance(restored), expected, WAIT_MS, 'balance back, less the refund fees');

  // Another seed never replaces the wallet (the same one run again is a
  // retry: node-restore-retry-test).
  await restored.stop();
  const other = path.join(work, 'other.txt');
  fs.writeFileSync(other, `${new bcoin.Mnemonic().getPhrase()}\n`, { mode: 0o600 });
  await t.rejects(restored.start(['--restore-mnemonic-file', other]), /already has a wallet/);
});
