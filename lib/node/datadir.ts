/*!
 * datadir.ts - where cloudcoind keeps its data, bitcoind style.
 *
 * `--datadir D` (default ~/.cloudcoin) holds cloudcoin.conf; each network
 * but main gets a subfolder (`D/regtest`) for chain, wallet, indexes,
 * debug.log and the RPC cookie.
 */

import * as os from 'os';
import * as path from 'path';

export const NETWORKS = ['main', 'testnet', 'regtest', 'simnet'] as const;
export type NetworkName = typeof NETWORKS[number];

/** Default rpc ports per network (bcoin's defaults). */
export const RPC_PORTS: Record<NetworkName, number> = {
  main: 8332,
  testnet: 18332,
  regtest: 48332,
  simnet: 18556
};

export function defaultDatadir(): string {
  return path.join(os.homedir(), '.cloudcoin');
}

/** Network-specific data directory under a base datadir. */
export function networkDir(base: string, network: NetworkName): string {
  return network === 'main' ? base : path.join(base, network);
}

export function isNetwork(name: string): name is NetworkName {
  return (NETWORKS as readonly string[]).includes(name);
}
