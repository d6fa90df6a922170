// Ambient declarations for the slice of bcoin 1.0.2 that CloudCoin uses.
// bcoin ships no .d.ts; declare only what lib/ touches, precisely enough that
// strict mode catches misuse. Add members here (never `any` in lib/).

declare module 'bcoin' {
  import { EventEmitter } from 'events';

  namespace bcoin {
    type Hash = string; // internal-order hex unless noted

    function set(network: string): typeof bcoin;

    class Network {
      type: string;
      magic: number;
      port: number;
      rpcPort: number;
      walletPort: number;
      minRelay: number;
      feeRate: number;
      addressPrefix: { bech32: string };
      static get(type: string | Network): Network;
      static readonly types: string[];
      /** Adjusted network time, unix seconds. */
      now(): number;
    }

    class Logger {
      level: number;
      info(fmt: string, ...args: unknown[]): void;
      warning(fmt: string, ...args: unknown[]): void;
      error(fmt: string | Error, ...args: unknown[]): void;
      debug(fmt: string, ...args: unknown[]): void;
      spam(fmt: string, ...args: unknown[]): void;
      context(name: string): Logger;
    }

    class Config {
      prefix: string;
      data: Record<string, unknown>;
      str(key: string, fallback?: string): string | null;
      uint(key: string, fallback?: number): number | null;
      bool(key: string, fallback?: boolean): boolean | null;
      array(key: string, fallback?: string[]): string[] | null;
      filter(name: string): Config;
    }

    interface Opcode {
      value: number;
      data: Buffer | null;
      /** The pushed script number as an integer, -1 when not a number push; throws on a non-minimal or over-long one. */
      toInt(minimal?: boolean, limit?: number): number;
    }

    class Script {
      raw: Buffer;
      code: Opcode[];
      static readonly hashType: { ALL: number; NONE: number; SINGLE: number; ANYONECANPAY: number };
      static readonly flags: Record<string, number> & {
        STANDARD_VERIFY_FLAGS: number;
        MANDATORY_VERIFY_FLAGS: number;
      };
      constructor(code?: Opcode[]);
      static fromNulldata(data: Buffer): Script;
      static fromAddress(addr: Address | string): Script;
      static fromRaw(raw: Buffer): Script;
      static fromProgram(version: number, data: Buffer): Script;
      static fromPubkeyhash(hash: Buffer): Script;
      pushSym(sym: string): this;
      pushData(data: Buffer): this;
      pushInt(num: number): this;
      pushOp(op: number): this;
      compile(): this;
      toRaw(): Buffer;
      sha256(): Buffer;
      hash160(): Buffer;
      isNulldata(minimal?: boolean): boolean;
      isCommitment(): boolean;
      getNulldata(): Buffer | null;
      getData(index: number): Buffer | null;
      isPubkeyhash(minimal?: boolean): boolean;
      isWitnessPubkeyhash(): boolean;
      isWitnessScripthash(): boolean;
      getWitnessPubkeyhash(): Buffer | null;
      getWitnessScripthash(): Buffer | null;
      getAddress(): Address | null;
      toString(): string;
      toJSON(): string;
    }

    class Witness {
      items: Buffer[];
      length: number;
      get(i: number): Buffer;
      fromItems(items: Buffer[]): this;
      toItems(): Buffer[];
      getRedeem(): Script | null;
    }

    class Address {
      type: number;
      version: number;
      hash: Buffer;
      static fromString(str: string, network?: string | Network): Address;
      static fromWitnessScripthash(hash: Buffer): Address;
      static fromWitnessPubkeyhash(hash: Buffer): Address;
      static fromScript(script: Script): Address | null;
      static fromHash(hash: Buffer, type?: number, version?: number): Address;
      toString(network?: string | Network): string;
      isProgram(): boolean;
      isPubkeyhash(): boolean;
      isScripthash(): boolean;
      isWitnessPubkeyhash(): boolean;
      getHash(enc?: 'hex'): Buffer | string;
    }

    class Outpoint {
      hash: Hash;
      index: number;
      constructor(hash?: Hash, index?: number);
      toKey(): Buffer;
      txid(): string;
      isNull(): boolean;
    }

    class Input {
      prevout: Outpoint;
      script: Script;
      sequence: number;
      witness: Witness;
      getAddress(coin?: Coin): Address | null;
    }

    class Output {
      value: number;
      script: Script;
      constructor(options?: { value?: number; script?: Script; address?: Address | string });
      getAddress(): Address | null;
      isDust(rate?: number): boolean;
      getDustThreshold(rate?: number): number;
    }

    class TX {
      version: number;
      inputs: Input[];
      outputs: Output[];
      locktime: number;
      hash(): Buffer;
      hash(enc: 'hex'): Hash;
      witnessHash(): Buffer;
      txid(): string;
      wtxid(): string;
      isCoinbase(): boolean;
      /** Any input signals BIP125 replaceability. */
      isRBF(): boolean;
      toRaw(): Buffer;
      getSize(): number;
      getVirtualSize(): number;
      getWeight(): number;
      /** BIP143 (version 1) or legacy (version 0) sighash of input `index`. */
      signatureHash(index: number, prev: Script, value: number, type: number, version: number): Buffer;
      static fromRaw(data: Buffer | string, enc?: 'hex'): TX;
      toJSON(): unknown;
      inspect(): unknown;
      /** An inventory item naming this tx (for `inv`). */
      toInv(): InvItem;
    }

    class InvItem {
      type: number;
      hash: Hash;
    }

    class MTX extends TX {
      view: CoinView;
      constructor(options?: object);
      addCoin(coin: Coin): Input;
      addOutput(script: Script | Address | string, value: number): Output;
      addOutpoint(outpoint: Outpoint): Input;
      setLocktime(locktime: number): void;
      signature(index: number, prev: Script, value: number, key: Buffer, type: number, version: number): Buffer;
      sign(ring: KeyRing | KeyRing[], type?: number): number;
      check(flags?: number): void;
      verify(flags?: number): boolean;
      getFee(): number;
      getInputValue(): number;
      getOutputValue(): number;
      fund(coins: Coin[], options?: object): Promise<unknown>;
      toTX(): TX;
      static fromRaw(data: Buffer | string, enc?: 'hex'): MTX;
    }

    class Coin {
      version: number;
      height: number;
      value: number;
      script: Script;
      coinbase: boolean;
      hash: Hash;
      index: number;
      static fromTX(tx: TX, index: number, height: number): Coin;
      getAddress(): Address | null;
    }

    class CoinView {
      getCoin(prevout: Outpoint): Coin | null;
      getOutput(prevout: Outpoint): Output | null;
      addCoin(coin: Coin): unknown;
    }

    class KeyRing {
      publicKey: Buffer;
      privateKey: Buffer;
      witness: boolean;
      nested: boolean;
      static generate(compressed?: boolean): KeyRing;
      static fromPrivate(key: Buffer, compressed?: boolean): KeyRing;
      static fromPublic(key: Buffer): KeyRing;
      /** A WIF private key; its compression flag sets the ring's. */
      static fromSecret(wif: string, network?: string | Network): KeyRing;
      /** The WIF private key. */
      toSecret(network?: string | Network): string;
      getAddress(): Address;
      getAddress(enc: 'string', network?: string | Network): string;
      getKeyHash(): Buffer;
      getProgram(): Script;
    }

    class AbstractBlock {
      version: number;
      prevBlock: Hash;
      merkleRoot: Hash;
      time: number;
      bits: number;
      nonce: number;
      hash(): Buffer;
      hash(enc: 'hex'): Hash;
      rhash(): string;
    }

    class Block extends AbstractBlock {
      txs: TX[];
      toRaw(): Buffer;
      static fromRaw(data: Buffer): Block;
    }

    class ChainEntry {
      hash: Hash;
      height: number;
      version: number;
      prevBlock: Hash;
      time: number;
      rhash(): string;
    }

    class ChainDB {
      getHashes(start?: number, end?: number): Promise<Hash[]>;
      getCoin(hash: Hash, index: number): Promise<Coin | null>;
      getTX(hash: Hash): Promise<TX | null>;
      /** With indexTX: whether a main-chain block holds this tx. */
      hasTX(hash: Hash): Promise<boolean>;
      /** With indexTX: the main-chain tx and the height of its block, or null. */
      getMeta(hash: Hash): Promise<{ height: number; tx: TX } | null>;
      getEntryByHeight(height: number): Promise<ChainEntry | null>;
      getEntryByHash(hash: Hash): Promise<ChainEntry | null>;
      getTips(): Promise<Hash[]>;
      state: { tx: number; coin: number; value: number };
    }

    interface DeploymentState {
      hasWitness(): boolean;
      hasCSV(): boolean;
    }

    class Chain extends EventEmitter {
      db: ChainDB;
      tip: ChainEntry;
      height: number;
      network: Network;
      state: DeploymentState;
      synced: boolean;
      getBlock(hash: Hash | number): Promise<Block | null>;
      getBlockView(block: Block): Promise<CoinView>;
      getEntry(hash: Hash | number): Promise<ChainEntry | null>;
      getEntryByHeight(height: number): Promise<ChainEntry | null>;
      getCoin(hash: Hash, index: number): Promise<Coin | null>;
      getHashes(start?: number, end?: number): Promise<Hash[]>;
      isMainChain(entry: ChainEntry): Promise<boolean>;
      on(event: 'connect' | 'disconnect', listener: (entry: ChainEntry, block: Block, view: CoinView) => void): this;
      on(event: 'reset', listener: (tip: ChainEntry) => void): this;
      on(event: 'tip' | 'full', listener: (tip?: ChainEntry) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }

    class VerifyError extends Error {
      type: 'VerifyError';
      code: string;
      reason: string;
      score: number;
    }

    class Mempool extends EventEmitter {
      addTX(tx: TX, id?: number): Promise<unknown>;
      /**
       * addTX without taking the lock, which is the chain's: what bcoin's
       * own disconnect handler calls while the chain holds it.
       */
      insertTX(tx: TX, id: number): Promise<unknown>;
      /** Drop every tx (and orphan). */
      reset(): Promise<void>;
      hasOrphan(hash: Hash): boolean;
      /** Drop an orphan (a tx waiting for inputs the mempool does not know). */
      removeOrphan(hash: Hash): boolean;
      hasEntry(hash: Hash): boolean;
      /** True if a mempool tx spends this outpoint (internal-order txid). */
      isSpent(hash: Hash, index: number): boolean;
      /** The mempool tx that spends this outpoint, or null. */
      getSpentTX(hash: Hash, index: number): TX | null;
      has(hash: Hash): boolean;
      getTX(hash: Hash): TX | null;
      map: Map<Hash, unknown>;
      options: { minRelay: number; requireStandard: boolean };
    }

    class Miner {
      mineBlock(tip?: ChainEntry, address?: Address): Promise<Block>;
      addAddress(address: Address | string): void;
    }

    namespace packets {
      const types: Record<string, number> & { UNKNOWN: number };
      class Packet {
        cmd: string;
        type: number;
        toRaw(): Buffer;
      }
      class UnknownPacket extends Packet {
        data: Buffer;
        constructor(cmd: string, data: Buffer);
      }
      class InvPacket extends Packet {
        items: InvItem[];
        constructor(items: InvItem[]);
      }
      /** The handshake packets a raw test peer sends (test/util/rawpeer.ts). */
      class VersionPacket extends Packet {
        version: number;
        services: number;
        height: number;
        agent: string;
        nonce: Buffer;
        noRelay: boolean;
        constructor(options?: { version?: number; services?: number; height?: number; agent?: string;
          nonce?: Buffer; noRelay?: boolean; time?: number });
      }
      class VerackPacket extends Packet {}
      class PingPacket extends Packet {
        nonce: Buffer | null;
        constructor(nonce?: Buffer);
      }
      class PongPacket extends Packet {
        nonce: Buffer;
        constructor(nonce?: Buffer);
      }
    }

    /** bcoin.net: P2P message framing (magic, command, length, checksum) and addresses. */
    namespace net {
      /** bcoin.net.NetAddress (the same class as bcoin.NetAddress). */
      const NetAddress: typeof bcoin.NetAddress;
      class Framer {
        constructor(network: string | Network);
        packet(cmd: string, payload: Buffer, checksum?: Buffer): Buffer;
      }
      class Parser extends EventEmitter {
        constructor(network: string | Network);
        feed(data: Buffer): void;
        on(event: 'packet', listener: (packet: packets.Packet) => void): this;
        on(event: 'error', listener: (err: Error) => void): this;
      }
    }

    class NetAddress {
      host: string;
      port: number;
      services: number;
      hostname: string;
      raw: Buffer;
      time: number;
      isRoutable(): boolean;
      static fromHostname(hostname: string, network?: string | Network): NetAddress;
    }

    class Peer extends EventEmitter {
      id: number;
      address: NetAddress;
      outbound: boolean;
      handshake: boolean;
      version: number;
      services: number;
      agent: string | null;
      height: number;
      /** Best height the peer announced since the handshake (-1 if none). */
      bestHeight: number;
      banScore: number;
      connected: boolean;
      destroyed: boolean;
      /** The peer asked not to be sent txs (BIP37 relay=false). */
      noRelay: boolean;
      /** The TCP socket while connected (its localAddress: our end). */
      socket: { localAddress?: string } | null;
      next: Peer | null;
      hostname(): string;
      send(packet: packets.Packet): void;
      increaseBan(score: number): boolean;
      destroy(): void;
    }

    class PeerList {
      head(): Peer | null;
      inbound: number;
      outbound: number;
      size(): number;
      get(hostname: string): Peer | null;
      has(hostname: string): boolean;
      add(peer: Peer): void;
    }

    interface HostEntry {
      addr: NetAddress;
      services: number;
      /** Unix seconds of the last connection attempt (0: never). */
      lastAttempt: number;
    }

    class HostList {
      map: Map<string, HostEntry>;
      /** Our own addresses, advertised to peers (`addr` on connect). */
      local: Map<string, { addr: NetAddress; score: number }>;
      address: NetAddress;
      options: { services: number };
      add(addr: NetAddress, src?: NetAddress): boolean;
      pushLocal(addr: NetAddress, score: number): boolean;
      isBanned(host: string): boolean;
      totalFresh: number;
      totalUsed: number;
    }

    class Pool extends EventEmitter {
      options: {
        services: number;
        agent: string;
        maxOutbound: number;
        host: string;
        port: number;
        listen: boolean;
        publicHost: string;
        publicPort: number;
        /** Non-empty with --connect: the only peers bcoin dials. */
        nodes: NetAddress[];
      };
      peers: PeerList;
      hosts: HostList;
      server: { address(): { port: number; address: string } | null } | null;
      opened: boolean;
      connected: boolean;
      discoverExternal(): Promise<void>;
      /** Dial an address (not added to the peer list: `peers.add` does that). */
      createOutbound(addr: NetAddress): Peer;
      /** Next address bcoin's outbound filler dials (null: none). */
      getHost(): NetAddress | null;
      handleUnknown(peer: Peer, packet: packets.UnknownPacket): Promise<void>;
      startSync(): void;
      ban(addr: NetAddress): void;
      isBanned(host: string): boolean;
      on(event: 'packet', listener: (packet: packets.Packet, peer: Peer) => void): this;
      on(event: 'peer open' | 'peer close' | 'peer connect' | 'ban', listener: (peer: Peer) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }

    type RPCHandler = (args: unknown[], help: boolean) => unknown | Promise<unknown>;

    class RPCError extends Error {
      code: number;
      constructor(code: number, msg: string);
    }

    class RPCBase extends EventEmitter {
      calls: Record<string, RPCHandler>;
      mounts: RPCBase[];
      add(name: string, func: RPCHandler, ctx?: object): void;
      mount(rpc: RPCBase): void;
      call(body: object, query: object): Promise<{ result: unknown; error: { message: string; code: number } | null; id: unknown }>;
      execute(json: { method: string; params: unknown[] }, help?: boolean): Promise<unknown>;
    }

    class HTTP extends EventEmitter {
      /** bweb keeps the node:http server here. */
      http: import('http').Server;
    }

    interface Plugin<T> {
      id: string;
      init(node: FullNode): T;
    }

    class Path {
      branch: number;
      index: number;
      account: number;
    }

    /** A wallet coin with its spent flag (an unconfirmed spend sets it). */
    class Credit {
      coin: Coin;
      spent: boolean;
      /** Made by a tx that spends one of the wallet's own coins. */
      own: boolean;
    }

    /** The wallet's record of a tx (bcoin/lib/wallet/records.js TXRecord). */
    class TXRecord {
      tx: TX;
      hash: Hash;
      /** When the wallet first saw it, unix seconds. */
      mtime: number;
      /** -1 while unconfirmed; `block` (internal-order hex) and `time` are null and 0 then. */
      height: number;
      block: Hash | null;
      time: number;
    }

    /** One input or output of a wallet tx: `path` is set when the wallet owns it. */
    class DetailsMember {
      value: number;
      address: Address | null;
      path: (Path & { name: string }) | null;
    }

    /** A wallet tx with its inputs' coins and owners (bcoin/lib/wallet/txdb.js Details). */
    class Details {
      hash: Hash;
      tx: TX;
      inputs: DetailsMember[];
      outputs: DetailsMember[];
    }

    class Wallet extends EventEmitter {
      id: string;
      wid: number;
      watchOnly: boolean;
      /** Every tx of the account (all accounts with none), in key order. */
      getHistory(acct?: number | string | null): Promise<TXRecord[]>;
      toDetails(wtx: TXRecord): Promise<Details | null>;
      /** The account's coins, spent ones included (`spent`). */
      getCredits(acct?: number | string | null): Promise<Credit[]>;
      master: { key: HDPrivateKey | null; mnemonic: Mnemonic | null; encrypted: boolean; ciphertext: Buffer | null };
      /** Decrypt the master key for `timeout` seconds (default 60). Throws on a wrong passphrase. */
      unlock(passphrase: string, timeout?: number): Promise<HDPrivateKey>;
      /** Forget the decrypted master key (an encrypted wallet only). */
      lock(): Promise<void>;
      /** Held by every write to the wallet's own records. */
      writeLock: { lock(): Promise<() => void> };
      receiveAddress(acct?: number | string): Promise<Address>;
      changeAddress(acct?: number | string): Promise<Address>;
      createReceive(acct?: number | string): Promise<WalletKey>;
      createAccount(options: object, passphrase?: string): Promise<Account>;
      getAccount(acct: number | string): Promise<Account | null>;
      hasAccount(acct: number | string): Promise<boolean>;
      createTX(options: object, force?: boolean): Promise<MTX>;
      sign(mtx: MTX, passphrase?: string): Promise<number>;
      send(options: object, passphrase?: string): Promise<TX>;
      add(tx: TX): Promise<unknown>;
      getBalance(acct?: number | string): Promise<{ confirmed: number; unconfirmed: number }>;
      getCoins(acct?: number | string): Promise<Coin[]>;
      getKey(address: Address | Buffer): Promise<WalletKey | null>;
      getPrivateKey(address: Address | Buffer, passphrase?: string): Promise<WalletKey | null>;
      getPath(address: Address | Buffer): Promise<Path | null>;
      /** Unconfirmed txs of the wallet (all accounts without `acct`). */
      getPending(acct?: number | string): Promise<Array<{ tx: TX }>>;
      /** Remove an unconfirmed tx (and the txs spending it) from the wallet; throws 'TX not eligible.' otherwise. */
      abandon(hash: Hash): Promise<unknown>;
      fund(mtx: MTX, options?: object, force?: boolean): Promise<void>;
      /** The tx record, or null if the wallet does not have it. */
      getTX(hash: Hash): Promise<TXRecord | null>;
      /** In-memory coin locks (bitcoind lockunspent): `fund` skips locked coins; forgotten on restart. */
      lockCoin(prevout: Outpoint | Coin): void;
      unlockCoin(prevout: Outpoint | Coin): boolean;
      isLocked(prevout: Outpoint | Coin): boolean;
      /** Every locked outpoint. */
      getLocked(): Outpoint[];
      /** Whether the wallet has a key for the address. */
      hasAddress(address: Address | Buffer | string): Promise<boolean>;
      /** Add a key outside the HD chain to account `acct`; throws 'Key already exists.' for one it has. */
      importKey(acct: number | string, ring: KeyRing, passphrase?: string): Promise<void>;
      /** The wallet's coins and txs (bcoin's TXDB). */
      txdb: { getCoin(hash: Hash, index: number): Promise<Coin | null> };
    }

    class Account {
      name: string;
      accountIndex: number;
      witness: boolean;
      receiveDepth: number;
      deriveReceive(index: number, master?: unknown): WalletKey;
      /** The key at `path`; with an unlocked master (`{key}`) it has its private key. */
      derivePath(path: Path, master?: unknown): WalletKey;
    }

    class WalletKey extends KeyRing {
      account: number;
      branch: number;
      index: number;
    }

    class HDPrivateKey {
      privateKey: Buffer;
      publicKey: Buffer;
      chainCode: Buffer;
      derive(index: number, hardened?: boolean): HDPrivateKey;
      derivePath(path: string): HDPrivateKey;
      toRaw(network?: string | Network): Buffer;
      static fromRaw(data: Buffer, network?: string | Network): HDPrivateKey;
    }

    class Mnemonic {
      /** Throws on a phrase that is not BIP39 (unknown word, bad checksum). */
      constructor(phrase?: string);
      getPhrase(): string;
      /** The phrase's entropy bytes (16-32). */
      getEntropy(): Buffer;
      toSeed(passphrase?: string): Buffer;
    }

    class WalletDB extends EventEmitter {
      primary: Wallet;
      /** The wallet's database (bdb). */
      db: {
        get(key: Buffer): Promise<Buffer | null>;
        put(key: Buffer, value: Buffer): Promise<void>;
        /** Compacts the range (all with no bounds); see purgeOldKeys() for what it leaves. */
        compactRange(start?: Buffer | null, end?: Buffer | null): Promise<void>;
      };
      state: { height: number; startHeight: number };
      /** The database folder (`location`); `memory` for a database with no files. */
      options: { location: string; memory: boolean };
      height: number;
      get(id: string | number): Promise<Wallet | null>;
      /** Connects to the chain at open (after the database opens, before the primary wallet is loaded): syncs, rescans, rebroadcasts. */
      connect(): Promise<void>;
      /** The wallet `options.id`, created from `options` if missing. */
      ensure(options: object): Promise<Wallet>;
      /** Ids of every wallet. */
      getWallets(): Promise<string[]>;
      addTX(tx: TX): Promise<unknown>;
      txLock: { lock(force?: boolean): Promise<() => void> };
      /** Copy the database into a new leveldb folder at `path` (bdb's clone: refuses one holding a database). */
      backup(path: string): Promise<void>;
      /** Rescan the chain from `height` for every wallet's addresses. */
      rescan(height: number): Promise<void>;
    }

    interface WalletPlugin {
      wdb: WalletDB;
      /** The wallet RPC; `wallet` is the one `selectwallet` chose (primary by default). */
      rpc: RPCBase & { wallet: Wallet; wdb: WalletDB; client: { node: FullNode } };
      http: HTTP;
    }

    const wallet: {
      plugin: Plugin<WalletPlugin>;
      WalletDB: typeof WalletDB;
      Wallet: typeof Wallet;
    };

    /** bcoin's fee estimator (lib/mempool/fees.js). */
    class PolicyEstimator {
      /** sat/kvB to confirm within `target` blocks; 0 when it has no data. */
      estimateFee(target?: number, smart?: boolean): number;
    }

    class FullNode extends EventEmitter {
      network: Network;
      logger: Logger;
      config: Config;
      chain: Chain;
      mempool: Mempool;
      fees: PolicyEstimator | null;
      miner: Miner;
      pool: Pool;
      rpc: RPCBase;
      http: HTTP;
      memory: boolean;
      plugins: Record<string, unknown>;
      constructor(options: object);
      use<T>(plugin: Plugin<T>): T;
      require<T = unknown>(name: string): T;
      has(name: string): boolean;
      ensure(): Promise<void>;
      open(): Promise<void>;
      close(): Promise<void>;
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      startSync(): void;
      getMeta(hash: Hash): Promise<{ height: number; block: Hash; tx: TX } | null>;
      getCoin(hash: Hash, index: number): Promise<Coin | null>;
      sendTX(tx: TX): Promise<void>;
      relay(tx: TX): Promise<void>;
    }

    namespace consensus {
      const COIN: number;
      /** Blocks before a coinbase output may be spent (100, every network). */
      const COINBASE_MATURITY: number;
    }

    namespace policy {
      const MIN_RELAY: number;
      const MAX_OP_RETURN: number;
      function getMinFee(size: number, rate?: number): number;
    }
  }

  export = bcoin;
}
