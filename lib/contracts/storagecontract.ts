/*!
 * storagecontract.ts - the storage contract both parties sign.
 *
 * Fixed-size encoding (docs/PROTOCOL.md 3.1): the unsigned part, then the
 * renter's and the host's 64-byte compact signatures over the contract id,
 * id = TH("cc/contract/0", unsigned encoding). An unsigned slot is zeros.
 */

import bio = require('bufio');
import secp256k1 = require('bcrypto/lib/secp256k1');
import bcoin = require('../bcoin');
import { taggedHash, tags } from '../base/hash';
import { Identity, verifyIdentitySig } from '../base/identity';
import { ZERO_HASH, ZERO_KEY, ZERO_SIG } from '../base/consts';
import * as common from './common';
import { ContractError, enforce } from './errors';
import { escrowScript, escrowOutputScript } from './escrow';

/** Options accepted by the constructor and fromOptions. */
export interface StorageContractOptions {
  version?: number;
  network?: number;
  renterKey?: Buffer;
  hostKey?: Buffer;
  renterEscrowKey?: Buffer;
  hostEscrowKey?: Buffer;
  root?: Buffer;
  size?: number;
  startHeight?: number;
  endHeight?: number;
  auditInterval?: number;
  escrowValue?: number;
  holdback?: number;
  refundHeight?: number;
  expiryHeight?: number;
  storagePrice?: number;
  uploadPrice?: number;
  downloadPrice?: number;
  prevId?: Buffer;
  renterSig?: Buffer;
  hostSig?: Buffer;
}

/** JSON form (hex strings for bytes). */
export interface StorageContractJSON {
  id?: string;
  version: number;
  network: number;
  renterKey: string;
  hostKey: string;
  renterEscrowKey: string;
  hostEscrowKey: string;
  root: string;
  size: number;
  startHeight: number;
  endHeight: number;
  auditInterval: number;
  escrowValue: number;
  holdback: number;
  refundHeight: number;
  expiryHeight: number;
  storagePrice: number;
  uploadPrice: number;
  downloadPrice: number;
  prevId: string;
  renterSig: string;
  hostSig: string;
}

/** A storage contract between a renter and a host. */
export class StorageContract extends bio.Struct {
  version = common.CONTRACT_VERSION;
  /** Network magic (u32), so a contract cannot be replayed across networks. */
  network = 0;
  renterKey: Buffer = ZERO_KEY;
  hostKey: Buffer = ZERO_KEY;
  renterEscrowKey: Buffer = ZERO_KEY;
  hostEscrowKey: Buffer = ZERO_KEY;
  /**
   * Revision 0's object-tree root (objecttree.ts): the objects the contract
   * is formed with (a renewal: the renewed contract's latest objects).
   */
  root: Buffer = ZERO_HASH;
  /** Revision 0's total object bytes. */
  size = 0;
  startHeight = 0;
  endHeight = 0;
  /** Blocks between audits. */
  auditInterval = 0;
  /**
   * Sats locked in the escrow output: the allowance, which pays everything
   * stored and moved under the contract (lib/deals/accrual.ts).
   */
  escrowValue = 0;
  /** Share of each payment held back until the final state (bps). */
  holdback = 0;
  /** CLTV height after which the renter alone may spend the escrow. */
  refundHeight = 0;
  /** The commit must confirm at or before this height. */
  expiryHeight = 0;
  /** sat per GiB per 1000 blocks. */
  storagePrice = 0;
  /** sat per GiB. */
  uploadPrice = 0;
  /** sat per GiB. */
  downloadPrice = 0;
  /** Contract this one renews, else zero. */
  prevId: Buffer = ZERO_HASH;
  renterSig: Buffer = ZERO_SIG;
  hostSig: Buffer = ZERO_SIG;

  constructor(options?: StorageContractOptions) {
    super();
    if (options)
      this.fromOptions(options);
  }

  fromOptions(options: StorageContractOptions): this {
    Object.assign(this, Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined)));
    return this;
  }

  getSize(): number {
    return common.CONTRACT_SIZE;
  }

  /** Write the signed-over part. */
  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeU8(this.version);
    bw.writeU32(this.network);
    bw.writeBytes(this.renterKey);
    bw.writeBytes(this.hostKey);
    bw.writeBytes(this.renterEscrowKey);
    bw.writeBytes(this.hostEscrowKey);
    bw.writeBytes(this.root);
    bw.writeU64(this.size);
    bw.writeU32(this.startHeight);
    bw.writeU32(this.endHeight);
    bw.writeU32(this.auditInterval);
    bw.writeU64(this.escrowValue);
    bw.writeU16(this.holdback);
    bw.writeU32(this.refundHeight);
    bw.writeU32(this.expiryHeight);
    bw.writeU64(this.storagePrice);
    bw.writeU64(this.uploadPrice);
    bw.writeU64(this.downloadPrice);
    bw.writeBytes(this.prevId);
    return bw;
  }

  write(bw: bio.Writer): bio.Writer {
    this.writeUnsigned(bw);
    bw.writeBytes(this.renterSig);
    bw.writeBytes(this.hostSig);
    return bw;
  }

  read(br: bio.BufferReader): this {
    // Fixed size: check once before reading anything.
    if (br.left() < common.CONTRACT_SIZE)
      throw new ContractError('bad-contract-encoding', 'truncated contract');
    this.version = br.readU8();
    this.network = br.readU32();
    this.renterKey = br.readBytes(33);
    this.hostKey = br.readBytes(33);
    this.renterEscrowKey = br.readBytes(33);
    this.hostEscrowKey = br.readBytes(33);
    this.root = br.readBytes(32);
    this.size = readU64(br);
    this.startHeight = br.readU32();
    this.endHeight = br.readU32();
    this.auditInterval = br.readU32();
    this.escrowValue = readU64(br);
    this.holdback = br.readU16();
    this.refundHeight = br.readU32();
    this.expiryHeight = br.readU32();
    this.storagePrice = readU64(br);
    this.uploadPrice = readU64(br);
    this.downloadPrice = readU64(br);
    this.prevId = br.readBytes(32);
    this.renterSig = br.readBytes(64);
    this.hostSig = br.readBytes(64);
    return this;
  }

  /** Decode exactly one contract; trailing bytes are an error. */
  decode(data: Buffer): this {
    if (data.length !== common.CONTRACT_SIZE)
      throw new ContractError('bad-contract-encoding', `contract must be ${common.CONTRACT_SIZE} bytes`);
    return this.read(new bio.BufferReader(data));
  }

  /** The unsigned encoding (what the id commits to). */
  encodeUnsigned(): Buffer {
    return this.writeUnsigned(bio.write(common.CONTRACT_UNSIGNED_SIZE)).render();
  }

  /** Contract id: TH("cc/contract/0", unsigned encoding). */
  hash(): Buffer {
    return taggedHash(tags.CONTRACT, this.encodeUnsigned());
  }

  /** Contract id as hex. */
  id(): string {
    return this.hash().toString('hex');
  }

  /** The escrow witness script. */
  escrowScript(): bcoin.Script {
    return escrowScript(this.hostEscrowKey, this.renterEscrowKey, this.refundHeight);
  }

  /** The escrow output script (P2WSH). */
  escrowOutputScript(): bcoin.Script {
    return escrowOutputScript(this.escrowScript());
  }

  /** Sign as whichever party `identity` is. */
  sign(identity: Identity): this {
    const hash = this.hash();
    if (identity.publicKey.equals(this.renterKey))
      this.renterSig = identity.sign(hash);
    else if (identity.publicKey.equals(this.hostKey))
      this.hostSig = identity.sign(hash);
    else
      throw new ContractError('contract-not-party', 'identity is neither renter nor host');
    return this;
  }

  hasRenterSig(): boolean {
    return !this.renterSig.equals(ZERO_SIG);
  }

  hasHostSig(): boolean {
    return !this.hostSig.equals(ZERO_SIG);
  }

  isSigned(): boolean {
    return this.hasRenterSig() && this.hasHostSig();
  }

  verifyRenterSig(): boolean {
    return verifyIdentitySig(this.hash(), this.renterSig, this.renterKey);
  }

  verifyHostSig(): boolean {
    return verifyIdentitySig(this.hash(), this.hostSig, this.hostKey);
  }

  getJSON(): StorageContractJSON {
    return {
      id: this.id(),
      version: this.version,
      network: this.network,
      renterKey: this.renterKey.toString('hex'),
      hostKey: this.hostKey.toString('hex'),
      renterEscrowKey: this.renterEscrowKey.toString('hex'),
      hostEscrowKey: this.hostEscrowKey.toString('hex'),
      root: this.root.toString('hex'),
      size: this.size,
      startHeight: this.startHeight,
      endHeight: this.endHeight,
      auditInterval: this.auditInterval,
      escrowValue: this.escrowValue,
      holdback: this.holdback,
      refundHeight: this.refundHeight,
      expiryHeight: this.expiryHeight,
      storagePrice: this.storagePrice,
      uploadPrice: this.uploadPrice,
      downloadPrice: this.downloadPrice,
      prevId: this.prevId.toString('hex'),
      renterSig: this.renterSig.toString('hex'),
      hostSig: this.hostSig.toString('hex')
    };
  }

  fromJSON(json: unknown): this {
    enforce(typeof json === 'object' && json !== null, 'bad-contract-json', 'not an object');
    const j = json as Record<string, unknown>;
    const bytes = (name: string, size: number): Buffer => {
      const v = j[name];
      enforce(typeof v === 'string' && v.length === size * 2 && /^[0-9a-f]*$/i.test(v),
        'bad-contract-json', `${name} must be ${size} bytes of hex`);
      return Buffer.from(v, 'hex');
    };
    const int = (name: string, max: number): number => {
      const v = j[name];
      enforce(Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max,
        'bad-contract-json', `${name} must be an integer in 0..${max}`);
      return v as number;
    };
    const U32 = 0xffffffff;
    const U64 = Number.MAX_SAFE_INTEGER;
    this.version = int('version', 0xff);
    this.network = int('network', U32);
    this.renterKey = bytes('renterKey', 33);
    this.hostKey = bytes('hostKey', 33);
    this.renterEscrowKey = bytes('renterEscrowKey', 33);
    this.hostEscrowKey = bytes('hostEscrowKey', 33);
    this.root = bytes('root', 32);
    this.size = int('size', U64);
    this.startHeight = int('startHeight', U32);
    this.endHeight = int('endHeight', U32);
    this.auditInterval = int('auditInterval', U32);
    this.escrowValue = int('escrowValue', U64);
    this.holdback = int('holdback', 0xffff);
    this.refundHeight = int('refundHeight', U32);
    this.expiryHeight = int('expiryHeight', U32);
    this.storagePrice = int('storagePrice', U64);
    this.uploadPrice = int('uploadPrice', U64);
    this.downloadPrice = int('downloadPrice', U64);
    this.prevId = bytes('prevId', 32);
    this.renterSig = j.renterSig === undefined ? ZERO_SIG : bytes('renterSig', 64);
    this.hostSig = j.hostSig === undefined ? ZERO_SIG : bytes('hostSig', 64);
    return this;
  }

  static fromOptions(options: StorageContractOptions): StorageContract {
    return new StorageContract(options);
  }
}

/** bufio throws a generic error above 2^53; give it our code. */
function readU64(br: bio.BufferReader): number {
  try {
    return br.readU64();
  } catch {
    throw new ContractError('bad-contract-encoding', 'u64 above 2^53');
  }
}

function isPublicKey(key: Buffer, points: boolean): boolean {
  return key.length === 33 && (key[0] === 2 || key[0] === 3)
    && (!points || secp256k1.publicKeyVerify(key));
}

/** Options for checkSaneContract. */
export interface SaneContractOptions {
  /**
   * Check that every key is a point on the curve (default true). About
   * 0.15 ms a key in bcrypto's JS backend; false checks the prefix only.
   */
  points?: boolean;
}

/**
 * Context-free checks: sizes, ranges, internal consistency. Throws
 * ContractError with a kebab-case code.
 */
export function checkSaneContract(c: StorageContract, options: SaneContractOptions = {}): void {
  const points = options.points !== false;
  // [REJECT] unknown encoding version
  enforce(c.version === common.CONTRACT_VERSION, 'bad-contract-version');
  // [REJECT] any key is not a valid compressed secp256k1 point
  for (const key of [c.renterKey, c.hostKey, c.renterEscrowKey, c.hostEscrowKey])
    enforce(isPublicKey(key, points), 'bad-contract-key');
  // [REJECT] renter and host are the same identity
  enforce(!c.renterKey.equals(c.hostKey), 'bad-contract-parties');
  // [REJECT] escrow keys shared between parties or reused identity keys
  enforce(!c.renterEscrowKey.equals(c.hostEscrowKey)
    && !c.renterEscrowKey.equals(c.renterKey)
    && !c.hostEscrowKey.equals(c.hostKey), 'bad-contract-escrow-keys');
  // [REJECT] empty file or bad root length
  enforce(c.size > 0 && c.root.length === 32, 'bad-contract-size');
  // [REJECT] empty or inverted period
  enforce(c.startHeight < c.endHeight, 'bad-contract-period');
  // [REJECT] audit interval zero or longer than the contract
  enforce(c.auditInterval >= 1 && c.auditInterval <= c.endHeight - c.startHeight,
    'bad-contract-audit-interval');
  // [REJECT] escrow value zero or above MAX_MONEY
  enforce(c.escrowValue > 0 && c.escrowValue <= common.MAX_MONEY, 'bad-contract-escrow-value');
  // [REJECT] holdback above 100%
  enforce(c.holdback <= common.MAX_HOLDBACK_BPS, 'bad-contract-holdback');
  // [REJECT] refund before the end, or not a block-height locktime
  enforce(c.refundHeight > c.endHeight && c.refundHeight < 500000000, 'bad-contract-refund-height');
  // [REJECT] offer expiry missing or not before the end
  enforce(c.expiryHeight > 0 && c.expiryHeight < c.endHeight, 'bad-contract-expiry');
  // [REJECT] a price above MAX_MONEY
  enforce(c.storagePrice <= common.MAX_MONEY && c.uploadPrice <= common.MAX_MONEY
    && c.downloadPrice <= common.MAX_MONEY, 'bad-contract-price');
  // [REJECT] bad prevId length
  enforce(c.prevId.length === 32, 'bad-contract-prev');
}

/** Boolean form of checkSaneContract. */
export function hasSaneContract(c: StorageContract): boolean {
  try {
    checkSaneContract(c);
    return true;
  } catch (e) {
    if (e instanceof ContractError)
      return false;
    throw e;
  }
}

/** Options for verifyContract. */
export interface VerifyContractOptions {
  /** Require both signatures (default true); present ones are always checked. */
  requireSigs?: boolean;
}

/** The network rules of verifyContract that need no height. */
function checkNetworkRules(c: StorageContract, network: bcoin.Network, params: common.ContractParams): void {
  // [REJECT] contract for another network
  enforce(c.network === network.magic, 'bad-contract-network');
  // [REJECT] the host gets less than W blocks to close before the refund
  enforce(c.refundHeight >= c.endHeight + params.window, 'bad-contract-refund-height');
  // [REJECT] longer than the maximum span (renew instead)
  enforce(c.refundHeight - c.startHeight <= params.maxSpan, 'contract-too-long');
  // [REJECT] escrow too small to pay for its own close
  enforce(c.escrowValue >= common.minEscrowValue(network), 'bad-contract-escrow-value');
}

/**
 * Contextual checks against a network and the height of the block that
 * would include the commit. Throws ContractError.
 */
export function verifyContract(c: StorageContract, height: number, network: bcoin.Network,
  options: VerifyContractOptions = {}): void {
  const params = common.getParams(network);
  checkSaneContract(c);
  checkNetworkRules(c, network, params);
  // [REJECT] the refund lock runs more than maxSpan past the commit: binds
  // the cap to the chain, since startHeight is only what the parties wrote
  enforce(c.refundHeight - height <= params.maxSpan, 'contract-too-long');
  // [REJECT] offer expired: the commit must confirm at or before expiryHeight
  enforce(height <= c.expiryHeight, 'contract-offer-expired');
  const requireSigs = options.requireSigs !== false;
  // [REJECT] missing signatures
  enforce(!requireSigs || c.isSigned(), 'contract-unsigned');
  // [REJECT] a signature that does not verify under the party's identity key
  enforce(!c.hasRenterSig() || c.verifyRenterSig(), 'bad-contract-renter-sig');
  enforce(!c.hasHostSig() || c.verifyHostSig(), 'bad-contract-host-sig');
}

/**
 * What verifyContract checks without a height and without curve
 * arithmetic: keys by prefix only, signatures for presence only. Costs
 * microseconds, so a record whose commit is not known yet can be screened
 * before it is kept; verifyContract runs in full once the commit is known.
 */
export function checkContractCheap(c: StorageContract, network: bcoin.Network): void {
  checkSaneContract(c, { points: false });
  checkNetworkRules(c, network, common.getParams(network));
  // [REJECT] missing signatures
  enforce(c.isSigned(), 'contract-unsigned');
}
