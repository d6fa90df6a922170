// Deals RPC methods reject bad params with bitcoind codes, never crash.
import t from 'tap';
import { NodesContext } from './util/nodes-context';

t.test('deals RPC params', async (t) => {
  const ctx = await NodesContext.create([{ config: { host: true } }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const n = ctx.nodes[0];
  const code = async (method: string, params: unknown[]) => {
    try {
      await n.rpc(method, params);
      return 0;
    } catch (e) {
      return (e as { code: number }).code;
    }
  };
  const table: Array<[string, unknown[], number]> = [
    ['negotiatestorage', [], -8],
    ['negotiatestorage', ['lots', 100, 1000], -8],
    ['negotiatestorage', ['10MB', -1, 1000], -8],
    ['negotiatestorage', ['10MB', 100, 'cheap'], -8],
    ['negotiatestorage', ['10MB', 100, 1000, 17], -8],
    ['proposestorage', ['zz', '00'.repeat(32), 10], -8],
    ['proposestorage', ['00'.repeat(10), '00'.repeat(32), 10], -8],
    ['getstoragereceipt', ['beef'], -8],
    ['getstoragetoken', ['02'.repeat(33), 'xx'], -8],
    ['getstoragetoken', ['02' + '11'.repeat(32), '00'.repeat(32)], -8],
    ['getstoragetoken', ['02' + '11'.repeat(32), '00'.repeat(32), 1], -29],
    ['getstoragetoken', ['02' + '11'.repeat(32), '00'.repeat(32), 0], -29],
    ['getstoragetoken', ['02' + '11'.repeat(32), '00'.repeat(32), 0xffffffff], -8],
    ['recoverfiles', [1], -8],
    ['pruneversions', [], -8],
    ['pruneversions', ['zz'], -8],
    ['pruneversions', ['61', -1], -8],
    ['proposerevision', ['00'.repeat(32), '00'.repeat(32), 10, '00'.repeat(32), '00'.repeat(32)], -5],
    ['proposerevision', ['00'.repeat(32), '00'.repeat(32), 10, '00'.repeat(32)], -8],
    ['getstoragereceipt', ['00'.repeat(32), -1], -8],
    ['findcontracts', [0, 10], -8],
    ['findcontracts', [100, 10, 'cheap'], -8],
    ['negotiatestorage', ['10MB', 100, 1000, 1, ['zz']], -8],
    ['deletefile', ['00'.repeat(32)], -5],
    ['forgetfile', ['00'.repeat(32)], -5],
    ['renewputlease', [], -8],
    ['renewputlease', ['zz'], -8],
    ['renewputlease', ['00'.repeat(31)], -8],
    ['renewputlease', ['00'.repeat(32)], -5],
    ['renewputlease', ['00'.repeat(32), 'x'], -8],
    ['renewputlease', ['00'.repeat(32), true], 0],
    ['renewcontract', ['00'.repeat(32)], -5],
    ['derivefilekey', ['00'.repeat(32), 0, '00'.repeat(31)], -8],
    ['derivefilekey', ['00'.repeat(32), 2 ** 32, '00'.repeat(32)], -8],
    ['getchunkprints', ['zz'], -8],
    ['getchunkprints', ['00'.repeat(32)], -5],
    ['getchunkprints', ['00'.repeat(32), 1], -8],
    ['proposerevision', ['00'.repeat(32), '00'.repeat(32), 10, '00'.repeat(32), '00'.repeat(32), null, null, 'zz'], -5],
    ['commitfile', ['00'.repeat(32), 1, 'abcd'], -5],
    ['addfile', ['00'], -8],
    ['getfile', ['00'.repeat(32)], -5],
    ['listfiles', [1], -8]
  ];
  t.same(await n.rpc('recoverfiles', []), { contracts: [], recovered: [], known: 0, updated: [], deleted: 0 }, 'no contracts, nothing to recover');
  t.same(await n.rpc('pruneversions', ['61', 1]), { nameHex: '61', keep: 1, kept: [], pruned: [] }, 'no versions, nothing to prune');
  t.same((await n.rpc('pruneversions', ['61']) as { keep: number }).keep, 0, 'the node keeps every version by default');
  for (const [method, params, want] of table)
    t.equal(await code(method, params), want, `${method} ${JSON.stringify(params).slice(0, 60)}`);

  t.test('should derive stable, distinct file keys', async (t) => {
    const a = await n.rpc('derivefilekey', ['01'.repeat(32), 0, '02'.repeat(32)]);
    t.equal(await n.rpc('derivefilekey', ['01'.repeat(32), 0, '02'.repeat(32)]), a);
    t.not(await n.rpc('derivefilekey', ['01'.repeat(32), 1, '02'.repeat(32)]), a, 'per revision');
    t.not(await n.rpc('derivefilekey', ['01'.repeat(32), 0, '03'.repeat(32)]), a, 'per replica');
    const prints = await n.rpc('getchunkprints', []) as { key: string; prints: string | null };
    t.match(prints, { key: /^[0-9a-f]{64}$/, prints: null }, 'one chunk fingerprint key per wallet, no file asked');
    t.equal((await n.rpc('getchunkprints', []) as { key: string }).key, prints.key);
    t.not(prints.key, a);
  });

  t.test('should report hosting', async (t) => {
    const info = await n.rpc('getstorageinfo') as { hosting: boolean; backend: string; dataURL: string };
    t.equal(info.hosting, true);
    t.equal(info.backend, 'local');
    t.match(info.dataURL, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
