/*!
 * renterhosts.ts - hosts as the renter knows them, and what their answers
 * mean: a call to a host's storage service, its decline codes and the
 * errors they become, the data URLs we accept, price-too-low's asking
 * prices.
 */

import bio = require('bufio');
import type bcoin from 'bcoin';
import type { Negotiator } from '../negotiator/negotiator';
import { isPrivateHost } from '../negotiator/cloudpeers';
import { checkEnd, readAmount } from '../negotiator/wire';
import { CALL_TIMEOUT_MS, SERVICE_NAME } from './common';
import { DealError, type DealErrorCode } from './errors';
import type { Prices } from './pricing';

/** A host as the renter knows it. */
export interface HostRef {
  pubkey: Buffer;
  identity: string;
  addr: string;
}

/** Call one of a host's storage methods, with the call timeout. */
export function callHost(negotiator: Negotiator, host: HostRef, method: string, args: Buffer) {
  return negotiator.request(host.pubkey, SERVICE_NAME, method, args, { timeout: CALL_TIMEOUT_MS });
}

/** The `price-too-low` body: three checked amounts, nothing after. */
export function readPrices(body: Buffer): Prices | null {
  try {
    const br = bio.read(body);
    const prices = { storage: readAmount(br), upload: readAmount(br), download: readAmount(br) };
    checkEnd(br);
    return prices;
  } catch {
    return null;
  }
}

/** Prices for people. */
export function priceText(p: Prices): string {
  return `storage ${p.storage}, upload ${p.upload}, download ${p.download}`;
}

/** A host's decline as a DealError whose `reason` is the host's code (its body). */
export function declined(code: DealErrorCode, what: string, status: string, body: Buffer): DealError {
  const e = new DealError(code, `${what}: ${explain(status, body)}`);
  e.reason = declineCode(body);
  return e;
}

/** The host's kebab-case decline code in a body, or ''. */
export function declineCode(body: Buffer): string {
  const text = body.toString('latin1');
  return body.length > 0 && body.length <= 64 && /^[a-z0-9-]+$/.test(text) ? text : '';
}

/** A status plus the host's decline code (ASCII in the body), for people. */
export function explain(status: string, body: Buffer): string {
  const code = body.length > 0 && body.length <= 64 && /^[a-z0-9-]+$/.test(body.toString('latin1'))
    ? ` (${body.toString('latin1')})` : '';
  return `${status}${code}`;
}

/**
 * DESIGN 7: data URLs are https, except plain http on a loopback host, and
 * on regtest on a private address too (a test network has no TLS).
 */
export function isAllowedURL(text: string, network?: bcoin.Network): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === 'https:')
    return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'http:')
    return false;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
    || (network?.type === 'regtest' && isPrivateHost(host));
}
