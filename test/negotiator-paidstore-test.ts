// The payments-taken file (paidstore.ts, PROTOCOL 2.5): encoded and
// decoded again, a corrupted or truncated file moved aside with one logged
// error, every bad field refused with a code; PaidTXs keeps its file in
// step and forgets a payment PAID_KEEP_DEPTH blocks deep. Real restarts
// (kill -9): test/slow/negotiator-paidstore-test.ts.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { PacketError } from '../lib/base/errors';
import { MAX_PAID_FILE_BYTES, MAX_PAID_RECORDS, MAX_PAYMENT_SIZE, PAID_KEEP_DEPTH } from '../lib/negotiator/common';
import { PaidStore, decodePaid, encodePaid, paidFileSize } from '../lib/negotiator/paidstore';
import { PaidTXs, callKey, type PaidRecord } from '../lib/negotiator/paidtx';
import { tempDir } from './util/nodes-context';

const key = (b: number): Buffer => Buffer.concat([Buffer.from([2]), Buffer.alloc(32, b)]);
const txid = (b: number): string => Buffer.alloc(32, b).toString('hex');

function sample(): PaidRecord[] {
  const paid = new PaidTXs();
  paid.add(txid(1), key(1), callKey('market', 'prices', Buffer.alloc(0)), 1000, Buffer.from('0200000001aa', 'hex'));
  const second = paid.add(txid(2), key(2), callKey('market', 'version', Buffer.from([1])), 400, null);
  paid.reuse(second, key(2), second.call);
  paid.markDoubleSpent(second);
  paid.add(txid(3), key(1), callKey('market', 'prices', Buffer.alloc(0)), 2500, Buffer.from('ff', 'hex'));
  paid.connected([txid(3)], 450);
  return paid.entries();
}

t.test('encodePaid/decodePaid', async (t) => {
  t.test('should decode what it encodes, oldest first', async (t) => {
    const raw = encodePaid(sample());
    const back = decodePaid(raw);
    t.same(back, sample());
    t.same(back.map((r) => r.id), [txid(1), txid(2), txid(3)]);
    t.equal(back[1].retries, 1);
    t.ok(back[1].doubleSpent);
    t.equal(back[2].height, 450);
    t.same(back[2].data, Buffer.from('ff', 'hex'), 'a confirmed payment keeps its raw tx (a reorg may need it)');
    t.equal(back[1].data, null, 'a double-spent one keeps none');
    t.equal(raw.length, paidFileSize(sample()), 'paidFileSize is the file\'s size');
    t.same(encodePaid(back), raw);
    t.same(decodePaid(encodePaid([])), []);
  });

  const bad: Array<[string, (raw: Buffer) => Buffer, string]> = [
    ['a flipped byte', (raw) => { const b = Buffer.from(raw); b[40] ^= 1; return b; }, 'truncated'],
    ['a truncated file', (raw) => raw.subarray(0, raw.length - 10), 'truncated'],
    ['an empty file', () => Buffer.alloc(0), 'truncated']
  ];
  for (const [name, mangle, code] of bad) {
    t.test(`should refuse ${name}: ${code}`, async (t) => {
      let err: unknown = null;
      try {
        decodePaid(mangle(encodePaid(sample())));
      } catch (e) {
        err = e;
      }
      t.ok(err instanceof PacketError, 'a PacketError');
      t.equal((err as PacketError).code, code);
    });
  }
});

t.test('PaidStore', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cspaid.dat');
  const errors: string[] = [];
  const logger = {
    info(): void {}, warning(): void {}, debug(): void {},
    error: (...a: unknown[]) => { errors.push(a.map(String).join(' ')); }
  };

  t.test('should write the records on a change and read them back', async (t) => {
    const paid = new PaidTXs();
    const store = new PaidStore(file, () => paid.entries(), logger);
    t.same(store.load(), [], 'no file: empty');
    paid.onChange = () => store.changed();
    paid.load(sample());
    paid.add(txid(4), key(4), callKey('market', 'prices', Buffer.alloc(0)), 700, Buffer.from('01', 'hex'));
    // Written at the end of this turn of the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const back = new PaidStore(file, () => [], logger).load();
    t.same(back.map((r) => r.id), [txid(1), txid(2), txid(3), txid(4)]);
    t.same(back, paid.entries());
    t.equal(errors.length, 0);
  });

  for (const [name, mangle] of [
    ['corrupted', (raw: Buffer) => { const b = Buffer.from(raw); b[b.length - 20] ^= 0x80; return b; }],
    ['truncated', (raw: Buffer) => raw.subarray(0, raw.length - 3)]
  ] as const) {
    t.test(`should move a ${name} file aside with one logged error and start empty`, async (t) => {
      fs.rmSync(`${file}.bad`, { force: true });
      fs.writeFileSync(file, mangle(encodePaid(sample())));
      const before = errors.length;
      t.same(new PaidStore(file, () => [], logger).load(), []);
      t.ok(fs.existsSync(`${file}.bad`), 'moved to cspaid.dat.bad');
      t.notOk(fs.existsSync(file));
      t.equal(errors.length, before + 1, 'one error line');
      t.match(errors[errors.length - 1], /does not read.*payments taken/);
    });
  }
});

t.test('PaidTXs', async (t) => {
  t.test('should forget a payment PAID_KEEP_DEPTH blocks past its block, and date it again after a reorg', async (t) => {
    const paid = new PaidTXs();
    let changes = 0;
    paid.onChange = () => changes++;
    paid.add(txid(1), key(1), 'aa'.repeat(32), 1000, Buffer.from('01', 'hex'));
    paid.connected([txid(1), txid(9)], 100);
    t.equal(paid.get(txid(1))?.height, 100);
    t.same(paid.get(txid(1))?.data, Buffer.from('01', 'hex'), 'the raw tx kept once confirmed');
    t.same(paid.disconnected(101).map((r) => r.id), [], 'a block above it: none back');
    t.same(paid.disconnected(100).map((r) => r.id), [txid(1)], 'its block: back, to go into the mempool again');
    t.equal(paid.get(txid(1))?.height, 0, 'unconfirmed again');
    t.same(paid.unconfirmedRecords().map((r) => r.id), [txid(1)]);
    paid.connected([txid(1)], 101);
    paid.connected([], 101 + PAID_KEEP_DEPTH - 1);
    t.ok(paid.get(txid(1)), 'kept below the depth');
    paid.connected([], 101 + PAID_KEEP_DEPTH);
    t.equal(paid.get(txid(1)), null, 'forgotten at the depth');
    t.equal(changes, 5, 'every change reported (add, confirm, reorg, confirm, prune)');
  });

  t.test('should keep at most MAX_PAID_RECORDS, the oldest forgotten', async (t) => {
    const paid = new PaidTXs();
    for (let i = 0; i <= MAX_PAID_RECORDS; i++)
      paid.add(i.toString(16).padStart(64, '0'), key(1), 'bb'.repeat(32), 300);
    t.equal(paid.size, MAX_PAID_RECORDS);
    t.equal(paid.get('0'.repeat(64)), null);
    const raw = encodePaid(paid.entries());
    t.equal(decodePaid(raw).length, MAX_PAID_RECORDS, 'a full file reads back');
  });

  t.test('should keep the file within MAX_PAID_FILE_BYTES, the oldest forgotten and said', async (t) => {
    const paid = new PaidTXs();
    const forgot: string[] = [];
    paid.onForget = (n, cap) => forgot.push(`${n} ${cap}`);
    // The largest payments there are: 4 096-byte txs, 4 210-byte records.
    const big = Buffer.alloc(MAX_PAYMENT_SIZE, 7);
    const fits = Math.floor(MAX_PAID_FILE_BYTES / (111 + 3 + MAX_PAYMENT_SIZE));
    t.ok(fits < MAX_PAID_RECORDS, `${fits} large records bind before the record cap`);
    for (let i = 0; i < fits + 10; i++)
      paid.add(i.toString(16).padStart(64, '0'), key(1), 'bb'.repeat(32), 300, big);
    const raw = encodePaid(paid.entries());
    t.ok(raw.length <= MAX_PAID_FILE_BYTES, `${raw.length} bytes <= ${MAX_PAID_FILE_BYTES}`);
    t.ok(raw.length > MAX_PAID_FILE_BYTES - 2 * (111 + 3 + MAX_PAYMENT_SIZE), 'filled up to the bound');
    t.equal(paid.get('0'.repeat(64)), null, 'the oldest forgotten');
    t.ok(paid.get((fits + 9).toString(16).padStart(64, '0')), 'the newest kept');
    t.equal(forgot.length, 10, 'each forgetting said');
    t.match(forgot[0], /^1 bytes$/);
    t.equal(decodePaid(raw).length, paid.size, 'the bounded file reads back');

    // A file past the bound (an older version kept raw txs without one) is read, then trimmed.
    const over: PaidRecord[] = [];
    for (let i = 0; i < fits + 50; i++)
      over.push({ id: i.toString(16).padStart(64, '0'), from: key(1), call: 'bb'.repeat(32), amount: 300, retries: 0,
        doubleSpent: false, height: 0, data: big });
    const again = new PaidTXs();
    let changes = 0;
    again.onChange = () => changes++;
    again.load(decodePaid(encodePaid(over)));
    t.ok(paidFileSize(again.entries()) <= MAX_PAID_FILE_BYTES, 'trimmed at load');
    t.equal(changes, 1, 'and written back');
  });
});
