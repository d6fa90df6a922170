/*!
 * status.ts - hierarchical response statuses (OpenCloud / decloud style).
 *
 * A status is a `/`-separated path; clients branch on prefixes, so new
 * leaves can be added without breaking old clients. Some declined statuses
 * carry an amount in the response body (see `amountBody`).
 */

import bio = require('bufio');
import { readAmount, writeAmount, checkEnd } from './wire';

export const statuses = {
  OK: 'ok',
  CLIENT_ERROR: 'client-error',
  BAD_REQUEST: 'client-error/bad-request',
  INVALID_SIGNATURE: 'client-error/invalid-signature',
  SERVICE_UNSUPPORTED: 'client-error/service-unsupported',
  METHOD_UNSUPPORTED: 'client-error/method-unsupported',
  SERVER_ERROR: 'server-error',
  DECLINED: 'request-declined',
  REFRESH_NONCE: 'request-declined/refresh-nonce',
  /** Body: u64 amount owed (deferred credit over the limit). */
  PLEASE_PAY: 'request-declined/please-pay',
  PAYMENT_DECLINED: 'request-declined/payment-declined',
  /** Body: u64 acceptable payment. */
  TOO_LOW: 'request-declined/payment-declined/too-low',
  NO_DEFER: 'request-declined/payment-declined/no-defer',
  /** The attached payment did not verify. */
  PAYMENT_INVALID: 'request-declined/payment-declined/invalid',
  /** Body: u64 sat of the client's payments still unconfirmed (over the server's unconfirmed limit). */
  UNCONFIRMED: 'request-declined/payment-declined/unconfirmed',
  DENIED: 'request-declined/denied',
  RATE_LIMITED: 'request-declined/rate-limited',
  /** Body: u64 amount, u32 age (coins.ts): prove coins worth amount sat, each at least age blocks deep. */
  COINS_REQUIRED: 'request-declined/coins-required',
  BUSY: 'request-declined/busy'
} as const;

export type Status = typeof statuses[keyof typeof statuses];

/** True when `status` is `prefix` or below it. */
export function isUnder(status: string, prefix: string): boolean {
  return status === prefix || status.startsWith(prefix + '/');
}

/** Body of `too-low` / `please-pay`: one u64 amount in satoshis. */
export function amountBody(amount: number): Buffer {
  const bw = bio.write(8);
  writeAmount(bw, amount);
  return bw.render();
}

/** Read an amount body; throws PacketError on a malformed one. */
export function readAmountBody(body: Buffer): number {
  const br = bio.read(body);
  const amount = readAmount(br);
  checkEnd(br);
  return amount;
}

/**
 * One line saying why a call was not served, for tables and errors:
 * the status, with the amount of a `too-low` / `please-pay` answer
 * against the caller's `maxPayment` (sat), or the ASCII code a service
 * put in the body.
 */
export function describeDecline(status: string, body: Buffer, maxPayment: number): string {
  let amount: number | null = null;
  if (status === statuses.TOO_LOW || status === statuses.PLEASE_PAY || status === statuses.UNCONFIRMED) {
    try {
      amount = readAmountBody(body);
    } catch {
      amount = null;
    }
  }
  if (status === statuses.TOO_LOW && amount !== null)
    return `asks ${amount} sat, above the maximum payment ${maxPayment} sat`;
  if (status === statuses.PLEASE_PAY && amount !== null)
    return `asks for ${amount} sat owed for earlier deferred calls, more than the maximum payment ${maxPayment} sat allows`;
  if (status === statuses.UNCONFIRMED && amount !== null)
    return `holds ${amount} sat of this node's payments unconfirmed: pays again after a block`;
  if (status === statuses.NO_DEFER)
    return 'refuses deferred payment and could not be paid at once';
  const code = /^[a-z0-9-]{1,64}$/.test(body.toString('latin1')) ? ` (${body.toString('latin1')})` : '';
  return `${status}${code}`;
}
