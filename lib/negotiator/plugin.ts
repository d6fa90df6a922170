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
import { NODE_CLOUDSTORAGE, DEFAULT_DEFER_LIMIT, DEFAULT_MAX_QUOTE_PAYMENT, DEFAULT_PAYMENT_GRACE_MS, DEFAULT_UNCONFIRMED_LIMIT, DEFAULT_CLOUD_PEERS, MAX_CLOUD_SLOTS, MAX_MONEY } from './common';
import { PolicyError } from './errors';
import { Negotiator, type NegotiatorOptions } from './negotiator';
import { COIN_REQUEST_CMD } from './envelope';
import { commands } from './packettypes';
import { MAX_COIN_PROOFS, type CoinNeed } from './coins';
import type { CoinHooks } from './negotiator';
import type { CoinKey, CoinProver } from './requester';
import { Policy } from './policy';
import { outpointsOf, walletPayments } from './walletpay';

/** Flags and cloudcoin.conf keys the negotiator reads. */
export const options: OptionSpec[] = [
  {
    name: 'policy',
    type: 'list',
    placeholder: '<rule>',
    description: 'Access policy rule "ACTION SCOPE [VALUE]", e.g. "deny peers" or "min-payment storage 500sat" (repeatable)'
  },
  {
    name: 'policy-file',
    type: 'string',
    placeholder: '<file>',
    description: 'JSON file of policy rules; a relative path is relative to the datadir (where cloudcoin.conf is)'
  },
  {
    name: 'cloudpeers',
    type: 'uint',
    placeholder: '<peers>',
    description: `Extra outbound connections kept for CloudStorage peers from the address manager (0 to ${MAX_CLOUD_SLOTS})`,
    defaultText: `${DEFAULT_CLOUD_PEERS}, 0 with --connect`
  },
  {
    name: 'max-quote-payment',
    type: 'string',
    placeholder: '<sat>',
    description: 'Most this node pays a host for one storage quote (negotiate-storage, put), e.g. 100sat; '
      + 'a host asking more is skipped, with the reason',
    defaultText: `${DEFAULT_MAX_QUOTE_PAYMENT}sat`
  },
  {
    name: 'coin-proofs',
    type: 'string',
    placeholder: '<sat>',
    description: 'Most this node reveals in coin proofs when a server asks for them (min-coins, a host\'s offer caps), '
      + 'e.g. 2btc; proving coins ties this identity to them. 0 proves nothing',
    defaultText: '0'
  },
  {
    name: 'unconfirmed-limit',
    type: 'string',
    placeholder: '<sat>',
    description: 'Most of one identity\'s attached payments this node serves against while they are unconfirmed, '
      + 'e.g. 50000sat (what a double spend can take); beyond it calls wait for a block',
    defaultText: `${DEFAULT_UNCONFIRMED_LIMIT}sat`
  },
  {
    name: 'payment-grace',
    type: 'uint',
    placeholder: '<seconds>',
    description: 'Seconds a payment whose call went unanswered may stay unseen (not in the mempool or chain) '
      + 'before its coins are unlocked (abandoned)',
    defaultText: String(DEFAULT_PAYMENT_GRACE_MS / 1000)
  },
  {
    name: 'defer-limit',
    type: 'string',
    placeholder: '<sat>',
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

/** `--coin-proofs` in sat (0: none); throws PolicyError. */
export function coinProofLimit(api: Pick<NodeAPI, 'config'>): number {
  const text = api.config.str('coin-proofs');
  if (text === null)
    return 0;
  const amount = parseAmount(text);
  if (amount === null || amount > MAX_MONEY)
    throw new PolicyError(`--coin-proofs must be an amount such as 2btc or 0, got "${text}".`);
  return amount;
}

/**
 * Coin hooks (coins.ts) for a node: the chain's UTXO set checks peers'
 * proofs; the wallet proves its own confirmed coins, largest first, up to
 * `limit` sat revealed per request (0: never).
 */
export function coinHooks(api: NodeAPI, limit: number): CoinHooks {
  const prover: CoinProver | null = limit === 0 ? null : {
    async select(need: CoinNeed): Promise<CoinKey[]> {
      if (need.amount > limit)
        throw new Error(`asked to prove ${need.amount} sat in coins, more than --coin-proofs ${limit}`);
      const wallet = api.wallet().wdb.primary;
      const tip = api.chain.height;
      const coins = (await wallet.getCoins()).filter((c) => c.height > 0 && tip - c.height + 1 >= need.age
        && (c.script.isWitnessPubkeyhash() || c.script.isPubkeyhash())).sort((a, b) => b.value - a.value);
      const out: CoinKey[] = [];
      let sum = 0;
      for (const c of coins.slice(0, MAX_COIN_PROOFS)) {
        if (sum >= need.amount)
          break;
        const addr = c.getAddress();
        const key = addr ? await wallet.getPrivateKey(addr) : null;
        if (!key || !key.privateKey)
          throw new Error('the wallet is locked or holds no key for its coin');
        out.push({ hash: Buffer.from(c.hash, 'hex'), index: c.index, privateKey: key.privateKey });
        sum += c.value;
      }
      if (sum < need.amount)
        throw new Error(`the wallet has no ${need.amount} sat in ${MAX_COIN_PROOFS} coins ${need.age} blocks deep`);
      return out;
    }
  };
  return {
    view: async (hash, index) => {
      const c = await api.chain.db.getCoin(hash.toString('hex'), index);
      return c ? { value: c.value, height: c.height, script: c.script } : null;
    },
    height: () => api.chain.height,
    prover
  };
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

/** `--unconfirmed-limit` in sat (default DEFAULT_UNCONFIRMED_LIMIT); throws ConfigError. */
export function unconfirmedLimit(api: Pick<NodeAPI, 'config'>): number {
  return amountFlag(api, 'unconfirmed-limit', DEFAULT_UNCONFIRMED_LIMIT, (m) => new ConfigError(m));
}

/** `--payment-grace` in ms (default DEFAULT_PAYMENT_GRACE_MS); throws ConfigError past a day. */
export function paymentGraceMs(api: Pick<NodeAPI, 'config'>): number {
  const s = api.config.uint('payment-grace');
  if (s === null)
    return DEFAULT_PAYMENT_GRACE_MS;
  if (s > 86_400)
    throw new ConfigError(`--payment-grace must be from 0 to 86400 seconds, got ${s}.`);
  return s * 1000;
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
    unconfirmedLimit: unconfirmedLimit(api),
    tabsFile: path.join(api.datadir, 'cstabs.dat'),
    paidFile: path.join(api.datadir, 'cspaid.dat'),
    ban: (peer, score) => (peer as bcoin.Peer).increaseBan(score),
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
  /** `--payment-grace`, ms. */
  private readonly graceMs: number;

  /** Reads options (throws PolicyError on bad ones) and hooks into the pool. */
  constructor(api: NodeAPI) {
    const holder: { current: CloudSlots | null } = { current: null };
    const slots = cloudSlots(api);
    super(negotiatorOptions(api, holder));
    this.api = api;
    this.graceMs = paymentGraceMs(api);
    api.addServiceBit(NODE_CLOUDSTORAGE);
    refreshLocalAddresses(api.pool, api.network);
    this.slots = new CloudSlots({
      pool: api.pool, network: api.network, slots, isTemporary: (peer) => this.dialer.isTemporary(peer)
    });
    holder.current = this.slots;
    for (const cmd of [...Object.values(commands), COIN_REQUEST_CMD])
      api.addPacket(cmd, (peer, payload) => this.handlePacket(peer, cmd, payload));
    this.setCoinHooks(coinHooks(api, coinProofLimit(api)));
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
        identity: () => this.identity.publicKey, logger: this.api.logger, graceMs: this.graceMs
      }));
      await this.restorePayments();
    }
    // Payments confirmed, double spent by a block tx, forgotten deep
    // enough, or taken out of the chain by a reorg (ledgerfiles.ts).
    this.api.onConnect(async (entry, block) => {
      this.paymentsConnected(block.txs.map((tx) => ({
        id: tx.txid(),
        spends: tx.isCoinbase() ? [] : outpointsOf(tx),
        data: () => tx.toRaw()
      })), entry.height);
    });
    this.api.onDisconnect(async (entry) => this.paymentsDisconnected(entry.height));
  }
}
