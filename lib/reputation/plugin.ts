/*!
 * plugin.ts - the `reputation` cloudcoind extension: this node's view of
 * every identity the contract index names, recomputed when the index moves.
 *
 * Other extensions use it through `api.require<ReputationPlugin>('reputation')`:
 * `getReputation(pk)` for one identity, `scores()` for host choice, and
 * `addRecordSource(fn)` to feed own records (audits, retrievals) kept
 * elsewhere (they call `invalidate()` when those records change), and
 * `setAuditSource(fn)` so the rater (rater.ts) can rate from audit records.
 */

import type { Extension, NodeAPI, OptionSpec } from '../base/extension';
import type { ContractsPlugin } from '../contracts/plugin';
import { DEFAULT_FAIL_THRESHOLD, DEFAULT_RATE_FEE_CAP } from './common';
import type { ContractInfo } from '../contracts/contractqueries';
import type { RatingInfo } from '../contracts/contractqueries';
import { ReputationError } from './errors';
import { Asker } from './asker';
import { PeerViews } from './peerviews';
import { Rater, type AuditSource, type RaterOptions } from './rater';
import { reputationService } from './service';
import { ReputationStatement } from './statement';
import type { Negotiator } from '../negotiator/negotiator';
import type { OwnRecord } from './score';
import { buildView, unknownReputation, type ContractFact, type RatingFact, type Reputation, type ReputationView } from './view';

/** Own records another extension keeps, per counterparty identity key (hex). */
export type RecordSource = () => Promise<ReadonlyMap<string, Partial<OwnRecord>>>;

/**
 * Sats a settle paid to the host: what the index records of the escrow's
 * spend (`paid`, escrow less what returned to the renter); 0 for a refund
 * or an unspent escrow.
 */
export function settledToHost(spend: ContractInfo['spend']): number {
  if (!spend || spend.type !== 'settled')
    return 0;
  const paid = (spend as { paid?: unknown }).paid;
  return typeof paid === 'number' && Number.isSafeInteger(paid) && paid > 0 ? paid : 0;
}

function ratingFact(r: RatingInfo | null): RatingFact | null {
  return r ? { score: r.score, passed: r.passed, failed: r.failed, flags: r.flags } : null;
}

/** A resolved contract as the view needs it, or null for pending and void records. */
export function contractFact(info: ContractInfo): ContractFact | null {
  if (info.state === 'pending' || info.state === 'void' || !info.commit)
    return null;
  return {
    id: info.id,
    renter: info.contract.renterKey.toString('hex'),
    host: info.contract.hostKey.toString('hex'),
    settled: info.spend?.type === 'settled',
    refunded: info.spend?.type === 'refunded',
    paid: settledToHost(info.spend),
    byRenter: ratingFact(info.ratings.renter),
    byHost: ratingFact(info.ratings.host)
  };
}

/** Flags and cloudcoin.conf keys the reputation extension reads. */
export const options: OptionSpec[] = [
  { name: 'rate', type: 'string', placeholder: '<auto/off>', description: 'Publish ratings on their own when a contract settles or is refunded, '
    + 'and when a host fails --rate-fail-threshold audits in a row: auto or off', defaultText: 'auto' },
  { name: 'rate-fee-cap', type: 'uint', placeholder: '<sat>', description: 'Most one rating may cost in fees (sat, its funding tx included); '
    + 'a dearer one is skipped with a warning', defaultText: String(DEFAULT_RATE_FEE_CAP) },
  { name: 'rate-fail-threshold', type: 'uint', placeholder: '<audits>', description: 'Failed or missed audits in a row after which the renter '
    + 'rates a host before the contract ends', defaultText: String(DEFAULT_FAIL_THRESHOLD) }
];

/** The rater's options from the node's flags and cloudcoin.conf; throws ReputationError `bad-config`. */
export function raterOptions(api: Pick<NodeAPI, 'config'>): RaterOptions {
  const mode = api.config.str('rate') ?? 'auto';
  if (mode !== 'auto' && mode !== 'off')
    throw new ReputationError('bad-config', `--rate must be auto or off, got "${mode}".`);
  const threshold = api.config.uint('rate-fail-threshold') ?? DEFAULT_FAIL_THRESHOLD;
  if (threshold < 1)
    throw new ReputationError('bad-config', '--rate-fail-threshold must be at least 1.');
  return { auto: mode === 'auto', feeCap: api.config.uint('rate-fee-cap') ?? DEFAULT_RATE_FEE_CAP, failThreshold: threshold };
}

/** The reputation extension instance. */
export class ReputationPlugin implements Extension {
  readonly api: NodeAPI;
  readonly raterOptions: RaterOptions;
  rater: Rater | null = null;
  /** Peers' signed statements (asker.ts fills it), a source apart. */
  readonly peerViews = new PeerViews();
  /** Asks peers after blocks; null on a node without the negotiator. */
  asker: Asker | null = null;
  private auditSource: AuditSource | null = null;
  private contracts: ContractsPlugin | null = null;
  private readonly sources: RecordSource[] = [];
  private view: ReputationView | null = null;
  /** Bumped by every change that can move a score; a view built at an older one is stale. */
  private version = 0;
  private building: { version: number; promise: Promise<ReputationView> } | null = null;

  constructor(api: NodeAPI) {
    this.api = api;
    this.raterOptions = raterOptions(api);
  }

  async open(): Promise<void> {
    const contracts = this.api.require<ContractsPlugin>('contracts');
    this.contracts = contracts;
    const stale = (): void => this.invalidate();
    for (const event of ['connect', 'disconnect', 'resolve', 'unresolve', 'rated'])
      contracts.index.on(event, stale);
    this.rater = new Rater(contracts, this.raterOptions, () => this.auditSource, this.api.logger);
    let negotiator: Negotiator | null = null;
    try {
      negotiator = this.api.require<Negotiator>('negotiator');
    } catch {
      // A node without the negotiator answers no peers.
    }
    negotiator?.registerService(reputationService(this));
    if (negotiator) {
      const logger = this.api.logger;
      this.asker = new Asker({
        negotiator,
        views: this.peerViews,
        magic: this.api.network.magic,
        me: () => negotiator.identity.publicKey,
        counterparties: async () => {
          const me = (await contracts.identity()).publicKey;
          return (await contracts.listContracts()).filter((c) => c.contract.renterKey.equals(me)).map((c) => c.contract.hostKey);
        },
        changed: stale,
        log: (level, msg) => (level === 'debug' ? logger.debug(msg) : logger.warning(msg))
      });
      const asker = this.asker;
      contracts.index.on('connect', () => asker.onBlock(contracts.index.tip.height));
    }
    // After the index took the block: spends and ratings are in it. Not awaited: blocks never wait for a rating.
    contracts.index.on('connect', () => void this.rater?.kick());
    void this.rater.kick();
  }

  async close(): Promise<void> {
    await this.asker?.close();
    await this.rater?.close();
    this.view = null;
  }

  /** The renter's audit records per contract (the deals extension's), for ratings published on their own. */
  setAuditSource(source: AuditSource): void {
    this.auditSource = source;
    void this.rater?.kick();
  }

  /** Own records kept elsewhere (audits, retrievals) join the view through here. */
  addRecordSource(source: RecordSource): void {
    this.sources.push(source);
    this.invalidate();
  }

  /** Something a score depends on changed: the next query rebuilds the view. */
  invalidate(): void {
    this.version++;
  }

  /** The current view, rebuilt if the index or own records moved since the last one. */
  async getView(): Promise<ReputationView> {
    if (this.view && this.viewVersion === this.version)
      return this.view;
    if (this.building && this.building.version === this.version)
      return this.building.promise;
    const version = this.version;
    const promise = this.build().then((view) => {
      if (this.version === version) {
        this.view = view;
        this.viewVersion = version;
      }
      return view;
    }).finally(() => {
      if (this.building?.version === version)
        this.building = null;
    });
    this.building = { version, promise };
    return promise;
  }

  private viewVersion = -1;

  private async build(): Promise<ReputationView> {
    const contracts = this.contracts;
    if (!contracts)
      throw new Error('reputation: not open');
    const me = (await contracts.identity()).publicKey.toString('hex');
    const facts: ContractFact[] = [];
    for (const info of await contracts.listContracts()) {
      const f = contractFact(info);
      if (f)
        facts.push(f);
    }
    const extra = new Map<string, Partial<OwnRecord>>();
    for (const source of this.sources) {
      for (const [who, rec] of await source())
        extra.set(who, { ...(extra.get(who) ?? {}), ...rec });
    }
    return buildView(facts, me, extra, this.peerViews.opinions(Math.max(0, contracts.index.tip.height)));
  }

  /** This node's view of `identity`, signed by its identity key (the `reputation` service's answer). */
  async statement(identity: Buffer): Promise<ReputationStatement> {
    const r = await this.getReputation(identity);
    const height = this.contracts ? this.contracts.index.tip.height : 0;
    return ReputationStatement.fromReputation(r, Math.max(0, height)).sign(await this.api.identity(), this.api.network.magic);
  }

  /** One identity's reputation (the prior, nothing known, for an identity no contract names). */
  async getReputation(identity: Buffer): Promise<Reputation> {
    const view = await this.getView();
    const hex = identity.toString('hex');
    return view.identities.get(hex) ?? unknownReputation(hex, view);
  }

  /** Every identity the view knows. */
  async listReputation(): Promise<Reputation[]> {
    return [...(await this.getView()).identities.values()];
  }
}
