/*!
 * negotiator.ts - the CloudStorage P2P layer as one object.
 *
 * Tracks NODE_CLOUDSTORAGE peers and their identities (handshake.ts),
 * hands every cs* packet to inbound.ts (csreq through the Server pipeline
 * and the service registry), makes requests through the Requester, gossips
 * host announcements (Gossip), dials announced hosts on demand (Dialer) and
 * says how each host is reached (hostview.ts); its payment ledgers live on
 * disk through ledgerfiles.ts. It knows the node only through the narrow
 * NegotiatorOptions (options.ts: send a packet, dial, a network, a logger),
 * so unit tests drive it over in-memory peers; plugin.ts wires it to cloudcoind.
 */

import { EventEmitter } from 'events';
import type bcoin from 'bcoin';
import { Identity, identityAddress } from '../base/identity';
import { BoundedMap } from './boundedmap';
import { Requester, CallResult, RequestOptions, Route } from './requester';
import { RequestError, requestCodes } from './errors';
import {
  DEFAULT_DEFER_LIMIT, DEFAULT_MAX_QUOTE_PAYMENT, DEFAULT_UNCONFIRMED_LIMIT, DOUBLE_SPEND_SCORE, MAX_CLOUD_PEERS, NEW_HOSTS_BURST, NEW_HOSTS_PER_MIN, MAX_METHODS,
  MAX_ANNOUNCE_SOURCES, REACH_NEW_PER_HOST
} from './common';
import { infoService, peersService } from './coreservices';
import { standardMethods } from './standard';
import {
  MarketBook, MarketStatement, marketService, type MarketEntry, type MarketSourceView
} from './market';
import { CreditLedger } from './credit';
import { NonceManager } from './nonces';
import { AnnouncePacket } from './announcepacket';
import { Packet } from './packets';
import { AnnouncementStore, HostOffer, type HostRecord } from './announce';
import { Dialer, type ConnectOptions, type ConnectResult } from './dialer';
import { Gossip } from './gossip';
import { Handshake } from './handshake';
import { announcedAddress, publicPeers, reachedBy } from './hostview';
import { Inbound } from './inbound';
import { nullLogger, type CoinHooks, type HostReach, type LoggerLike, type NegotiatorOptions, type Target } from './options';
import { PaymentHooks, noPayments } from './payment';
import { CloudPeer, CloudPeerInfo, CloudPeers, KeyedBuckets, PeerLike, hasCloudBit } from './peers';
import { Policy } from './policy';
import { Server, LedgerRecord } from './server';
import { Service, ServiceRegistry } from './services';
import { LedgerFiles, type BlockTX } from './ledgerfiles';
import { resolveTarget } from './targets';
import { fetchAnnouncements, marketPrices, type RemoteCallContext } from './remotecalls';

export type { CoinHooks, HostReach, LoggerLike, NegotiatorOptions, Target };

export class Negotiator extends EventEmitter {
  readonly network: bcoin.Network;
  readonly registry = new ServiceRegistry();
  readonly policy: Policy;
  readonly peers: CloudPeers;
  readonly server: Server;
  readonly requester: Requester;
  readonly announcements: AnnouncementStore;
  readonly gossip: Gossip;
  readonly dialer: Dialer;
  private readonly handshake: Handshake;
  private readonly inbound: Inbound;
  /** Quotes this node received as a renter, for the `market` service. */
  readonly market = new MarketBook();
  /** Most we pay a host for one storage quote (sat, `--max-quote-payment`). */
  readonly maxQuotePayment: number;
  private readonly marketView: MarketSourceView;
  private readonly options: NegotiatorOptions;
  private readonly logger: LoggerLike;
  private readonly addresses = new BoundedMap<string, string>(MAX_CLOUD_PEERS);
  /** New-identity budgets per source address, across that source's connections. */
  private readonly newHosts: KeyedBuckets;
  private id: Identity | null;
  private payments: PaymentHooks;
  private coinHooks: CoinHooks | null = null;
  private readonly ledgers: LedgerFiles;
  private readonly remoteCalls: RemoteCallContext;
  private opened = false;

  constructor(options: NegotiatorOptions) {
    super();
    this.options = options;
    this.network = options.network;
    this.logger = options.logger ?? nullLogger;
    this.id = options.identity ?? null;
    this.policy = options.policy ?? new Policy();
    this.maxQuotePayment = options.maxQuotePayment ?? DEFAULT_MAX_QUOTE_PAYMENT;
    this.payments = options.payments ?? noPayments;
    const clock = options.clock ?? Date.now;
    this.peers = new CloudPeers(clock);
    this.newHosts = new KeyedBuckets(NEW_HOSTS_PER_MIN / 60, NEW_HOSTS_BURST, MAX_ANNOUNCE_SOURCES, clock);
    const magic = options.network.magic;
    this.server = new Server({
      magic,
      signer: () => this.identity,
      registry: this.registry,
      policy: this.policy,
      nonces: new NonceManager({ key: options.nonceKey, clock: options.clock }),
      credits: new CreditLedger(options.deferLimit ?? DEFAULT_DEFER_LIMIT),
      payments: () => this.payments,
      addressOf: pk => this.addressOf(pk),
      onError: (err, req) => this.logger.error('negotiator: %s.%s failed: %s',
        req.service, req.method, err instanceof Error ? err.stack ?? err.message : String(err)),
      clock: options.clock,
      coinView: (hash, index) => this.coinHooks ? this.coinHooks.view(hash, index) : Promise.resolve(null),
      height: () => this.coinHooks?.height() ?? 0,
      unconfirmedLimit: options.unconfirmedLimit ?? DEFAULT_UNCONFIRMED_LIMIT
    });
    this.server.on('promise', (r: LedgerRecord) => this.emit('promise', r));
    this.server.on('fulfil', (r: LedgerRecord) => this.emit('fulfil', r));
    this.requester = new Requester({
      magic, signer: () => this.identity, payments: () => this.payments, coins: () => this.coinHooks?.prover ?? null
    });
    this.ledgers = new LedgerFiles(this.server, this.requester, this.logger, (id, how) => this.paymentDoubleSpent(id, how));
    this.announcements = new AnnouncementStore(magic,
      { clock, intervalMs: options.announceIntervalMs, limit: options.announceLimit });
    this.gossip = new Gossip({
      magic,
      store: this.announcements,
      peers: this.peers,
      newHosts: this.newHosts,
      send: (cp, ann) => this.sendAnnounce(cp, ann),
      signer: () => this.identity,
      height: () => this.height(),
      clock,
      directAddresses: () => options.directAddresses?.() ?? []
    });
    this.gossip.on('announcement', (ann: AnnouncePacket) => this.emit('announcement', ann));
    this.remoteCalls = {
      magic,
      resolve: target => this.resolve(target),
      request: (peer, service, method, args, opts) => this.request(peer, service, method, args, opts),
      handle: (cp, packet) => this.gossip.handle(cp, packet),
      ban: (peer, score) => this.options.ban?.(peer, score)
    };
    this.dialer = new Dialer({
      peers: this.peers,
      events: this,
      dial: options.dial,
      disconnect: options.disconnect,
      request: (peer, service, method, args, opts) => this.request(peer, service, method, args, opts),
      listenPort: () => options.listenPort?.() ?? null,
      hosting: () => this.gossip.hosting,
      clock,
      temporaryChanged: options.temporaryChanged
    });

    this.handshake = new Handshake({
      magic,
      identity: () => this.id,
      send: (cp, packet) => this.sendPacket(cp.peer, packet),
      proven: cp => this.proven(cp)
    });
    this.inbound = new Inbound({
      peers: this.peers,
      handshake: this.handshake,
      server: this.server,
      requester: this.requester,
      gossip: this.gossip,
      serving: () => this.opened,
      send: (peer, packet) => this.sendPacket(peer, packet),
      answered: peer => this.dialer.touch(peer),
      settled: () => this.ledgers.written(),
      logger: this.logger
    });

    this.registerService(infoService(this.registry, (s, m) => Math.max(
      s.methods[m].price ?? 0,
      this.policy.decide({ service: s.name, method: m, publicKey: Buffer.alloc(33), address: '' }).minPayment)));
    this.registerService(peersService({
      list: () => publicPeers(this.peers, this.announcements),
      connect: (args, ctx) => this.dialer.handleConnect(args, ctx),
      dialback: (args, ctx) => this.dialer.handleDialback(args, ctx),
      announcements: keys => keys.length === 0 ? this.hosts()
        : keys.map(k => this.announcements.get(k)).filter((a): a is AnnouncePacket => a !== null),
      addressOf: pk => this.addressOf(pk)
    }));
    this.marketView = {
      self: () => this.identity.publicKey,
      announcements: () => this.announcements.records(this.height()).map((r) => ({
        host: r.packet.publicKey, height: r.height, storagePrice: r.packet.storagePrice, uploadPrice: r.packet.uploadPrice,
        downloadPrice: r.packet.downloadPrice, capacity: r.packet.capacity, maxDuration: r.packet.maxDuration
      })),
      height: () => this.height(),
      sign: (st) => st.sign(this.identity, magic)
    };
    this.registerService(marketService(this.market, this.marketView, magic, pk => this.addressOf(pk)));
  }

  /** The prices this node knows, as `market.prices` answers them (unsigned), newest first. */
  marketEntries(): MarketEntry[] {
    return this.market.entries(this.marketView);
  }

  /** The chain height the negotiator sees (0 without a chain). */
  get tipHeight(): number {
    return this.height();
  }

  /** This node's identity (throws before open()). */
  get identity(): Identity {
    if (!this.id)
      throw new Error('Negotiator identity not loaded yet (call open()).');
    return this.id;
  }

  async open(): Promise<void> {
    if (!this.id && this.options.loadIdentity)
      this.id = await this.options.loadIdentity();
    if (!this.id)
      throw new Error('Negotiator has no identity.');
    if (this.options.tabsFile)
      this.ledgers.openTabs(this.options.tabsFile);
    if (this.options.paidFile)
      this.ledgers.openPaid(this.options.paidFile);
    this.opened = true;
    this.logger.info('negotiator: identity %s', this.id.address);
    for (const cp of this.peers.all())
      this.handshake.start(cp);
  }

  async close(): Promise<void> {
    this.opened = false;
    for (const cp of this.peers.all())
      cp.close();
    this.requester.close();
    this.ledgers.flush();
    this.gossip.close();
    this.dialer.close();
  }

  /**
   * Offer a service over csreq (storage, reputation, market plug in here),
   * with the standard methods it does not define itself (`version`,
   * `methods`, `quote`: standard.ts).
   */
  registerService(service: Service): void {
    // [REJECT] a service of its own needs a method of its own (the registry checks the rest)
    if (Object.keys(service.methods).length === 0)
      throw new Error(`Service "${service.name}" needs 1 to ${MAX_METHODS} methods.`);
    const standard = standardMethods(service, (s, m, args, from) => this.priceOf(s, m, args, from));
    this.registry.register({
      name: service.name,
      version: service.version,
      methods: { ...service.methods, ...standard },
      quote: service.quote ? service.quote.bind(service) : undefined
    });
  }

  /**
   * What a call costs `from` (sat): the service's quote, at least the
   * min-payment the policies ask of that caller (the server's pipeline, 2.5).
   */
  async priceOf(service: Service, method: string, args: Buffer, from: Buffer): Promise<number> {
    const decision = this.policy.decide({ service: service.name, method, publicKey: from, address: this.addressOf(from) });
    // The registered service: it carries the standard methods too.
    const registered = this.registry.get(service.name) ?? service;
    return Math.max(decision.minPayment, await this.registry.quote(registered, method, args, from));
  }

  /**
   * Policy rules that can never match the services registered now; asked
   * once every extension is open (Extension#ready), when all are registered.
   */
  ready(): string[] {
    return this.policyWarnings();
  }

  /** Policy rules that can never match the services registered now. */
  policyWarnings(): string[] {
    return this.policy.unmatched({
      methods: (name) => {
        const service = this.registry.get(name);
        return service ? Object.keys(service.methods) : null;
      }
    });
  }

  /**
   * Put the payments taken before a restart that were unconfirmed back
   * into the mempool (ledgerfiles.ts). Call once the payment hooks are installed.
   */
  async restorePayments(): Promise<void> {
    await this.ledgers.restorePayments(this.payments, this.options.height?.() ?? 0);
  }

  /** A block at `height` holding `txs` was connected (ledgerfiles.ts). */
  paymentsConnected(txs: BlockTX[], height: number): void {
    this.ledgers.paymentsConnected(this.payments, txs, height);
  }

  /** The block at `height` was disconnected: its payments go back into the mempool (ledgerfiles.ts). */
  async paymentsDisconnected(height: number): Promise<void> {
    await this.ledgers.paymentsDisconnected(this.payments, height);
  }

  /** Install the payment hooks (cloudcoind: wallet payments, walletpay.ts). */
  setPaymentHooks(hooks: PaymentHooks): void {
    this.payments = hooks;
  }

  /**
   * A payment tx this node took as a server was double spent (found by
   * ledgerfiles.ts, `how` for the log): the payer owes it again
   * (Server#doubleSpent), each connection of its identity gets
   * DOUBLE_SPEND_SCORE. False for a tx that paid nothing here, or one
   * charged back already.
   */
  private paymentDoubleSpent(id: string, how: string): boolean {
    const rec = this.server.doubleSpent(id);
    if (!rec)
      return false;
    this.logger.warning('negotiator: payment %s of %d sat from %s was double spent (%s): charged back',
      id, rec.amount, this.addressOf(rec.from), how);
    for (const cp of this.peers.all()) {
      if (cp.publicKey?.equals(rec.from))
        this.options.ban?.(cp.peer, DOUBLE_SPEND_SCORE);
    }
    this.emit('double spend', rec);
    return true;
  }

  /** The UTXO set for coin proofs this node checks, and who proves coins when a server asks (coins.ts). */
  setCoinHooks(hooks: CoinHooks): void {
    this.coinHooks = hooks;
  }

  addressOf(pk: Buffer): string {
    const hex = pk.toString('hex');
    let addr = this.addresses.get(hex);
    if (!addr) {
      addr = identityAddress(pk, this.network);
      this.addresses.set(hex, addr);
    }
    return addr;
  }

  /** A peer finished the version handshake (pool 'peer open'). */
  peerOpen(peer: PeerLike): void {
    if (!hasCloudBit(peer))
      return;
    const cp = this.peers.add(peer);
    this.logger.debug('negotiator: cloud peer %s', peer.hostname());
    if (this.opened)
      this.handshake.sendHello(cp);
  }

  /** A peer disconnected (pool 'peer close'). */
  peerClose(peer: PeerLike): void {
    const cp = this.peers.remove(peer);
    if (cp)
      this.emit('peer close', cp);
    // Any connection, also one that never became a CloudStorage peer (a failed dial).
    this.emit('disconnect', peer);
    this.requester.peerClosed(peer.id);
    // Our addresses come from our connections (relays: outbound ones; a
    // wildcard-bound listener's direct address: any one's local end).
    if (cp?.publicKey)
      this.gossip.addressesChanged();
  }

  /**
   * A connection that proved our own identity reached this node itself:
   * bcoin drops those by the version nonce, except on regtest, where
   * selfConnect is on (bcoin networks.js). A host's relays are the nodes it
   * dials, so a renter the host dialled finds itself among them and would
   * dial itself as the relay while the host is away; kept, that connection
   * counted as a second peer of our own identity. It is dropped unscored,
   * and its address, if we dialled it, is never dialled again.
   */
  private selfConnected(cp: CloudPeer): void {
    this.logger.debug('negotiator: %s is this node, disconnecting', cp.peer.hostname());
    if (cp.peer.outbound)
      this.dialer.ownAddress(cp.peer.hostname());
    this.peers.remove(cp.peer);
    this.options.disconnect?.(cp.peer);
  }

  private sendPacket(peer: PeerLike, packet: Packet): void {
    this.options.send(peer, packet.cmd, packet.encode());
  }

  /** A connection proved its identity (handshake.ts). */
  private proven(cp: CloudPeer): void {
    const key = cp.publicKey as Buffer;
    if (this.id?.publicKey.equals(key)) {
      this.selfConnected(cp);
      return;
    }
    this.announcements.verify(key);
    this.emit('peer identity', cp);
    this.gossip.sync(cp);
    // A new outbound CloudStorage peer is a new relay for a host behind NAT;
    // any connection's local end may be a direct address (directAddresses).
    this.gossip.addressesChanged();
  }

  /**
   * Handle one cs* packet (inbound.ts). Throws PacketError for anything
   * the sender should be scored for; the node turns that into a ban score.
   */
  handlePacket(peer: PeerLike, cmd: string, payload: Buffer): Promise<void> {
    return this.inbound.handle(peer, cmd, payload);
  }

  /**
   * A host we hold a contract with: its connection is kept (never closed
   * as idle) and its announcement counts as verified (kept and synced
   * ahead of unverified ones).
   */
  hold(publicKey: Buffer): void {
    this.announcements.verify(publicKey);
    this.dialer.hold(publicKey);
  }

  /**
   * Be connected to `count` announced hosts passing `filter`, dialling
   * those we are not connected to (Dialer#connectHosts): at most
   * DIAL_CONCURRENCY at once, `maxNew` (default count x 3) new
   * connections, each closed after TEMP_IDLE_MS idle unless `hold`-ed.
   */
  connectHosts(options: ConnectOptions): Promise<ConnectResult> {
    const me = this.identity.publicKey;
    return this.dialer.connectHosts(this.hosts().filter(a => !a.publicKey.equals(me)), options);
  }

  /**
   * A negotiation is over: close the temporary connections its
   * `connectHosts` leased that no other negotiation uses, except to hosts
   * in `keep` (those that made offers) or held (Dialer#release).
   */
  release(lease: PeerLike[], keep: Buffer[]): number {
    return this.dialer.release(lease, keep);
  }

  /**
   * Be connected to these hosts (identity keys of hosts we hold contracts
   * with), dialling those we are not connected to by their announcements
   * (Dialer#connectHosts: DIAL_CONCURRENCY at once, at most REACH_NEW_PER_HOST
   * new connections per missing host). Each is `hold`-ed, so its connection
   * stays. Resolves with the keys connected now; hosts not announced, or
   * not reachable, are left out (callers say "host unreachable").
   */
  async reach(keys: Buffer[]): Promise<Buffer[]> {
    const wanted = new Map<string, Buffer>();
    for (const k of keys)
      wanted.set(k.toString('hex'), k);
    for (const k of wanted.values())
      this.hold(k);
    const missing = [...wanted.values()].filter(k => this.peers.byKey(k) === null);
    if (missing.length > 0) {
      await this.connectHosts({
        count: wanted.size,
        maxNew: REACH_NEW_PER_HOST * missing.length,
        filter: a => wanted.has(a.publicKey.toString('hex'))
      });
    }
    return [...wanted.values()].filter(k => this.peers.byKey(k) !== null);
  }

  /** Send an announcement paced under the peer's csannounce budget; dropped when too much is queued. */
  private sendAnnounce(cp: CloudPeer, ann: AnnouncePacket): void {
    cp.announcePacer.push(() => {
      if (this.peers.get(cp.peer) === cp)
        this.sendPacket(cp.peer, ann);
    });
  }

  private height(): number {
    return this.options.height ? this.options.height() : 0;
  }

  /**
   * Sign and gossip our host offer with our P2P addresses. A later call
   * replaces it everywhere (higher seq). Returns the announcement.
   */
  announce(offer: HostOffer): AnnouncePacket {
    return this.gossip.announce(offer);
  }

  /** Withdraw our announcement (we stopped hosting); null if there is none. */
  withdraw(): AnnouncePacket | null {
    return this.gossip.withdraw();
  }

  /** Valid host announcements we know (ours included, withdrawn ones not), newest first. */
  hosts(): AnnouncePacket[] {
    return this.announcements.list(this.height());
  }

  /** The host directory: every valid announcement with its height and whether we are connected. */
  hostRecords(): Array<HostRecord & { connected: boolean }> {
    return this.announcements.records(this.height())
      .map(r => ({ ...r, connected: this.peers.byKey(r.packet.publicKey) !== null }));
  }

  /** How this node reaches a host now (hostview.ts), or null: no way. */
  reachedBy(publicKey: Buffer): HostReach | null {
    return reachedBy(this.peers, this.announcements, publicKey);
  }

  /** The address a host announced to be dialled at (first direct one, else `via RELAY`), or null. */
  announcedAddress(publicKey: Buffer): string | null {
    return announcedAddress(this.announcements, publicKey);
  }

  /** Find a connected CloudStorage peer whose identity is proven (targets.ts). */
  resolve(target: Target): CloudPeer {
    return resolveTarget(this.peers, pk => this.addressOf(pk), target);
  }

  /**
   * Call `service.method` on a peer and await its verified response.
   * Resolves for every status (check `status`); rejects with RequestError on
   * timeout, abort, disconnect or a bad response.
   */
  async request(target: Target, service: string, method: string, args: Buffer = Buffer.alloc(0),
    options: RequestOptions = {}): Promise<CallResult> {
    if (!this.opened)
      throw new RequestError(requestCodes.UNKNOWN_PEER, 'Negotiator not open.');
    const cp = this.resolve(target);
    this.dialer.touch(cp.peer);
    const route: Route = {
      peerId: cp.peer.id,
      serverKey: cp.publicKey as Buffer,
      send: (req) => {
        // Paced under the server's csreq budget; the call's timeout covers the wait.
        const queued = cp.reqPacer.push(() => {
          if (this.peers.get(cp.peer) === cp)
            this.sendPacket(cp.peer, req);
        });
        if (!queued)
          throw new RequestError(requestCodes.TOO_MANY_PENDING, 'Too many requests queued for this peer.');
      }
    };
    return this.requester.request(route, service, method, args, options);
  }

  /** Ask a peer for the prices it knows (`market.prices`), its statement checked (remotecalls.ts). */
  marketPrices(target: Target, options: RequestOptions = {}): Promise<{ statement: MarketStatement; paid: number }> {
    return marketPrices(this.remoteCalls, target, options);
  }

  /** Fetch host announcements from a peer (`peers.announce`), each through the store (remotecalls.ts). */
  fetchAnnouncements(target: Target, hosts: Buffer[] = [], options: RequestOptions = {})
    : Promise<{ announcements: Array<{ packet: AnnouncePacket; result: string }>; paid: number }> {
    return fetchAnnouncements(this.remoteCalls, target, hosts, options);
  }

  /** Connected CloudStorage peers, as `getcloudpeers` prints them. */
  cloudPeers(): CloudPeerInfo[] {
    return this.peers.all().map(cp => ({
      identity: cp.publicKey ? this.addressOf(cp.publicKey) : null,
      pubkey: cp.publicKey ? cp.publicKey.toString('hex') : null,
      addr: cp.peer.hostname(),
      services: (cp.peer.services >>> 0).toString(16).padStart(16, '0'),
      version: cp.peer.version,
      csversion: cp.csVersion,
      agent: cp.peer.agent,
      inbound: !cp.peer.outbound
    }));
  }
}
