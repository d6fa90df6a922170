// A wrong passphrase that bcoin's AES padding check lets through (1 in
// 256) must be refused like any wrong one: by walletpassphrase, locked or
// unlocked, by walletpassphrasechange (which would otherwise write a
// garbage key in place of the wallet's) and at the node's start. The
// wallets here use 1 PBKDF2 round so such a passphrase is found in a few
// hundred tries; the check itself does not depend on the rounds.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { WalletLockedError } from '../lib/base/errors';
import { passphraseOpens } from '../lib/node/walletpassphrase';
import { unlockForStart } from '../lib/node/walletstart';
import { NodesContext } from './util/nodes-context';

interface RawMasterKey {
  n: number;
  key: bcoin.HDPrivateKey | null;
  toRaw(): Buffer;
  constructor: { fromRaw(raw: Buffer): { unlock(p: string, timeout: number): Promise<unknown>; lock(): Promise<void> } };
}
interface MemoryWalletDB extends bcoin.WalletDB {
  open(): Promise<void>;
  close(): Promise<void>;
}

const RIGHT = 'right passphrase';

function rawMaster(wallet: bcoin.Wallet): RawMasterKey {
  return wallet.master as unknown as RawMasterKey;
}

/** A passphrase other than RIGHT that bcoin's own MasterKey#unlock accepts (its padding check passes). */
async function paddingPasser(wallet: bcoin.Wallet): Promise<string> {
  const master = rawMaster(wallet);
  for (let i = 0; i < 20000; i++) {
    const probe = master.constructor.fromRaw(master.toRaw());
    try {
      await probe.unlock(`wrong ${i}`, 1);
      return `wrong ${i}`;
    } catch {
      // the usual answer to a wrong passphrase
    } finally {
      await probe.lock();
    }
  }
  throw new Error('no wrong passphrase passed the padding check in 20000 tries');
}

async function memoryWallet(): Promise<{ wdb: MemoryWalletDB; wallet: bcoin.Wallet }> {
  const { WalletDB } = require('bcoin/lib/wallet') as { WalletDB: new (o: object) => MemoryWalletDB };
  const wdb = new WalletDB({ network: 'regtest', memory: true });
  await wdb.open();
  return { wdb, wallet: wdb.primary };
}

/** The public key of account 0's first receive address: what the wallet's real master key derives. */
async function firstReceiveKey(wallet: bcoin.Wallet): Promise<Buffer> {
  const account = await wallet.getAccount(0);
  if (!account)
    throw new Error('no account 0');
  return account.deriveReceive(0).publicKey;
}

t.test('passphraseOpens checks the key, not the padding', async (t) => {
  const { wdb, wallet } = await memoryWallet();
  t.teardown(() => wdb.close());
  t.equal(await passphraseOpens(wallet, RIGHT), false, 'a wallet that is not encrypted has no passphrase');
  rawMaster(wallet).n = 1;
  await (wallet as unknown as { encrypt(p: string): Promise<void> }).encrypt(RIGHT);
  const wrong = await paddingPasser(wallet);
  t.equal(await passphraseOpens(wallet, RIGHT), true, 'the right passphrase opens it');
  t.equal(await passphraseOpens(wallet, wrong), false, `"${wrong}", which bcoin's unlock takes, does not`);
  t.equal(await passphraseOpens(wallet, ''), false, 'nor does an empty one');
  t.equal(rawMaster(wallet).key, null, 'the wallet stays locked: only a copy was opened');

  await wallet.unlock(RIGHT, 60);
  t.equal(await passphraseOpens(wallet, wrong), false, 'unlocked, the wrong one is still refused');
  t.equal(await passphraseOpens(wallet, RIGHT), true, 'and the right one taken');
  t.ok(rawMaster(wallet).key, 'the wallet stays unlocked');
  await wallet.lock();

  await t.rejects(unlockForStart(wallet, wrong), WalletLockedError, 'a node does not start with it');
  t.equal(rawMaster(wallet).key, null, 'and the wallet is not unlocked with a garbage key');
  t.equal(await unlockForStart(wallet, RIGHT), true, 'the right one starts it');
  await wallet.lock();
});

t.test('the premise: bcoin alone loses the key to such a passphrase', async (t) => {
  const { wdb, wallet } = await memoryWallet();
  t.teardown(() => wdb.close());
  rawMaster(wallet).n = 1;
  const before = await firstReceiveKey(wallet);
  await (wallet as unknown as { encrypt(p: string): Promise<void> }).encrypt(RIGHT);
  const wrong = await paddingPasser(wallet);
  await (wallet as unknown as { setPassphrase(p: string, old: string): Promise<void> }).setPassphrase('new', wrong);
  await wallet.unlock('new', 60);
  const account = await wallet.getAccount(0);
  t.not(account?.deriveReceive(0, wallet.master).publicKey.toString('hex'), before.toString('hex'),
    'walletpassphrasechange through bcoin alone leaves a key that is not the wallet\'s');
});

t.test('walletpassphrase and walletpassphrasechange refuse it over RPC (-14)', async (t) => {
  const ctx = await NodesContext.create([{ memory: true, extensions: [] }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const [node] = ctx.nodes;
  const wallet = node.node.wallet().wdb.primary;
  rawMaster(wallet).n = 1;
  const before = await firstReceiveKey(wallet);
  await node.rpc('encryptwallet', [RIGHT]);
  const wrong = await paddingPasser(wallet);
  const refused = { code: -14, message: 'Error: The wallet passphrase entered was incorrect.' };

  await t.rejects(node.rpc('walletpassphrase', [wrong, 60]), refused, 'walletpassphrase, locked');
  t.equal(rawMaster(wallet).key, null, 'still locked');
  await t.rejects(node.rpc('walletpassphrase', ['', 60]), { code: -8, message: 'The passphrase cannot be empty.' },
    'an empty passphrase: -8, as bitcoind');
  await t.rejects(node.rpc('walletpassphrasechange', [wrong, 'new']), refused, 'walletpassphrasechange');
  await t.rejects(node.rpc('walletpassphrasechange', [RIGHT, '']), { code: -8 }, 'an empty new passphrase');
  await node.rpc('walletpassphrase', [RIGHT, 60]);
  await t.rejects(node.rpc('walletpassphrase', [wrong, 60]), refused, 'walletpassphrase, unlocked');
  await node.rpc('walletlock');

  const until = async () => (await node.rpc('getwalletinfo') as { unlocked_until: number }).unlocked_until;
  await node.rpc('walletpassphrasechange', [RIGHT, 'new']);
  t.equal(await until(), 0, 'a change leaves a locked wallet locked');
  await node.rpc('walletpassphrase', ['new', 600]);
  const account = await wallet.getAccount(0);
  t.equal(account?.deriveReceive(0, wallet.master).publicKey.toString('hex'), before.toString('hex'),
    'after the refusals and a real change, the key is still the wallet\'s');
  const unlockedUntil = await until();
  await node.rpc('walletpassphrasechange', ['new', 'newer']);
  const after = await until();
  t.ok(after > 0 && after <= unlockedUntil, `an unlocked wallet stays unlocked until its timeout, as bitcoind (${after} vs ${unlockedUntil})`);
  t.ok(rawMaster(wallet).key, 'with its key');
  await t.rejects(node.rpc('walletpassphrase', ['new', 60]), refused, 'the old passphrase is refused');
  await node.rpc('walletlock');

  // bitcoind's timeouts: capped at 100000000 s, 0 locks at once, negative -8.
  // A timer past 2^31 - 1 ms fires after 1 ms: one of 50 ms set after it fires later.
  const aTick = () => new Promise((resolve) => setTimeout(resolve, 50));
  for (const [timeout, seconds] of [[2147484, 2147484], [100_000_001, 100_000_000]]) {
    // Bounds taken around the call: the end is set after the key derivation, which a loaded machine may stretch.
    const now = Math.floor(Date.now() / 1000);
    await node.rpc('walletpassphrase', ['newer', timeout]);
    const then = Math.ceil(Date.now() / 1000);
    await aTick();
    const u = await until();
    t.ok(u >= now + seconds && u <= then + seconds, `walletpassphrase for ${timeout} s: unlocked until now + ${seconds} s`);
    t.ok(rawMaster(wallet).key, 'and unlocked still after its timer would have overflowed');
    await node.rpc('walletlock');
    t.equal(await until(), 0, 'walletlock ends it');
  }
  await node.rpc('walletpassphrase', ['newer', 60]);
  await node.rpc('walletpassphrase', ['newer', 0]);
  t.equal(rawMaster(wallet).key, null, 'timeout 0 locks at once, as bitcoind (bcoin: 60 s)');
  await t.rejects(node.rpc('walletpassphrase', ['newer', -5]), { code: -8, message: 'Timeout cannot be negative.' }, 'negative: -8');

  // Signing unlocks through bcoin's Wallet#unlock with no timeout, which
  // restarted the timer at 60 s: a long unlock got shorter, a short one longer.
  const addr = await node.rpc('getnewaddress') as string;
  for (const timeout of [3000, 30]) {
    await node.rpc('walletpassphrase', ['newer', timeout]);
    const set = await until();
    await node.rpc('dumpprivkey', [addr]);
    await node.rpc('signmessage', [addr, 'hello']);
    t.equal(await until(), set, `an unlock for ${timeout} s keeps its end after signing`);
  }
  await node.rpc('walletpassphrase', ['newer', 600]);
  const longer = await until();
  t.ok(longer > Date.now() / 1000 + 500, 'a second walletpassphrase sets a new timeout, as bitcoind');
  await node.rpc('walletlock');
});

/** Make the wallet database's batch writes fail from the `failFrom`-th one on (1-based), as a crash would cut them. */
function cutWrites(wallet: bcoin.Wallet, failFrom: number): () => void {
  const db = (wallet as unknown as { wdb: { db: { batch(): { write(): Promise<void> } } } }).wdb.db;
  const batch = db.batch;
  let writes = 0;
  db.batch = function cutBatch(this: unknown) {
    const b = batch.call(this);
    const write = b.write;
    b.write = function cutWrite(this: unknown) {
      writes++;
      return writes >= failFrom ? Promise.reject(new Error('cut: the process died here')) : write.call(this);
    };
    return b;
  };
  return () => { db.batch = batch; };
}

t.test('walletpassphrasechange is one write: a crash leaves the old or the new passphrase, never a clear wallet', async (t) => {
  const ctx = await NodesContext.create([{ extensions: [] }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const [node] = ctx.nodes;
  let wallet = node.node.wallet().wdb.primary;
  rawMaster(wallet).n = 1;
  const imported = bcoin.KeyRing.generate(true);
  const wif = imported.toSecret('regtest');
  await node.rpc('importprivkey', [wif, '', false]);
  const importedAddr = imported.getAddress('string', 'regtest');
  const before = await firstReceiveKey(wallet);
  await node.rpc('encryptwallet', [RIGHT]);

  // Everything after the change's first write is lost (bcoin's own change
  // had written the wallet decrypted by then).
  let restore = cutWrites(wallet, 2);
  const r1 = await node.rpc('walletpassphrasechange', [RIGHT, 'second']).then(() => 'changed', (e: Error) => e.message);
  restore();
  await node.close();
  await node.open({ walletPassphrase: 'second' });
  wallet = node.node.wallet().wdb.primary;
  t.equal(wallet.master.encrypted, true, `after a cut after the first write (${r1}) the wallet on disk is still encrypted`);
  t.equal(await passphraseOpens(wallet, 'second'), true, 'under the new passphrase');

  // The change's one write itself is lost: the old passphrase stays, on disk and in memory.
  rawMaster(wallet).n = 1;
  restore = cutWrites(wallet, 1);
  await t.rejects(node.rpc('walletpassphrasechange', ['second', 'third']), /cut/, 'a failed write fails the call');
  restore();
  t.equal(await passphraseOpens(wallet, 'second'), true, 'in memory the old passphrase still opens it');
  t.equal(await passphraseOpens(wallet, 'third'), false, 'and the new one does not');
  await node.rpc('walletpassphrase', ['second', 60]);
  t.equal(await node.rpc('dumpprivkey', [importedAddr]), wif, 'the imported key still decrypts');
  await node.rpc('walletlock');
  await node.close();
  await node.open({ walletPassphrase: 'second' });
  wallet = node.node.wallet().wdb.primary;
  t.equal(await passphraseOpens(wallet, 'second'), true, 'on disk too');

  await node.rpc('walletpassphrase', ['second', 60]);
  await node.rpc('walletpassphrasechange', ['second', 'third']);
  t.equal(await node.rpc('dumpprivkey', [importedAddr]), wif, 'an imported key is re-encrypted with the master key');
  await node.rpc('walletlock');
  await node.close();
  await node.open({ walletPassphrase: 'third' });
  wallet = node.node.wallet().wdb.primary;
  await node.rpc('walletpassphrase', ['third', 60]);
  t.equal(await node.rpc('dumpprivkey', [importedAddr]), wif, 'and reads back after a restart');
  t.equal((await wallet.getAccount(0))?.deriveReceive(0, wallet.master).publicKey.toString('hex'), before.toString('hex'),
    'the master key is the wallet\'s own throughout');
  await node.rpc('walletlock');
});

t.test('a passphrase given for a wallet in the clear is a warning at start', async (t) => {
  const ctx = await NodesContext.create([{ memory: true, extensions: [] }]);
  t.teardown(() => ctx.close());
  const [node] = ctx.nodes;
  await node.open({ walletPassphrase: 'for an encrypted wallet' });
  t.match(node.node.warnings.join('\n'), /a wallet passphrase was given, but the wallet is not encrypted/);
});
