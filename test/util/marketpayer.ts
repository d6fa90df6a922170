// A hostile (or honest) payer of a real host's `market` calls, driven from
// a test through the P2P layer (PROTOCOL 2.5): an identity of its own with
// confirmed coins the renter sent it, txs it builds and signs itself, and
// connections from their own loopback addresses (ban scores are per
// address) that ask with a payment and read the host's ban score.
import { randomBytes } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import { Payment, RequestPacket, ResponsePacket, type PaymentType } from '../../lib/negotiator/envelope';
import { statuses } from '../../lib/negotiator/status';
import { identityScript } from '../../lib/negotiator/walletpay';
import { RawPeer } from './rawpeer';
import { json, mine } from './network';
import { forValue } from './wait';
import type { DaemonProcess } from './nodes-context';

const network = bcoin.Network.get('regtest');
/** sat each payment tx leaves as its fee. */
const FEE = 2000;

/** One connection of the payer. */
export interface PayerConnection {
  peer: RawPeer;
  /** Ask `market.method` paying `amount` sat with `data`, retrying `refresh-nonce`. */
  ask(method: string, type: PaymentType, amount: number, data: Buffer): Promise<ResponsePacket>;
  /** The host's ban score of this connection (-1: not connected). */
  score(): Promise<number>;
}

export interface MarketPayer {
  me: Identity;
  hostKey: Buffer;
  /** Our identity address's script (legacy: our key's P2PKH), and the host's. */
  myScript: bcoin.Script;
  /** Our key, as `pay` signs with it. */
  ring: bcoin.KeyRing;
  toHost: bcoin.Script;
  /** `count` confirmed 0.001 BTC coins of ours. */
  coins: bcoin.Coin[];
  /** A tx spending `coin`: `value` to `to`, the rest less the fee back to us. */
  pay(coin: bcoin.Coin, to: bcoin.Script, value: number): bcoin.TX;
  /** A fresh connection to the host from 127.0.`subnet`.N, proven as `me`. */
  connect(): Promise<PayerConnection>;
  /** A daemon's block count. */
  tip(d: DaemonProcess): Promise<number>;
}

/**
 * A payer with `count` confirmed coins (the renter sends and mines them);
 * connections close at teardown. `legacy`: the coins are on our key's
 * P2PKH address, so our payments can be malleated (test/util/malleate.ts).
 */
export async function marketPayer(t: { teardown(fn: () => unknown): void }, renter: DaemonProcess, host: DaemonProcess,
  count: number, subnet: number, legacy = false): Promise<MarketPayer> {
  const port = Number(host.addr.split(':')[1]);
  const hostKey = Buffer.from((await json<{ pubkey: string }>(host.cli(['getidentity']))).pubkey, 'hex');
  const me = Identity.generate(network);
  const ring = bcoin.KeyRing.fromPrivate(me.ring.privateKey, true);
  ring.witness = !legacy;
  const myScript = legacy ? bcoin.Script.fromAddress(ring.getAddress('string', network)) : identityScript(me.publicKey);
  const coins: bcoin.Coin[] = [];
  for (let i = 0; i < count; i++) {
    const txid = (await renter.cli(['sendtoaddress', ring.getAddress('string', network), '0.001'])).stdout.trim();
    const tx = bcoin.TX.fromRaw((await renter.cli(['getrawtransaction', txid])).stdout.trim(), 'hex');
    const index = tx.outputs.findIndex((o) => o.script.toRaw().equals(myScript.toRaw()));
    coins.push(bcoin.Coin.fromTX(tx, index, -1));
  }
  await mine(renter, 1);
  const tip = async (d: DaemonProcess) => json<number>(d.cli(['getblockcount']));
  await forValue(() => tip(host), await tip(renter), 30000, 'the host at the renter\'s tip');

  const pay = (coin: bcoin.Coin, to: bcoin.Script, value: number): bcoin.TX => {
    const mtx = new bcoin.MTX();
    mtx.addCoin(coin);
    mtx.addOutput(to, value);
    mtx.addOutput(myScript, coin.value - value - FEE);
    mtx.sign(ring);
    return mtx.toTX();
  };

  let local = 0;
  const connect = async (): Promise<PayerConnection> => {
    const addr = `127.0.${subnet}.${++local}`;
    const peer = await RawPeer.connect({ port, localAddress: addr });
    t.teardown(() => peer.close());
    await peer.authenticate(me);
    let nonce: Buffer = randomBytes(16);
    const ask = async (method: string, type: PaymentType, amount: number, data: Buffer): Promise<ResponsePacket> => {
      for (;;) {
        const r = new RequestPacket();
        Object.assign(r, { to: hostKey, nonce, service: 'market', method, args: Buffer.alloc(0) });
        r.payment = Payment.from(type, amount, data);
        const before = peer.received.length;
        peer.write('csreq', r.sign(me, network.magic).encode());
        const got = await peer.next('csres', before, 60000);
        if (!got?.data)
          throw new Error('no answer');
        const res = ResponsePacket.decode(got.data);
        nonce = res.nextNonce;
        if (res.status !== statuses.REFRESH_NONCE)
          return res;
      }
    };
    const score = async (): Promise<number> => {
      await peer.barrier();
      const info = await host.client().call('getpeerinfo') as Array<{ addr: string; banscore: number }>;
      return info.find((p) => p.addr.startsWith(addr + ':'))?.banscore ?? -1;
    };
    return { peer, ask, score };
  };
  return { me, hostKey, myScript, ring, toHost: identityScript(hostKey), coins, pay, connect, tip };
}
