// The contract index's database keys, built with bdb.key, are the bytes
// the header of lib/contracts/layout.ts documents (existing datadirs read).
import t from 'tap';
import { layout } from '../lib/contracts/layout';
import { indexerLayout } from '../lib/contracts/indexer';

const ch = (c: string): Buffer => Buffer.from(c, 'ascii');
const be = (n: number, size: number): Buffer => {
  const b = Buffer.alloc(size);
  b.writeUIntBE(n, 0, size);
  return b;
};

t.test('contracts layout', async (t) => {
  t.test('should build every key as documented', async (t) => {
    const id = Buffer.alloc(32, 7);
    const tx = Buffer.alloc(32, 9);
    const pk = Buffer.concat([Buffer.from([3]), Buffer.alloc(32, 5)]);
    const cases: Array<[string, Buffer, Buffer]> = [
      ['t[txid]', layout.t(tx), Buffer.concat([ch('t'), tx])],
      ['c[id]', layout.c(id), Buffer.concat([ch('c'), id])],
      ['i[pk][id]', layout.i(pk, id), Buffer.concat([ch('i'), pk, id])],
      ['r[id][role][height][index]', layout.r(id, 1, 500, 3), Buffer.concat([ch('r'), id, Buffer.from([1]), be(500, 4), be(3, 2)])],
      ['q[txid][leaf]', layout.q(tx, 2), Buffer.concat([ch('q'), tx, Buffer.from([2])])],
      ['o[id]', layout.o(id), Buffer.concat([ch('o'), id])],
      ['v[id][txid][leaf]', layout.v(id, tx, 2), Buffer.concat([ch('v'), id, tx, Buffer.from([2])])],
      ['V', indexerLayout.V, ch('V')],
      ['R', indexerLayout.R, ch('R')],
      ['h[height]', indexerLayout.h(77), Buffer.concat([ch('h'), be(77, 4)])],
      ['u[height]', indexerLayout.u(77), Buffer.concat([ch('u'), be(77, 4)])]
    ];
    for (const [name, got, want] of cases)
      t.equal(got.toString('hex'), want.toString('hex'), name);
  });

  t.test('should scan exactly the keys under a prefix', async (t) => {
    const pk = Buffer.concat([Buffer.from([2]), Buffer.alloc(32, 1)]);
    const r = layout.range.i(pk);
    const inside = [layout.i(pk, Buffer.alloc(32, 0)), layout.i(pk, Buffer.alloc(32, 0xff))];
    const next = Buffer.concat([Buffer.from([2]), Buffer.alloc(31, 1), Buffer.from([2])]);
    const outside = [layout.i(next, Buffer.alloc(32, 0)), layout.c(Buffer.alloc(32))];
    for (const k of inside)
      t.ok(k.compare(r.gte) >= 0 && k.compare(r.lte) <= 0, 'inside');
    for (const k of outside)
      t.notOk(k.compare(r.gte) >= 0 && k.compare(r.lte) <= 0, 'outside');
  });
});
