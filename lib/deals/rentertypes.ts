/*!
 * rentertypes.ts - the renter client's shapes, errors and constants,
 * shared by its put, get and repair flows (renterput.ts, renterget.ts,
 * renterrepair.ts) and by their callers through renterclient.ts.
 */

import { CodedError } from '../base/errors';
import type { ShardScheme } from '../storage/erasure';
import type { ChunkMap } from '../storage/delta';
import type { FileHealth, OfferInfo, PruneVersionsResult, ReplicaState, ReusableContract } from './rpctypes';
import type { Prices } from './pricing';

/** One RPC call: resolves to the result, rejects with the node's error or a transport error. */
export type RPCCall = (method: string, params: unknown[]) => Promise<unknown>;

/** How long put waits for the commitment to reach depth by default (ms). */
export const WAIT_ACTIVE_MS = 10 * 60 * 1000;
/** How often put polls the file's state while waiting (ms). */
export const POLL_MS = 500;
/** Fee headroom checked before a put: a 16-contract commitment is ~850 vB. */
export const FEE_MARGIN = 10000;

/** Blocks an open contract must have left to take a put of `duration` blocks: half of it (renewal extends it). */
export function reuseMinLeft(duration: number): number {
  return Math.max(1, Math.ceil(duration / 2));
}

/** Codes of the failures a renter client reports. */
export type RenterClientErrorCode = 'empty-file' | 'no-hosts' | 'too-few-hosts' | 'insufficient-funds'
  | 'wallet-locked' | 'put-failed' | 'commit-failed' | 'commit-unclear' | 'contract-void' | 'get-failed' | 'incomplete-put' | 'not-coded' | 'repair-failed'
  | 'put-given-up' | 'put-unclear' | 'file-changed';

/** A put or get failure; the message is one line for people. */
export class RenterClientError extends CodedError<RenterClientErrorCode> {
  constructor(code: RenterClientErrorCode, message: string) {
    super(code, message);
  }
}

/** Progress and warnings, for a caller that shows them. */
export interface RenterEvents {
  warn?(message: string): void;
  /** A put's file is recorded on the node (addfile): until `committed`, an interrupted put may forget it (forgetfile). */
  added?(fileId: string): void;
  /** Uploads start: total bytes over all hosts. */
  uploadStart?(total: number): void;
  uploaded?(bytes: number): void;
  committed?(txids: string[]): void;
  downloadStart?(total: number): void;
  downloaded?(bytes: number): void;
}

export interface PutOptions {
  /** The file to store (any readable path, e.g. /dev/fd/N). */
  file: string;
  /** The name to record (bytes as given). */
  name: Buffer;
  hosts: number;
  /** Fewest replicas (or shards) that make the put a success; fewer and nothing is paid. */
  minHosts: number;
  /**
   * Store K + M Reed-Solomon shards, one per host, instead of `hosts`
   * whole replicas (hosts is then K + M; minHosts at least K).
   */
  shards?: ShardScheme;
  /** Length of new contracts in blocks; a contract is reused while at least half of it is left. */
  duration: number;
  /** Allowance of each new contract (sat); default: pricing.ts defaultAllowance. */
  allowance?: number;
  /**
   * false: form new contracts even where open ones fit (one contract per
   * file per host, as before revisions; bench/revisions.ts measures it).
   */
  reuse?: boolean;
  /** Highest price per host (sat; storage per GiB per 1000 blocks, upload/download per GiB). */
  maxPrice: number;
  /** Lowest reputation score (permille) a new host may have (docs/REPUTATION.md). */
  minScore?: number;
  /** Scratch directory the client may fill (the caller removes it). */
  workDir: string;
  /** Wait until every contract is active. */
  wait: boolean;
  waitMs?: number;
  /**
   * Keep only the newest N versions of the name once this one is in
   * force (older ones deleted from their hosts); 0 keeps all; undefined:
   * the node's --keep-revisions.
   */
  keepRevisions?: number;
}

/**
 * What choosing hosts needs: how many, for how long, at what price and
 * allowance; a put's file name, whose unfinished earlier put it gives up.
 */
export type TargetOptions = Pick<PutOptions, 'hosts' | 'minHosts' | 'duration' | 'maxPrice' | 'allowance' | 'reuse' | 'minScore'>
  & { name?: Buffer };

export interface RepairOptions {
  /** Length of new contracts in blocks (as put). */
  duration: number;
  /** Highest price per host (as put). */
  maxPrice: number;
  /** Allowance of each new contract (sat); default as put. */
  allowance?: number;
  /** Scratch directory the client may fill (the caller removes it). */
  workDir: string;
  /** Wait until new contracts are active. */
  wait: boolean;
  waitMs?: number;
  /** Most sat the new contracts' escrows may lock (automatic repair's budget); more and nothing is done. */
  maxEscrow?: number;
  /** Contracts (hex ids) whose copies count as lost without a download (their audits failed). */
  distrust?: string[];
  /**
   * Contracts (hex ids) whose copies are moved off although they may be
   * good (automatic renewal leaving a host that got worse or pricier): a
   * replica there is still read as the source, then replaced like a lost
   * one; a shard there is rebuilt from the others.
   */
  leave?: string[];
  /**
   * A whole replica's file: the local plaintext to re-upload from, used
   * only when it encrypts to a recorded replica's root (else a surviving
   * replica is downloaded and decrypted).
   */
  source?: string;
}

export interface RepairResult {
  fileId: string;
  /** True for a file of whole replicas (put --hosts N), false for one stored as shards. */
  replicas: boolean;
  /** Shards whose copy verified against its root (a coded file). */
  verified: number[];
  /** Contracts whose copy verified against its root (shards and whole replicas; a delta version's, with every chunk it reads). */
  verifiedContracts: string[];
  /** Shards (or, shard null, the whole replica in `contract`) that had no good copy, with why. */
  lost: Array<{ shard: number | null; contract?: string; reason: string }>;
  /** Each shard rebuilt (or replica re-uploaded: shard null) and where it now lives. */
  repaired: Array<{ shard: number | null; contract: string; host: string; reused: boolean; replaced: string[] }>;
  /** A whole replica's file: where the re-uploaded bytes came from ('local file' or the contract id of a surviving replica). */
  source?: string;
  /** Hosts that failed to take a rebuilt shard. */
  failed: FailedHost[];
  txids: string[];
  /** Sat locked in the escrows of new contracts formed for the repair. */
  escrow: number;
  health: FileHealth;
}

/** One contract of a put, as put reports it. */
export interface PutContract {
  id: string;
  /** The object the file is in this contract. */
  object: number;
  /** True if an open contract took the file by a revision (no transaction). */
  reused: boolean;
  /** The revision that holds the file. */
  revision: number;
  /** Which shard of the file this contract holds (null for a whole replica). */
  shard: number | null;
  /** Identity address of the host. */
  host: string;
  addr: string;
  prices: Prices;
  cost: number;
  escrowValue: number;
  formula: string;
  /** The host's reputation score when a new contract chose it (permille), null for a reused contract. */
  score: number | null;
  state: ReplicaState;
  /** Ciphertext bytes uploaded to this host: the object's size (a delta version's changed chunks only, or the whole file). */
  uploaded: number;
  /** True when the object holds only the changed chunks and the rest are read from earlier objects of this contract. */
  delta: boolean;
}

/**
 * A new version of a name against the newest earlier one (delta uploads,
 * docs/REDUNDANCY.md): what was uploaded and what every replica uploaded
 * whole would have been.
 */
export interface DeltaSummary {
  /** The version compared with, or null when none could be (see `notes`). */
  base: number | null;
  /** Plaintext chunks of the file, and how many are unchanged since `base` (not uploaded to a host holding it). */
  chunks: number;
  unchanged: number;
  /** Ciphertext bytes uploaded over all replicas of this put. */
  uploaded: number;
  /** Ciphertext bytes every replica uploaded whole would have moved. */
  whole: number;
  /** Replicas uploaded as changed chunks only, and whole. */
  deltaReplicas: number;
  wholeReplicas: number;
  /** Why some or all replicas went whole (coded files, hosts without the earlier version, no fingerprints). */
  notes: string[];
}

/** A host that holds no replica after the put, and why. */
export interface FailedHost {
  host: string;
  reason: string;
}

export interface PutResult {
  fileId: string;
  name: string;
  size: number;
  /** Encrypted size (bytes). */
  objectSize: number;
  /** The version of this name it became (0 for a new name). */
  revision: number;
  /** K and M when stored as shards, and the bytes of each shard; null for replicas. */
  shards: (ShardScheme & { shardSize: number }) | null;
  txids: string[];
  contracts: PutContract[];
  failed: FailedHost[];
  /** Hosts the negotiation did not choose, and why (price, capacity, reputation, ranked below the chosen). */
  passed: FailedHost[];
  /** Older versions of the name deleted by --keep-revisions (oldest first). */
  pruned: PruneVersionsResult['pruned'];
  /** For a version after the first: what the delta upload moved; null for a first version. */
  delta: DeltaSummary | null;
}

export interface GetResult {
  fileId: string;
  /** The decrypted file, inside workDir: the caller moves it into place. */
  path: string;
  size: number;
  /** The contract and host it came from (for shards: those of the first shard used). */
  contract: string;
  host: string;
  /** For a file stored as shards: the shards used, and those that failed (with why). */
  shardsUsed?: number[];
  shardsFailed?: Array<{ shard: number; host: string; reason: string }>;
}

/**
 * One object ready to upload: its file, root, size, key salt and (for a
 * coded file) shard index. With `key`, `path` is the plaintext, encrypted
 * again while it is uploaded (transfer.ts: nothing staged); without it,
 * `path` is a staged object file, removed once uploaded.
 */
export interface Prepared {
  path: string;
  key?: Buffer;
  root: Buffer;
  size: number;
  salt: Buffer;
  shard: number | null;
  /** A delta version's chunk map for this contract (storage/delta.ts): `path` holds only the changed chunks. */
  chunks?: ChunkMap | null;
}

/** Where one replica goes: a new contract (an offer) or an open one (a revision). */
export type Target = { offer: OfferInfo } | { reuse: ReusableContract };

/** An upload that got its receipt. */
export interface Placed {
  target: Target;
  id: string;
  object: number;
  shard: number | null;
  number: number;
  host: string;
  addr: string;
  dataURL: string;
  manifestToken: string;
  prices: Prices;
  cost: number;
  escrowValue: number;
  formula: string;
  /** Bytes uploaded (the object's size) and whether it is a delta object. */
  uploaded: number;
  delta: boolean;
}

/** A node's answer, as opposed to a lost connection: only then is a failure certain. */
export function answeredByNode(e: unknown): boolean {
  return nodeCode(e) !== null;
}

/** The bitcoind-style code of an error the node answered (the CLI's rpcCode, the in-process RPCError's code), else null. */
export function nodeCode(e: unknown): number | null {
  const err = e as { code?: unknown; rpcCode?: unknown } | null;
  if (err && typeof err.rpcCode === 'number')
    return err.rpcCode;
  return err && typeof err.code === 'number' ? err.code : null;
}

/** The first line of an error's message, for one-line reports. */
export function message(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}
