/*!
 * contractqueries.ts - read queries over the contract index database.
 *
 * Everything here only reads: what a contract's state is at the index tip,
 * its commit and escrow spend, which ratings count, what an identity is
 * party to. Which rating counts is decided here, at query time, against
 * the record: the latest rating for (id, role) whose input 0 was signed by
 * that role's identity key and whose locator points at the contract's
 * commit.
 */

import bcoin = require('../bcoin');
import type bdb = require('../bdb');
import * as common from './common';
import { layout } from './layout';
import { decodeRating, RatingPayload } from './payload';
import { CommitEntry, ContractRecord, LeafEntry, RatingEntry, VoidRecord, spendTypes } from './records';
import { closeDeadline } from './schedule';
import type { StorageContract } from './storagecontract';

/** An effective rating, as returned by queries. */
export interface RatingInfo {
  id: string;
  role: string;
  score: number;
  passed: number;
  failed: number;
  flags: number;
  /** Rater's identity key (33-byte hex). */
  rater: string;
  txid: string;
  height: number;
}

/** A contract as returned by queries. */
export interface ContractInfo {
  id: string;
  state: common.ContractStateName;
  contract: StorageContract;
  /** Null only for a void record whose commit is not on chain. */
  commit: {
    txid: string;
    height: number;
    block: string;
    txIndex: number;
    leaf: number;
    vout: number;
    count: number;
  } | null;
  /**
   * How the escrow was spent, and what the spend moved (sat): `returned`
   * to the renter, `paid` to the host (before the fee), the tx's `fee`.
   */
  spend: {
    type: 'settled' | 'refunded';
    txid: string;
    height: number;
    returned: number;
    paid: number;
    fee: number;
  } | null;
  /** The host's close must be broadcast below this height (schedule.ts). */
  closeDeadline: number;
  ratings: { renter: RatingInfo | null; host: RatingInfo | null };
  /** Why the record is void (state `void`), else null. */
  void: string | null;
  /** The commitment a `pending` record waits for (display txid, batch leaf), else null. */
  pending: { txid: string; leaf: number } | null;
  /**
   * The host's latest channel state (number, paid, final, height it came
   * at, closeAt: the height the node closes with it on its own); only on
   * the host's node, set by the plugin.
   */
  channel?: Record<string, unknown>;
  /** Money figures (sat), set by the plugin. */
  money?: ContractMoney;
}

/** What a contract earned, paid out and returned so far (sat), as getcontract shows it. */
export interface ContractMoney {
  /**
   * E(tip): what the signed revisions accrued by the tip (storage and
   * uploads, lib/deals/accrual.ts earnedAt); null when no revisions are
   * stored here.
   */
  earned: number | null;
  /**
   * Cumulative sat the latest channel state pays: the one the host stored
   * on the host's node, the renter's latest signed one on the renter's;
   * null on other nodes or before any state.
   */
  signed: number | null;
  /** Sat the close paid the host (before its fee); 0 while open or when refunded. */
  paidOut: number;
  /** The close's txid, null unless settled. */
  closeTxid: string | null;
  /** Sat the spend returned to the renter (a settle's remainder, a refund's value less its fee). */
  returned: number;
  /** Sat of fee the spend paid. */
  fees: number;
  /** The host's close must be broadcast below this height. */
  closeDeadline: number;
}

/** An escrow output on chain that funds a contract. */
export interface EscrowInfo {
  record: ContractRecord;
  commit: CommitEntry;
  leaf: LeafEntry;
}

/** The escrow output as a coin a spend can sign (version, height, value, script, outpoint). */
export function escrowCoin(e: EscrowInfo): bcoin.Coin {
  const coin = new bcoin.Coin();
  coin.version = 2;
  coin.height = e.commit.height;
  coin.value = e.leaf.value;
  coin.script = e.record.contract.escrowOutputScript();
  coin.hash = e.commit.txid.toString('hex');
  coin.index = e.commit.vout0 + e.record.leaf;
  return coin;
}

/** Display (reversed) hex of an internal-order hash. */
export function revHex(hash: Buffer): string {
  return Buffer.from(hash).reverse().toString('hex');
}

/** ContractInfo.commit for leaf `leaf` of a commitment. */
function commitInfo(ce: CommitEntry, leaf: number): NonNullable<ContractInfo['commit']> {
  return {
    txid: revHex(ce.txid),
    height: ce.height,
    block: revHex(ce.block),
    txIndex: ce.txIndex,
    leaf,
    vout: ce.vout0 + leaf,
    count: ce.count
  };
}

/** ContractInfo.spend of an escrow leaf, null while unspent. */
function spendInfo(leaf: LeafEntry): ContractInfo['spend'] {
  if (leaf.spendType === spendTypes.NONE)
    return null;
  return {
    type: leaf.spendType === spendTypes.SETTLED ? 'settled' : 'refunded',
    txid: revHex(leaf.spendTxid),
    height: leaf.spendHeight,
    returned: leaf.returned,
    paid: leaf.paid,
    fee: leaf.fee
  };
}

/** State of a resolved contract at index height `tip`. */
export function contractState(entry: CommitEntry, leaf: LeafEntry, contract: StorageContract,
  tip: number, params: common.ContractParams): common.ContractStateName {
  if (leaf.spendType === spendTypes.SETTLED)
    return common.states.SETTLED;
  if (leaf.spendType === spendTypes.REFUNDED)
    return common.states.REFUNDED;
  if (tip - entry.height + 1 < params.activationDepth)
    return common.states.COMMITTED;
  if (tip >= contract.endHeight)
    return common.states.EXPIRED;
  return common.states.ACTIVE;
}

/** The effective rating among `entries` (oldest first) for `role`, or null. */
function effectiveRating(record: ContractRecord, ce: CommitEntry, role: number,
  entries: RatingEntry[]): RatingInfo | null {
  const contract = record.contract;
  const expected = role === common.roles.RENTER ? contract.renterKey : contract.hostKey;
  // Latest first: a later valid rating replaces an earlier one.
  for (const re of [...entries].reverse()) {
    // [IGNORE] input 0 not signed by the role's identity key
    if (!re.raterKey.equals(expected))
      continue;
    // [IGNORE] rating before (or in place of) its commit
    if (re.height < ce.height || (re.height === ce.height && re.txIndex <= ce.txIndex))
      continue;
    let p: RatingPayload;
    try {
      p = decodeRating(re.payload);
    } catch {
      continue;
    }
    // [IGNORE] commit locator does not point at this contract's commit
    if (p.commitHeight !== ce.height || p.commitIndex !== ce.txIndex || p.leafIndex !== record.leaf)
      continue;
    return {
      id: contract.hash().toString('hex'),
      role: common.rolesByVal[role],
      score: p.score,
      passed: p.passed,
      failed: p.failed,
      flags: p.flags,
      rater: re.raterKey.toString('hex'),
      txid: revHex(re.txid),
      height: re.height
    };
  }
  return null;
}

/** Read queries over a contract index database at a moving tip. */
export class ContractQueries {
  /**
   * @param db the index database (layout.ts)
   * @param params the network's contract parameters
   * @param tipHeight the index height states are computed at
   */
  constructor(private readonly db: bdb.DB, private readonly params: common.ContractParams,
    private readonly tipHeight: () => number) {}

  async getCommit(txid: Buffer): Promise<CommitEntry | null> {
    const raw = await this.db.get(layout.t(txid));
    return raw ? new CommitEntry().decode(raw) : null;
  }

  async getRecord(id: Buffer): Promise<ContractRecord | null> {
    const raw = await this.db.get(layout.c(id));
    return raw ? new ContractRecord().decode(raw) : null;
  }

  /** Ids of every resolved contract. */
  async getIds(): Promise<Buffer[]> {
    return this.db.keys({
      ...layout.range.c(),
      parse: (key: Buffer) => key.subarray(1)
    });
  }

  /** Records waiting for their commit (ours, and those a reorg unresolved). */
  async getPending(): Promise<ContractRecord[]> {
    return this.db.values({
      ...layout.range.qAll(),
      parse: (value: Buffer) => new ContractRecord().decode(value)
    });
  }

  /**
   * Whether a contract is committed, pending or ours already: committing
   * it again would fund a second escrow.
   */
  async hasCommitment(id: Buffer): Promise<boolean> {
    if (await this.db.has(layout.c(id)) || await this.db.has(layout.o(id)))
      return true;
    return (await this.getPending()).some(r => r.contract.hash().equals(id));
  }

  /** The effective rating for (id, role), or null. */
  async getRating(record: ContractRecord, ce: CommitEntry, role: number): Promise<RatingInfo | null> {
    const entries = await this.db.values({
      ...layout.range.r(record.contract.hash(), role),
      parse: (value: Buffer) => new RatingEntry().decode(value)
    });
    return effectiveRating(record, ce, role, entries);
  }

  /** Our void records of a contract (usually none or one). */
  async getVoids(id: Buffer): Promise<VoidRecord[]> {
    return this.db.values({
      ...layout.range.v(id),
      parse: (value: Buffer) => new VoidRecord().decode(value)
    });
  }

  /** Ids of our void records that are not resolved elsewhere. */
  async getVoidIds(): Promise<Buffer[]> {
    const keys = await this.db.keys({
      ...layout.range.vAll(),
      parse: (key: Buffer) => key.subarray(1, 33)
    });
    const out: Buffer[] = [];
    const seen = new Set<string>();
    for (const id of keys) {
      const hex = id.toString('hex');
      if (seen.has(hex) || await this.db.has(layout.c(id)))
        continue;
      seen.add(hex);
      out.push(id);
    }
    return out;
  }

  /**
   * Escrow outputs on chain that fund a contract: the resolved commit's,
   * then those of our void records whose commit is indexed.
   */
  async getEscrows(id: Buffer): Promise<EscrowInfo[]> {
    const records: ContractRecord[] = [];
    const record = await this.getRecord(id);
    if (record)
      records.push(record);
    for (const v of await this.getVoids(id))
      records.push(v.record);
    const out: EscrowInfo[] = [];
    const seen = new Set<string>();
    for (const r of records) {
      const outpoint = `${r.txid.toString('hex')}:${r.leaf}`;
      if (seen.has(outpoint))
        continue;
      seen.add(outpoint);
      const ce = await this.getCommit(r.txid);
      const leaf = ce ? ce.leaves[r.leaf] : undefined;
      // Only an output that is this contract's escrow script and value.
      if (!ce || !leaf || leaf.value !== r.contract.escrowValue
        || !leaf.scriptHash.equals(r.contract.escrowScript().sha256()))
        continue;
      out.push({ record: r, commit: ce, leaf });
    }
    return out;
  }

  /** Query form of a void record: state `void`, commit and spend if on chain. */
  private async getVoidInfo(id: Buffer, v: VoidRecord): Promise<ContractInfo> {
    const record = v.record;
    const ce = await this.getCommit(record.txid);
    const leaf = ce ? ce.leaves[record.leaf] : undefined;
    return {
      id: id.toString('hex'),
      state: common.states.VOID,
      contract: record.contract,
      commit: ce && leaf ? commitInfo(ce, record.leaf) : null,
      spend: leaf ? spendInfo(leaf) : null,
      closeDeadline: closeDeadline(record.contract, this.params),
      ratings: { renter: null, host: null },
      void: v.code,
      pending: null
    };
  }

  /** Query form of a record waiting for its commitment: state `pending`. */
  private pendingInfo(id: Buffer, record: ContractRecord): ContractInfo {
    return {
      id: id.toString('hex'),
      state: common.states.PENDING,
      contract: record.contract,
      commit: null,
      spend: null,
      closeDeadline: closeDeadline(record.contract, this.params),
      ratings: { renter: null, host: null },
      void: null,
      pending: { txid: revHex(record.txid), leaf: record.leaf }
    };
  }

  /** Pending records of a contract (usually none or one). */
  async getPendingOf(id: Buffer): Promise<ContractRecord[]> {
    return (await this.getPending()).filter(r => r.contract.hash().equals(id));
  }

  /**
   * Everything known about a contract: its resolved record, else our void
   * record, else a pending record; null if none is stored.
   */
  async getContract(id: Buffer): Promise<ContractInfo | null> {
    // These are several reads, not one snapshot: a block's batch that
    // moves the record between the pending and the resolved keys (its
    // commitment confirmed, or unconfirmed by a reorg) between two of them
    // reads as no contract at all. Read again: the batch has landed then.
    return await this.readContract(id) ?? await this.readContract(id);
  }

  private async readContract(id: Buffer): Promise<ContractInfo | null> {
    const record = await this.getRecord(id);
    if (!record) {
      const voids = await this.getVoids(id);
      if (voids.length > 0)
        return this.getVoidInfo(id, voids[0]);
      const pending = await this.getPendingOf(id);
      return pending.length > 0 ? this.pendingInfo(id, pending[0]) : null;
    }
    const ce = await this.getCommit(record.txid);
    if (!ce)
      return null;
    const leaf = ce.leaves[record.leaf];
    return {
      id: id.toString('hex'),
      state: contractState(ce, leaf, record.contract, this.tipHeight(), this.params),
      contract: record.contract,
      commit: commitInfo(ce, record.leaf),
      spend: spendInfo(leaf),
      closeDeadline: closeDeadline(record.contract, this.params),
      ratings: {
        renter: await this.getRating(record, ce, common.roles.RENTER),
        host: await this.getRating(record, ce, common.roles.HOST)
      },
      void: null,
      pending: null
    };
  }

  /** State of a contract, or null if unknown. */
  async getState(id: Buffer): Promise<common.ContractStateName | null> {
    const info = await this.getContract(id);
    return info ? info.state : null;
  }

  /**
   * Every resolved contract, then our void ones, then pending ones,
   * optionally only those in `state`.
   */
  async listContracts(state?: common.ContractStateName): Promise<ContractInfo[]> {
    const out: ContractInfo[] = [];
    const seen = new Set<string>();
    const pendingIds = (await this.getPending()).map(r => r.contract.hash());
    for (const id of [...await this.getIds(), ...await this.getVoidIds(), ...pendingIds]) {
      const hex = id.toString('hex');
      if (seen.has(hex))
        continue;
      seen.add(hex);
      const info = await this.getContract(id);
      if (info && (!state || info.state === state))
        out.push(info);
    }
    return out;
  }

  /** Contracts an identity is party to, with its role. */
  async getIdentityContracts(pk: Buffer): Promise<Array<{ id: Buffer; role: number }>> {
    return this.db.range({
      ...layout.range.i(pk),
      parse: (key: Buffer, value: Buffer) => ({ id: key.subarray(34), role: value[0] })
    });
  }

  /** Effective ratings an identity received and gave. */
  async getIdentityRatings(pk: Buffer): Promise<{ received: RatingInfo[]; given: RatingInfo[] }> {
    const received: RatingInfo[] = [];
    const given: RatingInfo[] = [];
    for (const { id, role } of await this.getIdentityContracts(pk)) {
      const record = await this.getRecord(id);
      const ce = record ? await this.getCommit(record.txid) : null;
      if (!record || !ce)
        continue;
      const other = role === common.roles.RENTER ? common.roles.HOST : common.roles.RENTER;
      const got = await this.getRating(record, ce, other);
      if (got)
        received.push(got);
      const mine = await this.getRating(record, ce, role);
      if (mine)
        given.push(mine);
    }
    return { received, given };
  }
}
