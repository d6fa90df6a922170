/*!
 * renterclient.ts - the renter's put and get, over any `call(method,
 * params)`: cloudcoin-cli passes JSON-RPC over HTTP, the node passes its
 * own RPC in-process (audits, repair, renewal use the same flow).
 *
 * put: negotiate (reusing open offers) -> addfile -> per host, at once:
 * derive the key, encrypt, proposestorage (the node records the replica
 * and its salt before any byte moves), upload over HTTP, getstoragereceipt
 * -> commitfile (the node funds one commitment; from here the node owns
 * the outcome) -> the sealed manifest to every host -> wait for depth.
 * get: getfile -> per replica until one works: getstoragetoken, HEAD,
 * download, check the Merkle root, decrypt.
 *
 * A file stored as Reed-Solomon shards (--data-shards K --parity-shards M,
 * docs/REDUNDANCY.md) is encrypted once and coded into K + M shard
 * objects, one per host (each an object of that host's contract, like a
 * replica); get downloads K shards at once (reachable hosts and data
 * shards first, the next candidate for each one that fails), checks each
 * root, rebuilds the object (a concatenation when the K data shards came)
 * and decrypts it.
 *
 * The client writes only inside the `workDir` its caller gives it, so the
 * caller can remove everything on an interrupt.
 *
 * Contracts per host (DESIGN 5, v1.1) fit at two seams: `targets` first
 * takes the renter's open contracts with allowance and time left and only
 * negotiates offers for the hosts still missing, and `placeReplica` adds
 * the object to such a contract by a signed revision instead of proposing
 * a new contract; `commitfile` then funds only the new contracts (none on
 * a second put to the same hosts).
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { CodedError } from '../base/errors';
import { FileServerClient } from '../storage/fileserverclient';
import { cipherSize } from '../storage/common';
import { decryptFile, encryptFile, hashFile } from '../storage/fileops';
import { checkScheme, decodeShards, encodeShards, rebuildShards, shardSize, type ShardScheme } from '../storage/erasure';
import { LeafHasherPool } from '../storage/hashpool';
import { HELD_STATES } from './rpctypes';
import type {
  CommitFileResult, FileHealth, FileInfo, NegotiateStorageResult, OfferInfo, RenterRPCResults, ReplicaState, ReusableContract
} from './rpctypes';
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
  | 'wallet-locked' | 'put-failed' | 'commit-failed' | 'commit-unclear' | 'contract-void' | 'get-failed' | 'not-coded' | 'repair-failed';

/** A put or get failure; the message is one line for people. */
export class RenterClientError extends CodedError<RenterClientErrorCode> {
  constructor(code: RenterClientErrorCode, message: string) {
    super(code, message);
  }
}

/** Progress and warnings, for a caller that shows them. */
export interface RenterEvents {
  warn?(message: string): void;
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
}

/** What choosing hosts needs: how many, for how long, at what price and allowance. */
type TargetOptions = Pick<PutOptions, 'hosts' | 'minHosts' | 'duration' | 'maxPrice' | 'allowance' | 'reuse' | 'minScore'>;

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
}

export interface RepairResult {
  fileId: string;
  /** Shards whose copy verified against its root. */
  verified: number[];
  /** Shards that had no good copy, with why. */
  lost: Array<{ shard: number; reason: string }>;
  /** Each shard rebuilt and where it now lives. */
  repaired: Array<{ shard: number; contract: string; host: string; reused: boolean; replaced: string[] }>;
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

/** One object ready to upload: its file, root, size, key salt and (for a coded file) shard index. */
interface Prepared {
  path: string;
  root: Buffer;
  size: number;
  salt: Buffer;
  shard: number | null;
}

/** Where one replica goes: a new contract (an offer) or an open one (a revision). */
type Target = { offer: OfferInfo } | { reuse: ReusableContract };

/** An upload that got its receipt. */
interface Placed {
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
}

/** A node's answer, as opposed to a lost connection: only then is a failure certain. */
export function answeredByNode(e: unknown): boolean {
  const err = e as { code?: unknown; rpcCode?: unknown } | null;
  return !!err && (typeof err.rpcCode === 'number' || typeof err.code === 'number');
}

function message(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

export class RenterClient {
  readonly call: RPCCall;
  readonly events: RenterEvents;

  constructor(call: RPCCall, events: RenterEvents = {}) {
    this.call = call;
    this.events = events;
  }

  /** One typed call: the only place a result's shape is taken on trust. */
  private rpc<M extends keyof RenterRPCResults>(method: M, params: unknown[]): Promise<RenterRPCResults[M]> {
    return this.call(method, params) as Promise<RenterRPCResults[M]>;
  }

  /** Every file of the renter, with replica states (listfiles). */
  listFiles(): Promise<FileInfo[]> {
    return this.rpc('listfiles', []);
  }

  /** Every stored version of a name (put of a name already stored makes its next version), oldest first. */
  async versions(name: Buffer): Promise<FileInfo[]> {
    const hex = name.toString('hex');
    return (await this.listFiles()).filter((f) => f.nameHex === hex).sort((a, b) => a.revision - b.revision);
  }

  /** Version `revision` of a name; fails saying which versions exist. */
  async version(name: Buffer, revision: number): Promise<FileInfo> {
    const all = await this.versions(name);
    const f = all.find((x) => x.revision === revision);
    if (!f)
      throw new RenterClientError('get-failed', `no version ${revision} of ${JSON.stringify(name.toString('utf8'))}: `
        + (all.length ? `stored versions are ${all.map((x) => x.revision).join(', ')}` : 'no file of that name is stored'));
    return f;
  }

  private warn(text: string): void {
    if (this.events.warn)
      this.events.warn(text);
  }

  /** Offers from up to `hosts` hosts; fails with the reasons when none. */
  async negotiate(size: number, duration: number, maxPrice: number, hosts: number, minScore?: number)
    : Promise<NegotiateStorageResult> {
    const res = await this.rpc('negotiatestorage', minScore === undefined ? [size, duration, maxPrice, hosts]
      : [size, duration, maxPrice, hosts, null, null, minScore]);
    this.noOffers(res);
    return res;
  }

  /** Fails with the reasons when a negotiation got no offer. */
  private noOffers(res: NegotiateStorageResult): void {
    if (res.offers.length === 0) {
      const why = res.peers === 0
        ? 'no CloudStorage peers are connected (start hosts with cloudcoind --host and connect to them)'
        : res.quoted === 0
          ? `none of ${res.peers} CloudStorage peers is hosting`
          : `no host accepted: ${res.declined.map((d) => `${d.host} ${d.reason}`).join('; ') || 'all too expensive'}`;
      throw new RenterClientError('no-hosts', `no storage offers: ${why}`);
    }
  }

  /**
   * Store a file: open contracts first (one object per file, a revision,
   * no transaction), new contracts for the hosts still missing (one
   * commitment for all); see the header for the flow.
   */
  async put(opts: PutOptions): Promise<PutResult> {
    const size = fs.statSync(opts.file).size;
    // [REJECT] nothing to store: a contract for 0 bytes would lock an escrow for nothing
    if (size === 0)
      throw new RenterClientError('empty-file', 'the file is empty: CloudCoin does not store 0-byte files (nothing to pay a host for)');
    const objectSize = cipherSize(size);
    const scheme = opts.shards ?? null;
    if (scheme) {
      checkScheme(scheme);
      opts = { ...opts, hosts: scheme.dataShards + scheme.parityShards };
      // [REJECT] fewer than K shards cannot rebuild the file
      if (opts.minHosts < scheme.dataShards || opts.minHosts > opts.hosts)
        throw new RenterClientError('too-few-hosts', `--min-hosts must be between ${scheme.dataShards} (K) and ${opts.hosts} (K + M)`);
    }
    // What each host stores: the whole object, or one shard of it.
    const stored = scheme ? shardSize(objectSize, scheme.dataShards) : objectSize;
    const { reuse, neg, note } = await this.targets(stored, opts);
    await this.checkFunds(neg.offers);
    if (note)
      this.warn(note);
    const fileId = randomBytes(32);
    const addArgs: unknown[] = [fileId.toString('hex'), opts.name.toString('hex'), size];
    if (scheme)
      addArgs.push(scheme.dataShards, scheme.parityShards);
    const { revision } = await this.rpc('addfile', addArgs);
    const targets: Target[] = [...reuse.map((r) => ({ reuse: r })), ...neg.offers.map((o) => ({ offer: o }))];
    const { placed, failed } = scheme
      ? await this.placeShards(opts, fileId, revision, targets, scheme, objectSize)
      : await this.placeAll(opts, fileId, revision, targets, objectSize);
    if (placed.length < opts.minHosts) {
      await this.rpc('forgetfile', [fileId.toString('hex')]).catch(() => {});
      this.checkEnough(placed.length, opts.minHosts, 'stored the file', neg, failed);
    }
    const commit = await this.commit(fileId, opts.minHosts, failed);
    const live = placed.filter((p) => commit.ids.includes(p.id));
    await this.putManifest(live, Buffer.from(commit.manifest, 'hex'));
    let states: ReplicaState[] = await this.states(commit.fileId, live.map((p) => p.id));
    if (opts.wait && commit.formed.length)
      states = await this.waitActive(commit.fileId, live.map((p) => p.id), opts.waitMs ?? WAIT_ACTIVE_MS);
    return {
      fileId: commit.fileId,
      name: opts.name.toString('utf8'),
      size,
      objectSize,
      revision,
      shards: scheme ? { ...scheme, shardSize: stored } : null,
      txids: commit.txids,
      contracts: live.map((p, i) => ({
        id: p.id,
        object: p.object,
        shard: p.shard,
        reused: 'reuse' in p.target,
        revision: p.number,
        host: p.host,
        addr: p.addr,
        prices: p.prices,
        cost: p.cost,
        escrowValue: p.escrowValue,
        formula: p.formula,
        score: 'offer' in p.target ? p.target.offer.score : null,
        state: states[i]
      })),
      failed,
      passed: neg.declined.map((d) => ({ host: d.host, reason: d.reason }))
    };
  }

  /**
   * Where the replicas go: open contracts first (findcontracts: enough
   * allowance and at least half the duration left, one per host), then
   * fresh offers from other hosts for the rest, saying so.
   */
  private async targets(objectSize: number, opts: TargetOptions, avoid: string[] = [])
    : Promise<{ reuse: ReusableContract[]; neg: NegotiateStorageResult; note: string }> {
    let note = '';
    const reuse = opts.reuse === false ? []
      : (await this.rpc('findcontracts', [objectSize, reuseMinLeft(opts.duration), opts.maxPrice]))
        .filter((r) => !avoid.includes(r.hostKey)).slice(0, opts.hosts);
    const need = opts.hosts - reuse.length;
    let neg: NegotiateStorageResult = { size: objectSize, duration: opts.duration, maxPrice: opts.maxPrice, height: 0,
      offers: [], declined: [], quoted: 0, peers: 0 };
    if (need > 0) {
      await this.checkUnlocked(need);
      const exclude = [...avoid, ...reuse.map((r) => r.hostKey)];
      const args: unknown[] = [objectSize, opts.duration, opts.maxPrice, need, exclude];
      if (opts.allowance !== undefined || opts.minScore !== undefined)
        args.push(opts.allowance ?? null);
      if (opts.minScore !== undefined)
        args.push(opts.minScore);
      neg = await this.rpc('negotiatestorage', args);
      if (reuse.length === 0)
        this.noOffers(neg);
      if (neg.offers.length > 0)
        note = (`forming ${neg.offers.length} new contract(s) (${reuse.length ? `${reuse.length} open contract(s) reused, ` : ''}`
          + `no open contract with room for ${objectSize} bytes and ${reuseMinLeft(opts.duration)} blocks left on the other hosts) `
          + `with an allowance of ${neg.offers.map((o) => `${o.escrow} sat`).join(', ')}`
          + (opts.allowance === undefined ? ' (default: 1 GiB for the duration, at least the minimum escrow; --allowance sets it)' : ''));
    }
    this.checkEnough(reuse.length + neg.offers.length, opts.minHosts, 'made an offer or had an open contract', neg);
    return { reuse, neg, note };
  }

  private async states(fileId: string, ids: string[]): Promise<ReplicaState[]> {
    const file = await this.rpc('getfile', [fileId]);
    return ids.map((id) => file.replicas.find((r) => r.contractId === id)?.state ?? 'pending');
  }

  /** A shortfall under --min-hosts fails, saying why and when open offers lapse. */
  private checkEnough(got: number, min: number, what: string, neg: NegotiateStorageResult, failed: FailedHost[] = []): void {
    if (got >= min)
      return;
    const reasons = [...neg.declined.map((d) => `${d.host}: ${d.reason}`), ...failed.map((f) => `${f.host}: ${f.reason}`)];
    const until = neg.offers.length ? Math.max(...neg.offers.map((o) => o.reservedUntil)) : 0;
    const offers = neg.offers.length
      ? `; the ${neg.offers.length} open offer(s) are reused by a put with the same terms until block ${until}, then released`
      : '';
    throw new RenterClientError('too-few-hosts', `only ${got} host(s) ${what}, ${min} needed (--min-hosts); nothing was paid`
      + `${reasons.length ? ` (${reasons.join('; ')})` : ''}${offers}`);
  }

  /**
   * New contracts are paid from the wallet: a locked one is refused before
   * any host is asked (getwalletinfo has unlocked_until only for an
   * encrypted wallet, 0 while locked, as bitcoind's). Revisions of open
   * contracts need no unlock: the node holds the escrow keys.
   */
  private async checkUnlocked(contracts: number): Promise<void> {
    const info = await this.rpc('getwalletinfo', []);
    if (info.unlocked_until === 0)
      throw new RenterClientError('wallet-locked', `the wallet is encrypted and locked, and ${contracts} new contract(s) must be `
        + 'paid from it: unlock it with `cloudcoin-cli walletpassphrase PASSPHRASE SECONDS` first; nothing was paid');
  }

  private async checkFunds(offers: OfferInfo[]): Promise<void> {
    if (offers.length === 0)
      return;
    const needed = offers.reduce((sum, o) => sum + o.escrow, 0) + FEE_MARGIN;
    const balance = Math.round(Number(await this.rpc('getbalance', [])) * 1e8);
    if (balance < needed)
      throw new RenterClientError('insufficient-funds', `insufficient funds: the escrows need ${needed} sat with fees, the wallet has ${balance} sat`);
  }

  /**
   * Every host at once: encryption keeps both cores busy, and a slow or
   * dead host does not hold up the others.
   */
  private async placeAll(opts: PutOptions, fileId: Buffer, revision: number, targets: Target[], objectSize: number)
    : Promise<{ placed: Placed[]; failed: FailedHost[] }> {
    if (this.events.uploadStart)
      this.events.uploadStart(objectSize * targets.length);
    const pool = new LeafHasherPool();
    let results: PromiseSettledResult<Placed>[];
    try {
      results = await Promise.allSettled(targets.map(async (target, i) => {
        const salt = randomBytes(32);
        const key = Buffer.from(await this.rpc('derivefilekey', [fileId.toString('hex'), revision, salt.toString('hex')]), 'hex');
        const work = path.join(opts.workDir, `replica-${i}`);
        // A scratch copy deleted after the upload: no fsync needed.
        const enc = await encryptFile(key, opts.file, work, { pool, sync: false });
        return this.placeObject(opts.allowance, fileId, target, { path: work, root: enc.root, size: enc.size, salt, shard: null });
      }));
    } finally {
      await pool.close();
    }
    return this.settle(targets, results);
  }

  /**
   * Encrypt once, code K + M shards stripe by stripe, hash each, and place
   * shard i with target i (distinct hosts: targets come one per host).
   */
  private async placeShards(opts: PutOptions, fileId: Buffer, revision: number, targets: Target[], scheme: ShardScheme,
    objectSize: number)
    : Promise<{ placed: Placed[]; failed: FailedHost[] }> {
    const n = scheme.dataShards + scheme.parityShards;
    const salt = randomBytes(32);
    const key = Buffer.from(await this.rpc('derivefilekey', [fileId.toString('hex'), revision, salt.toString('hex')]), 'hex');
    const pool = new LeafHasherPool();
    let results: PromiseSettledResult<Placed>[];
    try {
      const enc = path.join(opts.workDir, 'object');
      await encryptFile(key, opts.file, enc, { pool, sync: false });
      const files = Array.from({ length: n }, (_, i) => path.join(opts.workDir, `shard-${i}`));
      const { shardSize: size } = await encodeShards(enc, objectSize, scheme, files);
      fs.rmSync(enc, { force: true });
      const roots = await Promise.all(files.map((f) => hashFile(f, { pool })));
      if (this.events.uploadStart)
        this.events.uploadStart(size * targets.length);
      results = await Promise.allSettled(targets.slice(0, n).map((target, i) =>
        this.placeObject(opts.allowance, fileId, target, { path: files[i], root: roots[i].root, size, salt, shard: i })));
    } finally {
      await pool.close();
    }
    return this.settle(targets, results);
  }

  /** Splits settled placements into the placed ones and the hosts that failed (warned). */
  private settle(targets: Target[], results: PromiseSettledResult<Placed>[]): { placed: Placed[]; failed: FailedHost[] } {
    const placed: Placed[] = [];
    const failed: FailedHost[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        placed.push(r.value);
        return;
      }
      const t = targets[i];
      const host = 'offer' in t ? t.offer.host : t.reuse.host;
      failed.push({ host, reason: message(r.reason) });
      this.warn(`host ${host} failed, nothing committed to it: ${message(r.reason)}`);
    });
    return { placed, failed };
  }

  /**
   * Record the object (a new contract, or a revision of an open one),
   * upload it, and have the host countersign.
   */
  private async placeObject(allowance: number | undefined, fileId: Buffer, target: Target, obj: Prepared): Promise<Placed> {
    const root = obj.root.toString('hex');
    const work = obj.path;
    const shardArg = obj.shard === null ? [] : [obj.shard];
    let placed: Placed;
    let token: string;
    if ('offer' in target) {
      const o = target.offer;
      const args: unknown[] = [o.offer, root, obj.size, fileId.toString('hex'), obj.salt.toString('hex')];
      if (allowance !== undefined || obj.shard !== null)
        args.push(allowance ?? null, ...shardArg);
      const p = await this.rpc('proposestorage', args);
      token = p.dataToken;
      placed = { target, id: p.id, object: p.object, shard: obj.shard, number: p.number, host: o.host, addr: o.addr,
        dataURL: p.dataURL, manifestToken: p.manifestToken, prices: o.prices, cost: p.cost, escrowValue: p.escrowValue,
        formula: o.formula };
    } else {
      const r = target.reuse;
      const args: unknown[] = [r.id, root, obj.size, fileId.toString('hex'), obj.salt.toString('hex')];
      if (obj.shard !== null)
        args.push(null, obj.shard);
      const p = await this.rpc('proposerevision', args);
      token = p.dataToken;
      placed = { target, id: p.id, object: p.object, shard: obj.shard, number: p.number, host: r.host, addr: '',
        dataURL: p.dataURL, manifestToken: p.manifestToken, prices: r.prices, cost: 0, escrowValue: r.allowance,
        formula: `revision ${p.number} of contract ${r.id.slice(0, 12)} (no transaction; ${r.blocksLeft} blocks left)` };
    }
    let sent = 0;
    await new FileServerClient(placed.dataURL).uploadFile(token, placed.id, placed.object, work, undefined, (done) => {
      if (this.events.uploaded)
        this.events.uploaded(done - sent);
      sent = done;
    });
    fs.rmSync(work, { force: true });
    await this.rpc('getstoragereceipt', [placed.id, placed.number]);
    return placed;
  }

  /**
   * The node funds and broadcasts the commitment. Only an answer from the
   * node makes a failure certain; a lost connection leaves the outcome to
   * the node, which keeps the file either way.
   */
  private async commit(fileId: Buffer, min: number, failed: FailedHost[]): Promise<CommitFileResult> {
    let res: CommitFileResult;
    try {
      res = await this.rpc('commitfile', [fileId.toString('hex'), min]);
    } catch (e) {
      if (!answeredByNode(e))
        throw new RenterClientError('commit-unclear', `lost cloudcoind while it committed file ${fileId.toString('hex')} `
          + `(${message(e)}): the node finishes or cancels the commitment on its own and keeps the file's keys; `
          + 'check `cloudcoin-cli ls` before putting it again');
      throw new RenterClientError('commit-failed', `the commitment failed, nothing was paid: ${message(e)}`);
    }
    for (const d of res.dropped) {
      // A host whose upload failed is already reported.
      if (failed.some((f) => f.host === d.host))
        continue;
      failed.push({ host: d.host, reason: d.reason });
      this.warn(`host ${d.host} dropped, nothing committed to it: ${d.reason}`);
    }
    if (this.events.committed)
      this.events.committed(res.txids);
    return res;
  }

  /** The sealed manifest as object 0 on every host; a failure is only a warning. */
  private async putManifest(live: Placed[], manifest: Buffer): Promise<void> {
    await Promise.all(live.map(async (p) => {
      if (!p.manifestToken)
        return;
      try {
        await new FileServerClient(p.dataURL).putManifest(p.manifestToken, p.id, manifest);
      } catch (e) {
        this.warn(`manifest copy on ${p.host} failed: ${message(e)}`);
      }
    }));
  }

  /** Poll until every contract is active; a void contract fails, a timeout only warns. */
  async waitActive(fileId: string, ids: string[], waitMs: number): Promise<ReplicaState[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const file = await this.rpc('getfile', [fileId]);
      const states = ids.map((id) => file.replicas.find((r) => r.contractId === id)?.state ?? 'pending');
      if (states.every((s) => s === 'active'))
        return states;
      // A commitment that confirmed after its offer expired voids the
      // contracts: say so now (the escrow comes back with refundcontract).
      const voided = ids.filter((_, i) => states[i] === 'void');
      if (voided.length)
        throw new RenterClientError('contract-void', `contract ${voided.map((id) => id.slice(0, 12)).join(', ')} is void `
          + '(its commitment confirmed after the offer expired); recover the escrow with refundcontract after its refund height');
      // Committed is committed: report it rather than fail and tempt a
      // retry that would pay twice.
      if (Date.now() > deadline) {
        this.warn(`not active after ${Math.round(waitMs / 1000)} s (${states.join(', ')}); \`cloudcoin-cli ls\` shows when they are`);
        return states;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /**
   * Repair a file stored as shards: download and verify every shard a
   * connected host holds under a contract, rebuild each shard with no good
   * copy from K good ones, place it with a host that holds no shard of
   * this file (an open contract first, else a new one, committed), and log
   * each repair with the node. A file with every shard good is left as is.
   */
  async repair(fileId: string, opts: RepairOptions): Promise<RepairResult> {
    const f = await this.rpc('getfile', [fileId]);
    if (f.dataShards === 0)
      throw new RenterClientError('not-coded', `file ${f.fileId.slice(0, 12)} is stored as whole replicas; repair rebuilds shards`
        + ' (put --data-shards K --parity-shards M)');
    const scheme = { dataShards: f.dataShards, parityShards: f.parityShards };
    const n = scheme.dataShards + scheme.parityShards;
    const paths: Array<string | null> = Array.from({ length: n }, () => null);
    const why = new Map<number, string>();
    const pool = new LeafHasherPool();
    try {
      // Every shard is checked (not just K): a repair must know which copies are bad.
      await Promise.all(Array.from({ length: n }, async (_, shard) => {
        const copies = f.replicas.filter((r) => r.shard === shard);
        if (copies.length === 0)
          why.set(shard, 'never placed');
        for (const r of copies) {
          if (!HELD_STATES.has(r.state) || !r.reachable || opts.distrust?.includes(r.contractId)) {
            why.set(shard, opts.distrust?.includes(r.contractId) ? 'its contract failed an audit'
              : r.reachable ? `contract ${r.state}` : 'host unreachable');
            continue;
          }
          const dest = path.join(opts.workDir, `shard-${shard}`);
          try {
            await this.download(r, dest, pool);
            paths[shard] = dest;
            return;
          } catch (e) {
            why.set(shard, message(e));
          }
        }
      }));
    } finally {
      await pool.close();
    }
    const verified = paths.flatMap((p, i) => (p ? [i] : []));
    const lost = paths.flatMap((p, i) => (p ? [] : [{ shard: i, reason: why.get(i) ?? 'no copy' }]));
    const result: RepairResult = { fileId: f.fileId, verified, lost, repaired: [], failed: [], txids: [], escrow: 0, health: f.health };
    if (lost.length === 0)
      return result;
    for (const l of lost)
      this.warn(`shard ${l.shard} has no good copy (${l.reason}); rebuilding it`);
    if (verified.length < scheme.dataShards)
      throw new RenterClientError('repair-failed', `only ${verified.length} good shards, ${scheme.dataShards} needed to rebuild `
        + `the others: ${lost.map((l) => `shard ${l.shard}: ${l.reason}`).join('; ')}`);
    const objectSize = cipherSize(f.size);
    const size = shardSize(objectSize, scheme.dataShards);
    const outs = lost.map((l) => path.join(opts.workDir, `rebuilt-${l.shard}`));
    await rebuildShards(paths, scheme, objectSize, lost.map((l) => l.shard), outs);
    const roots = await Promise.all(outs.map((o) => hashFile(o)));
    // Another host for each: never one that holds (or held) a shard of this file.
    const avoid = [...new Set(f.replicas.map((r) => r.hostKey))];
    const want: TargetOptions = { hosts: lost.length, minHosts: 1, duration: opts.duration, maxPrice: opts.maxPrice,
      allowance: opts.allowance };
    const { reuse, neg, note } = await this.targets(size, want, avoid);
    const escrow = neg.offers.reduce((sum, o) => sum + o.escrow, 0);
    if (opts.maxEscrow !== undefined && escrow > opts.maxEscrow)
      throw new RenterClientError('repair-failed', `the new contracts need ${escrow} sat of escrow, the repair budget has `
        + `${opts.maxEscrow} sat left; nothing was paid (the offers lapse at block ${Math.max(...neg.offers.map((o) => o.reservedUntil))})`);
    await this.checkFunds(neg.offers);
    if (note)
      this.warn(note);
    const targets: Target[] = [...reuse.map((r) => ({ reuse: r })), ...neg.offers.map((o) => ({ offer: o }))];
    const salt = Buffer.from(f.replicas[0].salt, 'hex');
    const id = Buffer.from(f.fileId, 'hex');
    const todo = lost.slice(0, targets.length);
    if (this.events.uploadStart)
      this.events.uploadStart(size * todo.length);
    const settled = this.settle(targets, await Promise.allSettled(todo.map((l, i) =>
      this.placeObject(opts.allowance, id, targets[i], { path: outs[i], root: roots[i].root, size, salt, shard: l.shard }))));
    result.failed = settled.failed;
    if (settled.placed.length === 0)
      throw new RenterClientError('repair-failed', `no host took a rebuilt shard, nothing was paid: `
        + `${settled.failed.map((x) => `${x.host}: ${x.reason}`).join('; ') || 'no host available'}`);
    const commit = await this.commit(id, 1, result.failed);
    result.txids = commit.txids;
    result.escrow = settled.placed.filter((p) => 'offer' in p.target && commit.formed.includes(p.id))
      .reduce((sum, p) => sum + p.escrowValue, 0);
    const live = settled.placed.filter((p) => commit.ids.includes(p.id));
    for (const p of live) {
      const rec = await this.rpc('logrepair', [f.fileId, p.shard, p.id]);
      result.repaired.push({ shard: p.shard as number, contract: p.id, host: p.host, reused: 'reuse' in p.target,
        replaced: rec.replaced });
    }
    await this.putManifest(live, Buffer.from(commit.manifest, 'hex'));
    if (opts.wait && commit.formed.length)
      await this.waitActive(f.fileId, commit.formed, opts.waitMs ?? WAIT_ACTIVE_MS);
    result.health = (await this.rpc('getfile', [f.fileId])).health;
    return result;
  }

  /** Fetch and decrypt a file (id or unique prefix) into `workDir`. */
  async get(fileId: string, workDir: string): Promise<GetResult> {
    const f = await this.rpc('getfile', [fileId]);
    if (f.dataShards > 0)
      return this.getShards(f, workDir);
    const errors: string[] = [];
    // Reachable hosts first: an unreachable one is tried last, not skipped.
    const order = [...f.replicas].sort((a, b) => Number(b.reachable) - Number(a.reachable));
    for (const r of order) {
      try {
        const out = await this.fetchReplica(f, r, workDir);
        return { fileId: f.fileId, path: out, size: f.size, contract: r.contractId, host: r.host };
      } catch (e) {
        const why = r.reachable ? message(e) : `host unreachable: ${message(e)}`;
        errors.push(`${r.contractId.slice(0, 12)}: ${why}`);
        this.warn(`replica ${r.contractId.slice(0, 12)} on ${r.host} failed (${why}); trying the next`);
      }
    }
    throw new RenterClientError('get-failed', `no replica could be fetched: ${errors.join('; ') || 'the file has no replicas'}`);
  }

  /**
   * K shards at once, reachable hosts and data shards first; each one
   * that fails (unreachable, wrong size, wrong root) is replaced by the
   * next candidate. Then rebuild and decrypt.
   */
  private async getShards(f: FileInfo, workDir: string): Promise<GetResult> {
    const scheme = { dataShards: f.dataShards, parityShards: f.parityShards };
    const k = scheme.dataShards;
    // Copies a repair replaced (found bad or unreachable) go last.
    const replaced = new Set(f.repairs.flatMap((x) => x.replaced));
    const order = f.replicas.filter((r) => r.shard !== null).sort((a, b) =>
      Number(b.reachable) - Number(a.reachable) || Number(replaced.has(a.contractId)) - Number(replaced.has(b.contractId))
      || Number((a.shard as number) >= k) - Number((b.shard as number) >= k) || (a.shard as number) - (b.shard as number));
    const paths: Array<string | null> = Array.from({ length: k + scheme.parityShards }, () => null);
    const busy = new Set<number>();
    const failed: Array<{ shard: number; host: string; reason: string }> = [];
    let next = 0;
    let good = 0;
    let inflight = 0;
    if (this.events.downloadStart)
      this.events.downloadStart((order[0]?.objectSize ?? 0) * k);
    const pool = new LeafHasherPool();
    const worker = async (): Promise<void> => {
      // Never more downloads at once than shards still needed: a spare one is fetched only after a failure.
      while (good + inflight < k && next < order.length) {
        const r = order[next++];
        const shard = r.shard as number;
        if (busy.has(shard))
          continue;
        busy.add(shard);
        const dest = path.join(workDir, `shard-${shard}`);
        inflight++;
        try {
          await this.download(r, dest, pool);
          paths[shard] = dest;
          good++;
        } catch (e) {
          busy.delete(shard);
          const why = r.reachable ? message(e) : `host unreachable: ${message(e)}`;
          failed.push({ shard, host: r.host, reason: why });
          this.warn(`shard ${shard} on ${r.host} failed (${why}); trying another shard`);
        } finally {
          inflight--;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: k }, worker));
    } finally {
      await pool.close();
    }
    if (good < k)
      throw new RenterClientError('get-failed', `only ${good} of the ${k} shards needed could be fetched: `
        + `${failed.map((x) => `shard ${x.shard} on ${x.host}: ${x.reason}`).join('; ') || 'too few shards are stored'}`);
    const enc = path.join(workDir, 'object');
    await decodeShards(paths, scheme, cipherSize(f.size), enc);
    for (const p of paths)
      if (p)
        fs.rmSync(p, { force: true });
    const first = f.replicas.find((r) => r.shard === paths.findIndex((p) => p !== null)) ?? f.replicas[0];
    const key = Buffer.from(await this.rpc('derivefilekey', [f.fileId, f.revision, first.salt]), 'hex');
    const plain = path.join(workDir, 'plain');
    await decryptFile(key, enc, plain);
    fs.rmSync(enc, { force: true });
    return {
      fileId: f.fileId, path: plain, size: f.size, contract: first.contractId, host: first.host,
      shardsUsed: paths.flatMap((p, i) => (p ? [i] : [])), shardsFailed: failed
    };
  }

  /**
   * Download one object of a contract to `dest` and check it against the
   * root and size the contract holds; throws (and leaves no file) if not.
   */
  private async download(r: FileInfo['replicas'][number], dest: string, pool?: LeafHasherPool): Promise<void> {
    const t = await this.rpc('getstoragetoken', [r.hostKey, r.contractId, r.object]);
    const client = new FileServerClient(t.dataURL);
    // Never let a host make us fetch more than the contract's object.
    const head = await client.head(t.token, r.contractId, r.object);
    if (head.size !== r.objectSize)
      throw new Error(`host reports ${head.size} bytes, the contract holds ${r.objectSize}`);
    try {
      const size = await client.downloadFile(t.token, r.contractId, r.object, dest, { size: r.objectSize });
      if (this.events.downloaded)
        this.events.downloaded(size);
      const digest = await hashFile(dest, pool ? { pool } : {});
      if (size !== r.objectSize || digest.root.toString('hex') !== r.root)
        throw new Error('downloaded bytes do not match the contract root');
    } catch (e) {
      fs.rmSync(dest, { force: true });
      throw e;
    }
  }

  private async fetchReplica(f: FileInfo, r: FileInfo['replicas'][number], workDir: string): Promise<string> {
    const enc = path.join(workDir, 'object');
    if (this.events.downloadStart)
      this.events.downloadStart(r.objectSize);
    await this.download(r, enc);
    const key = Buffer.from(await this.rpc('derivefilekey', [f.fileId, f.revision, r.salt]), 'hex');
    const plain = path.join(workDir, 'plain');
    await decryptFile(key, enc, plain);
    fs.rmSync(enc, { force: true });
    return plain;
  }
}
