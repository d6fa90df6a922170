// The quick size of the load suite (test/stress/load.ts; npm run
// test:stress runs 50 uploads of 4 MiB to the Node, php -S and Apache file
// servers and 200 negotiations): 50 concurrent uploads of 256 KiB to the
// Node file server and 50 concurrent negotiations against one host, every
// one answered, latencies printed.
import t from 'tap';
import { runLoad } from './stress/load';

t.setTimeout(15 * 60 * 1000);

t.test('load, quick size', async (t) => {
  const r = await runLoad({ uploads: 50, uploadSize: 256 << 10, targets: ['node'], negotiations: 50, log: (l) => t.comment(l) });
  t.comment(r.line);
  t.same(r.failures, []);
  t.equal(r.uploads.node.n, 50);
  t.equal(r.negotiations.n, 50);
});
