// The deferred-tabs file (tabs.ts, PROTOCOL 2.5): built, encoded, decoded
// and checked again; a pinned vector; every way a file can fail to read
// is refused with a code; CreditLedger's charge-back holds deferral until
// the tab is paid; a deferred call's charge is written before its answer
// leaves. Real restarts: test/slow/negotiator-tabs-test.ts.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { CreditLedger } from '../lib/negotiator/credit';
import { PacketError } from '../lib/base/errors';
import { TabStore, Tabs, decodeTabs, encodeTabs } from '../lib/negotiator/tabs';
import { statuses } from '../lib/negotiator/status';
import { tempDir } from './util/nodes-context';
import { makePair } from './util/negotiator-pair';

const key = (b: number): Buffer => Buffer.concat([Buffer.from([2]), Buffer.alloc(32, b)]);

function sample(): Tabs {
  const tabs = new Tabs();
  tabs.server = [{ key: key(1), owed: 800, due: false }, { key: key(2), owed: 1000, due: true }];
  tabs.client = [{ key: key(3), owed: 400 }];
  return tabs;
}

t.test('Tabs', async (t) => {
  t.test('should decode what it encodes', async (t) => {
    const raw = encodeTabs(sample());
    t.equal(raw.length, sample().getSize() + 4);
    const back = decodeTabs(raw);
    t.same(back.server, sample().server);
    t.same(back.client, sample().client);
    t.same(encodeTabs(back), raw);
  });

  t.test('should match the pinned vector', async (t) => {
    const tabs = new Tabs();
    tabs.server = [{ key: key(1), owed: 800, due: true }];
    t.equal(encodeTabs(tabs).toString('hex'), '4374616201'
      + '01' + `02${'01'.repeat(32)}` + '2003000000000000' + '01' + '00' + 'cf5abf28');
  });

  const raw = encodeTabs(sample());
  const body = raw.subarray(0, raw.length - 4);
  const { createHash } = await import('crypto');
  const checked = (b: Buffer): Buffer => Buffer.concat([b, createHash('sha256').update(b).digest().subarray(0, 4)]);
  const flagged = Buffer.from(body);
  flagged[5 + 1 + 33 + 8] = 2;
  const rows: Array<[string, Buffer, string]> = [
    ['a torn file', raw.subarray(0, raw.length - 10), 'truncated'],
    ['a flipped byte', Buffer.concat([Buffer.from([raw[0] ^ 1]), raw.subarray(1)]), 'truncated'],
    ['another magic', checked(Buffer.concat([Buffer.from('xxxx'), body.subarray(4)])), 'bad-version'],
    ['unknown flags', checked(flagged), 'bad-flags'],
    ['trailing bytes', checked(Buffer.concat([body, Buffer.from([0])])), 'trailing-bytes'],
    ['too many tabs', checked(Buffer.concat([body.subarray(0, 5), Buffer.from([0xfd, 0x01, 0x10])])), 'oversized-field']
  ];
  for (const [name, bytes, code] of rows) {
    t.test(`should refuse ${name} (${code})`, async (t) => {
      let err: unknown = null;
      try {
        decodeTabs(bytes);
      } catch (e) {
        err = e;
      }
      t.ok(err instanceof PacketError, 'a PacketError');
      t.equal((err as PacketError).code, code);
    });
  }
});

t.test('TabStore', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cstabs.dat');
  const errors: string[] = [];
  const logger = { info(): void {}, warning(): void {}, debug(): void {}, error: (...a: unknown[]) => { errors.push(String(a[0])); } };

  t.test('should write a change and read it back', async (t) => {
    const store = new TabStore(file, sample, logger);
    t.same(store.load().server, [], 'no file: empty');
    store.changed();
    store.flush();
    t.same(new TabStore(file, sample, logger).load().client, sample().client);
  });

  t.test('should move a file that does not read aside', async (t) => {
    fs.writeFileSync(file, 'junk');
    t.same(new TabStore(file, sample, logger).load().server, []);
    t.ok(fs.existsSync(`${file}.bad`));
    t.equal(errors.length, 1);
  });
});

t.test('CreditLedger', async (t) => {
  t.test('should refuse deferral after a charge-back until the tab is paid', async (t) => {
    const ledger = new CreditLedger(10_000);
    let changes = 0;
    ledger.onChange = () => changes++;
    ledger.charge(key(1), 400);
    t.ok(ledger.canDefer(key(1), 400));
    ledger.chargeBack(key(1), 1000);
    t.equal(ledger.get(key(1)), 1400);
    t.ok(ledger.isDue(key(1)));
    t.notOk(ledger.canDefer(key(1), 1), 'no deferral while charged back');
    ledger.settle(key(1), 1000);
    t.ok(ledger.isDue(key(1)), 'still owes 400');
    ledger.settle(key(1), 400);
    t.notOk(ledger.isDue(key(1)));
    t.ok(ledger.canDefer(key(1), 400));
    t.equal(changes, 5, 'every change reported (a charge-back: the charge and the flag)');
    const back = new CreditLedger(10_000);
    back.load([{ key: key(2), owed: 5, due: true }]);
    t.same(back.entries(), [{ key: key(2), owed: 5, due: true }]);
  });
});

t.test('a deferred call\'s tab is on disk before its answer leaves', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cstabs.dat');
  const p = await makePair({}, { tabsFile: file, deferLimit: 10000 });
  p.b.registerService({ name: 'echo', version: 1, methods: { echo: { price: 500, handler: (args) => args } } });
  // What the server's file holds at the moment it sends each answer (a crash right after it keeps that).
  const onDisk: number[] = [];
  const sent = p.ba.sent;
  const push = sent.push.bind(sent);
  sent.push = (...items) => {
    if (items.some(([cmd]) => cmd === 'csres'))
      onDisk.push(fs.existsSync(file) ? decodeTabs(fs.readFileSync(file)).server.reduce((sum, tab) => sum + tab.owed, 0) : 0);
    return push(...items);
  };
  const res = await p.a.request(p.ab, 'echo', 'echo', Buffer.from('x'), { maxPayment: 500, prefer: 'defer' });
  t.equal(res.status, statuses.OK);
  t.equal(p.b.server.credits.get(p.a.identity.publicKey), 500, 'deferred: owed');
  t.equal(onDisk[onDisk.length - 1], 500, 'the 500 sat owed were on disk when the answer left');
});
