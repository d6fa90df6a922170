/*!
 * dealstore.ts - what deals must remember across restarts: contracts a host
 * countersigned (so it can serve receipts and tokens before their commit
 * confirms), and a renter's files (its manifest).
 */

import bdb = require('../bdb');
import * as path from 'path';
import { StorageContract } from '../contracts/storagecontract';
import { ManifestFile, Manifest } from '../storage/manifest';
import { layout, DB_VERSION } from './layout';

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
