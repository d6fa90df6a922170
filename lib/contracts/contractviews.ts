/*!
 * contractviews.ts - contracts as getcontract, listcontracts and getearnings show them.
 *
 * Joins the index's view of a contract (contractqueries.ts) with what the
 * node keeps off chain: the channel state we hold as its host (and when
 * the node closes with it), the signed revisions and details other
 * extensions (the deals) register, and the money figures and earnings
 * derived from them with the shared accrual (deals/accrual.ts).
 */

import type bcoin = require('../bcoin');
import type { Identity } from '../base/identity';
import type { ChannelStore } from './channelstore';
import type * as common from './common';
import type { ContractIndex } from './contractindex';
import type { ContractInfo } from './contractqueries';
import { contractEarnings, earningsTotals, type ContractEarnings, type EarningsTotals } from './earnings';
import { enforce } from './errors';
import type { RevisionPoint } from '../deals/accrual';
import { earnedAt } from '../deals/accrual';
import { accrualTerms } from '../deals/revisions';
import { autoCloseHeight } from './schedule';
import type { StorageContract } from './storagecontract';

/** The signed revisions of a contract another extension keeps (ascending by number), or null. */
export type RevisionSource = (contract: StorageContract) => Promise<readonly RevisionPoint[] | null>;
/** Cumulative sat the renter's own latest channel state pays (the renter's side keeps it), or null. */
export type SignedSource = (contract: StorageContract) => Promise<number | null>;

/** Off-chain facts of a contract another extension keeps (allowance used, revision), or null. */
export type ContractDetailSource = (contract: StorageContract) => Promise<Record<string, unknown> | null>;

/** What getearnings returns: the host's earnings per contract and in total (sat). */
export interface EarningsReport {
  height: number;
  contracts: ContractEarnings[];
  totals: EarningsTotals;
}

/** What the views need from the node. */
export interface ContractViewsContext {
  params: common.ContractParams;
  chain: bcoin.Chain;
  index: ContractIndex;
  channels: ChannelStore;
  identity(): Promise<Identity>;
}

/** Contracts with their channel state, money figures and registered details. */
export class ContractViews {
  private readonly ctx: ContractViewsContext;

  constructor(ctx: ContractViewsContext) {
    this.ctx = ctx;
  }

  /** A contract as the index has it, with our channel state if we host it and its money figures. */
  async getContract(id: Buffer): Promise<ContractInfo | null> {
    const info = await this.ctx.index.getContract(id);
    return info ? this.withChannel(info) : null;
  }

  async listContracts(state?: common.ContractStateName): Promise<ContractInfo[]> {
    const out: ContractInfo[] = [];
    for (const info of await this.ctx.index.listContracts(state))
      out.push(await this.withChannel(info));
    return out;
  }

  /**
   * Attach the stored channel state, when the node closes with it on its
   * own, and the money figures (ContractMoney).
   */
  private async withChannel(info: ContractInfo): Promise<ContractInfo> {
    const contract = info.contract;
    const stored = await this.ctx.channels.latestState(contract.hash());
    if (stored) {
      info.channel = {
        ...stored.getJSON(),
        closeAt: autoCloseHeight(contract, stored.final, this.ctx.params)
      };
    }
    const revisions = await this.revisionsOf(contract);
    const settled = info.spend !== null && info.spend.type === 'settled';
    info.money = {
      earned: revisions.length ? earnedAt(accrualTerms(contract), revisions, this.ctx.chain.height) : null,
      signed: stored ? stored.state.paid : await this.renterSigned(contract),
      paidOut: settled ? info.spend!.paid : 0,
      closeTxid: settled ? info.spend!.txid : null,
      returned: info.spend ? info.spend.returned : 0,
      fees: info.spend ? info.spend.fee : 0,
      closeDeadline: info.closeDeadline
    };
    return info;
  }

  /**
   * Extensions that keep contracts' signed revisions (the deals) register
   * here, so earnings and getcontract can apply the shared accrual to them.
   */
  private readonly revisionSources: RevisionSource[] = [];
  private readonly signedSources: SignedSource[] = [];

  /** The extension that signs the renter's channel states (the deals) registers here. */
  addSignedSource(source: SignedSource): void {
    this.signedSources.push(source);
  }

  /** What the renter's latest state of ours pays (sat), from the first source that has one, else null. */
  private async renterSigned(contract: StorageContract): Promise<number | null> {
    for (const source of this.signedSources) {
      const paid = await source(contract);
      if (paid !== null)
        return paid;
    }
    return null;
  }

  addRevisionSource(source: RevisionSource): void {
    this.revisionSources.push(source);
  }

  /** A contract's signed revisions from the first source that has them, else none. */
  async revisionsOf(contract: StorageContract): Promise<readonly RevisionPoint[]> {
    for (const source of this.revisionSources) {
      const revs = await source(contract);
      if (revs && revs.length)
        return revs;
    }
    return [];
  }

  /**
   * The earnings of the contracts we host (one by id, or every resolved
   * one), itemised (earnings.ts). Throws ContractError `unknown-contract`,
   * `not-host` (an id we do not host).
   */
  async earnings(id?: Buffer): Promise<EarningsReport> {
    const me = (await this.ctx.identity()).publicKey;
    let infos: ContractInfo[];
    if (id) {
      const info = await this.getContract(id);
      enforce(info !== null && info.commit !== null && info.pending === null, 'unknown-contract');
      // [REJECT] earnings are the host's
      enforce(info.contract.hostKey.equals(me), 'not-host');
      infos = [info];
    } else {
      infos = (await this.listContracts()).filter(i => i.commit !== null && i.pending === null
        && i.contract.hostKey.equals(me));
    }
    const height = this.ctx.chain.height;
    const contracts: ContractEarnings[] = [];
    for (const info of infos) {
      const stored = await this.ctx.channels.latestState(info.contract.hash());
      contracts.push(contractEarnings(info.contract, info.state, height, await this.revisionsOf(info.contract),
        stored ? { paid: stored.state.paid, number: stored.state.number, final: stored.final, missed: stored.missed } : null,
        info.spend, stored ? stored.prepaid : 0));
    }
    return { height, contracts, totals: earningsTotals(contracts) };
  }

  /**
   * Extensions that keep a contract's off-chain state (the deals'
   * revisions) register here what getcontract/listcontracts show of it.
   */
  private readonly detailSources: ContractDetailSource[] = [];

  addDetails(source: ContractDetailSource): void {
    this.detailSources.push(source);
  }

  /** What the registered sources know of a contract (merged), or null. */
  async details(contract: StorageContract): Promise<Record<string, unknown> | null> {
    let out: Record<string, unknown> | null = null;
    for (const source of this.detailSources) {
      const d = await source(contract);
      if (d)
        out = { ...(out ?? {}), ...d };
    }
    return out;
  }
}
