// Policies: parsing, the decision table (most specific scope wins, deny
// beats allow at the same scope), min-payment, rate limits.
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Policy, PolicyError, RateLimiter, parseRule } from '../lib/negotiator/policy';
import { identityAddress } from '../lib/base/identity';
import bcoin = require('../lib/bcoin');
import { fixedIdentity, network } from './util/negotiator-pair';

const alice = fixedIdentity(1).publicKey;
const bob = fixedIdentity(2).publicKey;
const aliceAddr = identityAddress(alice, network);
const bobAddr = identityAddress(bob, network);

function subject(service: string, method: string, who: Buffer) {
  return { service, method, publicKey: who, address: identityAddress(who, network) };
}

t.test('Policy decisions', async (t) => {
  // [rules, service, method, client, allowed, deciding rule]
  const table: Array<[string[], string, string, Buffer, boolean, string | null]> = [
    [[], 'info', 'services', alice, true, null],
    [['deny *'], 'info', 'services', alice, false, 'deny *'],
    [['allow *', 'deny *'], 'info', 'services', alice, false, 'deny *'],
    [['deny *', 'allow info'], 'info', 'services', alice, true, 'allow info'],
    [['deny *', 'allow info'], 'peers', 'list', alice, false, 'deny *'],
    [['allow info', 'deny info'], 'info', 'services', alice, false, 'deny info'],
    [['deny info', 'allow info.services'], 'info', 'services', alice, true, 'allow info.services'],
    [['allow info', 'deny info.services'], 'info', 'services', alice, false, 'deny info.services'],
    [['allow info', 'deny info.services'], 'info', 'other', alice, true, 'allow info'],
    [['deny info.services', 'allow info.services'], 'info', 'services', alice, false, 'deny info.services'],
    [[`deny *@${aliceAddr}`], 'info', 'services', alice, false, `deny *@${aliceAddr}`],
    [[`deny *@${aliceAddr}`], 'info', 'services', bob, true, null],
    [['deny *', `allow *@${bobAddr}`], 'peers', 'list', bob, true, `allow *@${bobAddr}`],
    [[`deny *@${alice.toString('hex')}`], 'peers', 'list', alice, false, `deny *@${alice.toString('hex')}`],
    [['allow info.services', `deny info@${aliceAddr}`], 'info', 'services', alice, false, `deny info@${aliceAddr}`],
    [[`deny info@${aliceAddr}`, `allow info.services@${aliceAddr}`], 'info', 'services', alice, true, `allow info.services@${aliceAddr}`],
    [[`allow info.services@${aliceAddr}`, `deny info.services@${aliceAddr}`], 'info', 'services', alice, false, `deny info.services@${aliceAddr}`]
  ];
  for (const [rules, service, method, who, allowed, rule] of table) {
    const name = `${rules.join(', ') || '(none)'} | ${service}.${method} by ${who === alice ? 'alice' : 'bob'}`;
    t.test(`should ${allowed ? 'allow' : 'deny'}: ${name}`, async (t) => {
      const d = Policy.fromStrings(rules).decide(subject(service, method, who));
      t.equal(d.allowed, allowed);
      t.equal(d.rule, rule);
    });
  }

  t.test('should take min-payment from the most specific scope', async (t) => {
    const p = Policy.fromStrings([
      'min-payment * 100', 'min-payment storage 500sat', 'min-payment storage.put 2000',
      `min-payment storage@${aliceAddr} 50`
    ]);
    t.equal(p.decide(subject('info', 'services', bob)).minPayment, 100);
    t.equal(p.decide(subject('storage', 'get', bob)).minPayment, 500);
    t.equal(p.decide(subject('storage', 'put', bob)).minPayment, 2000);
    t.equal(p.decide(subject('storage', 'put', alice)).minPayment, 50, 'credential beats method');
    t.equal(new Policy().decide(subject('x', 'y', bob)).minPayment, 0);
  });

  t.test('should take defer-limit from the most specific scope, lowest on ties, else none', async (t) => {
    const p = Policy.fromStrings([
      'defer-limit * 5000', 'defer-limit storage 0', 'defer-limit market.prices 800sat', 'defer-limit market.prices 900sat',
      `defer-limit *@${aliceAddr} 100000sat`
    ]);
    const cases: Array<[string, string, Buffer, number | null]> = [
      ['info', 'services', bob, 5000], ['storage', 'quote', bob, 0], ['market', 'prices', bob, 800],
      ['storage', 'quote', alice, 100000]
    ];
    for (const [service, method, who, limit] of cases)
      t.equal(p.decide(subject(service, method, who)).deferLimit, limit, `${service}.${method}`);
    t.equal(new Policy().decide(subject('x', 'y', bob)).deferLimit, null, 'no rule: the node\'s --defer-limit');
  });

  t.test('should take the rate limit from the most specific scope, strictest on ties', async (t) => {
    const p = Policy.fromStrings(['rate-limit * 100/1s', 'rate-limit info 10/1m', 'rate-limit info 5/1m']);
    t.equal(p.decide(subject('peers', 'list', bob)).rateLimit?.text, 'rate-limit * 100/1s');
    t.equal(p.decide(subject('info', 'services', bob)).rateLimit?.text, 'rate-limit info 5/1m');
  });
});

t.test('Policy parsing', async (t) => {
  t.test('should parse scopes and values', async (t) => {
    const r = parseRule(`rate-limit storage.put@${aliceAddr.toUpperCase()} 10/2m`, network);
    t.equal(r.service, 'storage');
    t.equal(r.method, 'put');
    t.equal(r.credential, aliceAddr, 'addresses compare in lowercase');
    t.equal(r.count, 10);
    t.equal(r.periodMs, 120000);
    t.equal(parseRule('min-payment * 0.00001btc').amount, 1000);
  });
  const bad = [
    'deny', 'forbid *', 'deny * 5', 'min-payment *', 'min-payment * lots', 'rate-limit * 10',
    'defer-limit *', 'defer-limit storage lots', 'defer-limit storage -5', 'defer-limit storage 1.5sat',
    'defer-limit storage 22000000btc',
    'rate-limit * 0/1s', 'deny Info', 'deny info.', 'deny *@', 'deny a b c d',
    // credentials no client can present
    'deny *@foo', 'deny info@12345', `deny *@${alice.toString('hex').slice(2)}`, `deny *@04${alice.toString('hex').slice(2)}`,
    `deny *@${aliceAddr.slice(0, -1)}x`
  ];
  for (const text of bad) {
    t.test(`should reject "${text}" with bad-policy`, async (t) => {
      t.throws(() => parseRule(text, network), { code: 'bad-policy' });
    });
  }
  t.test('should take identities of the node\'s network only', async (t) => {
    const mainAddr = identityAddress(alice, bcoin.Network.get('main'));
    t.throws(() => parseRule(`deny *@${mainAddr}`, network), { code: 'bad-policy' }, 'a mainnet address on regtest');
    t.equal(parseRule(`deny *@${mainAddr}`, bcoin.Network.get('main')).credential, mainAddr);
    t.equal(parseRule(`deny *@${alice.toString('hex').toUpperCase()}`, network).credential, alice.toString('hex'));
    t.throws(() => parseRule(`deny *@${identityAddress(alice, network).replace(/^rb1q/, 'rb1p')}`, network),
      { code: 'bad-policy' }, 'not a P2WPKH program');
  });
  t.test('should load a JSON policy file of strings and objects', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-policy-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({
      rules: [
        'deny peers',
        { action: 'allow', service: 'peers', method: 'list', credential: bobAddr },
        { action: 'min-payment', service: 'info', amount: '7sat' },
        { action: 'rate-limit', count: 3, seconds: 60 }
      ]
    }));
    const p = new Policy().loadFile(file);
    t.equal(p.rules.length, 4);
    t.equal(p.decide(subject('peers', 'list', alice)).allowed, false);
    t.equal(p.decide(subject('peers', 'list', bob)).allowed, true);
    t.equal(p.decide(subject('info', 'services', bob)).minPayment, 7);
    t.equal(p.decide(subject('info', 'services', bob)).rateLimit?.count, 3);
    fs.writeFileSync(file, '{"rules": 5}');
    t.throws(() => new Policy().loadFile(file), PolicyError);
    fs.writeFileSync(file, '[{"action": "deny", "service": 7}]');
    t.throws(() => new Policy().loadFile(file), { code: 'bad-policy' });
  });
  t.test('should name the bad key and the rule in a policy file', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-policy-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'policy.json');
    // [rules, what the one-line error must say]
    const table: Array<[unknown[], RegExp]> = [
      [['deny peers', { action: 'deny', servce: 'info' }], /rule 2: Unknown key "servce" .*expected action, service, method/],
      [[{ action: 'min-payment', service: 'info', ammount: 5 }], /rule 1: Unknown key "ammount"/],
      [[{ action: 'deny', credential: 'foo' }], /rule 1: Credential "foo" .* is not an identity/],
      [[{ action: 'allow', method: 'list' }], /rule 1: Bad method name/],
      [['deny peers', 'deny *@bar'], /rule 2: Credential "bar"/]
    ];
    for (const [rules, message] of table) {
      fs.writeFileSync(file, JSON.stringify(rules));
      t.throws(() => new Policy().loadFile(file, network), { code: 'bad-policy', message }, JSON.stringify(rules));
    }
  });
  t.test('should name rules that can never match', async (t) => {
    const catalog = {
      methods: (s: string): string[] | null => ({ info: ['services'], peers: ['list'] } as Record<string, string[]>)[s] ?? null
    };
    // [rule, warning or null]
    const table: Array<[string, RegExp | null]> = [
      ['deny nosuchservice', /"deny nosuchservice" can never match: no service "nosuchservice"/],
      ['deny info.nosuchmethod', /"deny info.nosuchmethod" can never match: service "info" has no method "nosuchmethod" \(it has services\)/],
      ['min-payment storage.quote 5', /no service "storage"/],
      ['deny info', null],
      ['deny info.services', null],
      ['rate-limit * 10/1s', null],
      [`deny *@${aliceAddr}`, null],
      [`allow peers.list@${aliceAddr}`, null]
    ];
    for (const [rule, warning] of table) {
      const got = Policy.fromStrings([rule], network).unmatched(catalog);
      if (warning)
        t.match(got, [warning], rule);
      else
        t.same(got, [], rule);
    }
  });
});

t.test('RateLimiter', async (t) => {
  t.test('should allow COUNT per PERIOD per client and refill', async (t) => {
    let now = 1_000_000;
    const limiter = new RateLimiter(() => now);
    const rule = parseRule('rate-limit info 3/10s');
    const results = [1, 2, 3, 4].map(() => limiter.take(rule, 'alice'));
    t.same(results, [true, true, true, false]);
    t.ok(limiter.take(rule, 'bob'), 'separate bucket per client');
    now += 3400;
    t.ok(limiter.take(rule, 'alice'), 'one token back after a third of the period');
    t.notOk(limiter.take(rule, 'alice'));
  });
});
