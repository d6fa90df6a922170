/*!
 * index.ts - the negotiator extension for cloudcoind (id `negotiator`).
 *
 * Wires a Negotiator to the node: advertises NODE_CLOUDSTORAGE, routes
 * cs* packets and pool peer events to it, loads the identity from the
 * wallet, reads policies, and adds the RPC methods. Other extensions get
 * the instance with `api.require<Negotiator>('negotiator')`.
 */

import * as path from 'path';
import type bcoin from 'bcoin';
import type { NodeAPI, OptionSpec } from '../base/extension';
import { Identity } from '../base/identity';
import { parseAmount } from '../base/units';
import { NODE_CLOUDSTORAGE, DEFAULT_DEFER_LIMIT, MAX_MONEY } from './common';
import { Negotiator } from './negotiator';
import { commands } from './packets';
import { Policy, PolicyError } from './policy';
import { addRPCMethods } from './rpc';

export const id = 'negotiator';

export const options: OptionSpec[] = [
  {
    name: 'policy',
    type: 'list',
    description: 'Access policy rule "ACTION SCOPE [VALUE]", e.g. "deny peers" or "min-payment storage 500sat" (repeatable)'
  },
  {
    name: 'policy-file',
    type: 'string',
    description: 'JSON file of policy rules; a relative path is relative to the datadir (where cloudcoin.conf is)'
  },
  {
    name: 'defer-limit',
    type: 'string',
    description: 'Credit an identity may defer before paying, e.g. 10000sat; 0 refuses deferred payment',
    defaultText: `${DEFAULT_DEFER_LIMIT}sat`
  }
];

/**
 * Where a relative `--policy-file` lives: the base datadir, next to
 * cloudcoin.conf, as bitcoind resolves a relative `-conf` (not the
 * network's subfolder, and not the working directory).
 */
export function policyFilePath(api: Pick<NodeAPI, 'datadir' | 'network'>, file: string): string {
  const base = api.network.type === 'main' ? api.datadir : path.dirname(api.datadir);
  return path.resolve(base, file);
}

/** Build the policy from `policy` lines and `policy-file`. */
export function loadPolicy(api: Pick<NodeAPI, 'config' | 'datadir' | 'network'>): Policy {
  const policy = Policy.fromStrings(api.config.list('policy'), api.network);
  const file = api.config.str('policy-file');
  if (file)
    policy.loadFile(policyFilePath(api, file), api.network);
  return policy;
}

function deferLimit(api: NodeAPI): number {
  const text = api.config.str('defer-limit');
  if (text === null)
    return DEFAULT_DEFER_LIMIT;
  const amount = parseAmount(text);
  if (amount === null || amount > MAX_MONEY)
    throw new PolicyError(`--defer-limit must be an amount such as 10000sat, got "${text}".`);
  return amount;
}

async function loadIdentity(api: NodeAPI): Promise<Identity> {
  let wallet: bcoin.WalletPlugin | null = null;
  try {
    wallet = api.wallet();
  } catch {
    wallet = null;
  }
  if (!wallet) {
    api.logger.warning('negotiator: no wallet, using a throwaway identity');
    return Identity.generate(api.network);
  }
  return api.identity();
}

export function init(api: NodeAPI): Negotiator {
  const neg = new Negotiator({
    network: api.network,
    logger: api.logger,
    send: (peer, cmd, payload) => api.sendPacket(peer as bcoin.Peer, cmd, payload),
    loadIdentity: () => loadIdentity(api),
    policy: loadPolicy(api),
    deferLimit: deferLimit(api),
    height: () => api.chain.height
  });

  api.addServiceBit(NODE_CLOUDSTORAGE);
  for (const cmd of Object.values(commands))
    api.addPacket(cmd, (peer, payload) => neg.handlePacket(peer, cmd, payload));
  api.pool.on('peer open', (peer: bcoin.Peer) => neg.peerOpen(peer));
  api.pool.on('peer close', (peer: bcoin.Peer) => neg.peerClose(peer));
  addRPCMethods((name, help, fn) => api.addRPC(name, help, fn), neg);
  return neg;
}

export { Negotiator } from './negotiator';
export type { Target, NegotiatorOptions } from './negotiator';
export type { Service, MethodSpec, RequestContext } from './services';
export { ServiceError } from './services';
export type { RequestOptions, CallResult } from './client';
export { RequestError, requestCodes } from './client';
export type { PaymentHooks } from './payment';
export { statuses, isUnder } from './status';
export { NODE_CLOUDSTORAGE } from './common';
export { Policy, PolicyError } from './policy';
export type { HostOffer } from './announce';
export { AnnouncePacket } from './packets';
