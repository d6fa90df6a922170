// Deferred payments settled by the ordinary wallet (PROTOCOL 2.5, 2.6) on
// real cloudcoind processes: a host prices market.prices at 400 sat with a
// 1000 sat credit limit; the renter's third call gets please-pay and pays
// what it owes plus the price by a wallet transaction the host takes into
// its mempool and that confirms to the host's identity address. A
// defer-limit 0 scope is paid at once; a caller's maximum is kept; bytes
// that are no transaction are `invalid` and scored 20.
import t from 'tap';
import { randomBytes } from 'crypto';
import bcoin = require('../lib/bcoin');
import { Identity } from '../lib/base/identity';
import { RequestPacket, ResponsePacket } from '../lib/negotiator/envelope';
import { RawPeer } from './util/rawpeer';
import { json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';

const network = bcoin.Network.get('regtest');

interface CallJSON {
  status: string;
  body: unknown;
  paid: number;
}

interface VoutJSON {
  value: number;
  scriptPubKey: { address?: string; addresses?: string[] };
}

/** sat paid to `address` by the tx `txid` in `node`'s mempool or chain. */
async function paidTo(node: { cli(a: string[]): Promise<{ code: number; stdout: string; stderr: string }> }, txid: string,
  address: string): Promise<number> {
  const tx = await json<{ vout: VoutJSON[] }>(node.cli(['getrawtransaction', txid, '1']));
  let sum = 0;
  for (const o of tx.vout) {
    if (o.scriptPubKey.address === address || o.scriptPubKey.addresses?.includes(address))
      sum += Math.round(o.value * 1e8);
  }
  return sum;
}

t.test('deferred payments settled by the wallet (real nodes)', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[
    '--defer-limit', '1000sat',
    '--policy', 'min-payment market.prices 400sat',
    '--policy', 'min-payment reputation.get 500sat',
    '--policy', 'defer-limit reputation 0'
  ]]);
  const host = hosts[0];
  const hostId = await json<{ identity: string; pubkey: string }>(host.cli(['getidentity']));
  const call = (service: string, method: string, args: string, max: string) =>
    json<CallJSON>(renter.cli(['cloudrequest', hostId.pubkey, service, method, args, max]));

  await t.test('should defer up to the limit, then settle what is owed by a wallet transaction', async (t) => {
    const before = new Set(await json<string[]>(host.cli(['getrawmempool'])));
    const rows: Array<[string, number]> = [['first call deferred', 400], ['second call deferred (800 owed)', 400],
      ['third call: please-pay 800, paid with the price', 1200]];
    for (const [name, paid] of rows) {
      const res = await call('market', 'prices', 'null', '400sat');
      t.equal(res.status, 'ok', name);
      t.equal(res.paid, paid, name);
    }
    const pool = await forValue(async () => (await json<string[]>(host.cli(['getrawmempool']))).filter((x) => !before.has(x)),
      (v) => v.length === 1, 30000, 'the payment in the host\'s mempool');
    t.equal(await paidTo(host, pool[0], hostId.identity), 1200, 'the tx pays the host\'s identity 1200 sat');
    await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).includes(pool[0]), true, 30000,
      'the host relayed it');
    await mine(renter, 1);
    const vout = (await json<{ vout: VoutJSON[] }>(host.cli(['getrawtransaction', pool[0], '1']))).vout
      .findIndex((o) => o.scriptPubKey.address === hostId.identity || o.scriptPubKey.addresses?.includes(hostId.identity));
    const coin = await forValue(async () => (await json<{ confirmations: number; value: number } | null>(
      host.cli(['gettxout', pool[0], String(vout)]))), (c) => (c?.confirmations ?? 0) >= 1, 30000, 'the payment confirmed');
    t.equal(Math.round((coin?.value ?? 0) * 1e8), 1200, 'an unspent 1200 sat output of the host\'s identity on chain');
    const again = await call('market', 'prices', 'null', '400sat');
    t.equal(again.paid, 400, 'the tab is clear: the next call is deferred again');
  });

  await t.test('should pay at once where the scope refuses deferral, within the caller\'s maximum', async (t) => {
    const poor = await call('reputation', 'get', JSON.stringify(hostId.pubkey), '400sat');
    t.equal(poor.status, 'request-declined/payment-declined/too-low', 'the price is above the maximum');
    t.same(poor.body, { amount: 500 });
    const paid = await call('reputation', 'get', JSON.stringify(hostId.pubkey), '500sat');
    t.equal(paid.status, 'ok', 'no-defer, then a wallet transaction of 500 sat');
    t.equal(paid.paid, 500);
  });

  await t.test('should answer payment bytes that are no transaction invalid and score the sender 20', async (t) => {
    const port = Number(host.addr.split(':')[1]);
    const local = '127.0.8.21';
    const peer = await RawPeer.connect({ port, localAddress: local });
    t.teardown(() => peer.close());
    const me = Identity.generate(network);
    const nodeKey = await peer.authenticate(me);
    const send = (nonce: Buffer, data: Buffer): void => {
      const r = new RequestPacket();
      Object.assign(r, { to: nodeKey, nonce, service: 'market', method: 'prices', args: Buffer.alloc(0) });
      r.payment.type = 1;
      r.payment.amount = 400;
      r.payment.data = data;
      peer.write('csreq', r.sign(me, network.magic).encode());
    };
    send(randomBytes(16), randomBytes(40));
    const nonce = ResponsePacket.decode((await peer.next('csres'))!.data!).nextNonce;
    const before = peer.received.length;
    send(nonce, randomBytes(40));
    const res = ResponsePacket.decode((await peer.next('csres', before))!.data!);
    t.equal(res.status, 'request-declined/payment-declined/invalid');
    const score = await forValue(async () => (await host.client().call('getpeerinfo') as Array<{ addr: string; banscore: number }>)
      .find((p) => p.addr.startsWith(local + ':'))?.banscore ?? -1, 20, 15000, 'ban score');
    t.equal(score, 20);
  });
});
