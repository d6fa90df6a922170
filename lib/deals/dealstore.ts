/*!
 * dealstore.ts - what deals must remember across restarts: contracts a host
 * countersigned (so it can serve receipts and tokens before their commit
 * confirms), and a renter's files (its manifest).
 */

import bdb = require('../bdb');
import bio = require('bufio');
import * as path from 'path';
import { StorageContract } from '../contracts/storagecontract';
import { ManifestFile, Manifest } from '../storage/manifest';
import { layout, DB_VERSION } from './layout';

/**
 * A contract the renter proposed for one of its files: the file it
 * belongs to, whether the host signed a receipt, and the contract signed
 * by both (what commitfile funds).
 *   RenterDeal = fileId(32) || u8 received || StorageContract (fixed size)
 */
export class RenterDeal extends bio.Struct {
  fileId: Buffer = Buffer.alloc(32);
  received = false;
  contract: StorageContract = new StorageContract();

  getSize(): number {
    return 32 + 1 + this.contract.getSize();
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.fileId);
    bw.writeU8(this.received ? 1 : 0);
    this.contract.write(bw);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.fileId = Buffer.from(br.readBytes(32));
    this.received = br.readU8() === 1;
    this.contract = StorageContract.read(br);
    return this;
  }
}

export class DealStore {
  readonly db: bdb.DB;

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

  async putHosted(c: StorageContract): Promise<void> {
    await this.db.put(layout.h.build(c.hash()), c.encode());
  }

  async getHosted(id: Buffer): Promise<StorageContract | null> {
    const raw = await this.db.get(layout.h.build(id));
    return raw ? StorageContract.decode(raw) : null;
  }

  async deleteHosted(id: Buffer): Promise<void> {
    const b = this.db.batch();
    b.del(layout.h.build(id));
    b.del(layout.s.build(id));
    await b.write();
  }

  /** Record that a hosted contract's escrow output was seen in a block. */
  async markFunded(id: Buffer, height: number): Promise<void> {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(height, 0);
    await this.db.put(layout.s.build(id), v);
  }

  /** Drop funded marks made at `height` (its block was disconnected). */
  async unmarkFundedAt(height: number): Promise<void> {
    const rows = await this.db.range({ gte: layout.s.min(), lte: layout.s.max() });
    const b = this.db.batch();
    for (const { key, value } of rows) {
      if (value.readUInt32LE(0) === height)
        b.del(key);
    }
    await b.write();
  }

  async isFunded(id: Buffer): Promise<boolean> {
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

  async putFile(file: ManifestFile): Promise<void> {
    await this.db.put(layout.f.build(file.fileId), file.encode());
  }

  /** Write a file entry and its deals in one batch (both, or neither). */
  async putFileDeals(file: ManifestFile, deals: RenterDeal[], gone: Buffer[] = []): Promise<void> {
    const b = this.db.batch();
    b.put(layout.f.build(file.fileId), file.encode());
    for (const d of deals)
      b.put(layout.r.build(d.contract.hash()), d.encode());
    for (const id of gone)
      b.del(layout.r.build(id));
    await b.write();
  }

  async getDeal(id: Buffer): Promise<RenterDeal | null> {
    const raw = await this.db.get(layout.r.build(id));
    return raw ? RenterDeal.decode(raw) : null;
  }

  async putDeal(deal: RenterDeal): Promise<void> {
    await this.db.put(layout.r.build(deal.contract.hash()), deal.encode());
  }

  async deleteDeal(id: Buffer): Promise<void> {
    await this.db.del(layout.r.build(id));
  }

  async listDeals(): Promise<RenterDeal[]> {
    return this.db.values({
      gte: layout.r.min(),
      lte: layout.r.max(),
      parse: (raw: Buffer) => RenterDeal.decode(raw)
    });
  }

  /** Forget a file and the given deals in one batch. */
  async deleteFileDeals(fileId: Buffer, deals: Buffer[]): Promise<void> {
    const b = this.db.batch();
    b.del(layout.f.build(fileId));
    for (const id of deals)
      b.del(layout.r.build(id));
    await b.write();
  }

  /** Forget a file; true if it was there. */
  async deleteFile(fileId: Buffer): Promise<boolean> {
    const key = layout.f.build(fileId);
    if (!(await this.db.has(key)))
      return false;
    await this.db.del(key);
    return true;
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
    m.updated = Math.floor(Date.now() / 1000);
    m.files = await this.listFiles();
    return m;
  }
}
