// kill -9 of cloudcoind at random points of the renter's operations, on a
// renter, a host and an observer as cloudcoind processes on loopback.
//
// Each round runs every operation once as a user runs it (cloudcoin-cli):
// a put that forms a new contract (its commitment broadcast falls before
// or after the kill), a put that revises the open contract, an rm (a
// revision dropping an object), a get; then, at the end, channel closes
// by the host (closecontract, cut by a kill of the host; what a cut close
// leaves the host's node closes on its own at the contract's end) and the
// refunds the renter's node makes on its own at each refund height. A random delay into the operation (up to 1.2 times its
// crash-free duration, measured first) the renter's or the host's
// cloudcoind is killed with SIGKILL and restarted on the same datadir.
// After one block, once the two sides settled, nothing may be lost:
//
// - no contract forgotten (renter and host list every contract they
//   listed before), no revision regressed, both sides at the same revision;
// - no coin stranded: every output the renter's wallet paid to someone
//   else is the escrow of a contract it lists (so refundcontract recovers
//   it), every unconfirmed wallet tx is in the mempool, no coin is locked;
//   at the end every escrow is actually refunded;
// - every file listed before is listed after (but the one rm aimed at),
//   and the file the operation touched downloads byte for byte; a put
//   that was cut is either stored and downloads, or forgotten once its
//   offers expire;
// - the chain index of the killed node equals the observer's (never
//   killed), and at the end a freshly synced node's.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { type DaemonProcess, spawnCLI, type CLIResult } from '../util/nodes-context';
import { forCloudPeer, identity, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { call, chainView, getFile, startDaemon, startSuite } from './common';

export type CrashOp = 'put-new' | 'put-revise' | 'rm' | 'get';
export const CRASH_OPS: CrashOp[] = ['put-new', 'put-revise', 'rm', 'get'];
type Victim = 'renter' | 'host';

export interface CrashOptions {
  /** Kills per operation (and refunds cut at the end, up to the contracts there are). */
  rounds: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface CrashResult {
  kills: Record<CrashOp | 'close' | 'refund', number>;
  byVictim: Record<Victim, number>;
  /** How the cut operation ended: it finished anyway, or failed (and the node cleaned up or finished it). */
  finished: number;
  cut: number;
  contracts: number;
  files: number;
  filesIntact: number;
  refunded: number;
  failures: string[];
  line: string;
}

interface ContractJSON {
  id: string;
  state: string;
  role: string | null;
  revision?: number;
  pendingRevision?: number | null;
  hostBehind?: boolean;
  contract: { endHeight: number; refundHeight?: number; escrowValue: number };
  commit: { txid: string; height: number | null; vout?: number } | null;
  spend: { type: string; txid: string } | null;
}

interface WalletTX { txid: string; confirmations: number; category: string; blockhash: string | null }
interface TxJSON { txid: string; vout: Array<{ n: number; scriptPubKey: { type: string } }> }

interface ReplicaJSON { contractId: string; object: number; state: string }
interface FileJSON { fileId: string; name: string; replicas: ReplicaJSON[] }

/** The host's storage price in the close phase (sat per GiB per 1000 blocks): a state pays well above a close's fee. */
const CLOSE_PRICE = 200_000_000;
/** Bytes of each close-phase file: 1 MiB pays about 200 sat per block at CLOSE_PRICE. */
const CLOSE_FILE_BYTES = 1 << 20;

/** States in which a contract holds its files (the data must come back). */
const HOLDING = new Set(['committed', 'active']);
/**
 * Contract duration in blocks for a run of `rounds`: a round mines about
 * 4 blocks, and put revises an open contract only while half its duration
 * is left, so the run must fit in half of it. Not longer: the refunds at
 * the end mine past it.
 */
function durationFor(rounds: number): number {
  return 100 + rounds * 20;
}

export async function runCrash(options: CrashOptions): Promise<CrashResult> {
  const { log, rng, td, work, failures } = startSuite('cc-crash-', options);
  const kills: CrashResult['kills'] = { 'put-new': 0, 'put-revise': 0, rm: 0, get: 0, close: 0, refund: 0 };
  let closesConfirmed = 0;
  let closePhase = 0;
  /** The close phase's contracts (closed by the host, never refunded). */
  const closedByHost = new Set<string>();
  const byVictim: Record<Victim, number> = { renter: 0, host: 0 };
  let finished = 0;
  let cut = 0;
  /** A problem, said in the log when it is found (not only in the end summary). */
  const problem = (m: string) => {
    failures.push(m);
    log(`FAIL ${m}`);
  };
  try {
    const { renter, hosts } = await startNetwork(td, [[]]);
    const host = hosts[0];
    const observer = await startDaemon(td, ['--connect', renter.addr]);
    const nodes: Record<Victim, DaemonProcess> = { renter, host };
    const [hostId, observerId] = [await identity(host), await identity(observer)];

    /** Every file we put, by name: its bytes, and whether put said it was stored. */
    const sent = new Map<string, { bytes: Buffer; stored: boolean }>();
    let fileNo = 0;
    /** Files an rm aimed at (gone or kept, both are right after a cut rm). */
    const removed = new Set<string>();
    const newFile = () => {
      const name = `f${++fileNo}`;
      const bytes = randomBytes(2000 + rng.int(60000));
      fs.writeFileSync(path.join(work, name), bytes);
      sent.set(name, { bytes, stored: false });
      return name;
    };
    const contracts = async (d: DaemonProcess) => call<ContractJSON[]>(d, 'listcontracts');
    const files = async () => call<FileJSON[]>(renter, 'listfiles');
    const height = async (d: DaemonProcess) => call<number>(d, 'getblockcount');

    /** Flags the host restarts with (the close phase raises its prices). */
    let hostArgs: string[] = [];
    const restart = async (v: Victim) => {
      const d = nodes[v];
      // A killed host's dropped connection may still be listed: seen gone
      // first, the host the renter lists below is the restarted one. (A
      // restarted renter lists nothing stale.)
      if (v === 'host')
        await forCloudPeer(renter, hostId, false, 120_000, 'the renter seeing the host gone');
      await d.start(v === 'host' ? ['--connect', renter.addr, ...hostArgs] : []);
      if (v === 'renter') {
        // The host and the observer dial the renter: they reconnect on their own, or are told to.
        await call(host, 'addnode', [renter.addr, 'onetry']).catch(() => undefined);
        await call(observer, 'addnode', [renter.addr, 'onetry']).catch(() => undefined);
      }
      // By proven identity, not a count: a connection is listed before its handshake ends.
      await forCloudPeer(renter, hostId, true, 120_000, 'the host connected to the renter again');
      await forCloudPeer(renter, observerId, true, 120_000, 'the observer connected to the renter again');
    };

    /**
     * A block, then wait until the revisions settled on both sides and
     * every index is at the tip. The renter settles a pending revision at
     * a block, and at the next one when the host was not back yet: up to
     * five blocks, 30 s apart.
     */
    const settle = async () => {
      for (let attempt = 1; ; attempt++) {
        await mine(renter);
        const tip = await height(renter);
        for (const d of [host, observer])
          await forValue(() => height(d), tip, 120_000, `${d === host ? 'host' : 'observer'} at height ${tip}`);
        const pending = () => contracts(renter).then((l) => l.filter((c) => c.role === 'renter' && (c.pendingRevision ?? null) !== null).length);
        // 30 s of wall time before the next block: a pace, not a deadline
        // (a load-stretched wait would take ten times as long per block).
        const until = Date.now() + 30_000;
        while (await pending() > 0 && Date.now() < until)
          await new Promise((resolve) => setTimeout(resolve, 250));
        if (await pending() === 0)
          return;
        if (attempt >= 5)
          throw new Error(`a revision still pending on the renter after ${attempt} blocks`);
      }
    };

    const get = (fileId: string) => getFile(renter, work, fileId);

    const opArgs = async (op: CrashOp): Promise<{ args: string[]; target?: string } | null> => {
      const listed = await files();
      const holding = listed.filter((f) => f.replicas.length && f.replicas.every((r) => HOLDING.has(r.state)));
      switch (op) {
        case 'put-new':
        case 'put-revise': {
          const name = newFile();
          return {
            args: ['put', path.join(work, name), '--hosts', '1', '--duration', String(durationFor(options.rounds)), '--max-price', '5000',
              '--no-wait', '--json', ...(op === 'put-new' ? ['--new-contracts'] : [])],
            target: name
          };
        }
        case 'rm':
        case 'get': {
          if (!holding.length)
            return null;
          const f = rng.pick(holding);
          return op === 'rm' ? { args: ['rm', f.fileId, '--json'], target: f.name }
            // The same file may be fetched again into the same name: --force replaces it.
            : { args: ['get', f.fileId, path.join(work, `out-${f.fileId.slice(0, 8)}`), '--force'], target: f.name };
        }
      }
    };

    const runOp = async (op: CrashOp, killAfterMs: number | null, victim: Victim): Promise<{ r: CLIResult; ms: number; target?: string }> => {
      let a = await opArgs(op);
      if (!a) {
        // Earlier rm's and cut puts left no held file: store one first, with no crash.
        const p = await opArgs('put-revise');
        const r = await renter.cli(p!.args);
        if (r.code !== 0)
          throw new Error(`${op}: no file to work on, and a put without a crash failed: ${r.stderr.trim()}`);
        sent.get(p!.target!)!.stored = true;
        await settle();
        a = await opArgs(op);
        if (!a)
          throw new Error(`${op}: no file to work on`);
      }
      const t0 = Date.now();
      const cli = spawnCLI(renter.cliArgs(a.args));
      let killed: Promise<unknown> = Promise.resolve();
      if (killAfterMs !== null) {
        killed = new Promise<void>((resolve) => setTimeout(() => {
          void nodes[victim].stop('SIGKILL').then(() => resolve());
        }, killAfterMs));
      }
      const r = await cli.done;
      const ms = Date.now() - t0;
      await killed;
      if (a.target && r.code === 0 && op.startsWith('put'))
        sent.get(a.target)!.stored = true;
      if (a.target && op === 'rm')
        removed.add(a.target);
      return { r, ms, target: a.target };
    };

    // Crash-free runs of each operation first: they measure how long each
    // takes (the kill falls within that) and make the first contract.
    const took: Record<CrashOp, number> = { 'put-new': 0, 'put-revise': 0, rm: 0, get: 0 };
    for (const op of ['put-new', 'put-revise', 'put-revise', 'get', 'rm'] as CrashOp[]) {
      const { r, ms } = await runOp(op, null, 'renter');
      if (r.code !== 0)
        throw new Error(`${op} without a crash failed: ${r.stderr.trim()}`);
      took[op] = Math.max(took[op], ms);
      await settle();
    }
    log(`crash-free: ${CRASH_OPS.map((op) => `${op} ${took[op]} ms`).join(', ')}`);

    /** P2WSH outputs of a tx the wallet sent, by index (a tx never changes: cached). */
    const scanned = new Map<string, number[]>();
    const escrowOutputs = async (tx: WalletTX): Promise<number[]> => {
      const known = scanned.get(tx.txid);
      if (known && tx.confirmations > 0)
        return known;
      const json = tx.confirmations === 0 ? await call<TxJSON>(renter, 'getrawtransaction', [tx.txid, true])
        : (await call<{ tx: TxJSON[] }>(renter, 'getblock', [tx.blockhash, true, true])).tx.find((x) => x.txid === tx.txid);
      const outs = (json?.vout ?? []).filter((o) => o.scriptPubKey.type === 'WITNESSSCRIPTHASH').map((o) => o.n);
      scanned.set(tx.txid, outs);
      return outs;
    };

    /**
     * What a wallet tx spends, for a failure message: each input as the
     * escrow of a contract we list (and how the index saw it spent) or as
     * another outpoint.
     */
    const spends = async (txid: string, list: ContractJSON[]): Promise<string> => {
      try {
        const { hex } = await call<{ hex: string }>(renter, 'gettransaction', [txid]);
        const tx = await call<{ vin: Array<{ txid: string; vout: number }> }>(renter, 'decoderawtransaction', [hex]);
        return tx.vin.map((i) => {
          const c = list.find((x) => x.commit && x.commit.txid === i.txid && x.commit.vout === i.vout);
          return c ? `spends the escrow of ${c.id.slice(0, 12)}, which the index shows ${c.spend ? `${c.spend.type} by ${c.spend.txid.slice(0, 12)}` : 'unspent'}`
            : `spends ${i.txid.slice(0, 12)}:${i.vout}`;
        }).join('; ');
      } catch (e) {
        return `not decoded: ${(e as Error).message}`;
      }
    };

    const check = async (label: string, before: { renter: ContractJSON[]; host: ContractJSON[]; files: FileJSON[] },
      op: CrashOp, target: string | undefined) => {
      const fail = (m: string) => {
        failures.push(`${label}: ${m}`);
        log(`${label}: FAIL ${m}`);
      };
      // The host learns a new contract's record when its commitment
      // confirms (relayed by the renter, or asked for): give it the time
      // the index check below gets.
      const holdingIds = async () => (await contracts(renter)).filter((x) => x.role === 'renter' && HOLDING.has(x.state)).map((x) => x.id);
      await forValue(async () => {
        const listed = new Set((await contracts(host)).map((x) => x.id));
        return (await holdingIds()).filter((id) => !listed.has(id)).length;
      }, 0, 60_000, 'the host lists every contract the renter holds').catch(() => null);
      const now = { renter: await contracts(renter), host: await contracts(host) };
      for (const side of ['renter', 'host'] as const) {
        const after = new Map(now[side].map((c) => [c.id, c]));
        for (const c of before[side].filter((x) => x.role === side)) {
          const a = after.get(c.id);
          if (!a) {
            fail(`the ${side} forgot contract ${c.id.slice(0, 12)}`);
            continue;
          }
          if ((a.revision ?? 0) < (c.revision ?? 0))
            fail(`the ${side}'s contract ${c.id.slice(0, 12)} went back from revision ${c.revision} to ${a.revision}`);
        }
      }
      const hostRev = new Map(now.host.map((c) => [c.id, c.revision ?? 0]));
      for (const c of now.renter.filter((x) => x.role === 'renter' && HOLDING.has(x.state))) {
        if (c.hostBehind)
          fail(`contract ${c.id.slice(0, 12)}: the host is marked as behind`);
        else if (hostRev.get(c.id) !== (c.revision ?? 0))
          fail(`contract ${c.id.slice(0, 12)}: renter at revision ${c.revision}, host at ${hostRev.get(c.id)}`);
      }
      // Money: everything the wallet paid out is a known escrow; nothing stuck or locked.
      const escrows = new Set(now.renter.filter((c) => c.commit).map((c) => `${c.commit!.txid}:${c.commit!.vout}`));
      const pendingTx = new Set(now.renter.filter((c) => c.state === 'pending' && c.commit).map((c) => c.commit!.txid));
      const mempool = new Set(await call<string[]>(renter, 'getrawmempool'));
      const txs = await call<WalletTX[]>(renter, 'listtransactions', ['*', 100000]);
      for (const tx of txs) {
        if (tx.confirmations === 0 && !mempool.has(tx.txid))
          fail(`wallet tx ${tx.txid.slice(0, 12)} is unconfirmed and not in the mempool (its coins are stuck; ${await spends(tx.txid, now.renter)})`);
        if (tx.category !== 'send' || pendingTx.has(tx.txid))
          continue;
        // Escrows are P2WSH (PROTOCOL.md 3.2); the wallet's own outputs P2WPKH.
        for (const vout of await escrowOutputs(tx)) {
          if (!escrows.has(`${tx.txid}:${vout}`))
            fail(`wallet tx ${tx.txid.slice(0, 12)} funds a P2WSH output ${vout} that is no contract we know of`);
        }
      }
      const locked = await call<unknown[]>(renter, 'listlockunspent');
      if (locked.length)
        fail(`${locked.length} wallet coins locked`);
      // Files: nothing forgotten but what rm aimed at; the touched file intact.
      const listed = await files();
      const names = new Map(listed.map((f) => [f.name, f]));
      // A file whose put was cut and never paid for is forgotten once its
      // offers expire (the node cleans up): only held files must stay.
      for (const f of before.files.filter((x) => x.replicas.length && x.replicas.every((r) => HOLDING.has(r.state)))) {
        if (!names.has(f.name) && !(op === 'rm' && f.name === target))
          fail(`file ${f.name} (${f.fileId.slice(0, 12)}) forgotten`);
      }
      const probe = [target, rng.pick(listed)?.name].filter((n): n is string => !!n);
      for (const name of new Set(probe)) {
        const f = names.get(name);
        if (!f || !f.replicas.length || !f.replicas.every((r) => HOLDING.has(r.state)))
          continue;
        const back = await get(f.fileId);
        if (!back || !back.equals(sent.get(name)!.bytes))
          fail(`file ${name} does not come back intact (${back ? `${back.length} bytes differ` : 'get failed'})`);
      }
      // Index: the killed node's chain view equals the observer's.
      const view = async (d: DaemonProcess) => chainView(await contracts(d));
      for (const side of ['renter', 'host'] as const) {
        const want = await view(observer);
        const got = await forValue(() => view(nodes[side]), (v) => v.join('\n') === want.join('\n'), 60_000, `${side} index`)
          .catch(() => null);
        if (!got)
          fail(`the ${side}'s index differs from the observer's: ${JSON.stringify((await view(nodes[side])).filter((x) => !want.includes(x)))} `
            + `vs ${JSON.stringify(want.filter((x) => !got))}`);
      }
    };

    for (let round = 1; round <= options.rounds; round++) {
      for (const op of CRASH_OPS) {
        const victim: Victim = rng.int(2) ? 'host' : 'renter';
        const delay = rng.int(Math.max(1, Math.round(took[op] * 1.2)));
        const before = { renter: await contracts(renter), host: await contracts(host), files: await files() };
        const { r, target } = await runOp(op, delay, victim);
        kills[op] += 1;
        byVictim[victim] += 1;
        if (r.code === 0)
          finished += 1;
        else
          cut += 1;
        await restart(victim);
        await settle();
        const label = `round ${round} ${op} (${target ?? ''}), ${victim} killed after ${delay} ms`;
        log(`${label}: ${r.code === 0 ? 'finished anyway' : `cut: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 120)}`}`);
        await check(label, before, op, target);
      }
    }

    // Cut puts: once their offers expire (20 blocks on regtest), a put the
    // node could not finish is forgotten; every file left comes back.
    await mine(renter, 21);
    await settle();
    // An rm cut after its revision settled leaves the file listed with an
    // object its contract no longer holds; running rm again (as its
    // output says for replicas it could not remove) forgets it.
    let rmAgain = 0;
    for (const f of await files()) {
      if (!removed.has(f.name) || f.replicas.every((r) => HOLDING.has(r.state)))
        continue;
      const again = await renter.cli(['rm', f.fileId, '--json']);
      rmAgain += 1;
      if (again.code !== 0 || (await files()).some((x) => x.fileId === f.fileId))
        problem(`file ${f.name}: a second rm after a cut one did not remove it (${again.stderr.trim() || 'still listed'})`);
    }
    const left = await files();
    const stuck = left.filter((f) => f.replicas.some((r) => !HOLDING.has(r.state)));
    for (const f of stuck)
      problem(`file ${f.name} still ${f.replicas.map((r) => r.state).join(',')} after its offers expired`);
    let intact = 0;
    for (const f of left) {
      const back = await get(f.fileId);
      if (back && back.equals(sent.get(f.name)!.bytes))
        intact += 1;
      else
        problem(`file ${f.name} does not come back intact at the end`);
    }
    for (const [name, s] of sent) {
      if (s.stored && !removed.has(name) && !left.some((f) => f.name === name))
        problem(`file ${name}: put said it was stored, and it is gone`);
    }

    // Closes: the host closes a contract with the latest channel state the
    // renter paid with (closecontract, or its node on its own at the end).
    // Contracts of their own at prices that make a close worth its fee;
    // each forced close is cut by a kill of the host a random delay into
    // it (before the close is signed, between signing and the mempool,
    // after the broadcast); after the restart the close must complete, by
    // the wallet's resend or by the node's own close at the end height, and
    // pay exactly what the state says: the host its payout, the renter the
    // rest, nothing refunded, nothing stuck or locked on either side.
    {
      hostArgs = ['--host-storage-price', `${CLOSE_PRICE}sat`];
      await host.stop('SIGKILL');
      await restart('host');
      const closing: string[] = [];
      const duration = 30 + 3 * options.rounds;
      for (let i = 0; i <= options.rounds; i++) {
        const file = path.join(work, `close${i}`);
        fs.writeFileSync(file, randomBytes(CLOSE_FILE_BYTES));
        const put = await renter.cli(['put', file, '--hosts', '1', '--duration', String(duration), '--new-contracts',
          '--max-price', `${CLOSE_PRICE}sat`, '--no-wait', '--json']);
        if (put.code !== 0)
          throw new Error(`a put for the close phase failed: ${put.stderr.trim()}`);
        closing.push(...(JSON.parse(put.stdout) as { contracts: Array<{ id: string }> }).contracts.map((c) => c.id));
        for (const id of closing)
          closedByHost.add(id);
        await settle();
      }
      // The renter pays at its audits (every 10 blocks): a block each 20 s
      // until the host holds a state for every contract.
      const hostContract = (id: string) => call<{ channel: { paid: number } | null }>(host, 'getcontract', [id]);
      let lastMine = Date.now();
      await forValue(async () => {
        if (Date.now() - lastMine > 20_000) {
          await mine(renter);
          lastMine = Date.now();
        }
        let n = 0;
        for (const id of closing)
          n += (await hostContract(id)).channel ? 1 : 0;
        return n;
      }, closing.length, 600_000, 'a channel state on the host for every close-phase contract');
      await settle();
      const spendOf = async (id: string) => (await contracts(renter)).find((c) => c.id === id)?.spend ?? null;
      // One close without a crash measures it.
      const t0 = Date.now();
      await call(host, 'closecontract', [closing[0]]);
      const closeMs = Date.now() - t0;
      await settle();
      log(`close phase: ${closing.length} contracts, crash-free close ${closeMs} ms`);
      for (const id of closing.slice(1)) {
        // The RPC straight from here (a CLI process takes longer to start
        // than the close takes): half the kills fall inside the call
        // (before the close is signed, between signing and the mempool),
        // half after its answer (before or after the relay to the renter).
        const delay = rng.int(2) ? rng.int(Math.max(1, Math.round(closeMs * 1.2)))
          : closeMs + rng.int(3000);
        const closed = call<{ txid: string }>(host, 'closecontract', [id]).then((res) => res.txid, () => null);
        await new Promise((resolve) => setTimeout(resolve, delay));
        await host.stop('SIGKILL');
        const txid = await closed;
        kills.close += 1;
        byVictim.host += 1;
        await restart('host');
        await settle();
        const spend = await spendOf(id);
        if (spend)
          closesConfirmed += 1;
        // An answered close is in the host's wallet: its node sends it again
        // and announces it to the renter as they reconnect.
        const kept = !spend && txid ? await call(host, 'gettransaction', [txid]).then(() => true, () => false) : false;
        log(`close ${id.slice(0, 12)}: host killed after ${delay} ms (${txid ? 'the call had answered' : 'the call was cut'}), `
          + `${spend ? `${spend.type} after the restart` : kept ? 'in the host\'s wallet after the restart, sent again'
            : 'open after the restart: left to the node\'s own close'}`);
      }
      // The node closes what is still open on its own, at the end height
      // (final state) or a few intervals after it, always before its close
      // deadline: mine a block each 5 s until every escrow is spent.
      // Up to the latest close deadline (the puts formed them at several
      // heights): each is closed before its own.
      const listed = await contracts(renter);
      const deadline = Math.max(...closing.map((id) => {
        const c = listed.find((x) => x.id === id)!.contract;
        return (c.refundHeight ?? c.endHeight + 12) - 6;
      }));
      lastMine = 0;
      const until = Date.now() + 900_000;
      for (;;) {
        const spent = new Set((await contracts(renter)).filter((c) => c.spend).map((c) => c.id));
        if (closing.every((id) => spent.has(id)) || Date.now() > until)
          break;
        if (Date.now() - lastMine > 5_000 && await height(renter) < deadline) {
          await mine(renter);
          lastMine = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await settle();
      for (const id of closing) {
        const spend = await spendOf(id);
        if (!spend) {
          problem(`close ${id.slice(0, 12)}: the escrow is still open at the close deadline`);
          continue;
        }
        if (spend.type !== 'settled') {
          problem(`close ${id.slice(0, 12)}: the escrow was ${spend.type}, not closed by the host`);
          continue;
        }
        // What the close paid, from the host's books and the chain.
        const e = (await call<{ contracts: Array<{ received: { closeTxid: string | null; paid: number; closeFee: number; payout: number } }> }>(
          host, 'getearnings', [id])).contracts[0]?.received;
        if (!e || e.closeTxid !== spend.txid)
          problem(`close ${id.slice(0, 12)}: the host's earnings do not name the close ${spend.txid.slice(0, 12)}`);
        else if (e.payout <= 0 || e.payout !== e.paid - e.closeFee)
          problem(`close ${id.slice(0, 12)}: payout ${e.payout} sat is not paid ${e.paid} - fee ${e.closeFee}`);
        const inWallet = await call<{ confirmations: number }>(host, 'gettransaction', [spend.txid]).catch(() => null);
        if (!inWallet || inWallet.confirmations < 1)
          problem(`close ${id.slice(0, 12)}: the host's wallet does not hold the confirmed close`);
        closePhase += 1;
      }
      for (const [name, d] of [['host', host], ['renter', renter]] as const) {
        const pool = new Set(await call<string[]>(d, 'getrawmempool'));
        const txs = await call<Array<{ txid: string; confirmations: number }>>(d, 'listtransactions', ['*', 100000]);
        for (const tx of txs.filter((x) => x.confirmations === 0 && !pool.has(x.txid)))
          problem(`close phase: ${name} wallet tx ${tx.txid.slice(0, 12)} unconfirmed and not in the mempool`);
        if ((await call<unknown[]>(d, 'listlockunspent')).length)
          problem(`close phase: ${name} wallet coins locked`);
      }
    }

    // Refunds: the renter's node refunds each escrow on its own once the
    // tip reaches its refund height. The first `rounds` times refunds fall
    // due, the renter is killed while it mines that block (and builds the
    // refunds); every escrow must be refunded all the same, with nobody
    // running refundcontract.
    const open = async () => (await contracts(renter))
      .filter((c) => c.role === 'renter' && c.commit && c.commit.height !== null && !c.spend);
    const dueHeights = async () => [...new Set((await open()).map((c) => c.contract.refundHeight ?? c.contract.endHeight + 12))]
      .sort((a, b) => a - b);
    // The operations' puts leave fewer refund heights than `rounds` when
    // many were cut (a full run kept 9 contracts of 21 put-new): short
    // contracts of their own make up the rest, one per block so each
    // falls due at its own height, at the host's default prices (a state
    // there pays less than a close's fee, so the renter's refund ends them);
    // 30 blocks: a host declines a duration within the offer window (20).
    const tip0 = await height(renter);
    const missing = options.rounds - (await dueHeights()).filter((h) => h > tip0).length;
    if (missing > 0) {
      hostArgs = [];
      await host.stop('SIGKILL');
      await restart('host');
      for (let i = 0; i < missing; i++) {
        const file = path.join(work, `refund${i}`);
        fs.writeFileSync(file, randomBytes(2000 + rng.int(60000)));
        const put = await renter.cli(['put', file, '--hosts', '1', '--duration', '30', '--new-contracts', '--max-price', '5000',
          '--no-wait', '--json']);
        if (put.code !== 0)
          throw new Error(`a put for the refund phase failed: ${put.stderr.trim()}`);
        await settle();
      }
      log(`refund phase: ${missing} more contracts formed (the operations left fewer refund heights than ${options.rounds})`);
    }
    const dueAt = await dueHeights();
    let refundKills = 0;
    for (const due of dueAt) {
      if (refundKills >= options.rounds)
        break;
      const h0 = await height(renter);
      if (due <= h0)
        continue;
      if (due - 1 > h0)
        await mine(renter, due - 1 - h0);
      const addr = (await renter.cli(['getnewaddress'])).stdout.trim();
      const cli = spawnCLI(renter.cliArgs(['generatetoaddress', '1', addr]));
      const delay = rng.int(400);
      await new Promise((resolve) => setTimeout(resolve, delay));
      await renter.stop('SIGKILL');
      await cli.done;
      refundKills += 1;
      kills.refund += 1;
      byVictim.renter += 1;
      await restart('renter');
      log(`refunds due at ${due}: renter killed ${delay} ms into mining that block`);
    }
    const mineTo = Math.max(0, ...dueAt);
    const h1 = await height(renter);
    if (mineTo >= h1)
      await mine(renter, mineTo - h1 + 1);
    await settle();
    await mine(renter);
    await settle();
    const finalList = await contracts(renter);
    // Only escrows past their refund height are due: a contract holding a
    // live file is renewed on its own (--renew auto) as the refunds are
    // mined, and its renewal runs on.
    const endTip = await height(renter);
    const due = (c: (typeof finalList)[number]) => c.role === 'renter' && c.commit !== null && c.commit.height !== null
      && !closedByHost.has(c.id) && (c.contract.refundHeight ?? c.contract.endHeight + 12) <= endTip;
    const running = finalList.filter((c) => c.role === 'renter' && c.commit && c.commit.height !== null && !c.spend && !due(c)).length;
    const unrefunded = finalList.filter((c) => due(c) && c.spend?.type !== 'refunded');
    for (const c of unrefunded)
      problem(`contract ${c.id.slice(0, 12)} escrow not refunded (${c.state}, ${c.spend ? c.spend.type : 'unspent'})`);
    const mempool = await call<string[]>(renter, 'getrawmempool');
    const txs = await call<Array<{ txid: string; confirmations: number }>>(renter, 'listtransactions', ['*', 100000]);
    for (const tx of txs.filter((x) => x.confirmations === 0 && !mempool.includes(x.txid)))
      problem(`wallet tx ${tx.txid.slice(0, 12)} stuck unconfirmed at the end (${await spends(tx.txid, finalList)})`);

    // A freshly synced node's index equals the renter's.
    const fresh = await startDaemon(td, ['--connect', renter.addr]);
    const tip = await height(renter);
    await forValue(() => height(fresh), tip, 300_000, 'the fresh node synced');
    const want = chainView(finalList);
    const freshView = await forValue(async () => chainView(await contracts(fresh)), (v) => v.join('\n') === want.join('\n'), 120_000,
      'the fresh node\'s index').catch(async () => chainView(await contracts(fresh)));
    if (freshView.join('\n') !== want.join('\n'))
      problem(`a fresh node's index differs: ${freshView.length} contracts vs the renter's ${want.length}`);

    const refundable = finalList.filter(due).length;
    const totalKills = Object.values(kills).reduce((a, b) => a + b, 0);
    const result: CrashResult = {
      kills, byVictim, finished, cut, contracts: want.length, files: left.length, filesIntact: intact,
      refunded: finalList.filter((c) => c.role === 'renter' && c.spend?.type === 'refunded').length, failures,
      line: ''
    };
    result.line = `kill -9: ${totalKills} kills (${Object.entries(kills).map(([k, v]) => `${k} ${v}`).join(', ')}; `
      + `renter ${byVictim.renter}, host ${byVictim.host}), ${finished} ops finished anyway, ${cut} cut; `
      + `${failures.length ? `${failures.length} problems` : '0 contracts forgotten, 0 revisions regressed, 0 coins stranded'}; `
      + `${intact}/${left.length} files intact (${rmAgain} cut rm finished by a second rm), `
      + `${closePhase} contracts closed by the host with the state paid (${kills.close} closes cut, ${closesConfirmed} confirmed right after the restart), `
      + `${result.refunded}/${refundable} escrows refunded${running ? ` (${running} contracts before their refund height)` : ''}, `
      + `index equal to a fresh sync (${want.length} contracts)`;
    return result;
  } finally {
    await td.run();
  }
}
