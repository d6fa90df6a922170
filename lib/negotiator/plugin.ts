/*!
 * plugin.ts - the negotiator as a cloudcoind extension: a Negotiator wired
 * to the node.
 *
 * The constructor reads the negotiator's options (policy lines and file,
 * defer limit, cloud slots), advertises NODE_CLOUDSTORAGE, routes cs*
 * packets and the pool's peer events to the Negotiator and lets it dial
 * through the pool (cloudpeers.ts); `open()` loads the identity from the
 * wallet. Everything else is the Negotiator's (negotiator.ts), which
 * knows the node only through NegotiatorOptions so tests can run it over
 * in-memory peers. Other extensions get this instance with
 * `api.require<Negotiator>('negotiator')`.
 */

import * as path from 'path';
import type bcoin from 'bcoin';
import type { NodeAPI, OptionSpec } from '../base/extension';
import { Identity } from '../base/identity';
import { ConfigError } from '../node/config';
import { parseAmount } from '../base/units';
import { CloudSlots, dialer, directAddresses, refreshLocalAddresses } from './cloudpeers';
import { NODE_CLOUDSTORAGE, DEFAULT_DEFER_LIMIT, DEFAULT_MAX_QUOTE_PAYMENT, DEFAULT_CLOUD_PEERS, MAX_CLOUD_SLOTS, MAX_MONEY } from './common';
import { PolicyError } from './errors';
import { Negotiator, type NegotiatorOptions } from './negotiator';
import { commands } from './packets';
import { Policy } from './policy';
import { walletPayments } from './walletpay';

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
    name: 'cloudpeers',
    type: 'uint',
    description: `Extra outbound connections kept for CloudStorage peers from the address manager (0 to ${MAX_CLOUD_SLOTS})`,
    defaultText: `${DEFAULT_CLOUD_PEERS}, 0 with --connect`
  },
  {
    name: 'max-quote-payment',
    type: 'string',
    description: 'Most this node pays a host for one storage quote (negotiate-storage, put), e.g. 100sat; '
      + 'a host asking more is skipped, with the reason',
    defaultText: `${DEFAULT_MAX_QUOTE_PAYMENT}sat`
  },
  {
    name: 'defer-limit',
    type: 'string',
    description: 'Credit an identity may defer before paying, e.g. 10000sat; 0 refuses deferred payment '
      + '(a defer-limit policy sets it per scope)',
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

/** An amount flag in sat, `fallback` when not given; a bad one is `error(message)`. */
function amountFlag(api: Pick<NodeAPI, 'config'>, name: string, fallback: number, error: (m: string) => Error): number {
  const text = api.config.str(name);
  if (text === null)
    return fallback;
  const amount = parseAmount(text);
  if (amount === null || amount > MAX_MONEY)
    throw error(`--${name} must be an amount such as ${fallback || 100}sat, got "${text}".`);
  return amount;
}

/** `--defer-limit` in sat (default DEFAULT_DEFER_LIMIT); throws PolicyError. */
export function deferLimit(api: Pick<NodeAPI, 'config'>): number {
  return amountFlag(api, 'defer-limit', DEFAULT_DEFER_LIMIT, (m) => new PolicyError(m));
}

/** `--max-quote-payment` in sat (default DEFAULT_MAX_QUOTE_PAYMENT); throws ConfigError. */
export function maxQuotePayment(api: Pick<NodeAPI, 'config'>): number {
  return amountFlag(api, 'max-quote-payment', DEFAULT_MAX_QUOTE_PAYMENT, (m) => new ConfigError(m));
}

/**
 * `--cloudpeers` (default DEFAULT_CLOUD_PEERS, but 0 with `--connect`: as
 * bitcoind's -connect, it turns automatic connections off unless cloud
 * peers are asked for explicitly); throws ConfigError above MAX_CLOUD_SLOTS.
 */
export function cloudSlots(api: Pick<NodeAPI, 'config'>): number {
  const fallback = api.config.list('connect').length > 0 ? 0 : DEFAULT_CLOUD_PEERS;
  const n = api.config.uint('cloudpeers') ?? fallback;
  if (n > MAX_CLOUD_SLOTS)
    throw new ConfigError(`--cloudpeers must be from 0 to ${MAX_CLOUD_SLOTS}, got ${n}.`);
  return n;
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

/** NegotiatorOptions for a node; `slots` is filled in once the plugin exists. */
function negotiatorOptions(api: NodeAPI, slots: { current: CloudSlots | null }): NegotiatorOptions {
  const pool = api.pool;
  return {
    network: api.network,
    logger: api.logger,
    send: (peer, cmd, payload) => api.sendPacket(peer as bcoin.Peer, cmd, payload),
    loadIdentity: () => loadIdentity(api),
    policy: loadPolicy(api),
    deferLimit: deferLimit(api),
    maxQuotePayment: maxQuotePayment(api),
    height: () => api.chain.height,
    dial: dialer(pool, api.network),
    disconnect: (peer) => (peer as bcoin.Peer).destroy(),
    directAddresses: () => directAddresses(pool, api.network),
    listenPort: () => pool.options.listen ? pool.options.publicPort : null,
    temporaryChanged: (count) => slots.current?.setTemporary(count)
  };
}

/** The `negotiator` extension instance. */
export class NegotiatorPlugin extends Negotiator {
  readonly api: NodeAPI;
  readonly slots: CloudSlots;

  /** Reads options (throws PolicyError on bad ones) and hooks into the pool. */
  constructor(api: NodeAPI) {
    const holder: { current: CloudSlots | null } = { current: null };
    const slots = cloudSlots(api);
    super(negotiatorOptions(api, holder));
    this.api = api;
    api.addServiceBit(NODE_CLOUDSTORAGE);
    refreshLocalAddresses(api.pool, api.network);
    this.slots = new CloudSlots({
      pool: api.pool, network: api.network, slots, isTemporary: (peer) => this.dialer.isTemporary(peer)
    });
    holder.current = this.slots;
    for (const cmd of Object.values(commands))
      api.addPacket(cmd, (peer, payload) => this.handlePacket(peer, cmd, payload));
    api.pool.on('peer open', (peer: bcoin.Peer) => this.peerOpen(peer));
    api.pool.on('peer close', (peer: bcoin.Peer) => this.peerClose(peer));
  }

  /** Load the identity; with a wallet, `attached` payments are wallet transactions (walletpay.ts). */
  async open(): Promise<void> {
    await super.open();
    let wdb: bcoin.WalletDB | null = null;
    try {
      wdb = this.api.wallet().wdb;
    } catch {
      wdb = null;
    }
    if (wdb) {
      const db = wdb;
      this.setPaymentHooks(walletPayments({
        network: this.api.network, chain: this.api.chain, mempool: this.api.mempool, wdb: db, wallet: db.primary,
        identity: () => this.identity.publicKey, logger: this.api.logger
      }));
    }
  }
}
