// The quick size of the soak (test/stress/soak.ts; npm run test:stress runs
// it for 10 minutes): put/mine/get cycles for 45 s against three hosts,
// hosts restarted at random, then 0 lost files and the renter's RSS flat.
import t from 'tap';
import { runSoak } from '../stress/soak';

t.setTimeout(15 * 60 * 1000);

t.test('soak, quick size (45 s)', async (t) => {
  const r = await runSoak({ durationMs: 45_000, log: (l) => t.comment(l) });
  t.comment(r.line);
  t.same(r.failures, []);
  t.equal(r.lost, 0);
  t.ok(r.files > 0, `${r.files} files stored`);
  t.ok(r.restarts > 0, `${r.restarts} host restarts`);
});
