// The quick size of the reorg storm (test/stress/reorg.ts; npm run
// test:stress runs 50 reorgs, each checked against a freshly synced node):
// three random reorgs up to depth 6 over blocks carrying commitments,
// ratings and refunds; every disconnected tx back in the mempool and
// confirmed in the next block with no command run; every index agrees, and
// with a freshly synced node's after the last.
import t from 'tap';
import { runReorgStorm } from '../stress/reorg';

t.setTimeout(20 * 60 * 1000);

t.test('reorg storm, quick size (3 reorgs)', async (t) => {
  const r = await runReorgStorm({ reorgs: 3, log: (l) => t.comment(l) });
  t.comment(r.line);
  t.same(r.failures, []);
  t.ok(r.disconnected.commit > 0 && r.disconnected.refund > 0, 'commitments and refunds were disconnected');
  t.equal(r.confirmedAgain, Object.values(r.disconnected).reduce((a, b) => a + b, 0), 'every disconnected tx confirmed again');
  t.equal(r.freshChecks, 1);
});
