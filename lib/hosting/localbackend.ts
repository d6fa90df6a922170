/*!
 * localbackend.ts - contract data in a local directory (`cloudcoind --host`),
 * using the file server's own ObjectStore: one layout, one implementation,
 * so `cloudcoin-fileserver --data-dir <host-dir>` can serve the same
 * directory (its admin key is kept in `<host-dir>/admin.key`). With
 * --host-http the node also serves the renters' data API itself, with the
 * file server's HTTP code over the same store.
 */

import { MAX_ADOPT_OBJECTS, ObjectStore, StoreError, deriveTokenKey, mintToken, readOrCreateAdminKey } from '../storage';
import { FileServer } from '../../fileserver/server';
import type { ContractRecord, ContractState, ObjectRecord, ObjectState, StoreStatus, TokenFields } from '../storage';
import { BackendInfo, ContractTerms, Health, ObjectTerms, StorageBackend, UploadReceipt } from './backend';

/** Options of a LocalBackend. */
export interface LocalBackendOptions {
  dir: string;
  capacity: number;
  /** Serve the renters' data API from this process on host:port (port 0 = any free port). */
  http?: { host: string; port: number } | null;
  /** URL renters are told to use (e.g. behind a reverse proxy); default: the bound address. */
  publicURL?: string | null;
}

export class LocalBackend implements StorageBackend {
  readonly kind = 'local' as const;
  readonly dir: string;
  readonly store: ObjectStore;
  private readonly health = new Health();
  private readonly options: LocalBackendOptions;
  private tokenKey: Buffer | null = null;
  private server: FileServer | null = null;
  private url: string | null = null;

  constructor(options: LocalBackendOptions) {
    this.options = options;
    this.dir = options.dir;
    this.store = new ObjectStore({ dir: options.dir, capacity: options.capacity });
  }

  async open(): Promise<void> {
    this.store.open();
    const adminKey = readOrCreateAdminKey(this.dir).key;
    this.tokenKey = deriveTokenKey(adminKey);
    if (this.options.http) {
      // The same HTTP server as cloudcoin-fileserver, over this very store.
      this.server = new FileServer({
        dataDir: this.dir, adminKey, store: this.store,
        host: this.options.http.host, port: this.options.http.port
      });
      const addr = await this.server.open();
      const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
      this.url = this.options.publicURL ?? `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
    }
  }

  async close(): Promise<void> {
    if (this.server) {
      await this.server.close();
      this.server = null;
    }
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

  registerObject(id: string, object: number, terms: ObjectTerms): Promise<ObjectRecord> {
    return this.run(() => this.store.registerObject(id, object, terms));
  }

  async adopt(id: string, from: string, objects: number[]): Promise<void> {
    for (let i = 0; i < objects.length; i += MAX_ADOPT_OBJECTS) {
      const part = objects.slice(i, i + MAX_ADOPT_OBJECTS);
      await this.run(() => this.store.adopt(id, { from, objects: part }));
    }
  }

  deleteObject(id: string, object: number): Promise<void> {
    return this.run(() => this.store.deleteObject(id, object));
  }

  unregister(id: string): Promise<boolean> {
    return this.run(() => this.store.unregister(id));
  }

  state(id: string): Promise<ContractState> {
    return this.run(() => this.store.state(id));
  }

  objectState(id: string, object: number): Promise<ObjectState> {
    return this.run(() => this.store.objectState(id, object));
  }

  receipt(id: string, object: number): Promise<UploadReceipt> {
    return this.run(() => this.store.receipt(id, object));
  }

  purge(): Promise<string[]> {
    return this.run(() => this.store.purge());
  }

  mintToken(fields: TokenFields): string {
    if (!this.tokenKey)
      throw new Error('local backend is not open');
    return mintToken(this.tokenKey, fields);
  }

  /** The data API URL when this process serves one (--host-http), else null. */
  dataURL(): string | null {
    return this.url;
  }

  async check(): Promise<BackendInfo> {
    const info: BackendInfo = {
      kind: 'local', dir: this.dir, ...(this.url ? { url: this.url } : {}), capacity: this.store.capacity, reserved: null, used: null,
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
