/*!
 * extension.ts - the interface between cloudcoind and its extensions.
 *
 * An extension is a module exporting `id`, optional `options` (flags and
 * cloudcoin.conf keys it understands) and `init(api)`. `init` only reads
 * config and builds objects; real work starts in the returned `open()`.
 * The API handed to `init` is deliberately narrow so an extension can be
 * unit-tested against a stub, and so cloudcoind can keep the promises
 * bcoin does not: packet handlers never throw into the pool, RPC errors are
 * translated at one boundary, chain hooks never throw into the chain.
 */

import type bcoin from 'bcoin';
import type { Identity } from './identity';

/** Value kinds an extension option can declare; parsed by the node. */
export type OptionType = 'string' | 'bool' | 'uint' | 'size' | 'list';

/** One flag (`--name`) / cloudcoin.conf key (`name=`) an extension reads. */
export interface OptionSpec {
  name: string;
  type: OptionType;
  description: string;
  /** Shown in --help; the extension applies its own default. */
  defaultText?: string;
  /**
   * What `--help` shows after the flag, naming the value's unit or shape:
   * `<sat>` (an amount, `5000sat`, `0.1btc`), `<bytes>` (a size, `10GB`),
   * `<blocks>`, `<seconds>`, `<percent>`, `<file>`, `<auto/off>` (one word: commander splits flags at spaces, commas and bars). Without
   * it, one by type: `<n>`, `<size>`, `<value>`. Ignored for a bool.
   */
  placeholder?: string;
  /**
   * A key or password: cloudcoind also reads it from `--NAME-file FILE`,
   * `CLOUDCOIN_NAME` and `NAME-file=` in cloudcoin.conf, and warns when it
   * is given as a flag (lib/base/secrets.ts). The extension reads it with
   * `config.str(name)` as any other option.
   */
  secret?: boolean;
}

/** Read access to merged flags + cloudcoin.conf, typed and validated. */
export interface ConfigReader {
  has(name: string): boolean;
  str(name: string): string | null;
  bool(name: string, fallback?: boolean): boolean;
  uint(name: string): number | null;
  /** Byte size with units, read exactly (lib/base/units.ts): `10GB`, `512MiB`, `10G`, `4096`. */
  size(name: string): number | null;
  list(name: string): string[];
}

/**
 * Handler for one custom P2P command. The node catches anything it throws
 * (sync or async) and raises the sender's ban score; see PacketError.
 */
export type PacketHandler = (peer: bcoin.Peer, payload: Buffer) => void | Promise<void>;

/** RPC method body: params as received; throw RPCError for user errors. */
export type RPCMethod = (params: unknown[]) => unknown | Promise<unknown>;

/** Chain hook; errors are logged, never thrown into the chain. */
export type ChainHook = (entry: bcoin.ChainEntry, block: bcoin.Block) => void | Promise<void>;

/** What cloudcoind hands an extension. */
export interface NodeAPI {
  readonly network: bcoin.Network;
  readonly logger: bcoin.Logger;
  readonly chain: bcoin.Chain;
  readonly mempool: bcoin.Mempool;
  readonly pool: bcoin.Pool;
  readonly config: ConfigReader;
  /** Network-specific data directory (`~/.cloudcoin/regtest`). */
  readonly datadir: string;
  /** True with --memory: keep databases in memory, write nothing. */
  readonly memory: boolean;
  /** The underlying bcoin node, for what the narrow API does not cover. */
  readonly node: bcoin.FullNode;

  /** The wallet plugin (walletdb). Available from `open()` on. */
  wallet(): bcoin.WalletPlugin;
  /**
   * This node's identity: key 0 of the primary wallet's `identity` account,
   * created on first use, loaded once per node. Available from `open()` on;
   * rejects when the wallet is watch-only or locked.
   */
  identity(): Promise<Identity>;
  /**
   * The primary wallet's master key, as the node holds it in memory for its
   * own signing: identity, escrow keys (refunds, channel states), file
   * keys. With an encrypted wallet cloudcoind unlocks it at start from its
   * passphrase source, takes this key and locks the wallet again, so these
   * keep working while spending the wallet's coins needs `walletpassphrase`
   * (README: wallet encryption). Derive from it, never store it.
   * @throws WalletLockedError before open(), or if the node never held it
   */
  masterKey(): bcoin.HDPrivateKey;
  /** Another extension's instance by id (load order = dependency order). */
  require<T>(id: string): T;

  /** Handle custom P2P command `cmd` (must start with `cs`, <= 11 chars). */
  addPacket(cmd: string, handler: PacketHandler): void;
  /** Send a custom packet to a peer. */
  sendPacket(peer: bcoin.Peer, cmd: string, payload: Buffer): void;
  /** Advertise a service bit in our version message. */
  addServiceBit(bit: number): void;
  /** Register an RPC method; `help` is the usage line shown by `help`. */
  addRPC(name: string, help: string, method: RPCMethod): void;
  /** Block connected to / disconnected from the main chain. */
  onConnect(hook: ChainHook): void;
  onDisconnect(hook: ChainHook): void;
}

/** A running extension. */
export interface Extension {
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional: runs once every extension's `open()` returned, before P2P
   * starts, for checks across extensions (a policy naming a service no
   * extension registered). Returns warnings for the user, one line each;
   * cloudcoind logs them and prints them when it starts.
   */
  ready?(): string[];
}

/** What an extension module exports. */
export interface ExtensionModule<T extends Extension = Extension> {
  id: string;
  /** Heading of its RPC methods in `help` (`== Storage ==`); default: the id capitalised. */
  rpcGroup?: string;
  options?: OptionSpec[];
  init(api: NodeAPI): T;
}
