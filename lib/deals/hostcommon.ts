/*!
 * hostcommon.ts - what the host's `storage` service parts share: the
 * node context, the host's terms, declines, and HostCore (the backend,
 * the clock, the one lock revisions take, token minting, the renter's
 * contract lookup).
 *
 * The service is split by deal phase: hostformation.ts (quote, offer,
 * propose), hostrevisions.ts (revise, receipt, revision), hostpayments.ts
 * (token, pay, non-payment); hostservice.ts composes them and keeps the
 * chain housekeeping.
 */

import bcoin = require('../bcoin');
import type { StorageContract } from '../contracts/storagecontract';
import type { ObjectEntry } from '../contracts/objecttree';
import { Mutex } from '../contracts/mutex';
import type { ChannelState } from '../contracts/channel';
import type { Identity } from '../base/identity';
import { ServiceError, type RequestContext } from '../negotiator/services';
import { statuses } from '../negotiator/status';
import type { StorageBackend } from '../hosting/backend';
import { MAX_MANIFEST_SIZE } from '../storage/common';
import type { Prices } from './pricing';
import { seal } from './seal';
import type { DealStore } from './dealstore';

/** What the host keeps of the latest channel state of a contract (channelstore.ts StoredState). */
export interface StoredPayment {
  /** Sat the state pays the host, cumulative. */
  paid: number;
  /** Sat of `paid` that prepaid downloads and audit reads, cumulative. */
  prepaid: number;
  /** The renter's last state (closed with at end height). */
  final: boolean;
  /** Intervals the renter's payments called missed, as accepted. */
  missed?: readonly number[];
  /** The state itself (`storage.latest` hands it to a renter taking the contract over). */
  state?: ChannelState;
}

/** What the host service needs from the node. */
export interface HostContext {
  network: bcoin.Network;
  identity(): Identity;
  height(): number;
  backend(): StorageBackend | null;
  /** Base URL of the data API renters upload to and download from. */
  dataURL(): string;
  createEscrowKey(): Promise<Buffer>;
  /** State of a contract in the chain index, or null if no commit is known. */
  contractState(id: Buffer): Promise<string | null>;
  /**
   * Store a renter-signed channel state once it verifies against the
   * escrow (lib/contracts/channelstore.ts), fsynced before it resolves;
   * `final`: the renter's last state; `prepaid`: the cumulative sat of it
   * that prepaid downloads; `missed`: the intervals the renter's payment
   * calls missed (default: the stored state's). Throws ContractError.
   */
  acceptState(c: StorageContract, state: ChannelState,
    options: { final: boolean; prepaid: number; missed?: readonly number[] }): Promise<void>;
  /** The latest state stored for a contract (sat paid, of it prepaid, final, missed intervals), or null. */
  latestState(id: Buffer): Promise<StoredPayment | null>;
  /**
   * Bytes an audit token's reads served so far, or null when unknown
   * (default: a HEAD of the data API with the token, X-CC-Budget-Left).
   */
  auditReadsServed?(c: StorageContract, token: string): Promise<number | null>;
  store: DealStore;
  now?: () => number;
}

/** A host's terms, from flags or cloudcoin.conf. */
export interface HostTerms {
  prices: Prices;
  maxDuration: number;
  /**
   * Smallest contract cost (pricing.contractCost of the offer, sat) the
   * host accepts: below it the host's close would cost more than it earns
   * (--host-min-contract, like Sia's contract price).
   */
  minContract: number;
  /** Percent of free capacity a renter without paid history may hold in open offers. */
  newRenterShare: number;
  /** Most bytes a renter without paid history may hold in open offers. */
  newRenterCap: number;
  /**
   * Coins (sat, each at least newRenterCoinsAge blocks deep) a renter may
   * prove instead of paid history to lift those caps; 0: proofs lift nothing.
   */
  newRenterCoins: number;
  newRenterCoinsAge: number;
}

/** Upload tokens stay valid this long past the offer's last block. */
export const UPLOAD_GRACE_SECONDS = 3600;
/** Download tokens: short-lived, renewed through `token`. */
export const DOWNLOAD_TOKEN_SECONDS = 3600;
/** Upload tokens of a revision: an hour to upload what it adds (the renter may revise again). */
export const UPLOAD_TOKEN_SECONDS = 3600;

/** HASH160 of a renter identity key, hex (a token's renterPkHash). */
export function keyHash(pk: Buffer): string {
  return bcoin.KeyRing.fromPublic(pk).getKeyHash().toString('hex');
}

/** A decline whose body carries its code, so the renter can tell the user why. */
export function decline(status: string, code: string): ServiceError {
  return new ServiceError(status, code, Buffer.from(code, 'ascii'));
}

/** Decode a request's args; anything malformed is `bad-args`. */
export function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch {
    throw ServiceError.badArgs();
  }
}

/** What every part of the host service uses: the context, the backend, the lock, token minting. */
export class HostCore {
  readonly ctx: HostContext;
  /** Revisions (formation, revise, receipt, housekeeping) change state one at a time. */
  readonly lock = new Mutex();

  constructor(ctx: HostContext) {
    this.ctx = ctx;
  }

  now(): number {
    return this.ctx.now ? this.ctx.now() : Math.floor(Date.now() / 1000);
  }

  mustBackend(): StorageBackend {
    const backend = this.ctx.backend();
    if (!backend)
      throw decline(statuses.SERVICE_UNSUPPORTED, 'not-hosting');
    return backend;
  }

  /** An object id the backend does not know (deleted before, or never registered). */
  static gone(e: unknown): boolean {
    return (e as { code?: unknown } | null)?.code === 'unknown-object';
  }

  /** Sealed `put` tokens, one per object. */
  putTokens(c: StorageContract, objects: readonly ObjectEntry[], notAfter: number): Buffer[] {
    const backend = this.mustBackend();
    const id = c.hash();
    return objects.map((o) => seal(this.ctx.identity(), c.renterKey, id, Buffer.from(backend.mintToken({
      contract: id.toString('hex'), op: 'put', object: o.id, notAfter, maxBytes: o.size, renterPkHash: keyHash(c.renterKey)
    }), 'ascii')));
  }

  manifestToken(c: StorageContract, notAfter: number): Buffer {
    const id = c.hash();
    return seal(this.ctx.identity(), c.renterKey, id, Buffer.from(this.mustBackend().mintToken({
      contract: id.toString('hex'), op: 'put', object: 0, notAfter, maxBytes: MAX_MANIFEST_SIZE, renterPkHash: keyHash(c.renterKey)
    }), 'ascii'));
  }

  async renterContract(id: Buffer, ctx: RequestContext): Promise<StorageContract> {
    const c = await this.ctx.store.getHosted(id);
    // [DECLINE] only the contract's renter may ask (unknown ids look the same)
    if (!c || !c.renterKey.equals(ctx.from))
      throw decline(statuses.BAD_REQUEST, 'unknown-contract');
    return c;
  }

  /** Committed on chain: known to the index (not void), or its escrow seen funded in time. */
  async isCommitted(id: Buffer): Promise<boolean> {
    const state = await this.ctx.contractState(id);
    return (state !== null && state !== 'void') || await this.ctx.store.isFunded(id);
  }
}
