// Automatic repair and automatic renewal reaching for the same file at
// once (worklocks.ts): a file whose only other copy sits in a contract
// whose host vanished (its audits missed: a lost copy to repair) and whose
// contract is in its renew window with the host unreachable (a copy to
// move). Both are kicked at the same block over one renter client; the
// copy is replaced once, never by two repairs running together, and the
// second finds the work done. Also the price rule that makes renewal
// leave a pricier host (renewal.ts priceRise).
import t from 'tap';
import { AutoRepair } from '../lib/deals/autorepair';
import { AutoRenew, type RenewCandidate } from '../lib/deals/autorenew';
import { DealError } from '../lib/deals/errors';
import { WorkLocks, contractKey, fileKey } from '../lib/deals/worklocks';
import { priceRise } from '../lib/deals/renewal';
import type { RenterClient, RepairOptions, RepairResult } from '../lib/deals/renterclient';
import type { FileInfo } from '../lib/deals/rpctypes';
import { WAIT_TIMEOUT_MS, forValue } from './util/wait';

const FILE = 'f'.repeat(64);
const GONE = 'a'.repeat(64);
const KEPT = 'b'.repeat(64);
const NEW = 'c'.repeat(64);

function replica(contractId: string): FileInfo['replicas'][number] {
  return { contractId, host: 'host', state: 'active', reachable: false } as unknown as FileInfo['replicas'][number];
}

/**
 * The node's side both runs share: one file, one renter client whose
 * repair holds on until the other run is seen waiting for the file's lock
 * (so both reach for the same file at once, whatever the machine's speed).
 */
function node(locks: WorkLocks) {
  const file: FileInfo = {
    fileId: FILE, name: 'x', nameHex: '78', size: 10, revision: 0, dataShards: 0, parityShards: 0,
    health: { alive: 1, needed: 1, total: 2 }, replicas: [replica(GONE), replica(KEPT)], cost: { accrued: 0, toEnd: 0 }, repairs: [],
    leaseExpires: null
  } as FileInfo;
  const calls: Array<{ by: string; distrust: string[] }> = [];
  let running = 0;
  let most = 0;
  const client = {
    listFiles: async () => [structuredClone(file)],
    rpc: async (method: string) => {
      if (method !== 'getfile')
        throw new Error(`unexpected ${method}`);
      return structuredClone(file);
    },
    repair: async (fileId: string, opts: RepairOptions): Promise<RepairResult> => {
      running += 1;
      most = Math.max(most, running);
      calls.push({ by: opts.workDir.includes('renew') ? 'renew' : 'repair', distrust: [...opts.distrust ?? [], ...opts.leave ?? []] });
      // Uploading the new copy, while the other run reaches the same file and waits for it.
      await forValue(() => locks.waiting(fileKey(FILE)), 1, WAIT_TIMEOUT_MS, 'the other run waiting for the file\'s lock');
      file.replicas.push(replica(NEW));
      file.repairs.push({ height: 100, time: 0, shard: null, contractId: NEW, host: 'other', replaced: [GONE] });
      running -= 1;
      return { fileId, replicas: true, verified: [], verifiedContracts: [KEPT], lost: [], failed: [], txids: [], escrow: 1000,
        repaired: [{ shard: null, contract: NEW, host: 'other', reused: false, replaced: [GONE] }],
        health: file.health } as RepairResult;
    }
  } as unknown as RenterClient;
  return { file, client, calls, most: () => most };
}

t.test('automatic repair and renewal on the same file at once', async (t) => {
  const locks = new WorkLocks();
  const n = node(locks);
  const logs: string[] = [];
  const log = (_level: string, msg: string) => { logs.push(msg); };
  let spent = 0;
  const repair = new AutoRepair({
    client: () => n.client,
    // The vanished host missed its last audits: its copy counts as lost.
    auditFailed: async (id) => id === GONE,
    spent: async () => spent,
    addSpent: async (sat) => { spent += sat; },
    exclusive: (keys, fn) => locks.run(keys, fn),
    log
  }, { budget: 100000, duration: 40, maxPrice: 5000 });
  const candidate = (): RenewCandidate[] => (n.file.repairs.some((r) => r.replaced.includes(GONE)) ? []
    : [{ id: GONE, host: 'host', startHeight: 0, endHeight: 103, files: [FILE] }]);
  const renew = new AutoRenew({
    candidates: async () => candidate(),
    renew: async () => {
      throw new DealError('host-unreachable', 'Host is not a connected CloudStorage peer.');
    },
    assess: async () => null,
    client: () => n.client,
    spent: async () => spent,
    addSpent: async (sat) => { spent += sat; },
    exclusive: (keys, fn) => locks.run(keys, fn),
    log
  }, { window: 12, budget: 100000, duration: 40, maxPrice: 5000, maxRise: 50 });

  // Height 100: in the renew window, and 3 blocks before the end: an unreachable host is given up at once.
  renew.kick(100);
  repair.kick(100);
  await Promise.all([renew.idle(), repair.idle()]);

  t.equal(n.calls.length, 1, `one repair of the file, not two (${n.calls.map((c) => c.by).join(', ')})`);
  t.equal(n.most(), 1, 'never two at once');
  t.same(n.calls[0].distrust, [GONE], 'the vanished host\'s copy replaced');
  t.equal(n.file.repairs.length, 1);
  t.equal(spent, 1000, 'the budget spent once');
  t.ok(logs.some((l) => /needs no (repair|renewal) any more/.test(l)), `the second run found the work done:\n${logs.join('\n')}`);
  t.same(locks.held(), [], 'no lock left behind');
});

t.test('WorkLocks', async (t) => {
  t.test('should run holders of one key one at a time, and of different keys together', async (t) => {
    const locks = new WorkLocks();
    const order: string[] = [];
    const hold = (name: string, keys: string[], until: () => boolean = () => true) => locks.run(keys, async () => {
      order.push(`${name}+`);
      await forValue(until, true, WAIT_TIMEOUT_MS, `${name}'s release`);
      order.push(`${name}-`);
    });
    await Promise.all([
      // a lets go once b has run and c waits behind it (c takes the keys in sorted order: contract:1 first).
      hold('a', [contractKey('1'), fileKey('x')], () => order.includes('b-') && locks.waiting(contractKey('1')) === 1),
      hold('b', [fileKey('y')]),
      hold('c', [fileKey('x'), contractKey('1')])
    ]);
    t.ok(order.indexOf('c+') > order.indexOf('a-'), 'c waits for a (same keys, other order: no deadlock)');
    t.ok(order.indexOf('b-') < order.indexOf('a-'), 'b runs alongside a');
    t.same(locks.held(), []);
  });
});

t.test('priceRise (--renew-max-rise)', async (t) => {
  const then = { storage: 1000, upload: 100, download: 0 };
  t.equal(priceRise(then, { storage: 1500, upload: 150, download: 0 }, 50), null, 'exactly 50% more is within');
  t.match(priceRise(then, { storage: 1501, upload: 100, download: 0 }, 50), /1501 sat for storage, more than 50% over the contract's 1000 sat/);
  t.match(priceRise(then, { storage: 1000, upload: 100, download: 1 }, 50), /1 sat for download/, 'a price that was 0 rises by any amount');
  t.equal(priceRise(then, { storage: 900, upload: 10, download: 0 }, 0), null, 'cheaper is fine');
  t.equal(priceRise(then, { storage: 4000, upload: 100, download: 0 }, Number.POSITIVE_INFINITY), null, 'renew by hand: no limit');
});
