// Reorgs over CloudCoin transactions, as a user meets them: a renter and
// two hosts as cloudcoind processes, and a fourth node that is stopped,
// mines a longer chain in isolation and comes back. For reorg depths 1 to
// 3, the orphaned blocks hold a commitment (a put), ratings by the renter
// and by a host, and a refund; nobody runs a recovery command: every tx is
// back in the mempools, reaches the node that never saw it, and confirms
// in the next block it mines; the contracts show `pending` in between and
// are active again after.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess, tempDir } from '../util/nodes-context';
import { forCloudPeers } from '../util/network';
import { forValue } from '../util/wait';

/** Deadline for waits that span a reorg or a relay (bcoin flushes invs every 5 s). */
const RELAY_MS = 120000;

interface PutResult {
  fileId: string;
  txids: string[];
  contracts: Array<{ id: string; host: string }>;
}

async function json<T>(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<T> {
  const r = await p;
  if (r.code !== 0)
    throw new Error(`cloudcoin-cli failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function call<T>(d: DaemonProcess, method: string, params: unknown[] = []): Promise<T> {
  return await d.client().call(method, params) as T;
}

async function mine(d: DaemonProcess, n: number): Promise<void> {
  const addr = await call<string>(d, 'getnewaddress');
  await call(d, 'generatetoaddress', [n, addr]);
}

async function tipOf(d: DaemonProcess): Promise<string> {
  return call<string>(d, 'getbestblockhash');
}

/** Wait until every node in `nodes` has `leader`'s tip and its index caught up. */
async function synced(leader: DaemonProcess, nodes: DaemonProcess[], what: string): Promise<void> {
  const tip = await tipOf(leader);
  for (const n of nodes)
    await forValue(() => tipOf(n), tip, RELAY_MS, `${what}: tip of ${n.addr}`);
}

async function stateOf(d: DaemonProcess, id: string): Promise<string> {
  try {
    return (await call<{ state: string }>(d, 'getcontract', [id])).state;
  } catch {
    return 'unknown';
  }
}

/** Wait until every tx of `txids` is in the mempool of `d`. */
async function inMempool(d: DaemonProcess, txids: string[]): Promise<void> {
  await forValue(async () => {
    const pool = new Set(await call<string[]>(d, 'getrawmempool'));
    return txids.filter(id => !pool.has(id));
  }, missing => missing.length === 0, RELAY_MS, `txs in the mempool of ${d.addr}`);
}

async function confirmations(d: DaemonProcess, txid: string): Promise<number> {
  try {
    const tx = await call<{ confirmations?: number }>(d, 'getrawtransaction', [txid, true]);
    return tx.confirmations ?? 0;
  } catch {
    return -1;
  }
}

t.test('every CloudCoin tx survives a reorg by itself', async (t) => {
  // The test sends its own ratings and checks them: the nodes publish none on their own.
  const renter = await DaemonProcess.create(['--rate', 'off']);
  const hosts = [await DaemonProcess.create(['--host', '--rate', 'off']), await DaemonProcess.create(['--host', '--rate', 'off'])];
  const miner = await DaemonProcess.create();
  const all = [renter, ...hosts, miner];
  const work = tempDir();
  t.teardown(async () => {
    for (const d of all) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });
  await renter.start();
  await Promise.all([...hosts, miner].map(d => d.start(['--connect', renter.addr])));
  // Each by its proven CloudStorage identity (the miner too: every cloudcoind has one), not a count of connections.
  await forCloudPeers(renter, [...hosts, miner], RELAY_MS, 'peers');
  // Segwit is active from height 432; hosts get coins to pay for ratings.
  await mine(renter, 440);
  // The wallet takes in mined blocks after the chain does, and counts a
  // coinbase spendable 100 blocks deep by its own height: wait for mature
  // coins (a balance is there blocks earlier, with nothing spendable yet).
  await forValue(async () => (await call<Array<{ amount: number }>>(renter, 'listunspent', [100]))
    .reduce((sum, c) => sum + c.amount, 0), (b) => b >= 3, RELAY_MS, 'the renter\'s mature coins');
  for (const h of hosts)
    await call(renter, 'sendtoaddress', [await call<string>(h, 'getnewaddress'), 1]);
  await mine(renter, 1);
  await synced(renter, all, 'funded');
  const identities = await Promise.all(hosts.map(async h => (await call<{ identity: string }>(h, 'getidentity')).identity));

  let files = 0;
  const put = async (extra: string[], duration = 21): Promise<PutResult> => {
    const file = path.join(work, `f${files++}.bin`);
    fs.writeFileSync(file, randomBytes(64 * 1024));
    // New contracts every time: each put's commitment is what the reorg moves.
    return json<PutResult>(renter.cli(['put', file, '--hosts', '2', '--duration', String(duration), '--new-contracts',
      '--json', ...extra]));
  };

  // Contracts whose escrows the renter's node refunds on its own at the
  // start of reorg depth 1, 2 and 3: each round mines depth + 2 blocks, so
  // their refund heights are 0, 3 and 7 blocks past the first round's tip
  // (refundHeight = start + duration + W). Longest last, so none holds
  // another's file.
  const height = await call<number>(renter, 'getblockcount');
  const refundOf = [
    (await put(['--no-wait'], 21)).contracts,
    (await put(['--no-wait'], 24)).contracts,
    (await put(['--no-wait'], 28)).contracts
  ];
  await mine(renter, height + 21 + 12 - await call<number>(renter, 'getblockcount'));
  await synced(renter, all, 'first contracts refundable');
  const rated = refundOf[0][1];
  const rater = hosts[identities.indexOf(rated.host)];
  t.ok(rater, 'the rated contract\'s host is one of ours');

  for (const depth of [1, 2, 3]) {
    await t.test(`should confirm every tx again after a reorg of depth ${depth}`, async (t) => {
      await miner.stop();
      // The orphan-to-be: a put, both parties' ratings and a refund.
      const committed = await put(['--no-wait']);
      const txids = [
        ...committed.txids,
        await call<string>(renter, 'sendrating', [rated.id, 10 * depth]),
        await call<string>(rater, 'sendrating', [rated.id, -10 * depth]),
        // The node's own refund, waiting in the mempool since this round's tip.
        await call<string>(renter, 'refundcontract', [refundOf[depth - 1][0].id])
      ];
      // The host's rating reaches the renter's mempool by relay.
      await inMempool(renter, txids);
      await mine(renter, depth);
      await synced(renter, [renter, ...hosts], 'orphan branch');
      for (const c of committed.contracts)
        await forValue(() => stateOf(renter, c.id), 'active', RELAY_MS, 'active before the reorg');

      // The stopped node mines a longer branch alone (its only peer does
      // not exist), then comes back.
      await miner.start(['--nolisten', '--connect', '127.0.0.1:1']);
      await mine(miner, depth + 1);
      await miner.stop();
      await miner.start();
      await call(renter, 'addnode', [miner.addr, 'onetry']);
      await synced(miner, [renter, ...hosts], 'reorg');
      for (const n of [renter, ...hosts]) {
        for (const c of committed.contracts)
          t.equal(await stateOf(n, c.id), 'pending', `contract pending again on ${n.addr}`);
      }

      // Nobody runs a command: the txs reach the miner, which never saw them.
      await inMempool(miner, txids);
      await mine(miner, 1);
      await synced(miner, all, 'next block');
      for (const n of [renter, ...hosts]) {
        for (const txid of txids)
          t.equal(await confirmations(n, txid), 1, `${txid} confirmed on ${n.addr}`);
        for (const c of committed.contracts)
          await forValue(() => stateOf(n, c.id), 'active', RELAY_MS, `active again on ${n.addr}`);
        t.equal(await stateOf(n, refundOf[depth - 1][0].id), 'refunded', 'refunded again');
        const info = await call<{ ratings: { renter: { score: number } | null; host: { score: number } | null } }>(
          n, 'getcontract', [rated.id]);
        t.equal(info.ratings.renter?.score, 10 * depth, 'renter\'s rating back');
        t.equal(info.ratings.host?.score, -10 * depth, 'host\'s rating back');
      }
    });
  }
});
