/*!
 * pricing.ts - what a contract costs, and how a renter picks hosts.
 *
 * Prices (DESIGN 5): storage in sat per GiB per 1000 blocks, upload and
 * download in sat per GiB. The formula is printed to users as-is, so payouts
 * are never opaque.
 */

import { DEFAULT_ALLOWANCE_BYTES, GIB, PRICE_BLOCKS } from './common';

export interface Prices {
  storage: number;
  upload: number;
  download: number;
}

/** Storage for `duration` blocks plus one upload of `size` bytes, in sat. */
export function contractCost(size: number, duration: number, prices: Prices): number {
  const gib = size / GIB;
  return Math.ceil(prices.storage * gib * duration / PRICE_BLOCKS + prices.upload * gib);
}

/** The formula behind contractCost, for people. */
export function costFormula(size: number, duration: number, prices: Prices): string {
  return `ceil(${prices.storage} sat/GiB/1000 blocks x ${(size / GIB).toFixed(6)} GiB x ${duration} blocks / 1000`
    + ` + ${prices.upload} sat/GiB x ${(size / GIB).toFixed(6)} GiB) = ${contractCost(size, duration, prices)} sat`;
}

/** Escrow locked for a contract: its cost, but never under the minimum. */
export function escrowValue(cost: number, minEscrow: number): number {
  return Math.max(cost, minEscrow);
}

/**
 * Allowance of a new contract when the renter names none: storage and
 * upload of DEFAULT_ALLOWANCE_BYTES (or the first object, if larger) for
 * the whole duration at these prices, never under the minimum escrow.
 */
export function defaultAllowance(size: number, duration: number, prices: Prices, minEscrow: number): number {
  return Math.max(minEscrow, contractCost(Math.max(size, DEFAULT_ALLOWANCE_BYTES), duration, prices));
}

/** One host's answer to a quote, as the chooser sees it. */
export interface QuotedHost<T> {
  host: T;
  prices: Prices;
  freeCapacity: number;
  maxDuration: number;
}

/**
 * The renter's cap applies to every price a host charges (storage, upload,
 * download), so no price component can run away with the escrow.
 */
export function withinPrice(p: Prices, maxPrice: number): boolean {
  return p.storage <= maxPrice && p.upload <= maxPrice && p.download <= maxPrice;
}

/**
 * Choose up to `count` hosts: those that can hold `size` for `duration`
 * with every price within `maxPrice`, cheapest total cost first. A single function
 * so reputation can join the choice later without touching the callers.
 */
export function chooseHosts<T>(quotes: QuotedHost<T>[], count: number, size: number, duration: number,
  maxPrice: number): QuotedHost<T>[] {
  return quotes
    .filter((q) => q.freeCapacity >= size && q.maxDuration >= duration && withinPrice(q.prices, maxPrice))
    .sort((a, b) => contractCost(size, duration, a.prices) - contractCost(size, duration, b.prices)
      || a.prices.storage - b.prices.storage)
    .slice(0, count);
}

/** Audit interval (blocks) both sides derive from the duration: the network's, at most the duration. */
export function auditTerms(duration: number, interval: number): number {
  return Math.max(1, Math.min(interval, duration));
}
