/*!
 * contracts-index.ts - what the contract index costs per block, and a
 * rescan (replay from scratch, as after a restore) of N blocks.
 *
 * Run: npx tsx bench/contracts-index.ts [--blocks 1000] [--commits 10] [--txs 50] [--json]
 *
 * Blocks come from an in-memory chain stub (test/util/stubchain.ts): each
 * holds `commits` commitments of 2 contracts (batch tree, escrows, the
 * OP_RETURN) and `txs` plain payments. The baseline, measured in the same
 * run over the same blocks, is the least any indexer pays: read each
 * block, hash every tx and look for a CloudCoin payload, with no database.
 * Printed: ms per block for both and their ratio, for connecting blocks one
 * by one (chain hooks) and for a rescan (a fresh index opened over the
 * chain replays it), and connecting the same chain without the
 * commitments (the comparison). The database is bdb in memory, as in tests.
 */

import bcoin = require('../lib/bcoin');
import { commitOutputs } from '../lib/contracts/builders';
import { findPayload } from '../lib/contracts/payload';
import { StubChain, fundTX } from '../test/util/stubchain';
import { testContract } from '../test/data/contracts-fixtures';
import { BenchReport, printReport, timed } from './util';

function flag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`--${name} must be a whole number`);
  return n;
}

/** The blocks: commitments of 2 contracts each, and plain payments. */
function makeBlocks(blocks: number, commits: number, txs: number): bcoin.TX[][] {
  const pay = bcoin.Script.fromProgram(0, Buffer.alloc(20, 7));
  const out: bcoin.TX[][] = [];
  let n = 0;
  for (let b = 0; b < blocks; b++) {
    const block: bcoin.TX[] = [];
    for (let c = 0; c < commits; c++) {
      // Unsigned fixtures: the index stores commits before any record.
      const pair = [testContract(1, { size: 1000 + n++ }), testContract(1, { size: 1000 + n++ })];
      block.push(fundTX(commitOutputs(pair)));
    }
    for (let i = 0; i < txs; i++)
      block.push(fundTX([new bcoin.Output({ script: pay, value: 10000 + i })]));
    out.push(block);
  }
  return out;
}

/** The floor: read, hash and scan every tx of every block. */
async function baseline(chain: StubChain): Promise<number> {
  let found = 0;
  for (let h = 1; h <= chain.height; h++) {
    const entry = await chain.getEntryByHeight(h);
    const block = await chain.getBlock(entry!.hash);
    for (const tx of block!.txs) {
      tx.hash();
      if (findPayload(tx))
        found++;
    }
  }
  return found;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const blocks = flag(argv, 'blocks', 1000);
  const commits = flag(argv, 'commits', 10);
  const txs = flag(argv, 'txs', 50);
  const data = makeBlocks(blocks, commits, txs);
  // The same chain without the commitments: the same payments only.
  const plain = data.map((b) => b.slice(commits));

  // Connect one block at a time, as the chain hooks do; the chain without
  // commitments first (its index stays empty).
  const empty = new StubChain();
  const emptyIndex = await empty.index();
  const connectPlain = await timed(async () => {
    for (const block of plain)
      await empty.connect(emptyIndex, block);
  });
  await emptyIndex.close();
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const chain = new StubChain();
  const index = await chain.index();
  const connect = await timed(async () => {
    for (const block of data)
      await chain.connect(index, block);
  });
  global.gc?.();
  const rss1 = process.memoryUsage().rss;
  const base = await timed(() => baseline(chain));
  await index.close();

  // Rescan: a fresh index over the same chain replays every block on open.
  let fresh: Awaited<ReturnType<StubChain['index']>> | null = null;
  const rescan = await timed(async () => { fresh = await chain.index(); });
  if (!fresh || (fresh as { tip: { height: number } }).tip.height !== chain.height)
    throw new Error('the rescan did not reach the tip');
  await (fresh as { close(): Promise<void> }).close();

  const per = (s: number) => `${(s * 1000 / blocks).toFixed(3)} ms`;
  const report: BenchReport = {
    bench: 'contracts-index',
    notes: [`${blocks} blocks, ${commits} commitments (2 contracts each: ${blocks * commits * 2} contracts) and ${txs} payments per block; `
      + `bdb in memory; RSS of this process grew ${((rss1 - rss0) / 1e6).toFixed(0)} MB while indexing them (database included)`],
    tables: [{
      title: 'contract index cost per block',
      columns: ['step', 'per block', 'x read/hash/scan', 'x chain without commitments'],
      rows: [
        ['baseline: read, hash, scan (no database)', per(base), '1.00', '-'],
        ['connect, chain without commitments', per(connectPlain), (connectPlain / base).toFixed(2), '1.00'],
        ['connect (chain hook)', per(connect), (connect / base).toFixed(2), (connect / connectPlain).toFixed(2)],
        ['rescan (open replays all)', per(rescan), (rescan / base).toFixed(2), (rescan / connectPlain).toFixed(2)]
      ]
    }],
    ratios: [
      { name: `connect ${blocks} blocks with ${blocks * commits} commitments`, value: connect / connectPlain, baseline: 'the same chain without them', lowerIsBetter: true },
      { name: 'rescan', value: rescan / base, baseline: 'read, hash, scan every block', lowerIsBetter: true }
    ]
  };
  printReport(report);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
