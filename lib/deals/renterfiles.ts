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
import { ManifestFile, Replica } from '../storage/manifest';
import type { DealStore } from './dealstore';
import { RenterDeal } from './dealstore';
import { DealError } from './errors';
import type { DroppedReplica, FileInfo, ReplicaInfo, ReplicaState } from './rpctypes';

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
}

/** What commitFile did. */
export interface CommitFileOutcome {
  txids: string[];
  ids: string[];
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
  addFile(fileId: Buffer, name: Buffer, size: number): Promise<void> {
    return this.lock.run(async () => {
      // [REJECT] file ids are random: a repeat is a client bug or a replay
      if (this.drafts.has(fileId.toString('hex')) || await this.ctx.store.getFile(fileId))
        throw new DealError('file-exists', `file ${fileId.toString('hex')} already exists`);
      const file = new ManifestFile();
      file.fileId = fileId;
      file.name = name;
      file.size = size;
      this.drafts.set(fileId.toString('hex'), { file, height: this.ctx.height() });
    });
  }

  /** Record a replica and its countersigned contract, before any upload. */
  addReplica(fileId: Buffer, replica: Replica, contract: StorageContract): Promise<void> {
    return this.lock.run(async () => {
      const draft = this.drafts.get(fileId.toString('hex'));
      const file = draft ? draft.file : await this.mustFile(fileId);
      const deal = new RenterDeal();
      deal.fileId = fileId;
      deal.contract = contract;
      file.replicas.push(replica);
      await this.ctx.store.putFileDeals(file, [deal]);
      this.drafts.delete(fileId.toString('hex'));
    });
  }

  /** The host signed a receipt for this contract's upload. */
  markReceived(id: Buffer): Promise<void> {
    return this.lock.run(async () => {
      const deal = await this.ctx.store.getDeal(id);
      if (deal && !deal.received) {
        deal.received = true;
        await this.ctx.store.putDeal(deal);
      }
    });
  }

  /**
   * Commit the file's uploaded replicas in one transaction. Replicas
   * without a receipt, or whose offer expires too soon, are dropped from
   * the entry first, so the entry is exactly what gets paid for. Replicas
   * already committed (a retry) are left as they are. If nothing could be
   * committed, or fewer than `min` replicas would be, nothing is paid and
   * the entry is removed.
   */
  commitFile(fileId: Buffer, min = 1): Promise<CommitFileOutcome> {
    return this.lock.run(async () => {
      const file = await this.mustFile(fileId);
      const height = this.ctx.height();
      const keep: Replica[] = [];
      const fund: StorageContract[] = [];
      const dropped: DroppedReplica[] = [];
      const gone: Buffer[] = [];
      let committed = 0;
      for (const r of file.replicas) {
        const deal = await this.ctx.store.getDeal(r.contractId);
        const why = await this.unfit(r, deal, height);
        if (why === 'committed') {
          committed += 1;
          keep.push(r);
        } else if (why !== null || !deal) {
          dropped.push({ id: r.contractId.toString('hex'), host: this.ctx.addressOf(r.hostPk), reason: why ?? 'unknown contract' });
          gone.push(r.contractId);
        } else {
          keep.push(r);
          fund.push(deal.contract);
        }
      }
      if (committed === 0 && (fund.length === 0 || fund.length < min)) {
        await this.ctx.store.deleteFileDeals(fileId, [...gone, ...fund.map((c) => c.hash())]);
        throw new DealError('nothing-to-commit', `${fund.length} replica(s) can be committed, ${min} needed; nothing was paid`
          + (dropped.length ? `: ${dropped.map((d) => `${d.host}: ${d.reason}`).join('; ')}` : ''));
      }
      file.replicas = keep;
      await this.ctx.store.putFileDeals(file, [], gone);
      if (fund.length === 0)
        return { txids: [], ids: [], dropped };
      let txids: string[];
      try {
        txids = await this.ctx.commit(fund);
      } catch (e) {
        await this.forgetIfUnpaid(file, fund);
        throw e;
      }
      return { txids, ids: fund.map((c) => c.id()), dropped };
    });
  }

  /** Why a replica cannot be funded now; 'committed' if it already was; null if it can. */
  private async unfit(r: Replica, deal: RenterDeal | null, height: number): Promise<string | null> {
    if (await this.ctx.hasCommitment(r.contractId))
      return 'committed';
    if (!deal)
      return 'unknown contract';
    if (!deal.received)
      return 'the upload was not confirmed by the host (no receipt)';
    if (deal.contract.expiryHeight < height + COMMIT_MARGIN)
      return `its offer expires at block ${deal.contract.expiryHeight}, too soon to commit at ${height}`;
    return null;
  }

  /** After a failed commit: drop the entry only if none of it was paid. */
  private async forgetIfUnpaid(file: ManifestFile, tried: StorageContract[]): Promise<void> {
    for (const r of file.replicas) {
      if (await this.ctx.hasCommitment(r.contractId))
        return;
    }
    await this.ctx.store.deleteFileDeals(file.fileId, tried.map((c) => c.hash()));
  }

  /**
   * Forget a file. Refused while any of its contracts is pending or in
   * force: its salts are the only way to decrypt paid-for data. A put
   * that gives up before committing removes its file this way (nothing
   * was paid; the hosts delete the uploads when the offers expire).
   */
  removeFile(fileId: Buffer): Promise<boolean> {
    return this.lock.run(async () => {
      const file = await this.ctx.store.getFile(fileId);
      if (!file)
        return false;
      for (const r of file.replicas) {
        const state = await this.replicaState(r);
        if (state === 'pending' || state === 'committed' || state === 'active')
          throw new DealError('file-in-use', `contract ${r.contractId.toString('hex')} of this file is ${state}: its keys must be kept`);
      }
      await this.ctx.store.deleteFileDeals(fileId, file.replicas.map((r) => r.contractId));
      return true;
    });
  }

  /**
   * Housekeeping at a block: replicas never committed whose offer has
   * expired can no longer be paid for; drop them, and a file left without
   * replicas. Returns the ids of the files removed.
   */
  maintain(height: number): Promise<string[]> {
    return this.lock.run(async () => {
      for (const [key, d] of this.drafts) {
        if (d.height + DRAFT_BLOCKS < height)
          this.drafts.delete(key);
      }
      // file id -> contracts of it that can no longer be paid for
      const unpaid = new Map<string, Set<string>>();
      for (const deal of await this.ctx.store.listDeals()) {
        if (deal.contract.expiryHeight >= height)
          continue;
        const id = deal.contract.hash();
        // A committed contract's record lives in the chain index now.
        if (!await this.ctx.hasCommitment(id)) {
          const key = deal.fileId.toString('hex');
          unpaid.set(key, (unpaid.get(key) ?? new Set()).add(id.toString('hex')));
        }
        await this.ctx.store.deleteDeal(id);
      }
      const removed: string[] = [];
      for (const [key, ids] of unpaid) {
        const file = await this.ctx.store.getFile(Buffer.from(key, 'hex'));
        if (!file)
          continue;
        file.replicas = file.replicas.filter((r) => !ids.has(r.contractId.toString('hex')));
        if (file.replicas.length > 0) {
          await this.ctx.store.putFile(file);
          continue;
        }
        await this.ctx.store.deleteFileDeals(file.fileId, []);
        removed.push(key);
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
  async replicaState(r: Replica): Promise<ReplicaState> {
    const info = await this.ctx.contractInfo(r.contractId);
    if (info)
      return info.state as ReplicaState;
    if (await this.ctx.hasCommitment(r.contractId))
      return 'pending';
    const deal = await this.ctx.store.getDeal(r.contractId);
    return deal && deal.received ? 'uploaded' : 'uploading';
  }

  /** getfile / listfiles JSON for one file. */
  async info(file: ManifestFile): Promise<FileInfo> {
    const height = this.ctx.height();
    const replicas: ReplicaInfo[] = [];
    for (const r of file.replicas) {
      const info = await this.ctx.contractInfo(r.contractId);
      const deal = info ? null : await this.ctx.store.getDeal(r.contractId);
      const end = info ? info.endHeight : deal ? deal.contract.endHeight : 0;
      replicas.push({
        contractId: r.contractId.toString('hex'),
        host: this.ctx.addressOf(r.hostPk),
        hostKey: r.hostPk.toString('hex'),
        reachable: this.ctx.reachable(r.hostPk),
        salt: r.salt.toString('hex'),
        root: r.root.toString('hex'),
        objectSize: r.objectSize,
        state: await this.replicaState(r),
        endHeight: end,
        blocksLeft: Math.max(0, end - height),
        expiryHeight: deal ? deal.contract.expiryHeight : 0
      });
    }
    return {
      fileId: file.fileId.toString('hex'),
      name: file.name.toString('utf8'),
      nameHex: file.name.toString('hex'),
      size: file.size,
      revision: file.revision,
      replicas
    };
  }
}
