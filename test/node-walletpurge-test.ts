/*!
 * node-walletpurge-test.ts - encryptwallet and walletpassphrasechange
 * leave no older copy of the wallet key in the wallet's leveldb files even
 * while another read holds the database open (walletpurge.ts): leveldb
 * keeps a table file an open iterator reads past the compaction meant to
 * drop it. CI saw the clear key survive encryptwallet once on a busy node.
 * One in-process regtest node with a real leveldb datadir; an iterator
 * opened by the test plays the busy wallet.
 */

import t, { type Test } from 'tap';
import bcoin = require('../lib/bcoin');
import { ciphertextOf, clearSecrets, filesHold, LATER_EVERY_MS, PURGE_ROUNDS } from '../lib/node/walletpurge';
import { NodesContext, type TestNode } from './util/nodes-context';
import { forValue } from './util/wait';

interface RawIterator {
  next(): Promise<boolean>;
  end(): Promise<void>;
}
type RawDB = { iterator(options: object): RawIterator; compactRange(): Promise<void> };

/** The wallet database, with compactRange counted. */
function walletDB(n: TestNode): { wdb: bcoin.WalletDB; compactions: () => number } {
  const wdb = (n.node as unknown as { walletPlugin: bcoin.WalletPlugin }).walletPlugin.wdb;
  const db = wdb.db as unknown as RawDB;
  const compact = db.compactRange.bind(db);
  let count = 0;
  db.compactRange = async () => {
    await compact();
    count++;
  };
  return { wdb, compactions: () => count };
}

/** An iterator open on the whole wallet database (a snapshot of it). */
async function openRead(wdb: bcoin.WalletDB): Promise<RawIterator> {
  const it = (wdb.db as unknown as RawDB).iterator({ values: true });
  await it.next();
  return it;
}

/**
 * Run `call` while a read holds the database open for its first purge
 * round (two compactions), then let the read go; resolve with its answer.
 */
async function withReadOpen(t: Test, wdb: bcoin.WalletDB, compactions: () => number, secrets: Buffer[],
  call: () => Promise<unknown>): Promise<unknown> {
  const it = await openRead(wdb);
  const start = compactions();
  const answer = call();
  await forValue(compactions, (c) => c >= start + 2, undefined, 'the first purge round');
  t.ok(await filesHold(wdb.options.location, secrets), 'after one round under an open read the old key is still in the files');
  await it.end();
  return answer;
}

// A read held through all the rounds takes about 25 s, then the background purge.
t.setTimeout(300_000);

t.test('the old wallet key leaves the files despite an open read', { timeout: 300_000 }, async (t) => {
  const ctx = await NodesContext.create([{}]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const n = ctx.nodes[0];
  await n.mine(20);
  const { wdb, compactions } = walletDB(n);
  const dir = wdb.options.location;

  await t.test('encryptwallet', async (t) => {
    const secrets = clearSecrets(wdb.primary);
    t.equal(secrets.length, 2, 'the master private key and the seed entropy');
    t.ok(await filesHold(dir, secrets), 'before: in the clear in the files');
    const answer = await withReadOpen(t, wdb, compactions, secrets, () => n.rpc('encryptwallet', ['first pass']));
    t.match(answer, /^wallet encrypted;/);
    t.notMatch(answer, /warning/, 'no warning');
    t.notOk(await filesHold(dir, secrets), 'after: neither is left in the files');
  });

  await t.test('walletpassphrasechange', async (t) => {
    const old = ciphertextOf(wdb.primary);
    t.equal(old.length, 1, 'the key under the first passphrase');
    t.ok(await filesHold(dir, old), 'before: in the files');
    const answer = await withReadOpen(t, wdb, compactions, old,
      () => n.rpc('walletpassphrasechange', ['first pass', 'second pass']));
    t.equal(answer, null, 'null, as bitcoind');
    t.notOk(await filesHold(dir, old), 'after: the key under the old passphrase is gone from the files');
    t.notSame(ciphertextOf(wdb.primary), old, 'a new ciphertext');
  });

  await t.test('a read held through every round: the purge goes on in the background', async (t) => {
    const old = ciphertextOf(wdb.primary);
    const warnings: string[] = [];
    const logger = n.node.logger as unknown as { warning(fmt: string, ...args: unknown[]): void };
    const warning = logger.warning.bind(logger);
    logger.warning = (fmt, ...args) => {
      warnings.push(args.map(String).join(' '));
      warning(fmt, ...args);
    };
    t.teardown(() => {
      logger.warning = warning;
    });
    const it = await openRead(wdb);
    const start = compactions();
    t.equal(await n.rpc('walletpassphrasechange', ['second pass', 'third pass']), null, 'changed');
    t.equal(compactions() - start, 2 * PURGE_ROUNDS, `answered after ${PURGE_ROUNDS} rounds`);
    t.ok(await filesHold(dir, old), 'the old copy is still there while the read holds it');
    t.match(warnings.join('\n'), /walletpassphrasechange: an older copy of the wallet key is still in the wallet database files/,
      'debug.log says so');
    await it.end();
    await forValue(() => filesHold(dir, old), false, 2 * LATER_EVERY_MS + 20000, 'the background purge');
    await forValue(() => warnings.some((w) => /now gone/.test(w)), true, undefined, 'the log line');
    t.pass('gone from the files once the read ended, and logged');
  });
});
