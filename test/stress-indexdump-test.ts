// The reorg storm's index dump: two contract index databases on disk,
// written with the index's own layout and records, differ in two entries;
// readIndex decodes every entry and diffIndexes names exactly those two,
// with each side's decoded value.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import bdb = require('../lib/bdb');
import { indexerLayout } from '../lib/contracts/indexer';
import { layout } from '../lib/contracts/layout';
import { CommitEntry, LeafEntry, RatingEntry } from '../lib/contracts/records';
import { tempDir } from './util/nodes-context';
import { diffIndexes, readIndex } from './stress/indexdump';

async function writeIndex(datadir: string, entries: Array<[Buffer, Buffer]>): Promise<void> {
  fs.mkdirSync(datadir, { recursive: true });
  const db = bdb.create({ location: path.join(datadir, 'contracts'), compression: true });
  await db.open();
  const b = db.batch();
  for (const [k, v] of entries)
    b.put(k, v);
  await b.write();
  await db.close();
}

t.test('index dump and diff', async (t) => {
  const dir = tempDir('cc-indexdump-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const txid = Buffer.alloc(32, 0xab);
  const block = Buffer.alloc(32, 0xcd);
  const commit = (spent: boolean) => {
    const ce = new CommitEntry();
    ce.txid = txid;
    ce.height = 7;
    ce.block = block;
    ce.count = 1;
    ce.root = Buffer.alloc(32, 1);
    const leaf = new LeafEntry();
    leaf.value = 30000;
    if (spent) {
      leaf.spendType = 2;
      leaf.spendHeight = 9;
      leaf.spendTxid = Buffer.alloc(32, 0xef);
    }
    ce.leaves.push(leaf);
    return ce.encode();
  };
  const rating = new RatingEntry();
  rating.txid = Buffer.alloc(32, 2);
  rating.height = 8;
  const shared: Array<[Buffer, Buffer]> = [[indexerLayout.h(7), block], [layout.r(Buffer.alloc(32, 1), 0, 8, 1), rating.encode()]];
  await writeIndex(path.join(dir, 'a'), [...shared, [layout.t(txid), commit(true)]]);
  await writeIndex(path.join(dir, 'b'), [...shared, [layout.t(txid), commit(false)],
    [layout.o(Buffer.alloc(32, 3)), Buffer.concat([txid, Buffer.from([0])])]]);
  const a = await readIndex(path.join(dir, 'a'));
  const b = await readIndex(path.join(dir, 'b'));
  t.equal(a.get('h 7'), Buffer.from(block).reverse().toString('hex'), 'block hashes in display order');
  t.ok([...a.keys()].some((k) => k.startsWith(`r ${'01'.repeat(32)} role 0 height 8 tx 1`)), 'rating keys decoded');
  const diff = diffIndexes(a, b, ['a', 'b']);
  t.equal(diff.count, 1, 'only the commit differs among the chain tables (o is this node\'s own)');
  t.equal(diff.lines[0], `t ${'ab'.repeat(32)}`);
  t.match(diff.lines[1], /^ {2}a "?\{.*"spendType":2,"spendHeight":9,"spendTxid":"(ef){32}"/);
  t.match(diff.lines[2], /^ {2}b "?\{.*"spendType":0/);
  t.equal(diffIndexes(a, b, ['a', 'b'], ['o']).count, 1, 'own tables compared when asked');
  await t.rejects(readIndex(path.join(dir, 'none')), /no contract index/);
});
