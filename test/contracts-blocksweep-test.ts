// BlockSweep: the closer's and the refunder's per-block scan (lib/contracts/blocksweep.ts).
import t from 'tap';
import { format } from 'util';
import type bcoin = require('../lib/bcoin');
import { BlockSweep } from '../lib/contracts/blocksweep';
import { ContractError } from '../lib/contracts/errors';

interface Item {
  id: string;
  /** Height from which it is due; -1: gone for good. */
  due: number;
  /** Acting on it fails with this code while set. */
  fails?: string;
}

t.test('BlockSweep', async (t) => {
  const warnings: string[] = [];
  const logger = { warning: (fmt: string, ...args: unknown[]) => warnings.push(format(fmt, ...args)) } as unknown as bcoin.Logger;
  let items: Item[] = [];
  let listFails = false;
  const acted: string[] = [];
  const sweep = new BlockSweep<Item>(logger, 'Test: reading items', async () => {
    if (listFails)
      throw new Error('db closed');
    return items;
  }, {
    key: (i) => i.id,
    what: (i) => `Acting on ${i.id}`,
    act: async (i, height) => {
      if (i.due < 0)
        return false;
      if (height < i.due)
        return null;
      if (i.fails)
        throw new ContractError('close-uneconomic', i.fails);
      acted.push(i.id);
      return i.id;
    }
  });

  await t.test('should act on what is due and say which', async (t) => {
    items = [{ id: 'a', due: 10 }, { id: 'b', due: 12 }, { id: 'c', due: -1 }];
    const table: Array<[number, string[]]> = [[9, []], [10, ['a']], [12, ['a', 'b']]];
    for (const [height, want] of table)
      t.same(await sweep.run(height), want, `at ${height}`);
  });

  await t.test('should log a recurring failure once per reason, and again after it cleared', async (t) => {
    warnings.length = 0;
    items = [{ id: 'x', due: 0, fails: 'fee too high' }];
    for (let h = 1; h <= 3; h++)
      t.same(await sweep.run(h), []);
    t.equal(warnings.length, 1, 'once for three blocks');
    t.match(warnings[0], /Acting on x failed: .*fee too high/);
    items = [{ id: 'x', due: -1 }];
    await sweep.run(4);
    items = [{ id: 'x', due: 0, fails: 'fee too high' }];
    await sweep.run(5);
    t.equal(warnings.length, 2, 'an item gone and back is logged again');
  });

  await t.test('should never throw, even when the list cannot be read', async (t) => {
    listFails = true;
    t.same(await sweep.run(20), []);
    t.match(warnings[warnings.length - 1], /Test: reading items failed: db closed/);
    listFails = false;
  });

  await t.test('should never overlap runs', async (t) => {
    items = [{ id: 'a', due: 0 }];
    acted.length = 0;
    const runs = await Promise.all([sweep.run(1), sweep.run(1), sweep.run(1)]);
    t.same(runs, [['a'], ['a'], ['a']]);
    t.equal(acted.length, 3);
  });
});
