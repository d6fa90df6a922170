// The signed reputation statement (lib/reputation/statement.ts, PROTOCOL
// 2.8): build, sign, encode, decode, verify; tampering and malformed
// bodies keyed by error code.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { Identity } from '../lib/base/identity';
import { buildView } from '../lib/reputation';
import { NO_TRUST, ReputationStatement } from '../lib/reputation/statement';
import { decodeGetArgs } from '../lib/reputation/service';
import { PeerViews } from '../lib/reputation/peerviews';
import { STATEMENT_MAX_AGE } from '../lib/reputation/common';

const network = bcoin.Network.get('regtest');
const signer = Identity.generate(network);
const key = (c: string): string => `02${c.repeat(64)}`;

t.test('ReputationStatement', async (t) => {
  const view = buildView([
    { id: 'c1', renter: key('1'), host: key('a'), settled: true, refunded: false, paid: 60_000,
      byRenter: { score: 80, passed: 3, failed: 0, flags: 1 }, byHost: null }
  ], key('0'));
  const rep = view.identities.get(key('a'))!;
  const s = ReputationStatement.fromReputation(rep, 1234).sign(signer, network.magic);

  t.test('should round-trip and verify', async (t) => {
    const raw = s.encode();
    t.equal(raw.length, 200);
    const back = ReputationStatement.decode(raw);
    t.ok(back.verify(network.magic));
    t.same(back.getJSON(), s.getJSON());
    t.match(back.getJSON(), {
      signer: signer.publicKey.toString('hex'), subject: key('a'), height: 1234, score: rep.score, known: true,
      ratings: { counted: 1, settled: 60_000, weight: 60_000, score: 900 }, trust: null
    });
    t.equal(back.trust, NO_TRUST);
  });

  t.test('should not verify when tampered with or on another network', async (t) => {
    const raw = s.encode();
    t.notOk(ReputationStatement.decode(raw).verify(bcoin.Network.get('main').magic));
    const edited = Buffer.from(raw);
    edited[70] ^= 1; // score
    t.notOk(ReputationStatement.decode(edited).verify(network.magic));
    const other = ReputationStatement.decode(raw);
    other.signer = Identity.generate(network).publicKey;
    t.notOk(other.verify(network.magic), 'another signer');
  });

  t.test('should reject malformed bodies by code', async (t) => {
    const raw = s.encode();
    const cases: Record<string, Buffer> = {
      truncated: raw.subarray(0, 199),
      'trailing-bytes': Buffer.concat([raw, Buffer.alloc(1)]),
      'bad-pubkey': Buffer.concat([Buffer.from([0x04]), raw.subarray(1)]),
      'bad-reputation': (() => { const b = Buffer.from(raw); b.writeUInt16LE(1001, 70); return b; })()
    };
    for (const [code, body] of Object.entries(cases))
      t.throws(() => ReputationStatement.decode(body), { code }, code);
  });

  t.test('should take exactly one identity key as get args', async (t) => {
    t.same(decodeGetArgs(Buffer.from(key('a'), 'hex')), Buffer.from(key('a'), 'hex'));
    t.throws(() => decodeGetArgs(Buffer.alloc(32)), { code: 'truncated' });
    t.throws(() => decodeGetArgs(Buffer.alloc(34, 2)), { code: 'trailing-bytes' });
  });

  t.test('should keep a peer\'s statement only when it names the peer and the subject asked about', async (t) => {
    const views = new PeerViews();
    const subject = Buffer.from(key('a'), 'hex');
    const other = Identity.generate(network).publicKey;
    t.equal(views.add(s, other, subject, network.magic), 'wrong-signer');
    t.equal(views.add(s, signer.publicKey, Buffer.from(key('b'), 'hex'), network.magic), 'wrong-subject');
    t.equal(views.add(s, signer.publicKey, subject, bcoin.Network.get('main').magic), 'bad-signature');
    const self = ReputationStatement.fromReputation(rep, 1);
    self.subject = signer.publicKey;
    self.sign(signer, network.magic);
    t.equal(views.add(self, signer.publicKey, signer.publicKey, network.magic), 'about-itself');
    t.equal(views.add(s, signer.publicKey, subject, network.magic), null);
    const older = ReputationStatement.fromReputation(rep, 1000).sign(signer, network.magic);
    t.equal(views.add(older, signer.publicKey, subject, network.magic), 'older');
    t.equal(views.size, 1);
    t.same([...views.opinions(1234 + STATEMENT_MAX_AGE).keys()], [key('a')]);
    t.same([...views.opinions(1235 + STATEMENT_MAX_AGE).keys()], [], 'a stale statement is not counted');
  });
});
