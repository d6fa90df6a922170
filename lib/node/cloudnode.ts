/*!
 * cloudnode.ts - cloudcoind: a bcoin FullNode with a wallet and extensions.
 *
 * CloudNode owns the bcoin node and implements the narrow NodeAPI handed to
 * extensions. It is where bcoin 1.0.2's sharp edges are filed off once,
 * each in its own module: packet handlers cannot throw into the pool
 * (packetrouter.ts), chain hooks run one at a time and never throw into the
 * chain (chainhooks.ts), wallet and node RPC share one endpoint with
 * bitcoind's help and parameter errors (rpcmethods.ts, walletrpc.ts,
 * paramerrors.ts), and RPC auth works like bitcoind's cookie file
 * (rpccookie.ts). This file wires them and runs the node's life: open
 * (datadir lock, wallet unlock, extensions), connect, close.
 */

import { EventEmitter } from 'events';
import bcoin = require('../bcoin');
import { ChainHooks } from './chainhooks';
import { Config } from './config';
import { DatadirLock, makeDatadir, secureDir } from './datadir';
import { createFullNode, type CloudNodeOptions } from './fullnode';
import { PacketRouter } from './packetrouter';
import { bitcoindParamErrors } from './paramerrors';
import { RPCCredentials } from './rpccookie';
import { groupOf } from './rpchelp';
import { guardNodeRPC } from './nodeguards';
import { RPCMethods } from './rpcmethods';
import { serveRPC } from './rpcserver';
import { dustLimit, fixWalletRPC } from './walletrpc';
import { dumpMnemonic, restorePrimaryFrom } from './walletseed';
import { PASSPHRASE_HINT, checkPassphraseFirst, unlockForStart, waitWalletSynced } from './walletstart';
import { RPCError, WalletLockedError, rpcCodes } from '../base/errors';
import { Identity } from '../base/identity';
import type {
  ChainHook, Extension, ExtensionModule, NodeAPI, PacketHandler, RPCMethod
} from '../base/extension';

export type { CloudNodeOptions } from './fullnode';
export { COOKIE_USER, DEFAULT_RPC_USER } from './rpccookie';

/** Longest one shutdown step (chain hooks, an extension's close) is waited for (ms). */
export const CLOSE_STEP_MS = 20000;
/**
 * Longest a wallet RPC waits for the wallet to add the chain's blocks
 * before answering (ms): bitcoind waits without bound; a rescan holds the
 * wallet far longer, and the answer then is the wallet as it is.
 */
export const WALLET_RPC_SYNC_MS = 30000;

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
  private readonly credentials: RPCCredentials;
  private readonly packets: PacketRouter;
  private readonly hooks: ChainHooks;
  private readonly rpcMethods: RPCMethods;
  private readonly openExtensions: Extension[] = [];
  private opened = false;
  /** Warnings extensions gave once all were open (Extension#ready), for the start-up banner. */
  readonly warnings: string[] = [];
  private identityLoad: Promise<Identity> | null = null;
  /** Held from the start of open() to the end of close(). */
  private lock: DatadirLock | null = null;
  /** The wallet's master key as this node holds it (masterKey()). */
  private master: bcoin.HDPrivateKey | null = null;

  constructor(options: CloudNodeOptions) {
    super();
    this.options = options;
    this.datadir = options.datadir;
    this.memory = options.memory === true;
    this.config = options.config || new Config();
    this.modules = options.extensions || [];

    // bcoin renders wallet addresses with the process-wide network.
    bcoin.set(options.network);

    this.credentials = new RPCCredentials(this.datadir, options.apiKey, options.rpcUser);
    this.apiKey = this.credentials.password;
    this.rpcUser = this.credentials.user;
    this.cookieFile = this.credentials.cookieFile;

    this.node = createFullNode(options, this.apiKey);
    this.network = this.node.network;
    this.logger = this.node.logger.context('cloudcoind');
    this.chain = this.node.chain;
    this.mempool = this.node.mempool;
    this.pool = this.node.pool;
    this.walletPlugin = this.node.use(bcoin.wallet.plugin);

    if (options.network === 'regtest') {
      // connect() otherwise spends ~2 s on a DNS lookup of myip.opendns.com.
      this.pool.discoverExternal = async () => {};
    }

    this.packets = new PacketRouter(this.pool, this.logger);
    this.hooks = new ChainHooks(this.chain, this.logger);
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
    fixWalletRPC(this.node.rpc, this.walletPlugin.rpc, this.network, {
      keepMasterKey: () => this.masterKey(),
      warn: (message) => this.logger.warning('%s', message),
      synced: () => this.waitWalletSynced(WALLET_RPC_SYNC_MS)
    });
    guardNodeRPC(this.node.rpc, this.walletPlugin.rpc, this.node);
    this.rpcMethods = new RPCMethods(this.node.rpc, this.walletPlugin.rpc);
    bitcoindParamErrors(this.node.rpc, (method) => this.rpcMethods.methodHelp(method), (address) => dustLimit(address, this.network));
    if (options.restoreMnemonic !== undefined)
      restorePrimaryFrom(this.walletPlugin.wdb, options.restoreMnemonic);
    else
      checkPassphraseFirst(this.walletPlugin.wdb, options.walletPassphrase);
    this.addRPC('dumpmnemonic', 'dumpmnemonic "filename"\nWrite the wallet\'s seed phrase (BIP39) to a new file (an absolute path: '
      + 'cloudcoind writes it, not the caller), '
      + 'readable by its owner only; restore with cloudcoind --restore-mnemonic-file.',
    (params) => dumpMnemonic(this.walletPlugin.wdb, params.length === 1 ? params[0] : null));
    this.node.rpc.calls.stop = async (args: unknown[], help: boolean) => {
      if (help || args.length !== 0)
        throw new RPCError(rpcCodes.MISC_ERROR, 'stop\nStop cloudcoind.');
      setImmediate(() => this.emit('stop requested'));
      return 'CloudCoin server stopping';
    };

    for (const mod of this.modules) {
      if (this.extensions.has(mod.id))
        throw new Error(`Duplicate extension id: ${mod.id}.`);
      // Methods an extension adds while it initialises are listed under its group.
      this.extensions.set(mod.id, this.rpcMethods.inGroup(mod.rpcGroup ?? groupOf(mod.id), () => mod.init(this)));
    }
  }

  /** Resolves once every queued chain hook has run (tests, shutdown). */
  hooksIdle(): Promise<void> {
    return this.hooks.idle();
  }

  /** Every RPC method name the endpoint answers, sorted. */
  listMethods(): string[] {
    return this.rpcMethods.list();
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
    return this.packets.commands();
  }

  addPacket(cmd: string, handler: PacketHandler): void {
    this.packets.add(cmd, handler);
  }

  sendPacket(peer: bcoin.Peer, cmd: string, payload: Buffer): void {
    this.packets.send(peer, cmd, payload);
  }

  addServiceBit(bit: number): void {
    this.packets.serviceBits = (this.packets.serviceBits | bit) >>> 0;
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
    this.rpcMethods.add(name, help, method);
  }

  onConnect(hook: ChainHook): void {
    this.hooks.onConnect(hook);
  }

  onDisconnect(hook: ChainHook): void {
    this.hooks.onDisconnect(hook);
  }

  /*
   * Lifecycle
   */

  async open(): Promise<void> {
    // Even with --memory the datadir holds the lock, the RPC cookie and
    // debug.log. Nothing in it is touched before the lock is ours: a second
    // node on the same datadir must leave the first one's files alone.
    makeDatadir(this.datadir);
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
    const relock = await unlockForStart(this.walletPlugin.wdb.primary, this.options.walletPassphrase);
    // A passphrase for a wallet in the clear (a restore into a new datadir
    // with the old conf, say) would otherwise pass unseen: its keys are not encrypted.
    if (this.options.walletPassphrase && !this.walletPlugin.wdb.primary.master.encrypted) {
      const warning = 'a wallet passphrase was given, but the wallet is not encrypted: its keys are in the clear '
        + '(encryptwallet encrypts them)';
      this.logger.warning(warning);
      this.warnings.push(warning);
    }
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
    this.credentials.writeCookie();
  }

  /** Start P2P: listen, dial and sync. */
  async connect(): Promise<void> {
    await this.node.connect();
    this.node.startSync();
  }

  async close(): Promise<void> {
    this.credentials.removeCookie();
    await this.bounded(this.hooks.idle(), 'the chain hooks');
    // Close exactly the extensions that opened, last first, even after a
    // failed start.
    for (const ext of this.openExtensions.splice(0).reverse()) {
      const name = [...this.extensions].find(([, e]) => e === ext)?.[0] ?? 'an extension';
      try {
        await this.bounded(ext.close(), `extension ${name}`);
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
   * Wait for one step of shutdown, at most CLOSE_STEP_MS: a step stuck on
   * the network (a peer that never answers) must not keep the node from
   * stopping. Going on is safe because every extension's work is derived
   * again from stored state at the next start, as after a crash (the kill
   * -9 suites); the overrun is logged with the step's name.
   */
  private async bounded(step: Promise<void>, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), CLOSE_STEP_MS); });
    try {
      if (await Promise.race([step.then(() => 'done' as const), late]) === 'late')
        this.logger.warning('Shutdown: %s still busy after %d s; closing the rest anyway.', what, CLOSE_STEP_MS / 1000);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves when the wallet has caught up with the chain tip (walletstart.ts).
   */
  async waitWalletSynced(timeoutMs = 10000): Promise<boolean> {
    return waitWalletSynced(this.walletPlugin.wdb, this.chain, timeoutMs);
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
