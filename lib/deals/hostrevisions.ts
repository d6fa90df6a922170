/*!
 * hostrevisions.ts - a contract's data changing on the host: revise,
 * receipt, revision, and dropping revisions whose upload never finished.
 *
 *   revise   -> revision n+1 with its changes (objects added, removed): the
 *               host checks numbers, accrual and allowance, registers the
 *               added objects and returns upload tokens; a revision that
 *               only removes is final at once and frees the space
 *   receipt  -> after the upload: the backend confirms every added object,
 *               the host countersigns the revision, fsyncs it and answers
 *               with it (the renter commits a new contract only after all)
 *   revision -> the latest revision both signed
 *   latest   -> every revision both signed, the latest one's objects and
 *               the latest channel state the renter signed (paged): what a
 *               renter restored from its seed takes the contract over with
 *
 * Every change runs under HostCore's lock, one revision at a time.
 */

import type { StorageContract } from '../contracts/storagecontract';
import type { Revision } from '../contracts/revision';
import { verifyRevisionSigs } from '../contracts/revision';
import type { ObjectEntry } from '../contracts/objecttree';
import { ContractError } from '../contracts/errors';
import { ZERO_HASH } from '../base/consts';
import type { RequestContext } from '../negotiator/services';
import { statuses } from '../negotiator/status';
import { footprint } from '../storage/storetypes';
import { BAD_TERMS, NO_CAPACITY, REVISION_HEIGHT_SLACK, getDealParams } from './common';
import { checkNextRevision } from './revisions';
import { ContractArgs, ReceiptArgs, ReviseArgs, ReviseResult } from './wire';
import { LatestArgs, LatestResult, MAX_LATEST_OBJECTS, MAX_LATEST_REVISIONS } from './latestwire';
import { type ContractObject, PendingRevision } from './dealrecords';
import { HostCore, UPLOAD_TOKEN_SECONDS, decline, parse } from './hostcommon';

/** Revisions of formed contracts. */
export class HostRevisions {
  readonly core: HostCore;
  /** Free bytes (capacity less contracts and open offers, hostformation.ts). */
  private readonly freeCapacity: () => Promise<number>;

  constructor(core: HostCore, freeCapacity: () => Promise<number>) {
    this.core = core;
    this.freeCapacity = freeCapacity;
  }

  /**
   * Revision n+1: check it (numbers only grow, exact accrual, the
   * allowance pays it to the end), then either make it final at once
   * (it only removes objects: they are deleted and the space is free) or
   * record it and register the objects it adds, answering with upload
   * tokens; `receipt` makes it final after the upload. A revision with the
   * number of one still pending replaces it (the renter gave that one up);
   * the same one again is answered again.
   */
  async revise(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ReviseArgs.decode(args));
    const rev = a.revision;
    const c = await this.core.renterContract(rev.contractId, ctx);
    // [DECLINE] the renter must have signed it
    if (!verifyRevisionSigs(c, rev, false))
      throw decline(BAD_TERMS, 'revision-bad-sig');
    return this.core.lock.run(async () => {
      const id = c.hash();
      const latest = await this.core.ctx.store.latestRevision(id);
      // [DECLINE] revision 0 is not final yet (its upload has no receipt)
      if (!latest)
        throw decline(BAD_TERMS, 'not-formed');
      const pending = await this.core.ctx.store.getPending(id);
      const again = pending !== null && pending.revision.hash().equals(rev.hash());
      const floor = pending ? pending.revision.nextObject : 0;
      if (!again) {
        try {
          checkNextRevision(c, latest, await this.core.ctx.store.listObjects(id), { add: a.add, remove: a.remove },
            rev, floor, this.core.ctx.height(), REVISION_HEIGHT_SLACK);
        } catch (e) {
          if (e instanceof ContractError)
            throw decline(BAD_TERMS, e.code);
          throw e;
        }
        const added = a.add.reduce((sum, o) => sum + footprint(o.size), 0);
        // [DECLINE] no room for what it adds
        if (added > await this.freeCapacity())
          throw decline(NO_CAPACITY, 'no-capacity');
        if (pending)
          await this.dropPendingObjects(c, pending);
      }
      const res = new ReviseResult();
      res.dataURL = this.core.ctx.dataURL();
      if (a.add.length === 0) {
        await this.finish(c, rev, [], a.remove);
        res.hostSig = rev.hostSig;
        // The renter re-seals its manifest without the removed files (a
        // recovery from the seed trusts the newest one).
        res.manifestToken = this.core.manifestToken(c, this.core.now() + UPLOAD_TOKEN_SECONDS);
        return res.encode();
      }
      if (!again) {
        const p = new PendingRevision();
        p.revision = rev;
        p.add = a.add.map((o) => ({ ...o, fileId: ZERO_HASH }));
        p.remove = a.remove;
        await this.core.ctx.store.putPending(id, p);
      }
      await this.registerObjects(c, a.add);
      const notAfter = this.core.now() + UPLOAD_TOKEN_SECONDS;
      res.dataTokens = this.core.putTokens(c, a.add, notAfter);
      res.manifestToken = this.core.manifestToken(c, notAfter);
      return res.encode();
    });
  }

  /** Register added objects with the backend (idempotent); on failure none stays and the pending revision goes. */
  private async registerObjects(c: StorageContract, add: readonly ObjectEntry[]): Promise<void> {
    const backend = this.core.mustBackend();
    const idHex = c.id();
    try {
      for (const o of add)
        await backend.registerObject(idHex, o.id, { root: o.root.toString('hex'), size: o.size });
    } catch (e) {
      const p = await this.core.ctx.store.getPending(c.hash());
      if (p)
        await this.dropPendingObjects(c, p);
      await this.core.ctx.store.dropPending(c.hash());
      const code = (e as { code?: unknown }).code;
      throw decline(code === 'no-capacity' ? NO_CAPACITY : statuses.SERVER_ERROR,
        code === 'no-capacity' ? 'no-capacity' : 'backend-failed');
    }
  }

  /** Free what an abandoned pending revision registered. */
  private async dropPendingObjects(c: StorageContract, p: PendingRevision): Promise<void> {
    const backend = this.core.mustBackend();
    for (const o of p.add) {
      try {
        await backend.deleteObject(c.id(), o.id);
      } catch (e) {
        // [DECLINE] its upload is being written right now
        if ((e as { code?: unknown }).code === 'busy')
          throw decline(statuses.BUSY, 'upload-in-progress');
        if (!HostCore.gone(e))
          throw decline(statuses.SERVER_ERROR, 'backend-failed');
      }
    }
  }

  /**
   * Make `rev` final: delete the objects it removes (first: a crash before
   * the revision is stored leaves the renter's retry to find them gone,
   * never bytes nobody pays for), countersign, and store it with the new
   * object list in one synced batch.
   */
  async finish(c: StorageContract, rev: Revision, add: ContractObject[], remove: number[]): Promise<void> {
    const backend = this.core.mustBackend();
    for (const n of remove) {
      try {
        await backend.deleteObject(c.id(), n);
      } catch (e) {
        if ((e as { code?: unknown }).code === 'busy')
          throw decline(statuses.BUSY, 'upload-in-progress');
        if (!HostCore.gone(e))
          throw decline(statuses.SERVER_ERROR, 'backend-failed');
      }
    }
    rev.sign(this.core.ctx.identity(), c);
    await this.core.ctx.store.applyRevision({ id: c.hash(), revision: rev, add, remove });
  }

  /**
   * After the upload: the host checks that the backend holds every object
   * the revision adds, complete and exactly as registered, countersigns,
   * stores it (synced) and answers with it. A revision already final is
   * answered again (the renter may have lost the first answer).
   */
  async receipt(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ReceiptArgs.decode(args));
    const c = await this.core.renterContract(a.id, ctx);
    return this.core.lock.run(async () => {
      const done = await this.core.ctx.store.getRevision(a.id, a.number);
      if (done)
        return done.encode();
      const p = await this.core.ctx.store.getPending(a.id);
      // [DECLINE] no such revision pending
      if (!p || p.revision.number !== a.number)
        throw decline(statuses.BAD_REQUEST, 'unknown-revision');
      const backend = this.core.mustBackend();
      for (const o of p.add) {
        let got;
        try {
          got = await backend.receipt(c.id(), o.id);
        } catch {
          throw decline(BAD_TERMS, 'upload-incomplete');
        }
        // [DECLINE] the stored object must be exactly what the revision names
        if (got.root !== o.root.toString('hex') || got.size !== o.size)
          throw decline(BAD_TERMS, 'upload-mismatch');
      }
      await this.finish(c, p.revision, p.add, p.remove);
      return p.revision.encode();
    });
  }

  /** The latest revision both signed: what this host holds for the renter. */
  async revision(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => ContractArgs.decode(args));
    await this.core.renterContract(a.id, ctx);
    const latest = await this.core.ctx.store.latestRevision(a.id);
    if (!latest)
      throw decline(BAD_TERMS, 'not-formed');
    return latest.encode();
  }

  /**
   * What this host holds of a contract, for its renter taking it over
   * after a restore from its seed (renter side: takeover.ts): the latest
   * revision both signed, the revisions from `fromRevision` on and the
   * latest revision's objects from `fromObject` on (a page each, flagged
   * when more follow), and the latest channel state the renter signed
   * with its prepaid sat and missed intervals. Only the contract's renter
   * key may ask (the envelope's signed `from`), as for every method.
   */
  async latest(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const a = parse(() => LatestArgs.decode(args));
    await this.core.renterContract(a.id, ctx);
    // One revision at a time: the page is one revision's, never half of the next.
    return this.core.lock.run(async () => {
      const latest = await this.core.ctx.store.latestRevision(a.id);
      // [DECLINE] revision 0 is not final yet
      if (!latest)
        throw decline(BAD_TERMS, 'not-formed');
      const res = new LatestResult();
      res.latest = latest;
      const revisions = (await this.core.ctx.store.listRevisions(a.id)).filter((r) => r.number >= a.fromRevision);
      res.revisions = revisions.slice(0, MAX_LATEST_REVISIONS);
      res.moreRevisions = revisions.length > MAX_LATEST_REVISIONS;
      const objects = (await this.core.ctx.store.listObjects(a.id)).filter((o) => o.id >= a.fromObject)
        .sort((x, y) => x.id - y.id);
      res.objects = objects.slice(0, MAX_LATEST_OBJECTS).map(({ id, root, size }) => ({ id, root, size }));
      res.moreObjects = objects.length > MAX_LATEST_OBJECTS;
      const stored = await this.core.ctx.latestState(a.id);
      if (stored?.state)
        res.state = { state: stored.state, prepaid: stored.prepaid, missed: [...(stored.missed ?? [])] };
      return res.encode();
    });
  }

  /**
   * A revision the renter never finished uploading (it gave up or died)
   * is dropped after two offer windows, with the objects it registered,
   * so capacity returns; revision 0 goes with its contract above.
   */
  async dropStale(c: StorageContract, height: number): Promise<void> {
    await this.core.lock.run(async () => {
      const p = await this.core.ctx.store.getPending(c.hash());
      const stale = 2 * getDealParams(this.core.ctx.network).offerWindow;
      if (!p || p.revision.number === 0 || p.revision.height + stale >= height)
        return;
      try {
        await this.dropPendingObjects(c, p);
      } catch {
        return; // being written: next time
      }
      await this.core.ctx.store.dropPending(c.hash());
    });
  }

}
