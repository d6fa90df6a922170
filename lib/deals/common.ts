/*!
 * common.ts - constants of storage deals (quote, offer, propose, receipt).
 */

import type bcoin from 'bcoin';
import { tags } from '../base/hash';

/**
 * States of a contract in force (contracts' state names): its commitment
 * is out or on chain and not spent. It takes new objects, holds paid-for
 * data (its keys must be kept), and can be renewed.
 */
export const IN_FORCE_STATES: ReadonlySet<string> = new Set(['pending', 'committed', 'active']);

/** Name and version of the storage service on the OpenCloud envelope. */
export const SERVICE_NAME = 'storage';
export const SERVICE_VERSION = 1;

/** Bytes in a GiB: prices are per GiB (DESIGN 5). */
export const GIB = 2 ** 30;
/** Storage prices are per GiB per this many blocks. */
export const PRICE_BLOCKS = 1000;

/** Hosts' default prices when not configured (sat). */
export const DEFAULT_STORAGE_PRICE = 1000;
export const DEFAULT_UPLOAD_PRICE = 100;
export const DEFAULT_DOWNLOAD_PRICE = 200;

/** Holdback of each audit payment, released at the end (DESIGN 5). */
export const DEFAULT_HOLDBACK_BPS = 2500;

/** Most hosts one `put` or `negotiatestorage` may use (one commit batch). */
export const MAX_HOSTS = 16;
/** Most hosts asked for a quote in one negotiation. */
export const MAX_QUOTES = 64;
/** Most open offers a host keeps (bounded memory against offer floods). */
export const MAX_RESERVATIONS = 1024;
/**
 * Most open offers per renter identity, so one renter cannot starve
 * others; a renter asking for one more releases its oldest.
 */
export const MAX_OFFERS_PER_RENTER = 8;
/**
 * What a renter without paid history (no committed contract with this
 * host) may hold in open offers: this percentage of the free capacity,
 * and at most DEFAULT_NEW_RENTER_CAP bytes (--host-new-renter-share,
 * --host-new-renter-cap). A throwaway identity cannot reserve a host.
 */
export const DEFAULT_NEW_RENTER_SHARE = 25;
export const DEFAULT_NEW_RENTER_CAP = 4 * 2 ** 30;
/** Largest object one contract may hold (lib/storage: leaf counts fit a u32). */
export { MAX_OBJECT_SIZE } from '../storage/common';
/** Longest data URL (the same limit as csannounce's URL, so every host can announce). */
export const MAX_URL_SIZE = 200;
/** Longest sealed token blob. */
export const MAX_SEALED_SIZE = 1024;
/**
 * Most objects one `propose` or `revise` may add, and ids one `revise` may
 * remove: 1024 x 44 + 4096 x 4 bytes plus a revision fit the envelope's
 * 64 KiB of args, and 1024 sealed tokens its 512 KiB body.
 */
export const MAX_ADDED_OBJECTS = 1024;
export const MAX_REMOVED_OBJECTS = 4096;
/**
 * A host accepts a revision whose height is within this many blocks below
 * its tip (or one above): the parties' tips may differ by a block or two.
 */
export const REVISION_HEIGHT_SLACK = 2;
/**
 * Default allowance of a new contract (when put gets no --allowance): room
 * to store this many bytes for the whole duration at the host's prices,
 * uploads included, and never under the minimum escrow (10000 sat), so
 * later puts to the same host reuse the contract.
 */
export const DEFAULT_ALLOWANCE_BYTES = 2 ** 30;
/** How long a renter waits for each storage call (ms). */
export const CALL_TIMEOUT_MS = 20000;

/**
 * Seconds a put's lease (putleases.ts) lives without a renewal before the
 * node gives the put up as its Ctrl-C would: its client was killed
 * outright (kill -9, a crash, the machine gone) and no hook ran. Generous
 * on purpose: the client renews every PUT_LEASE_RENEW_MS, so 45 s is 9
 * renewals in a row lost or late (a node busy verifying blocks, a loaded
 * machine, a stalled event loop) before a live put could be touched, and
 * it is still far shorter than the offer window (12 to 20 blocks) a
 * killed put held its open contracts for without one.
 */
export const PUT_LEASE_SECONDS = 45;
/** How often a put's client renews its lease (ms): a small share of PUT_LEASE_SECONDS. */
export const PUT_LEASE_RENEW_MS = 5000;
/**
 * A lease timer that fires this late (ms) means the node's own event loop
 * stalled: renewals may be queued behind it, so they get this long to
 * arrive before the put is given up.
 */
export const PUT_LEASE_STALL_MS = 5000;

/** Tags of the tagged hashes signed in deals. */
export const OFFER_TAG = tags.OFFER;
export const SEAL_TAG = tags.SEAL;

/** Status a host answers when a bid is under its price (body: its 3 prices, 24 bytes). */
export const PRICE_TOO_LOW = 'request-declined/price-too-low';
/** Status when the host has no room or the terms are outside its limits. */
export const NO_CAPACITY = 'request-declined/no-capacity';
export const BAD_TERMS = 'request-declined/bad-terms';

/** Per-network deal parameters: regtest uses tiny periods. */
export interface DealParams {
  /** Blocks an offer (and its capacity reservation) stays open. */
  offerWindow: number;
  /** Audit interval in blocks (audits arrive with a later issue). */
  auditInterval: number;
  /** Seconds per block, to turn heights into file-server expiry times. */
  blockSeconds: number;
  /** Hosts re-announce every this many blocks; an announcement holds for 10 intervals. */
  announceInterval: number;
}

const main: DealParams = { offerWindow: 12, auditInterval: 144, blockSeconds: 600, announceInterval: 144 };
const regtest: DealParams = { offerWindow: 20, auditInterval: 10, blockSeconds: 600, announceInterval: 50 };

const params: Record<string, DealParams> = {
  main,
  testnet: { ...main },
  regtest,
  simnet: { ...regtest }
};

export function getDealParams(network: bcoin.Network | string): DealParams {
  const type = typeof network === 'string' ? network : network.type;
  const p = params[type];
  if (!p)
    throw new Error(`No deal parameters for network ${type}.`);
  return p;
}
