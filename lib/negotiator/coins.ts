/*!
 * coins.ts - coin credentials (decloud: "I will only deal with nodes who
 * can prove ownership of at least one bitcoin"): a client proves it
 * controls confirmed coins by signing, with each coin's key, a message
 * bound to one request; the server checks each proof against its UTXO set
 * and counts the value of coins at least AGE blocks deep (PROTOCOL 2.11).
 *
 * A proof (133 bytes): outpoint txid (32, internal order) || index u32 LE
 * || pubkey (33, compressed) || sig (64, compact, low S) over
 *   TH("cc/coins/0", magic u32 LE || from || to || nonce || txid || index).
 * `nonce` is the request's, which the server issued to `from` and takes on
 * use, so a proof works for one request only; the envelope's signature
 * covers the proofs, so none can be moved to another request.
 */

import { createHash } from 'crypto';
import bio = require('bufio');
import secp256k1 = require('bcrypto/lib/secp256k1');
import type bcoin = require('../bcoin');
import { taggedHash } from '../base/hash';
import { verifyIdentitySig } from '../base/identity';
import { magicBytes } from '../base/signed';
import { readFixed, readPubkey, readU32, readAmount, writeAmount, checkEnd } from '../base/wire';

/** Tag of a coin proof's message. */
export const COIN_PROOF_TAG = 'cc/coins/0';

/** Bytes of one proof. */
export const COIN_PROOF_SIZE = 32 + 4 + 33 + 64;

/** Most proofs one request carries (each costs the server a signature check and a UTXO lookup). */
export const MAX_COIN_PROOFS = 8;

/** One coin proof. */
export interface CoinProof {
  /** Outpoint txid, internal byte order. */
  hash: Buffer;
  index: number;
  /** The coin's key, compressed. */
  pubkey: Buffer;
  sig: Buffer;
}

/** A coin the server found unspent, with its proof checked. */
export interface VerifiedCoin {
  /** sat */
  value: number;
  /** Confirmations: tip height - coin height + 1. */
  age: number;
}

/** What the server's UTXO set says of an outpoint: null when unspent nowhere (or only in the mempool). */
export type CoinView = (hash: Buffer, index: number) => Promise<{ value: number; height: number; script: bcoin.Script } | null>;

/** The message a proof signs. */
export function proofMessage(magic: number, from: Buffer, to: Buffer, nonce: Buffer, hash: Buffer, index: number): Buffer {
  const i = Buffer.alloc(4);
  i.writeUInt32LE(index >>> 0, 0);
  return taggedHash(COIN_PROOF_TAG, magicBytes(magic), from, to, nonce, hash, i);
}

/** Prove control of coin (hash, index) with its private key, for the request (from, to, nonce). */
export function signProof(magic: number, from: Buffer, to: Buffer, nonce: Buffer, hash: Buffer, index: number,
  privateKey: Buffer): CoinProof {
  const pubkey = secp256k1.publicKeyCreate(privateKey, true);
  return { hash, index, pubkey, sig: secp256k1.sign(proofMessage(magic, from, to, nonce, hash, index), privateKey) };
}

export function writeProof(bw: bio.Writer, p: CoinProof): void {
  bw.writeBytes(p.hash);
  bw.writeU32(p.index);
  bw.writeBytes(p.pubkey);
  bw.writeBytes(p.sig);
}

export function readProof(br: bio.BufferReader): CoinProof {
  return { hash: readFixed(br, 32), index: readU32(br), pubkey: readPubkey(br), sig: readFixed(br, 64) };
}

/** Whether `script` pays `pubkey` alone: P2WPKH or P2PKH of its hash160. */
function paysKey(script: bcoin.Script, pubkey: Buffer): boolean {
  const hash = createHash('ripemd160').update(createHash('sha256').update(pubkey).digest()).digest();
  const raw = script.toRaw();
  const wpkh = Buffer.concat([Buffer.from([0x00, 0x14]), hash]);
  const pkh = Buffer.concat([Buffer.from([0x76, 0xa9, 0x14]), hash, Buffer.from([0x88, 0xac])]);
  return raw.equals(wpkh) || raw.equals(pkh);
}

/**
 * The coins of `proofs` that check out for the request (from, to, nonce):
 * signature by the coin's key, the coin unspent and confirmed in `view`,
 * its script paying that key; an outpoint named twice counts once. A proof
 * that fails any check is left out (the policy then decides), never an
 * error: a coin spent since the client chose it is not an attack.
 */
export async function verifyProofs(proofs: readonly CoinProof[], magic: number, from: Buffer, to: Buffer, nonce: Buffer,
  view: CoinView, tip: number): Promise<VerifiedCoin[]> {
  const out: VerifiedCoin[] = [];
  const seen = new Set<string>();
  for (const p of proofs.slice(0, MAX_COIN_PROOFS)) {
    const key = `${p.hash.toString('hex')}:${p.index}`;
    // [IGNORE] the same coin twice
    if (seen.has(key))
      continue;
    seen.add(key);
    // [IGNORE] a signature that is not the coin key's over this request
    if (!verifyIdentitySig(proofMessage(magic, from, to, nonce, p.hash, p.index), p.sig, p.pubkey))
      continue;
    const coin = await view(p.hash, p.index);
    // [IGNORE] spent, unknown, unconfirmed, or paying another key
    if (!coin || coin.height < 0 || coin.height > tip || !paysKey(coin.script, p.pubkey))
      continue;
    out.push({ value: coin.value, age: tip - coin.height + 1 });
  }
  return out;
}

/** Whether coins at least `age` blocks deep add up to `amount` sat. */
export function coinsCover(coins: readonly VerifiedCoin[], amount: number, age: number): boolean {
  let sum = 0;
  for (const c of coins) {
    if (c.age >= age)
      sum += c.value;
  }
  return sum >= amount;
}

/** What `request-declined/coins-required` asks for. */
export interface CoinNeed {
  /** sat */
  amount: number;
  /** blocks */
  age: number;
}

/** Body of `request-declined/coins-required`: u64 LE amount || u32 LE age. */
export function coinNeedBody(need: CoinNeed): Buffer {
  const bw = bio.write(12);
  writeAmount(bw, need.amount);
  bw.writeU32(need.age);
  return bw.render();
}

/** Read a `coins-required` body; throws PacketError on a malformed one. */
export function readCoinNeed(body: Buffer): CoinNeed {
  const br = bio.read(body);
  const amount = readAmount(br);
  const age = readU32(br);
  checkEnd(br);
  return { amount, age };
}
