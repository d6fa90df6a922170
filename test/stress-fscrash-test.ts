// The file server kill -9 suite at its npm test size: two kills of the
// Node file server during part uploads (npm run test:stress fscrash runs 20).
import t from 'tap';
import { runFsCrash } from './stress/fscrash';

t.test('file server kill -9 during uploads (quick)', async (t) => {
  const r = await runFsCrash({ kills: 2, log: (line) => t.comment(line) });
  t.comment(r.line);
  t.same(r.failures, [], 'no problems');
  t.equal(r.partialServed, 0, 'no partial object served');
  t.equal(r.resumed, r.cut, 'every cut upload resumed');
});
