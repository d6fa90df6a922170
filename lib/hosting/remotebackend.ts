/*!
 * remotebackend.ts - a standalone file server driven over its admin API
 * (`cloudcoind --host --fileserver URL --fileserver-key K`).
 *
 * Only the file server's own admin key is used (HMAC per call); the
 * node's RPC key never leaves the node. Health is the time of the last
 * successful admin call and the reason the last one failed.
 */

import { FileServerClient, FileServerError, MAX_ADOPT_OBJECTS, deriveTokenKey, mintToken } from '../storage';
import type { ContractRecord, ContractState, ObjectRecord, ObjectState, ServerStatus, TokenFields } from '../storage';
import { BackendInfo, ContractTerms, Health, ObjectTerms, StorageBackend, UploadReceipt } from './backend';

/** Deadline of one admin call from the node (the server caps requests at 30 s). */
export const ADMIN_TIMEOUT_MS = 10000;

/** Options of a RemoteBackend. */
export interface RemoteBackendOptions {
  url: string;
  adminKey: Buffer;
  timeoutMs?: number;
}

/** A one-line reason for an admin call failure, saying what to fix. */
export function explainRemote(url: string, e: unknown): string {
  if (e instanceof FileServerError) {
    switch (e.code) {
      case 'bad-signature':
      case 'missing-auth':
        return `file server ${url} rejected the admin key (${e.code}): check --fileserver-key`;
      case 'stale-request':
        return `file server ${url} rejected the request time (stale-request): node and server clocks differ by more than 120 s`;
      case 'unreachable':
      case 'bad-response':
        return e.message;
      default:
        return `file server ${url} answered ${e.status} ${e.code}: ${e.message}`;
    }
  }
  return `file server ${url}: ${e instanceof Error ? e.message : String(e)}`;
}

export class RemoteBackend implements StorageBackend {
  readonly kind = 'remote' as const;
  readonly url: string;
  readonly client: FileServerClient;
  private readonly tokenKey: Buffer;
  private readonly health = new Health();
  private last: ServerStatus | null = null;

  constructor(options: RemoteBackendOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.client = new FileServerClient(this.url, { adminKey: options.adminKey, timeoutMs: options.timeoutMs ?? ADMIN_TIMEOUT_MS });
    this.tokenKey = deriveTokenKey(options.adminKey);
  }

  async open(): Promise<void> {
    // A file server that is down at start is reported by getfileservers,
    // not fatal: the operator may start it after the node.
  }

  async close(): Promise<void> {
    // Stateless HTTP: nothing to close.
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return this.health.track(fn, (e) => explainRemote(this.url, e));
  }

  async status(): Promise<ServerStatus> {
    const st = await this.run(() => this.client.status());
    this.last = st;
    return st;
  }

  register(terms: ContractTerms): Promise<ContractRecord> {
    return this.run(() => this.client.register(terms));
  }

  registerObject(id: string, object: number, terms: ObjectTerms): Promise<ObjectRecord> {
    return this.run(() => this.client.registerObject(id, object, terms));
  }

  async adopt(id: string, from: string, objects: number[]): Promise<void> {
    for (let i = 0; i < objects.length; i += MAX_ADOPT_OBJECTS) {
      const part = objects.slice(i, i + MAX_ADOPT_OBJECTS);
      await this.run(() => this.client.adopt(id, from, part));
    }
  }

  async deleteObject(id: string, object: number): Promise<void> {
    await this.run(() => this.client.deleteObject(id, object));
  }

  async unregister(id: string): Promise<boolean> {
    try {
      await this.run(() => this.client.unregister(id));
      return true;
    } catch (e) {
      if (e instanceof FileServerError && e.code === 'unknown-contract')
        return false;
      throw e;
    }
  }

  state(id: string): Promise<ContractState> {
    return this.run(() => this.client.contract(id));
  }

  objectState(id: string, object: number): Promise<ObjectState> {
    return this.run(() => this.client.object(id, object));
  }

  receipt(id: string, object: number): Promise<UploadReceipt> {
    return this.run(() => this.client.receipt(id, object));
  }

  purge(): Promise<string[]> {
    return this.run(() => this.client.purge());
  }

  mintToken(fields: TokenFields): string {
    return mintToken(this.tokenKey, fields);
  }

  dataURL(): string {
    return this.url;
  }

  async check(): Promise<BackendInfo> {
    let ok = false;
    try {
      await this.status();
      ok = true;
    } catch {
      // reason recorded by health
    }
    const st = ok ? this.last : null;
    return {
      kind: 'remote',
      url: this.url,
      capacity: st ? st.capacity : null,
      reserved: st ? st.reserved : null,
      used: st ? st.used : null,
      contracts: st ? st.contracts : null,
      healthy: ok,
      lastOk: this.health.lastOk,
      error: this.health.error
    };
  }
}
