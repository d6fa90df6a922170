/*!
 * node-wallettx-test.ts - the wallet's tx and balance RPCs answer as
 * bitcoind's (wallettxrpc.ts): gettransaction of a send, getbalance
 * without immature coinbase and with the wallet's own unconfirmed spends,
 * listunspent without immature coinbase, listtransactions' most recent
 * page with fees, listsinceblock with and without a block. One in-process
 * regtest node mining to its own wallet.
 */

import t, { type Test } from 'tap';
import bcoin = require('../lib/bcoin');
import { regtestReward } from './util/blocks';
import { NodesContext, type TestNode } from './util/nodes-context';

interface Entry {
  address?: string;
  category: string;
  amount: number;
  label?: string;
  vout: number;
  fee?: number;
  confirmations?: number;
  blockheight?: number;
  blockhash?: string;
  trusted?: boolean;
  txid?: string;
}
interface WalletTX extends Entry {
  details: Entry[];
  hex: string;
}

function sat(btc: unknown): number {
  return Math.round(Number(btc) * 1e8);
}

async function rejects(t: Test, n: TestNode, method: string, params: unknown[], code: number, message: RegExp): Promise<void> {
  const err = await n.rpc(method, params).then(() => null, (e: { code: number; message: string }) => e);
  t.equal(err?.code, code, `${method} ${JSON.stringify(params)}: code ${code} (${err?.message})`);
  t.match(err?.message, message);
}

t.test('wallet tx and balance RPCs as bitcoind', { timeout: 600_000 }, async (t) => {
  const ctx = await NodesContext.create([{ memory: true }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const n = ctx.nodes[0];
  await n.mine(440);
  const external = bcoin.KeyRing.generate().getAddress('string', 'regtest');
  let sent = '';
  let fee = 0;
  let selfSend = '';

  await t.test('getbalance, getbalances and listunspent leave out immature coinbase', async (t) => {
    // bitcoind values a coinbase once it is 101 deep: heights 1..340 of 440.
    let mature = 0;
    let immature = 0;
    for (let h = 1; h <= 440; h++) {
      if (h <= 340)
        mature += regtestReward(h);
      else
        immature += regtestReward(h);
    }
    t.equal(sat(await n.rpc('getbalance')), mature, 'getbalance: the 340 mature coinbases');
    t.equal(sat(await n.rpc('getbalance', ['*', 1])), mature, 'minconf 1: the same, nothing unconfirmed');
    const b = await n.rpc('getbalances') as { mine: Record<string, number>; lastprocessedblock: { height: number; hash: string } };
    t.same([sat(b.mine.trusted), sat(b.mine.untrusted_pending), sat(b.mine.immature)], [mature, 0, immature], 'getbalances');
    t.same(b.lastprocessedblock, { height: 440, hash: await n.rpc('getbestblockhash') });
    const info = await n.rpc('getwalletinfo') as Record<string, number>;
    t.same([sat(info.balance), sat(info.unconfirmed_balance), sat(info.immature_balance)], [mature, 0, immature],
      'getwalletinfo: balance, unconfirmed_balance, immature_balance');
    const coins = await n.rpc('listunspent') as Array<{ confirmations: number; amount: number }>;
    t.equal(coins.length, 340, 'listunspent: the mature coinbases only');
    t.ok(coins.every((c) => c.confirmations >= 101), 'none under 101 confirmations');
    t.equal(coins.reduce((s, c) => s + sat(c.amount), 0), mature);
  });

  await t.test('gettransaction of an unconfirmed send: amount, negative fee, details, hex', async (t) => {
    const before = sat(await n.rpc('getbalance'));
    sent = await n.rpc('sendtoaddress', [external, 1.5]) as string;
    const tx = await n.rpc('gettransaction', [sent]) as WalletTX;
    fee = -sat(tx.fee);
    t.equal(tx.amount, -1.5, 'amount: what was sent, negative');
    t.ok(fee > 0 && fee < 100000, `fee negative (${tx.fee})`);
    t.equal(tx.confirmations, 0);
    t.equal(tx.trusted, true, 'the wallet\'s own tx is trusted');
    t.equal(tx.txid, sent);
    t.equal(tx.details.length, 1, 'one send entry: change is no entry');
    t.match(tx.details[0], { address: external, category: 'send', amount: -1.5, fee: tx.fee });
    t.equal(bcoin.TX.fromRaw(tx.hex, 'hex').txid(), sent, 'hex is the tx');
    t.same(await n.rpc('gettransaction', [sent, true]), tx, 'include_watchonly true: the same');

    t.equal(sat(await n.rpc('getbalance')), before - 150_000_000 - fee, 'getbalance less the send and its fee, change counted');
    t.ok(sat(await n.rpc('getbalance', ['*', 1])) < before - 150_000_000 - fee, 'minconf 1: the unconfirmed change not counted');
    const b = await n.rpc('getbalances') as { mine: Record<string, number> };
    t.equal(sat(b.mine.trusted), before - 150_000_000 - fee, 'getbalances trusted = getbalance');
    t.equal(sat((await n.rpc('getwalletinfo') as Record<string, number>).balance), before - 150_000_000 - fee,
      'getwalletinfo balance = getbalance');
  });

  await t.test('listtransactions: the most recent entries, oldest first, sends with their fee', async (t) => {
    const [last] = await n.rpc('listtransactions', ['*', 1]) as Entry[];
    t.match(last, { txid: sent, category: 'send', amount: -1.5, address: external, confirmations: 0 }, 'the newest: the send');
    t.equal(sat(last.fee), -fee, 'with its negative fee');
    const page = await n.rpc('listtransactions', ['*', 3]) as Entry[];
    t.same(page.map((e) => [e.category, e.blockheight]), [['immature', 439], ['immature', 440], ['send', undefined]],
      'the 3 most recent, oldest first');
    const skipped = await n.rpc('listtransactions', ['*', 2, 1]) as Entry[];
    t.same(skipped.map((e) => e.blockheight), [439, 440], 'skip counts back from the newest');
    t.equal((await n.rpc('listtransactions') as Entry[]).length, 10, 'default count 10');
    const all = await n.rpc('listtransactions', ['*', 1000]) as Entry[];
    t.equal(all.length, 441, 'every coinbase and the send');
    t.equal(all[0].blockheight, 1, 'the oldest first');
    t.same(await n.rpc('listtransactions', ['*', 0]), [], 'count 0');
    await rejects(t, n, 'listtransactions', ['*', -1], -8, /^Negative count$/);
    await rejects(t, n, 'listtransactions', ['*', 1, -1], -8, /^Negative from$/);
  });

  await t.test('gettransaction of the confirmed send, and of coinbases', async (t) => {
    await n.mine(1);
    const tx = await n.rpc('gettransaction', [sent]) as WalletTX;
    t.match(tx, { amount: -1.5, confirmations: 1, blockheight: 441, blockhash: await n.rpc('getblockhash', [441]) });
    t.equal(sat(tx.fee), -fee, 'the same fee once confirmed');
    t.notOk('trusted' in tx, 'no trusted field once confirmed');
    t.equal((await n.rpc('gettransaction', [sent, true]) as WalletTX).confirmations, 1);

    const block1 = await n.rpc('getblock', [await n.rpc('getblockhash', [1])]) as { tx: string[] };
    const mature = await n.rpc('gettransaction', [block1.tx[0]]) as WalletTX;
    t.match(mature, { amount: 50, confirmations: 441, generated: true });
    t.notOk('fee' in mature, 'no fee on a received tx');
    t.match(mature.details, [{ category: 'generate', amount: 50, label: '', vout: 0 }]);
    const block441 = await n.rpc('getblock', [await n.rpc('getblockhash', [441])]) as { tx: string[] };
    const young = await n.rpc('gettransaction', [block441.tx[0]]) as WalletTX;
    t.equal(young.amount, 0, 'an immature coinbase is valued 0 until it matures (bitcoind\'s CachedTxGetCredit)');
    t.equal(young.details[0].category, 'immature');
    t.ok(young.details[0].amount > 12, 'its details show the amount');
    await rejects(t, n, 'gettransaction', ['11'.repeat(32)], -5, /^Invalid or non-wallet transaction id$/);
    await rejects(t, n, 'gettransaction', [], -1, /^wrong number of parameters \(0 given\); usage: gettransaction "txid"/);
    await rejects(t, n, 'gettransaction', ['zz'], -3, /^Position 1 \(txid\) must be a hex string\.$/);
    await rejects(t, n, 'getbalance', ['nosuch'], -8, /no account "nosuch"/);
    t.match(await n.rpc('help', ['getbalances']), /^getbalances\nThe wallet's balances/, 'help shows the usage and what it answers');
  });

  await t.test('listsinceblock: everything, since a block, and a bad hash', async (t) => {
    const tip = await n.rpc('getbestblockhash');
    const all = await n.rpc('listsinceblock') as { transactions: Entry[]; removed: Entry[]; lastblock: string };
    t.equal(all.transactions.length, 442, 'every coinbase and the send');
    t.equal(all.lastblock, tip, 'lastblock: the tip');
    t.same(all.removed, []);
    const since = await n.rpc('listsinceblock', [await n.rpc('getblockhash', [440])]) as { transactions: Entry[]; lastblock: string };
    t.same(since.transactions.map((e) => [e.category, e.blockheight]).sort(), [['immature', 441], ['send', 441]],
      'only block 441\'s: the send and its coinbase');
    t.equal(since.lastblock, tip);
    const deeper = await n.rpc('listsinceblock', [await n.rpc('getblockhash', [440]), 6]) as { lastblock: string };
    t.equal(deeper.lastblock, await n.rpc('getblockhash', [436]), 'target_confirmations 6: lastblock 6 deep');
    t.same((await n.rpc('listsinceblock', [tip]) as { transactions: Entry[] }).transactions, [], 'nothing since the tip');
    await rejects(t, n, 'listsinceblock', ['22'.repeat(32)], -5, /^Block not found$/);
    await rejects(t, n, 'listsinceblock', [tip, 0], -8, /^Invalid parameter$/);
  });

  await t.test('a send to the wallet itself: a send and a receive entry, amount 0 less nothing', async (t) => {
    const own = await n.address();
    const txid = await n.rpc('sendtoaddress', [own, 2]) as string;
    selfSend = txid;
    const tx = await n.rpc('gettransaction', [txid]) as WalletTX;
    t.equal(tx.amount, 0, 'bitcoind: credit - debit - fee = 0');
    t.ok(sat(tx.fee) < 0);
    t.same(tx.details.map((d) => [d.category, d.amount, d.label, d.address === own]), [['send', -2, '', true], ['receive', 2, '', true]]);
    const labelled = await n.rpc('listtransactions', ['', 1]) as Entry[];
    t.match(labelled, [{ category: 'receive', txid, amount: 2 }], 'a label: only its incoming entries');
  });

  await t.test('listsinceblock from a block a reorg left: from the fork, its wallet txs in removed', async (t) => {
    const fork = n.height;
    const forkEntry = await n.node.chain.getEntryByHeight(fork);
    const txid = await n.rpc('sendtoaddress', [external, 3]) as string;
    await n.mine(1);
    const left = await n.rpc('getbestblockhash') as string;
    t.equal((await n.rpc('gettransaction', [txid]) as WalletTX).blockhash, left, 'the send confirmed in the block to be left');
    // Two blocks on the fork point without the send: a longer chain.
    const chain = n.node.chain as unknown as { add(block: bcoin.Block): Promise<unknown> };
    const to = bcoin.Address.fromString(await n.address(), 'regtest');
    const y1 = await n.node.node.miner.mineBlock(forkEntry!, to);
    await chain.add(y1);
    const y1Entry = await n.node.chain.getEntry(y1.hash('hex'));
    await chain.add(await n.node.node.miner.mineBlock(y1Entry!, to));
    await n.node.waitWalletSynced();
    t.equal(n.height, fork + 2, 'reorganised onto the fork');

    const leftBlock = await n.rpc('getblock', [left]) as { tx: string[] };
    const since = await n.rpc('listsinceblock', [left]) as { transactions: Entry[]; removed: Entry[]; lastblock: string };
    // A coinbase's amount holds its block's fees too: not compared.
    t.same(since.removed.map((e) => `${e.txid} ${e.category} ${e.category === 'orphan' ? '' : e.amount}`).sort(),
      [`${leftBlock.tx[0]} orphan `,
      `${selfSend} receive 2`, `${selfSend} send -2`, `${txid} send -3`].sort(), 'the left block\'s wallet txs in removed, '
      + 'its coinbase an orphan');
    t.same(since.transactions.map((e) => `${e.category} ${e.confirmations}`).sort(),
      ['immature 1', 'immature 2', 'orphan 0', 'receive 0', 'send 0', 'send 0'],
      'since the fork point: the new blocks\' coinbases, and the left block\'s txs unconfirmed again');
    const b = await n.rpc('getbalances') as { mine: { immature: number } };
    const immature = (await n.rpc('listtransactions', ['*', 1000]) as Entry[]).filter((e) => e.category === 'immature');
    t.equal(immature.length, 100);
    t.equal(sat(b.mine.immature), immature.reduce((sum, e) => sum + sat(e.amount), 0),
      'immature balance: the 100 youngest coinbases, not the orphaned one (bitcoind: in the main chain only)');
    t.equal(since.lastblock, await n.rpc('getbestblockhash'));
    t.notOk('removed' in (await n.rpc('listsinceblock', [left, 1, false, false]) as object), 'include_removed false: no removed');
  });
});
