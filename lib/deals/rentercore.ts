/*!
 * rentercore.ts - what the renter client's put, get and repair share:
 * typed RPC calls, choosing hosts (open contracts first, then offers),
 * the wallet checks, placing one object with a host (proposestorage or
 * proposerevision, upload, getstoragereceipt), the commitment, the sealed
 * manifest, waiting for depth, and a verified download of one object.
 *
 * Contracts per host (DESIGN 5, v1.1) fit at two seams: `targets` first
 * takes the renter's open contracts with allowance and time left and only
 * negotiates offers for the hosts still missing, and `placeObject` adds
 * the object to such a contract by a signed revision instead of proposing
 * a new contract; `commitfile` then funds only the new contracts (none on
 * a second put to the same hosts).
 */

import * as fs from 'fs';
import { FileServerClient } from '../storage/fileserverclient';
import { hashFile } from '../storage/fileops';
import { uploadEncrypted } from '../storage/transfer';
import type { LeafHasherPool } from '../storage/hashpool';
import { contractCost } from './pricing';
import type {
  CommitFileResult, FileInfo, FindContractsVerbose, NegotiateStorageResult, OfferInfo, RenterRPCResults, ReplicaState, ReusableContract,
  SkippedContract
} from './rpctypes';
import {
  FEE_MARGIN, POLL_MS, RenterClientError, answeredByNode, message, reuseMinLeft,
  type FailedHost, type Placed, type Prepared, type RPCCall, type RenterEvents, type Target, type TargetOptions
} from './rentertypes';

/** `1 new contract`, `2 new contracts`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * The escrows of new contracts in one phrase, each amount said once:
 * `an allowance of 10000 sat` (one contract), `an allowance of 10000 sat
 * each (20000 sat in all)`, `allowances of 10000 to 12000 sat (22000 sat
 * in all)` (hosts' prices differ, so do default allowances).
 */
export function allowanceText(escrows: number[]): string {
  const total = escrows.reduce((a, b) => a + b, 0);
  const lo = Math.min(...escrows);
  const hi = Math.max(...escrows);
  if (escrows.length === 1)
    return `an allowance of ${lo} sat`;
  return lo === hi ? `an allowance of ${lo} sat each (${total} sat in all)`
    : `allowances of ${lo} to ${hi} sat (${total} sat in all)`;
}

/**
 * The renter client's shared state and steps (RenterClient adds put, get
 * and repair on top). Methods not in RenterClient's header are steps of
 * those flows, public only so their modules can call them.
 */
export class RenterCore {
  readonly call: RPCCall;
  readonly events: RenterEvents;
  /**
   * Errors of calls the node never answered (connection refused or cut,
   * its cookie gone: cloudcoind stopped or killed). What such a call did
   * is the node's to know: it may have done it, and a restarted node
   * finishes a put whose hosts countersigned.
   */
  private readonly unanswered = new WeakSet<object>();

  constructor(call: RPCCall, events: RenterEvents = {}) {
    this.call = call;
    this.events = events;
  }

  /** One typed call: the only place a result's shape is taken on trust. */
  rpc<M extends keyof RenterRPCResults>(method: M, params: unknown[]): Promise<RenterRPCResults[M]> {
    return (this.call(method, params) as Promise<RenterRPCResults[M]>).catch((e: unknown) => {
      if (!answeredByNode(e) && typeof e === 'object' && e !== null)
        this.unanswered.add(e);
      throw e;
    });
  }

  /** Whether `e` failed a call the node never answered (see `unanswered`): its outcome is unknown here. */
  lostNode(e: unknown): boolean {
    return typeof e === 'object' && e !== null && this.unanswered.has(e);
  }

  /**
   * A put that lost cloudcoind before its commitment: the client cannot
   * know the outcome (a restarted node may finish the put, and charge it,
   * or drop it), so it says so instead of "nothing was paid".
   */
  lostPut(fileId: Buffer, e: unknown): RenterClientError {
    return new RenterClientError('put-unclear', `lost cloudcoind during the put of file ${fileId.toString('hex')} (${message(e)}): `
      + 'the node may still complete the put when it runs again (and charge it), or drop it; '
      + 'check `cloudcoin-cli ls` before putting it again');
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

  warn(text: string): void {
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

  /**
   * Fails with the reasons when a negotiation got no offer; `excluded`
   * hosts were left out of it (they hold a copy of the file, or are being
   * left), so no peer left may still mean hosts are connected.
   */
  private noOffers(res: NegotiateStorageResult, excluded = 0): void {
    if (res.offers.length === 0) {
      const why = res.peers === 0 && excluded > 0
        ? `no CloudStorage peer is connected but the ${excluded} host(s) left out (they hold a copy of this file, or are being left for `
          + 'a worse score or a higher price): connect to other hosts'
        : res.peers === 0
        ? 'no CloudStorage peers are connected (start hosts with cloudcoind --host and connect to them)'
        : res.quoted === 0
          ? `none of ${res.peers} CloudStorage peers is hosting`
          : `no host accepted: ${res.declined.map((d) => `${d.host} ${d.reason}`).join('; ') || 'all too expensive'}`;
      throw new RenterClientError('no-hosts', `no storage offers: ${why}`);
    }
  }

  /**
   * Where the replicas go: open contracts first (findcontracts: enough
   * allowance and at least half the duration left, one per host), then
   * fresh offers from other hosts for the rest, saying so. `balance` is
   * the wallet's (sat), asked with the wallet check when new contracts are
   * needed (for checkFunds), else null.
   */
  async targets(objectSize: number, opts: TargetOptions, avoid: string[] = [])
    : Promise<{ reuse: ReusableContract[]; neg: NegotiateStorageResult; note: string; skipped: SkippedContract[]; balance: number | null;
      gaveUp: string[] }> {
    let note = '';
    const find = async () => {
      const found = opts.reuse === false ? { contracts: [], skipped: [] }
        : await this.rpc('findcontracts', [objectSize, reuseMinLeft(opts.duration), opts.maxPrice, opts.minScore ?? null, true]);
      // An older node answers the plain list.
      const out: FindContractsVerbose = Array.isArray(found) ? { contracts: found, skipped: [] } : found;
      return out;
    };
    let { contracts, skipped, open } = await find();
    const gaveUp = opts.name ? await this.giveUpEarlier(opts.name, skipped) : [];
    if (gaveUp.length)
      ({ contracts, skipped, open } = await find());
    const reuse = contracts.filter((r) => !avoid.includes(r.hostKey)).slice(0, opts.hosts);
    const need = opts.hosts - reuse.length;
    let neg: NegotiateStorageResult = { size: objectSize, duration: opts.duration, maxPrice: opts.maxPrice, height: 0,
      offers: [], declined: [], quoted: 0, peers: 0, minEscrow: 0 };
    let balance: number | null = null;
    if (need > 0) {
      // Two local calls, asked together.
      [, balance] = await Promise.all([this.checkUnlocked(need), this.balance()]);
      const exclude = [...avoid, ...reuse.map((r) => r.hostKey)];
      const args: unknown[] = [objectSize, opts.duration, opts.maxPrice, need, exclude];
      if (opts.allowance !== undefined || opts.minScore !== undefined)
        args.push(opts.allowance ?? null);
      if (opts.minScore !== undefined)
        args.push(opts.minScore);
      neg = await this.rpc('negotiatestorage', args);
      if (reuse.length === 0)
        this.noOffers(neg, avoid.length);
      // Why new contracts: say it in the words that fit (a first put has
      // no open contract at all; "on the other hosts" only when some were
      // reused).
      const room = `with room for ${objectSize} bytes and ${reuseMinLeft(opts.duration)} blocks left`;
      const why = opts.reuse === false ? 'open contracts not reused: --new-contracts'
        : reuse.length ? `${reuse.length} open contract(s) reused, no open contract ${room} on the other hosts`
          : skipped.length ? `${plural(skipped.length, 'open contract')} not reused: ${skipped.map((k) => `${k.id.slice(0, 12)} ${k.reason}`).join('; ')}`
            : contracts.length || open ? `no open contract ${room}` : 'no open contract yet';
      if (neg.offers.length > 0)
        note = `forming ${plural(neg.offers.length, 'new contract')} (${why}) with ${allowanceText(neg.offers.map((o) => o.escrow))}`
          + (opts.allowance === undefined ? ' (default: 1 GiB for the duration, at least the minimum escrow; --allowance sets it)'
            : opts.allowance < neg.minEscrow ? ` (--allowance ${opts.allowance} sat raised to the network's minimum escrow of ${neg.minEscrow} sat, `
              + 'which pays a close\'s fee many times over: contract parameters minEscrow and closeFeeMultiple)' : '');
    }
    this.checkEnough(reuse.length + neg.offers.length, opts.minHosts, 'made an offer or had an open contract', neg);
    return { reuse, neg, note, skipped, balance, gaveUp };
  }

  /**
   * A put of a name gives up an unfinished put of the same name that
   * holds open contracts by its pending revisions (its client was killed,
   * or the machine went down, and the user runs the put again): as rm
   * does, which settles them with the hosts at once, so this put reuses
   * the contracts instead of locking new escrows. Concurrent puts of one
   * name make no sense; the earlier one, if it still runs, fails on those
   * hosts. Returns the file ids given up.
   */
  private async giveUpEarlier(name: Buffer, skipped: SkippedContract[]): Promise<string[]> {
    const hex = name.toString('hex');
    const held = new Map<string, string[]>();
    for (const k of skipped) {
      if (k.put?.nameHex === hex)
        held.set(k.put.fileId, [...held.get(k.put.fileId) ?? [], k.id]);
    }
    for (const [fileId, ids] of held) {
      const what = `the unfinished put of ${JSON.stringify(name.toString('utf8'))} (file ${fileId.slice(0, 12)}) holding open `
        + `contract(s) ${ids.map((id) => id.slice(0, 12)).join(', ')}`;
      try {
        const res = await this.rpc('deletefile', [fileId]);
        this.warn(res.forgotten ? `gave up ${what}, as rm does: the contracts are free for this put`
          : `${what} is still held: ${res.kept.map((k) => `${k.host}: ${k.reason}`).join('; ')}`);
      } catch (e) {
        this.warn(`could not give up ${what}: ${message(e)}`);
      }
    }
    return [...held.keys()];
  }

  /** The states of a file's replicas in contracts `ids`: from commitfile's answer (`known`), or getfile for an older node. */
  async states(fileId: string, ids: string[], known?: { contractId: string; state: ReplicaState }[]): Promise<ReplicaState[]> {
    const replicas = known ?? (await this.rpc('getfile', [fileId])).replicas;
    return ids.map((id) => replicas.find((r) => r.contractId === id)?.state ?? 'pending');
  }

  /**
   * A shortfall under --min-hosts fails, saying why and when open offers
   * lapse; `kept` is why the node kept the file (it refused to forget a
   * copy a host countersigned or may have), else nothing was paid.
   */
  checkEnough(got: number, min: number, what: string, neg: NegotiateStorageResult, failed: FailedHost[] = [],
    kept: string | null = null): void {
    if (got >= min)
      return;
    const reasons = [...neg.declined.map((d) => `${d.host}: ${d.reason}`), ...failed.map((f) => `${f.host}: ${f.reason}`)];
    const until = neg.offers.length ? Math.max(...neg.offers.map((o) => o.reservedUntil)) : 0;
    const offers = neg.offers.length
      ? `; the ${neg.offers.length} open offer(s) are reused by a put with the same terms until block ${until}, then released`
      : '';
    const paid = kept === null ? 'nothing was paid'
      : `the file is kept, not forgotten: a host countersigned a copy, or may have (its answer was lost), paid from its contract (${kept})`;
    throw new RenterClientError('too-few-hosts', `only ${got} host(s) ${what}, ${min} needed (--min-hosts); ${paid}`
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
        + 'paid from it: unlock it first with `cloudcoin-cli -stdinwalletpassphrase walletpassphrase SECONDS` (the passphrase typed, not on the command line); nothing was paid');
  }

  /** The wallet's balance in sat (getbalance answers BTC, as bitcoind's). */
  private async balance(): Promise<number> {
    return Math.round(Number(await this.rpc('getbalance', [])) * 1e8);
  }

  /** New contracts' escrows and a fee margin must be in the wallet: `balance` (sat) when already asked. */
  async checkFunds(offers: OfferInfo[], known: number | null = null): Promise<void> {
    if (offers.length === 0)
      return;
    const needed = offers.reduce((sum, o) => sum + o.escrow, 0) + FEE_MARGIN;
    const balance = known ?? await this.balance();
    if (balance < needed)
      throw new RenterClientError('insufficient-funds', `insufficient funds: the escrows need ${needed} sat with fees, the wallet has ${balance} sat`);
  }

  /** Splits settled placements into the placed ones and the hosts that failed (warned, but for those `quiet` leaves to one line). */
  settle(targets: Target[], results: PromiseSettledResult<Placed>[], quiet: (reason: unknown) => boolean = () => false)
    : { placed: Placed[]; failed: FailedHost[] } {
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
      // A new contract is committed only later, by commitfile; an open
      // contract's revision may be countersigned already (its answer lost).
      if (!quiet(r.reason))
        this.warn(`host ${host} failed${'offer' in t ? ', nothing committed to it' : ''}: ${message(r.reason)}`);
    });
    return { placed, failed };
  }

  /**
   * Record the object (a new contract, or a revision of an open one),
   * upload it, and have the host countersign.
   */
  async placeObject(allowance: number | undefined, fileId: Buffer, target: Target, obj: Prepared): Promise<Placed> {
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
        formula: o.formula, uploaded: obj.size, delta: false };
    } else {
      const r = target.reuse;
      const args: unknown[] = [r.id, root, obj.size, fileId.toString('hex'), obj.salt.toString('hex')];
      if (obj.shard !== null)
        args.push(null, obj.shard);
      else if (obj.chunks)
        args.push(null, null, obj.chunks.toHex());
      const p = await this.rpc('proposerevision', args);
      token = p.dataToken;
      placed = { target, id: p.id, object: p.object, shard: obj.shard, number: p.number, host: r.host, addr: '',
        dataURL: p.dataURL, manifestToken: p.manifestToken, prices: r.prices, cost: contractCost(obj.size, r.blocksLeft, r.prices), escrowValue: r.allowance,
        formula: `revision ${p.number} of contract ${r.id.slice(0, 12)} (no transaction; ${r.blocksLeft} blocks left)`,
        uploaded: obj.size, delta: !!obj.chunks };
    }
    let sent = 0;
    const progress = (done: number) => {
      if (this.events.uploaded)
        this.events.uploaded(done - sent);
      sent = done;
    };
    const client = new FileServerClient(placed.dataURL);
    if (obj.key) {
      await uploadEncrypted({ client, token, contract: placed.id, object: placed.object }, obj.key, work, { progress });
    } else {
      await client.uploadFile(token, placed.id, placed.object, work, undefined, progress);
      fs.rmSync(work, { force: true });
    }
    await this.rpc('getstoragereceipt', [placed.id, placed.number]);
    return placed;
  }

  /**
   * The node funds and broadcasts the commitment. Only an answer from the
   * node makes a failure certain; a lost connection leaves the outcome to
   * the node, which keeps the file either way.
   */
  async commit(fileId: Buffer, min: number, failed: FailedHost[], prints: Buffer | null = null): Promise<CommitFileResult> {
    let res: CommitFileResult;
    try {
      res = await this.rpc('commitfile', prints ? [fileId.toString('hex'), min, prints.toString('hex')] : [fileId.toString('hex'), min]);
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
  async putManifest(live: Placed[], manifest: Buffer): Promise<void> {
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
   * Download one object of a contract to `dest` and check it against the
   * root and size the contract holds; throws (and leaves no file) if not.
   */
  async download(r: FileInfo['replicas'][number], dest: string, pool?: LeafHasherPool): Promise<void> {
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
}
