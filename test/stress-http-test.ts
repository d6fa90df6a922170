// The quick size of the hostile HTTP suite (test/stress/hostilehttp.ts; npm
// run test:stress runs every target with the slow clients): the table of
// attacks against the Node file server, each answered as documented,
// nothing partial left on disk, the server up and serving afterwards.
import t from 'tap';
import { caseNames, hostileFailures, runHostileHTTP } from './stress/hostilehttp';

t.test('hostile HTTP, quick size (Node server, no slow clients)', async (t) => {
  t.ok(caseNames.length >= 40, `${caseNames.length} cases`);
  const r = await runHostileHTTP('node', { quick: true, log: (l) => t.comment(l) });
  t.comment(r.line);
  t.same(hostileFailures(r), []);
  t.same(r.concurrent, { served: 256, closed: 44, errors: 0 }, 'the connection cap: 256 served, the rest closed at once');
});
