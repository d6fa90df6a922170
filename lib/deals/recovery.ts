/*!
 * recovery.ts - the renter's file list found again from its hosts after a
 * restore from the wallet seed (`recoverfiles`, `cloudcoin-cli recover`).
 *
 * A restored node finds its contracts again (the chain index, its escrow
 * keys from the seed) but not its files: they live in the sealed manifest
 * each host of a put holds as object 0 (PROTOCOL 4.5). For every contract
 * of ours the chain says is committed or active, the node asks its host
 * for a `get` token on object 0 (`storage.token`, PROTOCOL 5: the host
 * hands it only to the contract's renter key, which the restored node
 * derives again from the seed and proves by signing the request), fetches
 * the sealed manifest over HTTP and opens it with the key the seed gives.
 *
 * Manifests differ between hosts: a host holds the one sealed at the last
 * put, repair or removal that touched it (each lists every file whose put
 * completed, with its paid-for copies only: RenterFiles#manifest). A file
 * is taken from the newest manifest (by `updated`) among those of the
 * contracts it names; if that manifest no longer lists it, it was deleted
 * (or pruned) since, and it is not brought back. When none of those
 * contracts' hosts answered, the newest manifest that lists it is used.
 * A file this node already found in an older manifest (an earlier run,
 * say before a repair's new contract had confirmed) is replaced by the
 * newer entry; a file this node wrote itself is left as it is.
 *
 * Each contract found again is then taken over (takeover.ts): the node
 * adopts the revisions, objects and channel state its host holds, checked,
 * and treats it as its own from then on (prepaid gets, audits, payments,
 * rm, renewal). A recovered copy in it that its host does not hold (a put
 * that never completed, listed by a manifest an older node sealed) is
 * dropped then. A host whose state does not hold is named with why, and
 * the contract stays read-only until a later run takes it over.
 *
 * A node started with --restore-mnemonic-file does this on its own
 * (AutoRecover) as it finds contracts it did not form; `recover` does it
 * by hand, over every committed or active contract of ours.
 */

import type { StorageContract } from '../contracts/storagecontract';
import { Manifest, type ManifestFile } from '../storage/manifest';
import { Rerunner } from '../base/rerun';
import type { TakeoverResult } from './takeover';

/** What adopting one file did (RecoveryContext#adopt). */
export type AdoptOutcome = 'new' | 'newer' | 'known';

/** Contract states whose host still holds the renter's data. */
export const RECOVERABLE_STATES: ReadonlySet<string> = new Set(['committed', 'active']);

/** What recovery needs from the node. */
export interface RecoveryContext {
  /** Our identity key (the renter key of our contracts). */
  identityKey(): Promise<Buffer>;
  /** Every contract the chain index knows, with its state. */
  contracts(): Promise<Array<{ state: string; contract: StorageContract }>>;
  /** Dial hosts we are not connected to (by their announcements). */
  reach(keys: Buffer[]): Promise<void>;
  /** The sealed manifest a contract's host holds (object 0). */
  fetchManifest(hostKey: Buffer, contractId: Buffer): Promise<Buffer>;
  /** The storage master secret (from the seed) that seals manifests. */
  master(): Buffer;
  /**
   * Store a file found again in a manifest written at `updated` (unix s):
   * 'new' if unknown here, 'newer' if it replaced the entry of an older
   * manifest, 'known' if left as it was.
   */
  adopt(file: ManifestFile, updated: number): Promise<AdoptOutcome>;
  /**
   * Take a contract over from its host (takeover.ts) unless this node
   * already holds it as its own (then null); throws with why it refused.
   */
  takeOver(c: StorageContract): Promise<TakeoverResult | null>;
  /** After a takeover: drop recovered copies in this contract its host does not hold (never uploaded); files changed. */
  dropUnheld(id: Buffer): Promise<number>;
  addressOf(pk: Buffer): string;
}

/** One contract's part in a recovery (recoverfiles JSON). */
export interface RecoveredContract {
  id: string;
  host: string;
  /** Files its manifest lists, or null if it could not be read. */
  files: number | null;
  /** The manifest's `updated` (unix s), or null. */
  updated: number | null;
  error: string | null;
  /** Taken over by this run (its host's state adopted), or already this node's own. */
  takenOver: boolean;
  /** Why its host's state was not adopted, or null. */
  takeoverError: string | null;
}

/** recoverfiles JSON. */
export interface RecoverResult {
  contracts: RecoveredContract[];
  /** Files stored by this run. */
  recovered: Array<{ fileId: string; name: string; nameHex: string; revision: number; size: number }>;
  /** Files the node already knew, left as they were. */
  known: number;
  /** Files found in an older manifest by an earlier run, replaced by a newer manifest's entry. */
  updated: Array<{ fileId: string; name: string; nameHex: string; revision: number; replicas: number }>;
  /** Files an older manifest lists but the newest of their contracts no longer does (deleted). */
  deleted: number;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Choose, for each file any manifest lists, the entry of the newest
 * manifest among those of the contracts the file names; a file that
 * newest manifest does not list was deleted. Ties: an entry wins over
 * absence, and the entry with more replicas wins. `updated[i]` is the
 * `updated` of the manifest `files[i]` was taken from.
 */
export function mergeManifests(got: Array<{ contractId: Buffer; manifest: Manifest }>)
  : { files: ManifestFile[]; updated: number[]; deleted: number } {
  const byContract = new Map(got.map((g) => [g.contractId.toString('hex'), g.manifest]));
  const seen = new Map<string, Manifest[]>();
  for (const g of got) {
    for (const f of g.manifest.files) {
      const key = f.fileId.toString('hex');
      seen.set(key, [...(seen.get(key) ?? []), g.manifest]);
    }
  }
  const entry = (m: Manifest, key: string) => m.files.find((f) => f.fileId.toString('hex') === key);
  const files: ManifestFile[] = [];
  const updated: number[] = [];
  let deleted = 0;
  for (const [key, listing] of seen) {
    const named = new Set(listing.flatMap((m) => entry(m, key)?.replicas.map((r) => r.contractId.toString('hex')) ?? []));
    let manifests = [...named].map((id) => byContract.get(id)).filter((m): m is Manifest => m !== undefined);
    // None of its own hosts answered: the newest manifest listing it is all there is.
    if (manifests.length === 0)
      manifests = listing;
    const newest = Math.max(...manifests.map((m) => m.updated));
    const best = manifests.filter((m) => m.updated === newest)
      .map((m) => entry(m, key))
      .filter((f): f is ManifestFile => f !== undefined)
      .sort((a, b) => b.replicas.length - a.replicas.length)[0];
    if (best) {
      files.push(best);
      updated.push(newest);
    } else {
      deleted += 1;
    }
  }
  return { files, updated, deleted };
}

/** Find the renter's files again from the manifests its hosts hold (`only`: those contracts of ours it accepts). */
export async function recoverFiles(ctx: RecoveryContext, only: (c: StorageContract) => Promise<boolean> = async () => true)
  : Promise<RecoverResult> {
  const ours = await recoverable(ctx, only);
  await ctx.reach([...new Map(ours.map((c) => [c.hostKey.toString('hex'), c.hostKey])).values()]);
  const contracts: RecoveredContract[] = [];
  const got: Array<{ contractId: Buffer; manifest: Manifest }> = [];
  for (const c of ours) {
    const row: RecoveredContract = { id: c.id(), host: ctx.addressOf(c.hostKey), files: null, updated: null, error: null,
      takenOver: false, takeoverError: null };
    contracts.push(row);
    try {
      const manifest = Manifest.open(ctx.master(), await ctx.fetchManifest(c.hostKey, c.hash()));
      got.push({ contractId: c.hash(), manifest });
      row.files = manifest.files.length;
      row.updated = manifest.updated;
    } catch (e) {
      row.error = message(e);
    }
  }
  const merged = mergeManifests(got);
  const result: RecoverResult = { contracts, recovered: [], known: 0, updated: [], deleted: merged.deleted };
  for (const [i, f] of merged.files.entries()) {
    const outcome = await ctx.adopt(f, merged.updated[i]);
    if (outcome === 'new')
      result.recovered.push({ fileId: f.fileId.toString('hex'), name: f.name.toString('utf8'), nameHex: f.name.toString('hex'),
        revision: f.revision, size: f.size });
    else if (outcome === 'newer')
      result.updated.push({ fileId: f.fileId.toString('hex'), name: f.name.toString('utf8'), nameHex: f.name.toString('hex'),
        revision: f.revision, replicas: f.replicas.length });
    else
      result.known += 1;
  }
  // After the files: the objects it adopts are named after them.
  for (const [i, c] of ours.entries()) {
    try {
      await ctx.takeOver(c);
      contracts[i].takenOver = true;
      await ctx.dropUnheld(c.hash());
    } catch (e) {
      contracts[i].takeoverError = message(e);
    }
  }
  return result;
}

/** Our committed or active contracts that `only` accepts. */
async function recoverable(ctx: RecoveryContext, only: (c: StorageContract) => Promise<boolean>): Promise<StorageContract[]> {
  const me = await ctx.identityKey();
  const out: StorageContract[] = [];
  for (const c of await ctx.contracts()) {
    if (c.contract.renterKey.equals(me) && RECOVERABLE_STATES.has(c.state) && await only(c.contract))
      out.push(c.contract);
  }
  return out;
}

/**
 * Recovery on its own, on a node started with --restore-mnemonic-file:
 * after each block, once the chain has shown contracts of ours this node
 * did not form (no renter record here: found again from the seed) whose
 * manifest it has not read, it runs recoverFiles over all of those, so
 * the files come back as the contracts do, without `recover`. Manifests
 * that could not be read are tried again every RETRY_BLOCKS blocks.
 */
export class AutoRecover {
  static readonly RETRY_BLOCKS = 6;
  /** Contracts whose manifest was asked for, and those read. */
  private readonly tried = new Set<string>();
  private readonly read = new Set<string>();
  private failedAt = -Infinity;
  private readonly runner: Rerunner;
  private height = 0;

  /**
   * @param foreign true for a contract this node did not form (no renter record)
   * @param log one line per run that read manifests
   */
  constructor(private readonly ctx: RecoveryContext, private readonly foreign: (c: StorageContract) => Promise<boolean>,
    private readonly log: (level: 'info' | 'warning', msg: string) => void) {
    this.runner = new Rerunner(() => this.run(), (e) => this.log('warning', `recover: ${e.message}`));
  }

  kick(height: number): Promise<void> {
    this.height = height;
    return this.runner.kick();
  }

  idle(): Promise<void> {
    return this.runner.idle();
  }

  private async run(): Promise<void> {
    const ours = await recoverable(this.ctx, this.foreign);
    const fresh = ours.some((c) => !this.tried.has(c.id()));
    const retry = ours.some((c) => !this.read.has(c.id())) && this.height >= this.failedAt + AutoRecover.RETRY_BLOCKS;
    if (!fresh && !retry)
      return;
    const res = await recoverFiles(this.ctx, this.foreign);
    for (const c of res.contracts) {
      this.tried.add(c.id);
      if (c.error === null && c.takeoverError === null)
        this.read.add(c.id);
    }
    const failed = res.contracts.filter((c) => c.error !== null || c.takeoverError !== null);
    if (failed.length)
      this.failedAt = this.height;
    this.log('info', `recover: ${res.recovered.length} file(s) recovered, ${res.updated.length} updated from ${res.contracts.filter((c) => c.error === null).length} manifest(s)`
      + `, ${res.contracts.filter((c) => c.takenOver).length} contract(s) taken over`
      + (failed.length ? `; ${failed.length} not read or not taken over (${failed.map((c) => `${c.host}: ${c.error ?? c.takeoverError}`)
        .join('; ')})` : ''));
  }
}
