/*!
 * channel.ts - the pay-per-proof payment channel over a contract's escrow.
 *
 * After each passed audit the renter signs a new state: a spend of the
 * escrow whose output 0 returns the renter's remainder (escrowValue - paid)
 * to P2WPKH(renterEscrowKey), signed SIGHASH_SINGLE|ANYONECANPAY, so the
 * host can add its payout, its fee and its own inputs when it closes: no
 * RBF or package relay needed (bcoin 1.0.2 has neither). When the
 * remainder would be dust the renter signs NONE|ANYONECANPAY instead and
 * the host takes the whole escrow. BIP143 commits to the version, the
 * locktime and input 0's sequence, so the skeleton fixes them: version 2,
 * locktime 0, sequence 0xffffffff.
 *
 * ChannelState encoding (docs/PROTOCOL.md 3.8), 113 bytes:
 *   contractId(32) number(u64) paid(u64) sighashType(u8) renterSig(64, compact r||s, low S)
 */

import bio = require('bufio');
import secp256k1 = require('bcrypto/lib/secp256k1');
import bcoin = require('../bcoin');
import { ZERO_HASH, ZERO_SIG } from '../base/consts';
import * as common from './common';
import { ContractError, enforce } from './errors';
import { cooperativeWitness, payoutScript } from './escrow';
import type { StorageContract } from './storagecontract';

const { MTX, Script } = bcoin;

/** Channel state encoding size (bytes). */
export const CHANNEL_STATE_SIZE = 32 + 8 + 8 + 1 + 64;

/** Sighash types a renter may sign a state with. */
export const stateSighash = {
  /** Output 0 (the renter's remainder) fixed, anyone may add inputs and outputs. */
  SINGLE: Script.hashType.SINGLE | Script.hashType.ANYONECANPAY,
  /** No output fixed: only when the renter's remainder would be dust. */
  NONE: Script.hashType.NONE | Script.hashType.ANYONECANPAY
} as const;

/** Smallest P2WPKH output relayed (bcoin policy at 1 sat/vB, notes section 7). */
export const P2WPKH_DUST = 294;


/** One signed state of a contract's channel. */
export class ChannelState extends bio.Struct {
  contractId: Buffer = ZERO_HASH;
  /** Strictly increasing per contract. */
  number = 0;
  /** Cumulative sat paid to the host by this state. */
  paid = 0;
  sighashType: number = stateSighash.SINGLE;
  /** The renter escrow key's compact signature (r || s, low S). */
  renterSig: Buffer = ZERO_SIG;

  getSize(): number {
    return CHANNEL_STATE_SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.contractId);
    bw.writeU64(this.number);
    bw.writeU64(this.paid);
    bw.writeU8(this.sighashType);
    bw.writeBytes(this.renterSig);
    return bw;
  }

  read(br: bio.BufferReader): this {
    // [REJECT] truncated: fixed size, checked once
    if (br.left() < CHANNEL_STATE_SIZE)
      throw new ContractError('bad-state-encoding', 'truncated channel state');
    this.contractId = br.readBytes(32);
    this.number = readU64(br);
    this.paid = readU64(br);
    this.sighashType = br.readU8();
    this.renterSig = br.readBytes(64);
    // [REJECT] a sighash type other than SINGLE|ACP and NONE|ACP
    if (this.sighashType !== stateSighash.SINGLE && this.sighashType !== stateSighash.NONE)
      throw new ContractError('bad-state-encoding', 'bad sighash type');
    // [REJECT] an amount above MAX_MONEY
    if (this.paid > common.MAX_MONEY)
      throw new ContractError('bad-state-encoding', 'paid above MAX_MONEY');
    return this;
  }

  /** Decode exactly one state; trailing bytes are an error. */
  decode(data: Buffer): this {
    // [REJECT] not exactly one state
    if (data.length !== CHANNEL_STATE_SIZE)
      throw new ContractError('bad-state-encoding', `channel state must be ${CHANNEL_STATE_SIZE} bytes`);
    return this.read(bio.read(data));
  }

  getJSON(): Record<string, unknown> {
    return {
      contractId: this.contractId.toString('hex'),
      number: this.number,
      paid: this.paid,
      sighashType: this.sighashType,
      renterSig: this.renterSig.toString('hex')
    };
  }
}

function readU64(br: bio.BufferReader): number {
  try {
    return br.readU64();
  } catch {
    throw new ContractError('bad-state-encoding', 'u64 above 2^53');
  }
}

/** The renter's payout script: P2WPKH of its escrow key (a key of its wallet). */
export function renterPayoutScript(contract: StorageContract): bcoin.Script {
  return payoutScript(contract.renterEscrowKey);
}

/** Sighash type a state paying `paid` must use: NONE only when the remainder is dust. */
export function sighashFor(contract: StorageContract, paid: number): number {
  return contract.escrowValue - paid < P2WPKH_DUST ? stateSighash.NONE : stateSighash.SINGLE;
}

/**
 * The part of the spend a renter signs: version 2, locktime 0, input 0 the
 * escrow (sequence 0xffffffff), and for SINGLE output 0 = the remainder.
 */
export function stateSkeleton(contract: StorageContract, escrow: bcoin.Coin, paid: number,
  sighashType: number): bcoin.MTX {
  const mtx = new MTX();
  mtx.version = 2;
  mtx.locktime = 0;
  mtx.addCoin(escrow);
  mtx.inputs[0].sequence = 0xffffffff;
  if (sighashType === stateSighash.SINGLE)
    mtx.addOutput(renterPayoutScript(contract), contract.escrowValue - paid);
  return mtx;
}

function checkAmount(contract: StorageContract, escrow: bcoin.Coin, paid: number): void {
  // [REJECT] the coin is not this contract's escrow
  enforce(escrow.value === contract.escrowValue
    && escrow.script.toRaw().equals(contract.escrowOutputScript().toRaw()), 'state-wrong-escrow');
  // [REJECT] paying more than the escrow holds, or a negative amount
  enforce(Number.isSafeInteger(paid) && paid >= 0 && paid <= contract.escrowValue, 'state-bad-amount');
}

/** The renter signs state `number` paying the host `paid` sat in total. */
export function signState(contract: StorageContract, escrow: bcoin.Coin, number: number, paid: number,
  renterEscrowPrivateKey: Buffer): ChannelState {
  checkAmount(contract, escrow, paid);
  const type = sighashFor(contract, paid);
  const mtx = stateSkeleton(contract, escrow, paid, type);
  const hash = mtx.signatureHash(0, contract.escrowScript(), escrow.value, type, 1);
  const state = new ChannelState();
  state.contractId = contract.hash();
  state.number = number;
  state.paid = paid;
  state.sighashType = type;
  state.renterSig = secp256k1.sign(hash, renterEscrowPrivateKey);
  return state;
}

/**
 * Host-side check of a state: this contract, this escrow, an amount within
 * it, the sighash the amount calls for, and a low-S signature by the
 * renter's escrow key over the skeleton. Throws ContractError.
 */
export function verifyState(contract: StorageContract, escrow: bcoin.Coin, state: ChannelState): void {
  // [REJECT] a state of another contract
  enforce(state.contractId.equals(contract.hash()), 'state-wrong-contract');
  checkAmount(contract, escrow, state.paid);
  // [REJECT] NONE only when the remainder is dust (else the renter would give up its surplus)
  enforce(state.sighashType === sighashFor(contract, state.paid), 'state-bad-sighash');
  const mtx = stateSkeleton(contract, escrow, state.paid, state.sighashType);
  const hash = mtx.signatureHash(0, contract.escrowScript(), escrow.value, state.sighashType, 1);
  // [REJECT] high S or a signature that does not verify
  enforce(secp256k1.isLowS(state.renterSig) && secp256k1.verify(hash, state.renterSig, contract.renterEscrowKey),
    'state-bad-sig');
}

/** What a host close pays: the host's output, the renter's and the fee (sat). */
export interface CloseAmounts {
  renter: number;
  host: number;
  fee: number;
}

/** Options of buildCloseTX. */
export interface CloseOptions {
  /** Where the host's payout goes. */
  payout: bcoin.Address;
  /** sat/kvB, at least 1 sat/vB. */
  rate: number;
  /** A wallet coin (P2WPKH) and its key, added when the payout cannot pay the fee. */
  feeCoin?: { coin: bcoin.Coin; ring: bcoin.KeyRing };
}

/**
 * The host's close with the latest state: input 0 the escrow with witness
 * [renterSig, hostSig(ALL), 01, script]; output 0 the renter's remainder
 * (SINGLE), then the host's payout less the fee, which the host pays from
 * its payout, or from `feeCoin` (returned as change) when the payout would
 * be dust after the fee. Throws ContractError `close-needs-funding` when
 * neither can pay.
 */
export function buildCloseTX(contract: StorageContract, escrow: bcoin.Coin, state: ChannelState,
  hostEscrowPrivateKey: Buffer, options: CloseOptions): { tx: bcoin.MTX; amounts: CloseAmounts } {
  verifyState(contract, escrow, state);
  const script = contract.escrowScript();
  const renterSig = Buffer.concat([secp256k1.toDER(state.renterSig), Buffer.from([state.sighashType])]);
  const renter = state.sighashType === stateSighash.SINGLE ? contract.escrowValue - state.paid : 0;
  const build = (fee: number, withCoin: boolean): bcoin.MTX | null => {
    const mtx = stateSkeleton(contract, escrow, state.paid, state.sighashType);
    const extra = withCoin && options.feeCoin ? options.feeCoin.coin.value : 0;
    const value = escrow.value - renter + extra - fee;
    // [REJECT] a payout the network would not relay
    if (value < P2WPKH_DUST)
      return null;
    if (withCoin && options.feeCoin)
      mtx.addCoin(options.feeCoin.coin);
    mtx.addOutput(options.payout, value);
    const hostSig = mtx.signature(0, script, escrow.value, hostEscrowPrivateKey, Script.hashType.ALL, 1);
    mtx.inputs[0].witness.fromItems(cooperativeWitness(renterSig, hostSig, script));
    if (withCoin && options.feeCoin)
      mtx.sign(options.feeCoin.ring);
    return mtx;
  };
  // Sign once with no fee to measure (+1 vB for DER jitter), then with the fee.
  const feeOf = (vsize: number): number => Math.max(Math.ceil((vsize + 1) * options.rate / 1000), vsize + 1);
  for (const withCoin of options.feeCoin ? [false, true] : [false]) {
    const draft = build(0, withCoin);
    if (!draft)
      continue;
    const fee = feeOf(draft.getVirtualSize());
    const mtx = build(fee, withCoin);
    if (mtx)
      return { tx: mtx, amounts: { renter, host: escrow.value - renter - fee, fee } };
  }
  throw new ContractError('close-needs-funding', 'the payout cannot pay the close fee; add a wallet coin');
}
