// The negotiator as a cloudcoind extension, against a stub NodeAPI: what it
// registers, and how it reads its options (policy, policy-file, defer-limit).
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EventEmitter } from 'events';
import * as negotiatorModule from '../lib/negotiator';
import { Negotiator, NODE_CLOUDSTORAGE } from '../lib/negotiator';
import { paymentGraceMs, unconfirmedLimit } from '../lib/negotiator/plugin';
import { Config, type ConfigValue } from '../lib/node/config';
import type { NodeAPI, PacketHandler, RPCMethod } from '../lib/base/extension';
import bcoin = require('../lib/bcoin');
import { network } from './util/negotiator-pair';

interface Stub {
  api: NodeAPI;
  packets: Map<string, PacketHandler>;
  rpcs: Map<string, RPCMethod>;
  bits: number[];
  warnings: string[];
}

/** The parts of bcoin's pool the negotiator touches: options, address manager, peers. */
function stubPool(): EventEmitter {
  return Object.assign(new EventEmitter(), {
    opened: false,
    options: { maxOutbound: 8, services: 9, listen: true, publicHost: '0.0.0.0', publicPort: 18444 },
    hosts: {
      map: new Map(), local: new Map(), address: { services: 9 }, options: { services: 9 },
      isBanned: () => false, pushLocal: () => true
    },
    peers: { head: () => null, has: () => false, get: () => null },
    getHost: () => null
  });
}

function stub(values: Record<string, ConfigValue>, datadir = os.tmpdir()): Stub {
  const s: Stub = { api: null as unknown as NodeAPI, packets: new Map(), rpcs: new Map(), bits: [], warnings: [] };
  const logger = {
    info(): void {}, debug(): void {}, error(): void {}, spam(): void {},
    warning(fmt: string): void { s.warnings.push(fmt); }
  };
  s.api = {
    network, logger, pool: stubPool(), chain: { height: 0 }, config: new Config(new Map(Object.entries(values))),
    datadir, memory: true,
    wallet(): never { throw new Error('no wallet'); },
    require(): never { throw new Error('none'); },
    addPacket(cmd: string, h: PacketHandler): void { s.packets.set(cmd, h); },
    sendPacket(): void {},
    addServiceBit(bit: number): void { s.bits.push(bit); },
    addRPC(name: string, _help: string, fn: RPCMethod): void { s.rpcs.set(name, fn); },
    onConnect(): void {}, onDisconnect(): void {}
  } as unknown as NodeAPI;
  return s;
}

t.test('negotiator extension', async (t) => {
  t.test('should export id, options and init', async (t) => {
    t.equal(negotiatorModule.id, 'negotiator');
    t.same(negotiatorModule.options.map((o) => o.name), ['policy', 'policy-file', 'cloudpeers', 'max-quote-payment', 'coin-proofs', 'unconfirmed-limit', 'payment-grace', 'defer-limit']);
  });

  t.test('should register packets, the service bit and RPC methods', async (t) => {
    const s = stub({});
    const neg = negotiatorModule.init(s.api);
    t.ok(neg instanceof Negotiator);
    t.same([...s.packets.keys()].sort(), ['csannounce', 'csannounce2', 'csauth', 'cshello', 'csreq', 'csreqc', 'csres']);
    t.same(s.bits, [NODE_CLOUDSTORAGE]);
    t.same([...s.rpcs.keys()].sort(), ['cloudrequest', 'getcloudpeers', 'gethostannouncements', 'getidentity', 'getmarketprices', 'listhosts']);
    await neg.open();
    t.ok(s.warnings.some((w) => /throwaway identity/.test(w)), 'no wallet: throwaway identity, with a warning');
    const id = await (s.rpcs.get('getidentity') as RPCMethod)([]) as { identity: string };
    t.match(id.identity, /^rb1q/);
    t.same(await (s.rpcs.get('getcloudpeers') as RPCMethod)([]), []);
    await neg.close();
  });

  t.test('should read policy lines, a policy file and defer-limit', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-neg-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    // The policy file sits next to cloudcoin.conf, in the base datadir; the
    // extension's datadir is the network's subfolder.
    fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(['deny peers', { action: 'min-payment', service: 'info', amount: 3 }]));
    const s = stub({ policy: ['rate-limit * 10/1s', 'allow peers.list'], 'policy-file': 'policy.json', 'defer-limit': '0' },
      path.join(dir, 'regtest'));
    const neg = negotiatorModule.init(s.api);
    t.same(neg.policy.rules.map((r) => r.text), ['rate-limit * 10/1s', 'allow peers.list', 'deny peers', 'min-payment info 3']);
    t.equal(neg.server.credits.limit, 0);
    const single = negotiatorModule.init(stub({ policy: 'deny info', 'defer-limit': '5000sat' }).api);
    t.same(single.policy.rules.map((r) => r.text), ['deny info']);
    t.equal(single.server.credits.limit, 5000);
  });

  t.test('should read --unconfirmed-limit and --payment-grace, and refuse bad ones in one line', async (t) => {
    t.ok(negotiatorModule.init(stub({ 'unconfirmed-limit': '2500sat', 'payment-grace': '5' }).api));
    t.equal(unconfirmedLimit(stub({ 'unconfirmed-limit': '2500sat' }).api), 2500);
    t.equal(unconfirmedLimit(stub({}).api), 50_000, 'default 50 000 sat');
    t.equal(paymentGraceMs(stub({}).api), 60_000, 'default 60 s');
    t.equal(paymentGraceMs(stub({ 'payment-grace': '5' }).api), 5000);
    t.throws(() => negotiatorModule.init(stub({ 'unconfirmed-limit': 'lots' }).api), /--unconfirmed-limit must be an amount/);
    t.throws(() => negotiatorModule.init(stub({ 'payment-grace': '90000' }).api), /--payment-grace must be from 0 to 86400 seconds/);
  });

  t.test('should resolve a relative policy file against the datadir, as bitcoind does', async (t) => {
    const base = '/data/cc';
    const regtest = { datadir: path.join(base, 'regtest'), network };
    const main = { datadir: base, network: bcoin.Network.get('main') };
    // [api, --policy-file, resolved]
    const table: Array<[typeof regtest, string, string]> = [
      [regtest, 'policy.json', '/data/cc/policy.json'],
      [regtest, 'rules/p.json', '/data/cc/rules/p.json'],
      [regtest, '../p.json', '/data/p.json'],
      [regtest, '/etc/cc/p.json', '/etc/cc/p.json'],
      [main, 'policy.json', '/data/cc/policy.json']
    ];
    for (const [api, file, want] of table)
      t.equal(negotiatorModule.policyFilePath(api, file), want, `${api.network.type} ${file}`);
  });

  t.test('should warn about policy rules that can never match once every extension is open', async (t) => {
    const s = stub({ policy: ['deny nosuchservice', 'deny info.nosuchmethod', 'deny info', 'deny storage.quote'] });
    const neg = negotiatorModule.init(s.api);
    await neg.open();
    neg.registerService({ name: 'storage', version: 1, methods: { quote: { handler: () => Buffer.alloc(0) } } });
    t.same(neg.policyWarnings(), [
      'policy "deny nosuchservice" can never match: no service "nosuchservice" is offered',
      'policy "deny info.nosuchmethod" can never match: service "info" has no method "nosuchmethod" (it has services, version, methods, quote)'
    ]);
    await neg.close();
  });

  t.test('should refuse bad options with bad-policy', async (t) => {
    const bad: Array<Record<string, ConfigValue>> = [
      { policy: 'forbid everything' },
      { 'policy-file': '/nonexistent/policy.json' },
      { 'defer-limit': 'lots' }
    ];
    for (const values of bad)
      t.throws(() => negotiatorModule.init(stub(values).api), { code: 'bad-policy' }, JSON.stringify(values));
  });

  t.test('should take --cloudpeers 0 to 16 and give cloud peers slots of their own', async (t) => {
    // [value, error code or the pool's maxOutbound after init]
    // [--cloudpeers, --connect, error code or the pool's maxOutbound after init]
    const table: Array<[string | undefined, string[], string | number]> = [
      [undefined, [], 8 + 4], ['0', [], 8], ['16', [], 24], ['17', [], 'bad-config'], ['-1', [], 'bad-config'],
      ['four', [], 'bad-config'],
      // --connect turns automatic connections off, unless cloud peers are asked for.
      [undefined, ['20.0.0.1:8333'], 8], ['2', ['20.0.0.1:8333'], 10]
    ];
    for (const [value, connect, want] of table) {
      const s = stub({ ...(value === undefined ? {} : { cloudpeers: value }), ...(connect.length ? { connect } : {}) });
      if (typeof want === 'string') {
        t.throws(() => negotiatorModule.init(s.api), { code: want }, `${value} ${connect}`);
      } else {
        negotiatorModule.init(s.api);
        t.equal((s.api.pool as unknown as { options: { maxOutbound: number } }).options.maxOutbound, want, `${value} ${connect}`);
      }
    }
  });
});
