// The OpenCloud envelope end to end over an in-memory peer pair: server
// pipeline outcomes keyed by code, nonces, bidding, payment switches,
// timeouts, robustness, and the RPC methods.
import t from 'tap';
import { PacketError, RPCError, rpcCodes } from '../lib/base/errors';
import { RequestPacket, ResponsePacket, Payment, paymentTypes } from '../lib/negotiator/envelope';
import { HelloPacket, AuthPacket } from '../lib/negotiator/packets';
import { NonceManager, nonceResults } from '../lib/negotiator/nonces';
import { Policy } from '../lib/negotiator/policy';
import { ServiceError, Service } from '../lib/negotiator/services';
import { statuses, readAmountBody } from '../lib/negotiator/status';
import { serverCodes } from '../lib/negotiator/server';
import { RequestError, requestCodes } from '../lib/negotiator/requester';
import { noPayments } from '../lib/negotiator/payment';
import {
  NONCE_EPOCH_MS, MAX_NONCES_PER_CLIENT, MAX_NONCE_CLIENTS, FLOOD_BURST, MAX_INFLIGHT_PER_PEER, REQUEST_TIMEOUT_MS,
  PROTOCOL_VERSION
} from '../lib/negotiator/common';
import { addRPCs } from '../lib/negotiator/rpc';
import type { RPCMethod } from '../lib/base/extension';
import { makePair, fixedIdentity, network, deliver, settle, FakePeer, Pair } from './util/negotiator-pair';
import { decodeServices } from '../lib/negotiator/coreservices';
import { forValue } from './util/wait';

const magic = network.magic;

/**
 * A priced echo service: `echo` costs 500 sat, `fail` throws, `bad` rejects
 * args, `slow` answers once `held` resolves (the test lets it go, not a timer).
 */
function testService(held = Promise.resolve()): Service {
  return {
    name: 'echo',
    version: 7,
    methods: {
      echo: { price: 500, handler: (args) => args },
      free: { handler: (args) => Buffer.concat([Buffer.from('free:'), args]) },
      fail: { handler: () => { throw new Error('boom'); } },
      bad: { handler: () => { throw ServiceError.badRequest('bad-args'); } },
      weird: { handler: () => { throw new ServiceError('Not A Status', 'weird'); } },
      slow: { handler: async () => { await held; return Buffer.alloc(0); } }
    }
  };
}

async function pair(bOpts: Parameters<typeof makePair>[1] = {}, held = Promise.resolve()): Promise<Pair> {
  const p = await makePair({}, bOpts);
  p.b.registerService(testService(held));
  return p;
}

/** A signed request from a (key 1) to b (key 2) with a nonce b issued. */
function request(p: Pair, mut?: (r: RequestPacket) => void, nonce?: Buffer): RequestPacket {
  const r = new RequestPacket();
  r.to = p.b.identity.publicKey;
  r.nonce = nonce ?? p.b.server.nonces.issue(p.a.identity.publicKey);
  r.service = 'echo';
  r.method = 'free';
  if (mut)
    mut(r);
  return r.sign(p.a.identity, magic);
}

t.test('Server pipeline', async (t) => {
  const table: Array<[string, string, (p: Pair) => RequestPacket, Parameters<typeof makePair>[1]?]> = [
    [serverCodes.OK, statuses.OK, (p) => request(p)],
    [serverCodes.WRONG_RECIPIENT, statuses.BAD_REQUEST, (p) => request(p, (r) => { r.to = fixedIdentity(9).publicKey; })],
    [serverCodes.BAD_SIGNATURE, statuses.INVALID_SIGNATURE, (p) => {
      const r = request(p);
      r.args = Buffer.from('tampered');
      return r;
    }],
    [nonceResults.UNKNOWN, statuses.REFRESH_NONCE, (p) => request(p, undefined, Buffer.alloc(16))],
    [nonceResults.UNKNOWN, statuses.REFRESH_NONCE, (p) => request(p, undefined, p.b.server.nonces.issue(fixedIdentity(5).publicKey))],
    [serverCodes.UNKNOWN_SERVICE, statuses.SERVICE_UNSUPPORTED, (p) => request(p, (r) => { r.service = 'nosuch'; })],
    [serverCodes.UNKNOWN_METHOD, statuses.METHOD_UNSUPPORTED, (p) => request(p, (r) => { r.method = 'nosuch'; })],
    [serverCodes.UNKNOWN_METHOD, statuses.METHOD_UNSUPPORTED, (p) => request(p, (r) => { r.method = 'constructor'; })],
    [serverCodes.DENIED, statuses.DENIED, (p) => request(p), { policy: Policy.fromStrings(['deny echo.free']) }],
    [serverCodes.TOO_LOW, statuses.TOO_LOW, (p) => request(p, (r) => { r.method = 'echo'; })],
    [serverCodes.TOO_LOW, statuses.TOO_LOW, (p) => request(p, (r) => {
      r.method = 'echo';
      r.payment = Payment.from(paymentTypes.DEFER, 499);
    })],
    [serverCodes.TOO_LOW, statuses.TOO_LOW, (p) => request(p), { policy: Policy.fromStrings(['min-payment echo 10']) }],
    [serverCodes.NO_DEFER, statuses.NO_DEFER, (p) => request(p, (r) => {
      r.method = 'echo';
      r.payment = Payment.from(paymentTypes.DEFER, 500);
    }), { deferLimit: 0 }],
    [serverCodes.PAYMENT_INVALID, statuses.PAYMENT_INVALID, (p) => request(p, (r) => {
      r.method = 'echo';
      r.payment = Payment.from(paymentTypes.ATTACHED, 500, Buffer.from('x'));
    }), { payments: noPayments }],
    [serverCodes.SERVICE_ERROR, statuses.SERVER_ERROR, (p) => request(p, (r) => { r.method = 'fail'; })],
    ['bad-args', statuses.BAD_REQUEST, (p) => request(p, (r) => { r.method = 'bad'; })],
    [serverCodes.SERVICE_ERROR, statuses.SERVER_ERROR, (p) => request(p, (r) => { r.method = 'weird'; })]
  ];
  for (const [code, status, make, opts] of table) {
    t.test(`should answer ${code} with ${status}`, async (t) => {
      const p = await pair(opts);
      const req = RequestPacket.decode(make(p).encode());
      const { response, code: got } = await p.b.server.handle(req, p.ba);
      t.equal(got, code);
      t.equal(response.status, status);
      t.ok(response.verify(magic, p.b.identity.publicKey), 'response signed by the server');
      t.same(response.requestHash, req.hash(magic));
      const noNonce = code === serverCodes.BAD_SIGNATURE || code === serverCodes.WRONG_RECIPIENT;
      t.equal(response.hasNextNonce(), !noNonce, 'nextNonce unless unauthenticated');
      if (code === serverCodes.TOO_LOW)
        t.ok(readAmountBody(response.body) >= 10, 'acceptable payment in the body');
    });
  }

  t.test('should refuse a replayed nonce with replayed-nonce', async (t) => {
    const p = await pair();
    const req = request(p);
    t.equal((await p.b.server.handle(req, p.ba)).code, serverCodes.OK);
    const again = await p.b.server.handle(req, p.ba);
    t.equal(again.code, nonceResults.REPLAYED);
    t.equal(again.response.status, statuses.REFRESH_NONCE);
  });

  t.test('should rate-limit per client with rate-limited', async (t) => {
    const p = await pair({ policy: Policy.fromStrings(['rate-limit echo 2/1m']) });
    const codes: string[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await p.b.server.handle(request(p), p.ba)).code);
    t.same(codes, [serverCodes.OK, serverCodes.OK, serverCodes.RATE_LIMITED]);
  });

  t.test('should ask please-pay past the defer limit and record promises', async (t) => {
    const p = await pair({ deferLimit: 1000 });
    const promised: string[] = [];
    p.b.on('fulfil', (r: { status: string }) => promised.push(r.status));
    const defer = (): RequestPacket => request(p, (r) => {
      r.method = 'echo';
      r.payment = Payment.from(paymentTypes.DEFER, 500);
    });
    t.equal((await p.b.server.handle(defer(), p.ba)).code, serverCodes.OK);
    t.equal((await p.b.server.handle(defer(), p.ba)).code, serverCodes.OK);
    const third = await p.b.server.handle(defer(), p.ba);
    t.equal(third.code, serverCodes.PLEASE_PAY);
    t.equal(readAmountBody(third.response.body), 1000, 'owed amount in the body');
    t.same(promised, ['ok', 'ok']);
    t.equal(p.b.server.ledger.size, 2);
  });

  t.test('should refund deferred credit when the service fails', async (t) => {
    const p = await pair();
    p.b.registerService({ name: 'pricey', version: 1, methods: { fail: { price: 300, handler: () => { throw new Error('x'); } } } });
    const r = request(p, (r) => {
      r.service = 'pricey';
      r.method = 'fail';
      r.payment = Payment.from(paymentTypes.DEFER, 300);
    });
    t.equal((await p.b.server.handle(r, p.ba)).code, serverCodes.SERVICE_ERROR);
    t.equal(p.b.server.credits.get(p.a.identity.publicKey), 0);
  });
});

t.test('NonceManager', async (t) => {
  t.test('should issue distinct single-use nonces bounded per client', async (t) => {
    const m = new NonceManager({ key: Buffer.alloc(32, 1), clock: () => 0 });
    const pk = fixedIdentity(1).publicKey;
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++)
      seen.add(m.issue(pk).toString('hex'));
    t.equal(seen.size, 100);
    t.equal(m.outstanding(), MAX_NONCES_PER_CLIENT);
    t.same(m.derive(pk, 0, 99), [...seen][99] && Buffer.from([...seen][99], 'hex'), 'HMAC(key, pk || epoch || counter)');
  });
  t.test('should accept the previous epoch and forget older ones', async (t) => {
    let now = 5 * NONCE_EPOCH_MS;
    const m = new NonceManager({ clock: () => now });
    const pk = fixedIdentity(1).publicKey;
    const a = m.issue(pk);
    const b = m.issue(pk);
    now += NONCE_EPOCH_MS;
    t.equal(m.consume(pk, a), nonceResults.OK);
    t.equal(m.consume(pk, a), nonceResults.REPLAYED);
    t.equal(m.consume(fixedIdentity(2).publicKey, b), nonceResults.UNKNOWN, 'bound to the client key');
    m.issue(pk);
    now += NONCE_EPOCH_MS;
    t.equal(m.consume(pk, b), nonceResults.EXPIRED);
    now += NONCE_EPOCH_MS * 2;
    m.issue(pk);
    t.equal(m.usedCount(), 0, 'used set pruned per epoch');
    t.equal(m.outstanding(), 1);
  });
  t.test('should never reissue a used nonce after forgetting its client', async (t) => {
    // Regression: the counter was per client and restarted at 0 when the
    // client was evicted and seen again in the same epoch.
    const m = new NonceManager({ key: Buffer.alloc(32, 2), clock: () => 1_700_000_000_000 });
    const victim = fixedIdentity(1).publicKey;
    const n0 = m.issue(victim);
    t.equal(m.consume(victim, n0), nonceResults.OK);
    t.equal(m.consume(victim, n0), nonceResults.REPLAYED);
    for (let i = 0; i < MAX_NONCE_CLIENTS; i++)
      m.issue(Buffer.concat([Buffer.from([3]), Buffer.alloc(28), Buffer.from([i >> 24, i >> 16, i >> 8, i])]));
    const again = m.issue(victim);
    t.notOk(again.equals(n0), 'a fresh nonce, not the used one');
    t.equal(m.consume(victim, n0), nonceResults.REPLAYED, 'the used nonce stays refused');
    t.equal(m.check(victim, again), nonceResults.OK, 'check does not consume');
    t.equal(m.consume(victim, again), nonceResults.OK);
    t.equal(m.check(victim, again), nonceResults.REPLAYED);
  });
});

t.test('Requester', async (t) => {
  t.test('should call info.services, refreshing the nonce once', async (t) => {
    const p = await pair();
    const first = await p.a.request(p.ab, 'info', 'services');
    t.equal(first.status, statuses.OK);
    t.equal(first.rounds, 2, 'zero nonce, refresh-nonce, retry');
    const list = decodeServices(first.body);
    t.same(list.map((s) => s.name), ['info', 'peers', 'market', 'echo']);
    t.same(list[3], {
      name: 'echo', version: 7,
      methods: ['echo', 'free', 'fail', 'bad', 'weird', 'slow', 'version', 'methods', 'quote']
        .map((name) => ({ name, price: name === 'echo' ? 500 : 0 }))
    }, 'its own methods, then the standard ones');
    const second = await p.a.request(p.b.identity.address, 'info', 'services');
    t.equal(second.rounds, 1, 'steady state: one round trip');
    const third = await p.a.request(p.ab.hostname(), 'peers', 'list');
    t.equal(third.status, statuses.OK);
  });

  t.test('should raise the bid on too-low up to maxPayment', async (t) => {
    const p = await pair();
    const ok = await p.a.request(p.ab, 'echo', 'echo', Buffer.from('hi'), { maxPayment: 1000 });
    t.equal(ok.status, statuses.OK);
    t.equal(ok.body.toString(), 'hi');
    t.equal(ok.paid, 500);
    t.equal(ok.paymentType, paymentTypes.DEFER);
    const poor = await p.a.request(p.ab, 'echo', 'echo', Buffer.from('hi'), { maxPayment: 499 });
    t.equal(poor.status, statuses.TOO_LOW);
    t.equal(readAmountBody(poor.body), 500);
  });

  t.test('should switch to attached on no-defer', async (t) => {
    const p = await pair({ deferLimit: 0 });
    const res = await p.a.request(p.ab, 'echo', 'echo', Buffer.from('x'), { maxPayment: 600 });
    t.equal(res.status, statuses.OK);
    t.equal(res.paymentType, paymentTypes.ATTACHED);
    t.equal(res.paid, 500);
  });

  t.test('should pay what it owes on please-pay, beyond its own record only within maxPayment', async (t) => {
    const p = await pair({ deferLimit: 1000 });
    for (let i = 0; i < 2; i++)
      t.equal((await p.a.request(p.ab, 'echo', 'echo', Buffer.alloc(0), { maxPayment: 500 })).paymentType, paymentTypes.DEFER);
    t.equal(p.a.requester.owed(p.b.identity.publicKey), 1000, 'the client records what it deferred');
    const paid = await p.a.request(p.ab, 'echo', 'echo', Buffer.alloc(0), { maxPayment: 500 });
    t.equal(paid.status, statuses.OK, 'the 1000 it knows it owes is paid beyond the call\'s maximum');
    t.equal(paid.paymentType, paymentTypes.ATTACHED);
    t.equal(paid.paid, 1500);
    t.equal(p.b.server.credits.get(p.a.identity.publicKey), 0, 'debt paid down');
    t.equal(p.a.requester.owed(p.b.identity.publicKey), 0, 'and the client\'s record too');
    // A claim the client has no record of (it restarted, or the server lies).
    p.b.server.credits.charge(p.a.identity.publicKey, 800);
    const capped = await p.a.request(p.ab, 'echo', 'echo', Buffer.alloc(0), { maxPayment: 500 });
    t.equal(capped.status, statuses.PLEASE_PAY, 'unknown debt + price above maxPayment: caller decides');
    const within = await p.a.request(p.ab, 'echo', 'echo', Buffer.alloc(0), { maxPayment: 1300 });
    t.equal(within.status, statuses.OK);
    t.equal(within.paid, 1300, 'the claim plus the price, within the maximum');
  });

  t.test('should fail payment-unavailable when the hook cannot pay', async (t) => {
    const p = await makePair({ payments: noPayments }, { deferLimit: 0 });
    p.b.registerService(testService());
    await t.rejects(p.a.request(p.ab, 'echo', 'echo', Buffer.alloc(0), { maxPayment: 600 }),
      { code: requestCodes.PAYMENT_UNAVAILABLE });
  });

  t.test('should time out, abort and fail on disconnect', async (t) => {
    const p = await pair();
    p.ab.blackhole = true;
    const t0 = Date.now();
    await t.rejects(p.a.request(p.ab, 'info', 'services', Buffer.alloc(0), { timeout: 100 }), { code: requestCodes.TIMEOUT });
    t.ok(Date.now() - t0 < REQUEST_TIMEOUT_MS, 'the call\'s own timeout, not the default');
    const ac = new AbortController();
    const aborted = p.a.request(p.ab, 'info', 'services', Buffer.alloc(0), { signal: ac.signal });
    ac.abort();
    await t.rejects(aborted, { code: requestCodes.ABORTED });
    const closed = p.a.request(p.ab, 'info', 'services');
    p.a.peerClose(p.ab);
    await t.rejects(closed, { code: requestCodes.PEER_CLOSED });
    t.equal(p.a.requester.pendingCount, 0, 'nothing left pending');
    await t.rejects(p.a.request(p.ab, 'info', 'services'), { code: requestCodes.UNKNOWN_PEER });
    await t.rejects(p.a.request('rb1qnosuchpeer', 'info', 'services'), { code: requestCodes.UNKNOWN_PEER });
    await t.rejects(p.a.request(p.b.identity.publicKey, 'info', 'services', Buffer.alloc(0), { timeout: 0 }), RequestError);
  });

  t.test('should serve concurrent requests', async (t) => {
    const p = await pair();
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      p.a.request(p.ab, 'echo', 'free', Buffer.from(String(i)))));
    t.same(all.map((r) => r.body.toString()), all.map((_, i) => `free:${i}`));
    t.ok(all.every((r) => r.status === statuses.OK));
  });
});

t.test('Robustness', async (t) => {
  t.test('should score garbage and keep serving', async (t) => {
    const p = await pair();
    const garbage = [Buffer.alloc(0), Buffer.from('ff'), Buffer.alloc(500, 0xff)];
    for (const g of garbage) {
      await deliver(p.ab, 'csreq', g);
      await deliver(p.ab, 'csres', g);
      await deliver(p.ab, 'cshello', g);
    }
    t.ok(p.ba.errors.length === 9 && p.ba.errors.every((c) => c !== 'handler-failure'), p.ba.errors.join(','));
    t.ok(p.ba.banScore >= 100, `ban score ${p.ba.banScore}`);
    const res = await p.a.request(p.ab, 'info', 'services');
    t.equal(res.status, statuses.OK, 'still serving');
  });

  t.test('should prove identities with csauth before listing them', async (t) => {
    const p = await pair();
    const c = new FakePeer('10.0.0.3:1', false);
    const cBack = new FakePeer('10.0.0.1:2', true);
    c.remote = p.b;
    c.back = cBack;
    p.b.peerOpen(cBack);
    // The third node claims a's identity but cannot sign b's challenge.
    await deliver(c, 'cshello', HelloPacket.fromOptions(1, p.a.identity.publicKey, Buffer.alloc(16, 3)).encode());
    const listed = (): Array<string | null> => p.b.cloudPeers().map((x) => x.identity);
    t.same(listed(), [p.a.identity.address, null], 'a claim alone is not listed');
    await deliver(c, 'csauth', AuthPacket.create(fixedIdentity(6), magic, Buffer.alloc(16)).encode());
    t.same(cBack.errors, ['bad-auth-sig']);
    t.equal(cBack.banScore, 50);
    t.same(listed(), [p.a.identity.address, null]);
    const d = new FakePeer('10.0.0.4:1', false);
    const dBack = new FakePeer('10.0.0.1:3', true);
    d.remote = p.b;
    d.back = dBack;
    p.b.peerOpen(dBack);
    await deliver(d, 'csauth', AuthPacket.create(fixedIdentity(6), magic, Buffer.alloc(16)).encode());
    t.same(dBack.errors, ['unexpected-auth'], 'auth before hello');
    t.equal((await p.a.request(p.b.identity.address, 'info', 'services')).status, statuses.OK, 'routing uses the proven peer');
  });

  t.test('should score a forged envelope and a changed hello', async (t) => {
    const p = await pair();
    const req = request(p);
    req.sig = Buffer.alloc(64, 1);
    await deliver(p.ab, 'csreq', req.encode());
    await settle();
    t.same(p.ba.errors, [serverCodes.BAD_SIGNATURE]);
    const answered = p.ba.sent.filter(([cmd]) => cmd === 'csres').length;
    t.equal(answered, 1, 'still answered with invalid-signature');
    await deliver(p.ab, 'cshello', HelloPacket.fromOptions(1, fixedIdentity(7).publicKey, Buffer.alloc(16)).encode());
    t.same(p.ba.errors, [serverCodes.BAD_SIGNATURE, 'duplicate-hello']);
    await deliver(p.ab, 'cshello', HelloPacket.fromOptions(1, p.a.identity.publicKey, Buffer.alloc(16)).encode());
    t.equal(p.ba.errors.length, 2, 'repeating the same hello is harmless');
    const unsolicited = new ResponsePacket();
    unsolicited.status = 'ok';
    await deliver(p.ab, 'csres', unsolicited.encode());
    t.equal(p.ba.errors.length, 2, 'late responses are dropped quietly');
  });

  t.test('should rate-limit a packet flood', async (t) => {
    // A frozen clock: the bucket does not refill, so the count is exact on any machine.
    const p = await pair({ clock: () => 1_000_000 });
    const hello = HelloPacket.fromOptions(1, p.a.identity.publicKey, Buffer.alloc(16)).encode();
    await Promise.all(Array.from({ length: FLOOD_BURST + 50 }, () => deliver(p.ab, 'cshello', hello)));
    const floods = p.ba.errors.filter((c) => c === 'flood').length;
    // The pair's own handshake packets (hello, auth) drew from the same bucket.
    t.equal(floods, 52, `flood errors ${floods}`);
  });

  t.test('should answer busy past the in-flight limit', async (t) => {
    let release!: () => void;
    const p = await pair({}, new Promise<void>((resolve) => { release = resolve; }));
    const reqs = Array.from({ length: MAX_INFLIGHT_PER_PEER + 4 }, () =>
      request(p, (r) => { r.method = 'slow'; }).encode());
    // A delivery ends with its answer: the slow ones are held until the busy
    // answers are out, so none ends early and frees a slot.
    const delivered = Promise.all(reqs.map((raw) => deliver(p.ab, 'csreq', raw)));
    const answered = () => p.ba.sent.filter(([cmd]) => cmd === 'csres').map(([, raw]) => ResponsePacket.decode(raw).status);
    await forValue(() => answered().length, 4, 5000, 'the busy answers');
    release();
    await delivered;
    await forValue(() => answered().length, reqs.length, 5000, 'all answered');
    const seen = answered();
    t.equal(seen.filter((s) => s === statuses.OK).length, MAX_INFLIGHT_PER_PEER, seen.join(','));
    t.equal(seen.filter((s) => s === statuses.BUSY).length, 4);
  });

  t.test('should ignore cs packets from peers without the service bit', async (t) => {
    const p = await pair();
    const plain = new FakePeer('10.0.0.9:1', false);
    plain.services = 9;
    p.b.peerOpen(plain);
    await t.rejects(p.b.handlePacket(plain, 'cshello', HelloPacket.fromOptions(1, fixedIdentity(4).publicKey, Buffer.alloc(16)).encode()),
      { code: 'not-cloud-peer', verdict: 'ignore' });
    await t.rejects(p.b.handlePacket(plain, 'csreq', Buffer.alloc(2)), { code: 'truncated', verdict: 'reject' });
    t.equal(p.b.cloudPeers().length, 1);
  });
});

t.test('RPC', async (t) => {
  const p = await pair();
  const rpc = new Map<string, RPCMethod>();
  addRPCs({ addRPC: (name, _help, fn) => { rpc.set(name, fn); } }, p.a);
  const call = async (name: string, params: unknown[] = []): Promise<unknown> => await (rpc.get(name) as RPCMethod)(params);

  t.test('getidentity', async (t) => {
    t.same(await call('getidentity'), { identity: p.a.identity.address, pubkey: p.a.identity.publicKey.toString('hex') });
  });
  t.test('getcloudpeers', async (t) => {
    const peers = await call('getcloudpeers') as Array<Record<string, unknown>>;
    t.equal(peers.length, 1);
    t.match(peers[0], {
      identity: p.b.identity.address, pubkey: p.b.identity.publicKey.toString('hex'), addr: p.ab.hostname(),
      services: '0000000001000009', version: 70015, csversion: PROTOCOL_VERSION, inbound: false
    });
  });
  t.test('cloudrequest', async (t) => {
    const res = await call('cloudrequest', [p.b.identity.address, 'info', 'services']) as { status: string; body: Array<{ name: string }> };
    t.equal(res.status, 'ok');
    t.same(res.body.map((s) => s.name), ['info', 'peers', 'market', 'echo']);
    const none = await call('cloudrequest', [p.ab.hostname(), 'peers', 'list', '[]']) as { body: unknown[] };
    t.same(none.body, [], 'a peer that announces nothing is not named');
    p.a.announce({ url: 'https://a.example/', storagePrice: 1, uploadPrice: 1, downloadPrice: 1, capacity: 1, maxDuration: 1, expiry: 10 });
    await forValue(() => p.b.hosts().length, 1, 5000, 'announcement at b');
    const peers = await call('cloudrequest', [p.ab.hostname(), 'peers', 'list', '[]']) as { body: Array<{ identity: string; addr: string }> };
    t.same(peers.body.map((x) => [x.identity, x.addr]), [[p.a.identity.address, '']], 'a host is named, with no socket address');
    const raw = await call('cloudrequest', [p.ab.hostname(), 'echo', 'free', '"00ff"']) as { body: string };
    t.equal(raw.body, Buffer.from('free:\x00\xff', 'latin1').toString('hex'), 'hex when no local codec');
    const low = await call('cloudrequest', [p.ab.hostname(), 'echo', 'echo']) as { status: string; body: unknown };
    t.same(low, { status: statuses.TOO_LOW, body: { amount: 500 }, paid: 0, rounds: 1 });
  });
  t.test('cloudrequest errors', async (t) => {
    const bad: Array<[unknown[], number]> = [
      [[], rpcCodes.INVALID_PARAMETER],
      [['x', 'info'], rpcCodes.INVALID_PARAMETER],
      [[p.ab.hostname(), 'Info', 'services'], rpcCodes.INVALID_PARAMETER],
      [[p.ab.hostname(), 'info', 'services', '{nope'], rpcCodes.INVALID_PARAMETER],
      [[p.ab.hostname(), 'info', 'services', '[1]'], rpcCodes.INVALID_PARAMETER],
      [[p.ab.hostname(), 'echo', 'free', '{"a":1}'], rpcCodes.INVALID_PARAMETER],
      [['127.0.0.1:1', 'info', 'services'], rpcCodes.CLIENT_NODE_NOT_CONNECTED]
    ];
    for (const [params, code] of bad) {
      try {
        await call('cloudrequest', params);
        t.fail(`no error for ${JSON.stringify(params)}`);
      } catch (e) {
        t.ok(e instanceof RPCError, JSON.stringify(params));
        t.equal((e as RPCError).code, code, JSON.stringify(params));
      }
    }
  });
  t.test('registerService', async (t) => {
    t.throws(() => p.a.registerService({ name: 'info', version: 1, methods: { x: { handler: () => Buffer.alloc(0) } } }));
    t.throws(() => p.a.registerService({ name: 'Bad', version: 1, methods: { x: { handler: () => Buffer.alloc(0) } } }));
    t.throws(() => p.a.registerService({ name: 'empty', version: 1, methods: {} }));
  });
  t.test('PacketError is what handlers throw', async (t) => {
    await t.rejects(p.a.handlePacket(p.ab, 'csres', Buffer.alloc(1)), PacketError);
  });
});
