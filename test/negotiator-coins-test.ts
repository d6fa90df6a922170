// Coin credentials (lib/negotiator/coins.ts, PROTOCOL 2.11): proofs bound
// to one request, checked against the UTXO set; `min-coins` policies; the
// csreqc packet; and on regtest nodes a client with --coin-proofs passes a
// min-coins policy with its mined coins while one without is told what to
// prove, and coins not deep enough do not count.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import * as negotiator from '../lib/negotiator';
import { coinNeedBody, coinsCover, readCoinNeed, signProof, verifyProofs, type CoinView } from '../lib/negotiator/coins';
import { CoinRequestPacket, RequestPacket, COIN_REQUEST_CMD } from '../lib/negotiator/envelope';
import { decode } from '../lib/negotiator/packets';
import { Policy, parseRule, parseRuleJSON } from '../lib/negotiator/policy';
import { Identity } from '../lib/base/identity';
import { NodesContext } from './util/nodes-context';
import { forValue } from './util/wait';

const network = bcoin.Network.get('regtest');
const magic = network.magic;

t.test('coin proofs', async (t) => {
  const client = Identity.generate(network);
  const server = Identity.generate(network).publicKey;
  const nonce = Buffer.alloc(16, 7);
  const coinKey = bcoin.KeyRing.generate();
  coinKey.witness = true;
  const txid = Buffer.alloc(32, 9);
  const proof = signProof(magic, client.publicKey, server, nonce, txid, 1, coinKey.privateKey);
  const utxo: CoinView = async (hash, index) => (hash.equals(txid) && index === 1
    ? { value: 150_000_000, height: 10, script: coinKey.getProgram() } : null);

  t.test('should count a coin whose proof is bound to this request and unspent in the UTXO set', async (t) => {
    t.same(await verifyProofs([proof], magic, client.publicKey, server, nonce, utxo, 12), [{ value: 150_000_000, age: 3 }]);
    t.same(await verifyProofs([proof, proof], magic, client.publicKey, server, nonce, utxo, 12), [{ value: 150_000_000, age: 3 }],
      'the same coin twice counts once');
  });

  t.test('should not count a proof for another request, network, client or server, nor a spent or unconfirmed coin', async (t) => {
    const none = async (...a: Parameters<typeof verifyProofs>) => t.same(await verifyProofs(...a), []);
    await none([proof], magic, client.publicKey, server, Buffer.alloc(16, 8), utxo, 12);
    await none([proof], bcoin.Network.get('main').magic, client.publicKey, server, nonce, utxo, 12);
    await none([proof], magic, Identity.generate(network).publicKey, server, nonce, utxo, 12);
    await none([proof], magic, client.publicKey, client.publicKey, nonce, utxo, 12);
    await none([proof], magic, client.publicKey, server, nonce, async () => null, 12);
    await none([proof], magic, client.publicKey, server, nonce, async () => ({ value: 1, height: 20, script: coinKey.getProgram() }), 12);
    const other = bcoin.KeyRing.generate();
    other.witness = true;
    await none([proof], magic, client.publicKey, server, nonce, async () => ({ value: 1, height: 1, script: other.getProgram() }), 12);
  });

  t.test('should add up coins deep enough', async (t) => {
    const coins = [{ value: 60, age: 5 }, { value: 50, age: 1 }];
    t.equal(coinsCover(coins, 110, 1), true);
    t.equal(coinsCover(coins, 110, 2), false);
    t.equal(coinsCover(coins, 60, 5), true);
    t.same(readCoinNeed(coinNeedBody({ amount: 100_000_000, age: 6 })), { amount: 100_000_000, age: 6 });
    t.throws(() => readCoinNeed(Buffer.alloc(11)), { code: 'truncated' });
  });

  t.test('should carry proofs in a csreqc whose signature covers them', async (t) => {
    const req = new CoinRequestPacket();
    req.to = server;
    req.nonce = nonce;
    req.service = 'info';
    req.method = 'services';
    req.coins = [proof];
    req.sign(client, magic);
    const back = decode(COIN_REQUEST_CMD, req.encode()) as CoinRequestPacket;
    t.ok(back instanceof CoinRequestPacket);
    t.ok(back.verify(magic));
    t.same(back.coins, [proof]);
    t.equal(back.cmd, 'csreqc');
    const raw = req.encode();
    const tampered = Buffer.from(raw);
    tampered[raw.length - 64 - 70] ^= 1; // inside the proof's pubkey/sig area
    t.notOk((() => { try { return (decode(COIN_REQUEST_CMD, tampered) as RequestPacket).verify(magic); } catch { return false; } })());
    const plain = new RequestPacket();
    plain.to = server;
    plain.nonce = nonce;
    plain.service = 'info';
    plain.method = 'services';
    plain.sign(client, magic);
    t.throws(() => decode(COIN_REQUEST_CMD, Buffer.concat([plain.encode().subarray(0, plain.getUnsignedSize()), Buffer.from([0]),
      plain.sig])), { code: 'oversized-field' }, 'a csreqc with no proof');
    t.not(plain.hash(magic).toString('hex'), req.hash(magic).toString('hex'));
  });
});

t.test('min-coins policies', async (t) => {
  t.match(parseRule('min-coins info 1btc'), { action: 'min-coins', service: 'info', amount: 100_000_000, age: 1 });
  t.match(parseRule('min-coins storage.offer 50000sat 144'), { amount: 50_000, age: 144 });
  t.match(parseRuleJSON({ action: 'min-coins', service: 'info', amount: '1btc', age: 6 }), { amount: 100_000_000, age: 6 });
  for (const bad of ['min-coins info', 'min-coins info 0', 'min-coins info 1btc x', 'min-coins info 1btc 0', 'min-payment info 5 6'])
    t.throws(() => parseRule(bad), { name: 'PolicyError' }, bad);
  const p = Policy.fromStrings(['min-coins * 1000sat', 'min-coins info 1btc 2', 'min-coins info 2btc']);
  const who = { publicKey: Buffer.alloc(33, 2), address: 'x' };
  t.same(p.decide({ service: 'info', method: 'services', ...who }).minCoins, { amount: 200_000_000, age: 2 });
  t.same(p.decide({ service: 'peers', method: 'list', ...who }).minCoins, { amount: 1000, age: 1 });
  t.equal(new Policy().decide({ service: 'peers', method: 'list', ...who }).minCoins, null);
});

t.test('coin credentials on regtest nodes', async (t) => {
  const ext = [negotiator.extension];
  const ctx = await NodesContext.create([
    { memory: true, extensions: ext, config: { policy: ['min-coins info 1btc 2', 'min-coins peers.list 1btc 1000'] } },
    { memory: true, extensions: ext, config: { 'coin-proofs': '100btc' } },
    { memory: true, extensions: ext, config: {} }
  ]);
  t.teardown(() => ctx.close());
  await ctx.open();
  await ctx.connectAll();
  const [server, prover, stranger] = ctx.nodes;
  await prover.mine(3);
  await ctx.sync();
  const target = (await server.rpc('getidentity') as { identity: string }).identity;
  for (const n of [prover, stranger])
    await forValue(async () => (await n.rpc('getcloudpeers') as Array<{ identity: string | null }>).some((p) => p.identity === target),
      true, 30000, 'the server\'s identity proven');

  t.test('should serve a client that proves mined coins deep enough', async (t) => {
    const res = await prover.rpc('cloudrequest', [target, 'info', 'services']) as { status: string; rounds: number };
    t.equal(res.status, 'ok');
    t.ok(res.rounds >= 2, `asked for coins, then proved them (${res.rounds} rounds)`);
  });

  t.test('should tell a client without proofs what to prove', async (t) => {
    const res = await stranger.rpc('cloudrequest', [target, 'info', 'services']) as { status: string; body: unknown };
    t.equal(res.status, 'request-declined/coins-required');
    t.same(res.body, { amount: 100_000_000, age: 2 });
  });

  t.test('should not count coins that are not deep enough', async (t) => {
    const res = await prover.rpc('cloudrequest', [target, 'peers', 'list']) as { status: string; body: unknown };
    t.equal(res.status, 'request-declined/coins-required');
    t.same(res.body, { amount: 100_000_000, age: 1000 });
  });
});
