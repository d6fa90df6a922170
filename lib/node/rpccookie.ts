/*!
 * rpccookie.ts - who may call the RPC endpoint, as with bitcoind: the
 * `--rpcuser`/`--api-key` pair, else a random password written to the
 * datadir's `.cookie` file (`__cookie__:PASSWORD`, owner-only) that
 * cloudcoin-cli reads, removed again when the node stops.
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

/** RPC user for `--api-key` when no `--rpcuser` is given. */
export const DEFAULT_RPC_USER = 'cloudcoin';
/** The cookie's user name, as bitcoind writes it. */
export const COOKIE_USER = '__cookie__';

/** The endpoint's user and password, and the cookie file when there is no api key. */
export class RPCCredentials {
  readonly user: string;
  readonly password: string;
  /** `DATADIR/.cookie`, or null with an api key. */
  readonly cookieFile: string | null;
  /** True once this node wrote the cookie: only then is it ours to remove. */
  private written = false;

  constructor(datadir: string, apiKey: string | undefined, rpcUser: string | undefined) {
    const cookie = !apiKey;
    this.password = apiKey || randomBytes(32).toString('hex');
    this.user = cookie ? COOKIE_USER : rpcUser || DEFAULT_RPC_USER;
    this.cookieFile = cookie ? path.join(datadir, '.cookie') : null;
  }

  /** Write the cookie (0600), once the node holds its datadir. */
  writeCookie(): void {
    if (!this.cookieFile)
      return;
    fs.writeFileSync(this.cookieFile, `${COOKIE_USER}:${this.password}`, { mode: 0o600 });
    this.written = true;
  }

  /** Remove the cookie this node wrote, if any. */
  removeCookie(): void {
    if (!this.cookieFile || !this.written)
      return;
    this.written = false;
    try {
      fs.unlinkSync(this.cookieFile);
    } catch {
      // already gone
    }
  }
}
