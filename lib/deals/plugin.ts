/*!
 * plugin.ts - the deals extension: host side (the `storage` service over a
 * hosting backend) and renter side (the renter's deals and files, which
 * the RPCs in rpc.ts expose to the CLI's negotiate-storage, put, get and
 * ls, and to the node's own renter client).
 */

import type { ContractsPlugin } from '../contracts/plugin';
import type { StorageContract } from '../contracts/storagecontract';
import type { Hosting } from '../hosting/plugin';
import type { StorageBackend } from '../hosting/backend';
import type { Extension, NodeAPI, OptionSpec } from '../base/extension';
import { ConfigError } from '../node/config';
import type { Negotiator } from '../negotiator/negotiator';
import { taggedHash, tags } from '../base/hash';
import {
  DEFAULT_DOWNLOAD_PRICE, DEFAULT_NEW_RENTER_CAP, DEFAULT_NEW_RENTER_SHARE, DEFAULT_STORAGE_PRICE,
  DEFAULT_UPLOAD_PRICE, getDealParams
} from './common';
import { getParams } from '../contracts/common';
import { DealStore } from './dealstore';
import { DealError } from './errors';
import { HostService, type HostTerms } from './hostservice';
import { amountParam } from '../base/rpc';
import { Renter, type HostRef } from './renter';
import { RenterFiles } from './renterfiles';
import { RenterContracts, contractDetails } from './rentercontracts';
import { PendingRevision, RenterContract } from './dealstore';
import { minEscrowValue } from '../contracts/common';
import { LEAF_SIZE } from '../storage/common';
import { avoidReason, defaultAllowance, type HostScore } from './pricing';
import type { ReputationPlugin } from '../reputation/plugin';
import { auditCounts } from '../reputation/rater';
import { firstRevision } from './revisions';
import type { ManifestFile } from '../storage/manifest';
import type { DeleteFileResult, PruneVersionsResult } from './rpctypes';
import { Auditor } from './auditor';
import { Payer, tokenCost } from './payments';
import { AUDIT_BUDGET } from './audits';
import { auditStatus } from './auditview';
import { AutoRepair, auditsLost, type AutoRepairOptions } from './autorepair';
import { AutoRenew, DEFAULT_RENEW_BUDGET, DEFAULT_RENEW_WINDOW, renewFrom, type AutoRenewOptions, type RenewCandidate } from './autorenew';
import { RenterClient } from './renterclient';
import { localCall, recoveryContext } from './rpc';
import { AutoRecover } from './recovery';
import { ALL_OBJECTS } from '../storage/token';
import { FileServerClient } from '../storage/fileserverclient';

/** Automatic repair's defaults: put's contract length and price cap. */
const REPAIR_DURATION = 200;
const REPAIR_MAX_PRICE = 5000;

/** Flags and cloudcoin.conf keys deals reads (a host's terms, automatic repair). */
export const options: OptionSpec[] = [
  { name: 'host-storage-price', type: 'string', description: 'storage price, sat per GiB per 1000 blocks (e.g. 1000sat)', defaultText: '1000sat' },
  { name: 'host-upload-price', type: 'string', description: 'upload price, sat per GiB', defaultText: '100sat' },
  { name: 'host-download-price', type: 'string', description: 'download price, sat per GiB', defaultText: '200sat' },
  { name: 'host-min-contract', type: 'string', description: 'smallest contract cost accepted, sat (a close must be worth its fee)', defaultText: '0sat' },
  { name: 'host-max-duration', type: 'uint', description: 'longest contract served, in blocks', defaultText: 'the network maximum' },
  { name: 'host-new-renter-share', type: 'uint', description: 'percent of free capacity a renter with no committed contract here may hold in open offers', defaultText: '25' },
  { name: 'host-new-renter-cap', type: 'size', description: 'most bytes a renter with no committed contract here may hold in open offers', defaultText: '4GiB' },
  { name: 'host-new-renter-coins', type: 'string', description: 'coins a renter may prove it controls (e.g. 1btc) instead of a committed contract here, to lift the two caps above', defaultText: '0 (off)' },
  { name: 'host-new-renter-coins-age', type: 'uint', description: 'blocks deep each of those coins must be', defaultText: '6' },
  { name: 'keep-revisions', type: 'uint', description: 'keep only the newest N versions of a name: after a put of a new version, older ones are deleted from their hosts (put --keep-revisions overrides it)', defaultText: '0 (keep every version)' },
  { name: 'repair-budget', type: 'string', description: 'repair files stored as shards on its own when a shard is lost (its contract failed an audit or ended), locking at most this much in new escrows in all (e.g. 100000sat)', defaultText: '0 (off)' },
  { name: 'repair-duration', type: 'uint', description: 'length of contracts automatic repair forms, in blocks', defaultText: String(REPAIR_DURATION) },
  { name: 'repair-max-price', type: 'string', description: 'highest price a host may ask for automatic repair (as put --max-price)', defaultText: `${REPAIR_MAX_PRICE}sat` },
  { name: 'renew', type: 'string', description: 'renew contracts holding live files on their own within the renew window (auto), or never (off)', defaultText: 'auto' },
  { name: 'renew-window', type: 'uint', description: 'blocks before a contract\'s end from which it is renewed (renterd\'s renewWindow; at most a third of its length)', defaultText: String(DEFAULT_RENEW_WINDOW) },
  { name: 'renew-budget', type: 'string', description: 'most that automatic renewals (and moves off a host that is gone) may lock in new escrows in all', defaultText: `${DEFAULT_RENEW_BUDGET}sat` }
];

/** An amount flag or conf key (`1000sat`, `0.1btc`), or `fallback`; a bad value throws ConfigError. */
function configAmount(api: NodeAPI, name: string, fallback: number): number {
  const text = api.config.str(name);
  if (text === null)
    return fallback;
  try {
    return amountParam(text, `--${name}`);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/** Read the automatic repair flags; null when off (no budget). */
function readRepair(api: NodeAPI): AutoRepairOptions | null {
  const amount = (name: string, fallback: number) => configAmount(api, name, fallback);
  const budget = amount('repair-budget', 0);
  if (budget === 0)
    return null;
  const duration = api.config.uint('repair-duration') ?? REPAIR_DURATION;
  if (duration < 1)
    throw new ConfigError('--repair-duration must be at least 1 block.');
  return { budget, duration, maxPrice: amount('repair-max-price', REPAIR_MAX_PRICE) };
}

/** Read the automatic renewal flags; null when off. Moves to another host use repair's length and price cap. */
function readRenew(api: NodeAPI): AutoRenewOptions | null {
  const mode = api.config.str('renew') ?? 'auto';
  // [REJECT] anything but the two modes
  if (mode !== 'auto' && mode !== 'off')
    throw new ConfigError(`--renew must be auto or off, not ${JSON.stringify(mode)}.`);
  if (mode === 'off')
    return null;
  const window = api.config.uint('renew-window') ?? DEFAULT_RENEW_WINDOW;
  if (window < 1)
    throw new ConfigError('--renew-window must be at least 1 block (--renew off turns renewal off).');
  const duration = api.config.uint('repair-duration') ?? REPAIR_DURATION;
  return { window, budget: configAmount(api, 'renew-budget', DEFAULT_RENEW_BUDGET), duration,
    maxPrice: configAmount(api, 'repair-max-price', REPAIR_MAX_PRICE) };
}

/** Read the host's terms from flags / cloudcoin.conf; bad values throw ConfigError. */
function readTerms(api: NodeAPI): HostTerms {
  const amount = (name: string, fallback: number) => configAmount(api, name, fallback);
  const cp = getParams(api.network);
  const longest = cp.maxSpan - cp.window;
  const maxDuration = api.config.uint('host-max-duration') ?? longest;
  if (maxDuration < 1 || maxDuration > longest)
    throw new ConfigError(`--host-max-duration must be from 1 to ${longest} blocks on ${api.network.type}.`);
  const share = api.config.uint('host-new-renter-share') ?? DEFAULT_NEW_RENTER_SHARE;
  if (share < 1 || share > 100)
    throw new ConfigError('--host-new-renter-share must be a percentage from 1 to 100.');
  const cap = api.config.size('host-new-renter-cap') ?? DEFAULT_NEW_RENTER_CAP;
  if (cap < 1)
    throw new ConfigError('--host-new-renter-cap must be a size such as 1GB.');
  const coinsAge = api.config.uint('host-new-renter-coins-age') ?? 6;
  if (coinsAge < 1)
    throw new ConfigError('--host-new-renter-coins-age must be at least 1 block.');
  return {
    prices: {
      storage: amount('host-storage-price', DEFAULT_STORAGE_PRICE),
      upload: amount('host-upload-price', DEFAULT_UPLOAD_PRICE),
      download: amount('host-download-price', DEFAULT_DOWNLOAD_PRICE)
    },
    maxDuration,
    minContract: amount('host-min-contract', 0),
    newRenterShare: share,
    newRenterCap: cap,
    newRenterCoins: amount('host-new-renter-coins', 0),
    newRenterCoinsAge: coinsAge
  };
}

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
      release: (ids) => this.contractBook.release(ids)
    });
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
      addressOf: (pk) => this.negotiator.addressOf(pk)
    });
  }

  get negotiator(): Negotiator {
    return this.api.require<Negotiator>('negotiator');
  }

  get contracts(): ContractsPlugin {
    return this.api.require<ContractsPlugin>('contracts');
  }

  /** The reputation extension, or null when this node runs without it (host choice is then by price). */
  private get reputation(): ReputationPlugin | null {
    try {
      return this.api.require<ReputationPlugin>('reputation');
    } catch {
      return null;
    }
  }

  /** This node's reputation score of each host (permille, and whether anything is known of it). */
  private async hostScores(hosts: Buffer[]): Promise<HostScore[]> {
    const rep = this.reputation!;
    return Promise.all(hosts.map(async (pk) => {
      const r = await rep.getReputation(pk);
      return { score: r.score, known: r.known };
    }));
  }

  /** Hosts (hex key) this renter neither reuses nor dials, with why (pricing.ts avoidReason). */
  private async avoidHosts(keys: Buffer[], minScore: number | undefined): Promise<Map<string, string>> {
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
      await this.openHost();
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
    this.feedReputation();
    this.payer = this.makePayer();
    this.auditor = this.makeAuditor();
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
      this.autoRepair = this.makeAutoRepair(this.repairOptions);
    if (this.renewOptions)
      this.autoRenew = this.makeAutoRenew(this.renewOptions);
    // What fell due while the node was down (it waits until the chain caught up with its peers).
    void this.auditor.kick();
  }

  /**
   * The renter's audit records feed reputation: per contract for the
   * ratings it publishes on its own, per host as own records.
   */
  private feedReputation(): void {
    const rep = this.reputation;
    if (!rep)
      return;
    const outcomes = async (id: Buffer): Promise<string[]> => (await this.store.listAudits(id)).map((r) => r.outcome);
    rep.setAuditSource(async (id) => {
      const list = await outcomes(id);
      return list.length ? auditCounts(list) : null;
    });
    rep.addRecordSource(async () => {
      const byHost = new Map<string, { passed: number; failed: number }>();
      for (const rc of await this.store.listRenterContracts()) {
        const list = await outcomes(rc.contract.hash());
        if (!list.length)
          continue;
        const c = auditCounts(list);
        const key = rc.contract.hostKey.toString('hex');
        const sum = byHost.get(key) ?? { passed: 0, failed: 0 };
        sum.passed += c.passed;
        sum.failed += c.failed + c.missed;
        byHost.set(key, sum);
      }
      return byHost;
    });
  }

  private makePayer(): Payer {
    const logger = this.api.logger;
    return new Payer({
      store: this.store,
      escrow: async (c) => {
        const e = await this.contracts.escrowOf(c.hash());
        return e && !e.spent ? e.coin : null;
      },
      escrowKey: async (c) => {
        try {
          return (await this.contracts.getEscrowRing(c.renterEscrowKey))?.privateKey ?? null;
        } catch {
          return null; // a locked wallet
        }
      },
      host: (pk) => this.renter.hostByKey(pk),
      send: (host, args) => this.renter.pay(host, args),
      log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
    });
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
    return this.payer.prepay(rc.contract, tokenCost(rc.contract, budget), (state) => this.renter.token(host, id, object, state),
      (e) => e instanceof DealError && e.code === 'no-token');
  }

  /** A renter client over this node's own RPC, in-process (automatic repair and renewal). */
  private localClient(tag: string): RenterClient {
    const logger = this.api.logger;
    const wallet = () => this.api.wallet().wdb.primary;
    const call = localCall(this, {
      balance: async () => (await wallet().getBalance()).confirmed,
      // As getwalletinfo: unlocked_until only for an encrypted wallet, 0 while it is locked.
      info: () => {
        const w = wallet();
        const until = (w.master as { until?: number }).until ?? 1;
        return w.master.encrypted ? { walletid: w.id, unlocked_until: w.master.key ? until : 0 } : { walletid: w.id };
      }
    });
    return new RenterClient(call, { warn: (m) => logger.warning(`${tag}: ${m}`) });
  }

  private makeAutoRepair(opts: AutoRepairOptions): AutoRepair {
    const logger = this.api.logger;
    const client = this.localClient('repair');
    return new AutoRepair({
      client: () => client,
      auditFailed: async (id) => auditsLost((await this.store.listAudits(Buffer.from(id, 'hex'))).map((r) => r.outcome)),
      spent: () => this.store.repairSpent(),
      addSpent: (sat) => this.store.addRepairSpent(sat),
      log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
    }, opts);
  }

  private makeAutoRenew(opts: AutoRenewOptions): AutoRenew {
    const logger = this.api.logger;
    const client = this.localClient('renew');
    return new AutoRenew({
      candidates: () => this.renewCandidates(),
      renew: async (id, maxEscrow) => {
        this.requireActivation();
        return this.renew(Buffer.from(id, 'hex'), null, null, maxEscrow);
      },
      client: () => client,
      spent: () => this.store.renewSpent(),
      addSpent: (sat) => this.store.addRenewSpent(sat),
      log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
    }, opts);
  }

  /**
   * Open contracts (committed or active) with a copy of a live file that
   * no repair has replaced (a moved copy stays listed until its contract
   * ends, but needs no renewal).
   */
  private async renewCandidates(): Promise<RenewCandidate[]> {
    const byContract = new Map<string, string[]>();
    for (const f of await this.store.listFiles()) {
      const replaced = new Set((await this.store.listRepairs(f.fileId)).flatMap((x) => x.replaced.map((id) => id.toString('hex'))));
      const fileId = f.fileId.toString('hex');
      for (const r of f.replicas) {
        const id = r.contractId.toString('hex');
        if (replaced.has(id))
          continue;
        const list = byContract.get(id) ?? [];
        if (!list.includes(fileId))
          list.push(fileId);
        byContract.set(id, list);
      }
    }
    const out: RenewCandidate[] = [];
    for (const [id, files] of byContract) {
      const rc = await this.store.getRenterContract(Buffer.from(id, 'hex'));
      const state = rc ? await this.contracts.getState(rc.contract.hash()) : null;
      if (!rc || (state !== 'committed' && state !== 'active'))
        continue;
      out.push({ id, host: this.negotiator.addressOf(rc.contract.hostKey), startHeight: rc.contract.startHeight,
        endHeight: rc.contract.endHeight, files });
    }
    return out;
  }

  /**
   * What getcontract adds about renewal for a contract of ours: the
   * contract that renewed it, and the height from which automatic renewal
   * renews it (null when off).
   */
  private async renewDetails(c: StorageContract): Promise<{ renewedBy: string | null; renewFrom: number | null }> {
    const id = c.hash();
    let renewedBy: string | null = null;
    for (const rc of await this.store.listRenterContracts()) {
      if (rc.contract.prevId.equals(id))
        renewedBy = rc.contract.id();
    }
    return { renewedBy, renewFrom: this.renewOptions ? renewFrom(c, this.renewOptions.window) : null };
  }

  private makeAuditor(): Auditor {
    const logger = this.api.logger;
    return new Auditor({
      store: this.store,
      height: () => this.api.chain.height,
      hostHeight: (pk) => {
        // By the connection's own address (a HostRef's addr is the announced one).
        const cp = this.negotiator.peers.byKey(pk);
        const peer = cp ? this.api.node.pool.peers.get(cp.peer.hostname()) : null;
        return peer ? Math.max(peer.height, peer.bestHeight) : -1;
      },
      state: (id) => this.contractBook.ctx.state(id),
      withContract: (id, fn) => this.contractBook.withContract(id, fn),
      host: (pk) => this.hostRef(pk).catch(() => null),
      access: (host, id) => this.paidToken(host, id, ALL_OBJECTS),
      onPassed: async (rc, rec) => {
        await this.payer.afterAudit(rc, rec);
      },
      afterRun: async () => {
        await this.payer.resend();
        // New audit records move scores, and may call for a rating (--rate-fail-threshold).
        const rep = this.reputation;
        rep?.invalidate();
        void rep?.rater?.kick();
      },
      log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
    });
  }

  /** Allowance, used, objects, size and revision of a contract we are party to; for our own contracts (renter) its audits: counts and next audit height. */
  private async details(c: StorageContract): Promise<Record<string, unknown> | null> {
    const id = c.hash();
    const height = this.api.chain.height;
    const mine = await this.store.getRenterContract(id);
    if (mine) {
      return { ...await contractDetails(this.store, mine.contract, height, mine.hostBehind),
        audits: auditStatus(mine.contract, await this.store.listAudits(id)), ...await this.renewDetails(mine.contract) };
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

  /**
   * Delete a file from its hosts: per contract a revision that drops the
   * file's object (the host frees the space; cost stops accruing from
   * that height); replicas on contracts no longer in force just go. The
   * file is forgotten once no replica is left.
   */
  async deleteFile(file: ManifestFile): Promise<DeleteFileResult> {
    const removed: DeleteFileResult['removed'] = [];
    const kept: DeleteFileResult['kept'] = [];
    const gone = new Set<string>();
    const manifests: Array<{ id: Buffer; dataURL: string; token: string }> = [];
    // Hosts we are not connected to are dialled (a renter restarted is connected to none).
    await this.negotiator.reach(file.replicas.map((r) => r.hostPk));
    for (const r of file.replicas) {
      const key = `${r.contractId.toString('hex')}/${r.object}`;
      const host = this.negotiator.addressOf(r.hostPk);
      const state = await this.contractBook.ctx.state(r.contractId);
      const held = await this.store.getObject(r.contractId, r.object);
      const inForce = state !== null && ['pending', 'committed', 'active'].includes(state);
      if (inForce && !held && !await this.store.getRenterContract(r.contractId)) {
        // Found again from the seed (recovery.ts): its revisions are the host's, unknown here.
        kept.push({ id: r.contractId.toString('hex'), host, reason: 'contract recovered from the seed: this node cannot revise it' });
        continue;
      }
      if (!held || !inForce) {
        gone.add(key);
        continue;
      }
      try {
        const res = await this.contractBook.propose(r.contractId, [], [r.object]);
        removed.push({ id: r.contractId.toString('hex'), host, revision: res.number });
        gone.add(key);
        if (res.manifestToken)
          manifests.push({ id: r.contractId, dataURL: res.dataURL, token: res.manifestToken });
      } catch (e) {
        kept.push({ id: r.contractId.toString('hex'), host, reason: (e as Error).message });
      }
    }
    const left = await this.files.dropReplicas(file.fileId, (r) => gone.has(`${r.contractId.toString('hex')}/${r.object}`));
    await this.putManifests(manifests);
    return { fileId: file.fileId.toString('hex'), removed, kept, forgotten: left === null };
  }

  /**
   * Keep the newest `keep` versions of a name (0: all) and delete the
   * older ones from their hosts as `rm` does (a revision per contract: the
   * hosts free the space and stop charging), oldest first. A version with
   * a replica on a host that cannot be reached stays, listed in `kept`.
   */
  async pruneVersions(name: Buffer, keep: number): Promise<PruneVersionsResult> {
    const versions = (await this.store.listFiles()).filter((f) => f.name.equals(name)).sort((a, b) => a.revision - b.revision);
    const old = keep === 0 ? [] : versions.slice(0, Math.max(0, versions.length - keep));
    const pruned: PruneVersionsResult['pruned'] = [];
    for (const f of old)
      pruned.push({ ...await this.deleteFile(f), revision: f.revision });
    const gone = new Set(pruned.filter((p) => p.forgotten).map((p) => p.revision));
    return { nameHex: name.toString('hex'), keep, kept: versions.map((f) => f.revision).filter((r) => !gone.has(r)), pruned };
  }

  /**
   * The sealed manifest as it stands now to hosts whose contract a
   * removal just revised, so a renter recovering from its seed does not
   * bring a deleted file back (recovery.ts trusts the newest manifest). A
   * failure is only logged: the file is gone from that host either way.
   */
  private async putManifests(targets: Array<{ id: Buffer; dataURL: string; token: string }>): Promise<void> {
    if (targets.length === 0)
      return;
    const sealed = (await this.store.manifest()).seal(this.storageMaster());
    for (const t of targets) {
      try {
        await new FileServerClient(t.dataURL).putManifest(t.token, t.id.toString('hex'), sealed);
      } catch (e) {
        this.api.logger.warning('deals: manifest copy for contract %s failed: %s', t.id.toString('hex'), (e as Error).message);
      }
    }
  }

  private async openHost(): Promise<void> {
    const host = new HostService({
      network: this.api.network,
      identity: () => this.negotiator.identity,
      height: () => this.api.chain.height,
      backend: () => this.backend(),
      dataURL: () => this.dataURL(),
      createEscrowKey: () => this.contracts.createEscrowKey(),
      contractState: (id) => this.contracts.getState(id),
      acceptState: async (c, state, options) => {
        await this.contracts.acceptState(c, state, options);
      },
      latestState: async (id) => {
        const s = await this.contracts.latestState(id);
        return s ? { paid: s.state.paid, prepaid: s.prepaid, final: s.final, missed: s.missed } : null;
      },
      store: this.store
    }, this.terms);
    this.host = host;
    this.negotiator.registerService(host.service());
    await this.announce();
    this.api.onConnect(async (entry, block) => {
      const params = getDealParams(this.api.network);
      for (const id of await host.scanBlock(block, entry.height)) {
        if (await this.contracts.getState(id) === null)
          this.contracts.requestRecord(id);
      }
      if (entry.height % params.offerWindow === 0) {
        const dropped = await host.maintain(entry.height);
        if (dropped.length)
          this.api.logger.info('deals: dropped %d contracts never committed', dropped.length);
      }
      if (entry.height % params.announceInterval === 0)
        await this.announce();
      await host.observeAuditReads(entry.height);
      await this.dropNonPaying(host, entry.height);
    });
    this.api.onDisconnect(async (entry) => {
      await host.unscanBlock(entry.height);
    });
  }

  /**
   * A renter that stopped paying (an audit served, no state within two
   * intervals): close with the latest state we hold (if any), delete the
   * contract's data, and mark the renter, durably, before the next block.
   */
  private async dropNonPaying(host: HostService, height: number): Promise<void> {
    for (const c of await host.nonPaying(height)) {
      const id = c.hash();
      let closed = 'no state to close with: the renter\'s refund takes the escrow back';
      if (await this.contracts.latestState(id)) {
        try {
          const res = await this.contracts.closeContract(id);
          closed = `closed in ${res.tx.txid()} (payout ${res.amounts.host} sat, fee ${res.amounts.fee} sat)`;
        } catch (e) {
          closed = `close failed: ${(e as Error).message}`;
        }
      }
      try {
        await this.backend()?.unregister(c.id());
        await this.backend()?.purge();
      } catch (e) {
        this.api.logger.warning('deals: deleting the data of contract %s failed: %s', c.id(), (e as Error).message);
      }
      await this.store.markNonPayment(id, c.renterKey, height);
      this.api.logger.warning('deals: renter %s stopped paying for contract %s: %s; data deleted',
        this.negotiator.addressOf(c.renterKey), c.id(), closed);
    }
  }

  /** Gossip our terms (csannounce); a failure is logged, never fatal. */
  private async announce(): Promise<void> {
    if (!this.host)
      return;
    const interval = getDealParams(this.api.network).announceInterval;
    try {
      this.negotiator.announce({
        url: this.dataURL(),
        storagePrice: this.terms.prices.storage,
        uploadPrice: this.terms.prices.upload,
        downloadPrice: this.terms.prices.download,
        capacity: await this.host.freeCapacity(),
        maxDuration: this.terms.maxDuration,
        expiry: this.api.chain.height + 10 * interval
      });
    } catch (e) {
      this.api.logger.warning('deals: announcement failed: %s', (e as Error).message);
    }
  }

  async close(): Promise<void> {
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

  /**
   * Renew a contract of ours before it ends: a new contract with the same
   * host (prevId = the old one) whose revision 0 carries every object of
   * the old one's latest revision, adopted by the host without a
   * re-upload; committed at once. The files' replicas follow once the
   * commitment is out. `maxEscrow` (sat; automatic renewal's budget left)
   * refuses a renewal whose allowance would lock more, before the host is
   * asked to adopt anything.
   */
  async renew(oldId: Buffer, duration: number | null, allowance: number | null, maxEscrow = Number.MAX_SAFE_INTEGER)
    : Promise<{ id: string; host: string; objects: number; endHeight: number; allowance: number; txids: string[] }> {
    const rc = await this.contractBook.mustContract(oldId);
    const old = rc.contract;
    const height = this.api.chain.height;
    const state = await this.contractBook.ctx.state(oldId);
    // [REJECT] only an open contract, before its end, with nothing in flight
    if (state === null || !['pending', 'committed', 'active'].includes(state) || height >= old.endHeight)
      throw new DealError('not-renewable', `contract ${old.id().slice(0, 12)} is ${state ?? 'not committed'} `
        + `(ends at ${old.endHeight}, height ${height}): only an open contract can be renewed before it ends`);
    const host = await this.hostRef(old.hostKey);
    if (!await this.contractBook.settle(oldId, true))
      throw new DealError('contract-busy', `contract ${old.id().slice(0, 12)} has a revision its host has not settled`);
    const objects = await this.contractBook.objects(oldId);
    if (!objects || objects.length === 0)
      throw new DealError('not-renewable', `contract ${old.id().slice(0, 12)} holds no objects: nothing to renew`);
    const length = duration ?? (old.endHeight - old.startHeight);
    const prices = { storage: old.storagePrice, upload: old.uploadPrice, download: old.downloadPrice };
    // An offer for a token size: it reserves nothing real (the bytes are adopted) but fixes prices and the escrow key.
    const got = await this.renter.bid(host, LEAF_SIZE, length, prices, Math.max(prices.storage, prices.upload, prices.download, 1)
      * 4);
    if (!('offer' in got))
      throw new DealError('proposal-declined', `host ${host.identity} made no renewal offer: ${got.reason}`);
    const offer = got.offer.offer;
    const size = objects.reduce((sum, o) => sum + o.size, 0);
    const minEscrow = minEscrowValue(this.api.network);
    const value = allowance ?? Math.max(old.escrowValue, defaultAllowance(size, length, offer.prices, minEscrow));
    // [REJECT] over the renewal budget (the offer lapses on its own)
    if (value > maxEscrow)
      throw new DealError('over-budget', `renewing contract ${old.id().slice(0, 12)} needs an allowance of ${value} sat, `
        + `the renewal budget has ${Math.max(0, maxEscrow)} sat left (--renew-budget)`);
    const entries = objects.map(({ id, root, size: n }) => ({ id, root, size: n }));
    const contract = await this.renter.buildContract(offer, [], value, { prevId: oldId, carried: entries });
    const rev0 = firstRevision(contract, entries);
    rev0.sign(this.negotiator.identity, contract);
    const res = await this.renter.propose(host, contract, rev0, []);
    const newId = contract.hash();
    const nrc = new RenterContract();
    nrc.contract = res.contract;
    nrc.nextObject = Math.max(rc.nextObject, rev0.nextObject);
    const p = new PendingRevision();
    p.revision = rev0;
    p.add = objects;
    await this.store.putPending(newId, p, nrc);
    await this.contractBook.receipt(newId, 0);
    const txids = (await this.contracts.commit([res.contract])).map((tx) => tx.txid());
    await this.files.follow(oldId, newId);
    return { id: contract.id(), host: host.identity, objects: objects.length, endHeight: contract.endHeight,
      allowance: contract.escrowValue, txids };
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
