// The standard methods every service answers (version, methods, quote:
// PROTOCOL 2.7) on real cloudcoind processes: a host whose policy prices
// reputation.get, asked by a renter through cloudrequest; and a raw peer
// sending malformed args to every service (standard methods and each
// service's own), one table row each, answered `bad-request` `bad-args`
// and scored 20 (bcoin bans at 100).
import t from 'tap';
import { randomBytes } from 'crypto';
import { Identity } from '../lib/base/identity';
import bcoin = require('../lib/bcoin');
import { RequestPacket, ResponsePacket } from '../lib/negotiator/envelope';
import { encodeQuoteArgs } from '../lib/negotiator/standard';
import { DaemonProcess } from './util/nodes-context';
import { RawPeer } from './util/rawpeer';
import { json } from './util/network';
import { forValue } from './util/wait';

const network = bcoin.Network.get('regtest');

interface CallJSON {
  status: string;
  body: unknown;
  paid: number;
}

interface PeerInfoJSON {
  addr: string;
  banscore: number;
}

/** Malformed args of every service's methods: each is `bad-args`, ban score 20. */
const MALFORMED: Array<[string, string, Buffer]> = [
  ['a byte after version\'s empty args', 'info.version', Buffer.from([0])],
  ['args to methods', 'reputation.methods', Buffer.from('00', 'hex')],
  ['quote without args', 'peers.quote', Buffer.alloc(0)],
  ['quote of a name with a capital', 'info.quote', Buffer.concat([Buffer.from([8]), Buffer.from('Services', 'latin1'), Buffer.from([0])])],
  ['quote with a byte after the units', 'info.quote', Buffer.concat([encodeQuoteArgs({ method: 'services', units: Buffer.alloc(0) }), Buffer.from([1])])],
  ['quote whose units run past the end', 'reputation.quote', Buffer.concat([Buffer.from([3]), Buffer.from('get', 'latin1'), Buffer.from([40]), randomBytes(5)])],
  // Every service's own methods cost the same (the dispatcher scores bad-args).
  ['reputation.get of a short key', 'reputation.get', randomBytes(5)],
  ['storage.propose of noise', 'storage.propose', Buffer.from([0xff, 0xff, 0xff])],
  ['storage.revision of a short contract id', 'storage.revision', randomBytes(31)],
  ['storage.quote of noise', 'storage.quote', Buffer.from([0xfe])],
  ['storage.pay of nothing', 'storage.pay', Buffer.alloc(0)],
  ['info.services with a byte', 'info.services', Buffer.from([1])],
  ['peers.list with a byte', 'peers.list', Buffer.from([1])],
  ['peers.connect of noise', 'peers.connect', Buffer.from([7])],
  ['market.prices with a byte', 'market.prices', Buffer.from([0])],
  ['peers.announce of 17 keys', 'peers.announce', Buffer.concat([Buffer.from([17]), randomBytes(17 * 33)])],
  ['peers.announce of an uncompressed key prefix', 'peers.announce', Buffer.concat([Buffer.from([1, 4]), randomBytes(32)])]
];

/** The raw peer that calls reputation.get: free for it, so its args are read rather than priced. */
const freeCaller = Identity.generate(network);

t.test('standard methods on every service (real nodes)', async (t) => {
  const host = await DaemonProcess.create(['--host', '--policy', 'min-payment reputation.get 7sat',
    '--policy', `min-payment reputation.get@${freeCaller.publicKey.toString('hex')} 0sat`]);
  const renter = await DaemonProcess.create();
  t.teardown(async () => {
    for (const d of [host, renter]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
  });
  await host.start();
  await renter.start(['--connect', host.addr]);
  const hostKey = (await json<{ pubkey: string }>(host.cli(['getidentity']))).pubkey;
  await forValue(async () => (await json<Array<{ pubkey: string | null }>>(renter.cli(['getcloudpeers'])))
    .some((p) => p.pubkey === hostKey), true, 30000, 'the renter knows the host');
  const call = (service: string, method: string, args?: unknown) => json<CallJSON>(renter.cli(
    ['cloudrequest', hostKey, service, method, ...(args === undefined ? [] : [JSON.stringify(args)])]));

  await t.test('should answer version, methods and quote of each service', async (t) => {
    t.match(await call('storage', 'version'), { status: 'ok', body: { version: 1 }, paid: 0 });
    t.same((await call('reputation', 'version')).body, { version: 1 });
    const methods = await call('reputation', 'methods');
    t.equal(methods.status, 'ok');
    t.same(methods.body, [{ name: 'get', price: 7 }, { name: 'version', price: 0 }, { name: 'methods', price: 0 },
      { name: 'quote', price: 0 }], 'own methods first, priced for the caller (the policy asks 7 sat)');
    const storage = (await call('storage', 'methods')).body as Array<{ name: string }>;
    t.same(storage.map((m) => m.name).filter((n) => ['quote', 'version', 'methods'].includes(n)), ['quote', 'version', 'methods'],
      'storage keeps its own quote (its units: size and duration)');
    t.same((await call('reputation', 'quote', { method: 'get', units: hostKey })).body, { price: 7 });
    t.same((await call('info', 'quote', { method: 'services' })).body, { price: 0 });
    const unknown = await call('info', 'quote', { method: 'nosuchmethod' });
    t.equal(unknown.status, 'client-error/method-unsupported', 'a method the service lacks is not malformed');
    const info = await call('info', 'services');
    const listed = (info.body as Array<{ name: string; methods: Array<{ name: string }> }>).find((s) => s.name === 'peers');
    t.same(listed?.methods.map((m) => m.name), ['list', 'connect', 'dialback', 'announce', 'version', 'methods', 'quote'],
      'info.services lists the standard methods too');
  });

  await t.test('should answer malformed args bad-args and score the sender 20', async (t) => {
    const port = Number(host.addr.split(':')[1]);
    for (const [i, [name, key, args]] of MALFORMED.entries()) {
      const local = `127.0.9.${10 + i}`;
      const peer = await RawPeer.connect({ port, localAddress: local });
      t.teardown(() => peer.close());
      const me = key === 'reputation.get' ? freeCaller : Identity.generate(network);
      const nodeKey = await peer.authenticate(me);
      t.ok(nodeKey, `${name}: proved an identity`);
      const [service, method] = key.split('.');
      const send = (nonce: Buffer, body: Buffer): RequestPacket => {
        const r = new RequestPacket();
        Object.assign(r, { to: nodeKey, nonce, service, method, args: body });
        r.sign(me, network.magic);
        peer.write('csreq', r.encode());
        return r;
      };
      // A random nonce first: the node answers refresh-nonce with one it issued.
      send(randomBytes(16), args);
      const first = await peer.next('csres');
      const nonce = ResponsePacket.decode(first!.data!).nextNonce;
      const before = peer.received.length;
      send(nonce, args);
      const res = ResponsePacket.decode((await peer.next('csres', before))!.data!);
      t.equal(res.status, 'client-error/bad-request', `${name}: bad-request`);
      t.equal(res.body.toString('latin1'), 'bad-args', `${name}: says bad-args`);
      const score = await forValue(async () => (await host.client().call('getpeerinfo') as PeerInfoJSON[])
        .find((p) => p.addr.startsWith(local + ':'))?.banscore ?? -1, 20, 15000, `${name}: ban score`);
      t.equal(score, 20, `${name}: ban score 20`);
      await peer.close();
    }
  });
});
