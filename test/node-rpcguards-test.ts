/*!
 * node-rpcguards-test.ts - bcoin 1.0.2's wallet and node RPCs given bad
 * input answer bitcoind's code in one line (walletguards.ts,
 * nodeguards.ts): no internal error, no hang, no state changed by a
 * refused call. Found by calling every method `help` lists with wrong
 * arity, types, sizes and paths.
 */

import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { NodesContext, tempDir, type TestNode } from './util/nodes-context';
import { stretched } from './util/wait';
import { rpcCodes } from '../lib/base/errors';
import { answerBody } from '../lib/node/rpcserver';
import bcoin = require('../lib/bcoin');

interface Answer { code: number | null; message: string; result: unknown }

/** Call in-process with a deadline: a hang is a failure, not a stuck test. */
async function call(node: TestNode, method: string, params: unknown[]): Promise<Answer> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${method} did not answer`)), stretched(20000));
  });
  try {
    const res = await Promise.race([node.node.node.rpc.call({ method, params }, {}), deadline]);
    return { code: res.error ? res.error.code : null, message: res.error ? res.error.message : '', result: res.result };
  } finally {
    clearTimeout(timer);
  }
}

t.test('a batch lets the event loop run between its requests', async (t) => {
  // Requests that answer in microtasks only, as most methods do.
  let loopRan = false;
  setImmediate(() => {
    loopRan = true;
  });
  const seen: boolean[] = [];
  const res = await answerBody([{ method: 'a', id: 0 }, { method: 'a', id: 1 }], async (r) => {
    seen.push(loopRan);
    return { result: null, error: null, id: r.id };
  });
  t.equal(res.status, 200);
  t.same(seen, [true, true], 'the event loop ran before each request');
});

t.test('bcoin RPCs given bad input', async (t) => {
  const ctx = await NodesContext.create([{ memory: true }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const node = ctx.nodes[0];
  await node.mine(110);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const addr = await node.address();
  const internal: string[] = [];
  node.node.node.rpc.on('error', (e: Error) => internal.push(e.message));

  await t.test('should answer bitcoind\'s codes, never an internal error', async (t) => {
    const fifo = path.join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const longWIF = 'a'.repeat(20000);
    // [method, params, code, message]
    const table: Array<[string, unknown[], number, RegExp]> = [
      ['settxfee', [1], rpcCodes.INVALID_PARAMETER, /^txfee cannot be more than wallet max tx fee \(0\.10000000 BTC\/kvB\)$/],
      ['settxfee', [21000001], rpcCodes.TYPE_ERROR, /^Invalid amount/],
      ['settxfee', [1e-9], rpcCodes.TYPE_ERROR, /^Invalid amount \(at most 8 decimals/],
      ['settxfee', [0.000001], rpcCodes.INVALID_PARAMETER, /^txfee cannot be less than min relay tx fee/],
      ['settxfee', [-1], rpcCodes.TYPE_ERROR, /^Invalid amount/],
      ['settxfee', ['x'], rpcCodes.TYPE_ERROR, /^Invalid amount/],
      ['importprivkey', [longWIF], rpcCodes.INVALID_ADDRESS_OR_KEY, /^Invalid private key encoding$/],
      ['signmessagewithprivkey', [longWIF, 'm'], rpcCodes.INVALID_ADDRESS_OR_KEY, /^Invalid private key$/],
      ['signrawtransaction', ['00', [], [longWIF]], rpcCodes.INVALID_ADDRESS_OR_KEY, /^Invalid private key encoding$/],
      ['importwallet', [fifo], rpcCodes.INVALID_PARAMETER, /not a regular file$/],
      ['importwallet', [work], rpcCodes.INVALID_PARAMETER, /not a regular file$/],
      ['importwallet', [path.join(work, 'none')], rpcCodes.INVALID_PARAMETER, /^Cannot open wallet dump file .*: ENOENT$/],
      ['importwallet', ['/etc/hostname', 'x'], rpcCodes.TYPE_ERROR, /^Position 2 \(rescan\) must be a boolean\.$/],
      ['importwallet', [null], rpcCodes.TYPE_ERROR, /^Position 1 \(filename\) must be a non-empty string\.$/],
      ['lockunspent', ['x'], rpcCodes.TYPE_ERROR, /^Position 1 \(unlock\) must be a boolean\.$/],
      ['lockunspent', [false, [{ txid: 'aa'.repeat(32), vout: 0 }]], rpcCodes.INVALID_PARAMETER, /^Invalid parameter, unknown transaction$/],
      ['lockunspent', [false, [{ txid: 'zz', vout: 0 }]], rpcCodes.INVALID_PARAMETER, /txid must be 64 hex digits/],
      ['lockunspent', [false, [{ txid: 'aa'.repeat(32) }]], rpcCodes.INVALID_PARAMETER, /vout must be a whole number/],
      ['getbalance', ['a'.repeat(300)], rpcCodes.INVALID_PARAMETER, /^dummy must be "\*" or left out \(or a bcoin account name: no account "a/],
      ['getnewaddress', ['nosuch'], rpcCodes.WALLET_INVALID_ACCOUNT_NAME, /^No account "nosuch"/],
      ['getnewaddress', [5], rpcCodes.TYPE_ERROR, /^Position 1 \(account\) must be a string\.$/],
      ['getaccountaddress', ['a'.repeat(300)], rpcCodes.WALLET_INVALID_ACCOUNT_NAME, /^No account/],
      ['getaddressesbyaccount', ['nosuch'], rpcCodes.WALLET_INVALID_ACCOUNT_NAME, /^No account/],
      ['getreceivedbyaccount', ['nosuch'], rpcCodes.WALLET_INVALID_ACCOUNT_NAME, /^No account/],
      ['sendfrom', ['nosuch', addr, 1], rpcCodes.WALLET_INVALID_ACCOUNT_NAME, /^No account/],
      ['sendmany', ['nosuch', { [addr]: 1 }], rpcCodes.WALLET_INVALID_ACCOUNT_NAME, /^No account/],
      ['sendmany', ['', {}], rpcCodes.INVALID_PARAMETER, /^Transaction must have at least one recipient$/],
      ['abandontransaction', ['aa'.repeat(32)], rpcCodes.INVALID_ADDRESS_OR_KEY, /^Invalid or non-wallet transaction id$/],
      ['importpubkey', ['02' + '00'.repeat(32)], rpcCodes.INVALID_ADDRESS_OR_KEY, /^Pubkey is not a valid public key$/],
      ['selectwallet', [null], rpcCodes.TYPE_ERROR, /^Position 1 \(id\) must be a string\.$/],
      ['selectwallet', ['a'.repeat(300)], rpcCodes.WALLET_ERROR, /^Wallet not found\.$/],
      ['estimatesmartfee', [1000], rpcCodes.INVALID_PARAMETER, /^Invalid nblocks, must be between 0 and 15/],
      ['estimatefee', [16], rpcCodes.INVALID_PARAMETER, /^Invalid nblocks/],
      ['invalidateblock', ['aa'.repeat(32)], rpcCodes.INVALID_ADDRESS_OR_KEY, /^Block not found$/],
      ['createrawtransaction', [[], { [addr]: 1 }], rpcCodes.INVALID_PARAMETER, /needs at least one input/],
      ['sendtoaddress', [addr, 0.00001, '', '', true], rpcCodes.WALLET_ERROR, /^The transaction amount is too small to pay the fee$/],
      ['setloglevel', ['bogus'], rpcCodes.INVALID_PARAMETER, /^Position 1 \(level\) must be one of none, error/],
      ['submitblock', [null], rpcCodes.DESERIALIZATION_ERROR, /^Block decode failed$/],
      ['getworklp', ['x'], rpcCodes.MISC_ERROR, /^wrong number of parameters \(1 given\); usage: getworklp$/],
      ['stop', ['x'], rpcCodes.MISC_ERROR, /^wrong number of parameters \(1 given\); usage: stop$/],
      ['move', ['', 'b', 1], rpcCodes.METHOD_NOT_FOUND, /./],
      ['setaccount', [addr, 'x'], rpcCodes.METHOD_NOT_FOUND, /./],
      ['listaddressgroupings', [], rpcCodes.METHOD_NOT_FOUND, /./],
      ['addmultisigaddress', [1, [addr]], rpcCodes.METHOD_NOT_FOUND, /./],
      ['addwitnessaddress', [addr], rpcCodes.METHOD_NOT_FOUND, /./]
    ];
    for (const [method, params, code, message] of table) {
      const what = `${method} ${JSON.stringify(params).slice(0, 60)}`;
      const res = await call(node, method, params);
      t.equal(res.code, code, `${what}: code`);
      t.match(res.message, message, `${what}: message`);
      t.notOk(res.message.includes('\n'), `${what}: one line`);
    }
    t.same(internal, [], 'no internal error (-32603) logged');
    const help = String((await call(node, 'help', [])).result);
    t.notMatch(help, /^(move|setaccount|listaddressgroupings|addmultisigaddress|addwitnessaddress) /m, 'help lists no unimplemented method');
  });

  await t.test('should keep the fee rate a refused settxfee did not set', async (t) => {
    t.equal((await call(node, 'settxfee', [0.0002])).result, true);
    t.equal((await call(node, 'settxfee', [1])).code, rpcCodes.INVALID_PARAMETER);
    const info = (await call(node, 'getwalletinfo', [])).result as { paytxfee: number };
    t.equal(info.paytxfee, 0.0002, 'the rate set before stays');
    t.equal((await call(node, 'settxfee', [0])).result, true, '0 (estimate) is taken');
  });

  await t.test('should lock and unlock only the wallet\'s unspent coins, and unlock all with true', async (t) => {
    const coins = (await call(node, 'listunspent', [])).result as Array<{ txid: string; vout: number }>;
    const [a, b] = coins;
    const lock = (unlock: boolean, outs: Array<{ txid: string; vout: number }>) =>
      call(node, 'lockunspent', [unlock, outs.map((c) => ({ txid: c.txid, vout: c.vout }))]);
    t.equal((await lock(false, [a, b])).result, true);
    t.equal((await lock(false, [a])).message, 'Invalid parameter, output already locked');
    t.equal((await call(node, 'lockunspent', [false, [{ txid: a.txid, vout: 99 }]])).message,
      'Invalid parameter, vout index out of bounds');
    const listed = () => call(node, 'listlockunspent', []).then((r) => (r.result as unknown[]).length);
    t.equal(await listed(), 2);
    // A list with one bad entry changes nothing, as bitcoind checks all first.
    t.equal((await call(node, 'lockunspent', [true, [{ txid: a.txid, vout: a.vout }, { txid: 'aa'.repeat(32), vout: 0 }]])).code,
      rpcCodes.INVALID_PARAMETER);
    t.equal(await listed(), 2, 'nothing unlocked by a refused list');
    const all = await call(node, 'lockunspent', [true]);
    t.equal(all.code, null, all.message);
    t.equal(await listed(), 0, 'lockunspent true unlocks every coin');
    t.equal((await lock(true, [a])).message, 'Invalid parameter, expected locked output');
  });

  await t.test('should take setmocktime 0 as the system clock, as bitcoind', async (t) => {
    t.equal((await call(node, 'setmocktime', [1000000000])).code, null);
    t.equal(node.node.network.now(), 1000000000, 'mocked');
    t.equal((await call(node, 'setmocktime', [0])).code, null);
    t.ok(Math.abs(node.node.network.now() - Date.now() / 1000) < 5, `back to the clock (${node.node.network.now()})`);
  });

  await t.test('should say what the mempool did with a raw tx, and refuse an absurd fee', async (t) => {
    const [coin] = (await call(node, 'listunspent', [])).result as Array<{ txid: string; vout: number; amount: number }>;
    const raw = async (fee: number) => String((await call(node, 'createrawtransaction',
      [[{ txid: coin.txid, vout: coin.vout }], { [addr]: coin.amount - fee }])).result);
    const absurd = await call(node, 'sendrawtransaction', [await raw(1)]);
    t.equal(absurd.code, rpcCodes.VERIFY_REJECTED);
    t.match(absurd.message, /^max-fee-exceeded: fee 1 BTC/);
    // Unsigned: the mempool refuses it, and the caller is told.
    const unsigned = await call(node, 'sendrawtransaction', [await raw(0.0001)]);
    t.equal(unsigned.code, rpcCodes.VERIFY_REJECTED, unsigned.message);
    const allowed = await call(node, 'sendrawtransaction', [await raw(1), true]);
    t.equal(allowed.code, rpcCodes.VERIFY_REJECTED, `allowhighfees passes the fee check only: ${allowed.message}`);
    t.notMatch(allowed.message, /max-fee-exceeded/);
    const funded = await call(node, 'fundrawtransaction', [await raw(0.0001)]);
    t.equal(funded.code, rpcCodes.WALLET_ERROR);
    t.match(funded.message, /^Cannot fund a transaction that has inputs/);
    const missing = await call(node, 'sendrawtransaction', [String((await call(node, 'createrawtransaction',
      [[{ txid: 'aa'.repeat(32), vout: 0 }], { [addr]: 1 }])).result)]);
    t.equal(missing.code, rpcCodes.VERIFY_ERROR);
    t.equal(missing.message, 'bad-txns-inputs-missingorspent');
    t.equal((await call(node, 'sendrawtransaction', ['zz'])).code, rpcCodes.DESERIALIZATION_ERROR);
    t.same((await call(node, 'getrawmempool', [])).result, [], 'nothing entered the mempool');
  });

  await t.test('should import a dump holding keys the wallet has, and a key twice', async (t) => {
    const dump = path.join(work, 'dump.txt');
    t.equal((await call(node, 'dumpwallet', [dump])).code, null);
    const res = await call(node, 'importwallet', [dump, false]);
    t.equal(res.code, null, res.message);
    const wif = String((await call(node, 'dumpprivkey', [addr])).result);
    t.equal((await call(node, 'importprivkey', [wif])).code, null, 'a key the wallet has: no-op, as bitcoind');
    const other = path.join(work, 'other.txt');
    // A key from elsewhere, in a dump with a comment and a blank line.
    const ring = bcoin.KeyRing.generate(true);
    const secret = (ring as unknown as { toSecret(network: string): string }).toSecret('regtest');
    const theirs = ring.getAddress('string', 'regtest');
    fs.writeFileSync(other, `# wallet dump\n\n${secret} 2020-01-01T00:00:00Z label= # addr=${theirs}\n`);
    t.equal((await call(node, 'dumpprivkey', [theirs])).code, rpcCodes.MISC_ERROR, 'not in the wallet before');
    const imported = await call(node, 'importwallet', [other, true]);
    t.equal(imported.code, null, imported.message);
    t.equal((await call(node, 'dumpprivkey', [theirs])).result, secret, 'imported, with rescan');
    t.equal((await call(node, 'importwallet', [other])).code, null, 'the same dump again: no-op');
  });
});
