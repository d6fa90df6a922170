// The quick size of the kill -9 suite (test/stress/crash.ts; npm run
// test:stress runs 20 kills per operation): one kill of the renter's or
// the host's cloudcoind at a random point of each operation (a put forming
// a contract, a put revising it, an rm, a get) and of a refund, then
// nothing forgotten, regressed or stranded, files intact, every escrow
// refunded, and the index equal to a fresh sync.
import t from 'tap';
import { runCrash } from '../stress/crash';

t.setTimeout(20 * 60 * 1000);

t.test('kill -9 at random points, quick size (one kill per operation)', async (t) => {
  const r = await runCrash({ rounds: 1, log: (l) => t.comment(l) });
  t.comment(r.line);
  t.same(r.failures, []);
  t.equal(r.kills.refund, 1, 'a refund was cut too');
  t.ok(r.files > 0 && r.filesIntact === r.files, `${r.filesIntact}/${r.files} files intact`);
});
