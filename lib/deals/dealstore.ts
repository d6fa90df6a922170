/*!
 * dealstore.ts - what deals must remember across restarts, on either side
 * of a contract: the contract, every revision both parties signed, the
 * revision the renter signed and the host has not countersigned yet, and
 * the objects the latest revision holds (the renter also records which of
 * its files each object is). A host also keeps the escrows it saw funded;
 * a renter its files (its manifest). The records themselves are in
 * dealrecords.ts.
 *
 * Durability: every change of a contract's revisions and objects is one
 * leveldb batch written with sync (fsync) before anyone is told it
 * happened: the host before it answers, the renter before it reports a
 * put done. A crash leaves either the old state or the new, never half.
 */

import { randomBytes } from 'crypto';
import bdb = require('../bdb');
import { writeSync } from '../contracts/syncwrite';
import bio = require('bufio');
import * as path from 'path';
import { StorageContract } from '../contracts/storagecontract';
import { Revision } from '../contracts/revision';
import { ManifestFile, Manifest } from '../storage/manifest';
import { layout, DB_VERSION } from './layout';
import { AuditRecord } from './audits';
import { RepairRecord } from './repairlog';
import { SignedPayment } from './payments';
import {
  type AuditTokenRecord, type ContractObject, PendingRevision, RenterContract, type RevisionUpdate, decodeObject, encodeObject
} from './dealrecords';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** s[id] of an escrow seen funded in a block since disconnected (no height reaches it). */
const DISCONNECTED = 0xffffffff;

export class DealStore {
  readonly db: bdb.DB;
  /** `updated` of the last manifest made (unix s). */
  private lastManifest = 0;
  /**
   * Bumped before and after every write of a renter contract record, so
   * `renewals` is rebuilt once after a change instead of being read
   * again per contract (listcontracts asks it of each contract: reading
   * every record each time made a listing quadratic, about 1 s CPU at
   * 190 contracts).
   */
  private renterWrites = 0;
  private renewals: { writes: number; byPrev: Map<string, string> } | null = null;

  constructor(options: { datadir: string; memory: boolean }) {
    this.db = bdb.create({
      memory: options.memory,
      location: path.join(options.datadir, 'deals')
    });
  }

  async open(): Promise<void> {
    await this.db.open();
    await this.db.verify(layout.V.build(), 'deals', DB_VERSION);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  // The host's contracts.

  /** A contract the host countersigned, with its pending revision 0 (one synced batch). */
  async putHosted(c: StorageContract, pending: PendingRevision): Promise<void> {
    const b = this.db.batch();
    b.put(layout.h.build(c.hash()), c.encode());
    b.put(layout.p.build(c.hash()), pending.encode());
    await writeSync(b);
  }

  async getHosted(id: Buffer): Promise<StorageContract | null> {
    const raw = await this.db.get(layout.h.build(id));
    return raw ? StorageContract.decode(raw) : null;
  }

  /** Forget a hosted contract and everything kept for it. */
  async deleteHosted(id: Buffer): Promise<void> {
    const b = this.db.batch();
    b.del(layout.h.build(id));
    b.del(layout.s.build(id));
    await this.dropState(b, id);
    await writeSync(b);
  }

  /** Record that a hosted contract's escrow output was seen in a block. */
  async markFunded(id: Buffer, height: number): Promise<void> {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(height, 0);
    await this.db.put(layout.s.build(id), v);
  }

  /**
   * Funded marks made at `height` (its block was disconnected) turn into
   * "seen once": maintain() keeps such a contract's data W blocks past its
   * offer, as a reorg may confirm the commitment again.
   */
  async unmarkFundedAt(height: number): Promise<void> {
    const rows = await this.db.range({ gte: layout.s.min(), lte: layout.s.max() });
    const b = this.db.batch();
    for (const { key, value } of rows) {
      if (value.readUInt32LE(0) === height)
        b.put(key, u32(DISCONNECTED));
    }
    await b.write();
  }

  /** Funded in a block of the current chain. */
  async isFunded(id: Buffer): Promise<boolean> {
    const raw = await this.db.get(layout.s.build(id));
    return raw !== null && raw.readUInt32LE(0) !== DISCONNECTED;
  }

  /** Funded in a block, now or in one since disconnected. */
  async wasFunded(id: Buffer): Promise<boolean> {
    return (await this.db.get(layout.s.build(id))) !== null;
  }

  async listHosted(): Promise<StorageContract[]> {
    return this.db.values({
      gte: layout.h.min(),
      lte: layout.h.max(),
      parse: (raw: Buffer) => StorageContract.decode(raw)
    });
  }

  async countHosted(): Promise<number> {
    const keys = await this.db.keys({ gte: layout.h.min(), lte: layout.h.max() });
    return keys.length;
  }

  // Revisions, pending revisions and objects (either side).

  /** The latest revision both signed, or null before revision 0 is final. */
  async latestRevision(id: Buffer): Promise<Revision | null> {
    const raw = await this.db.get(layout.n.build(id));
    return raw ? this.getRevision(id, raw.readUInt32LE(0)) : null;
  }

  async getRevision(id: Buffer, number: number): Promise<Revision | null> {
    if (number > 0xffffffff)
      return null;
    const raw = await this.db.get(layout.v.build(id, number));
    return raw ? Revision.decode(raw) : null;
  }

  /** Every revision both signed, ascending (what accrual reads). */
  async listRevisions(id: Buffer): Promise<Revision[]> {
    return this.db.values({
      gte: layout.v.min(id),
      lte: layout.v.max(id),
      parse: (raw: Buffer) => Revision.decode(raw)
    });
  }

  async getPending(id: Buffer): Promise<PendingRevision | null> {
    const raw = await this.db.get(layout.p.build(id));
    return raw ? PendingRevision.decode(raw) : null;
  }

  /** Store a pending revision (replacing any), with renter records and files, synced. */
  async putPending(id: Buffer, pending: PendingRevision, renter?: RenterContract, files: ManifestFile[] = []): Promise<void> {
    const b = this.db.batch();
    b.put(layout.p.build(id), pending.encode());
    if (renter)
      b.put(layout.r.build(id), renter.encode());
    for (const f of files) {
      b.put(layout.f.build(f.fileId), f.encode());
      b.del(layout.A.build(f.fileId));
    }
    await this.writeRenter(b, renter !== undefined);
  }

  /** Drop a pending revision (abandoned), with file updates, synced. */
  async dropPending(id: Buffer, files: ManifestFile[] = [], goneFiles: Buffer[] = []): Promise<void> {
    const b = this.db.batch();
    b.del(layout.p.build(id));
    for (const f of files) {
      b.put(layout.f.build(f.fileId), f.encode());
      b.del(layout.A.build(f.fileId));
    }
    for (const fid of goneFiles) {
      b.del(layout.f.build(fid));
      b.del(layout.A.build(fid));
    }
    await writeSync(b);
  }

  /** The objects of a contract's latest countersigned revision, by id. */
  async listObjects(id: Buffer): Promise<ContractObject[]> {
    const rows = await this.db.range({ gte: layout.o.min(id), lte: layout.o.max(id) });
    return rows.map(({ key, value }) => decodeObject((layout.o.parse(key) as [Buffer, number])[1], value));
  }

  async getObject(id: Buffer, object: number): Promise<ContractObject | null> {
    if (!Number.isInteger(object) || object < 0 || object > 0xffffffff)
      return null;
    const raw = await this.db.get(layout.o.build(id, object));
    return raw ? decodeObject(object, raw) : null;
  }

  /**
   * Make a countersigned revision final: store it, drop the pending one,
   * change the object list (and the renter's records), in one synced batch.
   */
  async applyRevision(u: RevisionUpdate): Promise<void> {
    const b = this.db.batch();
    b.put(layout.v.build(u.id, u.revision.number), u.revision.encode());
    const n = Buffer.alloc(4);
    n.writeUInt32LE(u.revision.number, 0);
    b.put(layout.n.build(u.id), n);
    b.del(layout.p.build(u.id));
    for (const id of u.remove)
      b.del(layout.o.build(u.id, id));
    for (const o of u.add)
      b.put(layout.o.build(u.id, o.id), encodeObject(o));
    if (u.renter)
      b.put(layout.r.build(u.id), u.renter.encode());
    for (const f of u.files ?? []) {
      b.put(layout.f.build(f.fileId), f.encode());
      b.del(layout.A.build(f.fileId));
    }
    await this.writeRenter(b, u.renter !== undefined);
  }

  private async dropState(b: bdb.Batch, id: Buffer): Promise<void> {
    b.del(layout.p.build(id));
    b.del(layout.n.build(id));
    for (const key of await this.db.keys({ gte: layout.v.min(id), lte: layout.v.max(id) }))
      b.del(key);
    for (const key of await this.db.keys({ gte: layout.o.min(id), lte: layout.o.max(id) }))
      b.del(key);
    for (const key of await this.db.keys({ gte: layout.w.min(id), lte: layout.w.max(id) }))
      b.del(key);
  }

  // The renter's contracts.

  async getRenterContract(id: Buffer): Promise<RenterContract | null> {
    const raw = await this.db.get(layout.r.build(id));
    return raw ? RenterContract.decode(raw) : null;
  }

  async putRenterContract(rc: RenterContract): Promise<void> {
    const b = this.db.batch();
    b.put(layout.r.build(rc.contract.hash()), rc.encode());
    await this.writeRenter(b, true);
  }

  /**
   * Take over a contract found again from the seed (takeover.ts): its
   * record, every revision both signed, the latest one's objects and the
   * latest channel state (if any; null keeps ours), replacing what was
   * kept of it, in one synced batch.
   */
  async adoptContract(rc: RenterContract, revisions: readonly Revision[], objects: readonly ContractObject[],
    payment: SignedPayment | null): Promise<void> {
    const id = rc.contract.hash();
    const b = this.db.batch();
    for (const key of await this.db.keys({ gte: layout.o.min(id), lte: layout.o.max(id) }))
      b.del(key);
    b.put(layout.r.build(id), rc.encode());
    for (const r of revisions)
      b.put(layout.v.build(id, r.number), r.encode());
    const n = Buffer.alloc(4);
    n.writeUInt32LE(revisions[revisions.length - 1].number, 0);
    b.put(layout.n.build(id), n);
    for (const o of objects)
      b.put(layout.o.build(id, o.id), encodeObject(o));
    if (payment)
      b.put(layout.y.build(id), payment.encode());
    await this.writeRenter(b, true);
  }

  async listRenterContracts(): Promise<RenterContract[]> {
    return this.db.values({
      gte: layout.r.min(),
      lte: layout.r.max(),
      parse: (raw: Buffer) => RenterContract.decode(raw)
    });
  }

  /** Forget a renter contract and everything kept for it, with file updates. */
  async deleteRenterContract(id: Buffer, files: ManifestFile[] = [], goneFiles: Buffer[] = []): Promise<void> {
    const b = this.db.batch();
    b.del(layout.r.build(id));
    await this.dropState(b, id);
    for (const f of files) {
      b.put(layout.f.build(f.fileId), f.encode());
      b.del(layout.A.build(f.fileId));
    }
    for (const fid of goneFiles) {
      b.del(layout.f.build(fid));
      b.del(layout.A.build(fid));
      for (const k of await this.db.keys({ gte: layout.R.min(fid), lte: layout.R.max(fid) }))
        b.del(k);
    }
    await this.writeRenter(b, true);
  }

  /** Write `b` synced; `renter`: it writes or deletes a renter contract record (`renewals` is read again). */
  private async writeRenter(b: bdb.Batch, renter: boolean): Promise<void> {
    if (renter)
      this.renterWrites += 1;
    try {
      await writeSync(b);
    } finally {
      if (renter)
        this.renterWrites += 1;
    }
  }

  /**
   * The id (`StorageContract#id`, hex) of our contract that renews the
   * contract with hash `prevId` (its `prevId`), or null; with several,
   * the last in key order, as a scan of every record would find.
   */
  async renewedBy(prevId: Buffer): Promise<string | null> {
    let cached = this.renewals;
    if (!cached || cached.writes !== this.renterWrites) {
      const writes = this.renterWrites;
      const byPrev = new Map<string, string>();
      for (const rc of await this.listRenterContracts())
        byPrev.set(rc.contract.prevId.toString('hex'), rc.contract.id());
      cached = { writes, byPrev };
      // A write that began while we read bumped the count: the next call reads again.
      this.renewals = cached;
    }
    return cached.byPrev.get(prevId.toString('hex')) ?? null;
  }

  // The renter's audits.

  /** Store an audit record (synced): nothing acts on an audit before it is on disk. */
  async putAudit(id: Buffer, rec: AuditRecord): Promise<void> {
    const b = this.db.batch();
    b.put(layout.a.build(id, rec.interval), rec.encode());
    await writeSync(b);
  }

  /** Every audit of a contract, by interval ascending. */
  async listAudits(id: Buffer): Promise<AuditRecord[]> {
    const rows = await this.db.range({ gte: layout.a.min(id), lte: layout.a.max(id) });
    return rows.map(({ key, value }) => {
      const rec = AuditRecord.decode(value);
      rec.interval = (layout.a.parse(key) as [Buffer, number])[1];
      return rec;
    });
  }

  // The renter's channel states.

  /** The latest state the renter signed for a contract, or null. */
  async getPayment(id: Buffer): Promise<SignedPayment | null> {
    const raw = await this.db.get(layout.y.build(id));
    return raw ? SignedPayment.decode(raw) : null;
  }

  /** Store the latest signed state (synced): before it is sent, and again once acknowledged. */
  async putPayment(id: Buffer, p: SignedPayment): Promise<void> {
    const b = this.db.batch();
    b.put(layout.y.build(id), p.encode());
    await writeSync(b);
  }

  /** Forget the signed state (the host declined the only one: it never held it). */
  async deletePayment(id: Buffer): Promise<void> {
    const b = this.db.batch();
    b.del(layout.y.build(id));
    await writeSync(b);
  }

  // The host's view of payments.

  /** The host served an audit at `height`: a payment is due (kept if one is already due). */
  async markAuditServed(id: Buffer, height: number): Promise<void> {
    if (await this.db.get(layout.u.build(id)))
      return;
    const b = this.db.batch();
    b.put(layout.u.build(id), u32(height));
    await writeSync(b);
  }

  /** Height of the oldest audit served since the last payment, or null. */
  async auditServedAt(id: Buffer): Promise<number | null> {
    const raw = await this.db.get(layout.u.build(id));
    return raw ? raw.readUInt32LE(0) : null;
  }

  /** The host served an audit token at `height` (its reads not seen yet). */
  async recordAuditToken(id: Buffer, height: number, token: string): Promise<void> {
    const b = this.db.batch();
    b.put(layout.w.build(id, height, randomBytes(4).readUInt32LE(0)), Buffer.concat([u32(0), Buffer.from(token, 'ascii')]));
    await writeSync(b);
  }

  /** Audit tokens the host served for a contract, by height ascending, with the bytes their reads were seen to serve. */
  async listAuditTokens(id: Buffer): Promise<AuditTokenRecord[]> {
    const rows = await this.db.range({ gte: layout.w.min(id), lte: layout.w.max(id) });
    return rows.map(({ key, value }) => {
      const [, height, n] = layout.w.parse(key) as [Buffer, number, number];
      return { height, n, served: value.readUInt32LE(0), token: value.subarray(4).toString('ascii') };
    });
  }

  /** Record the bytes an audit token's reads were seen to serve (only ever more). */
  async setAuditTokenServed(id: Buffer, rec: AuditTokenRecord, served: number): Promise<void> {
    if (served <= rec.served)
      return;
    await this.db.put(layout.w.build(id, rec.height, rec.n), Buffer.concat([u32(served), Buffer.from(rec.token, 'ascii')]));
    rec.served = served;
  }

  /** A payment arrived: nothing is due. */
  async clearAuditServed(id: Buffer): Promise<void> {
    const b = this.db.batch();
    b.del(layout.u.build(id));
    await writeSync(b);
  }

  /** Height at which the host dropped a contract for non-payment, or null. */
  async droppedAt(id: Buffer): Promise<number | null> {
    const raw = await this.db.get(layout.x.build(id));
    return raw ? raw.readUInt32LE(0) : null;
  }

  /** Record a contract dropped for non-payment, and mark its renter (one synced batch). */
  async markNonPayment(id: Buffer, renterKey: Buffer, height: number): Promise<void> {
    const prev = await this.db.get(layout.k.build(renterKey));
    const count = prev ? prev.readUInt32LE(0) + 1 : 1;
    const b = this.db.batch();
    b.put(layout.x.build(id), u32(height));
    b.del(layout.u.build(id));
    b.put(layout.k.build(renterKey), Buffer.concat([u32(count), u32(height)]));
    await writeSync(b);
  }

  /** Renters the host dropped for non-payment: how often and the last height. */
  async nonPayers(): Promise<Array<{ renterKey: Buffer; count: number; height: number }>> {
    const rows = await this.db.range({ gte: layout.k.min(), lte: layout.k.max() });
    return rows.map(({ key, value }) => ({
      renterKey: (layout.k.parse(key) as Buffer),
      count: value.readUInt32LE(0),
      height: value.readUInt32LE(4)
    }));
  }

  // The renter's files.

  /** Store a file as this node changed it: it is no longer the entry a manifest gave (layout A). */
  async putFile(file: ManifestFile): Promise<void> {
    const b = this.db.batch();
    b.put(layout.f.build(file.fileId), file.encode());
    b.del(layout.A.build(file.fileId));
    await writeSync(b);
  }

  /** Store a file found again in a sealed manifest written at `updated` (unix s), with that time (recovery.ts). */
  async putAdoptedFile(file: ManifestFile, updated: number): Promise<void> {
    const bw = bio.write(8);
    bw.writeU64(updated);
    const b = this.db.batch();
    b.put(layout.f.build(file.fileId), file.encode());
    b.put(layout.A.build(file.fileId), bw.render());
    await writeSync(b);
  }

  /** `updated` of the manifest a stored file's entry came from, or null if this node wrote it. */
  async adoptedFrom(fileId: Buffer): Promise<number | null> {
    const raw = await this.db.get(layout.A.build(fileId));
    return raw ? bio.read(raw).readU64() : null;
  }

  /** Forget a file (and its repair log); true if it was there. */
  async deleteFile(fileId: Buffer): Promise<boolean> {
    const key = layout.f.build(fileId);
    if (!(await this.db.has(key)))
      return false;
    const b = this.db.batch();
    b.del(key);
    b.del(layout.F.build(fileId));
    b.del(layout.A.build(fileId));
    for (const k of await this.db.keys({ gte: layout.R.min(fileId), lte: layout.R.max(fileId) }))
      b.del(k);
    await writeSync(b);
    return true;
  }

  /** Store a file's chunk fingerprints (storage/delta.ts), fsynced. */
  async putPrints(fileId: Buffer, prints: Buffer): Promise<void> {
    const b = this.db.batch();
    b.put(layout.F.build(fileId), prints);
    await writeSync(b);
  }

  /** A file's chunk fingerprints, or null (none sent, or a file recovered from the seed). */
  async getPrints(fileId: Buffer): Promise<Buffer | null> {
    return (await this.db.get(layout.F.build(fileId))) ?? null;
  }

  /** Sat automatic repair has locked in new escrows so far (its budget's use). */
  repairSpent(): Promise<number> {
    return this.getSpent(layout.B.build());
  }

  addRepairSpent(sat: number): Promise<void> {
    return this.addSpent(layout.B.build(), sat);
  }

  /** Sat automatic renewal locked in new escrows (what --renew-budget caps). */
  renewSpent(): Promise<number> {
    return this.getSpent(layout.W.build());
  }

  addRenewSpent(sat: number): Promise<void> {
    return this.addSpent(layout.W.build(), sat);
  }

  /** A budget's u64 counter of sat (0 when unset). */
  private async getSpent(key: Buffer): Promise<number> {
    const raw = await this.db.get(key);
    return raw ? bio.read(raw).readU64() : 0;
  }

  /** Add `sat` to a budget's counter (fsynced). */
  private async addSpent(key: Buffer, sat: number): Promise<void> {
    const bw = bio.write(8);
    bw.writeU64((await this.getSpent(key)) + sat);
    const b = this.db.batch();
    b.put(key, bw.render());
    await writeSync(b);
  }

  /** Append a repair to a file's log (fsynced). */
  async addRepair(fileId: Buffer, record: RepairRecord): Promise<void> {
    const seq = (await this.listRepairs(fileId)).length;
    const b = this.db.batch();
    b.put(layout.R.build(fileId, seq), record.encode());
    await writeSync(b);
  }

  /** A file's repairs, oldest first. */
  async listRepairs(fileId: Buffer): Promise<RepairRecord[]> {
    return this.db.values({
      gte: layout.R.min(fileId),
      lte: layout.R.max(fileId),
      parse: (raw: Buffer) => RepairRecord.decode(raw)
    });
  }

  async getFile(fileId: Buffer): Promise<ManifestFile | null> {
    const raw = await this.db.get(layout.f.build(fileId));
    return raw ? ManifestFile.decode(raw) : null;
  }

  async listFiles(): Promise<ManifestFile[]> {
    return this.db.values({
      gte: layout.f.min(),
      lte: layout.f.max(),
      parse: (raw: Buffer) => ManifestFile.decode(raw)
    });
  }

  /** The renter's whole manifest (every file), for object 0 on hosts. */
  async manifest(): Promise<Manifest> {
    const m = new Manifest();
    // Strictly increasing within a process: recovery takes the newest
    // manifest, and two written in one second must still be ordered.
    m.updated = Math.max(Math.floor(Date.now() / 1000), this.lastManifest + 1);
    this.lastManifest = m.updated;
    m.files = await this.listFiles();
    return m;
  }
}

