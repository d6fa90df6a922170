/*!
 * fullnode.ts - CloudNode's options and the bcoin FullNode built from
 * them: mainnet standardness, a witness wallet in the datadir, RPC on
 * loopback, bitcoind's -connect/-addnode, no implicit regtest seed.
 */

import * as path from 'path';
import bcoin = require('../bcoin');
import type { Config } from './config';
import type { ExtensionModule } from '../base/extension';

export interface CloudNodeOptions {
  network: string;
  /** Network-specific data directory; created if missing. */
  datadir: string;
  memory?: boolean;
  /** P2P bind host and port (port defaults to the network's). */
  host?: string;
  port?: number;
  listen?: boolean;
  /** Address other peers should dial (defaults to host:port). */
  publicHost?: string;
  /** Only connect to these `host:port` peers (bitcoind -connect). */
  connect?: string[];
  /** Also connect to these peers (bitcoind -addnode). */
  addnode?: string[];
  rpcHost?: string;
  rpcPort?: number;
  /** RPC password; when absent a random cookie is written to the datadir. */
  apiKey?: string;
  /** RPC user name that goes with `apiKey` (default DEFAULT_RPC_USER); the cookie's is `__cookie__`. */
  rpcUser?: string;
  /** Passphrase of an encrypted wallet, to take the node's own keys at start (unlockForStart). */
  walletPassphrase?: string;
  logLevel?: string;
  /** Also log to the console (the daemon logs to `<datadir>/debug.log`). */
  logConsole?: boolean;
  logFile?: boolean;
  extensions?: ExtensionModule[];
  /** Values (flags and cloudcoin.conf) extensions read through api.config. */
  config?: Config;
  /** Create the primary wallet from this BIP39 phrase (a new datadir only; walletseed.ts). */
  restoreMnemonic?: string;
}

/**
 * The bcoin FullNode for `options`, its RPC password `apiKey`.
 * @throws Error when the datadir does not end in the network's name (networkDir())
 */
export function createFullNode(options: CloudNodeOptions, apiKey: string): bcoin.FullNode {
  const datadir = options.datadir;
  const memory = options.memory === true;
  const isRegtest = options.network === 'regtest';

  // bcoin appends the network name to `prefix` for every network but
  // main, so hand it the base directory and let it land in ours.
  const isMain = options.network === 'main';
  if (!isMain && path.basename(datadir) !== options.network)
    throw new Error(`datadir must end in /${options.network} (see networkDir()).`);
  const prefix = isMain ? datadir : path.dirname(datadir);

  return new bcoin.FullNode({
    network: options.network,
    prefix,
    memory,
    workers: false,
    // Mainnet standardness: our commitments must relay on mainnet too.
    requireStandard: true,
    indexTX: true,
    indexAddress: false,
    listen: options.listen !== false,
    host: options.host || '0.0.0.0',
    port: options.port,
    publicHost: options.publicHost || (options.host && options.host !== '0.0.0.0' ? options.host : undefined),
    publicPort: options.port,
    only: options.connect && options.connect.length ? options.connect : undefined,
    nodes: options.addnode && options.addnode.length ? options.addnode : undefined,
    // The regtest seed is 127.0.0.1:48444: never dial it implicitly.
    seeds: isRegtest ? [] : undefined,
    httpHost: options.rpcHost || '127.0.0.1',
    httpPort: options.rpcPort,
    apiKey,
    walletPrefix: datadir,
    walletWitness: true,
    // The wallet is reached through the node's RPC endpoint; its own
    // HTTP server listens on an ephemeral loopback port nobody needs.
    walletHttpHost: '127.0.0.1',
    walletHttpPort: 0,
    logLevel: options.logLevel || 'info',
    logConsole: options.logConsole === true,
    logFile: options.logFile === true && !memory
  });
}
