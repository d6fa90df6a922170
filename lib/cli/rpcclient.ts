/*!
 * rpcclient.ts - JSON-RPC over HTTP to cloudcoind, with bitcoind-style auth.
 */

import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { CodedError } from '../base/errors';

/** How long one RPC call may take before the client gives up. */
export const RPC_TIMEOUT_MS = 10 * 60 * 1000;
/** Largest RPC response the client reads (a block with all txs is far less). */
export const MAX_RESPONSE_SIZE = 64 << 20;

/** Why an RPC call failed; `rpc` means the node answered with an error. */
export type RPCClientCode = 'bad-cookie' | 'bad-response' | 'io' | 'no-connection' | 'no-cookie' | 'rpc' | 'unauthorized';

/** A failure the user can act on; `code` is stable for tests. */
export class RPCClientError extends CodedError<RPCClientCode> {
  /** The node's bitcoind-style error code when `code` is `rpc`. */
  readonly rpcCode: number | null;

  constructor(code: RPCClientCode, message: string, rpcCode: number | null = null) {
    super(code, message);
    this.rpcCode = rpcCode;
  }
}

/** User name sent with an explicit key when none is given (cloudcoind's default `--rpcuser`). */
export const DEFAULT_RPC_USER = 'cloudcoin';

export interface RPCClientOptions {
  host: string;
  port: number;
  /** Explicit key (the node's `--api-key`); else read from `cookieFile`. */
  apiKey?: string;
  /** User name sent with `apiKey` (default DEFAULT_RPC_USER). */
  user?: string;
  cookieFile?: string;
  timeoutMs?: number;
}

/** Basic auth credentials. */
export interface Credentials {
  user: string;
  password: string;
}

/** Read `__cookie__:<key>` from a cookie file. */
export function readCookie(file: string): Credentials {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new RPCClientError('no-cookie',
      `cannot read the RPC cookie ${file}: is cloudcoind running with this --datadir? (or pass --api-key)`);
  }
  const i = text.indexOf(':');
  if (i < 0)
    throw new RPCClientError('bad-cookie', `malformed cookie file ${file}`);
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

/** A kept-alive socket reset before any answer (see RPCClient#call). */
class StaleSocketError extends Error {}

export class RPCClient {
  readonly options: RPCClientOptions;
  private id = 0;

  constructor(options: RPCClientOptions) {
    this.options = options;
  }

  private credentials(): Credentials {
    if (this.options.apiKey)
      return { user: this.options.user ?? DEFAULT_RPC_USER, password: this.options.apiKey };
    if (this.options.cookieFile)
      return readCookie(this.options.cookieFile);
    return { user: this.options.user ?? DEFAULT_RPC_USER, password: '' };
  }

  /**
   * Why a 401 may have come: with the cookie of a --datadir, most often
   * another node's port (the cookie says nothing of the port it belongs to).
   */
  private authHint(): string {
    if (this.options.apiKey)
      return 'wrong --rpcuser or --api-key';
    if (this.options.cookieFile)
      return `the cookie ${this.options.cookieFile} is another node's (give the --rpcport of that datadir's node)`;
    return 'wrong --rpcuser, --api-key or cookie';
  }

  /**
   * Call one method; resolves to its result or throws RPCClientError. A
   * request that meets a kept-alive socket the server just closed as idle
   * (reset before any answer: the server never read it) is sent once more
   * on a fresh socket: Node's documented race (nodejs.org/api/http.html,
   * `reusedSocket`); long-lived callers met it under load.
   */
  async call(method: string, params: unknown[] = []): Promise<unknown> {
    try {
      return await this.send(method, params, undefined);
    } catch (e) {
      if (!(e instanceof StaleSocketError))
        throw e;
      return this.send(method, params, false);
    }
  }

  private send(method: string, params: unknown[], agent: false | undefined): Promise<unknown> {
    const body = JSON.stringify({ method, params, id: ++this.id });
    const auth = this.credentials();
    const where = `${this.options.host}:${this.options.port}`;
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = http.request({
        agent,
        host: this.options.host,
        port: this.options.port,
        method: 'POST',
        path: '/',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          Authorization: 'Basic ' + Buffer.from(`${auth.user}:${auth.password}`).toString('base64')
        },
        timeout: this.options.timeoutMs ?? RPC_TIMEOUT_MS
      }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_SIZE) {
            req.destroy();
            reject(new RPCClientError('bad-response', `response from ${where} exceeds ${MAX_RESPONSE_SIZE} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => reject(new RPCClientError('io', `connection to ${where} failed: ${e.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 401 || res.statusCode === 403) {
            reject(new RPCClientError('unauthorized', `authorization failed at ${where}: ${this.authHint()}`));
            return;
          }
          let json: { result?: unknown; error?: { message: string; code: number } | null };
          try {
            json = JSON.parse(text);
          } catch {
            json = null as unknown as typeof json;
          }
          if (!json || typeof json !== 'object' || Array.isArray(json)) {
            reject(new RPCClientError('bad-response',
              `unexpected HTTP ${res.statusCode} from ${where}: ${text.slice(0, 200)}`));
            return;
          }
          if (json.error) {
            reject(new RPCClientError('rpc', json.error.message, json.error.code));
            return;
          }
          resolve(json.result ?? null);
        });
      });
      req.on('timeout', () => {
        req.destroy(new Error('timed out'));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (!answered && req.reusedSocket && e.code === 'ECONNRESET')
          reject(new StaleSocketError());
        else if (e.code === 'ECONNREFUSED')
          reject(new RPCClientError('no-connection', `cannot connect to cloudcoind at ${where}: is it running?`));
        else
          reject(new RPCClientError('io', `RPC to ${where} failed: ${e.message}`));
      });
      req.end(body);
    });
  }
}

/** Cookie file location for a base datadir and network. */
export function cookiePath(networkDir: string): string {
  return path.join(networkDir, '.cookie');
}
