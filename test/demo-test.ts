// `npm run demo` is the README's main command: it must finish on its own
// with get's bytes identical to put's, audits passed, payments and closes.
import t from 'tap';
import * as path from 'path';
import { execFile } from 'child_process';
import { ROOT } from './util/nodes-context';

t.test('npm run demo', async (t) => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'demo.js')], { timeout: 180000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /get == put\s+yes, sha256 identical/);
  t.match(r.stdout, /commitment txid\s+[0-9a-f]{64}/);
  t.match(r.stdout, /host-a \(local dir\).*active/);
  t.match(r.stdout, /host-b \((PHP file server|fileserver)\).*active/);
  t.match(r.stdout, /host-b keeps its data on the (PHP file server|cloudcoin-fileserver)/, 'says which server each host uses');
  t.match(r.stdout, /3 passed, 0 failed, 0 missed/, 'audits passed');
  // State numbers also advance once per prepaid read token: count intervals, not states.
  t.match(r.stdout, /paid: state \d+ pays \d+ sat for intervals 0\.\.2 /, 'a payment covering every interval');
  t.match(r.stdout, /…\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+settled\s+[0-9a-f]{64}/, 'then the host\'s close with its payout');
});
