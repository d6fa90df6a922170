/*!
 * consts.ts - constants more than one subsystem needs, each defined once.
 *
 * A value that two folders compare against must not be two literals that
 * can drift apart; anything only one subsystem uses stays in its common.ts.
 */

/** Service bit of CloudStorage peers in `version` (DESIGN 4; bitcoind protocol.h reserves bits 24-31 for experiments). */
export const NODE_CLOUDSTORAGE = (1 << 24) >>> 0;

/** Bitcoin's MAX_MONEY, 21M BTC in satoshis (bitcoind amount.h): no amount may exceed it. */
export const MAX_MONEY = 21e6 * 1e8;

/** Compressed secp256k1 public key: identities are always compressed. */
export const PUBKEY_SIZE = 33;

/** Compact signature r || s, low S (lib/base/identity.ts). */
export const SIG_SIZE = 64;

/** SHA256 / tagged hash size. */
export const HASH_SIZE = 32;

/**
 * All-zero fields, the "unset" value of a fresh struct (STYLE: constructors
 * give every field a zero value). Shared and never written: replace, don't fill.
 */
/** 33 bytes: an unset compressed public key. */
export const ZERO_KEY: Buffer = Buffer.alloc(33);
/** 32 bytes: an unset hash, txid or id. */
export const ZERO_HASH: Buffer = Buffer.alloc(32);
/** 64 bytes: an unset compact signature. */
export const ZERO_SIG: Buffer = Buffer.alloc(64);
/** 16 bytes: an unset negotiator nonce (PROTOCOL 2). */
export const ZERO_NONCE: Buffer = Buffer.alloc(16);
