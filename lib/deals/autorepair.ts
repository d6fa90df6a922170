/*!
 * autorepair.ts - the renter's node repairs its files on its own, within
 * a budget (`cloudcoind --repair-budget SAT`, off by default): after each
 * block, one run at a time, every coded file with a shard that is proven
 * lost (the latest audit of its contract failed: wrong data or the object
 * gone) or no longer held under a contract (its contract expired,
 * settled, refunded or void) while no other copy of that shard is held,
 * and every file of whole replicas with such a replica (not yet replaced
 * by a repair), is repaired by the same flow as `cloudcoin-cli repair`
 * (RenterClient#repair over the node's own RPC, in-process).
 *
 * The budget caps the escrows of the new contracts repairs form, over the
 * node's life (kept in the deals database, so a restart does not reset
 * it); a repair whose new contracts would pass it is not started, with a
 * warning. Repairs into open contracts (revisions) lock no new escrow.
 * A file is repaired under its work lock (worklocks.ts), looked at again
 * once held: automatic renewal may have moved it off the same host.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RenterClient, RepairResult } from './renterclient';
import type { FileInfo, ReplicaState } from './rpctypes';
import { fileKey } from './worklocks';

/**
 * States in which a copy is no longer held: its contract ended or never
 * formed. A copy still uploading (a put in progress) is not lost.
 */
const GONE_STATES: ReadonlySet<ReplicaState> = new Set<ReplicaState>(['expired', 'settled', 'refunded', 'void']);

/** What automatic repair needs from the node. */
export interface AutoRepairContext {
  /** A renter client over the node's own RPC. */
  client(): RenterClient;
  /** Whether contract `id`'s (hex) copies count as lost by its audits (auditsLost). */
  auditFailed(id: string): Promise<boolean>;
  /** Sat of the budget used so far, and recording more. */
  spent(): Promise<number>;
  addSpent(sat: number): Promise<void>;
  /** Run `fn` holding these work locks (worklocks.ts), shared with automatic renewal. */
  exclusive<T>(keys: string[], fn: () => Promise<T>): Promise<T>;
  log(level: 'info' | 'warning', msg: string): void;
}

/** Audits missed in a row after which a host counts as vanished and its copies as lost. */
export const GONE_AFTER_MISSED = 3;

/**
 * Whether a contract's copies count as lost from its audit outcomes
 * (oldest first): an audit failed (wrong data, the object gone), or the
 * host missed the last GONE_AFTER_MISSED audits (it vanished; one missed
 * audit is a restart).
 */
export function auditsLost(outcomes: readonly string[]): boolean {
  if (outcomes.includes('failed'))
    return true;
  const tail = outcomes.slice(-GONE_AFTER_MISSED);
  return tail.length === GONE_AFTER_MISSED && tail.every((o) => o === 'missed');
}

/** Blocks between two attempts at one file that could not be repaired (no host, no budget). */
export const RETRY_BLOCKS = 6;

/** Options of automatic repair. */
export interface AutoRepairOptions {
  /** Most sat that repairs' new escrows may lock in all. */
  budget: number;
  /** Length of new contracts (blocks) and highest price, as put. */
  duration: number;
  maxPrice: number;
}

/**
 * Shards of a coded file with no copy held under a contract whose audits
 * have not failed: what automatic repair rebuilds. An unreachable host is
 * not enough (hosts restart); its missed audits are its own matter.
 */
export async function lostShards(f: FileInfo, auditFailed: (id: string) => Promise<boolean>): Promise<number[]> {
  const n = f.dataShards + f.parityShards;
  const lost: number[] = [];
  for (let shard = 0; shard < n; shard++) {
    let good = false;
    for (const r of f.replicas.filter((x) => x.shard === shard)) {
      if (!GONE_STATES.has(r.state) && !await auditFailed(r.contractId)) {
        good = true;
        break;
      }
    }
    if (!good)
      lost.push(shard);
  }
  return lost;
}

/**
 * Replicas of a file of whole replicas, not replaced by an earlier
 * repair, that are not held under a contract or whose contract failed an
 * audit (hex contract ids).
 */
export async function lostReplicas(f: FileInfo, auditFailed: (id: string) => Promise<boolean>): Promise<string[]> {
  const replaced = new Set(f.repairs.flatMap((x) => x.replaced));
  const lost: string[] = [];
  for (const r of f.replicas) {
    if (!replaced.has(r.contractId) && (GONE_STATES.has(r.state) || await auditFailed(r.contractId)))
      lost.push(r.contractId);
  }
  return lost;
}

export class AutoRepair {
  readonly ctx: AutoRepairContext;
  readonly opts: AutoRepairOptions;
  private running: Promise<void> | null = null;
  /** Height of the last failed attempt per file (hex id). */
  private readonly failedAt = new Map<string, number>();

  constructor(ctx: AutoRepairContext, opts: AutoRepairOptions) {
    this.ctx = ctx;
    this.opts = opts;
  }

  /** Start a run at `height` unless one is going (a block during a run is covered by the next block). */
  kick(height: number): void {
    if (this.running !== null)
      return;
    this.running = this.run(height).catch((e: unknown) => {
      this.ctx.log('warning', `repair: ${e instanceof Error ? e.message : String(e)}`);
    }).finally(() => {
      this.running = null;
    });
  }

  /** Wait for the run in progress, if any (close). */
  async idle(): Promise<void> {
    await this.running;
  }

  private async run(height: number): Promise<void> {
    const client = this.ctx.client();
    for (const listed of await client.listFiles()) {
      const last = this.failedAt.get(listed.fileId);
      if ((last !== undefined && height < last + RETRY_BLOCKS) || (await this.lost(listed)).length === 0)
        continue;
      // Renewal may be moving this file right now: wait for it, then look again.
      await this.ctx.exclusive([fileKey(listed.fileId)], () => this.repairFile(client, listed.fileId, height));
    }
  }

  /** What a file has lost (replicas by contract, or shard numbers), in words. */
  private async lost(f: FileInfo): Promise<string[]> {
    const failed = (id: string) => this.ctx.auditFailed(id);
    return f.dataShards === 0 ? (await lostReplicas(f, failed)).map((id) => `replica ${id.slice(0, 12)}`)
      : (await lostShards(f, failed)).map(String);
  }

  /** Repair one file as it stands now (under its work lock). */
  private async repairFile(client: RenterClient, fileId: string, height: number): Promise<void> {
    let f: FileInfo;
    try {
      f = await client.rpc('getfile', [fileId]);
    } catch {
      return; // forgotten meanwhile (rm)
    }
    const lost = await this.lost(f);
    if (lost.length === 0) {
      this.ctx.log('info', `repair: file ${f.fileId.slice(0, 12)} needs no repair any more (moved by renewal meanwhile)`);
      return;
    }
    const distrust: string[] = [];
    for (const r of f.replicas) {
      if (await this.ctx.auditFailed(r.contractId))
        distrust.push(r.contractId);
    }
    const left = this.opts.budget - await this.ctx.spent();
    this.ctx.log('info', `repair: file ${f.fileId.slice(0, 12)} lost ${f.dataShards === 0 ? '' : 'shard(s) '}${lost.join(', ')}; `
      + `repairing (budget left ${left} sat)`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudcoin-repair-'));
    let res: RepairResult;
    try {
      res = await client.repair(f.fileId, {
        duration: this.opts.duration, maxPrice: this.opts.maxPrice, workDir: work, wait: false, maxEscrow: left, distrust
      });
      this.failedAt.delete(f.fileId);
    } catch (e) {
      this.failedAt.set(f.fileId, height);
      this.ctx.log('warning', `repair: file ${f.fileId.slice(0, 12)} not repaired: ${e instanceof Error ? e.message : String(e)}`);
      return;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    if (res.escrow > 0)
      await this.ctx.addSpent(res.escrow);
    for (const r of res.repaired)
      this.ctx.log('info', `repair: file ${f.fileId.slice(0, 12)} ${r.shard === null ? `replica of ${r.replaced.map((x) => x.slice(0, 12)).join(', ')} uploaded`
        : `shard ${r.shard} rebuilt`} into contract ${r.contract.slice(0, 12)} on ${r.host}`);
  }
}
