// Abuse limits of the negotiator (PROTOCOL.md 2.8, 2.9): relayed gossip is
// never scored and is paced under the receiver's budget, fresh identities are
// capped per source peer and cannot evict long-known hosts, csreq must come
// from the connection's proven identity and has its own lower budget, and a
// badly signed csres does not fail the call it answers.
import t from 'tap';
import { randomBytes } from 'crypto';
import bcoin = require('../lib/bcoin');
import { Identity } from '../lib/base/identity';
import { AnnouncePacket } from '../lib/negotiator/announcepacket';
import { HelloPacket } from '../lib/negotiator/packets';
import { RequestPacket, ResponsePacket } from '../lib/negotiator/envelope';
import { AnnouncementStore, announcement, announceResults, type HostOffer } from '../lib/negotiator/announce';
import { TokenBucket, sourceOf } from '../lib/negotiator/peers';
import { serverCodes } from '../lib/negotiator/server';
import { nonceResults } from '../lib/negotiator/nonces';
import { statuses } from '../lib/negotiator/status';
import {
  ANNOUNCE_FLOOD_BURST, ANNOUNCE_SEND_BURST, ANNOUNCE_SEND_RATE, ANNOUNCE_SYNC_LIMIT, NEW_HOSTS_BURST,
  REQ_FLOOD_BURST
} from '../lib/negotiator/common';
import { makeNode, makePair, link, deliver, settle, fixedIdentity, network, FakePeer, Pair } from './util/negotiator-pair';
import { forValue } from './util/wait';

const magic = network.magic;

function offer(over: Partial<HostOffer> = {}): HostOffer {
  return {
    url: 'http://x.example/', storagePrice: 1, uploadPrice: 1, downloadPrice: 1,
    capacity: 1, maxDuration: 100, expiry: 200, ...over
  };
}

function freshIdentity(): Identity {
  return new Identity(bcoin.KeyRing.fromPrivate(randomBytes(32), true), network);
}

function freshAnnouncements(n: number): Buffer[] {
  return Array.from({ length: n }, () => announcement(offer(), 1).sign(freshIdentity(), magic).encode());
}

/** A signed request from a to b; `nonce` defaults to one b issued to a. */
function request(p: Pair, signer: Identity = p.a.identity, nonce?: Buffer): RequestPacket {
  const r = new RequestPacket();
  r.to = p.b.identity.publicKey;
  r.nonce = nonce ?? p.b.server.nonces.issue(signer.publicKey);
  r.service = 'info';
  r.method = 'services';
  return r.sign(signer, magic);
}

function answers(peer: FakePeer): number {
  return peer.sent.filter(([cmd]) => cmd === 'csres').length;
}

/** A clock that never moves: budgets do not refill, so counts are exact on any machine. */
const frozen = (): number => 1_000_000;

t.test('csannounce gossip', async (t) => {
  t.test('should not get an honest relayer scored for a fresh-key flood', async (t) => {
    // Regression: A relayed every fresh identity an attacker fed it, and B
    // scored A for B's flood limit (ban score 175).
    const height = (): number => 100;
    const A = await makeNode(1, { height, clock: frozen });
    const B = await makeNode(2, { height });
    const [ab, ba] = await link(A, B);
    const m1 = new FakePeer('10.9.9.1:1', false);
    const m2 = new FakePeer('10.9.9.2:1', false);
    A.peerOpen(m1);
    A.peerOpen(m2);
    const anns = freshAnnouncements(400);
    const errors: string[] = [];
    const t0 = Date.now();
    await Promise.all(anns.map((raw, i) => A.handlePacket(i % 2 ? m1 : m2, 'csannounce2', raw)
      .catch((e: { code: string }) => { errors.push(e.code); })));
    t.same(errors, [], 'over-budget announcements are dropped silently, not scored');
    t.equal(A.announcements.size, 2 * NEW_HOSTS_BURST, 'new identities capped per source address');
    await forValue(() => B.announcements.size, (n) => n >= ANNOUNCE_SEND_BURST, 5000, 'first relays at B');
    await settle();
    // A paces relays on real timers: one burst at once, then the send rate.
    const paced = ANNOUNCE_SEND_BURST + Math.ceil((Date.now() - t0) / 1000 * ANNOUNCE_SEND_RATE);
    t.ok(B.announcements.size <= Math.min(paced, 2 * NEW_HOSTS_BURST - 1),
      `the rest is paced, not sent at once (${B.announcements.size} <= ${paced})`);
    t.equal(ba.banScore, 0, 'B does not score A');
    t.same(ba.errors, []);
    t.equal(ab.banScore, 0);
    await A.close();
    await B.close();
  });

  t.test('should not reset the new-identity budget when the source reconnects', async (t) => {
    const A = await makeNode(1, { height: () => 100, clock: frozen });
    const anns = freshAnnouncements(3 * NEW_HOSTS_BURST);
    const results: string[] = [];
    // Three connections in turn from one address, each a fresh peer object.
    for (let c = 0; c < 3; c++) {
      const m = new FakePeer(`10.9.8.7:${4000 + c}`, false);
      A.peerOpen(m);
      for (const raw of anns.slice(c * NEW_HOSTS_BURST, (c + 1) * NEW_HOSTS_BURST))
        await A.handlePacket(m, 'csannounce2', raw).catch((e: { code: string }) => { results.push(e.code); });
      A.peerClose(m);
    }
    t.same(results, [], 'nothing scored');
    t.equal(A.announcements.size, NEW_HOSTS_BURST, 'one budget for the address, not one per connection');
    const other = new FakePeer('10.9.8.8:4000', false);
    A.peerOpen(other);
    await A.handlePacket(other, 'csannounce2', freshAnnouncements(1)[0]);
    t.equal(A.announcements.size, NEW_HOSTS_BURST + 1, 'another address has its own budget');
    await A.close();
  });

  t.test('should charge each source address once', async (t) => {
    // [hostname, source]: ports never matter; an IPv6 /64 is one source.
    const table: Array<[string, string]> = [
      ['10.1.2.3:8333', '10.1.2.3'],
      ['10.1.2.3:50123', '10.1.2.3'],
      ['[2001:db8:1:2::1]:8333', '2001:db8:1:2::/64'],
      ['[2001:db8:1:2:ffff:0:0:9]:1', '2001:db8:1:2::/64'],
      ['[2001:0db8:0001:0002::]:1', '2001:db8:1:2::/64'],
      ['[2001:db8:1:3::1]:8333', '2001:db8:1:3::/64'],
      ['[::1]:8333', '0:0:0:0::/64'],
      ['[::ffff:10.1.2.3]:8333', '10.1.2.3'],
      ['abcdefghijklmnop.onion:8333', 'abcdefghijklmnop.onion']
    ];
    for (const [hostname, source] of table)
      t.equal(sourceOf(hostname), source, hostname);
  });

  t.test('should drop csannounce over the budget without scoring', async (t) => {
    const p = await makePair({ height: () => 100 }, { height: () => 100, clock: frozen });
    const anns = freshAnnouncements(ANNOUNCE_FLOOD_BURST + 20);
    await Promise.all(anns.map((raw) => deliver(p.ab, 'csannounce2', raw)));
    await settle();
    t.same(p.ba.errors, Array(20).fill('flood'), 'exactly the excess is dropped, as `flood`');
    t.equal(p.ba.banScore, 0);
    t.equal(p.b.announcements.size, NEW_HOSTS_BURST);
    await p.a.close();
  });

  t.test('should sync verified and long-known hosts to new peers ahead of a flood', async (t) => {
    let now = 1_000_000;
    const height = (): number => 100;
    const A = await makeNode(1, { height, clock: () => now, announceLimit: 60 });
    // Ten hosts prove themselves to A, ten more are known by gossip; then
    // floods of fresh identities from many addresses fill A's store.
    const verified = await Promise.all(Array.from({ length: 10 }, (_, i) => makeNode(40 + i, { height })));
    const links = [];
    for (const h of verified) {
      links.push(await link(h, A));
      h.announce(offer({ expiry: 300 }));
    }
    await forValue(() => A.announcements.size, 10, 5000, 'verified hosts announced');
    // They stay verified after they disconnect (and relays to them stop).
    for (const [ha, ah] of links) {
      ha.closed = ah.closed = true;
      A.peerClose(ah);
    }
    const gossip = Array.from({ length: 10 }, () => freshAnnouncements(1)[0]);
    const relay = new FakePeer('10.7.0.1:1', false);
    A.peerOpen(relay);
    for (const raw of gossip)
      await A.handlePacket(relay, 'csannounce2', raw);
    now += 3_600_000;
    const limit = A.announcements.limit;
    for (let src = 0; src < 10; src++) {
      const m = new FakePeer(`10.8.0.${src}:1`, false);
      A.peerOpen(m);
      for (const raw of freshAnnouncements(20))
        await A.handlePacket(m, 'csannounce2', raw);
      A.peerClose(m);
    }
    t.equal(A.announcements.size, limit, 'store full');
    const sync = A.announcements.forSync(100, ANNOUNCE_SYNC_LIMIT);
    const keys = sync.map((a) => a.publicKey.toString('hex'));
    const want = [...verified.map((h) => h.identity.publicKey.toString('hex')),
      ...gossip.map((raw) => AnnouncePacket.decode(raw).publicKey.toString('hex'))];
    t.same(new Set(keys.slice(0, 10)), new Set(want.slice(0, 10)), 'verified hosts first');
    t.same(keys.slice(10, 20), want.slice(10), 'then long-known ones in first-seen order');
    t.ok(want.every((k) => A.announcements.has(Buffer.from(k, 'hex'))), 'none evicted by the flood');
    await A.close();
    for (const h of verified)
      await h.close();
  });
});

t.test('AnnouncementStore limits', async (t) => {
  const sign = (id: Identity, seq = 1): AnnouncePacket => announcement(offer(), seq).sign(id, magic);

  t.test('should cap new identities per source and not charge known ones', async (t) => {
    let now = 1_000_000;
    const store = new AnnouncementStore(magic, { clock: () => now });
    const budget = new TokenBucket(1 / 60, 2, () => now);
    const known = fixedIdentity(3);
    t.equal(store.add(sign(known), 100, { newHosts: budget }), announceResults.ACCEPTED);
    t.equal(store.add(sign(fixedIdentity(4)), 100, { newHosts: budget }), announceResults.ACCEPTED);
    t.equal(store.add(sign(fixedIdentity(5)), 100, { newHosts: budget }), announceResults.TOO_MANY_NEW);
    now += 60_000;
    t.equal(store.add(sign(known, 2), 100, { newHosts: budget }), announceResults.ACCEPTED, 'updates are not new');
    t.equal(store.add(sign(fixedIdentity(5)), 100, { newHosts: budget }), announceResults.ACCEPTED, 'refilled');
    t.equal(store.add(sign(fixedIdentity(6)), 100, { own: true, newHosts: budget }), announceResults.ACCEPTED, 'own');
  });

  t.test('should keep long-known identities when a flood fills the store', async (t) => {
    let now = 1_000_000;
    const store = new AnnouncementStore(magic, { clock: () => now, limit: 10, intervalMs: 0 });
    const old = Array.from({ length: 10 }, (_, i) => fixedIdentity(20 + i));
    for (const id of old)
      t.equal(store.add(sign(id), 100), announceResults.ACCEPTED);
    // A long-known host re-announcing keeps its place (first seen, not last).
    now += 1;
    t.equal(store.add(sign(old[0], 2), 100), announceResults.ACCEPTED);
    for (let i = 0; i < 60; i++)
      t.equal(store.add(sign(freshIdentity()), 100), announceResults.ACCEPTED);
    t.equal(store.size, 10);
    t.ok(old.slice(0, 5).every((id) => store.has(id.publicKey)), 'the older half survives the flood');
    t.equal(store.list(100)[0].publicKey.equals(old[0].publicKey), false, 'newest accepted listed first');
    t.equal(store.get(old[0].publicKey)?.seq, 2);
    // Expired entries make room before anything else goes.
    t.equal(store.add(sign(freshIdentity()), 201), announceResults.EXPIRED);
    const late = announcement(offer({ expiry: 300 }), 1).sign(freshIdentity(), magic);
    t.equal(store.add(late, 201), announceResults.ACCEPTED);
    t.equal(store.size, 1, 'expired entries dropped to make room');
  });
});

t.test('csreq', async (t) => {
  t.test('should score a request not from the proven identity and not answer it', async (t) => {
    const p = await makePair();
    const stranger = freshIdentity();
    await deliver(p.ab, 'csreq', request(p, stranger).encode());
    await settle();
    t.same(p.ba.errors, ['wrong-sender']);
    t.equal(p.ba.banScore, 10);
    t.equal(answers(p.ba), 0, 'no signature work, no answer');
  });

  t.test('should ignore requests before the identity is proven', async (t) => {
    const p = await makePair();
    const c = new FakePeer('10.0.0.7:1', false);
    const cBack = new FakePeer('10.0.0.1:7', true);
    c.remote = p.b;
    c.back = cBack;
    p.b.peerOpen(cBack);
    const id = fixedIdentity(8);
    await deliver(c, 'cshello', HelloPacket.fromOptions(1, id.publicKey, Buffer.alloc(16, 8)).encode());
    await deliver(c, 'csreq', request(p, id).encode());
    await settle();
    t.same(cBack.errors, ['not-proven']);
    t.equal(cBack.banScore, 0);
    t.equal(answers(cBack), 0);
  });

  t.test('should give csreq a lower budget than other packets', async (t) => {
    const p = await makePair({}, { clock: frozen });
    const reqs = Array.from({ length: REQ_FLOOD_BURST + 10 }, () => request(p, p.a.identity, randomBytes(16)).encode());
    await Promise.all(reqs.map((raw) => deliver(p.ab, 'csreq', raw)));
    await settle();
    const floods = p.ba.errors.filter((c) => c === 'flood').length;
    t.same(p.ba.errors, Array(10).fill('flood'), 'exactly the excess over the csreq burst');
    t.equal(p.ba.banScore, floods);
  });

  t.test('should pace our own requests under the server budget', async (t) => {
    const p = await makePair();
    const all = await Promise.all(Array.from({ length: 24 }, () => p.a.request(p.ab, 'info', 'services')));
    t.ok(all.every((r) => r.status === statuses.OK));
    t.ok(p.ab.sent.filter(([cmd]) => cmd === 'csreq').length > REQ_FLOOD_BURST, 'more csreq than one burst');
    t.same(p.ba.errors, [], 'none dropped or scored');
  });

  t.test('should decline a stale nonce before checking the signature', async (t) => {
    const p = await makePair();
    const r = request(p, p.a.identity, randomBytes(16));
    r.sig = Buffer.alloc(64, 1);
    const verify = RequestPacket.prototype.verify;
    let verified = 0;
    RequestPacket.prototype.verify = function (this: RequestPacket, m: number): boolean {
      verified++;
      return verify.call(this, m);
    };
    t.teardown(() => { RequestPacket.prototype.verify = verify; });
    const handled = await p.b.server.handle(r, p.ba);
    t.equal(handled.code, nonceResults.UNKNOWN);
    t.equal(handled.response.status, statuses.REFRESH_NONCE);
    t.ok(handled.response.hasNextNonce());
    t.equal(verified, 0, 'no signature check');
    const bad = request(p);
    bad.sig = Buffer.alloc(64, 1);
    t.equal((await p.b.server.handle(bad, p.ba)).code, serverCodes.BAD_SIGNATURE, 'a live nonce is checked');
    t.equal(verified, 1);
  });
});

t.test('csres', async (t) => {
  t.test('should drop a badly signed response and wait for the real one', async (t) => {
    const p = await makePair();
    p.ab.blackhole = true;
    const call = p.a.request(p.ab, 'info', 'services', Buffer.alloc(0), { timeout: 5000 });
    await forValue(() => p.ab.sent.filter(([cmd]) => cmd === 'csreq').length, 1, 5000, 'request sent');
    const raw = p.ab.sent.filter(([cmd]) => cmd === 'csreq')[0][1];
    const req = RequestPacket.decode(raw);
    const forged = new ResponsePacket();
    forged.requestHash = req.hash(magic);
    forged.status = 'ok';
    forged.sign(fixedIdentity(9), magic);
    await deliver(p.ba, 'csres', forged.encode());
    await settle();
    t.equal(p.a.requester.pendingCount, 1, 'still waiting');
    t.same(p.ab.errors, [], 'not scored either');
    p.ab.blackhole = false;
    await deliver(p.ab, 'csreq', raw);
    const res = await call;
    t.equal(res.status, statuses.OK);
    t.equal(res.rounds, 2);
  });
});
