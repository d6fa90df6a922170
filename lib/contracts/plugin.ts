/*!
 * plugin.ts - the `contracts` cloudcoind extension.
 *
 * Wires the contract index to the chain (hooks), to peers (recordrelay.ts:
 * csgetctr / csgetcmt / csctr, relayed only once a commit confirms or a
 * rating cites a record) and to the wallet (commitments, closes, refunds,
 * ratings). Holds the host's channel states (channelstore.ts) and, at
 * every block, closes the contracts we host that are due (closer.ts) and
 * refunds the escrows we funded that a host never closed (refunder.ts).
 * Its public methods are the programmatic API deals use:
 * `api.require<ContractsPlugin>('contracts')`; what they show of a
 * contract comes from contractviews.ts, refunds and closes from
 * escrowspender.ts.
 */

import bcoin = require('../bcoin');
import type { Identity } from '../base/identity';
import type { Extension, NodeAPI } from '../base/extension';
import * as builders from './builders';
import type { ChannelState } from './channel';
import { ChannelStore, type AcceptResult, type EscrowLookup, type StoredState } from './channelstore';
import { Closer } from './closer';
import * as common from './common';
import { enforce } from './errors';
import { createEscrowKey, ensureEscrowAccount, getEscrowRing } from './escrowkeys';
import { ContractIndex } from './contractindex';
import type { ContractInfo, EscrowInfo } from './contractqueries';
import { ContractViews, type ContractDetailSource, type EarningsReport, type RevisionSource, type SignedSource } from './contractviews';
import type { RevisionPoint } from '../deals/accrual';
import { EscrowSpender, type CloseResult } from './escrowspender';
import { Refunder } from './refunder';
import { RatingPayload } from './payload';
import { RecordRelay } from './recordrelay';
import { Resubmitter } from './resubmitter';
import type { ContractRecord } from './records';
import {
  StorageContract, StorageContractOptions, verifyContract, VerifyContractOptions
} from './storagecontract';

/** Optional fields of a rating besides the score. */
export interface RatingOptions {
  passed?: number;
  failed?: number;
  flags?: number;
}

/** The contracts extension instance. */
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
  /** Contract records to and from CloudStorage peers. */
  private readonly relay: RecordRelay;
  /** Contracts with channel state, money figures and other extensions' details. */
  private readonly views: ContractViews;
  /** Refunds and closes of our escrows. */
  private readonly spender: EscrowSpender;
  private opened = false;
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
    this.relay = new RecordRelay({ api, index: this.index, isOpen: () => this.opened });
    this.views = new ContractViews({
      params: this.params,
      chain: api.chain,
      index: this.index,
      channels: this.channels,
      identity: () => this.identity()
    });
    this.spender = new EscrowSpender({
      api,
      params: this.params,
      index: this.index,
      channels: this.channels,
      identity: () => this.identity(),
      getEscrowRing: (publicKey) => this.getEscrowRing(publicKey),
      walletContext: () => this.walletContext()
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
      this.relay.handleBlock(entry.height);
    });
    api.pool.on('peer open', (peer: bcoin.Peer) => {
      this.relay.handlePeerOpen(peer);
      void this.resubmitter.handlePeerOpen(peer);
    });
    api.onDisconnect(async (entry) => {
      if (this.opened)
        await this.index.handleDisconnect(entry);
    });
    api.addPacket(common.packetCmds.GETCONTRACT, (peer, payload) => this.relay.handleGetContract(peer, payload));
    api.addPacket(common.packetCmds.GETCOMMIT, (peer, payload) => this.relay.handleGetCommit(peer, payload));
    api.addPacket(common.packetCmds.CONTRACT, (peer, payload) => this.relay.handleContract(peer, payload));
  }

  async open(): Promise<void> {
    // Identity first, then escrow: BIP44 account indexes follow creation
    // order, and a wallet restored from the seed must get the same ones.
    await this.identity();
    await ensureEscrowAccount(this.api.wallet().wdb.primary);
    this.index.on('resolve', (record: ContractRecord) => {
      this.relay.relay(record);
      this.learnEscrowKey(record).catch((e: unknown) =>
        this.api.logger.warning('Escrow key of %s: %s', record.contract.id(), (e as Error).message));
    });
    this.index.on('rated', (record: ContractRecord) => this.relay.relay(record));
    this.index.on('missing', (id: Buffer) => this.relay.request(id));
    this.index.on('missing commit', (txid: Buffer) => this.relay.requestCommit(txid));
    this.index.on('bad orphan', (peer: number, code: string) => this.relay.punish(peer, code));
    this.index.on('error', () => { /* logged by the index; marked dirty */ });
    await this.channels.open();
    await this.index.open();
    await this.voidUnbroadcast();
    await this.resubmitter.open();
    this.opened = true;
    // What fell due while the node was down: nothing waits for the next block.
    await this.closer.handleBlock(this.api.chain.height);
    await this.refunder.handleBlock(this.api.chain.height);
  }

  /**
   * A commitment goes to the wallet before the mempool
   * (builders.submitWalletFirst), and the mempool does not survive a
   * restart: an own pending commitment that neither the wallet, the
   * mempool nor the index holds was cut by a kill after we recorded it,
   * and exists nowhere. Its records are voided (no longer ours), so no
   * put reuses its contracts as pending, and the renter's book forgets
   * them at offer expiry instead of keeping files in a dead contract.
   */
  private async voidUnbroadcast(): Promise<void> {
    const wallet = this.api.wallet().wdb.primary;
    for (const txid of await this.index.ownPending()) {
      const hash = txid.toString('hex');
      if (this.api.mempool.hasEntry(hash) || await wallet.getTX(hash) || await this.index.getCommit(txid))
        continue;
      const voided = await this.index.voidUnbroadcast(txid, 'commit-not-broadcast');
      if (voided.length > 0)
        this.api.logger.warning('Commitment %s of %d contract(s) (%s) was never broadcast (a restart cut it before the wallet '
          + 'had it): its contracts are void', Buffer.from(txid).reverse().toString('hex'), voided.length,
          voided.map(r => r.contract.id()).join(', '));
    }
  }

  async close(): Promise<void> {
    this.opened = false;
    await this.resubmitter.close();
    await this.index.close();
    await this.channels.close();
  }

  /*
   * P2P (recordrelay.ts)
   */

  /** Ask CloudStorage peers for a contract record (csgetctr). */
  requestRecord(id: Buffer): void {
    this.relay.request(id);
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
  getContract(id: Buffer): Promise<ContractInfo | null> {
    return this.views.getContract(id);
  }

  async getState(id: Buffer): Promise<common.ContractStateName | null> {
    return this.index.getState(id);
  }

  listContracts(state?: common.ContractStateName): Promise<ContractInfo[]> {
    return this.views.listContracts(state);
  }

  /**
   * Extensions that keep contracts' signed revisions (the deals) register
   * here, so earnings and getcontract can apply the shared accrual to them.
   */
  addRevisionSource(source: RevisionSource): void {
    this.views.addRevisionSource(source);
  }

  /** The renter's side registers what its latest channel state pays (getcontract's money.signed on the renter's node). */
  addSignedSource(source: SignedSource): void {
    this.views.addSignedSource(source);
  }

  /** A contract's signed revisions from the first source that has them, else none. */
  revisionsOf(contract: StorageContract): Promise<readonly RevisionPoint[]> {
    return this.views.revisionsOf(contract);
  }

  /**
   * The earnings of the contracts we host (one by id, or every resolved
   * one), itemised (earnings.ts). Throws ContractError `unknown-contract`,
   * `not-host` (an id we do not host).
   */
  earnings(id?: Buffer): Promise<EarningsReport> {
    return this.views.earnings(id);
  }

  /**
   * Extensions that keep a contract's off-chain state (the deals'
   * revisions) register here what getcontract/listcontracts show of it.
   */
  addDetails(source: ContractDetailSource): void {
    this.views.addDetails(source);
  }

  /** What the registered sources know of a contract (merged), or null. */
  details(contract: StorageContract): Promise<Record<string, unknown> | null> {
    return this.views.details(contract);
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

  /*
   * Escrows (escrowspender.ts)
   */

  /**
   * Recover a contract's escrow through the CLTV branch (renter only): the
   * escrow of its resolved commit, else of one of our void records (a
   * commit that confirmed after offer expiry). One unspent escrow per
   * call; when every escrow is spent and one by a refund of ours waiting
   * in the mempool (the node refunds on its own), that refund.
   */
  refund(id: Buffer): Promise<bcoin.TX> {
    return this.spender.refund(id);
  }

  /** Refund one escrow to our wallet (renter only); throws ContractError. */
  refundEscrow(e: EscrowInfo): Promise<bcoin.TX> {
    return this.spender.refundEscrow(e);
  }

  /**
   * Open escrows (unspent on chain and in the mempool) of the contracts we
   * are the renter of: resolved ones, and our void records' whose commit
   * confirmed.
   */
  openRenterEscrows(): Promise<EscrowInfo[]> {
    return this.spender.openRenterEscrows();
  }

  /**
   * A contract's escrow from the index (its resolved commit's), and
   * whether it is spent on chain or by a mempool tx; null if not resolved.
   */
  escrowOf(id: Buffer): Promise<EscrowLookup | null> {
    return this.spender.escrowOf(id);
  }

  /*
   * Channel (host side)
   */

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
    return this.spender.closeFeeRate(contract);
  }

  /**
   * Close a contract we host with its latest channel state, now: the
   * renter's remainder, our payout less the fee (closeFeeRate), submitted
   * through the wallet. Throws ContractError: `unknown-contract`,
   * `not-host`, `no-channel-state` (nothing to close with: the renter's
   * refund takes the escrow back), `escrow-spent`, `close-uneconomic`,
   * `close-needs-funding`.
   */
  closeContract(id: Buffer): Promise<CloseResult> {
    return this.spender.closeContract(id);
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
