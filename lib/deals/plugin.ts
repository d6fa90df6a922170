/*!
 * plugin.ts - the deals extension: host side (the `storage` service over a
 * hosting backend, hostside.ts) and renter side (the renter's deals and
 * files, which the RPCs in rpc.ts expose to the CLI's negotiate-storage,
 * put, get and ls, and to the node's own renter client). Flags are read
 * in config.ts; the renter side's parts are built in renterside.ts;
 * renewal.ts and deletion.ts hold those flows.
 */

import type { ContractsPlugin } from '../contracts/plugin';
import type { StorageContract } from '../contracts/storagecontract';
import type { Hosting } from '../hosting/plugin';
import type { StorageBackend } from '../hosting/backend';
import type { Extension, NodeAPI } from '../base/extension';
import type { Negotiator } from '../negotiator/negotiator';
import { taggedHash, tags } from '../base/hash';
import { PUT_LEASE_SECONDS, PUT_LEASE_STALL_MS, getDealParams } from './common';
import { DealStore } from './dealstore';
import { DealError } from './errors';
import type { HostService, HostTerms } from './hostservice';
import { Renter } from './renter';
import { type HostRef } from './renterhosts';
import { RenterFiles } from './renterfiles';
import { RenterContracts, contractDetails } from './rentercontracts';
import { avoidReason, type HostScore } from './pricing';
import type { ReputationPlugin } from '../reputation/plugin';
import type { ManifestFile } from '../storage/manifest';
import type { DeleteFileResult, PruneVersionsResult } from './rpctypes';
import type { Auditor } from './auditor';
import { type Payer, tokenCost } from './payments';
import { AUDIT_BUDGET } from './audits';
import { auditStatus } from './auditview';
import type { AutoRepair, AutoRepairOptions } from './autorepair';
import type { AutoRenew, AutoRenewOptions } from './autorenew';
import { recoveryContext } from './rpc';
import { AutoRecover } from './recovery';
import { ALL_OBJECTS } from '../storage/token';
import { readRenew, readRepair, readTerms } from './config';
import { openHost } from './hostside';
import { feedReputation, makeAuditor, makeAutoRepair, makePayer } from './renterside';
import { makeAutoRenew, renewContract, renewDetails } from './renewal';
import { deleteFile, giveUpPut, pruneVersions } from './deletion';
import { PutLeases } from './putleases';
import { WorkLocks } from './worklocks';
import { type OtherNodeContext, explainDecline } from './othernode';

export { options } from './config';

export class Deals implements Extension {
  readonly api: NodeAPI;
  readonly store: DealStore;
  readonly terms: HostTerms;
  host: HostService | null = null;
  private renterSide: Renter | null = null;
  readonly files: RenterFiles;
  readonly contractBook: RenterContracts;
  /** The renter's audits of its contracts (from open() on). */
  auditor: Auditor | null = null;
  /** The renter's channel states (from open() on). */
  payer!: Payer;
  /** Recovery of the file list on its own, on a node started with --restore-mnemonic-file. */
  autoRecover: AutoRecover | null = null;
  /** Automatic repair of coded files (with --repair-budget, from open() on). */
  autoRepair: AutoRepair | null = null;
  private readonly repairOptions: AutoRepairOptions | null;
  /** Automatic renewal (unless --renew off, from open() on). */
  autoRenew: AutoRenew | null = null;
  readonly renewOptions: AutoRenewOptions | null;
  /** Versions of a name kept after a put (--keep-revisions; 0: all). */
  readonly keepRevisions: number;
  /** One repair or renewal per file and per contract at a time (worklocks.ts). */
  readonly workLocks = new WorkLocks();
  /** Leases of running puts: one whose client stopped renewing is given up (putleases.ts). */
  readonly putLeases: PutLeases;

  constructor(api: NodeAPI) {
    this.api = api;
    this.store = new DealStore({ datadir: api.datadir, memory: api.memory });
    this.terms = readTerms(api);
    this.repairOptions = readRepair(api);
    this.renewOptions = readRenew(api);
    this.keepRevisions = api.config.uint('keep-revisions') ?? 0;
    this.files = new RenterFiles({
      store: this.store,
      height: () => this.api.chain.height,
      contractInfo: async (id) => {
        const info = await this.contracts.getContract(id);
        return info ? { state: info.state, endHeight: info.contract.endHeight } : null;
      },
      hasCommitment: (id) => this.contracts.index.hasCommitment(id),
      commit: async (contracts: StorageContract[]) => (await this.contracts.commit(contracts)).map((tx) => tx.txid()),
      addressOf: (pk) => this.negotiator.addressOf(pk),
      reachable: (pk) => this.renter.hostByKey(pk) !== null,
      release: (ids) => this.contractBook.release(ids),
      givenUpAt: (id) => this.contractBook.givenUpAt(id),
      leaseExpires: (id) => this.putLeases.expires(id)
    });
    this.putLeases = new PutLeases({ lapseMs: PUT_LEASE_SECONDS * 1000, stallMs: PUT_LEASE_STALL_MS,
      giveUp: (fileId) => giveUpPut(this, fileId) });
    this.contractBook = new RenterContracts({
      store: this.store,
      renter: () => this.renter,
      height: () => this.api.chain.height,
      graceBlocks: getDealParams(api.network).offerWindow,
      hostByKey: (pk) => this.renter.hostByKey(pk),
      reach: async (keys) => { await this.negotiator.reach(keys); },
      state: async (id) => (await this.contracts.getState(id)) ?? (await this.contracts.index.hasCommitment(id) ? 'pending' : null),
      withFile: (fileId, change, write) => this.files.withFile(fileId, change, write),
      filesOf: (id) => this.files.filesOf(id),
      avoid: (keys, minScore) => this.avoidHosts(keys, minScore),
      addressOf: (pk) => this.negotiator.addressOf(pk),
      log: (msg) => this.api.logger.info('deals: %s', msg)
    });
  }

  get negotiator(): Negotiator {
    return this.api.require<Negotiator>('negotiator');
  }

  get contracts(): ContractsPlugin {
    return this.api.require<ContractsPlugin>('contracts');
  }

  /** The reputation extension, or null when this node runs without it (host choice is then by price). */
  get reputation(): ReputationPlugin | null {
    try {
      return this.api.require<ReputationPlugin>('reputation');
    } catch {
      return null;
    }
  }

  /** This node's reputation score of each host (permille, and whether anything is known of it). */
  async hostScores(hosts: Buffer[]): Promise<HostScore[]> {
    const rep = this.reputation!;
    return Promise.all(hosts.map(async (pk) => {
      const r = await rep.getReputation(pk);
      return { score: r.score, known: r.known };
    }));
  }

  /** Hosts (hex key) this renter neither reuses nor dials, with why (pricing.ts avoidReason). */
  async avoidHosts(keys: Buffer[], minScore: number | undefined): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (keys.length === 0)
      return out;
    const failed = await this.contractBook.failedAudits();
    const scores = this.reputation && minScore !== undefined ? await this.hostScores(keys) : null;
    keys.forEach((pk, i) => {
      const why = avoidReason(failed.get(pk.toString('hex')) ?? 0, scores ? scores[i] : null, minScore);
      if (why)
        out.set(pk.toString('hex'), why);
    });
    return out;
  }

  private get hosting(): Hosting {
    return this.api.require<Hosting>('hosting');
  }

  backend(): StorageBackend | null {
    return this.hosting.backend;
  }

  dataURL(): string {
    const backend = this.backend();
    return (backend && backend.dataURL()) || '';
  }

  async open(): Promise<void> {
    await this.store.open();
    if (this.backend())
      await openHost(this);
    this.renterSide = new Renter({
      network: this.api.network,
      negotiator: this.negotiator,
      identity: () => this.negotiator.identity,
      height: () => this.api.chain.height,
      createEscrowKey: () => this.contracts.createEscrowKey(),
      reputation: this.reputation ? (hosts) => this.hostScores(hosts) : undefined,
      avoid: (keys, minScore) => this.avoidHosts(keys, minScore)
    });
    this.contracts.addDetails((c) => this.details(c));
    this.contracts.addRevisionSource((c) => this.store.listRevisions(c.hash()));
    this.contracts.addSignedSource(async (c) => (await this.store.getPayment(c.hash()))?.state.paid ?? null);
    feedReputation(this);
    this.payer = makePayer(this);
    this.auditor = makeAuditor(this);
    this.api.onConnect(async (entry) => {
      const removed = await this.files.maintain(entry.height);
      if (removed.length)
        this.api.logger.info('deals: forgot %d files whose put never committed', removed.length);
      await this.settleStale();
      // Not awaited: an audit takes network round trips, blocks must not wait for it.
      void this.auditor?.kick();
      this.autoRepair?.kick(entry.height);
      this.autoRenew?.kick(entry.height);
      void this.autoRecover?.kick(entry.height);
    });
    // A node restored from its seed finds its files again as it finds its contracts (recovery.ts).
    if (this.api.config.str('restore-mnemonic-file') !== null) {
      this.autoRecover = new AutoRecover(recoveryContext(this),
        async (c) => (await this.store.getRenterContract(c.hash())) === null,
        (level, msg) => (level === 'info' ? this.api.logger.info(msg) : this.api.logger.warning(msg)));
    }
    if (this.repairOptions)
      this.autoRepair = makeAutoRepair(this, this.repairOptions);
    if (this.renewOptions)
      this.autoRenew = makeAutoRenew(this, this.renewOptions);
    // What fell due while the node was down (it waits until the chain caught up with its peers).
    void this.auditor.kick();
  }

  /**
   * A download token from a contract's host, its bytes paid ahead at the
   * contract's download price by a channel state sent with the request:
   * an object's size for a get, 16 leaves for an audit (ALL_OBJECTS).
   * Gets and audits pay the same way. Throws DealError `no-token`, or
   * PrepayError (`cannot-pay`) when no state can be signed now.
   */
  async paidToken(host: HostRef, id: Buffer, object: number): Promise<{ dataURL: string; token: string }> {
    const rc = await this.store.getRenterContract(id);
    const held = rc && object !== ALL_OBJECTS ? await this.store.getObject(id, object) : null;
    const budget = object === ALL_OBJECTS ? AUDIT_BUDGET : held ? held.size : 0;
    if (!rc || tokenCost(rc.contract, budget) === 0)
      return this.renter.token(host, id, object);
    try {
      return await this.payer.prepay(rc.contract, tokenCost(rc.contract, budget), (state) => this.renter.token(host, id, object, state),
        (e) => e instanceof DealError && e.code === 'no-token');
    } catch (e) {
      throw await this.explainDecline(host, rc.contract, e);
    }
  }

  /** A host's decline of our state or revision, explained when another node with this identity is ahead (othernode.ts). */
  explainDecline(host: HostRef, c: StorageContract, e: unknown): Promise<unknown> {
    return explainDecline(this.otherNodeContext(host), c, host.identity, e);
  }

  /** What othernode.ts asks of the node about our contracts with `host`. */
  otherNodeContext(host: HostRef): OtherNodeContext {
    return {
      latest: (k, fromRevision, fromObject) => this.renter.latest(host, k, fromRevision, fromObject),
      revision: (k) => this.store.latestRevision(k.hash()),
      payment: (k) => this.store.getPayment(k.hash()),
      escrow: async (k) => {
        const esc = await this.contracts.escrowOf(k.hash());
        return esc && !esc.spent ? esc.coin : null;
      }
    };
  }

  /** Allowance, used, objects, size and revision of a contract we are party to; for our own contracts (renter) its audits: counts and next audit height. */
  private async details(c: StorageContract): Promise<Record<string, unknown> | null> {
    const id = c.hash();
    const height = this.api.chain.height;
    const mine = await this.store.getRenterContract(id);
    if (mine) {
      return { ...await contractDetails(this.store, mine.contract, height, mine.hostBehind),
        audits: auditStatus(mine.contract, await this.store.listAudits(id)), ...await renewDetails(this, mine.contract) };
    }
    if (await this.store.getHosted(id))
      return { ...await contractDetails(this.store, c, height) };
    return null;
  }

  /** Pending revisions nobody finishes (a put that died, a restart) are settled with their host. */
  private async settleStale(): Promise<void> {
    for (const rc of await this.store.listRenterContracts()) {
      const id = rc.contract.hash();
      if (!await this.store.getPending(id))
        continue;
      try {
        await this.contractBook.settle(id);
      } catch {
        // in flight, or the host is away: next block
      }
    }
  }

  async close(): Promise<void> {
    await this.putLeases.close();
    const auditor = this.auditor;
    this.auditor = null;
    await auditor?.idle();
    const repair = this.autoRepair;
    this.autoRepair = null;
    await repair?.idle();
    const renew = this.autoRenew;
    this.autoRenew = null;
    await renew?.idle();
    const recover = this.autoRecover;
    this.autoRecover = null;
    await recover?.idle();
    await this.store.close();
  }

  /** The renter side (from open() on). */
  get renter(): Renter {
    if (!this.renterSide)
      throw new DealError('not-open', 'Deals are not open yet.');
    return this.renterSide;
  }

  /**
   * A commitment is a version-2 witness transaction: refuse to negotiate
   * before the chain enforces segwit and CSV, or the host would keep an
   * upload nobody can pay for (the mempool refuses the commitment with
   * premature-version2-tx).
   */
  requireActivation(): void {
    const state = this.api.chain.state;
    if (!state.hasWitness() || !state.hasCSV()) {
      const hint = this.api.network.type === 'regtest' ? ' (on regtest, mine to height 432)' : '';
      throw new DealError('not-activated',
        `segwit and CSV are not active yet at height ${this.api.chain.height}: commitments cannot confirm${hint}`);
    }
  }

  /** Delete a file from its hosts (deletion.ts). */
  deleteFile(file: ManifestFile): Promise<DeleteFileResult> {
    return deleteFile(this, file);
  }

  /** Keep the newest `keep` versions of a name, delete the older ones from their hosts (deletion.ts). */
  pruneVersions(name: Buffer, keep: number): Promise<PruneVersionsResult> {
    return pruneVersions(this, name, keep);
  }

  /** Renew a contract of ours before it ends (renewal.ts renewContract). */
  renew(oldId: Buffer, duration: number | null, allowance: number | null, maxEscrow = Number.MAX_SAFE_INTEGER)
    : ReturnType<typeof renewContract> {
    return renewContract(this, oldId, duration, allowance, maxEscrow);
  }

  /** Secret behind every file key: never leaves the node except as file keys. */
  storageMaster(): Buffer {
    // The node's copy of the master key: file keys work while the wallet is locked.
    const key = this.api.masterKey();
    return taggedHash(tags.STORAGE_MASTER, key.privateKey, key.chainCode);
  }

  /** A host we hold a contract with, by identity key: dialled by its announcement if not connected. */
  async hostRef(pk: Buffer): Promise<HostRef> {
    const host = this.renter.hostByKey(pk) ?? ((await this.negotiator.reach([pk])).length ? this.renter.hostByKey(pk) : null);
    if (!host)
      throw new DealError('host-unreachable', `Host ${pk.toString('hex')} is not a connected CloudStorage peer.`);
    return host;
  }
}
