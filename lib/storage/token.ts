/*!
 * token.ts - data tokens: what a renter shows the file server.
 *
 *   v2.<contract>.<op>.<object>.<notAfter>.<maxBytes>.<nonce>.<renterPkHash>.<mac>
 * contract: 64 hex (contract id); op: `get` or `put`; object: decimal u32
 * (0 = manifest, 1..2^32-2 a data object, 2^32-1 = every data object of
 * the contract, `get` only); notAfter: decimal unix seconds; maxBytes:
 * decimal; for `get` a budget of bytes served over every request made with
 * the token (the server keeps a counter per token, fileserver/budget.ts:
 * downloads are paid ahead per token, docs/MARKET.md), for `put` a bound
 * on the byte offsets a part may touch (a part is paid by the revision
 * that registered its object, so there is nothing to meter);
 * nonce: 16 hex, random per minted token (two tokens minted with the same
 * fields in the same second must not share a budget: v1 tokens had no
 * nonce, and a second paid download found the first one's budget spent);
 * renterPkHash: 40 hex (HASH160 of the renter identity key, for audit
 * logs); mac: 64 hex HMAC-SHA256(K_tok, everything before ".<mac>").
 * K_tok = HKDF-SHA256(ikm = K_admin, salt = "", info = "cc/token"), so
 * whoever holds the admin key (the negotiator) mints tokens offline.
 */

import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'crypto';
import { StorageError } from './errors';

/** Operations a token can grant. */
export type TokenOp = 'get' | 'put';

/** The fields of a token. */
export interface TokenFields {
  contract: string;
  op: TokenOp;
  object: number;
  notAfter: number;
  maxBytes: number;
  /** 16 lowercase hex; `mintToken` draws a random one when absent. */
  nonce?: string;
  renterPkHash: string;
}

/**
 * The object of a `get` token that reads every data object of its contract
 * (never the manifest) against one budget: an audit reads 16 leaves across
 * objects with one token (docs/MARKET.md). Data object ids stop at 2^32-2.
 */
export const ALL_OBJECTS = 0xffffffff;

/** Longest token string we parse (bounds work on hostile headers). */
export const MAX_TOKEN_LENGTH = 256;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const DEC = /^(0|[1-9][0-9]{0,15})$/;

/** K_tok from the file server's admin key. */
export function deriveTokenKey(adminKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', adminKey, Buffer.alloc(0), Buffer.from('cc/token', 'ascii'), 32));
}

function body(f: TokenFields & { nonce: string }): string {
  return ['v2', f.contract, f.op, f.object, f.notAfter, f.maxBytes, f.nonce, f.renterPkHash].join('.');
}

function checkFields(f: TokenFields): void {
  if (!HEX64.test(f.contract))
    throw new StorageError('bad-token', 'contract must be 64 lowercase hex');
  if (f.op !== 'get' && f.op !== 'put')
    throw new StorageError('bad-token', 'op must be get or put');
  if (!Number.isSafeInteger(f.object) || f.object < 0 || f.object > 0xffffffff)
    throw new StorageError('bad-token', 'object must be a u32');
  // [REJECT] an upload names one object: its offsets are bounded per object
  if (f.op === 'put' && f.object === ALL_OBJECTS)
    throw new StorageError('bad-token', 'a put token names one object');
  if (!Number.isSafeInteger(f.notAfter) || f.notAfter < 0)
    throw new StorageError('bad-token', 'notAfter must be unix seconds');
  if (!Number.isSafeInteger(f.maxBytes) || f.maxBytes < 0)
    throw new StorageError('bad-token', 'maxBytes must be a non-negative integer');
  if (f.nonce !== undefined && !HEX16.test(f.nonce))
    throw new StorageError('bad-token', 'nonce must be 16 lowercase hex');
  if (!HEX40.test(f.renterPkHash))
    throw new StorageError('bad-token', 'renterPkHash must be 40 lowercase hex');
}

/** Mints a token with K_tok. */
export function mintToken(tokenKey: Buffer, fields: TokenFields): string {
  checkFields(fields);
  const b = body({ ...fields, nonce: fields.nonce ?? randomBytes(8).toString('hex') });
  return `${b}.${createHmac('sha256', tokenKey).update(b).digest('hex')}`;
}

/** Parses a token's fields without checking its MAC. */
export function parseToken(token: string): TokenFields & { nonce: string; mac: string } {
  if (token.length > MAX_TOKEN_LENGTH)
    throw new StorageError('bad-token', 'token too long');
  const parts = token.split('.');
  if (parts.length !== 9 || parts[0] !== 'v2')
    throw new StorageError('bad-token', 'token is not v2 with 9 fields');
  const [, contract, op, object, notAfter, maxBytes, nonce, renterPkHash, mac] = parts;
  if (!HEX16.test(nonce))
    throw new StorageError('bad-token', 'nonce must be 16 lowercase hex');
  if (!DEC.test(object) || !DEC.test(notAfter) || !DEC.test(maxBytes))
    throw new StorageError('bad-token', 'token numbers must be decimal');
  if (!HEX64.test(mac))
    throw new StorageError('bad-token', 'token mac must be 64 hex');
  const fields = {
    contract,
    op: op as TokenOp,
    object: Number(object),
    notAfter: Number(notAfter),
    maxBytes: Number(maxBytes),
    nonce,
    renterPkHash
  };
  checkFields(fields);
  return { ...fields, mac };
}

/**
 * A token's identity: its MAC, unique per minted token (its nonce) (what a server keys
 * the token's byte budget by). Call on a verified token.
 */
export function tokenId(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

/** Parses and authenticates a token; throws StorageError `bad-token`. Expiry is the caller's check. */
export function verifyToken(tokenKey: Buffer, token: string): TokenFields {
  const t = parseToken(token);
  const want = createHmac('sha256', tokenKey).update(body(t)).digest();
  if (!timingSafeEqual(want, Buffer.from(t.mac, 'hex')))
    throw new StorageError('bad-token', 'token mac does not verify');
  const { mac: _mac, ...fields } = t;
  return fields;
}
