/*!
 * index.ts - the hosting extension for cloudcoind (id `hosting`): storage
 * backends for a host's deals, and the `getfileservers` RPC.
 *
 *   cloudcoind --host [--host-dir D] [--host-capacity 10GB] [--host-http HOST:PORT [--host-url URL]]
 *   cloudcoind --host --fileserver URL --fileserver-key K
 * Other extensions get the instance with `api.require<Hosting>('hosting')`.
 */

import type { ExtensionModule, NodeAPI } from '../base/extension';
import { Hosting, hostingOptions, options } from './plugin';
import { addRPCs } from './rpc';

/** Extension id: `api.require<Hosting>('hosting')`. */
export const id = 'hosting';

export { options };

/** Build the extension: options, backends and RPCs. */
export function init(api: NodeAPI): Hosting {
  const hosting = new Hosting(hostingOptions(api), api.logger);
  addRPCs(api, hosting);
  return hosting;
}

/** The module as cloudcoind loads it. */
export const extension: ExtensionModule<Hosting> = { id, options, init };

export * from './backend';
export * from './localbackend';
export * from './remotebackend';
export { Hosting, HostingOptions, hostingOptions, type HostingLogger } from './plugin';
export { HostingConfigError, type HostingCode } from './errors';
export { DEFAULT_HOST_CAPACITY } from './common';
