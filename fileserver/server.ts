/*!
 * server.ts - the light file server: node:http, files on local disk,
 * stateless per request (everything is re-read from the data directory),
 * every request small and short, so the same API can be served by PHP.
 *
 * Data API (renters, data tokens; object 0 is the manifest, 1..2^32-2 data;
 * a `get` token's maxBytes is a byte budget kept in budget.ts):
 *   PUT  /v1/<contract>/<object>?offset=N   upload a part of a data object, or the manifest
 *   GET  /v1/<contract>/<object>/status     upload progress, to resume
 *   GET  /v1/<contract>/<object>            download; Range; HEAD
 *   GET  /v1/<contract>/<object>/proof/<leaf>  Merkle proof of one leaf (binary)
 * Admin API (negotiator, HMAC with K_admin):
 *   GET /admin/status, PUT|GET|DELETE /admin/contracts/<id>,
 *   PUT|GET|DELETE /admin/contracts/<id>/objects/<n>, POST /admin/contracts/<id>/adopt,
 *   GET /admin/contracts/<id>/objects/<n>/receipt, POST /admin/purge, POST /admin/tokens
 * docs/FILESERVER.md is the reference.
 */

import * as fs from 'fs';
import * as http from 'http';
import type * as net from 'net';
import * as path from 'path';
import {
  LeafHasherPool, ObjectStore, StoreError, StorageError, MAX_MANIFEST_SIZE, checkAdmin, precheckAdmin, adminHeaders,
  deriveTokenKey, mintToken, verifyToken, tokenId, isId, ioError, objects, TokenFields, leafCount, LEAF_SIZE, ALL_OBJECTS
} from '../lib/storage';
import {
  CONNECTIONS_CHECK_MS, DEFAULT_CAPACITY, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_ADMIN_BODY, MAX_BODY_SIZE,
  MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, MAX_RESPONSE_SIZE, REQUEST_TIMEOUT_MS, SEND_STALL_MS, VERSION
} from './common';
import { HTTPError, type HTTPErrorCode } from './errors';
import { ReplayCache } from './replay';
import { BudgetStore } from './budget';
import { parseRange } from './range';

/** Options of a FileServer. */
export interface FileServerOptions {
  dataDir: string;
  /**
   * K_admin (32 bytes), or a function giving it: called by open() only once
   * the port is bound, so a CLI whose port is taken creates no key file.
   */
  adminKey: Buffer | (() => Buffer);
  capacity?: number;
  host?: string;
  port?: number;
  /** Clock in unix seconds (tests). */
  now?: () => number;
  /** Error log; defaults to stderr. */
  log?: (msg: string) => void;
  /** Serve this already-built store (cloudcoind's local backend shares one). */
  store?: ObjectStore;
  /**
   * Worker threads hashing uploads for a store this server builds: default
   * the process's shared pool (one per core), 0 on the event loop (least
   * CPU per byte: bench/fileserver.ts measures both), N its own pool.
   */
  hashThreads?: number;
  /**
   * Path prefix the server is reached under when a reverse proxy forwards
   * it unchanged (`/cc` for https://host/cc); default none. It is stripped
   * before routing and before the admin MAC is checked.
   */
  basePath?: string;
  /** Whole-request deadline (default REQUEST_TIMEOUT_MS; tests shorten it). */
  requestTimeoutMs?: number;
  /** Deadline for the request headers (default HEADERS_TIMEOUT_MS). */
  headersTimeoutMs?: number;
  /** Concurrent connections accepted (default MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Concurrent connections from one client address (default MAX_CONNECTIONS_PER_ADDRESS). */
  maxConnectionsPerAddress?: number;
  /** A response that makes no progress for this long is cut (default SEND_STALL_MS). */
  sendStallMs?: number;
  /**
   * Serve the test-only admin hooks that the PHP server has too (clock
   * offset, file listing and reading, flipping a byte), so one conformance
   * suite drives both. Never on a real host.
   */
  testHooks?: boolean;
}

/** A verified data token and its id (its MAC). */
interface Granted {
  fields: TokenFields;
  id: string;
}

/** A response being sent, watched for stalls and the whole-request deadline. */
interface Watched {
  socket: net.Socket;
  res: http.ServerResponse;
  /** Bytes the socket had written at the last progress. */
  written: number;
  /** Date.now() of the last progress. */
  progress: number;
  /** Date.now() after which the exchange is cut, whatever it is doing. */
  deadline: number;
}

/** Checks a --base-path value: '' or `/seg[/seg...]`; returns it without a trailing slash, or null. */
export function parseBasePath(text: string): string | null {
  const p = text.replace(/\/+$/, '');
  if (p === '')
    return '';
  return /^(\/[A-Za-z0-9._~-]+)+$/.test(p) ? p : null;
}

type Headers = Record<string, string | number>;

/** Parses a decimal object id of a request path (no leading zeros, at most 2^32-2), or null. */
export function parseObjectId(text: string | undefined): number | null {
  if (text === undefined || !/^(0|[1-9][0-9]{0,9})$/.test(text))
    return null;
  const n = Number(text);
  return n <= objects.MAX ? n : null;
}

/** The file server. */
export class FileServer {
  readonly store: ObjectStore;
  readonly server: http.Server;
  private adminKeySource: Buffer | (() => Buffer);
  private adminKey: Buffer = Buffer.alloc(0);
  private tokenKey: Buffer = Buffer.alloc(0);
  private readonly replay: ReplayCache;
  private readonly budgets: BudgetStore;
  /** A hashing pool this server made (hashThreads N), closed with it. */
  private readonly ownPool: LeafHasherPool | null;
  /** When reads last went uncounted was logged (unix s): once a minute at most. */
  private uncountedLogged = 0;
  private readonly now: () => number;
  /** Seconds added to the clock (test hook only). */
  private clockOffset = 0;
  private readonly testHooks: boolean;
  private readonly dataDir: string;
  private readonly log: (msg: string) => void;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly requestTimeoutMs: number;
  private readonly sendStallMs: number;
  private readonly perAddress: number;
  /** Open connections per client address. */
  private readonly addresses = new Map<string, number>();
  /** Exchanges in progress: cut when stalled or past their deadline. */
  private readonly watched = new Set<Watched>();
  private watchTimer: NodeJS.Timeout | null = null;
  /** Per connection, the request being handled: pipelined requests run one after another. */
  private readonly queues = new WeakMap<net.Socket, Promise<void>>();

  constructor(options: FileServerOptions) {
    this.adminKeySource = options.adminKey;
    if (Buffer.isBuffer(options.adminKey))
      this.setKey(options.adminKey);
    const clock = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.now = () => clock() + this.clockOffset;
    this.testHooks = options.testHooks === true;
    this.dataDir = options.dataDir;
    this.log = options.log ?? ((msg) => process.stderr.write(`${msg}\n`));
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    const threads = options.hashThreads;
    this.ownPool = threads !== undefined && threads > 0 && !options.store ? new LeafHasherPool(threads) : null;
    this.store = options.store ?? new ObjectStore({
      dir: options.dataDir, capacity: options.capacity ?? DEFAULT_CAPACITY, now: this.now,
      hasher: threads === undefined ? undefined : this.ownPool
    });
    const basePath = parseBasePath(options.basePath ?? '');
    if (basePath === null)
      throw new Error('base path must look like /cc');
    this.basePath = basePath;
    this.replay = new ReplayCache(path.join(options.dataDir, 'nonces'));
    this.budgets = new BudgetStore(path.join(options.dataDir, 'budgets'));
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.sendStallMs = options.sendStallMs ?? SEND_STALL_MS;
    this.perAddress = options.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS;
    this.server = http.createServer({
      requestTimeout: this.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // Node checks the two timeouts above only this often (default 30 s,
      // which let a request live up to 60 s).
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS
    }, (req, res) => this.serve(req, res));
    this.server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.server.on('connection', (socket: net.Socket) => this.admit(socket));
    this.server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
      // Node's own answers, as JSON: 408 for a request that ran out of
      // time, 431 for oversized headers, else 400.
      const [code, message]: [HTTPErrorCode, string] = e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['request-timeout', 'request not received in time']
        : e.code === 'HPE_HEADER_OVERFLOW' ? ['headers-too-large', 'request headers too large']
          : e.code === 'HPE_INVALID_EOF_STATE' ? ['truncated-body', 'request body ended before Content-Length']
            : ['bad-request', 'malformed request'];
      const started = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage?.headersSent === true;
      if (!socket.writable || started) {
        socket.destroy();
        return;
      }
      const err = new HTTPError(code, message);
      const body = JSON.stringify({ error: { code, message } });
      socket.end(`HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status] ?? 'Error'}\r\nContent-Type: application/json\r\n`
        + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  }

  private setKey(key: Buffer): void {
    if (key.length !== 32)
      throw new Error('admin key must be 32 bytes');
    this.adminKey = key;
    this.tokenKey = deriveTokenKey(key);
  }

  /**
   * Counts a new connection against its address's cap ([REJECT] over the
   * cap: closed at once, so one address cannot take the whole pool).
   */
  private admit(socket: net.Socket): void {
    const addr = socket.remoteAddress ?? '?';
    const n = (this.addresses.get(addr) ?? 0) + 1;
    if (n > this.perAddress) {
      socket.destroy();
      return;
    }
    this.addresses.set(addr, n);
    socket.once('close', () => {
      const left = (this.addresses.get(addr) ?? 1) - 1;
      if (left <= 0)
        this.addresses.delete(addr);
      else
        this.addresses.set(addr, left);
    });
  }

  /** Open connections from `address`, or from every address. */
  connections(address?: string): number {
    if (address !== undefined)
      return this.addresses.get(address) ?? 0;
    let n = 0;
    for (const v of this.addresses.values())
      n += v;
    return n;
  }

  /**
   * Runs one request after the previous one on its connection has been
   * answered (a status pipelined after a PUT sees the PUT's result), under
   * the whole-request deadline and the send-stall watch.
   */
  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    const w: Watched = { socket, res, written: socket.bytesWritten, progress: Date.now(), deadline: Date.now() + this.requestTimeoutMs };
    this.watched.add(w);
    res.once('close', () => this.watched.delete(w));
    const prev = this.queues.get(socket) ?? Promise.resolve();
    const run = prev.then(() => this.handle(req, res)).catch((e: unknown) => this.fail(res, e));
    this.queues.set(socket, run);
  }

  /** Cuts exchanges past their deadline, and responses the client stopped reading. */
  private sweep(): void {
    const now = Date.now();
    for (const w of this.watched) {
      const written = w.socket.bytesWritten;
      if (written !== w.written || w.socket.writableLength === 0) {
        w.written = written;
        w.progress = now;
      }
      // [REJECT] a whole request over its deadline, or a send stalled (a
      // reader that stopped reading holds a file and a connection slot)
      if (now > w.deadline || now - w.progress > this.sendStallMs) {
        this.watched.delete(w);
        if (!w.res.headersSent && w.socket.writable) {
          // Still receiving (a body dripping in): say why, then close.
          const body = JSON.stringify({ error: { code: 'request-timeout', message: 'request not completed in time' } });
          w.res.writeHead(408, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
          w.res.end(body, () => w.socket.destroy());
          setTimeout(() => w.socket.destroy(), 1000).unref();
        } else {
          w.socket.destroy();
        }
      }
    }
  }

  /**
   * Binds the port, then (only then) resolves the admin key and opens the
   * data directory; resolves with the bound address.
   */
  async open(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.removeListener('error', reject);
        // Later server errors (EMFILE on accept, ...) are logged, never fatal.
        this.server.on('error', (e) => this.log(`fileserver: server error: ${e.message}`));
        resolve();
      });
    });
    try {
      if (!Buffer.isBuffer(this.adminKeySource))
        this.setKey(this.adminKeySource());
      this.store.open();
      this.replay.open();
      this.budgets.open();
    } catch (e) {
      await this.close();
      throw e;
    }
    this.watchTimer = setInterval(() => this.sweep(), Math.min(CONNECTIONS_CHECK_MS, this.sendStallMs));
    this.watchTimer.unref();
    const addr = this.server.address();
    if (!addr || typeof addr === 'string')
      throw new Error('server has no TCP address');
    return { host: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    if (this.watchTimer)
      clearInterval(this.watchTimer);
    this.watchTimer = null;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.ownPool?.close();
  }

  private send(res: http.ServerResponse, status: number, json: unknown, headers: Headers = {}): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = Buffer.from(JSON.stringify(json));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
    res.end(body);
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    let err: HTTPError;
    e = ioError(e);
    if (e instanceof StoreError && (e.code === 'disk-full' || e.code === 'not-writable' || e.code === 'io-error'))
      this.log(`fileserver: ${e.message}`);
    if (e instanceof HTTPError) {
      err = e;
    } else if (e instanceof StoreError) {
      err = new HTTPError(e.code, e.message, e.detail);
    } else if (e instanceof StorageError && e.code === 'bad-token') {
      err = new HTTPError('bad-token', e.message);
    } else {
      // Anything else (including a StorageError from a damaged tree file)
      // is the server's problem, not the client's.
      this.log(`fileserver: internal error: ${e instanceof Error ? e.stack : String(e)}`);
      err = new HTTPError('server-error', 'internal error');
    }
    // A request whose body we did not read cannot keep its connection.
    const req = res.req;
    const headers: Headers = {};
    if (req && !req.complete)
      headers.connection = 'close';
    this.send(res, err.status, { error: { code: err.code, message: err.message, ...err.detail } }, headers);
  }

  /**
   * The request target relative to the mount point (what admin calls
   * sign, docs/PROTOCOL.md 4.7) and its parsed form.
   */
  private target(req: http.IncomingMessage): { target: string; url: URL } {
    let target = req.url ?? '/';
    // [REJECT] anything but an origin-form target ("/path?query")
    if (!target.startsWith('/'))
      throw new HTTPError('bad-request', 'request target must be a path');
    if (this.basePath !== '') {
      const rest = target.slice(this.basePath.length);
      if (!target.startsWith(this.basePath) || !(rest === '' || rest.startsWith('/') || rest.startsWith('?')))
        throw new HTTPError('not-found', 'no such endpoint');
      target = rest.startsWith('/') ? rest : `/${rest}`;
    }
    let url: URL;
    try {
      // Prefixing the origin keeps "//host/..." a path, never an authority.
      url = new URL(`http://x${target}`);
    } catch {
      throw new HTTPError('bad-request', 'malformed request target');
    }
    return { target, url };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { target, url } = this.target(req);
    const parts = url.pathname.split('/').filter(p => p !== '');
    if (parts[0] === 'v1')
      return this.handleData(req, res, url, parts.slice(1));
    if (parts[0] === 'admin')
      return this.handleAdmin(req, res, target, parts.slice(1));
    throw new HTTPError('not-found', 'no such endpoint');
  }

  // ---- data API ----

  /**
   * The request's data token, verified, with its id (its MAC, what its
   * byte budget is kept under). A `get` token for every data object
   * (ALL_OBJECTS) covers each data object of its contract, never the
   * manifest.
   */
  private authorize(req: http.IncomingMessage, url: URL, contract: string, object: number, op: 'get' | 'put'): Granted {
    let token = url.searchParams.get('token');
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^CC-Token\s+(\S+)$/.exec(auth);
      if (!m)
        throw new HTTPError('bad-token', 'Authorization must be "CC-Token <token>"');
      token = m[1];
    }
    if (!token)
      throw new HTTPError('missing-token', 'a data token is required');
    let fields: TokenFields;
    try {
      fields = verifyToken(this.tokenKey, token);
    } catch (e) {
      throw new HTTPError('bad-token', e instanceof Error ? e.message : 'bad token');
    }
    // [REJECT] expired token
    if (fields.notAfter < this.now())
      throw new HTTPError('token-expired', 'token has expired');
    const covers = fields.object === object
      || (fields.object === ALL_OBJECTS && op === 'get' && object !== objects.MANIFEST);
    // [REJECT] token for another contract, object or operation
    if (fields.contract !== contract || !covers || fields.op !== op)
      throw new HTTPError('token-scope', `token grants ${fields.op} on ${fields.contract.slice(0, 8)}../${fields.object === ALL_OBJECTS ? '*' : fields.object}`);
    return { fields, id: tokenId(token) };
  }

  /**
   * Counts `bytes` about to be served against a `get` token's budget, or
   * refuses the request ([REJECT] over-budget) before anything is sent;
   * `bytes` = 0 checks that `need` bytes would fit without counting them (a
   * HEAD answers as its GET would). Returns the bytes left afterwards.
   */
  private charge(token: Granted, bytes: number, need = bytes): number {
    const { fields, id } = token;
    const now = this.now();
    const spend = this.budgets.spend(id, fields.notAfter, fields.maxBytes, bytes, now);
    if (spend.uncounted && now - this.uncountedLogged >= 60) {
      this.uncountedLogged = now;
      this.log(`fileserver: download budgets cannot be counted (${spend.uncounted}): reads are served uncounted until the data folder takes writes`);
    }
    if (!spend.ok || need > spend.left + bytes)
      throw new HTTPError('over-budget', `the token has ${spend.left} of its ${fields.maxBytes} bytes left; ${need} asked`,
        { left: spend.left });
    return spend.left;
  }

  private async handleData(req: http.IncomingMessage, res: http.ServerResponse, url: URL, parts: string[]): Promise<void> {
    const [contract, objText, sub, leafText] = parts;
    if (!isId(contract))
      throw new HTTPError('not-found', 'contract ids are 64 lowercase hex');
    const object = parseObjectId(objText);
    if (object === null)
      throw new HTTPError('not-found', 'object ids are decimal 0..4294967294');
    const method = req.method ?? 'GET';

    if (sub === undefined) {
      if (method === 'PUT')
        return this.put(req, res, url, contract, object);
      if (method === 'GET' || method === 'HEAD')
        return this.get(req, res, url, contract, object, method === 'HEAD');
      throw new HTTPError('method-not-allowed', 'use PUT, GET or HEAD');
    }
    if (sub === 'status' && parts.length === 3) {
      if (method !== 'GET')
        throw new HTTPError('method-not-allowed', 'use GET');
      this.authorizeEither(req, url, contract, object);
      if (object === objects.MANIFEST) {
        const st = this.store.state(contract);
        return this.send(res, 200, { contract, object, size: st.manifestSize, received: st.manifestSize, complete: st.manifestSize > 0 });
      }
      const st = this.store.objectState(contract, object);
      return this.send(res, 200, { contract, object, size: st.size, received: st.received, complete: st.complete });
    }
    if (sub === 'proof' && parts.length === 4 && object !== objects.MANIFEST) {
      if (method !== 'GET')
        throw new HTTPError('method-not-allowed', 'use GET');
      const token = this.authorize(req, url, contract, object, 'get');
      if (!/^(0|[1-9][0-9]{0,12})$/.test(leafText ?? ''))
        throw new HTTPError('bad-leaf', 'leaf index must be decimal');
      const raw = this.store.proof(contract, object, Number(leafText)).encode();
      // A proof is bytes served like any other.
      const left = this.charge(token, raw.length);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': raw.length, 'x-cc-budget-left': left });
      res.end(raw);
      return;
    }
    throw new HTTPError('not-found', 'no such endpoint');
  }

  private authorizeEither(req: http.IncomingMessage, url: URL, contract: string, object: number): void {
    try {
      this.authorize(req, url, contract, object, 'put');
    } catch (e) {
      if (e instanceof HTTPError && e.code === 'token-scope') {
        this.authorize(req, url, contract, object, 'get');
        return;
      }
      throw e;
    }
  }

  private contentLength(req: http.IncomingMessage, max: number): number {
    const text = req.headers['content-length'];
    // [REJECT] chunked bodies: the size must be known before accepting
    if (text === undefined || req.headers['transfer-encoding'] !== undefined)
      throw new HTTPError('length-required', 'Content-Length is required');
    if (!/^[0-9]{1,16}$/.test(text))
      throw new HTTPError('bad-request', 'bad Content-Length');
    const length = Number(text);
    if (length > max)
      throw new HTTPError('too-large', `body limit is ${max} bytes`, { limit: max });
    return length;
  }

  private async put(req: http.IncomingMessage, res: http.ServerResponse, url: URL, contract: string, object: number): Promise<void> {
    const token = this.authorize(req, url, contract, object, 'put').fields;
    const offText = url.searchParams.get('offset') ?? '0';
    if (!/^(0|[1-9][0-9]{0,15})$/.test(offText))
      throw new HTTPError('bad-request', 'offset must be decimal');
    const offset = Number(offText);
    if (object === objects.MANIFEST) {
      const length = this.contentLength(req, MAX_MANIFEST_SIZE);
      if (offset !== 0)
        throw new HTTPError('bad-offset', 'the manifest is written whole', { received: 0 });
      // [REJECT] beyond what the token allows
      if (length > token.maxBytes)
        throw new HTTPError('token-scope', 'body beyond token maxBytes');
      const size = await this.store.writeManifest(contract, length, req);
      return this.send(res, 200, { contract, object, size, received: size, complete: true });
    }
    const length = this.contentLength(req, MAX_BODY_SIZE);
    // [REJECT] beyond what the token allows
    if (offset + length > token.maxBytes)
      throw new HTTPError('token-scope', 'part beyond token maxBytes');
    const st = await this.store.writePart(contract, object, offset, length, req);
    this.send(res, 200, { contract, object, size: st.size, received: st.received, complete: st.complete });
  }

  private async get(req: http.IncomingMessage, res: http.ServerResponse, url: URL, contract: string, object: number, head: boolean): Promise<void> {
    const token = this.authorize(req, url, contract, object, 'get');
    const { file, size, record } = this.store.locate(contract, object);
    const headers: Headers = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (record) {
      headers['x-cc-root'] = record.root;
      headers['x-cc-leaves'] = leafCount(record.size);
    }
    const range = parseRange(req.headers.range, size);
    if (range === 'bad-range')
      throw new HTTPError('bad-range', 'one satisfiable byte range is required', { size });
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (range) {
      start = range.start;
      end = range.end;
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    const length = end - start + 1;
    if (!head && length > MAX_RESPONSE_SIZE)
      throw new HTTPError(range ? 'bad-range' : 'range-required', `responses are at most ${MAX_RESPONSE_SIZE} bytes; use Range`, { size });
    headers['content-length'] = head && !range ? size : length;
    // A read of exactly one leaf carries that leaf's Merkle proof, so an
    // audit (16 random leaves) looks like any other small read.
    if (record && range && start % LEAF_SIZE === 0
      && (length === LEAF_SIZE || (end === size - 1 && length < LEAF_SIZE)))
      headers['x-cc-proof'] = this.store.proof(contract, object, start / LEAF_SIZE).encode().toString('hex');
    if (head) {
      // A HEAD serves nothing: free, but with Range it answers as its GET
      // would, so it is refused when the range does not fit the budget.
      headers['x-cc-budget-left'] = this.charge(token, 0, range ? length : 0);
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const stream = fs.createReadStream(file, { start, end, highWaterMark: 64 * 1024 });
    await new Promise<void>((resolve) => {
      stream.once('open', () => {
        try {
          // Counted once the bytes can be sent and before any is: a read
          // that fails to open costs nothing, one cut later is not refunded.
          headers['x-cc-budget-left'] = this.charge(token, length);
        } catch (e) {
          stream.destroy();
          this.fail(res, e);
          resolve();
          return;
        }
        res.writeHead(status, headers);
        stream.pipe(res);
      });
      stream.once('error', (e) => {
        this.fail(res, e);
        resolve();
      });
      stream.once('end', () => resolve());
      res.once('close', () => {
        stream.destroy();
        resolve();
      });
    });
  }

  /**
   * Test-only hooks, as the PHP server's: POST /admin/test/clock {offset},
   * /files {under}, /read {path}, /flip {path, offset}. Paths are relative
   * to the data directory and never leave it.
   */
  private testHook(res: http.ServerResponse, method: string, parts: string[], json: Record<string, unknown>): void {
    const rel = (p: unknown): string => {
      if (typeof p !== 'string' || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(p) || p.includes('..'))
        throw new HTTPError('bad-request', 'path must be relative to the data folder');
      return path.join(this.dataDir, p);
    };
    if (method !== 'POST')
      throw new HTTPError('method-not-allowed', 'use POST');
    switch (parts[0]) {
      case 'clock':
        this.clockOffset = Number(json.offset) || 0;
        return this.send(res, 200, { time: this.now() });
      case 'files': {
        const root = rel(json.under ?? '.');
        const out: string[] = [];
        const walk = (d: string): void => {
          for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            out.push(path.relative(this.dataDir, p) + (e.isDirectory() ? '/' : ''));
            if (e.isDirectory())
              walk(p);
          }
        };
        if (fs.existsSync(root) && fs.statSync(root).isDirectory())
          walk(root);
        return this.send(res, 200, { files: out.sort() });
      }
      case 'read': {
        const file = rel(json.path);
        if (!fs.existsSync(file))
          throw new HTTPError('not-found', 'no such file');
        return this.send(res, 200, { base64: fs.readFileSync(file).toString('base64') });
      }
      case 'flip': {
        const fd = fs.openSync(rel(json.path), 'r+');
        try {
          const at = Number(json.offset) || 0;
          const b = Buffer.alloc(1);
          fs.readSync(fd, b, 0, 1, at);
          b[0] ^= 1;
          fs.writeSync(fd, b, 0, 1, at);
          return this.send(res, 200, { flipped: at });
        } finally {
          fs.closeSync(fd);
        }
      }
      default:
        throw new HTTPError('not-found', 'no such test hook');
    }
  }

  // ---- admin API ----

  private async readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
    const length = req.headers['content-length'];
    if (length !== undefined && (!/^[0-9]{1,10}$/.test(length) || Number(length) > max))
      throw new HTTPError('too-large', `admin bodies are at most ${max} bytes`);
    const parts: Buffer[] = [];
    let got = 0;
    try {
      for await (const piece of req) {
        got += (piece as Buffer).length;
        if (got > max)
          throw new HTTPError('too-large', `admin bodies are at most ${max} bytes`);
        parts.push(piece as Buffer);
      }
    } catch (e) {
      if (e instanceof HTTPError)
        throw e;
      throw new HTTPError('truncated-body', 'request body ended early');
    }
    return Buffer.concat(parts);
  }

  private parseJSON(body: Buffer): Record<string, unknown> {
    if (body.length === 0)
      return {};
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HTTPError('bad-json', 'body is not JSON');
    }
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new HTTPError('bad-json', 'body must be a JSON object');
    return json as Record<string, unknown>;
  }

  private async handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, target: string, parts: string[]): Promise<void> {
    const method = req.method ?? 'GET';
    // [REJECT] no, malformed or stale admin headers: before reading any body
    const early = precheckAdmin(req.headers, this.now());
    if (early)
      throw new HTTPError(early, early === 'stale-request' ? 'request time is outside the 120 s window' : 'admin authentication failed');
    const body = await this.readBody(req, MAX_ADMIN_BODY);
    const now = this.now();
    const failure = checkAdmin(this.adminKey, method, target, body, req.headers, now);
    if (failure)
      throw new HTTPError(failure, failure === 'stale-request' ? 'request time is outside the 120 s window' : 'admin authentication failed');
    // [REJECT] a replayed admin call (same nonce within the window)
    if (!this.replay.check(String(req.headers[adminHeaders.NONCE]), Number(req.headers[adminHeaders.TIME]), now))
      throw new HTTPError('replayed-nonce', 'nonce already used');
    const json = this.parseJSON(body);
    const [what, id, sub, objText, objSub] = parts;

    if (what === 'status' && parts.length === 1 && method === 'GET')
      return this.send(res, 200, { version: VERSION, time: now, ...this.store.status(), memory: process.memoryUsage() });

    if (what === 'purge' && parts.length === 1 && method === 'POST')
      return this.send(res, 200, { purged: this.store.purge() });

    if (what === 'test' && this.testHooks)
      return this.testHook(res, method, parts.slice(1), json);

    if (what === 'tokens' && parts.length === 1 && method === 'POST') {
      try {
        const token = mintToken(this.tokenKey, json as unknown as TokenFields);
        return this.send(res, 200, { token });
      } catch (e) {
        throw new HTTPError('bad-request', e instanceof Error ? e.message : 'bad token fields');
      }
    }

    if (what === 'contracts' && id !== undefined) {
      if (!isId(id))
        throw new HTTPError('bad-contract', 'contract ids are 64 lowercase hex');
      if (parts.length === 2) {
        if (method === 'PUT') {
          const rec = this.store.register({ id, expiry: json.expiry, manifestLimit: json.manifestLimit });
          return this.send(res, 200, rec);
        }
        if (method === 'GET')
          return this.send(res, 200, this.store.state(id));
        if (method === 'DELETE') {
          if (!this.store.unregister(id))
            throw new HTTPError('unknown-contract', 'no such contract');
          return this.send(res, 200, { removed: id });
        }
        throw new HTTPError('method-not-allowed', 'use PUT, GET or DELETE');
      }
      if (sub === 'adopt' && parts.length === 3) {
        if (method !== 'POST')
          throw new HTTPError('method-not-allowed', 'use POST');
        const adopted = this.store.adopt(id, { from: json.from, objects: json.objects });
        return this.send(res, 200, { contract: id, from: json.from, adopted });
      }
      if (sub === 'objects' && parts.length >= 4) {
        const n = parseObjectId(objText);
        if (n === null || n === objects.MANIFEST)
          throw new HTTPError('bad-object', `data object ids are 1..${objects.MAX}`);
        if (parts.length === 4) {
          if (method === 'PUT')
            return this.send(res, 200, this.store.registerObject(id, n, { root: json.root, size: json.size }));
          if (method === 'GET')
            return this.send(res, 200, this.store.objectState(id, n));
          if (method === 'DELETE') {
            this.store.deleteObject(id, n);
            return this.send(res, 200, { removed: n });
          }
          throw new HTTPError('method-not-allowed', 'use PUT, GET or DELETE');
        }
        if (parts.length === 5 && objSub === 'receipt') {
          if (method !== 'GET')
            throw new HTTPError('method-not-allowed', 'use GET');
          return this.send(res, 200, this.store.receipt(id, n));
        }
      }
    }
    throw new HTTPError('not-found', 'no such admin endpoint');
  }
}
