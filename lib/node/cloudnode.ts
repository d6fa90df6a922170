/*!
 * cloudnode.ts - cloudcoind: a bcoin FullNode with a wallet and extensions.
 *
 * CloudNode owns the bcoin node and implements the narrow NodeAPI handed to
 * extensions. It is where bcoin 1.0.2's sharp edges are filed off once:
 * packet handlers cannot throw into the pool, chain hooks run one at a time
 * and never throw into the chain, wallet and node RPC share one endpoint,
 * and RPC auth works like bitcoind's cookie file.
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { EventEmitter } from 'events';
import bcoin = require('../bcoin');
import { Config } from './config';
import { DatadirError, DatadirLock, secureDir } from './datadir';
import { serveRPC } from './rpcserver';
import { fixWalletRPC } from './walletrpc';
import { bitcoindParamErrors } from './paramerrors';
import { CORE_GROUPS, FIXED_USAGE, groupOf, renderHelp, type HelpEntry } from './rpchelp';
import { dumpMnemonic, restorePrimaryFrom } from './walletseed';
import { PacketError, RPCError, WalletLockedError, rpcCodes } from '../base/errors';
import { Identity } from '../base/identity';
import type {
  ChainHook, Extension, ExtensionModule, NodeAPI, PacketHandler, RPCMethod
} from '../base/extension';

/**
 * Every peer's cs* packets pass one token bucket before any handler runs:
 * a backstop under the extensions' own, finer limits. Over it, packets are
 * dropped without a ban score (relayed gossip must not get relayers banned).
 */
const CS_RATE_PER_SEC = 200;
const CS_BURST = 1000;
/** Ban score when a handler fails for a reason that is not a PacketError. */
const HANDLER_FAILURE_SCORE = 1;
/** RPC user for `--api-key` when no `--rpcuser` is given. */
export const DEFAULT_RPC_USER = 'cloudcoin';
/** The cookie's user name, as bitcoind writes it. */
export const COOKIE_USER = '__cookie__';
/** How long the wallet may stay unlocked while the extensions open (it is locked right after). */
const START_UNLOCK_SECONDS = 3600;
/** Where an encrypted wallet's passphrase comes from, for error lines. */
const PASSPHRASE_HINT = 'cloudcoind signs contracts and envelopes on its own, so it needs the passphrase at start: '
  + 'wallet-passphrase-file=FILE in cloudcoin.conf, --wallet-passphrase-file FILE or CLOUDCOIN_WALLET_PASSPHRASE';
/** P2P commands are at most 11 ASCII chars (bcoin's framer asserts < 12). */
const MAX_CMD_LENGTH = 11;

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

/** Serial queue: chain hooks run in event order, one at a time. */
class HookQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly idleWaiters: Array<() => void> = [];

  push(job: () => Promise<void>): void {
    this.pending += 1;
    this.tail = this.tail.then(job).finally(() => {
      this.pending -= 1;
      if (this.pending === 0) {
        for (const wake of this.idleWaiters.splice(0))
          wake();
      }
    });
  }

  idle(): Promise<void> {
    if (this.pending === 0)
      return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

export class CloudNode extends EventEmitter implements NodeAPI {
  readonly options: CloudNodeOptions;
  readonly node: bcoin.FullNode;
  readonly network: bcoin.Network;
  readonly logger: bcoin.Logger;
  readonly chain: bcoin.Chain;
  readonly mempool: bcoin.Mempool;
  readonly pool: bcoin.Pool;
  readonly config: Config;
  readonly datadir: string;
  readonly memory: boolean;
  readonly apiKey: string;
  /** The RPC user name clients must send with `apiKey`. */
  readonly rpcUser: string;
  readonly cookieFile: string | null;

  private readonly walletPlugin: bcoin.WalletPlugin;
  private readonly modules: ExtensionModule[];
  private readonly extensions = new Map<string, Extension>();
  private readonly packets = new Map<string, PacketHandler>();
  private readonly helps = new Map<string, string>();
  /** `help` group of each method an extension added. */
  private readonly rpcGroups = new Map<string, string>();
  /** The group of the extension being initialised, while its init() runs. */
  private initGroup: string | null = null;
  private readonly connectHooks: ChainHook[] = [];
  private readonly disconnectHooks: ChainHook[] = [];
  private readonly hooks = new HookQueue();
  private readonly openExtensions: Extension[] = [];
  /** Service bits extensions advertise; cs* packets need a peer with one. */
  private serviceBits = 0;
  /** cs* token buckets by peer id, dropped when the peer closes. */
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  private opened = false;
  /** Warnings extensions gave once all were open (Extension#ready), for the start-up banner. */
  readonly warnings: string[] = [];
  private identityLoad: Promise<Identity> | null = null;
  /** Held from the start of open() to the end of close(). */
  private lock: DatadirLock | null = null;
  /** The wallet's master key as this node holds it (masterKey()). */
  private master: bcoin.HDPrivateKey | null = null;
  /** True once this node wrote the cookie: only then is it ours to remove. */
  private cookieWritten = false;

  constructor(options: CloudNodeOptions) {
    super();
    this.options = options;
    this.datadir = options.datadir;
    this.memory = options.memory === true;
    this.config = options.config || new Config();
    this.modules = options.extensions || [];

    // bcoin renders wallet addresses with the process-wide network.
    bcoin.set(options.network);

    const cookie = !options.apiKey;
    this.apiKey = options.apiKey || randomBytes(32).toString('hex');
    this.rpcUser = cookie ? COOKIE_USER : options.rpcUser || DEFAULT_RPC_USER;
    this.cookieFile = cookie ? path.join(this.datadir, '.cookie') : null;

    const isRegtest = options.network === 'regtest';

    // bcoin appends the network name to `prefix` for every network but
    // main, so hand it the base directory and let it land in ours.
    const isMain = options.network === 'main';
    if (!isMain && path.basename(this.datadir) !== options.network)
      throw new Error(`datadir must end in /${options.network} (see networkDir()).`);
    const prefix = isMain ? this.datadir : path.dirname(this.datadir);

    this.node = new bcoin.FullNode({
      network: options.network,
      prefix,
      memory: this.memory,
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
      apiKey: this.apiKey,
      walletPrefix: this.datadir,
      walletWitness: true,
      // The wallet is reached through the node's RPC endpoint; its own
      // HTTP server listens on an ephemeral loopback port nobody needs.
      walletHttpHost: '127.0.0.1',
      walletHttpPort: 0,
      logLevel: options.logLevel || 'info',
      logConsole: options.logConsole === true,
      logFile: options.logFile === true && !this.memory
    });

    this.network = this.node.network;
    this.logger = this.node.logger.context('cloudcoind');
    this.chain = this.node.chain;
    this.mempool = this.node.mempool;
    this.pool = this.node.pool;
    this.walletPlugin = this.node.use(bcoin.wallet.plugin);

    if (isRegtest) {
      // connect() otherwise spends ~2 s on a DNS lookup of myip.opendns.com.
      this.pool.discoverExternal = async () => {};
    }

    this.init();

    for (const mod of this.modules) {
      if (this.extensions.has(mod.id))
        throw new Error(`Duplicate extension id: ${mod.id}.`);
      // Methods an extension adds while it initialises are listed under its group.
      this.initGroup = mod.rpcGroup ?? groupOf(mod.id);
      try {
        this.extensions.set(mod.id, mod.init(this));
      } finally {
        this.initGroup = null;
      }
    }
  }

  private init(): void {
    const handleUnknown = this.pool.handleUnknown.bind(this.pool);
    this.pool.handleUnknown = async (peer, packet) => {
      if (packet.cmd.startsWith('cs'))
        return; // ours: dispatched from the 'packet' listener below
      return handleUnknown(peer, packet);
    };

    this.pool.on('packet', (packet, peer) => {
      if (packet.type !== bcoin.packets.types.UNKNOWN)
        return;
      if (!packet.cmd.startsWith('cs'))
        return;
      this.dispatchPacket(peer, packet as bcoin.packets.UnknownPacket);
    });

    this.pool.on('peer close', (peer: bcoin.Peer) => {
      this.buckets.delete(peer.id);
    });

    this.chain.on('connect', (entry: bcoin.ChainEntry, block: bcoin.Block) => {
      this.runHooks(this.connectHooks, 'connect', entry, block);
    });

    this.chain.on('disconnect', (entry: bcoin.ChainEntry, block: bcoin.Block) => {
      this.runHooks(this.disconnectHooks, 'disconnect', entry, block);
    });

    this.node.on('error', (err: Error) => {
      this.logger.error(err);
    });

    // bitcoind's answers to bad requests, wrong users and huge bodies.
    serveRPC(this.node.http.http, {
      user: this.rpcUser,
      password: this.apiKey,
      execute: (request) => this.node.rpc.call(request, {})
    });

    // One endpoint for node and wallet methods, as with bitcoind.
    this.node.rpc.mount(this.walletPlugin.rpc);
    fixWalletRPC(this.node.rpc, this.walletPlugin.rpc, this.network, { keepMasterKey: () => this.masterKey() });
    bitcoindParamErrors(this.node.rpc, (method) => this.methodHelp(method));
    if (this.options.restoreMnemonic)
      restorePrimaryFrom(this.walletPlugin.wdb, this.options.restoreMnemonic);
    this.addRPC('dumpmnemonic', 'dumpmnemonic "filename"\nWrite the wallet\'s seed phrase (BIP39) to a new file, '
      + 'readable by its owner only; restore with cloudcoind --restore-mnemonic-file.',
    (params) => dumpMnemonic(this.walletPlugin.wdb, params.length === 1 ? params[0] : null));
    this.node.rpc.calls.help = (args: unknown[]) => this.help(args);
    this.node.rpc.calls.stop = async (args: unknown[], help: boolean) => {
      if (help || args.length !== 0)
        throw new RPCError(rpcCodes.MISC_ERROR, 'stop\nStop cloudcoind.');
      setImmediate(() => this.emit('stop requested'));
      return 'CloudCoin server stopping';
    };
  }

  private dispatchPacket(peer: bcoin.Peer, packet: bcoin.packets.UnknownPacket): void {
    // [IGNORE] cs* packets from peers that advertise none of our service
    // bits: they are not CloudCoin peers (DESIGN 4).
    if (this.serviceBits !== 0 && (peer.services & this.serviceBits) === 0)
      return;
    // [IGNORE] over the per-peer cs* budget
    if (!this.takeToken(peer))
      return;
    const handler = this.packets.get(packet.cmd);
    if (!handler) {
      // A newer peer may speak commands we do not know yet: ignore, like
      // bitcoind ignores unknown messages. Malformed known ones are banned.
      this.punish(peer, new PacketError('unknown-command', 'ignore', 0), packet.cmd);
      return;
    }
    try {
      const result = handler(peer, packet.data);
      if (result && typeof result.then === 'function')
        result.catch((err: unknown) => this.punish(peer, err, packet.cmd));
    } catch (err) {
      this.punish(peer, err, packet.cmd);
    }
  }

  /** Token bucket per peer for cs* packets; true if the packet may pass. */
  private takeToken(peer: bcoin.Peer): boolean {
    const now = Date.now();
    let b = this.buckets.get(peer.id);
    if (!b) {
      b = { tokens: CS_BURST, at: now };
      this.buckets.set(peer.id, b);
    }
    b.tokens = Math.min(CS_BURST, b.tokens + (now - b.at) * CS_RATE_PER_SEC / 1000);
    b.at = now;
    if (b.tokens < 1)
      return false;
    b.tokens -= 1;
    return true;
  }

  /** Map a handler failure to a ban score; never throws. */
  private punish(peer: bcoin.Peer, err: unknown, cmd: string): void {
    try {
      if (err instanceof PacketError) {
        this.logger.debug('Bad %s from %s: %s.', cmd, peer.hostname(), err.code);
        if (err.verdict === 'reject')
          peer.increaseBan(err.score);
        return;
      }
      this.logger.warning('Handler for %s from %s failed: %s', cmd, peer.hostname(),
        err instanceof Error ? err.stack || err.message : String(err));
      peer.increaseBan(HANDLER_FAILURE_SCORE);
    } catch (e) {
      this.logger.error(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private runHooks(hooks: ChainHook[], kind: string, entry: bcoin.ChainEntry, block: bcoin.Block): void {
    if (hooks.length === 0)
      return;
    this.hooks.push(async () => {
      for (const hook of hooks) {
        try {
          await hook(entry, block);
        } catch (err) {
          this.logger.error('Chain %s hook failed at height %d: %s', kind, entry.height,
            err instanceof Error ? err.stack || err.message : String(err));
        }
      }
    });
  }

  /** Resolves once every queued chain hook has run (tests, shutdown). */
  hooksIdle(): Promise<void> {
    return this.hooks.idle();
  }

  /** `help`: the grouped listing, or one method's full help. */
  private async help(args: unknown[]): Promise<string> {
    if (args.length > 0)
      return this.methodHelp(String(args[0]));
    const entries: HelpEntry[] = [];
    for (const name of this.listMethods()) {
      const usage = (await this.methodHelp(name)).split('\n')[0];
      entries.push({ name, group: this.methodGroup(name), usage });
    }
    return renderHelp(entries);
  }

  /** A method's help text (usage on the first line); throws METHOD_NOT_FOUND. */
  private async methodHelp(method: string): Promise<string> {
    const own = this.helps.get(method);
    if (own)
      return own;
    if (Object.hasOwn(FIXED_USAGE, method))
      return FIXED_USAGE[method];
    try {
      // bcoin's methods throw their usage when called with the help flag.
      await this.node.rpc.execute({ method, params: [] }, true);
    } catch (err) {
      if (err instanceof Error && (err as RPCError).code === rpcCodes.METHOD_NOT_FOUND)
        throw err;
      return err instanceof Error ? err.message : String(err);
    }
    return method;
  }

  /** The `== Group ==` a method is listed under. */
  private methodGroup(method: string): string {
    const own = this.rpcGroups.get(method);
    if (own)
      return own;
    if (Object.hasOwn(CORE_GROUPS, method) && !this.helps.has(method))
      return CORE_GROUPS[method];
    if (Object.hasOwn(this.walletPlugin.rpc.calls, method))
      return 'Wallet';
    return 'Control';
  }

  /** Every RPC method name the endpoint answers, sorted. */
  listMethods(): string[] {
    const names = new Set<string>(Object.keys(this.node.rpc.calls));
    for (const mount of this.node.rpc.mounts) {
      for (const name of Object.keys(mount.calls))
        names.add(name);
    }
    return [...names].sort();
  }

  /*
   * NodeAPI
   */

  wallet(): bcoin.WalletPlugin {
    return this.walletPlugin;
  }

  identity(): Promise<Identity> {
    // One load per node: extensions asking at once must not both create
    // the wallet's identity account. A failure (locked wallet) is retried.
    if (!this.identityLoad) {
      const wallet = this.walletPlugin.wdb.primary;
      this.identityLoad = Promise.resolve().then(() => Identity.fromWallet(wallet, this.network,
        wallet.master.key ? wallet.master : { key: this.masterKey() }));
      this.identityLoad.catch(() => { this.identityLoad = null; });
    }
    return this.identityLoad;
  }

  masterKey(): bcoin.HDPrivateKey {
    if (!this.master) {
      const key = this.opened ? this.walletPlugin.wdb.primary.master.key : null;
      if (!key)
        throw new WalletLockedError(`the wallet is encrypted and locked, and this node never held its key: ${PASSPHRASE_HINT}`);
      // A copy: bcoin zeroes the wallet's own key in place when it locks.
      this.master = bcoin.HDPrivateKey.fromRaw(key.toRaw(this.network), this.network);
    }
    return this.master;
  }

  require<T>(id: string): T {
    const ext = this.extensions.get(id);
    if (!ext)
      throw new Error(`Extension not loaded: ${id}.`);
    return ext as unknown as T;
  }

  /** Loaded extension ids, in load order. */
  extensionIds(): string[] {
    return [...this.extensions.keys()];
  }

  has(id: string): boolean {
    return this.extensions.has(id);
  }

  /** The cs* P2P commands the extensions registered (the fuzz suite checks it covers each). */
  packetCommands(): string[] {
    return [...this.packets.keys()];
  }

  addPacket(cmd: string, handler: PacketHandler): void {
    if (!/^cs[a-z0-9]+$/.test(cmd) || cmd.length > MAX_CMD_LENGTH)
      throw new Error(`Bad packet command "${cmd}": cs + [a-z0-9], at most 11 chars.`);
    if (this.packets.has(cmd))
      throw new Error(`Duplicate packet command: ${cmd}.`);
    this.packets.set(cmd, handler);
  }

  sendPacket(peer: bcoin.Peer, cmd: string, payload: Buffer): void {
    if (!this.packets.has(cmd) && !cmd.startsWith('cs'))
      throw new Error(`Not a CloudCoin command: ${cmd}.`);
    if (peer.destroyed)
      return;
    peer.send(new bcoin.packets.UnknownPacket(cmd, payload));
  }

  addServiceBit(bit: number): void {
    this.serviceBits = (this.serviceBits | bit) >>> 0;
    this.pool.options.services = (this.pool.options.services | bit) >>> 0;
    // The address manager copied the services when the pool was built: the
    // addresses we advertise in `addr` must carry the bit too.
    const hosts = this.pool.hosts;
    hosts.options.services = (hosts.options.services | bit) >>> 0;
    hosts.address.services = (hosts.address.services | bit) >>> 0;
    for (const local of hosts.local.values())
      local.addr.services = (local.addr.services | bit) >>> 0;
  }

  addRPC(name: string, help: string, method: RPCMethod): void {
    if (!/^[a-z][a-z0-9]*$/.test(name))
      throw new Error(`Bad RPC name "${name}": lowercase, run together.`);
    this.helps.set(name, help);
    if (this.initGroup)
      this.rpcGroups.set(name, this.initGroup);
    this.node.rpc.add(name, async (args: unknown[], isHelp: boolean) => {
      if (isHelp)
        throw new RPCError(rpcCodes.MISC_ERROR, help);
      if (!Array.isArray(args))
        throw new RPCError(rpcCodes.INVALID_PARAMS, 'Params must be an array.');
      return method(args);
    });
  }

  onConnect(hook: ChainHook): void {
    this.connectHooks.push(hook);
  }

  onDisconnect(hook: ChainHook): void {
    this.disconnectHooks.push(hook);
  }

  /*
   * Lifecycle
   */

  async open(): Promise<void> {
    // Even with --memory the datadir holds the lock, the RPC cookie and
    // debug.log. Nothing in it is touched before the lock is ours: a second
    // node on the same datadir must leave the first one's files alone.
    try {
      fs.mkdirSync(this.datadir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new DatadirError('datadir-unusable',
        `cannot create ${this.datadir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.lock = await DatadirLock.acquire(this.datadir);
    const tightened = secureDir(this.datadir, { recursive: true });
    if (tightened > 0) {
      const warning = `${this.datadir} was open to other users: made ${tightened} entries owner-only`;
      this.logger.warning(warning);
      this.warnings.push(warning);
    }
    if (!this.memory)
      await this.node.ensure();
    await this.node.open();
    this.opened = true;
    // An encrypted wallet is unlocked while the extensions open (they make
    // their accounts and load their keys), its key kept in memory for the
    // node's own signing, and locked again: spending needs walletpassphrase.
    const relock = await this.unlockForStart();
    this.masterKey();
    for (const ext of this.extensions.values()) {
      await ext.open();
      this.openExtensions.push(ext);
    }
    if (relock)
      await this.walletPlugin.wdb.primary.lock();
    for (const [id, ext] of this.extensions) {
      for (const warning of ext.ready?.() ?? []) {
        this.logger.warning('%s: %s', id, warning);
        this.warnings.push(`${id}: ${warning}`);
      }
    }
    if (this.cookieFile) {
      fs.writeFileSync(this.cookieFile, `${COOKIE_USER}:${this.apiKey}`, { mode: 0o600 });
      this.cookieWritten = true;
    }
  }

  /**
   * Unlock an encrypted primary wallet with the passphrase given at start.
   * @returns true if it was unlocked here (and must be locked again)
   * @throws WalletLockedError with no passphrase, or a wrong one
   */
  private async unlockForStart(): Promise<boolean> {
    const wallet = this.walletPlugin.wdb.primary;
    if (!wallet.master.encrypted || wallet.master.key)
      return false;
    const passphrase = this.options.walletPassphrase;
    if (!passphrase)
      throw new WalletLockedError(`the wallet is encrypted: ${PASSPHRASE_HINT}`);
    try {
      await wallet.unlock(passphrase, START_UNLOCK_SECONDS);
    } catch (e) {
      // bcrypto's AES unpadding check is how bcoin finds a wrong passphrase.
      if (e instanceof Error && e.message === 'Bad key for decryption.')
        throw new WalletLockedError('the wallet passphrase given at start is wrong');
      throw e;
    }
    return true;
  }

  /** Start P2P: listen, dial and sync. */
  async connect(): Promise<void> {
    await this.node.connect();
    this.node.startSync();
  }

  async close(): Promise<void> {
    if (this.cookieFile && this.cookieWritten) {
      this.cookieWritten = false;
      try {
        fs.unlinkSync(this.cookieFile);
      } catch {
        // already gone
      }
    }
    await this.hooks.idle();
    // Close exactly the extensions that opened, last first, even after a
    // failed start.
    for (const ext of this.openExtensions.splice(0).reverse()) {
      try {
        await ext.close();
      } catch (e) {
        this.logger.error(e instanceof Error ? e : new Error(String(e)));
      }
    }
    try {
      if (this.opened) {
        this.opened = false;
        await this.waitWalletSynced();
        await this.node.close();
      }
    } finally {
      const lock = this.lock;
      this.lock = null;
      await lock?.release();
    }
  }

  /**
   * Resolves when the wallet has caught up with the chain tip. bcoin's
   * wallet moves its tip before it adds the block's txs, so also wait for
   * its tx lock: only then are balances and coins complete.
   */
  async waitWalletSynced(timeoutMs = 10000): Promise<void> {
    const wdb = this.walletPlugin.wdb;
    const deadline = Date.now() + timeoutMs;
    while (wdb.state.height < this.chain.height && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const unlock = await wdb.txLock.lock();
    unlock();
  }

  /** Bound addresses, for the startup banner and tests. */
  addresses(): { p2p: string | null; rpc: string | null } {
    const p2p = this.pool.server && this.pool.server.address();
    const bound = this.node.http.http.address();
    const rpc = bound && typeof bound === 'object' ? bound : null;
    return {
      p2p: p2p ? `${p2p.address}:${p2p.port}` : null,
      rpc: rpc ? `${rpc.address}:${rpc.port}` : null
    };
  }
}
