/*!
 * fileserverclient.ts - an HTTP client for the file server: the admin side (signed
 * with K_admin, used by a negotiator's remote backend) and the data side
 * (used by renters with tokens). Built on node:http (about twice fetch's
 * throughput for 8 MiB bodies).
 *
 * A file server is not trusted: every call has a deadline for the whole
 * exchange (not just idle time), and no answer is read past the size the
 * call expects (the range asked for, a JSON answer's cap), so a hostile
 * host can neither stall a renter nor make it buffer more than it asked.
 */

import * as fs from 'fs';
import * as http from 'http';
import type * as https from 'https';
import { CodedError } from '../base/errors';
import { signAdmin } from './adminauth';
import { MerkleProof } from './merkle';
import { TokenFields, deriveTokenKey, mintToken } from './token';
import { MAX_PART_SIZE } from './storetypes';
import type { ContractRecord, ContractState, ObjectReceipt, ObjectRecord, ObjectState, StoreStatus } from './storetypes';
import { LEAF_SIZE, MAX_MANIFEST_SIZE, MAX_PROOF_DEPTH } from './common';

/** Default deadline of one HTTP call, start to last byte; the server caps requests at 30 s. */
export const CLIENT_TIMEOUT_MS = 30000;

/** Largest JSON answer read (admin calls, upload status, any error body); the server's admin cap. */
export const MAX_JSON_RESPONSE = 64 << 10;

/** Largest data response the server sends (docs/FILESERVER.md): bigger reads use Range. */
export const MAX_READ_SIZE = 8 << 20;

/** Largest encoded MerkleProof: u32 + u32 + u8 + MAX_PROOF_DEPTH hashes. */
const MAX_PROOF_SIZE = 9 + MAX_PROOF_DEPTH * 32;

/** Keep-alive agents: a multi-part upload reuses one connection. */
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let httpsAgent: https.Agent | null = null;

/**
 * The https module and its agent, loaded for the first https host: a
 * renter on http hosts (loopback, a LAN) skips TLS's load at every CLI
 * start.
 */
function secure(): { mod: typeof https; agent: https.Agent } {
  const mod = require('https') as typeof https;
  httpsAgent ??= new mod.Agent({ keepAlive: true, maxSockets: 8 });
  return { mod, agent: httpsAgent };
}

/** A raw answer. */
interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** What a call accepts as a successful (2xx) answer. */
interface Expect {
  /** Most body bytes read. */
  max: number;
  /** The range asked for: the answer must be 206 with this Content-Range and exactly its length. */
  range?: { start: number; end?: number };
  /**
   * Copy a successful range answer into this buffer as it arrives (when
   * it fits) instead of gathering pieces and concatenating them: one copy,
   * no per-answer allocation, so a caller can reuse a few buffers.
   */
  into?: Buffer;
}

/**
 * An error answer from a file server, or a failure on our side. `code` is
 * the server's (PROTOCOL 4 lists them; a newer server may send others) or
 * one of ours: `unreachable`, `bad-response`, `bad-json`, `bad-size`,
 * `bad-proof`, `truncated-body`, `missing-auth`.
 */
export class FileServerError extends CodedError<string> {
  /** HTTP status, 0 when no answer came. */
  readonly status: number;

  constructor(code: string, status: number, message: string, detail: Record<string, unknown> = {}) {
    super(code, message, detail);
    this.status = status;
  }
}

/** `unreachable` because a reused keep-alive socket was reset before any answer. */
class StaleSocketError extends FileServerError {}

/** Capacity and usage as /admin/status reports them. */
export interface ServerStatus extends StoreStatus {
  version: string;
  /** The server's clock, unix seconds. */
  time: number;
  /** The server process's memory (Node: process.memoryUsage(); PHP: its peak and limit). */
  memory?: Record<string, number | string>;
}

/** Upload progress of one object. */
export interface UploadStatus {
  contract: string;
  object: number;
  size: number;
  received: number;
  complete: boolean;
}

/** Client options. */
export interface ClientOptions {
  adminKey?: Buffer;
  timeoutMs?: number;
}

/** A file server, seen from a negotiator or a renter. */
export class FileServerClient {
  readonly url: string;
  private readonly adminKey: Buffer | null;
  private readonly timeoutMs: number;

  constructor(url: string, options: ClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.adminKey = options.adminKey ?? null;
    this.timeoutMs = options.timeoutMs ?? CLIENT_TIMEOUT_MS;
  }

  /**
   * One call. The deadline covers the whole exchange; a body longer than
   * `expect` allows (or than an error answer needs) is cut off unread.
   */
  private async request(method: string, path: string, headers: Record<string, string>, body: Buffer | Buffer[] | undefined,
    expect: Expect): Promise<Reply> {
    try {
      return await this.requestOnce(method, path, headers, body, expect);
    } catch (e) {
      // A kept-alive socket the server closed as idle just as we reused it
      // (Node's documented race, nodejs.org/api/http.html "reusedSocket"):
      // the server closed without answering, so the request is sent once
      // more on a fresh socket. Safe for writes too: a part names its
      // offset (a repeat is `bad-offset`/complete, which callers resolve),
      // and an admin call carries a nonce the server refuses to apply twice.
      if (!(e instanceof StaleSocketError))
        throw e;
      return this.requestOnce(method, path, headers, body, expect);
    }
  }

  private requestOnce(method: string, path: string, headers: Record<string, string>, body: Buffer | Buffer[] | undefined,
    expect: Expect): Promise<Reply> {
    const bodies = body === undefined ? [] : Buffer.isBuffer(body) ? [body] : body;
    const length = bodies.reduce((n, b) => n + b.length, 0);
    const url = new URL(this.url + path);
    const { mod, agent } = url.protocol === 'https:' ? secure() : { mod: http, agent: httpAgent };
    const signal = AbortSignal.timeout(this.timeoutMs);
    return new Promise<Reply>((resolve, reject) => {
      let settled = false;
      let req: http.ClientRequest | null = null;
      const settle = (err: FileServerError | null, reply?: Reply): void => {
        if (settled)
          return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) {
          // Never reuse a connection whose answer was not read to its end.
          req?.destroy();
          reject(err);
        } else if (reply) {
          resolve(reply);
        }
      };
      let answered = false;
      const unreachable = (e: Error) => {
        const message = `cannot reach file server ${this.url} (${e.message})`;
        // ECONNRESET, or EPIPE when the close meets a body being written (a part upload).
        const code = (e as NodeJS.ErrnoException).code;
        const stale = !answered && req?.reusedSocket === true && (code === 'ECONNRESET' || code === 'EPIPE');
        settle(stale ? new StaleSocketError('unreachable', 0, message) : new FileServerError('unreachable', 0, message));
      };
      const onAbort = () => settle(new FileServerError('unreachable', 0,
        `cannot reach file server ${this.url} (no complete answer within ${this.timeoutMs} ms)`));
      signal.addEventListener('abort', onAbort, { once: true });
      req = mod.request(url, {
        method, agent, headers: { ...headers, 'content-length': length }
      }, (res) => {
        answered = true;
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const bad = (msg: string) => settle(new FileServerError('bad-response', status, `file server ${this.url}: ${msg}`));
        const max = ok ? expect.max : MAX_JSON_RESPONSE;
        let exact: number | null = null;
        if (ok && expect.range && method !== 'HEAD') {
          // [REJECT] anything but the range asked for
          const m = /^bytes ([0-9]{1,16})-([0-9]{1,16})\/([0-9]{1,16})$/.exec(res.headers['content-range'] ?? '');
          if (status !== 206 || !m || Number(m[1]) !== expect.range.start
            || (expect.range.end !== undefined && Number(m[2]) !== expect.range.end) || Number(m[2]) < Number(m[1]))
            return bad(`answered ${status} ${res.headers['content-range'] ?? '(no Content-Range)'} to a request for bytes ${expect.range.start}-${expect.range.end ?? ''}`);
          exact = Number(m[2]) - Number(m[1]) + 1;
          if (exact > max)
            return bad(`range of ${exact} bytes is over the ${max}-byte limit`);
        }
        const lengthText = res.headers['content-length'];
        if (lengthText !== undefined && method !== 'HEAD') {
          const length = /^[0-9]{1,16}$/.test(lengthText) ? Number(lengthText) : -1;
          // [REJECT] a declared length over what this call reads, or not the range's
          if (length < 0 || length > max || (exact !== null && length !== exact))
            return bad(`Content-Length ${lengthText} where at most ${exact ?? max} bytes were expected`);
        }
        const parts: Buffer[] = [];
        const sink = ok && exact !== null && expect.into && exact <= expect.into.length ? expect.into : null;
        let got = 0;
        res.on('data', (d: Buffer) => {
          // [REJECT] a body longer than expected (chunked or lying): stop reading
          if (got + d.length > (exact ?? max))
            return bad(`sent more than the ${exact ?? max} bytes expected`);
          if (sink)
            d.copy(sink, got);
          else
            parts.push(d);
          got += d.length;
        });
        res.on('end', () => {
          if (exact !== null && got !== exact)
            return settle(new FileServerError('truncated-body', status, `file server ${this.url} sent ${got} of ${exact} bytes`));
          settle(null, { status, headers: res.headers, body: sink ? sink.subarray(0, got) : Buffer.concat(parts, got) });
        });
        res.on('error', unreachable);
        res.on('aborted', () => unreachable(new Error('connection closed mid-answer')));
      });
      req.on('error', unreachable);
      // Pieces written one after another: a part's chunks are never copied
      // into one buffer; corked, they leave in one writev, not a call each.
      req.cork();
      for (const b of bodies)
        req.write(b);
      req.uncork();
      req.end();
    });
  }

  private check(res: Reply): Reply {
    if (res.status >= 200 && res.status < 300)
      return res;
    let code = 'http-error';
    let message = `HTTP ${res.status}`;
    let detail: Record<string, unknown> = {};
    try {
      const json = JSON.parse(res.body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } & Record<string, unknown> };
      if (json.error && typeof json.error.code === 'string') {
        code = json.error.code;
        message = typeof json.error.message === 'string' ? json.error.message : message;
        detail = json.error;
      }
    } catch {
      // not JSON (a proxy's error page): keep the HTTP status
    }
    throw new FileServerError(code, res.status, message, detail);
  }

  private json<T>(res: Reply): T {
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch {
      throw new FileServerError('bad-json', res.status, 'file server answered with malformed JSON');
    }
  }

  // ---- admin ----

  /** A signed admin call; returns the JSON answer. */
  async admin(method: string, path: string, json?: unknown): Promise<unknown> {
    if (!this.adminKey)
      throw new FileServerError('missing-auth', 0, 'no admin key configured');
    const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
    const headers = signAdmin(this.adminKey, method, path, body);
    if (json !== undefined)
      headers['content-type'] = 'application/json';
    return this.json<unknown>(this.check(await this.request(method, path, headers, json === undefined ? undefined : body,
      { max: MAX_JSON_RESPONSE })));
  }

  status(): Promise<ServerStatus> {
    return this.admin('GET', '/admin/status') as Promise<ServerStatus>;
  }

  /** Registers a contract until `expiry` (unix s), reserving `manifestLimit` bytes (default 1 MiB) for object 0. */
  register(c: { id: string; expiry: number; manifestLimit?: number }): Promise<ContractRecord> {
    const body: Record<string, number> = { expiry: c.expiry };
    if (c.manifestLimit !== undefined)
      body.manifestLimit = c.manifestLimit;
    return this.admin('PUT', `/admin/contracts/${c.id}`, body) as Promise<ContractRecord>;
  }

  /** Removes a contract with all its objects. */
  unregister(id: string): Promise<unknown> {
    return this.admin('DELETE', `/admin/contracts/${id}`);
  }

  /** A contract with its manifest size, object count, reserved and used bytes. */
  contract(id: string): Promise<ContractState> {
    return this.admin('GET', `/admin/contracts/${id}`) as Promise<ContractState>;
  }

  /** Registers data object `object` (1..2^32-1) of a contract with its Merkle root and size (reserves capacity). */
  registerObject(id: string, object: number, o: { root: string; size: number }): Promise<ObjectRecord> {
    return this.admin('PUT', `/admin/contracts/${id}/objects/${object}`, { root: o.root, size: o.size }) as Promise<ObjectRecord>;
  }

  /** Deletes a data object and frees its capacity (`busy` while it is being written). */
  deleteObject(id: string, object: number): Promise<unknown> {
    return this.admin('DELETE', `/admin/contracts/${id}/objects/${object}`);
  }

  /**
   * Adopts complete objects of contract `from` into contract `id` without a
   * re-upload (a renewal); at most MAX_ADOPT_OBJECTS ids per call.
   */
  async adopt(id: string, from: string, objects: number[]): Promise<number> {
    const res = await this.admin('POST', `/admin/contracts/${id}/adopt`, { from, objects }) as { adopted: number };
    return res.adopted;
  }

  /** A data object's record with its upload progress. */
  object(id: string, object: number): Promise<ObjectState> {
    return this.admin('GET', `/admin/contracts/${id}/objects/${object}`) as Promise<ObjectState>;
  }

  /** What a host signs a receipt over: a complete object (`upload-incomplete` otherwise). */
  receipt(id: string, object: number): Promise<ObjectReceipt> {
    return this.admin('GET', `/admin/contracts/${id}/objects/${object}/receipt`) as Promise<ObjectReceipt>;
  }

  async purge(): Promise<string[]> {
    const res = await this.admin('POST', '/admin/purge', {}) as { purged: string[] };
    return res.purged;
  }

  /** Mints a data token locally (K_tok derives from the admin key). */
  mintToken(fields: TokenFields): string {
    if (!this.adminKey)
      throw new FileServerError('missing-auth', 0, 'no admin key configured');
    return mintToken(deriveTokenKey(this.adminKey), fields);
  }

  // ---- data ----

  private auth(token: string): Record<string, string> {
    return { authorization: `CC-Token ${token}` };
  }

  /** Uploads one part of a data object at `offset` (one buffer, or pieces sent back to back). */
  async putPart(token: string, contract: string, object: number, offset: number, data: Buffer | Buffer[]): Promise<UploadStatus> {
    return this.json<UploadStatus>(this.check(await this.request('PUT', `/v1/${contract}/${object}?offset=${offset}`,
      { ...this.auth(token), 'content-type': 'application/octet-stream' }, data, { max: MAX_JSON_RESPONSE })));
  }
  /**
   * putPart for a retried upload: a last part whose answer was lost comes
   * back `already-complete`; when the status confirms the object is
   * complete, that counts as done. Other errors are thrown.
   */
  async putPartResumable(token: string, contract: string, object: number, offset: number, data: Buffer | Buffer[]): Promise<UploadStatus> {
    try {
      return await this.putPart(token, contract, object, offset, data);
    } catch (e) {
      if (!(e instanceof FileServerError && e.code === 'already-complete'))
        throw e;
      const st = await this.uploadStatus(token, contract, object);
      if (!st.complete)
        throw e;
      return st;
    }
  }


  /** Replaces the sealed manifest (object 0). */
  async putManifest(token: string, contract: string, data: Buffer): Promise<UploadStatus> {
    return this.json<UploadStatus>(this.check(await this.request('PUT', `/v1/${contract}/0`,
      { ...this.auth(token), 'content-type': 'application/octet-stream' }, data, { max: MAX_JSON_RESPONSE })));
  }

  async uploadStatus(token: string, contract: string, object: number): Promise<UploadStatus> {
    return this.json<UploadStatus>(this.check(await this.request('GET', `/v1/${contract}/${object}/status`, this.auth(token),
      undefined, { max: MAX_JSON_RESPONSE })));
  }

  /**
   * Uploads a whole file as a data object in parts, resuming from what the
   * server already holds. Reads one part at a time from disk. A last part
   * whose answer was lost (`already-complete` on the retry) counts as done.
   */
  async uploadFile(token: string, contract: string, object: number, file: string, partSize = MAX_PART_SIZE,
    progress?: (done: number, size: number) => void): Promise<UploadStatus> {
    if (partSize % LEAF_SIZE !== 0 || partSize > MAX_PART_SIZE)
      throw new RangeError('part size must be a multiple of 4096 up to 8 MiB');
    const size = fs.statSync(file).size;
    let st = await this.uploadStatus(token, contract, object);
    if (!st.complete && (st.size !== size || !(st.received >= 0 && st.received <= size)))
      throw new FileServerError('bad-size', 0, `file is ${size} bytes; the server expects ${st.size} and holds ${st.received}`);
    const fh = await fs.promises.open(file, 'r');
    try {
      while (!st.complete) {
        const len = Math.min(partSize, size - st.received);
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(buf, 0, len, st.received);
        if (bytesRead !== len)
          throw new FileServerError('truncated-body', 0, 'local file shrank during upload');
        st = await this.putPartResumable(token, contract, object, st.received, buf);
        if (progress)
          progress(st.received, size);
      }
    } finally {
      await fh.close();
    }
    return st;
  }

  /**
   * Reads bytes [start, end] (inclusive) of an object; both omitted = whole
   * object. Never reads more than asked for, nor more than 8 MiB (1 MiB
   * for the manifest); a range answer must be exactly that range.
   */
  async download(token: string, contract: string, object: number, start?: number, end?: number): Promise<Buffer> {
    const headers = this.auth(token);
    const max = object === 0 ? MAX_MANIFEST_SIZE : MAX_READ_SIZE;
    let expect: Expect = { max };
    if (start !== undefined) {
      if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start)))
        throw new RangeError('bad byte range');
      headers.range = `bytes=${start}-${end ?? ''}`;
      expect = { max, range: { start, end } };
    }
    return this.check(await this.request('GET', `/v1/${contract}/${object}`, headers, undefined, expect)).body;
  }

  /**
   * Reads bytes [start, end] (inclusive, at most 8 MiB) of a data object
   * into `into` (at least end - start + 1 bytes), which the answer's body
   * is a view of: as download() for a caller reusing its buffers.
   */
  async downloadInto(token: string, contract: string, object: number, start: number, end: number, into: Buffer): Promise<Buffer> {
    if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(end) || end < start || end - start + 1 > into.length)
      throw new RangeError('bad byte range');
    const headers = this.auth(token);
    headers.range = `bytes=${start}-${end}`;
    const max = object === 0 ? MAX_MANIFEST_SIZE : MAX_READ_SIZE;
    return this.check(await this.request('GET', `/v1/${contract}/${object}`, headers, undefined, { max, range: { start, end }, into })).body;
  }

  /**
   * Size and root of an object (HEAD, free: it serves no bytes), and the
   * bytes left on a `get` token's budget (null from a server that does not
   * say).
   */
  async head(token: string, contract: string, object: number): Promise<{ size: number; root: string | null; budgetLeft: number | null }> {
    const res = this.check(await this.request('HEAD', `/v1/${contract}/${object}`, this.auth(token), undefined, { max: 0 }));
    const root = res.headers['x-cc-root'];
    const length = res.headers['content-length'] ?? '';
    if (!/^[0-9]{1,16}$/.test(length))
      throw new FileServerError('bad-response', res.status, `file server ${this.url}: HEAD without a valid Content-Length`);
    const left = res.headers['x-cc-budget-left'];
    const budgetLeft = typeof left === 'string' && /^[0-9]{1,16}$/.test(left) ? Number(left) : null;
    return { size: Number(length), root: typeof root === 'string' ? root : null, budgetLeft };
  }

  /**
   * Downloads a data object to `file` with Range requests of at most 8 MiB.
   * Renters pass `size`, the contract's object size: a host whose HEAD
   * reports another size is refused (`bad-size`) before any range is read.
   * Without it the HEAD size is believed (tools, benchmarks). A token whose
   * budget cannot pay for the whole object is refused (`over-budget`)
   * before any range is read, rather than failing part way.
   */
  async downloadFile(token: string, contract: string, object: number, file: string,
    opts: { size?: number; rangeSize?: number } = {}): Promise<number> {
    const rangeSize = opts.rangeSize ?? MAX_PART_SIZE;
    if (opts.size !== undefined && (!Number.isSafeInteger(opts.size) || opts.size < 1))
      throw new RangeError('expected size must be a positive integer');
    if (!Number.isSafeInteger(rangeSize) || rangeSize < 1 || rangeSize > MAX_READ_SIZE)
      throw new RangeError('range size must be 1 byte to 8 MiB');
    const { size, budgetLeft } = await this.head(token, contract, object);
    // [REJECT] a host claiming another size than the contract's
    if (opts.size !== undefined && size !== opts.size)
      throw new FileServerError('bad-size', 0, `file server ${this.url} reports ${size} bytes, the contract holds ${opts.size}`);
    if (budgetLeft !== null && budgetLeft < size)
      throw new FileServerError('over-budget', 0, `the token has ${budgetLeft} bytes left, the object is ${size}`, { left: budgetLeft });
    const fh = await fs.promises.open(file, 'w');
    try {
      for (let off = 0; off < size; off += rangeSize) {
        const end = Math.min(off + rangeSize, size) - 1;
        const buf = await this.download(token, contract, object, off, end);
        await fh.write(buf, 0, buf.length, off);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    return size;
  }

  /**
   * Reads leaf `index` of a data object with its Merkle proof in one request
   * (the proof rides in `X-CC-Proof`): what an audit does, and what any
   * single-leaf read looks like to the host. `size` is the object size. An
   * audit reads its leaves across objects with one `get` token naming
   * every data object (ALL_OBJECTS) and a budget of 16 leaves.
   */
  async readLeaf(token: string, contract: string, object: number, index: number, size: number): Promise<{ data: Buffer; proof: MerkleProof }> {
    const start = index * LEAF_SIZE;
    const end = Math.min(start + LEAF_SIZE, size) - 1;
    const res = this.check(await this.request('GET', `/v1/${contract}/${object}`, { ...this.auth(token), range: `bytes=${start}-${end}` },
      undefined, { max: LEAF_SIZE, range: { start, end } }));
    const hex = res.headers['x-cc-proof'];
    if (typeof hex !== 'string' || !/^[0-9a-f]+$/.test(hex))
      throw new FileServerError('bad-proof', res.status, 'file server sent no leaf proof');
    return { data: res.body, proof: MerkleProof.decode(Buffer.from(hex, 'hex')) };
  }

  /** Merkle proof of one leaf of a data object. */
  async proof(token: string, contract: string, object: number, leaf: number): Promise<MerkleProof> {
    return MerkleProof.decode(this.check(await this.request('GET', `/v1/${contract}/${object}/proof/${leaf}`, this.auth(token),
      undefined, { max: MAX_PROOF_SIZE })).body);
  }
}
