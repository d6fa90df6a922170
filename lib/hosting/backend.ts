/*!
 * backend.ts - where a host's negotiator keeps renters' bytes.
 *
 * The negotiator drives storage, never the reverse (DESIGN 7): it registers
 * a contract (object 0, the renter's manifest, is reserved with it), then
 * each data object (ids 1..2^32-1, allocated by the renter) before its
 * upload, asks for a receipt per object after it, deletes objects a
 * revision drops, adopts a renewed contract's objects into its renewal,
 * and purges at expiry. Two implementations share this interface: a local
 * directory (in-process, same layout and code as the file server) and a
 * remote file server driven over its signed admin API.
 */

import type { ContractRecord, ContractState, ObjectReceipt, ObjectRecord, ObjectState, StoreStatus, TokenFields } from '../storage';

/** What the negotiator registers for a contract, before any object. */
export interface ContractTerms {
  /** Contract id, 64 hex. */
  id: string;
  /** Unix seconds after which the data may be purged. */
  expiry: number;
  /** Largest manifest (object 0) in bytes, reserved now; default 1 MiB. */
  manifestLimit?: number;
}

/** What the negotiator registers for one data object before its upload. */
export interface ObjectTerms {
  /** Merkle root of the object, 64 hex. */
  root: string;
  /** Object size in bytes. */
  size: number;
}

/** What the file server confirms before the host signs a receipt for an object. */
export type UploadReceipt = ObjectReceipt;

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
  /** Registers a contract (idempotent); `no-capacity` when its manifest limit does not fit. */
  register(terms: ContractTerms): Promise<ContractRecord>;
  /** Registers data object `object` of a contract (idempotent); `no-capacity`, `object-exists`. */
  registerObject(id: string, object: number, terms: ObjectTerms): Promise<ObjectRecord>;
  /**
   * Adopts complete objects of contract `from` into contract `id` (a
   * renewal: no re-upload, the bytes are shared); idempotent, crash-safe.
   */
  adopt(id: string, from: string, objects: number[]): Promise<void>;
  /** Deletes a data object, freeing its capacity; `busy` while written, `unknown-object`. */
  deleteObject(id: string, object: number): Promise<void>;
  /** Removes a contract and all its objects; false if it was unknown; `busy` while written. */
  unregister(id: string): Promise<boolean>;
  state(id: string): Promise<ContractState>;
  objectState(id: string, object: number): Promise<ObjectState>;
  /** The complete object's root and size, or `upload-incomplete`. */
  receipt(id: string, object: number): Promise<UploadReceipt>;
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
