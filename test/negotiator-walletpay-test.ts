// A server's payment txs put back into the mempool (walletpay.ts restore,
// PROTOCOL 2.5), on a real in-process regtest node: in the mempool again
// (pending), held by a block (confirmed), its input spent by a tx in the
// mempool or in the chain (double-spent: bcoin would keep it as an orphan),
// its parent unknown (unknown, not misread as a double spend), the
// outputs a payment spends, and the tx that spent its input (spender: in
// the mempool or in the chain), a copy of a legacy payment signed again
// found the same payment (samePayment). Real restarts and reorgs:
// test/slow/negotiator-paidstore-test.ts, test/slow/negotiator-payreorg-test.ts.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { identityScript, walletPayments } from '../lib/negotiator/walletpay';
import { NodesContext } from './util/nodes-context';
import { signAgain } from './util/malleate';
import { forValue, WAIT_TIMEOUT_MS } from './util/wait';

const network = bcoin.Network.get('regtest');
const FEE = 2000;
/** RPC byte order <-> bcoin's internal order. */
const rev = (hex: string): string => Buffer.from(hex, 'hex').reverse().toString('hex');

t.test('walletPayments restore and spends (real chain)', async (t) => {
  const ctx = await NodesContext.create([{ memory: true, extensions: [] }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const n = ctx.nodes[0];
  const { chain, mempool } = n.node;
  const wdb = n.node.wallet().wdb;
  await n.mine(440);

  const ring = bcoin.KeyRing.generate(true);
  ring.witness = true;
  const me = identityScript(ring.publicKey);
  const host = bcoin.KeyRing.generate(true).publicKey;
  const toHost = identityScript(host);
  const coins: bcoin.Coin[] = [];
  // The same key's legacy (P2PKH) address: coins whose spends can be malleated.
  const legacyRing = bcoin.KeyRing.fromPrivate(ring.privateKey, true);
  const legacy = bcoin.Script.fromAddress(legacyRing.getAddress('string', network));
  for (let i = 0; i < 4; i++) {
    const to = i < 3 ? me : legacy;
    const id = await n.rpc('sendtoaddress', [to.getAddress()?.toString(network), 0.001]) as string;
    // The wallet relays without waiting for the mempool (bcoin 1.0.2).
    const tx = await forValue(() => mempool.getTX(rev(id)), (v) => v !== null, WAIT_TIMEOUT_MS, 'the funding tx') as bcoin.TX;
    coins.push(bcoin.Coin.fromTX(tx, tx.outputs.findIndex((o) => o.script.toRaw().equals(to.toRaw())), -1));
  }
  await n.mine(1);
  const pay = (coin: bcoin.Coin, to: bcoin.Script, value: number): bcoin.TX => {
    const mtx = new bcoin.MTX();
    mtx.addCoin(coin);
    mtx.addOutput(to, value);
    mtx.addOutput(me, coin.value - value - FEE);
    mtx.sign(coin.script.isPubkeyhash() ? legacyRing : ring);
    return mtx.toTX();
  };
  const hooks = walletPayments({ network, chain, mempool, wdb, wallet: wdb.primary, identity: () => host });
  const restore = hooks.restore!;

  t.test('should put a payment back, then find it confirmed', async (t) => {
    const p = pay(coins[0], toHost, 1000);
    t.equal(await restore(p.toRaw()), 'pending');
    t.ok(mempool.hasEntry(p.hash('hex')), 'in the mempool');
    t.equal(await restore(p.toRaw()), 'pending', 'already there');
    await n.mine(1);
    t.equal(await restore(p.toRaw()), 'confirmed');
  });

  t.test('should find a payment whose input a mined tx spent double spent, not an orphan', async (t) => {
    const p = pay(coins[1], toHost, 1000);
    const d = pay(coins[1], me, 1000);
    await mempool.addTX(d);
    t.equal(await restore(p.toRaw()), 'double-spent', 'a mempool tx spends its input');
    t.same(await hooks.spender!(p.toRaw()), { data: d.toRaw(), confirmed: false }, 'that mempool tx');
    await n.mine(1);
    t.notOk(mempool.hasEntry(d.hash('hex')), 'the double spend mined');
    t.equal(await restore(p.toRaw()), 'double-spent', 'a tx in the chain spends its input');
    t.same(await hooks.spender!(p.toRaw()), { data: d.toRaw(), confirmed: true }, 'that tx of the chain');
    t.notOk(hooks.samePayment!(p.toRaw(), d.toRaw()), 'another payment: a double spend');
    t.notOk(mempool.hasOrphan(p.hash('hex')), 'not kept as an orphan');
    t.same(hooks.spends!(p.toRaw()), [`${rev(coins[1].hash)}:${coins[1].index}`], 'the output it spends');
  });

  t.test('should not take a payment whose parent it does not know for a double spend', async (t) => {
    const parent = pay(coins[2], me, 50000);
    const p = pay(bcoin.Coin.fromTX(parent, 1, -1), toHost, 1000);
    t.equal(await restore(p.toRaw()), 'unknown');
    t.ok(mempool.hasOrphan(p.hash('hex')), 'an orphan, waiting for its parent');
    await mempool.addTX(parent);
    t.ok(mempool.hasEntry(p.hash('hex')), 'in once its parent came');
  });

  t.test('should find the copy of a legacy payment signed again, in the mempool and the chain: the same payment', async (t) => {
    const p = pay(coins[3], toHost, 1000);
    const copy = signAgain(p, [coins[3]], legacyRing);
    t.not(copy.txid(), p.txid(), 'another txid');
    await mempool.addTX(copy);
    t.equal(await restore(p.toRaw()), 'double-spent', 'its input spent');
    t.same(await hooks.spender!(p.toRaw()), { data: copy.toRaw(), confirmed: false }, 'by the copy in the mempool');
    await n.mine(1);
    t.same(await hooks.spender!(p.toRaw()), { data: copy.toRaw(), confirmed: true }, 'by the copy in the chain');
    t.ok(hooks.samePayment!(p.toRaw(), copy.toRaw()), 'the same payment');
  });

  t.test('should refuse bytes that are no tx', async (t) => {
    t.equal(await restore(Buffer.from('no tx')), 'unknown');
    t.same(hooks.spends!(Buffer.from('no tx')), []);
  });
});
