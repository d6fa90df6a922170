/*!
 * adminauth.ts - authentication of admin calls from a negotiator to a file
 * server.
 *
 * Each request carries three headers:
 *   x-cc-time:  decimal unix seconds
 *   x-cc-nonce: 32 hex (16 random bytes, never reused)
 *   x-cc-auth:  64 hex HMAC-SHA256(K_admin, message)
 * with message = method "\n" path "\n" hex(SHA256(body)) "\n" time "\n" nonce
 * (method upper case, path including any query string, relative to the
 * base URL the server is mounted at: a client of https://host/cc signs
 * `/admin/status`, sends `/cc/admin/status`, and a server mounted at `/cc`
 * strips the prefix before checking). The server accepts |time - now| <=
 * 120 s and remembers nonces for that window.
 */

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'crypto';

/** Accepted clock difference between negotiator and file server. */
export const ADMIN_WINDOW = 120;

/** Header names (lower case, as node:http presents them). */
export const adminHeaders = {
  TIME: 'x-cc-time',
  NONCE: 'x-cc-nonce',
  AUTH: 'x-cc-auth'
} as const;

/** The string an admin HMAC covers. */
export function adminMessage(method: string, path: string, body: Buffer, time: number, nonce: string): string {
  const digest = createHash('sha256').update(body).digest('hex');
  return `${method.toUpperCase()}\n${path}\n${digest}\n${time}\n${nonce}`;
}

/** HMAC of an admin call, hex. */
export function adminMAC(adminKey: Buffer, method: string, path: string, body: Buffer, time: number, nonce: string): string {
  return createHmac('sha256', adminKey).update(adminMessage(method, path, body, time, nonce)).digest('hex');
}

/** Headers for a signed admin call. */
export function signAdmin(adminKey: Buffer, method: string, path: string, body: Buffer,
  time = Math.floor(Date.now() / 1000), nonce = randomBytes(16).toString('hex')): Record<string, string> {
  return {
    [adminHeaders.TIME]: String(time),
    [adminHeaders.NONCE]: nonce,
    [adminHeaders.AUTH]: adminMAC(adminKey, method, path, body, time, nonce)
  };
}

/** Why an admin signature was refused; null if it is good. */
export type AdminAuthFailure = 'missing-auth' | 'bad-signature' | 'stale-request' | null;

type HeaderMap = Record<string, string | string[] | undefined>;

/** The three admin headers if present and well-formed, else why not. */
function adminFields(headers: HeaderMap): { time: string; nonce: string; auth: string } | 'missing-auth' | 'bad-signature' {
  const time = headers[adminHeaders.TIME];
  const nonce = headers[adminHeaders.NONCE];
  const auth = headers[adminHeaders.AUTH];
  if (typeof time !== 'string' || typeof nonce !== 'string' || typeof auth !== 'string')
    return 'missing-auth';
  if (!/^[0-9]{1,12}$/.test(time) || !/^[0-9a-f]{32}$/.test(nonce) || !/^[0-9a-f]{64}$/.test(auth))
    return 'bad-signature';
  return { time, nonce, auth };
}

/**
 * The checks that need no body: headers present, well-formed and within
 * the time window. A server runs this before reading an admin body, so a
 * caller without the key cannot make it read one; checkAdmin() still
 * decides.
 */
export function precheckAdmin(headers: HeaderMap, now: number): AdminAuthFailure {
  const fields = adminFields(headers);
  if (typeof fields === 'string')
    return fields;
  // [REJECT] outside the window
  if (Math.abs(Number(fields.time) - now) > ADMIN_WINDOW)
    return 'stale-request';
  return null;
}

/**
 * Checks an admin call's headers (not the nonce's freshness: that needs
 * the server's replay cache). `now` in unix seconds. `path` is the request
 * target relative to the server's mount point (docs/PROTOCOL.md 4.7).
 */
export function checkAdmin(adminKey: Buffer, method: string, path: string, body: Buffer,
  headers: HeaderMap, now: number): AdminAuthFailure {
  const fields = adminFields(headers);
  if (typeof fields === 'string')
    return fields;
  const { time, nonce, auth } = fields;
  const want = Buffer.from(adminMAC(adminKey, method, path, body, Number(time), nonce), 'hex');
  if (!timingSafeEqual(want, Buffer.from(auth, 'hex')))
    return 'bad-signature';
  // [REJECT] outside the window: checked after the MAC so a forged time never matters
  if (Math.abs(Number(time) - now) > ADMIN_WINDOW)
    return 'stale-request';
  return null;
}

/** Parses an admin key given as 64 hex characters. */
export function parseAdminKey(text: string): Buffer | null {
  const s = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(s))
    return null;
  return Buffer.from(s, 'hex');
}
