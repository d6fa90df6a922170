/*!
 * options.ts - what the Negotiator is built from: the narrow view of the
 * node it needs (send a packet, dial, a network, a logger, the chain
 * height), the coin-credential hooks, and the target and reach shapes its
 * callers pass and get back.
 */

import type bcoin from 'bcoin';
import type { Identity } from '../base/identity';
import type { CoinView } from './coins';
import type { PaymentHooks } from './payment';
import type { PeerLike } from './peers';
import type { Policy } from './policy';
import type { CoinProver } from './requester';

/** Coin credentials (coins.ts): the chain's view for checking proofs, and this node's prover. */
export interface CoinHooks {
  view: CoinView;
  /** Chain height ages count from. */
  height(): number;
  /** Null: this node proves no coins (--coin-proofs 0). */
  prover: CoinProver | null;
}

export type LoggerLike = Pick<bcoin.Logger, 'info' | 'warning' | 'debug' | 'error'>;

/** How a host is reached (Negotiator#reachedBy): a connection's direction and peer address, or an announced address. */
export interface HostReach {
  how: 'outbound' | 'inbound' | 'direct' | 'relay';
  /** `ip:port` dialled (outbound, direct), the relay's (relay); inbound: the announced direct address, else the IP. */
  address: string;
}

export interface NegotiatorOptions {
  network: bcoin.Network;
  /** Send a cs* packet to a peer (NodeAPI.sendPacket). */
  send: (peer: PeerLike, cmd: string, payload: Buffer) => void;
  logger?: LoggerLike;
  /** Our identity; or give `loadIdentity`, called by `open()`. */
  identity?: Identity;
  loadIdentity?: () => Promise<Identity>;
  policy?: Policy;
  /** Credit (sat) an identity may defer; 0 refuses `defer`. */
  deferLimit?: number;
  /** The deferred-payment tabs file (tabs.ts); none: tabs live in memory only. */
  tabsFile?: string;
  /** The file of the attached payments taken as a server (paidstore.ts); none: kept in memory only. */
  paidFile?: string;
  /** Most sat of one identity's attached payments served while unconfirmed (default DEFAULT_UNCONFIRMED_LIMIT). */
  unconfirmedLimit?: number;
  /** Raise a peer's ban score (pool: Peer#increaseBan) for what it did outside a packet handler (a double spend). */
  ban?: (peer: PeerLike, score: number) => void;
  /** Most we pay a host for one storage quote, sat (default DEFAULT_MAX_QUOTE_PAYMENT). */
  maxQuotePayment?: number;
  payments?: PaymentHooks;
  /** HMAC key for nonces (random by default; nonces die with the process). */
  nonceKey?: Buffer;
  clock?: () => number;
  /** Current chain height (announcement expiry); NodeAPI chain.height. */
  height?: () => number;
  /** Minimum time between relays of one identity's announcements (tests shorten it). */
  announceIntervalMs?: number;
  /** Announcements kept (default MAX_ANNOUNCEMENTS; tests fill a smaller store). */
  announceLimit?: number;
  /** Open an outbound P2P connection to `ip:port` (the pool); null when it will not. */
  dial?: (hostname: string) => PeerLike | null;
  /** Close a P2P connection. */
  disconnect?: (peer: PeerLike) => void;
  /** Our dialable P2P addresses (`ip:port`) to announce; none behind NAT. */
  directAddresses?: () => string[];
  /** The port we accept P2P connections on, or null (a host behind NAT dials back there). */
  listenPort?: () => number | null;
  /** The number of connections the dialer holds for a while changed. */
  temporaryChanged?: (count: number) => void;
}

/** A peer as a request target: the peer object, an identity address or pubkey, or `host:port`. */
export type Target = PeerLike | Buffer | string;

/** The logger used when none is given. */
export const nullLogger: LoggerLike = {
  info(): void {}, warning(): void {}, debug(): void {}, error(): void {}
};
