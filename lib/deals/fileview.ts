/*!
 * fileview.ts - what getfile and listfiles show of a renter's file: each
 * replica's state, end, cost so far and to the end, audits, when an
 * unfinished copy is given up, the file's health and its repairs. Reads
 * only: the file book (renterfiles.ts) owns every change.
 */

import type { Revision } from '../contracts/revision';
import type { StorageContract } from '../contracts/storagecontract';
import type { ManifestFile, Replica } from '../storage/manifest';
import { type ObjectCost, objectCost } from './accrual';
import { auditStatus } from './auditview';
import { inherited, objectKey } from './deltarefs';
import { NO_SHARD, type RepairRecord } from './repairlog';
import type { RenterFilesContext } from './renterfiles';
import { accrualTerms, isRenewal } from './revisions';
import { HELD_STATES, type FileHealth, type FileInfo, type RepairInfo, type ReplicaInfo, type ReplicaState } from './rpctypes';

/** Revisions read per contract (hex id) during one listing: a contract holds many files. */
export type RevisionCache = Map<string, Revision[]>;

/** What a view reads: the file book's context and its replica states. */
export interface FileView {
  ctx: RenterFilesContext;
  replicaState(r: Replica, fileId: Buffer): Promise<ReplicaState>;
}

/**
 * How many distinct shards (or replicas) are held by a connected host, and
 * how many the file needs: K for a coded file, 1 for replicas.
 */
export function health(file: ManifestFile, replicas: ReplicaInfo[], replaced: ReadonlySet<string> = new Set()): FileHealth {
  // A replica a repair replaced no longer counts: its re-upload stands in for it.
  const current = file.coded ? replicas : replicas.filter((r) => !replaced.has(r.contractId));
  const alive = current.filter((r) => HELD_STATES.has(r.state) && r.reachable);
  const total = file.coded ? file.dataShards + file.parityShards : current.length;
  return {
    alive: file.coded ? new Set(alive.map((r) => r.shard)).size : alive.length,
    needed: file.coded ? file.dataShards : 1,
    total
  };
}

/**
 * getfile / listfiles JSON for one file. `files` (every stored file, a
 * listing passes it once) says which objects of removed versions this
 * file's chunk maps read and is charged for (deltarefs.ts inherited).
 */
export async function fileInfo(view: FileView, file: ManifestFile, revisions: RevisionCache = new Map(), files?: ManifestFile[]): Promise<FileInfo> {
  const ctx = view.ctx;
  const height = ctx.height();
  const replicas: ReplicaInfo[] = [];
  const heirs = file.delta ? inherited(files ?? await ctx.store.listFiles()) : new Map();
  const mine = file.fileId.toString('hex');
  for (const r of file.replicas) {
    const info = await ctx.contractInfo(r.contractId);
    const rc = await ctx.store.getRenterContract(r.contractId);
    const latest = await ctx.store.latestRevision(r.contractId);
    const end = info ? info.endHeight : rc ? rc.contract.endHeight : 0;
    // A chunk read from an earlier object is paid once, where that object is charged.
    const extra = (r.chunks?.sources ?? []).filter((s) => heirs.get(objectKey(r.contractId, s.object))?.fileId === mine)
      .map((s) => ({ object: s.object, objectSize: s.objectSize }));
    const state = await view.replicaState(r, file.fileId);
    let cost = rc && latest ? await replicaCost(ctx, r, rc.contract, height, revisions) : null;
    for (const x of extra) {
      const more = cost && rc ? await replicaCost(ctx, { contractId: r.contractId, ...x }, rc.contract, height, revisions) : null;
      if (cost && more)
        cost = { accrued: cost.accrued + more.accrued, toEnd: cost.toEnd + more.toEnd };
    }
    replicas.push({
      contractId: r.contractId.toString('hex'),
      object: r.object,
      revision: latest ? latest.number : null,
      host: ctx.addressOf(r.hostPk),
      hostKey: r.hostPk.toString('hex'),
      reachable: ctx.reachable(r.hostPk),
      salt: r.salt.toString('hex'),
      root: r.root.toString('hex'),
      objectSize: r.objectSize,
      shard: file.coded ? r.shard : null,
      state,
      endHeight: end,
      blocksLeft: Math.max(0, end - height),
      expiryHeight: rc ? rc.contract.expiryHeight : 0,
      givenUpAt: state === 'uploading' && rc ? await givenUpAt(ctx, r.contractId, rc.contract) : null,
      cost,
      audits: rc ? auditStatus(rc.contract, await ctx.store.listAudits(r.contractId)) : null,
      chunks: r.chunks ? r.chunks.getJSON() : null,
      inherited: extra
    });
  }
  const repairs = (await ctx.store.listRepairs(file.fileId)).map((x) => repairInfo(ctx, x));
  const lease = ctx.leaseExpires(file.fileId);
  return {
    fileId: file.fileId.toString('hex'),
    name: file.name.toString('utf8'),
    nameHex: file.name.toString('hex'),
    size: file.size,
    revision: file.revision,
    dataShards: file.dataShards,
    parityShards: file.parityShards,
    health: health(file, replicas, new Set(repairs.flatMap((x) => x.replaced))),
    replicas,
    cost: {
      accrued: replicas.reduce((n, r) => n + (r.cost ? r.cost.accrued : 0), 0),
      toEnd: replicas.reduce((n, r) => n + (r.cost ? r.cost.toEnd : 0), 0)
    },
    repairs,
    leaseExpires: lease === null ? null : Math.ceil(lease / 1000)
  };
}

/**
 * When an unfinished copy in `contract` is dropped if nobody finishes
 * it: its pending revision given up (rentercontracts.ts givenUpAt), or,
 * for a new contract never committed, its offer lapsing (maintain).
 */
async function givenUpAt(ctx: RenterFilesContext, id: Buffer, contract: StorageContract): Promise<number | null> {
  const pending = await ctx.givenUpAt(id);
  const lapse = await ctx.hasCommitment(id) ? null : contract.expiryHeight + 1;
  if (pending === null || lapse === null)
    return pending ?? lapse;
  return Math.min(pending, lapse);
}

/**
 * A replica's object cost under `contract`: held from the height of the
 * first final revision whose `nextObject` passed the object's id (ids are
 * handed out in increasing order), upload charged unless that revision
 * is a renewal's revision 0, which carries objects over. Null when no
 * final revision holds it yet.
 */
async function replicaCost(ctx: RenterFilesContext, r: { contractId: Buffer; object: number; objectSize: number }, contract: StorageContract, height: number,
  revisions: RevisionCache): Promise<ObjectCost | null> {
  const key = r.contractId.toString('hex');
  let list = revisions.get(key);
  if (!list) {
    list = await ctx.store.listRevisions(r.contractId);
    revisions.set(key, list);
  }
  const added = list.find((rev) => rev.nextObject > r.object);
  if (!added)
    return null;
  const uploaded = !(added.number === 0 && isRenewal(contract));
  return objectCost(accrualTerms(contract), r.objectSize, added.height, height, uploaded);
}

function repairInfo(ctx: RenterFilesContext, x: RepairRecord): RepairInfo {
  return {
    height: x.height,
    time: x.time,
    shard: x.shard === NO_SHARD ? null : x.shard,
    contractId: x.contractId.toString('hex'),
    host: ctx.addressOf(x.hostPk),
    replaced: x.replaced.map((id) => id.toString('hex'))
  };
}
