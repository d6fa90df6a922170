// Reorg storm: random reorgs up to depth 6 over blocks that carry
// CloudCoin transactions (commitments of new contracts, ratings by the
// renter and by a host, refunds: asked for, or made by the renter's node on
// its own at the refund height; channel closes: forced by a host with
// closecontract, or made by its node on its own at a contract's end), on a
// renter, two hosts and an observer as cloudcoind processes on loopback.
// One host charges enough that the states the renter pays it at its
// audits are worth closing; the other charges the default (its states pay
// less than a close's fee), so its contracts end in the renter's refund.
//
// The competing branches come from a forker: a cloudcoind with no peers
// (`--nolisten`, `--connect` to nowhere) that gets the main chain's blocks
// by `submitblock`. Before a reorg of depth d the forker holds the tip;
// the renter mines d blocks carrying the new transactions; the forker mines
// d + 1 empty blocks on the old tip, which are submitted to the renter, and
// the whole network follows the longer branch. Nobody runs a command:
//
// - every transaction of a disconnected block is back in the renter's (or
//   the rating host's) mempool, and confirms in the next block;
// - every node's chain index (renter, hosts, observer) equals that of a
//   node freshly synced on the new chain: from a copy of a datadir taken at
//   the setup height, before the first CloudCoin transaction, so it syncs
//   and indexes every block that carries one (the setup's 441 plain blocks
//   are the same for every check and took most of a sync from scratch).
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess } from '../util/nodes-context';
import { json, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { call, chainView, startDaemon, startSuite } from './common';
import { diffIndexes, readIndex } from './indexdump';

export interface ReorgOptions {
  reorgs: number;
  /** Compare with a freshly synced node after every reorg (else only after the last). */
  freshEvery?: boolean;
  seed?: number;
  log?: (line: string) => void;
}

/** Wall and CPU seconds of the storm's parts (progress lines and docs/STRESS.md's figures). */
export interface ReorgTimes {
  /** Networks started, chain mined, the fresh nodes' datadir template taken. */
  setupS: number;
  /** Per reorg: wall seconds of the whole reorg, its doomed branch (puts, refunds, closes, ratings, blocks), the fresh node's start, sync and check, and CPU seconds of every process of the storm. */
  perReorg: Array<{ wallS: number; buildS: number; putS: number; fresh: boolean; freshStartS: number; freshSyncS: number; freshCheckS: number;
    cpuS: number }>;
}

export interface ReorgResult {
  reorgs: number;
  depths: number[];
  /** Transactions of disconnected blocks, by kind. */
  disconnected: Record<'commit' | 'rating' | 'refund' | 'close' | 'other', number>;
  confirmedAgain: number;
  freshChecks: number;
  contracts: number;
  failures: string[];
  times: ReorgTimes;
  line: string;
}

/** The closing host's storage price (sat per GiB per 1000 blocks): a 32 KiB file's state for 10 blocks pays about 600 sat. */
const CLOSE_PRICE = 2_000_000_000;

/** Deadline for waits that span a reorg or a relay (bcoin flushes invs every 5 s). */
const RELAY_MS = 120_000;

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** A /proc stat line's fields after the command name (the first is the state, field 3). */
function procStat(file: string): string[] {
  const line = fs.readFileSync(file, 'utf8');
  return line.slice(line.lastIndexOf(') ') + 2).split(' ');
}

/** CPU seconds of a live process (utime + stime), or 0 once it is gone. */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined)
    return 0;
  try {
    // utime and stime: fields 14 and 15.
    const f = procStat(`/proc/${pid}/stat`);
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used so far by this process, its ended children (the CLI
 * runs, stopped fresh nodes: cutime + cstime) and the live `daemons`.
 */
function stormCpu(daemons: DaemonProcess[]): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const f = procStat('/proc/self/stat');
    children = (Number(f[13]) + Number(f[14])) / TICKS;
  } catch {
    // not Linux: the daemons' own CPU only
  }
  return (own.user + own.system) / 1e6 + children + daemons.reduce((a, d) => a + cpuOf(d.proc?.pid), 0);
}

const secs = (ms: number) => Math.round(ms / 100) / 10;

/**
 * Pause between two listcontracts polls (ms). A party's listcontracts
 * reads each contract's deal records: at 163 contracts it took the renter
 * about 1 s of CPU per call, so back-to-back polls of four nodes while an
 * index catches up cost more CPU than the reorg itself.
 */
const LIST_POLL_MS = 500;

/** `get` for forValue, called at once and then at most every `ms`. */
function paced<T>(ms: number, get: () => Promise<T>): () => Promise<T> {
  let first = true;
  return async () => {
    if (!first)
      await new Promise((resolve) => setTimeout(resolve, ms));
    first = false;
    return get();
  };
}

interface ContractJSON {
  id: string;
  state: string;
  role: string | null;
  contract: { refundHeight: number };
  commit: { txid: string; height: number | null; vout?: number } | null;
  spend: { type: string; txid: string } | null;
}

export async function runReorgStorm(options: ReorgOptions): Promise<ReorgResult> {
  const { log, rng, td, work, failures } = startSuite('cc-reorg-', options);
  const disconnected: ReorgResult['disconnected'] = { commit: 0, rating: 0, refund: 0, close: 0, other: 0 };
  const depths: number[] = [];
  let confirmedAgain = 0;
  let freshChecks = 0;
  const started = Date.now();
  const times: ReorgTimes = { setupS: 0, perReorg: [] };
  /** The next fresh node while it starts (awaited before the teardown, so none starts after it). */
  let freshing: Promise<DaemonProcess | Error> | null = null;
  try {
    const { renter, hosts } = await startNetwork(td, [[], ['--host-storage-price', `${CLOSE_PRICE}sat`]]);
    const closingHost = hosts[1];
    const observerArgs = ['--connect', renter.addr];
    const observer = await startDaemon(td, observerArgs);
    const forker = await startDaemon(td, ['--nolisten', '--connect', '127.0.0.1:1']);
    const network = [renter, ...hosts, observer];
    const daemons = [...network, forker];
    const tip = (d: DaemonProcess) => call<string>(d, 'getbestblockhash');
    const height = (d: DaemonProcess) => call<number>(d, 'getblockcount');
    const mine = async (d: DaemonProcess, n: number) => call<string[]>(d, 'generatetoaddress', [n, await call<string>(d, 'getnewaddress')]);
    const synced = async (nodes: DaemonProcess[], want: string, what: string) => {
      for (const n of nodes)
        await forValue(() => tip(n), want, RELAY_MS, `${what}: tip of ${n.addr}`);
    };
    /** Feed the forker the renter's blocks it lacks (it has no peers). */
    const feedForker = async () => {
      const top = await height(renter);
      for (let h = (await height(forker)) + 1; h <= top; h++) {
        const hash = await call<string>(renter, 'getblockhash', [h]);
        const raw = await call<string>(renter, 'getblock', [hash, false]);
        await call(forker, 'submitblock', [raw]);
      }
      await forValue(() => tip(forker), await tip(renter), RELAY_MS, 'forker at the renter\'s tip');
    };

    // Hosts get coins to pay for their ratings.
    for (const h of hosts)
      await call(renter, 'sendtoaddress', [await call<string>(h, 'getnewaddress'), 1]);
    await mine(renter, 1);
    await synced(network, await tip(renter), 'funded');
    await feedForker();
    // The fresh nodes' datadir: a node synced to here (no CloudCoin tx
    // yet: plain blocks and the hosts' funding), then stopped cleanly.
    const template = await startDaemon(td, ['--connect', renter.addr]);
    await forValue(() => tip(template), await tip(renter), RELAY_MS * 2, 'the fresh nodes\' template synced');
    await template.stop('SIGTERM');
    /**
     * A fresh node: the template's datadir copied and started with no peer
     * (as the forker), while the storm builds its branch, so its start
     * overlaps the puts; the check connects it to the renter (addnode
     * onetry) and it syncs every block since the template.
     */
    const startFresh = async (): Promise<DaemonProcess> => {
      const d = await DaemonProcess.create();
      td.teardown(async () => {
        await d.stop('SIGKILL');
        d.cleanup();
      });
      fs.cpSync(template.base, d.base, { recursive: true });
      await d.start(['--nolisten', '--connect', '127.0.0.1:1']);
      return d;
    };
    const hostOf = new Map<string, DaemonProcess>();
    for (const h of hosts)
      hostOf.set((await call<{ identity: string }>(h, 'getidentity')).identity, h);

    /** Contract id -> its host (the hosts know their contracts: a host rates only its own). */
    const hostsOf = new Map<string, DaemonProcess>();
    let fileNo = 0;
    const put = async (): Promise<{ txids: string[]; contracts: Array<{ id: string; host: string }> }> => {
      const file = path.join(work, `f${++fileNo}`);
      fs.writeFileSync(file, randomBytes(32768 + rng.int(65536)));
      // New contracts each time (their commitments are what reorgs move),
      // short ones, so refunds and closes come due during the storm; two
      // hosts (one of them the closing host) or the cheaper one.
      return json(renter.cli(['put', file, '--hosts', String(1 + rng.int(2)), '--duration', '21', '--new-contracts',
        '--max-price', `${CLOSE_PRICE}sat`, '--no-wait', '--json']));
    };
    // Two contracts past their refund height before the storm, so even a
    // short storm disconnects refunds.
    for (const p of [await put(), await put()]) {
      for (const c of p.contracts)
        hostsOf.set(c.id, hostOf.get(c.host)!);
    }
    await mine(renter, 35);
    await synced(network, await tip(renter), 'early contracts refundable');
    await feedForker();
    /**
     * A fresh node's index differs: print the contracts' views that differ
     * (renter and fresh node), then the index entries that differ between
     * the observer (never a party: no records of its own) and the fresh
     * node, read from their datadirs once both stopped; the observer
     * restarts on its datadir. Returns how many entries differ.
     */
    const explainFresh = async (fresh: DaemonProcess, got: string[], want: string[]): Promise<number> => {
      for (const line of want.filter((l) => !got.includes(l)))
        log(`  renter only: ${line}`);
      for (const line of got.filter((l) => !want.includes(l)))
        log(`  fresh only:  ${line}`);
      await fresh.stop('SIGTERM');
      await observer.stop('SIGTERM');
      try {
        const [mine, theirs] = await Promise.all([readIndex(observer.datadir), readIndex(fresh.datadir)]);
        const diff = diffIndexes(mine, theirs, ['observer', 'fresh']);
        for (const line of diff.lines)
          log(`  ${line}`);
        return diff.count;
      } finally {
        await observer.start(observerArgs);
        await synced([observer], await tip(renter), 'the observer restarted');
      }
    };
    /**
     * A host's new txs into the renter's mempool at once: its own relay
     * announces txs at bcoin's 5 s inv flush (Peer.INV_INTERVAL), which the
     * storm would wait for at most of its blocks. Parents first (a rating's
     * funding tx); the relay still runs and finds them known.
     */
    const handToRenter = async (from: DaemonProcess): Promise<void> => {
      const pool = new Set(await call<string[]>(renter, 'getrawmempool'));
      let left = (await call<string[]>(from, 'getrawmempool')).filter((t) => !pool.has(t));
      for (let pass = 0; left.length && pass < 3; pass++) {
        const missing: string[] = [];
        for (const t of left) {
          const raw = await call<string>(from, 'getrawtransaction', [t]).catch(() => null);
          if (raw && !(await call(renter, 'sendrawtransaction', [raw]).then(() => true, () => false)))
            missing.push(t);
        }
        left = missing;
      }
    };
    const renterContracts = async () => (await call<ContractJSON[]>(renter, 'listcontracts')).filter((c) => c.role === 'renter');

    times.setupS = secs(Date.now() - started);
    log(`setup: ${times.setupS} s`);
    for (let i = 1; i <= options.reorgs; i++) {
      const reorgStart = Date.now();
      const cpuStart = stormCpu(daemons);
      let putMs = 0;
      const freshMs = { start: 0, sync: 0, check: 0 };
      freshing = options.freshEvery || i === options.reorgs ? startFresh().catch((e: Error) => e) : null;
      const depth = 1 + rng.int(6);
      depths.push(depth);
      const forkTip = await tip(renter);
      const forkHeight = await height(renter);
      // The doomed branch: each block gets some of the new transactions.
      const kinds = new Map<string, 'commit' | 'rating' | 'refund' | 'close'>();
      for (let b = 0; b < depth; b++) {
        const txids: string[] = [];
        if (b === 0 || rng.int(2)) {
          const putStart = Date.now();
          const p = await put();
          putMs += Date.now() - putStart;
          for (const c of p.contracts)
            hostsOf.set(c.id, hostOf.get(c.host)!);
          for (const t of p.txids) {
            kinds.set(t, 'commit');
            txids.push(t);
          }
        }
        const ours = await renterContracts();
        const h = await height(renter);
        const due = ours.filter((c) => c.commit?.height != null && !c.spend && c.contract.refundHeight <= h + 1);
        if (due.length && (b === 0 || rng.int(3))) {
          const c = rng.pick(due);
          const t = await call<string>(renter, 'refundcontract', [c.id]).catch(() => null);
          if (t) {
            kinds.set(t, 'refund');
            txids.push(t);
          }
        }
        const live = ours.filter((c) => c.commit?.height != null && c.state === 'active');
        // A forced close by the closing host of a contract it holds a state for.
        const closable: string[] = [];
        for (const c of live.filter((x) => !x.spend && hostsOf.get(x.id) === closingHost)) {
          const held = await call<{ channel: { paid: number } | null }>(closingHost, 'getcontract', [c.id]).catch(() => null);
          if (held?.channel)
            closable.push(c.id);
        }
        if (closable.length && rng.int(2)) {
          const t = await call<{ txid: string }>(closingHost, 'closecontract', [rng.pick(closable)])
            .then((r) => r.txid).catch(() => null);
          if (t) {
            kinds.set(t, 'close');
            txids.push(t);
            await handToRenter(closingHost);
          }
        }
        if (live.length && rng.int(2)) {
          const c = rng.pick(live);
          const byHost = rng.int(2) === 1 && hostsOf.has(c.id);
          const rater = byHost ? hostsOf.get(c.id)! : renter;
          const t = await call<string>(rater, 'sendrating', [c.id, rng.int(201) - 100]).catch(() => null);
          if (t) {
            kinds.set(t, 'rating');
            txids.push(t);
            if (rater !== renter)
              await handToRenter(rater);
          }
        }
        // Everything (a host's tx handed over) in the renter's mempool, then into a block.
        await forValue(async () => {
          const pool = new Set(await call<string[]>(renter, 'getrawmempool'));
          return txids.filter((t) => !pool.has(t)).length;
        }, 0, RELAY_MS, 'the new txs in the renter\'s mempool');
        await mine(renter, 1);
      }
      const buildMs = Date.now() - reorgStart;
      const doomedTip = await tip(renter);
      // Every non-coinbase tx of the doomed blocks.
      const doomed: string[] = [];
      for (let h = forkHeight + 1; h <= forkHeight + depth; h++) {
        const block = await call<{ tx: string[] }>(renter, 'getblock', [await call<string>(renter, 'getblockhash', [h]), true]);
        doomed.push(...block.tx.slice(1));
      }
      // The renter's node also refunds due escrows on its own, and a host's
      // node closes its contracts at their end with the latest channel
      // state: a tx that spends an escrow is a refund or a close whoever
      // sent it. A close must come back and confirm like the rest, and the
      // renter's refund must never take its place.
      for (const c of await renterContracts()) {
        if (c.spend && !kinds.has(c.spend.txid))
          kinds.set(c.spend.txid, c.spend.type === 'refunded' ? 'refund' : 'close');
      }
      for (const t of doomed)
        disconnected[kinds.get(t) ?? 'other'] += 1;
      await synced(network, doomedTip, `reorg ${i}: the doomed branch`);

      // The forker (still at the fork point) mines one block more and
      // hands its branch to the renter.
      if ((await tip(forker)) !== forkTip)
        throw new Error('the forker is not at the fork point');
      const branch = await mine(forker, depth + 1);
      // To every node (a submitted block reaches peers only when it becomes the tip).
      for (const hash of branch) {
        const raw = await call<string>(forker, 'getblock', [hash, false]);
        for (const d of network)
          await call(d, 'submitblock', [raw]);
      }
      const newTip = await tip(forker);
      await synced(network, newTip, `reorg ${i}: the new branch`);

      // Nobody runs a command: the disconnected txs come back and confirm.
      const back = await forValue(async () => {
        const pool = new Set(await call<string[]>(renter, 'getrawmempool'));
        return doomed.filter((t) => !pool.has(t));
      }, (m) => m.length === 0, RELAY_MS, 'disconnected txs back in the mempool').catch((e: Error) => e);
      if (back instanceof Error)
        failures.push(`reorg ${i} (depth ${depth}): ${back.message}`);
      const [next] = await mine(renter, 1);
      const block = await call<{ tx: string[] }>(renter, 'getblock', [next, true]);
      const confirmed = doomed.filter((t) => block.tx.includes(t));
      confirmedAgain += confirmed.length;
      if (confirmed.length !== doomed.length)
        failures.push(`reorg ${i} (depth ${depth}): ${doomed.length - confirmed.length} of ${doomed.length} disconnected txs not confirmed in the next block`);
      await synced(network, next, `reorg ${i}: the next block`);
      await feedForker();

      // Every index agrees; with a freshly synced node too.
      const views = async () => Promise.all(network.map(async (d) => chainView(await call<ContractJSON[]>(d, 'listcontracts')).join('\n')));
      const agreed = await forValue(paced(LIST_POLL_MS, views), (v) => v.every((x) => x === v[0]), RELAY_MS, 'every index agrees')
        .catch(() => null);
      if (!agreed) {
        const [first, ...rest] = (await views()).map((v) => v.split('\n'));
        rest.forEach((v, n) => {
          for (const line of first.filter((l) => !v.includes(l)))
            log(`  renter only (not on ${network[n + 1].addr}): ${line}`);
          for (const line of v.filter((l) => !first.includes(l)))
            log(`  ${network[n + 1].addr} only: ${line}`);
        });
        failures.push(`reorg ${i} (depth ${depth}): the nodes' indexes differ (printed above)`);
      }
      if (freshing !== null) {
        let at = Date.now();
        const lap = () => {
          const was = at;
          at = Date.now();
          return at - was;
        };
        const fresh = await freshing;
        if (fresh instanceof Error)
          throw fresh;
        try {
          // Started during the branch: this is what its start still took.
          freshMs.start = lap();
          await call(fresh, 'addnode', [renter.addr, 'onetry']);
          await forValue(() => tip(fresh), next, RELAY_MS * 2, 'the fresh node synced');
          freshMs.sync = lap();
          const want = chainView(await call<ContractJSON[]>(renter, 'listcontracts')).join('\n');
          const ok = await forValue(paced(LIST_POLL_MS, async () => chainView(await call<ContractJSON[]>(fresh, 'listcontracts')).join('\n')),
            want, RELAY_MS, 'the fresh node\'s index').catch(() => null);
          freshChecks += 1;
          if (ok === null) {
            const got = chainView(await call<ContractJSON[]>(fresh, 'listcontracts'));
            const entries = await explainFresh(fresh, got, want.split('\n'));
            failures.push(`reorg ${i} (depth ${depth}): a freshly synced node's index differs from the renter's`
              + ` (${entries} differing index entries, printed above)`);
          }
        } finally {
          await fresh.stop('SIGKILL');
          fresh.cleanup();
        }
        freshMs.check = lap();
      }
      const took = {
        wallS: secs(Date.now() - reorgStart), buildS: secs(buildMs), putS: secs(putMs), fresh: freshing !== null,
        freshStartS: secs(freshMs.start), freshSyncS: secs(freshMs.sync), freshCheckS: secs(freshMs.check),
        cpuS: Math.round(stormCpu(daemons) - cpuStart)
      };
      times.perReorg.push(took);
      log(`reorg ${i}: depth ${depth}, ${doomed.length} txs disconnected `
        + `(${doomed.map((t) => kinds.get(t) ?? 'other').join(' ')}), ${confirmed.length} confirmed again, `
        + `${back instanceof Error ? 'NOT all back in the mempool' : 'all back in the mempool first'}; `
        + `${took.wallS} s (branch ${took.buildS} s of which put ${took.putS} s; fresh node start ${took.freshStartS} s, `
        + `sync ${took.freshSyncS} s, check ${took.freshCheckS} s), ${took.cpuS} s CPU`);
    }

    type Took = ReorgTimes['perReorg'][number];
    const mean = (of: Took[], f: (x: Took) => number) => (of.reduce((a, x) => a + f(x), 0) / Math.max(1, of.length)).toFixed(1);
    const all = times.perReorg;
    const checked = all.filter((x) => x.fresh);
    log(`times: setup ${times.setupS} s; per reorg ${mean(all, (x) => x.wallS)} s (branch ${mean(all, (x) => x.buildS)} s, of which put `
      + `${mean(all, (x) => x.putS)} s), ${mean(all, (x) => x.cpuS)} s CPU; per fresh check: start ${mean(checked, (x) => x.freshStartS)} s, `
      + `sync ${mean(checked, (x) => x.freshSyncS)} s, check ${mean(checked, (x) => x.freshCheckS)} s; whole storm ${secs(Date.now() - started)} s`);
    const contracts = chainView(await call<ContractJSON[]>(renter, 'listcontracts')).length;
    const total = Object.values(disconnected).reduce((a, b) => a + b, 0);
    const line = `reorg storm: ${depths.length} reorgs (depth ${Math.min(...depths)}-${Math.max(...depths)}, `
      + `mean ${(depths.reduce((a, b) => a + b, 0) / depths.length).toFixed(1)}), ${total} txs disconnected `
      + `(${disconnected.commit} commitments, ${disconnected.rating} ratings, ${disconnected.refund} refunds, ${disconnected.close} closes, ${disconnected.other} other), `
      + `${confirmedAgain}/${total} confirmed again in the next block with no command run, `
      + `index equal to a fresh sync ${failures.some((f) => /fresh/.test(f)) ? 'NOT ' : ''}after ${freshChecks} checks (${contracts} contracts)`
      + `${failures.length ? `; ${failures.length} problems` : ''}`;
    return { reorgs: depths.length, depths, disconnected, confirmedAgain, freshChecks, contracts, failures, times, line };
  } finally {
    await freshing;
    await td.run();
  }
}
