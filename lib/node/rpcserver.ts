/*!
 * rpcserver.ts - the JSON-RPC endpoint, answering as bitcoind does.
 *
 * bcoin 1.0.2 serves RPC through bweb, which checks only the password,
 * reads any body up to 20 MiB before judging it, and answers a batch
 * holding `null`, a body that is not JSON or an oversized one with HTTP 500
 * and a JavaScript message. This front sits before bweb on the node's HTTP
 * server and follows bitcoind's src/httprpc.cpp instead:
 *
 * - every request needs Basic auth with the right user and password
 *   (`__cookie__` and the cookie, or `--rpcuser` and `--api-key`); a
 *   failure is 401 after a 250 ms pause that slows guessing;
 * - `POST /` is JSON-RPC: a body over MAX_RPC_BODY is 413 and the
 *   connection is cut, so nothing more is read; a body that is not JSON
 *   is -32700; a request that is not an object, has no string method or
 *   non-array params is -32600; a batch gets one answer per element,
 *   the event loop free between them;
 * - a single request's HTTP status follows its error, as bitcoind's
 *   (-32600 -> 400, -32601 -> 404, any other error -> 500, else 200);
 * - anything else (bcoin's REST routes) goes on to bweb.
 */

import type * as http from 'http';
import { timingSafeEqual, createHash } from 'crypto';
import { rpcCodes } from '../base/errors';

/** bitcoind's MAX_SIZE for an HTTP request body (src/serialize.h): 32 MiB. */
export const MAX_RPC_BODY = 0x02000000;
/** bitcoind pauses 250 ms after a failed login (src/httprpc.cpp). */
export const AUTH_FAIL_DELAY_MS = 250;
/** Time to receive a whole request body (bitcoind's -rpcservertimeout default, 30 s). */
export const BODY_TIMEOUT_MS = 30000;
/** How long a refused client gets to read the answer before its socket is closed. */
export const LINGER_MS = 2000;
/** JSON-RPC parse error (bitcoind RPC_PARSE_ERROR). */
export const PARSE_ERROR = -32700;

/** One JSON-RPC answer, as bitcoind writes it. */
export interface RPCReply {
  result: unknown;
  error: { code: number; message: string } | null;
  id: unknown;
}

/** Runs one checked request (bweb's RPC#call with a single object). */
export type RPCExecutor = (request: { method: string; params: unknown[]; id: unknown }) => Promise<RPCReply>;

export interface RPCServerOptions {
  /** Basic auth user name the client must send. */
  user: string;
  /** Basic auth password (the cookie or --api-key). */
  password: string;
  execute: RPCExecutor;
  maxBodySize?: number;
  authFailDelayMs?: number;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time check of a Basic `Authorization` header. */
export function checkBasicAuth(header: string | undefined, user: string, password: string): boolean {
  if (typeof header !== 'string' || header.length > 1024)
    return false;
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header.trim());
  if (!m)
    return false;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0)
    return false;
  // Compare digests so neither length nor content leaks through timing.
  const okUser = timingSafeEqual(digest(text.slice(0, colon)), digest(user));
  const okPass = timingSafeEqual(digest(text.slice(colon + 1)), digest(password));
  return okUser && okPass;
}

function reply(error: { code: number; message: string }, id: unknown = null): RPCReply {
  return { result: null, error, id };
}

/** The HTTP status bitcoind gives a single request's answer. */
export function statusOf(r: RPCReply): number {
  if (!r.error)
    return 200;
  if (r.error.code === rpcCodes.INVALID_REQUEST)
    return 400;
  if (r.error.code === rpcCodes.METHOD_NOT_FOUND)
    return 404;
  return 500;
}

/** Check one request object and run it; never throws. */
export async function runRequest(req: unknown, execute: RPCExecutor): Promise<RPCReply> {
  if (!req || typeof req !== 'object' || Array.isArray(req))
    return reply({ code: rpcCodes.INVALID_REQUEST, message: 'Invalid Request object' });
  const r = req as { method?: unknown; params?: unknown; id?: unknown };
  const id = r.id === undefined ? null : r.id;
  if (typeof r.method !== 'string')
    return reply({ code: rpcCodes.INVALID_REQUEST, message: 'Method must be a string' }, id);
  if (r.params !== undefined && r.params !== null && !Array.isArray(r.params))
    return reply({ code: rpcCodes.INVALID_REQUEST, message: 'Params must be an array' }, id);
  try {
    return await execute({ method: r.method, params: (r.params as unknown[] | null | undefined) ?? [], id });
  } catch (e) {
    return reply({ code: rpcCodes.INTERNAL_ERROR, message: e instanceof Error ? e.message : String(e) }, id);
  }
}

/**
 * Answer a parsed JSON-RPC body: an object, or a batch (an array) with one
 * answer per element, in order.
 * @returns the HTTP status and the JSON to send
 */
export async function answerBody(body: unknown, execute: RPCExecutor): Promise<{ status: number; json: unknown }> {
  if (Array.isArray(body)) {
    if (body.length === 0)
      return { status: 400, json: reply({ code: rpcCodes.INVALID_REQUEST, message: 'Invalid Request object' }) };
    const out: RPCReply[] = [];
    for (const req of body) {
      // Most methods answer without I/O, in microtasks only: a batch of
      // them (a 32 MiB body holds 800,000 `help` calls, 9 ms each) would
      // keep the event loop from P2P, timers and every other client for
      // hours. Each request waits its turn behind them instead.
      await new Promise<void>((resolve) => setImmediate(resolve));
      out.push(await runRequest(req, execute));
    }
    return { status: 200, json: out };
  }
  const r = await runRequest(body, execute);
  return { status: statusOf(r), json: r };
}

function send(res: http.ServerResponse, status: number, json: unknown): void {
  const text = `${JSON.stringify(json)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Answer on the raw socket and hang up without reading the rest of the
 * body. Node's own response path would read and discard the whole body
 * first (and a close with unread data sends a reset that can destroy the
 * answer before the client reads it), so: the answer, then FIN, no more
 * reads, and the socket closed once the client had time to read.
 */
function hangUp(req: http.IncomingMessage, status: number, reason: string, headers: string[], message: string): void {
  const sock = req.socket;
  req.pause();
  const head = [`HTTP/1.1 ${status} ${reason}`, 'Content-Type: text/plain', `Content-Length: ${Buffer.byteLength(message)}`,
    'Connection: close', ...headers];
  sock.end(`${head.join('\r\n')}\r\n\r\n${message}`);
  setTimeout(() => sock.destroy(), LINGER_MS).unref();
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'timeout'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (v: Buffer | 'too-large' | 'timeout') => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      resolve(v);
    };
    const timer = setTimeout(() => done('timeout'), BODY_TIMEOUT_MS);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.pause();
        done('too-large');
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => done(Buffer.concat(chunks)));
    req.on('error', () => done('timeout'));
  });
}

/**
 * Put the bitcoind-style front before bweb on `server`: it sees every
 * request first and hands bweb only authorized requests that are not
 * JSON-RPC. Intercepts `emit('request')`, so listener order does not matter.
 */
export function serveRPC(server: http.Server, options: RPCServerOptions): void {
  const limit = options.maxBodySize ?? MAX_RPC_BODY;
  const delay = options.authFailDelayMs ?? AUTH_FAIL_DELAY_MS;
  const emit = server.emit.bind(server);

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, next: () => void): Promise<void> => {
    if (!checkBasicAuth(req.headers.authorization, options.user, options.password)) {
      req.pause();
      await new Promise((r) => setTimeout(r, delay));
      hangUp(req, 401, 'Unauthorized', ['WWW-Authenticate: Basic realm="jsonrpc"'], '');
      return;
    }
    const pathname = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || pathname !== '/') {
      next();
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      hangUp(req, 413, 'Payload Too Large', [], `request body over ${limit} bytes\n`);
      return;
    }
    const body = await readBody(req, limit);
    if (body === 'too-large') {
      hangUp(req, 413, 'Payload Too Large', [], `request body over ${limit} bytes\n`);
      return;
    }
    if (body === 'timeout') {
      req.socket.destroy();
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      send(res, 500, reply({ code: PARSE_ERROR, message: 'Parse error' }));
      return;
    }
    const { status, json } = await answerBody(parsed, options.execute);
    send(res, status, json);
  };

  server.emit = function emitWithFront(this: http.Server, event: string, ...args: unknown[]): boolean {
    if (event !== 'request')
      return emit(event, ...args);
    const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
    handle(req, res, () => { emit(event, ...args); }).catch(() => {
      if (!res.headersSent)
        send(res, 500, reply({ code: rpcCodes.INTERNAL_ERROR, message: 'Internal error' }));
      else
        req.socket.destroy();
    });
    return true;
  } as typeof server.emit;
}
