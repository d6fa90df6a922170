/*!
 * hash.ts - tagged hashes: every signed or committed CloudCoin hash.
 *
 * TH(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m) (BIP340 style), so
 * no CloudCoin signature can double as a Bitcoin sighash signature and no
 * two kinds of object can collide.
 */

import { createHash, Hash } from 'crypto';
import bio = require('bufio');

const prefixes = new Map<string, Buffer>();

function tagPrefix(tag: string): Buffer {
  let prefix = prefixes.get(tag);
  if (!prefix) {
    const t = createHash('sha256').update(tag, 'utf8').digest();
    prefix = Buffer.concat([t, t]);
    prefixes.set(tag, prefix);
  }
  return prefix;
}

/** TH(tag, ...parts). */
export function taggedHash(tag: string, ...parts: Buffer[]): Buffer {
  const h = createHash('sha256').update(tagPrefix(tag));
  for (const part of parts)
    h.update(part);
  return h.digest();
}

/** A streaming tagged hash, for messages built piece by piece. */
export function taggedHasher(tag: string): Hash {
  return createHash('sha256').update(tagPrefix(tag));
}

/** An object with a canonical unsigned encoding (packets, offers). */
export interface UnsignedEncoding {
  getUnsignedSize(): number;
  writeUnsigned(bw: bio.Writer): bio.Writer;
}

/** TH(tag, ...prefix || unsigned encoding): the hash an object's signature covers. */
export function signingHash(obj: UnsignedEncoding, tag: string, ...prefix: Buffer[]): Buffer {
  const bw = bio.write(obj.getUnsignedSize());
  obj.writeUnsigned(bw);
  return taggedHash(tag, ...prefix, bw.render());
}

/**
 * SHA256(tag) || SHA256(tag) || ...prefix || unsigned encoding: what the
 * single SHA256 of `signingHash` runs over (a verifier that hashes the
 * message itself, lib/base/identity.ts verifyIdentityMessage, takes it).
 */
export function signingPreimage(obj: UnsignedEncoding, tag: string, ...prefix: Buffer[]): Buffer {
  const bw = bio.write(obj.getUnsignedSize());
  obj.writeUnsigned(bw);
  return Buffer.concat([tagPrefix(tag), ...prefix, bw.render()]);
}

/** Tags in use; each names what it commits to. */
export const tags = {
  CONTRACT: 'cc/contract/0',
  ENVELOPE: 'cc/env/0',
  RESPONSE: 'cc/res/0',
  ANNOUNCE: 'cc/announce/0',
  /** Host announcements with P2P addresses and flags (`csannounce2`). */
  ANNOUNCE2: 'cc/announce/1',
  AUTH: 'cc/auth/0',
  LEAF: 'cc/leaf',
  NODE: 'cc/node',
  OFFER: 'cc/offer/0',
  SEAL: 'cc/seal/0',
  STORAGE_MASTER: 'cc/storage-master/0',
  OBJECT: 'cc/object/0',
  REVISION: 'cc/revision/0'
} as const;
