/*!
 * plugin.ts - the negotiator as a cloudcoind extension: a Negotiator wired
 * to the node.
 *
 * The constructor reads the negotiator's options (policy lines and file,
 * defer limit), advertises NODE_CLOUDSTORAGE and routes cs* packets and the
 * pool's peer events to the Negotiator; `open()` loads the identity from
 * the wallet. Everything else is the Negotiator's (negotiator.ts), which
 * knows the node only through NegotiatorOptions so tests can run it over
 * in-memory peers. Other extensions get this instance with
 * `api.require<Negotiator>('negotiator')`.
 */

import * as path from 'path';
import type bcoin from 'bcoin';
import type { NodeAPI, OptionSpec } from '../base/extension';
import { Identity } from '../base/identity';
import { parseAmount } from '../base/units';
import { NODE_CLOUDSTORAGE, DEFAULT_DEFER_LIMIT, MAX_MONEY } from './common';
import { PolicyError } from './errors';
import { Negotiator, type NegotiatorOptions } from './negotiator';
import { commands } from './packets';
import { Policy } from './policy';

/** Flags and cloudcoin.conf keys the negotiator reads. */
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

/** Build the policy from `policy` lines and `policy-file`; throws PolicyError. */
export function loadPolicy(api: Pick<NodeAPI, 'config' | 'datadir' | 'network'>): Policy {
  const policy = Policy.fromStrings(api.config.list('policy'), api.network);
  const file = api.config.str('policy-file');
  if (file)
    policy.loadFile(policyFilePath(api, file), api.network);
  return policy;
}

/** `--defer-limit` in sat (default DEFAULT_DEFER_LIMIT); throws PolicyError. */
export function deferLimit(api: Pick<NodeAPI, 'config'>): number {
  const text = api.config.str('defer-limit');
  if (text === null)
    return DEFAULT_DEFER_LIMIT;
  const amount = parseAmount(text);
  if (amount === null || amount > MAX_MONEY)
    throw new PolicyError(`--defer-limit must be an amount such as 10000sat, got "${text}".`);
  return amount;
}

/** The wallet's identity, or a throwaway one (with a warning) on a node without a wallet. */
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

/** NegotiatorOptions for a node. */
function negotiatorOptions(api: NodeAPI): NegotiatorOptions {
  return {
    network: api.network,
    logger: api.logger,
    send: (peer, cmd, payload) => api.sendPacket(peer as bcoin.Peer, cmd, payload),
    loadIdentity: () => loadIdentity(api),
    policy: loadPolicy(api),
    deferLimit: deferLimit(api),
    height: () => api.chain.height
  };
}

/** The `negotiator` extension instance. */
export class NegotiatorPlugin extends Negotiator {
  readonly api: NodeAPI;

  /** Reads options (throws PolicyError on bad ones) and hooks into the pool. */
  constructor(api: NodeAPI) {
    super(negotiatorOptions(api));
    this.api = api;
    api.addServiceBit(NODE_CLOUDSTORAGE);
    for (const cmd of Object.values(commands))
      api.addPacket(cmd, (peer, payload) => this.handlePacket(peer, cmd, payload));
    api.pool.on('peer open', (peer: bcoin.Peer) => this.peerOpen(peer));
    api.pool.on('peer close', (peer: bcoin.Peer) => this.peerClose(peer));
  }
}
