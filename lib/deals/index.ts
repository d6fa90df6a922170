/*!
 * index.ts - the deals extension for cloudcoind (id `deals`): storage deals
 * between renters and hosts (the `storage` service on the host side; the
 * renter's deals, files and client on the other).
 * Other extensions get the instance with `api.require<Deals>('deals')`.
 */

import type { ExtensionModule, NodeAPI } from '../base/extension';
import { Deals, options } from './plugin';
import { addRPCs } from './rpc';

/** Extension id: `api.require<Deals>('deals')`. */
export const id = 'deals';

/** `help` lists the deals RPCs under `== Storage ==`, beside cloudcoin-cli's storage commands. */
export const rpcGroup = 'Storage';

export { options };

/** Build the extension: terms, the renter's file book and RPCs. */
export function init(api: NodeAPI): Deals {
  const deals = new Deals(api);
  addRPCs(api, deals);
  return deals;
}

/** The module as cloudcoind loads it. */
export const extension: ExtensionModule<Deals> = { id, rpcGroup, options, init };

export { Deals } from './plugin';
export { Renter } from './renter';
export { DealError, type DealErrorCode } from './errors';
export { RenterFiles } from './renterfiles';
export * from './renterclient';
export type * from './rpctypes';
export { HostService } from './hostservice';
export * from './pricing';
export * from './wire';
