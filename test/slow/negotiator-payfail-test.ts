// A paid call that fails after paying (PROTOCOL 2.5), on a real cloudcoind
// renter: the "server" is a hostile peer driven from the test over the P2P
// layer, which prices its method at 1000 sat, refuses deferral and then
// takes the attached wallet transaction without answering (or closes the
// connection). The renter's call fails, and once the payment was not seen
// in its mempool or chain for --payment-grace, it is abandoned: the coins
// it spent are spendable again (in listunspent, not in listlockunspent;
// the balance is no measure while the wallet still catches up with the
// 440 blocks mined). The renter itself never sends the payment out, even
// when a block comes while the call waits (its resubmitter sends the
// wallet's pending txs after every block). A payment the server did
// broadcast stays, and a retry of the same call presents the same tx (paid
// once). A please-pay claim beyond what the renter deferred is not paid.
import t, { Test } from 'tap';
import { randomBytes } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import { RequestPacket, ResponsePacket, paymentTypes } from '../../lib/negotiator/envelope';
import { amountBody, statuses } from '../../lib/negotiator/status';
import { RawPeer } from '../util/rawpeer';
import { json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { logLines } from '../util/blocks';
import type { DaemonProcess } from '../util/nodes-context';

const network = bcoin.Network.get('regtest');
const PRICE = 1000;

/** What the hostile server does with an attached payment. */
type Mode = 'silent' | 'close' | 'answer';

/** A hostile server: answers too-low, then no-defer, then `mode` to the attached payment. */
class RawServer {
  readonly id = Identity.generate(network);
  /** Payment bytes of every attached request received. */
  readonly payments: Buffer[] = [];
  mode: Mode = 'silent';
  /** Answer please-pay with this claim to a deferred request instead of no-defer. */
  claim = 0;
  /** Called with each attached payment as it arrives (the test broadcasts it for a server that takes it). */
  onPayment: ((data: Buffer) => void) | null = null;
  /** Hashes (internal order hex) of every tx the renter announced or sent to us. */
  readonly txsSeen = new Set<string>();
  private constructor(readonly peer: RawPeer) {}

  static async connect(node: DaemonProcess, local: string): Promise<RawServer> {
    const peer = await RawPeer.connect({ port: Number(node.addr.split(':')[1]), localAddress: local });
    const srv = new RawServer(peer);
    peer.on('packet', (p: { cmd: string; data?: Buffer }) => {
      if (p.cmd === 'csreq' && p.data)
        srv.onRequest(RequestPacket.decode(p.data));
    });
    peer.on('packet', (p: bcoin.packets.Packet & { items?: Array<{ hash: string }>; tx?: bcoin.TX }) => {
      if (p.cmd === 'inv')
        p.items?.forEach((item) => srv.txsSeen.add(item.hash));
      if (p.cmd === 'tx' && p.tx)
        srv.txsSeen.add(p.tx.hash('hex'));
    });
    await peer.authenticate(srv.id);
    return srv;
  }

  private answer(req: RequestPacket, status: string, body: Buffer = Buffer.alloc(0)): void {
    const res = new ResponsePacket();
    res.requestHash = req.hash(network.magic);
    res.status = status;
    res.body = body;
    res.nextNonce = randomBytes(16);
    this.peer.write('csres', res.sign(this.id, network.magic).encode());
  }

  private onRequest(req: RequestPacket): void {
    if (req.payment.type === paymentTypes.NONE)
      return this.answer(req, statuses.TOO_LOW, amountBody(PRICE));
    if (req.payment.type === paymentTypes.DEFER)
      return this.claim > 0 ? this.answer(req, statuses.PLEASE_PAY, amountBody(this.claim)) : this.answer(req, statuses.NO_DEFER);
    this.payments.push(req.payment.data);
    this.onPayment?.(req.payment.data);
    if (this.mode === 'close')
      void this.peer.close();
    else if (this.mode === 'answer')
      this.answer(req, statuses.OK, Buffer.from('served'));
  }
}

t.test('a paid call that fails after paying leaves no coin stuck (real renter, hostile server)', async (t) => {
  const { renter } = await startNetwork(t, [], ['--payment-grace', '5']);
  /** The coins (txid:vout) a payment tx spends, and whether each is spendable in the renter's wallet now. */
  const inputs = (data: Buffer): string[] => bcoin.TX.fromRaw(data).inputs.map((i) => `${i.prevout.txid()}:${i.prevout.index}`);
  const spendable = async (data: Buffer): Promise<boolean[]> => {
    type Out = Array<{ txid: string; vout: number }>;
    const utxos = await renter.client().call('listunspent', [0, 9999999]) as Out;
    const locked = new Set((await renter.client().call('listlockunspent', []) as Out).map((u) => `${u.txid}:${u.vout}`));
    const set = new Set(utxos.map((u) => `${u.txid}:${u.vout}`));
    return inputs(data).map((o) => set.has(o) && !locked.has(o));
  };
  /**
   * The server's only payment was abandoned after the grace period: its
   * coins are spendable again, and the renter never sent it out itself
   * (not in its mempool, never announced to the server).
   */
  const takenBack = async (t: Test, srv: RawServer): Promise<void> => {
    t.equal(srv.payments.length, 1, 'the server got a payment');
    const tx = bcoin.TX.fromRaw(srv.payments[0]);
    await forValue(async () => logLines(renter, 'abandoned').includes(tx.txid()), true, 60000, 'the payment abandoned');
    t.ok((await forValue(() => spendable(srv.payments[0]), (v) => v.every(Boolean), 60000, 'the coins back')).every(Boolean),
      'abandoned after the grace period: its coins are spendable again, none stuck');
    t.notOk((await json<string[]>(renter.cli(['getrawmempool']))).includes(tx.txid()), 'not in the renter\'s mempool');
    await srv.peer.barrier();
    t.notOk(srv.txsSeen.has(tx.hash('hex')), 'never announced to the server');
  };
  const call = (srv: RawServer) => renter.cli(['cloudrequest', srv.id.publicKey.toString('hex'), 'raw', 'get', 'null', '2000sat']);
  const servers: RawServer[] = [];
  t.teardown(async () => {
    for (const s of servers)
      await s.peer.close();
  });
  const connect = async (local: string): Promise<RawServer> => {
    const srv = await RawServer.connect(renter, local);
    servers.push(srv);
    const key = srv.id.publicKey.toString('hex');
    await forValue(async () => (await json<Array<{ pubkey: string | null }>>(renter.cli(['getcloudpeers'])))
      .some((p) => p.pubkey === key), true, 30000, 'the renter sees the server\'s identity');
    return srv;
  };

  await t.test('should take the payment back when the server never answers', async (t) => {
    const srv = await connect('127.0.9.1');
    const res = await call(srv);
    t.not(res.code, 0, 'the call fails');
    t.match(res.stderr, /timeout/, 'timed out');
    await takenBack(t, srv);
  });

  await t.test('should keep an in-flight payment\'s coins locked through lockunspent true', async (t) => {
    const srv = await connect('127.0.9.6');
    type Out = Array<{ txid: string; vout: number }>;
    // While the call waits for its answer, the user unlocks every coin.
    let during: Promise<{ all: unknown; held: boolean; explicit: string }> | null = null;
    srv.onPayment = (data) => {
      srv.onPayment = null;
      during = (async () => {
        const rpc = renter.client();
        const all = await rpc.call('lockunspent', [true]);
        const locked = new Set((await rpc.call('listlockunspent', []) as Out).map((u) => `${u.txid}:${u.vout}`));
        const [txid, vout] = inputs(data)[0].split(':');
        const explicit = await rpc.call('lockunspent', [true, [{ txid, vout: Number(vout) }]])
          .then(() => 'unlocked', (e: Error) => e.message);
        return { all, held: inputs(data).every((o) => locked.has(o)), explicit };
      })();
    };
    const res = await call(srv);
    t.not(res.code, 0, 'the call fails');
    t.ok(during, 'the server got the payment while the call waited');
    const r = await (during as unknown as Promise<{ all: unknown; held: boolean; explicit: string }>);
    t.equal(r.all, true, 'lockunspent true answers true');
    t.ok(r.held, 'the payment\'s inputs stay locked');
    t.match(r.explicit, /held by a payment of the node still in flight/, 'unlocking one of them by name is refused');
    await takenBack(t, srv);
  });

  await t.test('should not send the payment itself when a block comes while the call waits', async (t) => {
    const srv = await connect('127.0.9.5');
    // A block while the payment waits for an answer: the renter's resubmitter
    // sends every pending wallet tx after a block; this one must not be one.
    let mining: Promise<void> = Promise.resolve();
    srv.onPayment = () => {
      srv.onPayment = null;
      mining = mine(renter, 1);
    };
    const res = await call(srv);
    t.not(res.code, 0, 'the call fails');
    await mining;
    await takenBack(t, srv);
  });

  await t.test('should take the payment back when the server closes the connection', async (t) => {
    const srv = await connect('127.0.9.2');
    srv.mode = 'close';
    const res = await call(srv);
    t.not(res.code, 0, 'the call fails');
    t.match(res.stderr, /peer-closed|not connected/i, 'the peer closed');
    await takenBack(t, srv);
  });

  await t.test('should keep a payment the server broadcast and present it again on a retry', async (t) => {
    const srv = await connect('127.0.9.3');
    // The server takes the payment: it reaches the renter's mempool as a relayed tx would, before the call times out.
    // Over the RPC connection, not a CLI process: at load 20+ spawning one
    // took longer than the call's timeout plus the 5 s grace, the renter
    // abandoned the payment first and the retry paid anew.
    let broadcast: Promise<unknown> = Promise.resolve();
    srv.onPayment = (data) => {
      srv.onPayment = null;
      broadcast = renter.client().call('sendrawtransaction', [data.toString('hex')]);
    };
    const res = await call(srv);
    t.not(res.code, 0, 'the first call times out');
    await broadcast;
    const txid = bcoin.TX.fromRaw(srv.payments[0]).txid();
    t.same(await spendable(srv.payments[0]), inputs(srv.payments[0]).map(() => false), 'its coins are spent');
    srv.mode = 'answer';
    const again = await json<{ status: string; paid: number }>(call(srv));
    t.equal(again.status, 'ok', 'the retry is served');
    t.equal(srv.payments.length, 2);
    t.ok(srv.payments[1].equals(srv.payments[0]), 'the retry carries the same payment tx');
    await forValue(async () => logLines(renter, 'kept').includes(txid), true, 60000, 'the grace period over');
    t.same(await spendable(srv.payments[0]), inputs(srv.payments[0]).map(() => false), 'kept, not abandoned');
    t.ok((await json<string[]>(renter.cli(['getrawmempool']))).includes(txid), 'the payment is in the mempool');
  });

  await t.test('should not pay a please-pay claim beyond what it deferred', async (t) => {
    const srv = await connect('127.0.9.4');
    srv.claim = 5000;
    const res = await json<{ status: string; body: { amount: number } }>(call(srv));
    t.equal(res.status, statuses.PLEASE_PAY, 'the claim is returned, not paid');
    t.same(res.body, { amount: 5000 });
    t.equal(srv.payments.length, 0, 'no payment sent: nothing spent');
  });
});
