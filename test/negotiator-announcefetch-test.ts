// Announcements fetched on request (peers.announce, PROTOCOL 2.7) over an
// in-memory pair: the newest a peer knows or those named, taken into the
// asker's store with the store's verdicts, a price paid by deferral, and a
// peer answering an announcement its host did not sign scored 20. Real
// nodes: the market test.
import t from 'tap';
import { announcement, announceResults, type HostOffer } from '../lib/negotiator/announce';
import { encodeAnnouncements, decodeAnnounceArgs, encodeAnnounceArgs } from '../lib/negotiator/coreservices';
import { Policy } from '../lib/negotiator/policy';
import type { PeerLike } from '../lib/negotiator/peers';
import { makePair, fixedIdentity, network } from './util/negotiator-pair';

function offer(over: Partial<HostOffer> = {}): HostOffer {
  return {
    url: 'https://files.example.com/cc', storagePrice: 5000, uploadPrice: 100, downloadPrice: 200,
    capacity: 10e9, maxDuration: 1000, expiry: 150, ...over
  };
}

const signed = (byte: number, seq: number, over: Partial<HostOffer> = {}) =>
  announcement(offer(over), seq).sign(fixedIdentity(byte), network.magic);

t.test('peers.announce', async (t) => {
  const bans: Array<[PeerLike, number]> = [];
  const p = await makePair({ ban: (peer, score) => bans.push([peer, score]) },
    { policy: Policy.fromStrings(['min-payment peers.announce 20']) });
  for (const [byte, seq, price] of [[5, 3, 4000], [6, 1, 6000]])
    p.b.announcements.add(signed(byte, seq, { storagePrice: price }), 0);

  t.test('should round-trip its args and refuse more than 16 keys', async (t) => {
    const keys = [fixedIdentity(5).publicKey, fixedIdentity(6).publicKey];
    t.same(decodeAnnounceArgs(encodeAnnounceArgs(keys)), keys);
    t.throws(() => decodeAnnounceArgs(encodeAnnounceArgs(Array(17).fill(keys[0]))));
  });

  t.test('should fetch the newest a peer knows, paid by deferral, into the store', async (t) => {
    const got = await p.a.fetchAnnouncements(p.ab, [], { maxPayment: 20 });
    t.equal(got.paid, 20);
    t.same(got.announcements.map((a) => [a.packet.storagePrice, a.result]).sort(),
      [[4000, announceResults.ACCEPTED], [6000, announceResults.ACCEPTED]]);
    t.equal(p.a.announcements.get(fixedIdentity(5).publicKey)?.seq, 3, 'in the asker\'s store');
    const again = await p.a.fetchAnnouncements(p.ab, [fixedIdentity(6).publicKey], { maxPayment: 20 });
    t.same(again.announcements.map((a) => [a.packet.storagePrice, a.result]), [[6000, announceResults.STALE]], 'the one named');
    await t.rejects(p.a.fetchAnnouncements(p.ab, []), { code: 'declined' }, 'unpaid: declined');
    t.same(bans, []);
  });

  t.test('should score a peer answering an announcement its host did not sign', async (t) => {
    const forged = signed(7, 1);
    forged.storagePrice = 1;
    const peers = p.b.registry.get('peers');
    const method = peers?.methods.announce;
    if (!method)
      throw new Error('no peers.announce');
    method.handler = () => encodeAnnouncements([forged]);
    const got = await p.a.fetchAnnouncements(p.ab, [], { maxPayment: 20 });
    t.same(got.announcements.map((a) => a.result), [announceResults.BAD_SIG]);
    t.notOk(p.a.announcements.get(fixedIdentity(7).publicKey), 'not stored');
    t.same(bans.map(([peer, score]) => [peer === p.ab, score]), [[true, 20]]);
  });
});
