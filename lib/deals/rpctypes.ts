/*!
 * rpctypes.ts - the JSON shapes of the deals RPC results, shared by the
 * node (which builds them) and every renter client (the CLI over HTTP,
 * the node itself in-process), so neither side re-declares them.
 *
 * Units: sizes in bytes, amounts in sat, heights in blocks. Hosts are
 * named by their identity address (`host`) everywhere; `hostKey` is the
 * 33-byte identity key in hex where a caller needs it for another call.
 */

import type { Prices } from './pricing';
import type { ReusableContract, SkippedContract } from './rentercontracts';
import type { AuditStatus } from './auditview';

/** One signed offer from negotiatestorage. */
export interface OfferInfo {
  /** Identity address of the host. */
  host: string;
  hostKey: string;
  /** Network address of the host's node (ip:port). */
  addr: string;
  prices: Prices;
  /** Storage prices bid, in order. */
  bids: number[];
  /** Cost of the contract in sat (contractCost). */
  cost: number;
  /** Escrow it locks (sat): the allowance given, else the default allowance; at least the minimum escrow. */
  escrow: number;
  formula: string;
  /** Last block in which the offer's contract may be committed. */
  reservedUntil: number;
  dataURL: string;
  /** True if an open offer negotiated earlier was reused. */
  reused: boolean;
  /** The host's reputation score when chosen (permille, docs/REPUTATION.md); null without the extension. */
  score: number | null;
  /** The signed offer, hex (proposestorage's first parameter). */
  offer: string;
}

/** A host that made no offer, and why. */
export interface DeclineInfo {
  host: string;
  addr: string;
  reason: string;
}

/** negotiatestorage size duration maxprice ( hosts ) */
export interface NegotiateStorageResult {
  size: number;
  duration: number;
  maxPrice: number;
  /** Chain height when negotiated. */
  height: number;
  offers: OfferInfo[];
  declined: DeclineInfo[];
  /** Peers that answered with a quote. */
  quoted: number;
  /** CloudStorage peers with a proven identity. */
  peers: number;
  /**
   * The network's minimum escrow (sat, contracts/common.ts minEscrowValue:
   * max(closeFeeMultiple x a close's fee at the minimum relay fee, minEscrow)):
   * a lower allowance is raised to it.
   */
  minEscrow: number;
}

/** proposestorage offer root objectsize ( fileid salt allowance ) */
export interface ProposeStorageResult {
  /** Contract id, hex. */
  id: string;
  /** The object the file is in this contract (1 for a new contract). */
  object: number;
  /** The revision to ask a receipt for after the upload (0 for a new contract). */
  number: number;
  /** The contract signed by both parties, hex. */
  contract: string;
  host: string;
  hostKey: string;
  dataURL: string;
  dataToken: string;
  manifestToken: string;
  escrowValue: number;
  cost: number;
}

/** proposerevision contractid root objectsize fileid salt: the file as a new object of an open contract. */
export interface ProposeRevisionResult {
  id: string;
  object: number;
  /** The revision that adds it (ask its receipt after the upload). */
  number: number;
  host: string;
  hostKey: string;
  dataURL: string;
  dataToken: string;
  manifestToken: string;
}

/** getstoragereceipt contractid number: the revision, countersigned. */
export interface StorageReceiptResult {
  id: string;
  number: number;
  root: string;
  size: number;
  count: number;
  accrued: number;
  hostSig: string;
}

/** One contract findcontracts offers for reuse. */
export type { ReusableContract, SkippedContract };

/** findcontracts with verbose=true: the contracts put may reuse, and those left out with why. */
export interface FindContractsVerbose {
  contracts: ReusableContract[];
  skipped: SkippedContract[];
  /** Whether the renter has any open contract (committed or active, or its commitment out), fitting or not (absent from an older node). */
  open?: boolean;
}

/** getstoragetoken hostkey contractid */
export interface StorageTokenResult {
  dataURL: string;
  token: string;
}

/** getchunkprints ( fileid ) */
export interface ChunkPrintsResult {
  /** HMAC key of the chunk fingerprints, hex. */
  key: string;
  fileId: string | null;
  /** The file's fingerprints (32 bytes per plaintext chunk), hex; null when none were kept. */
  prints: string | null;
}

/** addfile: the file id of the new entry. */
export interface AddFileResult {
  fileId: string;
  /** The file's version: 0, or one more than the newest stored file of the same name (its keys derive from it). */
  revision: number;
}

/** A replica that commitfile left out, and why. */
export interface DroppedReplica {
  id: string;
  host: string;
  reason: string;
}

/** commitfile fileid */
export interface CommitFileResult {
  fileId: string;
  txids: string[];
  /** Contract ids committed, in the order of the escrow outputs. */
  ids: string[];
  dropped: DroppedReplica[];
  /** Contracts this commitment formed (the others were reused). */
  formed: string[];
  /** The file's replicas kept, with their states once committed (as getfile gives them; absent from an older node). */
  replicas?: { contractId: string; state: ReplicaState }[];
  /** The renter's whole manifest, sealed (object 0 on every host), hex. */
  manifest: string;
}

/**
 * A replica's state as every renter command names it:
 *   uploading  - proposed, the host has not confirmed the upload
 *   uploaded   - the host signed a receipt; nothing committed yet
 *   pending    - the commitment is broadcast, not yet in a block
 *   committed, active, expired, settled, refunded, void - from the chain
 *               index (see contracts/common.ts stateNames)
 */
export type ReplicaState = 'uploading' | 'uploaded' | 'pending' | 'committed' | 'active' | 'expired'
  | 'settled' | 'refunded' | 'void';

/** States in which a host holds a replica under a contract (paid, or about to be): what health counts. */
export const HELD_STATES: ReadonlySet<ReplicaState> = new Set<ReplicaState>(['uploaded', 'pending', 'committed', 'active']);

/** One replica of a file as getfile and listfiles show it. */
export interface ReplicaInfo {
  contractId: string;
  /** The object id of this replica within its contract. */
  object: number;
  /** The contract's latest final revision number (null before revision 0 is final). */
  revision: number | null;
  host: string;
  hostKey: string;
  /** Whether the host is a connected CloudStorage peer now. */
  reachable: boolean;
  salt: string;
  root: string;
  objectSize: number;
  /** Which shard this object is (0..K+M-1, data shards first) for a file stored as shards; null for a whole replica. */
  shard: number | null;
  state: ReplicaState;
  /** Height the contract ends at, and blocks left until then (0 when past). */
  endHeight: number;
  blocksLeft: number;
  /** Last block its commitment may confirm in (offer expiry). */
  expiryHeight: number;
  /**
   * For an `uploading` replica, the block at which the node gives its put
   * up unless someone finishes it (an interrupted or killed put: the copy
   * is dropped then, and its open contract is free again; `rm` does it at
   * once); null in every other state.
   */
  givenUpAt: number | null;
  /**
   * What this replica's object costs under its current contract (sat):
   * upload plus storage so far (`accrued`) and to the contract's end
   * (`toEnd`); null while its contract has no final revision. Rounded per
   * object (accrual.ts objectCost); getcontract's figures are what is paid.
   */
  cost: { accrued: number; toEnd: number } | null;
  /** The contract's audits: passed, failed, missed, next audit height (null before the contract is formed). */
  audits: AuditStatus | null;
  /**
   * Where a delta version's chunks live (PROTOCOL 4.5 scheme 3): earlier
   * objects of this contract it reads from, and runs [from, first, count]
   * (from 0: this replica's own object, j: source j-1); null when the
   * object is the whole file.
   */
  chunks: ChunkMapInfo | null;
  /** Objects of removed versions this replica's chunks still read, charged to this file (in `cost`). */
  inherited: Array<{ object: number; objectSize: number }>;
}

/** A chunk map as JSON (storage/delta.ts). */
export interface ChunkMapInfo {
  sources: Array<{ object: number; fileId: string; revision: number; salt: string; objectSize: number }>;
  runs: Array<[number, number, number]>;
}

/** getfile fileid / one entry of listfiles. */
export interface FileInfo {
  fileId: string;
  /** The stored name as UTF-8 (invalid bytes replaced); `nameHex` is exact. */
  name: string;
  nameHex: string;
  size: number;
  /** Version of the name: 0 for the first put of a name, n for the (n+1)-th (`cloudcoin-cli log NAME`). */
  revision: number;
  /** K and M when the file is stored as Reed-Solomon shards (PROTOCOL 4.9); 0 and 0 for whole replicas. */
  dataShards: number;
  parityShards: number;
  health: FileHealth;
  replicas: ReplicaInfo[];
  /** Sum of the replicas' cost (sat): what the file has cost so far and will cost by its contracts' ends. */
  cost: { accrued: number; toEnd: number };
  /** Repairs of shards or replicas, oldest first (`cloudcoin-cli repair`). */
  repairs: RepairInfo[];
  /**
   * While a put of the file runs under a lease (renewputlease): the unix
   * time (s) the node gives the put up unless its client renews it; null
   * otherwise.
   */
  leaseExpires: number | null;
}

/** renewputlease: the lease's lapse (s) and when it lapses unless renewed again (unix s; null once ended). */
export interface PutLeaseResult {
  fileId: string;
  lapse: number;
  expires: number | null;
}

/**
 * One repair: shard `shard` rebuilt (or, shard null, a whole replica
 * re-uploaded) into `contractId` on `host` at `height` (unix `time`),
 * replacing the copies in `replaced`.
 */
export interface RepairInfo {
  height: number;
  time: number;
  shard: number | null;
  contractId: string;
  host: string;
  replaced: string[];
}

/**
 * A file's redundancy now: `alive` distinct shards (or replicas) held
 * under a contract by a host connected now, `needed` to rebuild it (K, or
 * 1 for replicas), `total` placed by put (K + M, or the replica count).
 */
export interface FileHealth {
  alive: number;
  needed: number;
  total: number;
}

/** deletefile fileid */
export interface DeleteFileResult {
  fileId: string;
  /** Contracts whose host removed objects (the file's own, and earlier ones only it still read), with the revision that did. */
  removed: Array<{ id: string; host: string; revision: number; objects: number[] }>;
  /** Objects left on a host because a stored version still reads chunks of them (freed with the last such version). */
  referenced: Array<{ id: string; host: string; objects: number[] }>;
  /** Replicas kept (host unreachable or declined), and why. */
  kept: Array<{ id: string; host: string; reason: string }>;
  /** True once no replica is left: the file is forgotten. */
  forgotten: boolean;
}

/** pruneversions namehex ( keep ) */
export interface PruneVersionsResult {
  nameHex: string;
  /** Versions kept: the newest `keep` (0: every version). */
  keep: number;
  /** The versions left, oldest first (a pruned one whose host could not be reached stays until run again). */
  kept: number[];
  /** Older versions deleted from their hosts (a revision per contract) and forgotten. */
  pruned: Array<DeleteFileResult & { revision: number }>;
}

/** renewcontract contractid|fileid ( duration allowance ) */
export interface RenewContractResult {
  renewed: Array<{ old: string; id: string; host: string; objects: number; endHeight: number; allowance: number }>;
  failed: Array<{ old: string; host: string; reason: string }>;
  txids: string[];
}

/** What each RPC a renter client calls returns, by method name. */
export interface RenterRPCResults {
  negotiatestorage: NegotiateStorageResult;
  proposestorage: ProposeStorageResult;
  getstoragereceipt: StorageReceiptResult;
  getstoragetoken: StorageTokenResult;
  proposerevision: ProposeRevisionResult;
  findcontracts: ReusableContract[] | FindContractsVerbose;
  /** The replica's AES key, hex. */
  derivefilekey: string;
  getchunkprints: ChunkPrintsResult;
  addfile: AddFileResult;
  commitfile: CommitFileResult;
  forgetfile: boolean;
  deletefile: DeleteFileResult;
  pruneversions: PruneVersionsResult;
  renewputlease: PutLeaseResult;
  renewcontract: RenewContractResult;
  getfile: FileInfo;
  listfiles: FileInfo[];
  logrepair: RepairInfo;
  /** The wallet's balance in BTC (bitcoind's unit). */
  getbalance: number;
  /** bitcoind's fields; `unlocked_until` (unix seconds, 0 while locked) only for an encrypted wallet. */
  getwalletinfo: { walletid: string; unlocked_until?: number };
}
