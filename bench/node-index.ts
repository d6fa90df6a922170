/*!
 * node-index.ts - a real cloudcoind (regtest, leveldb datadir) holding N
 * indexed storage contracts: its RSS, and what indexing them costs per
 * block, against a node given the same chain without them, in the same run.
 *
 *   npm run build && npx tsx bench/node-index.ts [--contracts 10000] [--per-block 320] [--json]
 *
 * Node A commits the contracts (commitcontracts: fully signed contracts,
 * 16 per commitment, funded by its wallet) `per-block` at a time and mines
 * a block after each batch, so the index connects real blocks and stores
 * every contract's record. Node B, the baseline, gets the same number of
 * transactions per block with the same outputs (sendmany of 16 payments
 * of the escrow value each), so its chain differs only by the commitments.
 * Measured: the time to mine (build and connect) each of those blocks on
 * both nodes, and the RSS of both, live at the end and after a restart
 * (the index reopened over its leveldb; the contracts' records on disk).
 */

import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { RPCClient, cookiePath } from '../lib/cli/rpcclient';
import { LocalNet, LocalNode } from '../scripts/localnet';
import { testContract, signBoth } from '../test/data/contracts-fixtures';
import { forValue } from '../test/util/wait';
import { chainTemplate, seedNode } from './chain';
import { BenchReport, printReport, procMemory, stringFlag, timed } from './util';

/** Contracts per commitment (common.MAX_BATCH). */
const BATCH = 16;

interface Side {
  node: LocalNode;
  proc: ChildProcess;
  /** Seconds per mined block holding the batch. */
  blockSecs: number[];
}

/** JSON-RPC to a node in this process (a CLI process per call would cost more than the calls). */
function rpc(n: LocalNode): RPCClient {
  return new RPCClient({ host: '127.0.0.1', port: n.rpcPort, cookieFile: cookiePath(path.join(n.base, 'regtest')) });
}

/** Stops a node and starts it again on the same datadir; resolves with the new process once it is ready. */
async function restart(net: LocalNet, side: Side): Promise<ChildProcess> {
  const exited = new Promise((r) => side.proc.once('exit', r));
  side.proc.kill('SIGTERM');
  await exited;
  return net.daemon(side.node);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

async function main(): Promise<void> {
  const argv = process.argv;
  const total = Number(stringFlag(argv, 'contracts', '10000'));
  const perBlock = Number(stringFlag(argv, 'per-block', '320'));
  if (!Number.isSafeInteger(total) || total < BATCH || !Number.isSafeInteger(perBlock) || perBlock < BATCH || perBlock % BATCH !== 0)
    throw new Error(`--contracts must be at least ${BATCH} and --per-block a multiple of ${BATCH}`);
  const net = new LocalNet('cloudcoin-bench-index-');
  try {
    // Segwit and CSV active (commitments need them), and mature coins for
    // both: the pre-mined chain and its wallet (bench/chain.ts; A and B
    // never connect, so they may share its keys and coins).
    const chain = await chainTemplate(net);
    const a = await net.node('indexed');
    const b = await net.node('plain');
    const sides: Side[] = [];
    for (const n of [a, b])
      seedNode(chain, n, true);
    const procs = await Promise.all([a, b].map((n) => net.daemon(n)));
    for (const [i, n] of [a, b].entries())
      sides.push({ node: n, proc: procs[i], blockSecs: [] });
    const addrs = await Promise.all(sides.map(async (s) => (await net.cli(s.node, ['getnewaddress'])).trim()));
    const [ra, rb] = [rpc(a), rpc(b)];
    const escrow = 20000;
    let made = 0;
    let signSecs = 0;
    while (made < total) {
      const n = Math.min(perBlock, total - made);
      const height = Number(await ra.call('getblockcount'));
      const contracts: string[] = [];
      signSecs += await timed(() => {
        for (let i = 0; i < n; i++)
          contracts.push(signBoth(testContract(height + 1, { size: 1000 + made + i, escrowValue: escrow })).encode().toString('hex'));
      });
      // A: the commitments; B: as many txs with the same outputs, no commitment.
      await ra.call('commitcontracts', [contracts]);
      const payees: Record<string, number> = {};
      for (let j = 0; j < BATCH; j++)
        payees[String(await rb.call('getnewaddress'))] = escrow / 1e8;
      for (let i = 0; i < n; i += BATCH)
        await rb.call('sendmany', ['', payees]);
      for (const [k, s] of sides.entries())
        s.blockSecs.push(await timed(() => (k === 0 ? ra : rb).call('generatetoaddress', [1, addrs[k]])));
      made += n;
    }
    // The index follows the chain on its own: wait for it (with a
    // deadline) rather than read it once right after the last block.
    await forValue(async () => (await ra.call('listcontracts') as unknown[]).length, (n) => n >= total, 120_000,
      `node A to index the ${total} contracts committed`);
    const live = sides.map((s) => procMemory(s.proc.pid!, 'VmRSS'));
    // Both restart at once (each waits for a core as the other does, so
    // their times compare as they would one after the other).
    const restartSecs = await Promise.all(sides.map((s) => timed(async () => { s.proc = await restart(net, s); })));
    // Let startup work settle (peers, wallet rescan) before reading memory.
    await new Promise((r) => setTimeout(r, 3000));
    const reopened = sides.map((s) => procMemory(s.proc.pid!, 'VmRSS'));
    const mb = (x: number) => `${(x / 1e6).toFixed(0)} MB`;
    const [ia, ib] = [median(sides[0].blockSecs), median(sides[1].blockSecs)];
    const sa = sides[0].blockSecs.reduce((x, y) => x + y, 0);
    const sb = sides[1].blockSecs.reduce((x, y) => x + y, 0);
    const report: BenchReport = {
      bench: 'node-index',
      notes: [`two cloudcoind on regtest (leveldb datadirs); A commits ${total} signed contracts (${perBlock} per block, `
        + `${perBlock / BATCH} commitments of ${BATCH}), B gets the same count of sendmany txs with the same outputs; `
        + `signing the contracts in this process took ${signSecs.toFixed(1)} s (not counted)`],
      tables: [{
        title: `cloudcoind with ${total} indexed contracts vs the same chain without them`,
        columns: ['measure', `A: ${total} contracts`, 'B: no contracts', 'A / B'],
        rows: [
          ['mine + connect a block, median', `${(ia * 1000).toFixed(0)} ms`, `${(ib * 1000).toFixed(0)} ms`, (ia / ib).toFixed(2)],
          [`mine + connect all ${sides[0].blockSecs.length} blocks`, `${sa.toFixed(1)} s`, `${sb.toFixed(1)} s`, (sa / sb).toFixed(2)],
          ['RSS at the end (live)', mb(live[0]), mb(live[1]), (live[0] / live[1]).toFixed(2)],
          ['restart until ready', `${restartSecs[0].toFixed(1)} s`, `${restartSecs[1].toFixed(1)} s`, (restartSecs[0] / restartSecs[1]).toFixed(2)],
          ['RSS after a restart', mb(reopened[0]), mb(reopened[1]), (reopened[0] / reopened[1]).toFixed(2)]
        ]
      }],
      ratios: [
        { name: `cloudcoind RSS with ${total} indexed contracts (after a restart)`, value: reopened[0] / reopened[1], baseline: 'the same chain without them', lowerIsBetter: true },
        { name: `cloudcoind RSS with ${total} indexed contracts (live)`, value: live[0] / live[1], baseline: 'the same chain without them', lowerIsBetter: true },
        { name: `connect blocks of ${perBlock} contracts (real node)`, value: sa / sb, baseline: 'the same txs without commitments', lowerIsBetter: true }
      ]
    };
    printReport(report, argv);
  } finally {
    await net.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
