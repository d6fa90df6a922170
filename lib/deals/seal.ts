/*!
 * seal.ts - encrypt tokens between two identities (DESIGN 7).
 *
 * Data tokens let anyone holding them read or write a contract's objects,
 * and csres travels in clear over P2P, so tokens are sealed to the renter:
 * key = TH("cc/seal/0", ECDH(host, renter) || context), AES-256-GCM with a
 * random 12-byte nonce; sealed = nonce || ciphertext || tag. `context`
 * (the contract id) binds a sealed token to its contract.
 */

import { createCipheriv, createDecipheriv, randomBytes } from 'crypto';
import { taggedHash } from '../base/hash';
import type { Identity } from '../base/identity';
import { PacketError } from '../base/errors';
import { SEAL_TAG } from './common';

const NONCE = 12;
const TAG = 16;

function sealKey(me: Identity, other: Buffer, context: Buffer): Buffer {
  return taggedHash(SEAL_TAG, me.sharedSecret(other), context);
}

export function seal(me: Identity, other: Buffer, context: Buffer, plain: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', sealKey(me, other, context), nonce);
  return Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
}

/** Open a sealed blob; throws PacketError('bad-seal') if it was tampered with. */
export function unseal(me: Identity, other: Buffer, context: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < NONCE + TAG)
    throw new PacketError('bad-seal', 'reject', 10);
  const d = createDecipheriv('aes-256-gcm', sealKey(me, other, context), sealed.subarray(0, NONCE));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]);
  } catch {
    throw new PacketError('bad-seal', 'reject', 10);
  }
}
