// Ratings published on their own (lib/reputation/rater.ts): the decision
// as a table, then real regtest nodes: a settle makes both parties rate
// each other, a refund makes the host rate the renter for non-payment, and
// neither `--rate off` nor a fee above `--rate-fee-cap` publishes anything.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import * as contracts from '../lib/contracts';
import * as reputation from '../lib/reputation';
import { buildCloseTX, signState } from '../lib/contracts/channel';
import { submitTX } from '../lib/contracts/builders';
import type { ContractInfo, RatingInfo } from '../lib/contracts/contractqueries';
import type { StorageContract } from '../lib/contracts/storagecontract';
import { auditCounts, auditScore, planRating, ratingFeeBound, raterOptions, type ContractAudits } from '../lib/reputation';
import { NodesContext, type TestNode } from './util/nodes-context';
import { forValue } from './util/wait';
import { fundAll, getContract, makeDeal, mineSync, plugin, shareTX, stateOf } from './util/contracts';

const F = contracts.common.ratingFlags;

function info(spend: ContractInfo['spend'], endHeight = 100): ContractInfo {
  return { spend, contract: { endHeight } } as unknown as ContractInfo;
}

const settled = (paid: number, height = 100) => ({ type: 'settled' as const, txid: '', height, paid, returned: 0, fee: 0 });
const refunded = { type: 'refunded' as const, txid: '', height: 130, paid: 0, returned: 0, fee: 0 };
const audits = (passed: number, failed: number, missed = 0, consecutiveBad = failed + missed, retrievalsFailed = 0)
  : ContractAudits => ({ passed, failed, missed, consecutiveBad, retrievalsFailed });
const mine = (flags: number, failed = 0) => ({ flags, failed } as RatingInfo);

t.test('planRating', async (t) => {
  t.test('should decide by role, spend, audits and what is already published', async (t) => {
    const cases: Array<[string, Parameters<typeof planRating>, ReturnType<typeof planRating>]> = [
      ['renter, settled, audits all passed', ['renter', info(settled(9000)), audits(5, 0), null, 2],
        { score: 100, passed: 5, failed: 0, flags: F.FINAL, reason: 'settled' }],
      ['renter, settled early, one missed', ['renter', info(settled(9000, 60)), audits(3, 0, 1), null, 2],
        { score: 50, passed: 3, failed: 1, flags: F.FINAL | F.EARLY_EXIT, reason: 'settled' }],
      ['renter, refunded after failures, retrieval failed', ['renter', info(refunded), audits(1, 1, 1, 2, 1), null, 2],
        { score: -34, passed: 1, failed: 2, flags: F.FINAL | F.RETRIEVAL_FAILED, reason: 'refunded' }],
      ['renter, settled, no audits', ['renter', info(settled(9000)), null, null, 2],
        { score: 50, passed: 0, failed: 0, flags: F.FINAL, reason: 'settled' }],
      ['renter, refunded, no audits: nothing observed', ['renter', info(refunded), null, null, 2], null],
      ['renter, settled with 0 sat, no audits', ['renter', info(settled(0)), audits(0, 0), null, 2], null],
      ['renter, final already on chain', ['renter', info(settled(9000)), audits(5, 0), mine(F.FINAL), 2], null],
      ['renter, active, two bad in a row', ['renter', info(null), audits(2, 1, 1, 2), null, 2],
        { score: 0, passed: 2, failed: 2, flags: 0, reason: 'audits' }],
      ['renter, active, one missed: below the threshold', ['renter', info(null), audits(2, 0, 1, 1), null, 2], null],
      ['renter, active, one missed, threshold 1', ['renter', info(null), audits(2, 0, 1, 1), null, 1],
        { score: 33, passed: 2, failed: 1, flags: 0, reason: 'audits' }],
      ['renter, active, one failed (wrong data): at once', ['renter', info(null), audits(2, 1, 0, 1), null, 2],
        { score: 33, passed: 2, failed: 1, flags: 0, reason: 'audits' }],
      ['renter, active, this failure already published', ['renter', info(null), audits(2, 1, 1, 2), mine(0, 2), 2], null],
      ['renter, active, a new failure since', ['renter', info(null), audits(2, 1, 2, 3), mine(0, 2), 2],
        { score: -20, passed: 2, failed: 3, flags: 0, reason: 'audits' }],
      ['host, refunded: non-payment', ['host', info(refunded), null, null, 2],
        { score: -100, passed: 0, failed: 0, flags: F.FINAL | F.NON_PAYMENT, reason: 'refunded' }],
      ['host, settled with sats', ['host', info(settled(9000)), null, null, 2],
        { score: 100, passed: 0, failed: 0, flags: F.FINAL, reason: 'settled' }],
      ['host, settled with 0 sat', ['host', info(settled(0)), null, null, 2], null],
      ['host, not spent', ['host', info(null), null, null, 2], null]
    ];
    for (const [name, args, want] of cases)
      t.same(planRating(...args), want, name);
  });

  t.test('should count audit outcomes and the bad ones in a row', async (t) => {
    t.same(auditCounts([]), audits(0, 0));
    t.same(auditCounts(['passed', 'missed', 'passed', 'missed', 'failed']), audits(2, 1, 2, 2));
    t.same(auditCounts(['missed', 'missed', 'passed'], 1), audits(1, 0, 2, 0, 1));
  });

  t.test('should score audits and bound the fee', async (t) => {
    t.equal(auditScore(4, 0), 100);
    t.equal(auditScore(0, 3), -100);
    t.equal(auditScore(1, 2), -34);
    t.equal(ratingFeeBound(10000), 4000, 'mainnet: 10 sat/vB');
    t.equal(ratingFeeBound(2000), 800, 'regtest');
  });

  t.test('should read and check the options', async (t) => {
    const cfg = (values: Record<string, string | number>) => ({
      config: {
        str: (k: string) => (k in values ? String(values[k]) : null),
        uint: (k: string) => (k in values ? Number(values[k]) : null)
      }
    }) as unknown as Parameters<typeof raterOptions>[0];
    t.same(raterOptions(cfg({})), { auto: true, feeCap: 5000, failThreshold: 2 });
    t.same(raterOptions(cfg({ rate: 'off', 'rate-fee-cap': 100, 'rate-fail-threshold': 3 })),
      { auto: false, feeCap: 100, failThreshold: 3 });
    t.throws(() => raterOptions(cfg({ rate: 'sometimes' })), { code: 'bad-config' });
    t.throws(() => raterOptions(cfg({ 'rate-fail-threshold': 0 })), { code: 'bad-config' });
  });
});

async function escrowCoin(n: TestNode, c: StorageContract): Promise<bcoin.Coin> {
  const got = await getContract(n, c.id()) as { commit: { txid: string; vout: number; height: number } };
  const tx = await n.node.chain.db.getTX(Buffer.from(got.commit.txid, 'hex').reverse().toString('hex'));
  return bcoin.Coin.fromTX(tx!, got.commit.vout, got.commit.height);
}

type Ratings = { renter: RatingInfo | null; host: RatingInfo | null };

function rep(n: TestNode): reputation.ReputationPlugin {
  return n.node.require<reputation.ReputationPlugin>('reputation');
}

/** Wait until `n` published its rating of `c`, then hand it to `miner` (no 5 s inv flush) and return its txid. */
async function published(n: TestNode, c: StorageContract, miner: TestNode): Promise<string> {
  const txid = await forValue(() => rep(n).rater!.published.get(c.id()) ?? '', (v) => v !== '', 30000,
    `rating of ${c.id().slice(0, 8)} by ${n.addr}`);
  if (n !== miner)
    await shareTX(n, miner, txid);
  return txid;
}

async function ratingsOf(n: TestNode, c: StorageContract): Promise<Ratings> {
  return (await getContract(n, c.id()) as { ratings: Ratings }).ratings;
}

t.test('ratings published on their own', async (t) => {
  const ext = [contracts.extension, reputation.extension];
  // 0 renter, 1 host (both --rate auto), 2 a host with --rate off, 3 a host whose fee cap is too low.
  const ctx = await NodesContext.create([
    { memory: true, extensions: ext },
    { memory: true, extensions: ext },
    { memory: true, extensions: ext, config: { rate: 'off' } },
    { memory: true, extensions: ext, config: { 'rate-fee-cap': '100' } }
  ]);
  t.teardown(() => ctx.close());
  await ctx.open();
  await ctx.connectAll();
  const [renter, host, quiet, capped] = ctx.nodes;
  await fundAll(ctx);
  const paid = await makeDeal(renter, host, { escrowValue: 40000 });
  const dropped = await makeDeal(renter, host);
  const off = await makeDeal(renter, quiet);
  const dear = await makeDeal(renter, capped);
  const all = [paid, dropped, off, dear];
  await renter.rpc('commitcontracts', all.map((c) => c.encode().toString('hex')));
  await mineSync(ctx, renter);
  for (const c of all)
    await forValue(() => stateOf(renter, c.id()), 'active', 30000, 'active');

  t.test('should rate each other when the host settles with sats', async (t) => {
    const coin = await escrowCoin(host, paid);
    const rKey = (await plugin(renter).getEscrowRing(paid.renterEscrowKey))!.privateKey;
    const hKey = (await plugin(host).getEscrowRing(paid.hostEscrowKey))!.privateKey;
    const payout = await plugin(host).walletContext().wallet.receiveAddress(0);
    const { tx } = buildCloseTX(paid, coin, signState(paid, coin, 1, 15000, rKey), hKey, { payout, rate: 1000 });
    await submitTX(plugin(host).walletContext(), tx.toTX());
    await mineSync(ctx, host);
    await forValue(() => stateOf(renter, paid.id()), 'settled', 30000, 'settled');
    // Each node sees the spend and publishes; the next block confirms both ratings.
    await published(renter, paid, renter);
    await published(host, paid, renter);
    await mineSync(ctx, renter);
    const r = await forValue(() => ratingsOf(renter, paid), (v) => !!v.renter && !!v.host, 30000, 'both ratings mined');
    t.match(r.renter, { score: 50, flags: F.FINAL | F.EARLY_EXIT, passed: 0, failed: 0 },
      'no audit records: a settle with sats (before the end: early exit) says 50');
    t.match(r.host, { score: 100, flags: F.FINAL });
    // Once final on chain, nothing more: another block publishes nothing new.
    const before = rep(renter).rater!.published.size + rep(host).rater!.published.size;
    await mineSync(ctx, renter);
    await rep(renter).rater!.kick();
    await rep(host).rater!.kick();
    t.equal(rep(renter).rater!.published.size + rep(host).rater!.published.size, before);
  });

  t.test('should rate the renter for non-payment when the escrow is refunded, except when told not to', async (t) => {
    await mineSync(ctx, renter, dropped.refundHeight - renter.height + 1);
    for (const c of [dropped, off, dear])
      await renter.rpc('refundcontract', [c.id()]);
    await mineSync(ctx, renter);
    for (const c of [dropped, off, dear])
      await forValue(() => stateOf(host, c.id()), 'refunded', 30000, 'refunded');
    await published(host, dropped, renter);
    await mineSync(ctx, renter);
    const r = await forValue(() => ratingsOf(renter, dropped), (v) => !!v.host, 30000, 'non-payment rating mined');
    t.match(r.host, { score: -100, flags: F.FINAL | F.NON_PAYMENT });
    t.equal(r.renter, null, 'the renter had no audits: a bare refund says nothing of the host');
    // A few more blocks: the quiet and the capped host still publish nothing.
    await mineSync(ctx, renter, 2);
    for (const c of [off, dear])
      t.same(await ratingsOf(renter, c), { renter: null, host: null });
    t.equal(rep(quiet).rater!.published.size, 0, '--rate off');
    t.equal(rep(capped).rater!.published.size, 0, 'fee above the cap');
    const view = await renter.rpc('getreputation', [(await plugin(renter).identity()).publicKey.toString('hex')]);
    t.ok(view, 'the renter is an identity in its own view');
  });
});
