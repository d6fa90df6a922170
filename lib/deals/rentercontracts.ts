/*!
 * rentercontracts.ts - the renter's contracts: formed once per host, then
 * changed by revisions (objects added for new files, removed for deleted
 * ones), so a second put to the same host costs no transaction.
 *
 * Durability (docs/MARKET.md): before a revision goes to the host, the
 * renter stores it signed (the pending revision) with the file replicas
 * it makes, in one synced batch; the countersigned revision replaces it
 * with the new object list in another. A revision the renter signed is
 * kept until the host's answer settles it: countersigned (applied), or
 * declined as unknown or incomplete (given up; its object ids are never
 * used again). Numbers only grow: the renter never applies a revision
 * that is not the next one, and a host that answers with an older
 * revision than ours is marked behind and never revised again.
 */

import type { StorageContract } from '../contracts/storagecontract';
import type { Revision } from '../contracts/revision';
import { verifyRevisionSigs } from '../contracts/revision';
import { Mutex } from '../contracts/mutex';
import type { ManifestFile, Replica } from '../storage/manifest';
import { type ContractObject, PendingRevision, RenterContract } from './dealrecords';
import { type DealStore } from './dealstore';
import { DealError } from './errors';
import { otherNodeError } from './othernode';
import type { HostRef } from './renterhosts';
import type { Renter } from './renter';
import { accrualTerms, allowanceCovers, committedCost, nextRevision } from './revisions';
import { earnedAt } from './accrual';
import { withinPrice, type Prices } from './pricing';
import { IN_FORCE_STATES } from './common';


/** Contract hosts `reusable` dials at most per call (a put stores on a few hosts; more is a dial storm). */
const REACH_HOSTS = 16;

/** What the contract book needs from the node. */
export interface RenterContractsContext {
  store: DealStore;
  renter(): Renter;
  height(): number;
  /** Blocks a revision made by this process is left to its put before the node settles it (the offer window). */
  graceBlocks: number;
  /** A connected host, or null. */
  hostByKey(pk: Buffer): HostRef | null;
  /** Dial hosts we hold contracts with that we are not connected to (by their announcements). */
  reach(keys: Buffer[]): Promise<void>;
  /** The contract's state: the chain index's, `pending` if only our commitment is known, else null. */
  state(id: Buffer): Promise<string | null>;
  /** Update a file's replicas under the files' lock; `write` persists the result with the caller's batch. */
  withFile(fileId: Buffer, change: (file: ManifestFile) => void, write: (file: ManifestFile) => Promise<void>): Promise<void>;
  /** Files that hold replicas in `contractId`. */
  filesOf(contractId: Buffer): Promise<ManifestFile[]>;
  /** Hosts (hex key) not to reuse or dial, with the reason (avoidReason), given --min-score. */
  avoid(hostKeys: Buffer[], minScore: number | undefined): Promise<Map<string, string>>;
  /** A host's identity address. */
  addressOf(pk: Buffer): string;
  /** Log a line at info level (debug.log). */
  log(msg: string): void;
}

/** A contract `reusable` left out, and why (put's table prints it). */
export interface SkippedContract {
  id: string;
  /** Identity address and key (hex) of its host. */
  host: string;
  hostKey: string;
  reason: string;
  /** The unfinished put whose pending revision holds it (file id and name, hex), if that is why. */
  put?: { fileId: string; nameHex: string };
}

/** A contract put may add an object to. */
export interface ReusableContract {
  id: string;
  host: string;
  hostKey: string;
  state: string;
  revision: number;
  endHeight: number;
  blocksLeft: number;
  allowance: number;
  /** Sat the latest revision commits the allowance to by the end. */
  committed: number;
  prices: Prices;
}

/** Upload tokens for the objects a revision adds. */
export interface RevisionTokens {
  number: number;
  dataURL: string;
  dataTokens: string[];
  manifestToken: string;
  /** The revision was final at once (it only removes). */
  final: boolean;
}

/** The contract's numbers as listcontracts/getcontract show them. */
export interface ContractDetails {
  allowance: number;
  /** Sat accrued so far (earned by the host up to the tip). */
  used: number;
  /** Sat the latest revision commits the allowance to by the end. */
  committed: number;
  objects: number;
  size: number;
  revision: number;
  pendingRevision: number | null;
  hostBehind: boolean;
}

export class RenterContracts {
  readonly ctx: RenterContractsContext;
  private readonly locks = new Map<string, Mutex>();
  /** Pending revisions this process made, by contract: their put may still be uploading. */
  private readonly inflight = new Set<string>();

  constructor(ctx: RenterContractsContext) {
    this.ctx = ctx;
  }

  private lock<T>(id: Buffer, fn: () => Promise<T>): Promise<T> {
    const key = id.toString('hex');
    let m = this.locks.get(key);
    if (!m) {
      m = new Mutex();
      this.locks.set(key, m);
    }
    return m.run(fn);
  }

  /** Run `fn` under the contract's lock: no revision of it starts or ends meanwhile (audits). */
  withContract<T>(id: Buffer, fn: () => Promise<T>): Promise<T> {
    return this.lock(id, fn);
  }

  async mustContract(id: Buffer): Promise<RenterContract> {
    const rc = await this.ctx.store.getRenterContract(id);
    if (!rc)
      throw new DealError('unknown-contract', `No contract ${id.toString('hex')} of this renter.`);
    return rc;
  }

  private host(c: StorageContract): HostRef {
    const host = this.ctx.hostByKey(c.hostKey);
    if (!host)
      throw new DealError('host-unreachable', `Host ${c.hostKey.toString('hex')} is not a connected CloudStorage peer.`);
    return host;
  }

  /**
   * Record a contract the host countersigned, with its pending revision 0
   * and the replica it makes, before any byte is uploaded.
   */
  async recordFormation(contract: StorageContract, rev0: Revision, objects: ContractObject[], replica: Replica,
    fileId: Buffer): Promise<void> {
    const id = contract.hash();
    await this.lock(id, async () => {
      const rc = new RenterContract();
      rc.contract = contract;
      rc.nextObject = rev0.nextObject;
      const p = new PendingRevision();
      p.revision = rev0;
      p.add = objects;
      this.inflight.add(id.toString('hex'));
      await this.ctx.withFile(fileId, (f) => f.replicas.push(replica),
        (f) => this.ctx.store.putPending(id, p, rc, [f]));
    });
  }

  /**
   * Revision n+1 adding `add` (object ids allocated here) and removing
   * `remove`: signed, stored with `replicas` (one per added object, ids
   * filled in), then sent. Throws DealError `insufficient-allowance`
   * before anything is sent when the allowance cannot pay it to the end.
   */
  async propose(id: Buffer, add: Array<{ root: Buffer; size: number; fileId: Buffer; replica: Replica }>,
    remove: number[]): Promise<RevisionTokens & { objects: number[] }> {
    return this.lock(id, async () => {
      const rc = await this.mustContract(id);
      const c = rc.contract;
      const before = new Set((await this.ctx.store.listObjects(id)).map((o) => o.id));
      // A revision whose answer was lost is settled first: the host may
      // have applied it, and the next one must build on what the host holds.
      if (!await this.settleLocked(rc, false)) {
        const p = await this.ctx.store.getPending(id);
        const host = this.host(c);
        throw new DealError('revision-unsettled', `host ${host.identity} has not answered for revision ${p ? p.revision.number : ''} `
          + `of contract ${c.id().slice(0, 12)} (it may hold it): nothing is revised until it does; try again`);
      }
      if (rc.hostBehind)
        throw new DealError('host-behind', `host of contract ${c.id()} lost revisions: it is not revised again`);
      const latest = await this.ctx.store.latestRevision(id);
      if (!latest)
        throw new DealError('not-formed', `contract ${c.id()} is not formed yet (revision 0 has no receipt)`);
      const host = this.host(c);
      const objects = await this.ctx.store.listObjects(id);
      // Removals the settled revision already made (a removal whose answer
      // was lost, asked again): done, not asked of the host a second time.
      // A revision left with no change still goes: it is final at once and
      // brings the manifest token a removal re-seals the manifest with.
      remove = remove.filter((n) => !before.has(n) || objects.some((o) => o.id === n));
      const floor = Math.max(rc.nextObject, latest.nextObject);
      const entries: ContractObject[] = add.map((a, i) => ({ id: floor + i, root: a.root, size: a.size, fileId: a.fileId }));
      const height = Math.max(this.ctx.height(), latest.height);
      const next = nextRevision(c, latest, objects, { add: entries, remove }, height, floor);
      if (!allowanceCovers(c, next.revision))
        throw new DealError('insufficient-allowance', `contract ${c.id().slice(0, 12)}: the allowance ${c.escrowValue} sat `
          + `cannot pay ${committedCost(c, next.revision)} sat to the end`);
      const rev = next.revision;
      rev.sign(this.ctx.renter().ctx.identity(), c);
      rc.nextObject = rev.nextObject;
      const p = new PendingRevision();
      p.revision = rev;
      p.add = entries;
      p.remove = remove;
      // The replicas and the signed revision are on disk before the host sees it.
      await this.writePending(id, p, rc, add.map((a, i) => ({ fileId: a.fileId, replica: Object.assign(a.replica, { object: entries[i].id }) })));
      this.inflight.add(id.toString('hex'));
      let res;
      try {
        res = await this.ctx.renter().revise(host, c, rev, entries.map(({ id: n, root, size }) => ({ id: n, root, size })), remove);
      } catch (e) {
        // A removal (nothing to upload) has no caller left to finish it:
        // settled with the host at the next block, not after the grace.
        if (add.length === 0)
          this.inflight.delete(id.toString('hex'));
        if (e instanceof DealError && e.code === 'revision-declined') {
          // A decline is certain: the host holds nothing of it.
          await this.abandon(rc, p);
          if (e.reason === 'revision-out-of-order')
            await this.checkBehind(rc, host, latest.number);
          if (e.reason === 'insufficient-allowance')
            throw Object.assign(new DealError('insufficient-allowance', e.message), { reason: e.reason });
        }
        throw e;
      }
      if (add.length === 0) {
        rev.hostSig = res.hostSig;
        if (!verifyRevisionSigs(c, rev, true))
          throw new DealError('bad-host-sig', `host ${host.identity} countersigned revision ${rev.number} with a bad signature`);
        await this.apply(rc, p, rev);
      }
      return { number: rev.number, dataURL: res.dataURL, dataTokens: res.dataTokens, manifestToken: res.manifestToken,
        final: add.length === 0, objects: entries.map((e) => e.id) };
    });
  }

  private async writePending(id: Buffer, p: PendingRevision, rc: RenterContract,
    replicas: Array<{ fileId: Buffer; replica: Replica }>): Promise<void> {
    if (replicas.length === 0) {
      await this.ctx.store.putPending(id, p, rc);
      return;
    }
    // One file per call in practice (put adds one object per file).
    const [first, ...rest] = replicas;
    if (rest.some((r) => !r.fileId.equals(first.fileId)))
      throw new Error('one revision adds objects of one file');
    await this.ctx.withFile(first.fileId, (f) => {
      for (const r of replicas)
        f.replicas.push(r.replica);
    }, (f) => this.ctx.store.putPending(id, p, rc, [f]));
  }

  /**
   * After the upload: the host countersigns the pending revision `number`
   * (0 for a new contract) and it becomes final here too.
   */
  async receipt(id: Buffer, number?: number): Promise<Revision> {
    return this.lock(id, async () => {
      const rc = await this.mustContract(id);
      const done = number === undefined ? null : await this.ctx.store.getRevision(id, number);
      if (done)
        return done;
      const p = await this.ctx.store.getPending(id);
      if (!p || (number !== undefined && p.revision.number !== number))
        throw new DealError('no-receipt', `contract ${rc.contract.id()} has no revision ${number ?? ''} waiting for a receipt`);
      const rev = await this.askReceipt(rc.contract, p.revision);
      await this.apply(rc, p, rev);
      return rev;
    });
  }

  /**
   * The host's receipt for `mine`. An answer that never came (a timeout,
   * a dropped connection) may have been lost after the host countersigned:
   * the host is dialled again if need be and asked once more, and answers
   * a revision it made final with the stored one (PROTOCOL 5, ReceiptArgs).
   * A decline or a bad answer is final.
   */
  private async askReceipt(c: StorageContract, mine: Revision): Promise<Revision> {
    try {
      return await this.ctx.renter().receipt(this.host(c), c, mine);
    } catch (e) {
      if (e instanceof DealError && (e.code === 'no-receipt' || e.code === 'bad-receipt'))
        throw e;
      this.ctx.log(`no answer from host ${this.ctx.addressOf(c.hostKey)} for the receipt of revision ${mine.number} `
        + `of contract ${c.id()} (${(e as Error).message}): asking again`);
      await this.ctx.reach([c.hostKey]);
      return this.ctx.renter().receipt(this.host(c), c, mine);
    }
  }

  private async apply(rc: RenterContract, p: PendingRevision, rev: Revision): Promise<void> {
    const id = rc.contract.hash();
    await this.ctx.store.applyRevision({ id, revision: rev, add: p.add, remove: p.remove, renter: rc });
    this.inflight.delete(id.toString('hex'));
  }

  /** Give a pending revision up (the host does not hold it): its replicas go, its ids stay used. */
  private async abandon(rc: RenterContract, p: PendingRevision): Promise<void> {
    const id = rc.contract.hash();
    this.inflight.delete(id.toString('hex'));
    const added = new Set(p.add.map((o) => o.id));
    const files: ManifestFile[] = [];
    const gone: Buffer[] = [];
    for (const f of await this.ctx.filesOf(id)) {
      const keep = f.replicas.filter((r) => !(r.contractId.equals(id) && added.has(r.object)));
      if (keep.length === f.replicas.length)
        continue;
      f.replicas = keep;
      if (keep.length)
        files.push(f);
      else
        gone.push(f.fileId);
    }
    if (p.revision.number === 0) {
      await this.ctx.store.deleteRenterContract(id, files, gone);
      return;
    }
    await this.ctx.store.dropPending(id, files, gone);
  }

  /** The host declined a revision as out of order: if it holds an older one than ours, it lost data. */
  private async checkBehind(rc: RenterContract, host: HostRef, ours: number): Promise<void> {
    let theirs: Revision;
    try {
      theirs = await this.ctx.renter().latestRevision(host, rc.contract);
    } catch {
      return;
    }
    if (theirs.number < ours) {
      rc.flags |= RenterContract.HOST_BEHIND;
      await this.ctx.store.putRenterContract(rc);
      throw new DealError('host-behind', `host ${host.identity} holds revision ${theirs.number} of contract `
        + `${rc.contract.id().slice(0, 12)}, we hold revision ${ours} signed by it: it lost data, and is not revised again`);
    }
    // Signed by both identity keys (latestRevision checked), and not by this node: another node with this identity.
    if (theirs.number > ours)
      throw otherNodeError(rc.contract, host.identity, `revision ${theirs.number} (this node's: ${ours})`, 'revision-out-of-order');
  }

  /**
   * Settle a pending revision nobody is finishing (made before a restart,
   * or by a put that gave up): ask the host for its receipt; countersigned
   * -> applied, declined -> given up; unreachable -> left for later.
   * Returns true when nothing is pending any more.
   */
  async settle(id: Buffer, force = false): Promise<boolean> {
    return this.lock(id, async () => {
      const rc = await this.ctx.store.getRenterContract(id);
      return rc ? this.settleLocked(rc, force) : true;
    });
  }

  private async settleLocked(rc: RenterContract, force: boolean): Promise<boolean> {
    const id = rc.contract.hash();
    const p = await this.ctx.store.getPending(id);
    if (!p)
      return true;
    // Left to the put that made it for an offer window (then its client is gone).
    if (!force && this.inflight.has(id.toString('hex')) && this.ctx.height() <= p.revision.height + this.ctx.graceBlocks)
      throw new DealError('contract-busy', `contract ${rc.contract.id().slice(0, 12)} has revision ${p.revision.number} in flight`);
    const host = this.ctx.hostByKey(rc.contract.hostKey);
    if (!host)
      return false;
    try {
      const rev = await this.ctx.renter().receipt(host, rc.contract, p.revision);
      await this.apply(rc, p, rev);
    } catch (e) {
      if (!(e instanceof DealError && e.code === 'no-receipt'))
        return false;
      await this.abandon(rc, p);
    }
    return true;
  }

  /** The files whose copies a pending revision of `id` adds (none for a removal). */
  private async pendingFiles(id: Buffer, p: PendingRevision): Promise<ManifestFile[]> {
    const added = new Set(p.add.map((o) => o.id));
    return (await this.ctx.filesOf(id)).filter((f) => f.replicas.some((r) => r.contractId.equals(id) && added.has(r.object)));
  }

  /**
   * The block at which the node gives up a pending revision of `id` that
   * nobody finishes (settleStale asks its host then: an upload never
   * completed is declined and dropped), or null when none is pending: a
   * revision this process made waits out the offer window for its put,
   * one from before a restart or released by its put goes at the next block.
   */
  async givenUpAt(id: Buffer): Promise<number | null> {
    const p = await this.ctx.store.getPending(id);
    if (!p)
      return null;
    return this.inflight.has(id.toString('hex')) ? Math.max(this.ctx.height(), p.revision.height + this.ctx.graceBlocks) + 1
      : this.ctx.height() + 1;
  }

  /** A put that gave up on these files: their pending revisions may be settled now. */
  release(ids: Buffer[]): void {
    for (const id of ids)
      this.inflight.delete(id.toString('hex'));
  }

  /**
   * Contracts a put of `size` bytes may add an object to, at most one per
   * host, best first (most blocks left): open (committed or on the way),
   * host connected and not behind, revision 0 final, nothing in flight,
   * at least `minLeft` blocks left, prices within `maxPrice`, and an
   * allowance that pays the object to the end.
   */
  async reusable(size: number, minLeft: number, maxPrice: number, minScore?: number)
    : Promise<{ contracts: ReusableContract[]; skipped: SkippedContract[]; open: boolean }> {
    const height = this.ctx.height();
    const best = new Map<string, ReusableContract>();
    const all = await this.ctx.store.listRenterContracts();
    const fits = (rc: RenterContract): boolean => !rc.hostBehind && rc.contract.endHeight - height >= minLeft
      && withinPrice({ storage: rc.contract.storagePrice, upload: rc.contract.uploadPrice, download: rc.contract.downloadPrice }, maxPrice);
    // [SKIP] hosts whose audits failed or that score below --min-score: neither reused nor dialled
    const avoid = await this.ctx.avoid([...new Map(all.filter(fits).map((rc) => [rc.contract.hostKey.toString('hex'), rc.contract.hostKey]))
      .values()], minScore);
    const skipped: SkippedContract[] = [];
    const contracts = all.filter((rc) => {
      const why = fits(rc) ? avoid.get(rc.contract.hostKey.toString('hex')) : undefined;
      if (why)
        skipped.push({ id: rc.contract.id(), host: this.ctx.addressOf(rc.contract.hostKey), hostKey: rc.contract.hostKey.toString('hex'), reason: why });
      return !why;
    });
    // Hosts of candidates we are not connected to are dialled first, most blocks left first, at most REACH_HOSTS.
    const unconnected = contracts.filter((rc) => fits(rc) && !this.ctx.hostByKey(rc.contract.hostKey))
      .sort((a, b) => b.contract.endHeight - a.contract.endHeight);
    const keys = [...new Map(unconnected.map((rc) => [rc.contract.hostKey.toString('hex'), rc.contract.hostKey])).values()];
    if (keys.length)
      await this.ctx.reach(keys.slice(0, REACH_HOSTS));
    for (const rc of contracts) {
      const c = rc.contract;
      const id = c.hash();
      const prices = { storage: c.storagePrice, upload: c.uploadPrice, download: c.downloadPrice };
      if (rc.hostBehind || c.endHeight - height < minLeft || !withinPrice(prices, maxPrice))
        continue;
      const host = this.ctx.hostByKey(c.hostKey);
      const state = await this.ctx.state(id);
      if (!host || state === null || !IN_FORCE_STATES.has(state))
        continue;
      const pending = await this.ctx.store.getPending(id);
      if (pending) {
        // Named, not left out silently: a put that asks must not hear "no open contract yet".
        const busy = async (reason: string) => {
          const files = await this.pendingFiles(id, pending);
          skipped.push({ id: c.id(), host: host.identity, hostKey: c.hostKey.toString('hex'), reason: `${reason}${pendingPut(files)}`,
            ...(files.length ? { put: { fileId: files[0].fileId.toString('hex'), nameHex: files[0].name.toString('hex') } } : {}) });
        };
        try {
          if (!await this.settle(id)) {
            await busy(`revision ${pending.revision.number} of an unfinished put waits for its host's receipt`);
            continue;
          }
        } catch {
          await busy(`revision ${pending.revision.number} of an unfinished put is in flight until block `
            + `${pending.revision.height + this.ctx.graceBlocks + 1}`);
          continue;
        }
      }
      const latest = await this.ctx.store.latestRevision(id);
      if (!latest)
        continue;
      const floor = Math.max(rc.nextObject, latest.nextObject);
      const probe = nextRevision(c, latest, await this.ctx.store.listObjects(id),
        { add: [{ id: floor, root: Buffer.alloc(32), size }], remove: [] }, Math.max(height, latest.height), floor);
      if (!allowanceCovers(c, probe.revision))
        continue;
      const info: ReusableContract = {
        id: c.id(), host: host.identity, hostKey: c.hostKey.toString('hex'), state, revision: latest.number,
        endHeight: c.endHeight, blocksLeft: c.endHeight - height, allowance: c.escrowValue,
        committed: committedCost(c, latest), prices
      };
      const key = info.hostKey;
      const old = best.get(key);
      if (!old || old.endHeight < info.endHeight)
        best.set(key, info);
    }
    // Whether any contract of ours is open at all, so a put that found none to reuse does not say "no open contract yet".
    let open = best.size > 0 || skipped.length > 0;
    for (const rc of all) {
      if (open)
        break;
      const state = rc.contract.endHeight > height ? await this.ctx.state(rc.contract.hash()) : null;
      open = state !== null && IN_FORCE_STATES.has(state);
    }
    return { contracts: [...best.values()].sort((a, b) => b.blocksLeft - a.blocksLeft), skipped, open };
  }

  /** Contracts per host (hex key) in which this node's auditor found wrong data (an audit `failed`). */
  async failedAudits(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const rc of await this.ctx.store.listRenterContracts()) {
      if ((await this.ctx.store.listAudits(rc.contract.hash())).some((r) => r.outcome === 'failed')) {
        const key = rc.contract.hostKey.toString('hex');
        out.set(key, (out.get(key) ?? 0) + 1);
      }
    }
    return out;
  }

  /** Allowance, use, objects, size and revision of a contract of ours, or null. */
  async details(id: Buffer): Promise<ContractDetails | null> {
    const rc = await this.ctx.store.getRenterContract(id);
    if (!rc)
      return null;
    return contractDetails(this.ctx.store, rc.contract, this.ctx.height(), rc.hostBehind);
  }

  /** Objects of the contract's latest final revision, or null before revision 0 is final. */
  async objects(id: Buffer): Promise<ContractObject[] | null> {
    return (await this.ctx.store.latestRevision(id)) ? this.ctx.store.listObjects(id) : null;
  }
}

/**
 * Which put a pending revision belongs to, for the user who cannot tell
 * a put still running from one whose client died: ` (NAME, file ID: if
 * that put was interrupted, \`cloudcoin-cli rm ID\` releases it now)`;
 * empty when it adds no file of ours (a removal).
 */
function pendingPut(files: ManifestFile[]): string {
  return files.map((f) => {
    const short = f.fileId.toString('hex').slice(0, 12);
    return ` (${JSON.stringify(f.name.toString('utf8'))}, file ${short}: if that put was interrupted, \`cloudcoin-cli rm ${short}\` `
      + 'releases it now)';
  }).join('');
}

/** The contract numbers both sides show (listcontracts, getcontract), from stored revisions. */
export async function contractDetails(store: DealStore, c: StorageContract, height: number, hostBehind = false)
  : Promise<ContractDetails> {
  const id = c.hash();
  const revisions = await store.listRevisions(id);
  const latest = revisions.length ? revisions[revisions.length - 1] : null;
  const pending = await store.getPending(id);
  return {
    allowance: c.escrowValue,
    used: revisions.length ? earnedAt(accrualTerms(c), revisions, height) : 0,
    committed: latest ? committedCost(c, latest) : 0,
    objects: latest ? latest.count : 0,
    size: latest ? latest.size : 0,
    revision: latest ? latest.number : -1,
    pendingRevision: pending ? pending.revision.number : null,
    hostBehind
  };
}
