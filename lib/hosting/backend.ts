/*!
 * backend.ts - where a host's negotiator keeps renters' bytes.
 *
 * The negotiator drives storage, never the reverse (DESIGN 7): it registers
 * a contract's terms before an upload, asks for a receipt after it, and
 * purges at expiry. Two implementations share this interface: a local
 * directory (in-process, same layout and code as the file server) and a
 * remote file server driven over its signed admin API.
 */

import type { ContractRecord, ContractState, StoreStatus, TokenFields } from '../storage';

/** What the negotiator registers before a renter uploads. */
export interface ContractTerms {
  /** Contract id, 64 hex. */
  id: string;
  /** Merkle root of the object, 64 hex. */
  root: string;
  /** Object size in bytes. */
  size: number;
  /** Unix seconds after which the data may be purged. */
  expiry: number;
}

/** What the file server confirms before the host signs a receipt. */
export interface UploadReceipt {
  id: string;
  root: string;
  size: number;
  complete: true;
}

/** One backend as `getfileservers` shows it. */
export interface BackendInfo {
  kind: 'local' | 'remote';
  /** Data API base URL: the file server (remote), or --host-http (local). */
  url?: string;
  /** Store directory (local). */
  dir?: string;
  capacity: number | null;
  reserved: number | null;
  used: number | null;
  contracts: number | null;
  healthy: boolean;
  /** Unix seconds of the last successful admin call, or null. */
  lastOk: number | null;
  /** Why the last call failed, or null. */
  error: string | null;
}

/** A storage backend. Every method rejects with a clear message on failure. */
export interface StorageBackend {
  readonly kind: 'local' | 'remote';
  open(): Promise<void>;
  close(): Promise<void>;
  status(): Promise<StoreStatus>;
  register(terms: ContractTerms): Promise<ContractRecord>;
  unregister(id: string): Promise<boolean>;
  state(id: string): Promise<ContractState>;
  receipt(id: string): Promise<UploadReceipt>;
  purge(): Promise<string[]>;
  /** Mints a data token a renter presents to this backend's data API. */
  mintToken(fields: TokenFields): string;
  /** Base URL of the data API renters use, or null if none is served. */
  dataURL(): string | null;
  /** Calls status() and reports health, never throwing. */
  check(): Promise<BackendInfo>;
}

/** Health bookkeeping shared by the backends: last success and last error. */
export class Health {
  lastOk: number | null = null;
  error: string | null = null;

  /** Runs `fn`, recording success or a reason built by `explain`. */
  async track<T>(fn: () => Promise<T>, explain: (e: unknown) => string): Promise<T> {
    try {
      const v = await fn();
      this.lastOk = Math.floor(Date.now() / 1000);
      this.error = null;
      return v;
    } catch (e) {
      this.error = explain(e);
      throw e;
    }
  }
}
