// CLI output helpers: progress bar (TTY only) and tables.
import t from 'tap';
import { ProgressBar } from '../lib/cli/progress';
import { renderTable } from '../lib/cli/table';
import { formatResult, parseParam } from '../lib/cli/cloudcoincli';

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
  t.equal(parseParam('12'), 12);
  t.same(parseParam('{"a":1}'), { a: 1 });
  t.equal(parseParam('rb1qxyz'), 'rb1qxyz');
  t.equal(parseParam('00ab'), '00ab');
  t.equal(formatResult('raw'), 'raw');
  t.equal(formatResult(null), null);
  t.equal(formatResult({ a: 1 }), '{\n  "a": 1\n}');
});
