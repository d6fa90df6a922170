/*!
 * renterfiles.ts - the renter's files, kept by its node so that no put
 * depends on the client that started it.
 *
 * Durability rule (money and keys are never lost): a file's entry (its
 * id, name and every replica's salt, hence its keys) and the contracts
 * proposed for it are written before any byte is uploaded, and the entry
 * is never removed while one of its contracts might still confirm. The
 * node funds the commitment itself (commitfile), so a client that dies or
 * loses its connection mid-put changes nothing: what was committed stays
 * recorded, and what was not is cleaned up here once its offer expired
 * (the host deletes the upload then too).
 */

import type { StorageContract } from '../contracts/storagecontract';
import { Mutex } from '../contracts/mutex';
import { schemes } from '../storage/common';
import type { ShardScheme } from '../storage/erasure';
import { type Manifest, ManifestFile, type Replica } from '../storage/manifest';
import type { AdoptOutcome } from './recovery';
import type { DealStore } from './dealstore';
import { DealError } from './errors';
import { NO_SHARD, RepairRecord } from './repairlog';
import { fileInfo, type RevisionCache } from './fileview';
import type { DroppedReplica, FileInfo, ReplicaState } from './rpctypes';
import { IN_FORCE_STATES } from './common';

/**
 * Blocks of slack an offer must have left for its commitment to confirm
 * in, so the commitment need not make the very next block (PROTOCOL 5).
 */
export const COMMIT_MARGIN = 2;
/** Blocks a file added without any replica is remembered (in memory). */
export const DRAFT_BLOCKS = 6;
/** Shortest id prefix accepted (as git's default abbreviation floor). */
export const MIN_ID_PREFIX = 4;

/** What the renter's file book needs from the node. */
export interface RenterFilesContext {
  store: DealStore;
  height(): number;
  /** A contract's state and end height in the chain index, or null. */
  contractInfo(id: Buffer): Promise<{ state: string; endHeight: number } | null>;
  /** Committed, pending in the mempool, or one of our void records. */
  hasCommitment(id: Buffer): Promise<boolean>;
  /** Fund and broadcast one commitment for these contracts. */
  commit(contracts: StorageContract[]): Promise<string[]>;
  /** Identity address of a host key. */
  addressOf(pk: Buffer): string;
  /** Whether a host is a connected CloudStorage peer now. */
  reachable(pk: Buffer): boolean;
  /** Pending revisions of these contracts may be settled now: their put gave up on them. */
  release(ids: Buffer[]): void;
  /** The block at which the node gives up the contract's pending revision if nobody finishes it, or null (none pending). */
  givenUpAt(id: Buffer): Promise<number | null>;
  /** Unix time (ms) the lease of the put of `fileId` lapses unless its client renews it, or null (putleases.ts). */
  leaseExpires(fileId: Buffer): number | null;
}

/** What commitFile did. */
export interface CommitFileOutcome {
  txids: string[];
  ids: string[];
  /** Contracts funded by this commitment (new ones; the rest were reused). */
  formed: string[];
  dropped: DroppedReplica[];
}


export class RenterFiles {
  readonly ctx: RenterFilesContext;
  private readonly lock = new Mutex();
  /** Files added but without a replica yet, by id, with the height added. */
  private readonly drafts = new Map<string, { file: ManifestFile; height: number }>();

  constructor(ctx: RenterFilesContext) {
    this.ctx = ctx;
  }

  /**
   * A new file; it is written to disk with its first replica (before
   * that it holds no key worth keeping), and forgotten if none comes
   * within DRAFT_BLOCKS.
   */
  addFile(fileId: Buffer, name: Buffer, size: number, scheme: ShardScheme | null = null): Promise<number> {
    return this.lock.run(async () => {
      // [REJECT] file ids are random: a repeat is a client bug or a replay
      if (this.drafts.has(fileId.toString('hex')) || await this.ctx.store.getFile(fileId))
        throw new DealError('file-exists', `file ${fileId.toString('hex')} already exists`);
      const file = new ManifestFile();
      file.fileId = fileId;
      file.name = name;
      file.size = size;
      // A put of a name already stored is its next version; the earlier ones stay as they are.
      const same = [...(await this.ctx.store.listFiles()), ...[...this.drafts.values()].map((d) => d.file)]
        .filter((f) => f.name.equals(name));
      file.revision = same.length ? Math.max(...same.map((f) => f.revision)) + 1 : 0;
      if (scheme) {
        file.scheme = schemes.AES256GCM_1M_RS;
        file.dataShards = scheme.dataShards;
        file.parityShards = scheme.parityShards;
      }
      this.drafts.set(fileId.toString('hex'), { file, height: this.ctx.height() });
      return file.revision;
    });
  }

  /**
   * Change a file (a draft or a stored one) under the files' lock and let
   * `write` persist it, with whatever else the caller writes in the same
   * batch (a contract's pending revision): both, or neither.
   */
  withFile(fileId: Buffer, change: (file: ManifestFile) => void, write: (file: ManifestFile) => Promise<void>): Promise<void> {
    return this.lock.run(async () => {
      const draft = this.drafts.get(fileId.toString('hex'));
      const file = draft ? draft.file : await this.mustFile(fileId);
      const copy = ManifestFile.decode(file.encode());
      change(copy);
      await write(copy);
      this.drafts.delete(fileId.toString('hex'));
    });
  }

  /**
   * Store a file found again in a host's manifest written at `updated`
   * (recovery.ts): 'new' if this node did not know it; 'newer' if it had
   * only an older manifest's entry of it (found by an earlier recovery,
   * unchanged since), which the newer one replaces; else 'known' (a draft,
   * a file this node wrote, or an entry as new or newer).
   */
  adopt(file: ManifestFile, updated: number): Promise<AdoptOutcome> {
    return this.lock.run(async () => {
      if (this.drafts.has(file.fileId.toString('hex')))
        return 'known';
      const had = await this.ctx.store.getFile(file.fileId);
      if (had) {
        const from = await this.ctx.store.adoptedFrom(file.fileId);
        if (from === null || from >= updated)
          return 'known';
        await this.ctx.store.putAdoptedFile(file, updated);
        return had.encode().equals(file.encode()) ? 'known' : 'newer';
      }
      await this.ctx.store.putAdoptedFile(file, updated);
      return 'new';
    });
  }

  /**
   * The renter's manifest as hosts keep it (object 0): every file with its
   * paid-for copies only. A copy this node is still putting (added by a
   * contract's pending revision, or in a new contract not committed) is
   * left out, and a file with none else (a put in progress or interrupted)
   * with it: a node restored from the seed must not bring back a put that
   * never completed, nor show a copy that was never uploaded. A copy found
   * again from a manifest and not yet taken over (no renter record) stays.
   */
  async manifest(): Promise<Manifest> {
    const m = await this.ctx.store.manifest();
    const files: ManifestFile[] = [];
    const pending = new Map<string, Set<number>>();
    const inFlight = async (r: Replica): Promise<boolean> => {
      const key = r.contractId.toString('hex');
      let added = pending.get(key);
      if (!added) {
        const p = await this.ctx.store.getPending(r.contractId);
        added = new Set(p ? p.add.map((o) => o.id) : []);
        pending.set(key, added);
      }
      return added.has(r.object) || !await this.ctx.hasCommitment(r.contractId);
    };
    for (const f of m.files) {
      const paid: Replica[] = [];
      for (const r of f.replicas) {
        if (!await this.ctx.store.getRenterContract(r.contractId) || !await inFlight(r))
          paid.push(r);
      }
      if (paid.length === 0)
        continue;
      f.replicas = paid;
      files.push(f);
    }
    m.files = files;
    return m;
  }

  /**
   * After contract `id` was taken over (its objects adopted from its host,
   * takeover.ts): a copy in it of a file found again from a manifest that
   * its host does not hold (a put that never completed, which a manifest
   * sealed by an older node still lists) is dropped, and such a file left
   * without copies with it, so nothing shows a copy that was never
   * uploaded. Files this node wrote are not touched. Returns how many
   * files changed.
   */
  dropUnheld(id: Buffer): Promise<number> {
    return this.lock.run(async () => {
      let changed = 0;
      for (const f of await this.filesOf(id)) {
        const from = await this.ctx.store.adoptedFrom(f.fileId);
        if (from === null)
          continue;
        const keep: Replica[] = [];
        for (const r of f.replicas) {
          if (!r.contractId.equals(id) || await this.isFinal(r, f.fileId))
            keep.push(r);
        }
        if (keep.length === f.replicas.length)
          continue;
        changed += 1;
        f.replicas = keep;
        if (keep.length)
          await this.ctx.store.putAdoptedFile(f, from);
        else
          await this.ctx.store.deleteFile(f.fileId);
      }
      return changed;
    });
  }

  /** A file as it stands, draft or stored, or null. */
  async peek(fileId: Buffer): Promise<ManifestFile | null> {
    const draft = this.drafts.get(fileId.toString('hex'));
    return draft ? draft.file : this.ctx.store.getFile(fileId);
  }

  /**
   * Log that shard `shard` of a coded file was rebuilt into contract `id`
   * (its replica there must be final); the file's other copies of that
   * shard are recorded as replaced. For a file of whole replicas (shard
   * null) the copy in `id` was re-uploaded in place of the replicas in
   * `replaced` (contracts of this file, none of them `id`).
   */
  logRepair(fileId: Buffer, shard: number | null, id: Buffer, replaced: Buffer[] = []): Promise<RepairRecord> {
    return this.lock.run(async () => {
      const file = await this.mustFile(fileId);
      // [REJECT] a shard for a file of replicas, or none for a coded one
      if (file.coded !== (shard !== null))
        throw new DealError('bad-repair', file.coded ? `file ${fileId.toString('hex')} is stored as shards: name the shard rebuilt`
          : `file ${fileId.toString('hex')} is stored as whole replicas, not shards`);
      const r = file.replicas.find((x) => x.contractId.equals(id) && (shard === null || x.shard === shard));
      // [REJECT] the new copy must be held, countersigned, where the caller says
      if (!r || !await this.isFinal(r, fileId))
        throw new DealError('bad-repair', `contract ${id.toString('hex')} holds no final copy of `
          + `${shard === null ? 'a replica' : `shard ${shard}`} of this file`);
      // [REJECT] a replica repair replaces other replicas of this file, and at least one
      if (shard === null && (replaced.length === 0 || replaced.some((x) => x.equals(id)
        || !file.replicas.some((y) => y.contractId.equals(x)))))
        throw new DealError('bad-repair', 'a replica repair must name the contracts of the replicas it replaces (others of this file)');
      const record = new RepairRecord();
      record.height = this.ctx.height();
      record.time = Math.floor(Date.now() / 1000);
      record.shard = shard ?? NO_SHARD;
      record.contractId = id;
      record.hostPk = r.hostPk;
      record.replaced = shard === null ? replaced
        : file.replicas.filter((x) => x.shard === shard && !x.contractId.equals(id)).map((x) => x.contractId);
      await this.ctx.store.addRepair(fileId, record);
      return record;
    });
  }

  /** Stored files with a replica in contract `id`. */
  async filesOf(id: Buffer): Promise<ManifestFile[]> {
    return (await this.ctx.store.listFiles()).filter((f) => f.replicas.some((r) => r.contractId.equals(id)));
  }

  /** Whether the replica's object is in its contract's latest final revision. */
  private async isFinal(r: Replica, fileId: Buffer): Promise<boolean> {
    const o = await this.ctx.store.getObject(r.contractId, r.object);
    return o !== null && o.fileId.equals(fileId) && o.root.equals(r.root);
  }

  /**
   * Commit the file's replicas: those in new contracts (revision 0 final,
   * not committed) are funded in one transaction; those added to open
   * contracts by a revision are already paid for. Replicas without a
   * receipt, or whose offer expires too soon, are dropped from the entry
   * first, so the entry is exactly what gets paid for. If fewer than
   * `min` replicas remain, nothing is paid and the entry is removed.
   */
  commitFile(fileId: Buffer, min = 1): Promise<CommitFileOutcome> {
    return this.lock.run(async () => {
      const file = await this.mustFile(fileId);
      const height = this.ctx.height();
      const keep: Replica[] = [];
      const fund: StorageContract[] = [];
      const dropped: DroppedReplica[] = [];
      const released: Buffer[] = [];
      let held = 0;
      for (const r of file.replicas) {
        const why = await this.unfit(r, file.fileId, height);
        if (why === 'committed') {
          held += 1;
          keep.push(r);
          continue;
        }
        const rc = why === null ? await this.ctx.store.getRenterContract(r.contractId) : null;
        if (!rc) {
          dropped.push({ id: r.contractId.toString('hex'), host: this.ctx.addressOf(r.hostPk), reason: why ?? 'unknown contract' });
          released.push(r.contractId);
          continue;
        }
        keep.push(r);
        if (!fund.some((c) => c.hash().equals(r.contractId)))
          fund.push(rc.contract);
      }
      this.ctx.release(released);
      if (held + fund.length < min || keep.length === 0) {
        await this.ctx.store.deleteFile(fileId);
        throw new DealError('nothing-to-commit', `${held + fund.length} replica(s) can be kept, ${min} needed; nothing was paid`
          + (dropped.length ? `: ${dropped.map((d) => `${d.host}: ${d.reason}`).join('; ')}` : ''));
      }
      file.replicas = keep;
      await this.ctx.store.putFile(file);
      const ids = [...new Set(keep.map((r) => r.contractId.toString('hex')))];
      if (fund.length === 0)
        return { txids: [], ids, formed: [], dropped };
      let txids: string[];
      try {
        txids = await this.ctx.commit(fund);
      } catch (e) {
        if (held === 0)
          await this.ctx.store.deleteFile(fileId);
        throw e;
      }
      return { txids, ids, formed: fund.map((c) => c.id()), dropped };
    });
  }

  /**
   * Why a replica cannot be kept now; 'committed' if its contract is
   * already paid for (and the object final in it); null if its new
   * contract can be funded.
   */
  private async unfit(r: Replica, fileId: Buffer, height: number): Promise<string | null> {
    if (!await this.isFinal(r, fileId))
      return 'the upload was not confirmed by the host (no receipt)';
    if (await this.ctx.hasCommitment(r.contractId))
      return 'committed';
    const rc = await this.ctx.store.getRenterContract(r.contractId);
    if (!rc)
      return 'unknown contract';
    if (rc.contract.expiryHeight < height + COMMIT_MARGIN)
      return `its offer expires at block ${rc.contract.expiryHeight}, too soon to commit at ${height}`;
    return null;
  }

  /**
   * Forget a file locally: nothing is removed from hosts (cloudcoin-cli rm
   * does that). Refused while any of its objects is held under a contract
   * that is pending or in force: its salts are the only way to decrypt
   * paid-for data. A put that gives up before committing forgets its file
   * this way (nothing was paid; its pending revisions are settled later).
   */
  forgetFile(fileId: Buffer): Promise<boolean> {
    return this.lock.run(async () => {
      const file = await this.ctx.store.getFile(fileId);
      if (!file)
        return this.drafts.delete(fileId.toString('hex'));
      for (const r of file.replicas) {
        const state = await this.replicaState(r, file.fileId);
        if (IN_FORCE_STATES.has(state))
          throw new DealError('file-in-use', `contract ${r.contractId.toString('hex')} of this file is ${state}: its keys must be kept `
            + '(`cloudcoin-cli rm` deletes it from its hosts)');
      }
      await this.ctx.store.deleteFile(fileId);
      this.ctx.release(file.replicas.map((r) => r.contractId));
      return true;
    });
  }

  /** Drop some replicas of a file (removed from their hosts); the entry goes with its last one. */
  dropReplicas(fileId: Buffer, gone: (r: Replica) => boolean): Promise<ManifestFile | null> {
    return this.lock.run(async () => {
      const file = await this.ctx.store.getFile(fileId);
      if (!file)
        return null;
      file.replicas = file.replicas.filter((r) => !gone(r));
      if (file.replicas.length === 0) {
        await this.ctx.store.deleteFile(fileId);
        return null;
      }
      await this.ctx.store.putFile(file);
      return file;
    });
  }

  /** Replicas in contract `from` move to its renewal `to` (same host, same object ids and bytes). */
  follow(from: Buffer, to: Buffer): Promise<void> {
    return this.lock.run(async () => {
      for (const f of await this.filesOf(from)) {
        for (const r of f.replicas) {
          if (r.contractId.equals(from))
            r.contractId = to;
        }
        await this.ctx.store.putFile(f);
      }
    });
  }

  /**
   * Housekeeping at a block: contracts never committed whose offer has
   * expired can no longer be paid for: forget them, their replicas, and a
   * file left without replicas. Returns the ids of the files removed.
   */
  maintain(height: number): Promise<string[]> {
    return this.lock.run(async () => {
      for (const [key, d] of this.drafts) {
        if (d.height + DRAFT_BLOCKS < height)
          this.drafts.delete(key);
      }
      const dead = new Set<string>();
      for (const rc of await this.ctx.store.listRenterContracts()) {
        const id = rc.contract.hash();
        if (rc.contract.expiryHeight < height && !await this.ctx.hasCommitment(id)) {
          dead.add(id.toString('hex'));
          await this.ctx.store.deleteRenterContract(id);
        }
      }
      const removed: string[] = [];
      if (dead.size === 0)
        return removed;
      for (const file of await this.ctx.store.listFiles()) {
        const keep = file.replicas.filter((r) => !dead.has(r.contractId.toString('hex')));
        if (keep.length === file.replicas.length)
          continue;
        file.replicas = keep;
        if (keep.length > 0) {
          await this.ctx.store.putFile(file);
          continue;
        }
        await this.ctx.store.deleteFile(file.fileId);
        removed.push(file.fileId.toString('hex'));
      }
      return removed;
    });
  }

  /** A file by full id or unique prefix (at least MIN_ID_PREFIX hex). */
  async resolve(idOrPrefix: string): Promise<ManifestFile> {
    const text = idOrPrefix.toLowerCase();
    if (!/^[0-9a-f]+$/.test(text) || text.length > 64 || text.length < MIN_ID_PREFIX)
      throw new DealError('bad-file-id', `a file id is 64 hex characters, or a unique prefix of at least ${MIN_ID_PREFIX}: got "${idOrPrefix}"`);
    if (text.length === 64)
      return this.mustFile(Buffer.from(text, 'hex'));
    const hits = (await this.ctx.store.listFiles()).filter((f) => f.fileId.toString('hex').startsWith(text));
    if (hits.length === 0)
      throw new DealError('unknown-file', `No such file: ${idOrPrefix}.`);
    if (hits.length > 1)
      throw new DealError('ambiguous-id', `file id prefix ${idOrPrefix} is ambiguous: ${hits.map((f) => f.fileId.toString('hex').slice(0, 12)).join(', ')}`);
    return hits[0];
  }

  private async mustFile(fileId: Buffer): Promise<ManifestFile> {
    const file = await this.ctx.store.getFile(fileId);
    if (!file)
      throw new DealError('unknown-file', `No such file: ${fileId.toString('hex')}.`);
    return file;
  }

  /** A replica's state under the names every renter command uses. */
  async replicaState(r: Replica, fileId: Buffer): Promise<ReplicaState> {
    // A replica found again in a host's manifest after a restore
    // (recovery.ts) has no object record and no renter record of its
    // contract here: a manifest lists only committed files, so the chain
    // index says its state.
    if (!await this.isFinal(r, fileId) && await this.ctx.store.getRenterContract(r.contractId))
      return 'uploading';
    const info = await this.ctx.contractInfo(r.contractId);
    if (info)
      return info.state as ReplicaState;
    if (await this.ctx.hasCommitment(r.contractId))
      return 'pending';
    // Our own new contract, countersigned, with no commitment: its put has
    // not finished (still running, or its client or this node died before
    // committing), and it is dropped at its offer's end unless one comes.
    if (await this.ctx.store.getRenterContract(r.contractId))
      return 'uploading';
    return 'uploaded';
  }

  /** getfile / listfiles JSON for one file (fileview.ts). */
  info(file: ManifestFile, revisions: RevisionCache = new Map(), files?: ManifestFile[]): Promise<FileInfo> {
    return fileInfo(this, file, revisions, files);
  }
}
