/*!
 * plugin.ts - the `contracts` cloudcoind extension.
 *
 * Wires the contract index to the chain (hooks), to peers (csgetctr /
 * csctr, relayed only once a commit confirms or a rating cites a record)
 * and to the wallet (commitments, closes, refunds, ratings). Holds the
 * host's channel states (channelstore.ts) and, at every block, closes the
 * contracts we host that are due (closer.ts) and refunds the escrows we
 * funded that a host never closed (refunder.ts). Its public methods are
 * the programmatic API deals use: `api.require<ContractsPlugin>('contracts')`.
 */

import bcoin = require('../bcoin');
import type { Identity } from '../base/identity';
import type { Extension, NodeAPI } from '../base/extension';
import { PacketError } from '../base/errors';
import * as builders from './builders';
import type { ChannelState, CloseAmounts } from './channel';
import { ChannelStore, type AcceptResult, type EscrowLookup, type StoredState } from './channelstore';
import { Closer } from './closer';
import * as common from './common';
import { ContractError, enforce } from './errors';
import { classifySpend } from './escrow';
import { createEscrowKey, ensureEscrowAccount, getEscrowRing } from './escrowkeys';
import { ContractIndex } from './contractindex';
import { contractEarnings, earningsTotals, type ContractEarnings, type EarningsTotals } from './earnings';
import type { RevisionPoint } from '../deals/accrual';
import { earnedAt } from '../deals/accrual';
import { accrualTerms } from '../deals/revisions';
import { escrowCoin, revHex, type ContractInfo, type EscrowInfo } from './contractqueries';
import { Refunder } from './refunder';
import { autoCloseHeight, closeDeadline } from './schedule';
import {
  decodeContractRecord, decodeGetCommit, decodeGetContract, encodeContractRecord, encodeGetCommit, encodeGetContract
} from './packets';
import { RatingPayload } from './payload';
import { Resubmitter } from './resubmitter';
import { ContractRecord, spendTypes } from './records';
import {
  StorageContract, StorageContractOptions, verifyContract, VerifyContractOptions
} from './storagecontract';

/** Optional fields of a rating besides the score. */
export interface RatingOptions {
  passed?: number;
  failed?: number;
  flags?: number;
}

/** What a close did: the tx, the split, the state it used and the fee rate (sat/kvB). */
export interface CloseResult {
  tx: bcoin.TX;
  amounts: CloseAmounts;
  state: StoredState;
  rate: number;
}

/**
 * Longest fee estimate target a close asks for: bcoin 1.0.2's estimator
 * tracks 15 blocks (MAX_BLOCK_CONFIRMS in lib/mempool/fees.js) and throws
 * above that.
 */
const MAX_FEE_TARGET = 15;

/** The signed revisions of a contract another extension keeps (ascending by number), or null. */
export type RevisionSource = (contract: StorageContract) => Promise<readonly RevisionPoint[] | null>;

/** What getearnings returns: the host's earnings per contract and in total (sat). */
export interface EarningsReport {
  height: number;
  contracts: ContractEarnings[];
  totals: EarningsTotals;
}

/** The contracts extension instance. */
/** Off-chain facts of a contract another extension keeps (allowance used, revision), or null. */
export type ContractDetailSource = (contract: StorageContract) => Promise<Record<string, unknown> | null>;

export class ContractsPlugin implements Extension {
  readonly api: NodeAPI;
  readonly network: bcoin.Network;
  readonly params: common.ContractParams;
  readonly index: ContractIndex;
  /** Keeps our txs (and what reorgs disconnect) in the mempool until they confirm. */
  readonly resubmitter: Resubmitter;
  /** The latest channel state of each contract we host (fsynced). */
  readonly channels: ChannelStore;
  /** Closes the contracts we host when they are due. */
  readonly closer: Closer;
  /** Refunds the escrows we funded that no host closed. */
  readonly refunder: Refunder;
  private opened = false;
  /** Asked peers for the records of unresolved commits once the chain was synced. */
  private askedAtSync = false;
  /** Ids inside a commit() call right now (two calls must not both fund one). */
  private readonly committing = new Set<string>();

  constructor(api: NodeAPI) {
    this.api = api;
    this.network = api.network;
    this.index = new ContractIndex({
      network: api.network,
      chain: api.chain,
      logger: api.logger,
      memory: api.memory,
      datadir: api.datadir
    });
    this.params = common.getParams(api.network);
    this.channels = new ChannelStore({
      memory: api.memory,
      datadir: api.datadir,
      escrow: (contract) => this.escrowOf(contract.hash()),
      height: () => api.chain.height
    });
    this.closer = new Closer({
      params: this.params,
      logger: api.logger.context('closer'),
      states: () => this.channels.list(),
      escrowOpen: async (id) => {
        const found = await this.escrowOf(id);
        const record = found ? await this.index.getRecord(id) : null;
        return found && record ? { contract: record.contract, open: !found.spent } : null;
      },
      close: (id) => this.closeContract(id)
    });
    this.refunder = new Refunder({
      logger: api.logger.context('refunder'),
      openEscrows: () => this.openRenterEscrows(),
      refund: (e) => this.refundEscrow(e)
    });
    this.resubmitter = new Resubmitter({
      chain: api.chain,
      mempool: api.mempool,
      pool: api.pool,
      wdb: () => api.wallet().wdb,
      logger: api.logger.context('resubmit'),
      interval: common.getParams(api.network).rebroadcastInterval
    });
    // Records go only to CloudStorage peers; advertise that we are one.
    api.addServiceBit(common.NODE_CLOUDSTORAGE);
    api.onConnect(async (entry, block) => {
      if (!this.opened)
        return;
      await this.index.handleConnect(entry, block);
      await this.resubmitter.handleBlock(entry.height);
      // After the resubmitter: a close or refund of ours it put back
      // counts as spending its escrow.
      await this.closer.handleBlock(entry.height);
      await this.refunder.handleBlock(entry.height);
      // Caught up with the network once: ask for the records we lack (a
      // restored or long-offline node); later, each new outbound peer is asked.
      if (!this.askedAtSync && api.chain.synced && entry.height === api.chain.height) {
        this.askedAtSync = true;
        for (const peer of this.cloudPeers())
          this.requestCommits(peer);
      }
    });
    api.pool.on('peer open', (peer: bcoin.Peer) => {
      if (this.askedAtSync && peer.outbound && (peer.services & common.NODE_CLOUDSTORAGE))
        this.requestCommits(peer);
    });
    api.onDisconnect(async (entry) => {
      if (this.opened)
        await this.index.handleDisconnect(entry);
    });
    api.addPacket(common.packetCmds.GETCONTRACT, (peer, payload) => this.handleGetContract(peer, payload));
    api.addPacket(common.packetCmds.GETCOMMIT, (peer, payload) => this.handleGetCommit(peer, payload));
    api.addPacket(common.packetCmds.CONTRACT, (peer, payload) => this.handleContract(peer, payload));
  }

  async open(): Promise<void> {
    // Identity first, then escrow: BIP44 account indexes follow creation
    // order, and a wallet restored from the seed must get the same ones.
    await this.identity();
    await ensureEscrowAccount(this.api.wallet().wdb.primary);
    this.index.on('resolve', (record: ContractRecord) => {
      this.relay(record);
      this.learnEscrowKey(record).catch((e: unknown) =>
        this.api.logger.warning('Escrow key of %s: %s', record.contract.id(), (e as Error).message));
    });
    this.index.on('rated', (record: ContractRecord) => this.relay(record));
    this.index.on('missing', (id: Buffer) => this.request(id));
    this.index.on('missing commit', (txid: Buffer) => this.requestCommit(txid));
    this.index.on('bad orphan', (peer: number, code: string) => this.punish(peer, code));
    this.index.on('error', () => { /* logged by the index; marked dirty */ });
    await this.channels.open();
    await this.index.open();
    await this.resubmitter.open();
    this.opened = true;
    // What fell due while the node was down: nothing waits for the next block.
    await this.closer.handleBlock(this.api.chain.height);
    await this.refunder.handleBlock(this.api.chain.height);
  }

  async close(): Promise<void> {
    this.opened = false;
    await this.resubmitter.close();
    await this.index.close();
    await this.channels.close();
  }

  /*
   * P2P
   */

  private *cloudPeers(): Generator<bcoin.Peer> {
    for (let peer = this.api.pool.peers.head(); peer; peer = peer.next) {
      if (peer.handshake && !peer.destroyed && (peer.services & common.NODE_CLOUDSTORAGE))
        yield peer;
    }
  }

  private relay(record: ContractRecord): void {
    const payload = encodeContractRecord(record);
    for (const peer of this.cloudPeers())
      this.api.sendPacket(peer, common.packetCmds.CONTRACT, payload);
  }

  /** Ask CloudStorage peers for a contract record (csgetctr). */
  requestRecord(id: Buffer): void {
    this.request(id);
  }

  private request(id: Buffer): void {
    const payload = encodeGetContract(id);
    for (const peer of this.cloudPeers())
      this.api.sendPacket(peer, common.packetCmds.GETCONTRACT, payload);
  }

  /** Ask CloudStorage peers for every record of one commitment (csgetcmt). */
  private requestCommit(txid: Buffer): void {
    const payload = encodeGetCommit(txid);
    for (const peer of this.cloudPeers())
      this.api.sendPacket(peer, common.packetCmds.GETCOMMIT, payload);
  }

  /** Ask `peer` for the records of commitments we cannot resolve (csgetcmt). */
  private requestCommits(peer: bcoin.Peer): void {
    for (const txid of this.index.unresolvedCommits(common.MAX_COMMIT_REQUESTS))
      this.api.sendPacket(peer, common.packetCmds.GETCOMMIT, encodeGetCommit(txid));
  }

  /**
   * A record resolved in which we are a party: make sure the wallet knows
   * our escrow key (a restored wallet derives it only on demand), so a
   * refund or close can sign, and new contracts never reuse it.
   */
  private async learnEscrowKey(record: ContractRecord): Promise<void> {
    const role = await this.roleOf(record.contract);
    if (role === null)
      return;
    const key = role === 'renter' ? record.contract.renterEscrowKey : record.contract.hostEscrowKey;
    await getEscrowRing(this.api.wallet().wdb.primary, key, { key: this.api.masterKey() });
  }

  /** An orphan record from `id` failed later: raise its sender's ban score. */
  private punish(id: number, code: string): void {
    for (let peer = this.api.pool.peers.head(); peer; peer = peer.next) {
      if (peer.id !== id)
        continue;
      this.api.logger.debug('Bad orphan record from %s: %s.', peer.hostname(), code);
      peer.increaseBan(code === 'orphan-expired' ? common.ORPHAN_EXPIRED_SCORE : common.BAD_RECORD_SCORE);
      return;
    }
  }

  private async handleGetContract(peer: bcoin.Peer, payload: Buffer): Promise<void> {
    const id = decodeGetContract(payload);
    if (!this.opened)
      return;
    // Only resolved records exist in c[]: never relay before the commit confirms.
    const record = await this.index.getRecord(id);
    if (record)
      this.api.sendPacket(peer, common.packetCmds.CONTRACT, encodeContractRecord(record));
  }

  /** csgetcmt: every record we hold of one commitment, as csctr packets. */
  private async handleGetCommit(peer: bcoin.Peer, payload: Buffer): Promise<void> {
    const txid = decodeGetCommit(payload);
    if (!this.opened)
      return;
    const ce = await this.index.getCommit(txid);
    if (!ce)
      return;
    for (const leaf of ce.leaves) {
      const record = leaf.isResolved() ? await this.index.getRecord(leaf.id) : null;
      if (record)
        this.api.sendPacket(peer, common.packetCmds.CONTRACT, encodeContractRecord(record));
    }
  }

  private async handleContract(peer: bcoin.Peer, payload: Buffer): Promise<void> {
    const record = decodeContractRecord(payload);
    if (!this.opened)
      return;
    try {
      await this.index.addRecord(record, peer.id);
    } catch (e) {
      if (e instanceof ContractError)
        throw new PacketError(e.code, 'reject', common.BAD_RECORD_SCORE);
      throw e;
    }
  }

  /*
   * Programmatic API (negotiator, RPC)
   */

  /** The primary wallet and what the tx builders need. */
  walletContext(): builders.WalletContext {
    const wdb = this.api.wallet().wdb;
    return {
      network: this.network,
      chain: this.api.chain,
      mempool: this.api.mempool,
      wdb,
      wallet: wdb.primary,
      master: { key: this.api.masterKey() }
    };
  }

  /** This node's identity (key 0 of the wallet's `identity` account). */
  identity(): Promise<Identity> {
    return this.api.identity();
  }

  /** A fresh escrow key for a new contract (one HD index per contract). */
  async createEscrowKey(): Promise<Buffer> {
    return createEscrowKey(this.api.wallet().wdb.primary);
  }

  /** Our key ring for an escrow public key, or null if not ours. */
  async getEscrowRing(publicKey: Buffer): Promise<bcoin.KeyRing | null> {
    return getEscrowRing(this.api.wallet().wdb.primary, publicKey, { key: this.api.masterKey() });
  }

  /** A contract on this network from options (signatures left empty). */
  buildContract(options: StorageContractOptions): StorageContract {
    return new StorageContract({ ...options, network: this.network.magic });
  }

  /** Sign with our identity (as renter or host, whichever we are). */
  async signContract(contract: StorageContract): Promise<StorageContract> {
    return contract.sign(await this.identity());
  }

  /** Contextual validity for a commit in the next block; throws ContractError. */
  verifyContract(contract: StorageContract, options?: VerifyContractOptions): void {
    verifyContract(contract, this.api.chain.height + 1, this.network, options);
  }

  /**
   * Fund, sign and broadcast commitments for fully signed contracts, 16 per
   * tx. Returns the txs (in order); the contracts resolve in the index as
   * soon as their commit confirms. Each batch is recorded as pending before
   * it is broadcast, and forgotten if the mempool refuses it.
   */
  async commit(contracts: StorageContract[]): Promise<bcoin.TX[]> {
    enforce(contracts.length >= 1, 'bad-batch-size');
    const ids = new Set<string>();
    for (const c of contracts) {
      this.verifyContract(c);
      // [REJECT] the same contract twice in one call
      enforce(!ids.has(c.id()), 'duplicate-contract');
      ids.add(c.id());
    }
    // [REJECT] a contract being committed by a concurrent call
    for (const id of ids)
      enforce(!this.committing.has(id), 'contract-already-committed', id);
    for (const id of ids)
      this.committing.add(id);
    try {
      // [REJECT] a contract committed, pending or ever committed by us: a
      // retry would fund a second escrow
      for (const c of contracts)
        enforce(!await this.index.hasCommitment(c.hash()), 'contract-already-committed', c.id());
      const txs: bcoin.TX[] = [];
      for (let i = 0; i < contracts.length; i += common.MAX_BATCH) {
        const batch = contracts.slice(i, i + common.MAX_BATCH);
        txs.push(await builders.commitContracts(this.walletContext(), batch, {
          beforeSubmit: tx => this.index.addPending(tx.hash(), batch),
          onReject: tx => this.index.removePending(tx.hash())
        }));
      }
      return txs;
    } finally {
      for (const id of ids)
        this.committing.delete(id);
    }
  }

  /** A contract as the index has it, with our channel state if we host it and its money figures. */
  async getContract(id: Buffer): Promise<ContractInfo | null> {
    const info = await this.index.getContract(id);
    return info ? this.withChannel(info) : null;
  }

  async getState(id: Buffer): Promise<common.ContractStateName | null> {
    return this.index.getState(id);
  }

  async listContracts(state?: common.ContractStateName): Promise<ContractInfo[]> {
    const out: ContractInfo[] = [];
    for (const info of await this.index.listContracts(state))
      out.push(await this.withChannel(info));
    return out;
  }

  /**
   * Attach the stored channel state, when the node closes with it on its
   * own, and the money figures (ContractMoney).
   */
  private async withChannel(info: ContractInfo): Promise<ContractInfo> {
    const contract = info.contract;
    const stored = await this.channels.latestState(contract.hash());
    if (stored) {
      info.channel = {
        ...stored.getJSON(),
        closeAt: autoCloseHeight(contract, stored.final, this.params)
      };
    }
    const revisions = await this.revisionsOf(contract);
    const settled = info.spend !== null && info.spend.type === 'settled';
    info.money = {
      earned: revisions.length ? earnedAt(accrualTerms(contract), revisions, this.api.chain.height) : null,
      signed: stored ? stored.state.paid : null,
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
    const me = (await this.identity()).publicKey;
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
    const height = this.api.chain.height;
    const contracts: ContractEarnings[] = [];
    for (const info of infos) {
      const stored = await this.channels.latestState(info.contract.hash());
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

  /** Our role in a contract, or null if we are not a party. */
  async roleOf(contract: StorageContract): Promise<'renter' | 'host' | null> {
    const me = (await this.identity()).publicKey;
    if (contract.renterKey.equals(me))
      return 'renter';
    if (contract.hostKey.equals(me))
      return 'host';
    return null;
  }

  /**
   * Recover a contract's escrow through the CLTV branch (renter only): the
   * escrow of its resolved commit, else of one of our void records (a
   * commit that confirmed after offer expiry). One unspent escrow per
   * call; when every escrow is spent and one by a refund of ours waiting
   * in the mempool (the node refunds on its own), that refund.
   */
  async refund(id: Buffer): Promise<bcoin.TX> {
    const escrows = await this.index.getEscrows(id);
    if (escrows.length === 0) {
      enforce(await this.index.getContract(id) !== null, 'unknown-contract');
      // [REJECT] a void record whose commit never confirmed: nothing to refund
      throw new ContractError('no-escrow', 'no commitment of this contract is on chain');
    }
    // [REJECT] the CLTV branch is the renter's alone
    enforce(await this.getEscrowRing(escrows[0].record.contract.renterEscrowKey) !== null, 'not-renter',
      'the wallet does not hold the renter escrow key');
    const open = escrows.find(e => this.isOpen(e));
    if (open)
      return this.refundEscrow(open);
    for (const e of escrows) {
      if (e.leaf.spendType !== spendTypes.NONE)
        continue;
      const hash = e.commit.txid.toString('hex');
      const index = e.commit.vout0 + e.record.leaf;
      const tx = this.api.mempool.getSpentTX(hash, index);
      // Only the renter escrow key signs a refund: one in the mempool is ours.
      const input = tx ? tx.inputs.find(i => i.prevout.hash === hash && i.prevout.index === index) : undefined;
      if (tx && input && classifySpend(input.witness) === 'refunded')
        return tx;
    }
    // [REJECT] every escrow of the contract already spent (or being spent): say by what
    const spent = escrows.find(e => e.leaf.spendType !== spendTypes.NONE);
    if (spent) {
      const how = spent.leaf.spendType === spendTypes.SETTLED ? 'closed by the host' : 'refunded';
      throw new ContractError('escrow-spent', `the escrow was already ${how} in ${revHex(spent.leaf.spendTxid)} `
        + `at height ${spent.leaf.spendHeight}`);
    }
    throw new ContractError('escrow-spent', 'the escrow is being spent by a transaction in the mempool');
  }

  /** Unspent on chain and not spent by a mempool tx. */
  private isOpen(e: EscrowInfo): boolean {
    return e.leaf.spendType === spendTypes.NONE
      && !this.api.mempool.isSpent(e.commit.txid.toString('hex'), e.commit.vout0 + e.record.leaf);
  }

  /** Refund one escrow to our wallet (renter only); throws ContractError. */
  async refundEscrow(e: EscrowInfo): Promise<bcoin.TX> {
    return builders.refundContract(this.walletContext(), e.record.contract, escrowCoin(e));
  }

  /**
   * Open escrows (unspent on chain and in the mempool) of the contracts we
   * are the renter of: resolved ones, and our void records' whose commit
   * confirmed.
   */
  async openRenterEscrows(): Promise<EscrowInfo[]> {
    const me = (await this.identity()).publicKey;
    const q = this.index.queries;
    const ids = (await q.getIdentityContracts(me))
      .filter(c => c.role === common.roles.RENTER).map(c => c.id);
    ids.push(...await q.getVoidIds());
    const out: EscrowInfo[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      for (const e of await this.index.getEscrows(id)) {
        const key = e.commit.outpointKey(e.record.leaf);
        if (seen.has(key) || !this.isOpen(e) || !e.record.contract.renterKey.equals(me))
          continue;
        seen.add(key);
        out.push(e);
      }
    }
    return out;
  }

  /*
   * Channel (host side)
   */

  /**
   * A contract's escrow from the index (its resolved commit's), and
   * whether it is spent on chain or by a mempool tx; null if not resolved.
   */
  async escrowOf(id: Buffer): Promise<EscrowLookup | null> {
    const record = await this.index.getRecord(id);
    if (!record)
      return null;
    const e = (await this.index.getEscrows(id)).find(x => x.record.txid.equals(record.txid) && x.record.leaf === record.leaf);
    if (!e)
      return null;
    return { coin: escrowCoin(e), spent: !this.isOpen(e) };
  }

  /**
   * Store a channel state the renter of a contract we host signed, once it
   * verifies (channelstore.ts), fsynced before this resolves: the payment
   * flow acknowledges it only then. `final` marks the renter's last state
   * (the node then closes at end height); `prepaid` the cumulative sat of
   * it that prepays downloads. Throws ContractError: `not-host`
   * and ChannelStore#acceptState's codes.
   */
  async acceptState(contract: StorageContract, state: ChannelState,
    options: { final?: boolean; prepaid?: number; missed?: readonly number[] } = {})
    : Promise<AcceptResult> {
    // [REJECT] a contract we are not the host of: only its host can close with a state
    enforce(contract.hostKey.equals((await this.identity()).publicKey), 'not-host');
    return this.channels.acceptState(contract, state, options);
  }

  /** The latest channel state stored for a contract, or null. */
  latestState(id: Buffer): Promise<StoredState | null> {
    return this.channels.latestState(id);
  }

  /** Fee rate for a close (sat/kvB): estimatesmartfee for the blocks left before its deadline, at least 1 sat/vB. */
  closeFeeRate(contract: StorageContract): number {
    const left = closeDeadline(contract, this.params) - 1 - this.api.chain.height;
    const target = Math.max(1, Math.min(MAX_FEE_TARGET, left));
    const fees = this.api.node.fees;
    const estimate = fees ? fees.estimateFee(target, true) : 0;
    return Math.max(estimate, this.network.minRelay, 1000);
  }

  /**
   * Close a contract we host with its latest channel state, now: the
   * renter's remainder, our payout less the fee (closeFeeRate), submitted
   * through the wallet. Throws ContractError: `unknown-contract`,
   * `not-host`, `no-channel-state` (nothing to close with: the renter's
   * refund takes the escrow back), `escrow-spent`, `close-uneconomic`,
   * `close-needs-funding`.
   */
  async closeContract(id: Buffer): Promise<CloseResult> {
    const record = await this.index.getRecord(id);
    enforce(record !== null, 'unknown-contract');
    const contract = record.contract;
    enforce(contract.hostKey.equals((await this.identity()).publicKey), 'not-host');
    const ring = await this.getEscrowRing(contract.hostEscrowKey);
    enforce(ring !== null, 'not-host', 'the wallet does not hold the host escrow key');
    const stored = await this.channels.latestState(id);
    enforce(stored !== null, 'no-channel-state',
      'the renter never sent a channel state: its refund after the refund height takes the escrow back');
    const escrow = await this.escrowOf(id);
    enforce(escrow !== null, 'unknown-contract');
    // [REJECT] closed or refunded already, or a spend waits in the mempool
    enforce(!escrow.spent, 'escrow-spent');
    const rate = this.closeFeeRate(contract);
    const { tx, amounts } = await builders.closeContract(this.walletContext(), contract, escrow.coin,
      stored.state, ring, rate);
    return { tx, amounts, state: stored, rate };
  }

  /** Rate the other party of a contract we are in. */
  async rate(id: Buffer, score: number, options: RatingOptions = {}): Promise<bcoin.TX> {
    const record = await this.index.getRecord(id);
    enforce(record !== null, 'unknown-contract');
    const ce = await this.index.getCommit(record.txid);
    enforce(ce !== null, 'unknown-contract');
    const role = await this.roleOf(record.contract);
    enforce(role !== null, 'contract-not-party');
    const payload = new RatingPayload({
      id,
      role: role === 'renter' ? common.roles.RENTER : common.roles.HOST,
      score,
      passed: options.passed ?? 0,
      failed: options.failed ?? 0,
      flags: options.flags ?? 0,
      commitHeight: ce.height,
      commitIndex: ce.txIndex,
      leafIndex: record.leaf
    });
    return builders.sendRating(this.walletContext(), await this.identity(), payload);
  }

  /** Effective ratings an identity received and gave. */
  async getRatings(identityKey: Buffer): ReturnType<ContractIndex['getIdentityRatings']> {
    return this.index.getIdentityRatings(identityKey);
  }
}
