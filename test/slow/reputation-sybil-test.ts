// The Sybil ring on a real chain (docs/REPUTATION.md "Attacks"): cloudcoind
// processes on regtest. An attacker's node funds a ring of 20 identities
// that commit contracts among themselves (each renting from the next),
// settle each with 1000 sat to the host and rate each other 100 as renter
// and as host. An honest host settles real payments with a renter through
// put, audits and a close, and both rate on their own (--rate auto). A
// fresh observer that only followed the chain, and the renter, rank the
// honest host above every ring member; the scores are printed.
import t from 'tap';
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import { buildRatingTX } from '../../lib/contracts/builders';
import { cooperativeWitness } from '../../lib/contracts/escrow';
import { RatingPayload } from '../../lib/contracts/payload';
import { StorageContract } from '../../lib/contracts/storagecontract';
import * as contractsCommon from '../../lib/contracts/common';
import type { ReputationJSON } from '../../lib/reputation';
import { DaemonProcess } from '../util/nodes-context';
import { height, json, mine, putMined, startNetwork } from '../util/network';
import { forValue } from '../util/wait';

const network = bcoin.Network.get('regtest');
const RING = 20;
/** Sat each ring contract settles to its host. */
const RING_PAID = 1000;
const RING_ESCROW = 30000;

interface Member {
  id: Identity;
  /** Escrow keys: as renter (of the next member), as host (of the previous one). */
  renterEscrow: bcoin.KeyRing;
  hostEscrow: bcoin.KeyRing;
}

interface ContractJSON {
  id: string;
  state: string;
  commit: { txid: string; height: number; txIndex: number; leaf: number; vout: number } | null;
}

async function rawTX(d: DaemonProcess, txid: string): Promise<bcoin.TX> {
  return bcoin.TX.fromRaw(Buffer.from((await d.cli(['getrawtransaction', txid])).stdout.trim(), 'hex'));
}

async function send(d: DaemonProcess, tx: bcoin.TX): Promise<void> {
  const r = await d.cli(['sendrawtransaction', tx.toRaw().toString('hex')]);
  if (r.code !== 0)
    throw new Error(`sendrawtransaction: ${r.stderr}`);
}

async function rep(d: DaemonProcess, who: string): Promise<ReputationJSON> {
  return json<ReputationJSON>(d.cli(['getreputation', who]));
}

t.test('a Sybil ring cannot outrank an honest host on a real chain', async (t) => {
  // The honest host charges enough that one audited interval pays real sats.
  const price = '4000000000sat';
  const { renter, hosts } = await startNetwork(t, [['--host-storage-price', price]]);
  const honest = hosts[0];
  const attacker = await DaemonProcess.create(['--rate', 'off']);
  t.teardown(async () => {
    await attacker.stop('SIGKILL');
    attacker.cleanup();
  });
  await attacker.start(['--connect', renter.addr]);
  await forValue(() => height(attacker), await height(renter), 60000, 'the attacker synced');
  await mine(attacker, 110);
  await forValue(() => height(renter), await height(attacker), 60000, 'the renter has the attacker\'s blocks');

  // The honest side: a put, one audited and paid interval, the host closes; both rate on their own.
  const put = await putMined(t, renter, 2 * 1024 * 1024, ['--hosts', '1', '--duration', '40', '--max-price', price]);
  const cid = put.contracts[0].id;
  const first = await json<{ startHeight: number; auditInterval: number }>(renter.cli(['audits', cid, '--json']));
  await mine(renter, Math.max(0, first.startHeight + first.auditInterval + 1 - await height(renter)));
  await forValue(() => json<{ payment: { acknowledged: boolean } | null }>(renter.cli(['audits', cid, '--json'])),
    (r) => r.payment?.acknowledged === true, 120000, 'the first interval audited and paid');
  const closed = await json<{ paid: number; payout: number }>(honest.cli(['closecontract', cid]));
  t.comment(`honest close: ${JSON.stringify(closed)}`);
  await mine(renter);
  const hostKey = (await json<{ pubkey: string }>(honest.cli(['getidentity']))).pubkey;
  const renterKey = (await json<{ pubkey: string }>(renter.cli(['getidentity']))).pubkey;
  // The ratings go out after the block that settled the contract; one more block confirms them.
  await forValue(async () => {
    await mine(renter);
    const c = await json<{ ratings: { renter: unknown; host: unknown } }>(renter.cli(['getcontract', cid]));
    return c.ratings.renter !== null && c.ratings.host !== null;
  }, true, 120000, 'both parties rated the honest contract');

  // The ring: 20 identities, contract i rents from member i+1, all funded by the attacker's wallet.
  const ring: Member[] = Array.from({ length: RING }, () => ({
    id: Identity.generate(network), renterEscrow: bcoin.KeyRing.generate(), hostEscrow: bcoin.KeyRing.generate()
  }));
  for (const m of ring) {
    m.renterEscrow.witness = true;
    m.hostEscrow.witness = true;
  }
  const start = await height(attacker);
  const ringContracts = ring.map((m, i) => {
    const h = ring[(i + 1) % RING];
    const c = new StorageContract({
      network: network.magic,
      renterKey: m.id.publicKey,
      hostKey: h.id.publicKey,
      renterEscrowKey: m.renterEscrow.publicKey,
      hostEscrowKey: h.hostEscrow.publicKey,
      root: Buffer.alloc(32, i + 1),
      size: 1 << 20,
      startHeight: start,
      endHeight: start + 20,
      auditInterval: 5,
      escrowValue: RING_ESCROW,
      holdback: 2500,
      refundHeight: start + 32,
      expiryHeight: start + 10,
      storagePrice: 1000,
      uploadPrice: 10,
      downloadPrice: 20
    });
    c.sign(m.id);
    c.sign(h.id);
    return c;
  });
  const committed = await json<{ txids: string[]; ids: string[] }>(
    attacker.cli(['commitcontracts', ...ringContracts.map((c) => c.encode().toString('hex'))]));
  t.equal(committed.ids.length, RING);
  await mine(attacker);
  const info = new Map<string, ContractJSON>();
  for (const c of ringContracts)
    info.set(c.id(), await forValue(() => json<ContractJSON>(attacker.cli(['getcontract', c.id()])), (x) => x.commit !== null, 60000, 'ring commit'));

  // Each settles with RING_PAID to its host: the renter's escrow key takes the rest back.
  for (const [i, c] of ringContracts.entries()) {
    const ci = info.get(c.id())!.commit!;
    const coin = bcoin.Coin.fromTX(await rawTX(attacker, ci.txid), ci.vout, ci.height);
    const script = c.escrowScript();
    const mtx = new bcoin.MTX();
    mtx.version = 2;
    mtx.addCoin(coin);
    mtx.addOutput(ring[i].renterEscrow.getAddress(), coin.value - RING_PAID);
    mtx.addOutput(ring[(i + 1) % RING].id.ring.getAddress(), RING_PAID - 300);
    const sig = (k: bcoin.KeyRing) => mtx.signature(0, script, coin.value, k.privateKey, bcoin.Script.hashType.ALL, 1);
    mtx.inputs[0].witness.fromItems(cooperativeWitness(sig(ring[i].renterEscrow), sig(ring[(i + 1) % RING].hostEscrow), script));
    await send(attacker, mtx.toTX());
  }
  // Coins for the ratings: two per identity (one as renter, one as host).
  const amounts: Record<string, number> = {};
  for (const m of ring)
    amounts[m.id.ring.getAddress().toString(network)] = 0.002;
  const fundA = (await attacker.cli(['sendmany', '', JSON.stringify(amounts)])).stdout.trim();
  const fundB = (await attacker.cli(['sendmany', '', JSON.stringify(amounts)])).stdout.trim();
  await mine(attacker);
  for (const c of ringContracts)
    await forValue(async () => (await json<ContractJSON>(attacker.cli(['getcontract', c.id()]))).state, 'settled', 60000, 'ring settled');

  // Every member rates its host 100 as renter, and its renter 100 as host.
  const coinsOf = async (txid: string): Promise<Map<string, bcoin.Coin>> => {
    const tx = await rawTX(attacker, txid);
    const out = new Map<string, bcoin.Coin>();
    tx.outputs.forEach((o, vout) => out.set(o.getAddress()!.toString(network), bcoin.Coin.fromTX(tx, vout, -1)));
    return out;
  };
  const [coinsA, coinsB] = [await coinsOf(fundA), await coinsOf(fundB)];
  for (const [i, c] of ringContracts.entries()) {
    const ci = info.get(c.id())!.commit!;
    const rate = (who: Member, role: number, coin: bcoin.Coin) => buildRatingTX(coin, who.id, new RatingPayload({
      id: Buffer.from(c.id(), 'hex'), role, score: 100, passed: 4, failed: 0, flags: contractsCommon.ratingFlags.FINAL,
      commitHeight: ci.height, commitIndex: ci.txIndex, leafIndex: ci.leaf
    }), 1000).toTX();
    const renterM = ring[i];
    const hostM = ring[(i + 1) % RING];
    await send(attacker, rate(renterM, contractsCommon.roles.RENTER, coinsA.get(renterM.id.ring.getAddress().toString(network))!));
    await send(attacker, rate(hostM, contractsCommon.roles.HOST, coinsB.get(hostM.id.ring.getAddress().toString(network))!));
  }
  await mine(attacker);
  const ringKeys = ring.map((m) => m.id.publicKey.toString('hex'));
  await forValue(() => rep(attacker, ringKeys[0]), (r) => r.ratings.counted === 2, 60000, 'the ring\'s ratings counted');

  // A fresh observer: started now, it only follows the chain (and fetches the contract records).
  const observer = await DaemonProcess.create(['--rate', 'off']);
  t.teardown(async () => {
    await observer.stop('SIGKILL');
    observer.cleanup();
  });
  await observer.start(['--connect', attacker.addr, '--connect', renter.addr]);
  const tip = await height(attacker);
  await forValue(() => height(observer), tip, 120000, 'the observer synced');

  const board = async (d: DaemonProcess, who: string) => {
    const h = await forValue(() => rep(d, hostKey), (r) => r.ratings.counted >= 1 || r.own !== null, 120000, `${who}: the honest host known`);
    const members = await Promise.all(ringKeys.map(async (k) => forValue(() => rep(d, k), (r) => r.ratings.counted === 2, 120000,
      `${who}: ring member rated`)));
    const best = members.reduce((a, b) => (b.score > a.score ? b : a));
    t.comment(`${who}: honest host ${h.score} (own ${h.own?.score ?? '-'}, ratings ${h.ratings.score} over ${h.ratings.settled} sat, `
      + `confidence ${h.ratings.confidence}); ring members ${Math.min(...members.map((m) => m.score))}..${best.score} `
      + `(each rated over ${best.ratings.settled} sat, confidence ${best.ratings.confidence})`);
    for (const m of members)
      t.ok(h.score > m.score, `${who}: honest ${h.score} > ring member ${m.score}`);
    return { h, members };
  };

  t.test('should rank the honest host above every ring member in a fresh observer\'s view', async (t) => {
    const { h, members } = await board(observer, 'observer');
    t.equal(h.own, null, 'the observer never dealt with anyone');
    t.equal(members[0].ratings.settled, 2 * RING_PAID, 'each member\'s ratings weigh its two contracts\' settled sats');
    t.ok(h.ratings.settled > 10 * RING_PAID, `the honest host's rating weighs its settled sats (${h.ratings.settled})`);
    const list = await json<ReputationJSON[]>(observer.cli(['getreputation']));
    t.equal(list[0].pubkey === hostKey || list[0].pubkey === renterKey, true, 'an honest party heads the list');
  });

  t.test('should rank the honest host above every ring member in the renter\'s view', async (t) => {
    const { h } = await board(renter, 'renter');
    t.match(h.trust, { pretrusted: true }, 'the renter pre-trusts the host whose audits passed');
    t.ok(h.own !== null && h.own.passed >= 1);
  });
});
