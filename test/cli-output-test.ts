// CLI output helpers: progress bar (TTY only) and tables.
import t from 'tap';
import { ProgressBar } from '../lib/cli/progress';
import { escapeName, renderTable } from '../lib/cli/table';
import { formatResult } from '../lib/cli/cloudcoincli';
import { paidLine } from '../lib/cli/storagecmds';
import { recoverTable } from '../lib/cli/recovercmd';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, columns: 120, chunks, write(s: string) { chunks.push(s); return true; } };
}

t.test('ProgressBar', async (t) => {
  t.test('should print nothing when not a TTY', async (t) => {
    const out = sink(false);
    const bar = new ProgressBar('upload', 100, out);
    bar.tick(50);
    bar.finish();
    t.same(out.chunks, []);
  });
  t.test('should draw a bar and end the line on a TTY', async (t) => {
    const out = sink(true);
    const bar = new ProgressBar('upload', 1 << 20, out);
    bar.tick(1 << 19);
    t.match(bar.line(), /upload \[#{10}-{10}\]  50% 512.0 KiB\/1.00 MiB/);
    bar.finish();
    t.ok(out.chunks.length >= 2);
    t.equal(out.chunks[out.chunks.length - 1], '\n');
  });
});

t.test('renderTable', async (t) => {
  const s = renderTable([
    { title: 'host', value: (r: { h: string; p: number }) => r.h },
    { title: 'price', value: (r) => String(r.p), align: 'right' }
  ], [{ h: 'a', p: 5 }, { h: 'bbbbbb', p: 12345 }]);
  t.equal(s, 'host    price\n------  -----\na           5\nbbbbbb  12345');
});

t.test('cloudcoin-cli params and results', async (t) => {
  t.equal(formatResult('raw'), 'raw');
  t.equal(formatResult(null), null);
  t.equal(formatResult({ a: 1 }), '{\n  "a": 1\n}');
});

t.test('escapeName', async (t) => {
  const table: Array<[Buffer, string]> = [
    [Buffer.from('photo.jpg'), 'photo.jpg'],
    [Buffer.from('été 写真.jpg'), 'été 写真.jpg'],
    [Buffer.from('a\nb\tc\rd'), 'a\\nb\\tc\\rd'],
    [Buffer.from('back\\slash'), 'back\\\\slash'],
    [Buffer.from([0x66, 0xff, 0x2e]), 'f\\xff.'],
    [Buffer.from([0xc3]), '\\xc3'],
    [Buffer.from([0xe2, 0x82]), '\\xe2\\x82'],
    [Buffer.from([0xc0, 0xaf]), '\\xc0\\xaf'],
    [Buffer.from([0x1b, 0x5b, 0x32, 0x4a]), '\\x1b[2J'],
    [Buffer.from('\u202egnp.exe'), '\\u{202e}gnp.exe'],
    [Buffer.alloc(0), '']
  ];
  for (const [raw, want] of table)
    t.equal(escapeName(raw), want, raw.toString('hex'));
});

t.test('audits\' paid line', async (t) => {
  const pay = { number: 1, paid: 1, prepaid: 1, intervals: 0, acknowledged: true };
  t.equal(paidLine(null), 'paid: nothing yet');
  t.equal(paidLine(pay), 'paid: state 1 pays 1 sat (1 sat of it prepaid reads; no audit interval has ended yet)',
    'reads paid before any interval ended: no interval range (was "intervals 0..-1")');
  t.equal(paidLine({ ...pay, number: 3, paid: 90, intervals: 1 }), 'paid: state 3 pays 90 sat for interval 0 (1 sat of it prepaid reads)');
  t.equal(paidLine({ ...pay, number: 7, paid: 23455, prepaid: 5, intervals: 3, acknowledged: false }),
    'paid: state 7 pays 23455 sat for intervals 0..2 (5 sat of it prepaid reads) (not acknowledged by the host yet)');
});

t.test('recover\'s table says each failure once, under the table', async (t) => {
  const away = 'host unreachable: Host 0309980f...9bad is not a connected CloudStorage peer.';
  const row = (id: string, over: object) => ({ id: id.repeat(64), host: `rb1q${id.repeat(38)}`, files: null, updated: null, error: null,
    takenOver: false, takeoverError: null, ...over });
  const text = recoverTable([
    row('a', { files: 3, updated: 1764520592, takenOver: true }),
    row('b', { error: away, takeoverError: away }),
    row('c', { error: away, takeoverError: away }),
    row('d', { files: 1, updated: 1764520592, takeoverError: 'host-behind: it holds revision 2, this node can prove revision 3' })
  ]);
  const lines = text.split('\n');
  t.same(lines.slice(2, 6).map((l) => l.split(/\s{2,}/).slice(3)), [
    ['2025-11-30T16:36:32.000Z', 'yes'],
    ['failed [1]', 'failed [1]'],
    ['failed [1]', 'failed [1]'],
    ['2025-11-30T16:36:32.000Z', 'failed [2]']
  ], 'manifest and takeover columns name a note');
  t.equal(lines[6], `  [1] ${away}`, 'the unreachable host said once');
  t.equal(lines[7], '  [2] host-behind: it holds revision 2, this node can prove revision 3');
  t.equal(lines.length, 8);
  t.equal(text.split(away).length, 2, 'the message appears once');
  t.ok(Math.max(...lines.slice(0, 6).map((l) => l.length)) < 140, 'rows stay narrow');
});
