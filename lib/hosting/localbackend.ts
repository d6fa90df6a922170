/*!
 * localbackend.ts - contract data in a local directory (`cloudcoind --host`),
 * using the file server's own ObjectStore: one layout, one implementation,
 * so `cloudcoin-fileserver --data-dir <host-dir>` can serve the same
 * directory (its admin key is kept in `<host-dir>/admin.key`).
 */

import { ObjectStore, StoreError, deriveTokenKey, mintToken, readOrCreateAdminKey } from '../storage';
import type { ContractRecord, ContractState, StoreStatus, TokenFields } from '../storage';
import { BackendInfo, ContractTerms, Health, StorageBackend, UploadReceipt } from './backend';

/** Options of a LocalBackend. */
export interface LocalBackendOptions {
  dir: string;
  capacity: number;
}

export class LocalBackend implements StorageBackend {
  readonly kind = 'local' as const;
  readonly dir: string;
  readonly store: ObjectStore;
  private readonly health = new Health();
  private tokenKey: Buffer | null = null;

  constructor(options: LocalBackendOptions) {
    this.dir = options.dir;
    this.store = new ObjectStore({ dir: options.dir, capacity: options.capacity });
  }

  async open(): Promise<void> {
    this.store.open();
    this.tokenKey = deriveTokenKey(readOrCreateAdminKey(this.dir).key);
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  private explain(e: unknown): string {
    if (e instanceof StoreError)
      return `${e.code}: ${e.message}`;
    return `local store ${this.dir}: ${e instanceof Error ? e.message : String(e)}`;
  }

  private run<T>(fn: () => T): Promise<T> {
    return this.health.track(async () => fn(), (e) => this.explain(e));
  }

  status(): Promise<StoreStatus> {
    return this.run(() => this.store.status());
  }

  register(terms: ContractTerms): Promise<ContractRecord> {
    return this.run(() => this.store.register(terms));
  }

  unregister(id: string): Promise<boolean> {
    return this.run(() => this.store.unregister(id));
  }

  state(id: string): Promise<ContractState> {
    return this.run(() => this.store.state(id));
  }

  receipt(id: string): Promise<UploadReceipt> {
    return this.run(() => this.store.receipt(id));
  }

  purge(): Promise<string[]> {
    return this.run(() => this.store.purge());
  }

  mintToken(fields: TokenFields): string {
    if (!this.tokenKey)
      throw new Error('local backend is not open');
    return mintToken(this.tokenKey, fields);
  }

  dataURL(): string | null {
    return null;
  }

  async check(): Promise<BackendInfo> {
    const info: BackendInfo = {
      kind: 'local', dir: this.dir, capacity: this.store.capacity, reserved: null, used: null,
      contracts: null, healthy: false, lastOk: null, error: null
    };
    try {
      const st = await this.status();
      info.reserved = st.reserved;
      info.used = st.used;
      info.contracts = st.contracts;
      info.healthy = true;
    } catch {
      // reason recorded by health
    }
    info.lastOk = this.health.lastOk;
    info.error = this.health.error;
    return info;
  }
}
