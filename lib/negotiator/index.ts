/*!
 * index.ts - the negotiator extension for cloudcoind (id `negotiator`) and
 * the CloudStorage P2P layer behind it: cs* packets, the OpenCloud request
 * envelope, services, policies and host announcements.
 */

import type { ExtensionModule, NodeAPI } from '../base/extension';
import { NegotiatorPlugin, options } from './plugin';
import { addRPCs } from './rpc';

/** Extension id: `api.require<Negotiator>('negotiator')`. */
export const id = 'negotiator';

export { options };

/** Build the extension: options, packets, pool events and RPCs. */
export function init(api: NodeAPI): NegotiatorPlugin {
  const plugin = new NegotiatorPlugin(api);
  addRPCs(api, plugin);
  return plugin;
}

/** The module as cloudcoind loads it. */
export const extension: ExtensionModule<NegotiatorPlugin> = { id, options, init };

export { NegotiatorPlugin, loadPolicy, policyFilePath, deferLimit } from './plugin';
export { Negotiator } from './negotiator';
export type { Target, NegotiatorOptions, LoggerLike } from './negotiator';
export type { Service, MethodSpec, RequestContext } from './services';
export {
  ServiceError, RequestError, requestCodes, PolicyError, packetCodes
} from './errors';
export type { RequestCode, PacketCode, NegotiatorPacketCode } from './errors';
export type { RequestOptions, CallResult } from './requester';
export type { PaymentHooks } from './payment';
export { statuses, isUnder } from './status';
export { NODE_CLOUDSTORAGE } from './common';
export { Policy } from './policy';
export type { HostOffer } from './announce';
export { AnnouncePacket } from './announcepacket';
export { toRPCError } from './rpc';
