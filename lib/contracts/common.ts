/*!
 * common.ts - constants and per-network parameters for storage contracts.
 *
 * Every byte layout constant here is normative (docs/PROTOCOL.md section 3).
 * Protocol periods live on a per-network table, as hsd keeps them on its
 * network objects; regtest uses tiny periods so tests run in seconds.
 */

import type bcoin from 'bcoin';

/** Contract encoding version (the only one defined). */
export const CONTRACT_VERSION = 0;

/** Unsigned contract encoding: fixed size, see StorageContract#writeUnsigned. */
export const CONTRACT_UNSIGNED_SIZE = 263;

/** Signed contract encoding: unsigned part plus two 64-byte signatures. */
export const CONTRACT_SIZE = CONTRACT_UNSIGNED_SIZE + 64 + 64;

/** OP_RETURN header "CC". */
export const MAGIC = Buffer.from('4343', 'hex');

/** OP_RETURN payload version (u8). */
export const PAYLOAD_VERSION = 0;

/** OP_RETURN payload types (u8). */
export const payloadTypes = {
  COMMIT: 1,
  RATE: 2
} as const;

/** Commit payload: header(2) version(1) type(1) n(1) vout0(1) root(32). */
export const COMMIT_SIZE = 38;

/** Rating payload size (DESIGN 5): header .. leaf index. */
export const RATING_SIZE = 50;

/** Max contracts per commitment tx: keeps the batch tree at depth 4. */
export const MAX_BATCH = 16;

/** Depth of a full 16-leaf batch tree: bounds inclusion branches. */
export const MAX_BRANCH = 4;

/** Standard OP_RETURN limit (bcoin policy.MAX_OP_RETURN). */
export const MAX_OP_RETURN = 80;

export { MAX_MONEY, NODE_CLOUDSTORAGE } from '../base/consts';

/** Holdback is in basis points of each payment. */
export const MAX_HOLDBACK_BPS = 10000;

/** Rating score range (i8). */
export const MIN_SCORE = -100;
export const MAX_SCORE = 100;

/** Rating roles: who rates whom. */
export const roles = {
  RENTER: 0, // the renter rates the host
  HOST: 1 // the host rates the renter
} as const;

export const rolesByVal: Record<number, string> = {
  0: 'renter',
  1: 'host'
};

/** Rating flag bits. */
export const ratingFlags = {
  FINAL: 1 << 0,
  RETRIEVAL_FAILED: 1 << 1,
  NON_PAYMENT: 1 << 2,
  EARLY_EXIT: 1 << 3
} as const;

/** Only these bits are defined; others make a rating invalid. */
export const RATING_FLAGS_MASK = 0x0f;

/** Contract states, derived from heights and escrow spends. */
export const states = {
  /**
   * A record waiting for its commitment to confirm: one we broadcast, or
   * one whose commit a reorg disconnected (its tx is back in the mempool).
   */
  PENDING: 'pending',
  COMMITTED: 'committed',
  ACTIVE: 'active',
  EXPIRED: 'expired',
  SETTLED: 'settled',
  REFUNDED: 'refunded',
  /** One of our own records that can never resolve (kept for the refund). */
  VOID: 'void'
} as const;

export type ContractStateName = typeof states[keyof typeof states];

export const stateNames: readonly ContractStateName[] = Object.values(states);


/** P2P commands (start with `cs`, at most 11 chars). */
export const packetCmds = {
  GETCONTRACT: 'csgetctr',
  GETCOMMIT: 'csgetcmt',
  CONTRACT: 'csctr'
} as const;

/**
 * Commitments with a leaf we hold no record for, asked of one peer at a
 * time (csgetcmt): bounds the requests a sync or a new peer triggers.
 */
export const MAX_COMMIT_REQUESTS = 1000;

/**
 * Unused escrow keys searched past the escrow account's depth for a key
 * of ours the wallet has not derived (after a restore from the seed every
 * escrow key is beyond it: escrows pay P2WSH scripts, never the key's own
 * address). Offers that never commit leave gaps.
 */
export const ESCROW_KEY_GAP = 1000;

/** Records kept in memory while their commit is not yet known. */
export const MAX_ORPHAN_RECORDS = 256;

/**
 * Orphan records kept per sending peer: two full batches; a peer sends
 * orphans only for commits in a block we have not connected yet.
 */
export const MAX_ORPHANS_PER_PEER = 32;

/**
 * Ban score for an orphan record whose commit never confirms in time
 * (the tip passed its expiryHeight + W): peers relay only confirmed ones.
 */
export const ORPHAN_EXPIRED_SCORE = 5;

/** Ban score for a record that fails validation against its commit. */
export const BAD_RECORD_SCORE = 20;

/** Ban score for an undecodable packet. */
export const MALFORMED_SCORE = 10;

/** Per-network protocol parameters. */
export interface ContractParams {
  /** W: blocks the host has to close before the renter may refund. */
  window: number;
  /** Max refundHeight - startHeight; renew for longer. */
  maxSpan: number;
  /** Absolute minimum escrow value in sat. */
  minEscrow: number;
  /** Multiplier on the close fee for the minimum escrow (DESIGN 5). */
  closeFeeMultiple: number;
  /** Estimated vsize of a cooperative close (notes: 270 vB). */
  closeSize: number;
  /** Depth at which a commit makes a contract active. */
  activationDepth: number;
  /** First height the index scans (nothing CloudCoin exists before it). */
  startHeight: number;
  /** Default fee rate for our transactions, sat/kvB (>= minRelay). */
  feeRate: number;
  /** Amount moved to the identity address to pay for ratings. */
  ratingFund: number;
  /**
   * Blocks between two announcements of one of our unconfirmed txs to
   * peers (resubmitter.ts); any reorg announces again at once.
   */
  rebroadcastInterval: number;
}

const main: ContractParams = {
  window: 144,
  maxSpan: 4320,
  minEscrow: 10000,
  closeFeeMultiple: 20,
  closeSize: 270,
  activationDepth: 3,
  startHeight: 920000,
  feeRate: 10000,
  ratingFund: 20000,
  rebroadcastInterval: 6
};

/** Regtest (and simnet): tiny windows, instant activation. */
const regtest: ContractParams = {
  window: 12,
  // Same cap as main: the CLI's example durations must work on regtest.
  maxSpan: 4320,
  minEscrow: 10000,
  closeFeeMultiple: 20,
  closeSize: 270,
  activationDepth: 1,
  startHeight: 0,
  feeRate: 2000,
  ratingFund: 20000,
  rebroadcastInterval: 1
};

const params: Record<string, ContractParams> = {
  main,
  testnet: { ...main, startHeight: 4700000, feeRate: 2000 },
  regtest,
  simnet: { ...regtest }
};

/** Parameters for a network (by object or name). */
export function getParams(network: bcoin.Network | string): ContractParams {
  const type = typeof network === 'string' ? network : network.type;
  const p = params[type];
  if (!p)
    throw new Error(`No contract parameters for network ${type}.`);
  return p;
}

/** Minimum escrow: max(closeFeeMultiple x close fee at min relay, minEscrow). */
export function minEscrowValue(network: bcoin.Network): number {
  const p = getParams(network);
  const closeFee = Math.ceil(p.closeSize * network.minRelay / 1000);
  return Math.max(p.closeFeeMultiple * closeFee, p.minEscrow);
}
