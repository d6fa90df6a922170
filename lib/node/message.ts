/*!
 * message.ts - signmessage / verifymessage as Bitcoin Core does them.
 *
 * bcoin 1.0.2 gets both wrong: it hashes the magic and the message without
 * their length prefixes, signs a DER signature (not the 65-byte recoverable
 * one), and verifies by recovering with recovery id 0 only, so about half
 * of its own signatures fail. Core's format (src/util/message.cpp): the
 * hash is SHA256d(varstr("Bitcoin Signed Message:\n") || varstr(message));
 * the signature is base64 of a header byte and r || s, the header being
 * 27 + recovery id, + 4 for a compressed key. Segwit addresses follow
 * BIP137: 35-38 for P2SH-P2WPKH, 39-42 for P2WPKH, which Core's own
 * arithmetic (recid = (h - 27) & 3, compressed = (h - 27) & 4) also reads.
 */

import { createHash } from 'crypto';
import bcoin = require('../bcoin');
import secp256k1 = require('bcrypto/lib/secp256k1');
import { RPCError, rpcCodes } from '../base/errors';

/** Core's MESSAGE_MAGIC (src/util/message.cpp). */
export const MESSAGE_MAGIC = 'Bitcoin Signed Message:\n';
/** Header byte bases: P2PKH (uncompressed; +4 compressed), P2SH-P2WPKH, P2WPKH (BIP137). */
const HEADER_P2PKH = 27;
const HEADER_P2SH_P2WPKH = 35;
const HEADER_P2WPKH = 39;
const HEADER_MAX = 42;

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function hash160(data: Buffer): Buffer {
  return createHash('ripemd160').update(sha256(data)).digest();
}

/** Bitcoin's CompactSize length prefix, then the bytes. */
function varstr(data: Buffer): Buffer {
  const n = data.length;
  let prefix: Buffer;
  if (n < 0xfd) {
    prefix = Buffer.from([n]);
  } else if (n <= 0xffff) {
    prefix = Buffer.alloc(3);
    prefix[0] = 0xfd;
    prefix.writeUInt16LE(n, 1);
  } else {
    prefix = Buffer.alloc(5);
    prefix[0] = 0xfe;
    prefix.writeUInt32LE(n, 1);
  }
  return Buffer.concat([prefix, data]);
}

/** The 32-byte hash a message signature covers. */
export function messageHash(message: string): Buffer {
  const data = Buffer.concat([varstr(Buffer.from(MESSAGE_MAGIC, 'utf8')), varstr(Buffer.from(message, 'utf8'))]);
  return sha256(sha256(data));
}

/** Which address kind a signature's header claims for its key. */
export type MessageKeyType = 'p2pkh' | 'p2sh-p2wpkh' | 'p2wpkh';

/**
 * Sign `message` with a private key: base64 of 65 bytes (header, r, s).
 * @param compressed whether the key's address uses the compressed public key
 * @param type the address kind, for the header (BIP137)
 */
export function signMessage(message: string, privateKey: Buffer, compressed = true, type: MessageKeyType = 'p2pkh'): string {
  const hash = messageHash(message);
  const sig = secp256k1.sign(hash, privateKey);
  const pub = secp256k1.publicKeyCreate(privateKey, compressed);
  let recid = -1;
  for (let i = 0; i < 4; i++) {
    const key = secp256k1.recover(hash, sig, i, compressed);
    if (key && key.equals(pub)) {
      recid = i;
      break;
    }
  }
  if (recid < 0)
    throw new Error('Could not find the recovery id of a fresh signature.');
  const base = type === 'p2wpkh' ? HEADER_P2WPKH : type === 'p2sh-p2wpkh' ? HEADER_P2SH_P2WPKH
    : HEADER_P2PKH + (compressed ? 4 : 0);
  if (type !== 'p2pkh' && !compressed)
    throw new Error('Segwit addresses need a compressed key.');
  return Buffer.concat([Buffer.from([base + recid]), sig]).toString('base64');
}

/** The compressed key's P2WPKH program inside P2SH: OP_0 PUSH20 <hash160(pub)>. */
function nestedHash(pub: Buffer): Buffer {
  return hash160(Buffer.concat([Buffer.from([0x00, 0x14]), hash160(pub)]));
}

/**
 * True if `signature` (base64) signs `message` for `address`. An address
 * that cannot hold a single key throws RPCError TYPE_ERROR, a signature
 * that is not base64 RPCError TYPE_ERROR, as Core does; a well-formed
 * signature that does not match is false.
 */
export function verifyMessage(address: bcoin.Address, signature: string, message: string): boolean {
  if (!address.isPubkeyhash() && !address.isWitnessPubkeyhash() && !address.isScripthash())
    throw new RPCError(rpcCodes.TYPE_ERROR, 'Address does not refer to key');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(signature) || signature.length % 4 !== 0)
    throw new RPCError(rpcCodes.TYPE_ERROR, 'Malformed base64 encoding');
  const raw = Buffer.from(signature, 'base64');
  if (raw.length !== 65)
    return false;
  const header = raw[0];
  if (header < HEADER_P2PKH || header > HEADER_MAX)
    return false;
  const recid = (header - HEADER_P2PKH) & 3;
  const compressed = ((header - HEADER_P2PKH) & 4) !== 0;
  const pub = secp256k1.recover(messageHash(message), raw.subarray(1), recid, compressed);
  if (!pub)
    return false;
  const hash = address.getHash() as Buffer;
  if (address.isPubkeyhash())
    return hash160(pub).equals(hash);
  if (!compressed)
    return false;
  if (address.isWitnessPubkeyhash())
    return hash160(pub).equals(hash);
  return nestedHash(pub).equals(hash);
}

/** The key type to put in a signature's header for `address`. */
export function keyTypeOf(address: bcoin.Address): MessageKeyType {
  if (address.isWitnessPubkeyhash())
    return 'p2wpkh';
  if (address.isScripthash())
    return 'p2sh-p2wpkh';
  return 'p2pkh';
}
