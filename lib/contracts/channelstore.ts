/*!
 * channelstore.ts - the host's side of each contract's payment channel:
 * the latest state the renter signed, on disk before anyone is told.
 *
 * One state per contract, and it only moves forward: a state is stored
 * when it verifies against the contract's escrow on chain (verifyState:
 * this escrow, this amount, the sighash the amount calls for, the renter
 * escrow key's signature), its number is above the stored one and it pays
 * at least as much. Each change is one leveldb batch written with sync
 * (fsync) before acceptState resolves, so whatever the host acknowledged
 * survives kill -9 and power loss. The same state sent again (a renter
 * whose acknowledgement was lost) is acknowledged again, not refused.
 *
 * Database `<datadir>/channels` (layout, built with bdb.key):
 *   V        -> db version (bdb's verify record)
 *   s[id]    -> StoredState
 */

import * as path from 'path';
import bio = require('bufio');
import { sizeVarint } from '../negotiator/wire';
import bcoin = require('../bcoin');
import bdb = require('../bdb');
import { ChannelState, CHANNEL_STATE_SIZE, verifyState } from './channel';
import { ContractError, enforce } from './errors';
import { Mutex } from './mutex';
import { writeSync } from './syncwrite';
import type { StorageContract } from './storagecontract';

/** Database version of the channel store. */
export const CHANNEL_DB_VERSION = 0;

const keys = {
  V: bdb.key('V'),
  s: bdb.key('s', ['bhash256'])
};

/** Stored-state flags (u8). */
const FINAL = 1;

/**
 * A state as the host keeps it:
 *   ChannelState(113) || flags u8 (1 = final) || height u32 (tip when accepted)
 *   || prepaid u64 (sat of `paid` prepaying downloads; absent = 0)
 *   || varint m || m x u32 missed (intervals the renter's payments call
 *      missed, ascending, as the latest `storage.pay` named them; absent = none)
 */
export class StoredState extends bio.Struct {
  state = new ChannelState();
  /** The renter's last state of the contract (it releases the holdback): close at end height. */
  final = false;
  /** Chain height when the host accepted it. */
  height = 0;
  /** Cumulative sat of `paid` that prepays downloads (storage.token), for the host's earnings. */
  prepaid = 0;
  /** Intervals the renter's payments call missed (unpaid): the host's earnings count them unpaid. */
  missed: number[] = [];

  getSize(): number {
    return CHANNEL_STATE_SIZE + 1 + 4 + 8 + sizeVarint(this.missed.length) + 4 * this.missed.length;
  }

  write(bw: bio.Writer): bio.Writer {
    this.state.write(bw);
    bw.writeU8(this.final ? FINAL : 0);
    bw.writeU32(this.height);
    bw.writeU64(this.prepaid);
    bw.writeVarint(this.missed.length);
    for (const k of this.missed)
      bw.writeU32(k);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.state = new ChannelState().read(br);
    this.final = (br.readU8() & FINAL) !== 0;
    this.height = br.readU32();
    // Written before prepaid was kept: none.
    this.prepaid = br.left() >= 8 ? br.readU64() : 0;
    // Written before missed intervals were kept: none.
    this.missed = [];
    if (br.left() > 0) {
      for (let n = br.readVarint(); n > 0; n--)
        this.missed.push(br.readU32());
    }
    return this;
  }

  getJSON(): Record<string, unknown> {
    return {
      number: this.state.number,
      paid: this.state.paid,
      sighashType: this.state.sighashType,
      final: this.final,
      height: this.height,
      prepaid: this.prepaid,
      missed: this.missed
    };
  }
}

/** A contract's escrow as the chain index has it. */
export interface EscrowLookup {
  coin: bcoin.Coin;
  /** Spent on chain, or by a tx in the mempool. */
  spent: boolean;
}

/** Options for a ChannelStore. */
export interface ChannelStoreOptions {
  /** Data directory; the database lives in `<datadir>/channels`. */
  datadir?: string;
  /** Keep the database in memory (also when no datadir is given). */
  memory?: boolean;
  /** The contract's escrow from the chain index; null when its commitment is not indexed. */
  escrow(contract: StorageContract): Promise<EscrowLookup | null>;
  /** The chain height now. */
  height(): number;
  /** Crash points for tests (kill -9 around the durable write); none in production. */
  hooks?: {
    beforeWrite?(state: ChannelState): void | Promise<void>;
    afterWrite?(state: ChannelState): void | Promise<void>;
  };
}

/** What acceptState did. */
export interface AcceptResult {
  stored: StoredState;
  /** False when it was the stored state again (acknowledged again). */
  added: boolean;
}

/** The host's latest channel state per contract. */
export class ChannelStore {
  readonly db: bdb.DB;
  private readonly options: ChannelStoreOptions;
  /** One acceptState at a time: the number check and the write are one step. */
  private readonly lock = new Mutex();

  constructor(options: ChannelStoreOptions) {
    this.options = options;
    const memory = options.memory !== false || !options.datadir;
    this.db = bdb.create({
      memory,
      location: memory ? undefined : path.join(options.datadir as string, 'channels'),
      cacheSize: 1 << 20,
      compression: true
    });
  }

  async open(): Promise<void> {
    await this.db.open();
    await this.db.verify(keys.V.build(), 'channels', CHANNEL_DB_VERSION);
  }

  async close(): Promise<void> {
    await this.lock.run(() => this.db.close());
  }

  /** The latest state stored for a contract, or null. */
  async latestState(id: Buffer): Promise<StoredState | null> {
    const raw = await this.db.get(keys.s.build(id));
    return raw ? new StoredState().decode(raw) : null;
  }

  /** Every stored state (one per contract). */
  async list(): Promise<StoredState[]> {
    return this.db.values({
      gte: keys.s.min(),
      lte: keys.s.max(),
      parse: (raw: Buffer) => new StoredState().decode(raw)
    });
  }

  /**
   * Check `state` against the contract's escrow and the stored state, and
   * store it (fsynced) before resolving. `final` marks the renter's last
   * state (schedule.ts closes with it at end height); `prepaid` is the
   * cumulative sat of `paid` that prepays downloads (the host's earnings
   * show it as downloads; default: the stored state's); `missed` the
   * intervals the renter's payment calls missed (default: the stored
   * state's), which the host's earnings count unpaid. Throws
   * ContractError: `state-wrong-contract`, `unknown-contract` (no indexed
   * commitment), `escrow-spent`, verifyState's codes, `state-out-of-order`
   * (number not above the stored one), `state-pays-less` (paid, or
   * prepaid, below the stored one), `state-bad-amount` (prepaid above paid).
   */
  async acceptState(contract: StorageContract, state: ChannelState,
    options: { final?: boolean; prepaid?: number; missed?: readonly number[] } = {}): Promise<AcceptResult> {
    const id = contract.hash();
    // [REJECT] a state of another contract
    enforce(state.contractId.equals(id), 'state-wrong-contract');
    const escrow = await this.options.escrow(contract);
    // [REJECT] no commitment of the contract in the chain index
    if (!escrow)
      throw new ContractError('unknown-contract', 'no indexed commitment funds this contract');
    // [REJECT] the escrow is spent (closed or refunded): a state can no longer pay
    enforce(!escrow.spent, 'escrow-spent');
    verifyState(contract, escrow.coin, state);
    const asked = options.prepaid;
    // [REJECT] more prepaid than the state pays
    enforce(asked === undefined || (Number.isSafeInteger(asked) && asked >= 0 && asked <= state.paid),
      'state-bad-amount', `prepaid ${asked} sat is not within the ${state.paid} sat the state pays`);
    return this.lock.run(async () => {
      const last = await this.latestState(id);
      const final = options.final === true;
      const prepaid = asked ?? (last ? last.prepaid : 0);
      // [REJECT] prepaid going back: it is cumulative, like paid
      enforce(!last || prepaid >= last.prepaid, 'state-pays-less',
        `prepaid ${prepaid} sat, below the ${last ? last.prepaid : 0} sat already recorded`);
      if (last && last.state.encode().equals(state.encode())) {
        if ((last.final || !final) && prepaid === last.prepaid)
          return { stored: last, added: false };
      } else if (last) {
        // [REJECT] not newer than the stored state: no replay, no rollback
        enforce(state.number > last.state.number, 'state-out-of-order',
          `number ${state.number} is not above ${last.state.number}`);
        // [REJECT] paying less than an earlier state
        enforce(state.paid >= last.state.paid, 'state-pays-less',
          `pays ${state.paid} sat, below the ${last.state.paid} sat already signed`);
      }
      const stored = new StoredState();
      stored.state = state;
      stored.final = final || (last !== null && last.final && last.state.encode().equals(state.encode()));
      stored.height = this.options.height();
      stored.prepaid = prepaid;
      stored.missed = [...(options.missed ?? (last ? last.missed : []))];
      const b = this.db.batch();
      b.put(keys.s.build(id), stored.encode());
      await this.options.hooks?.beforeWrite?.(state);
      await writeSync(b);
      await this.options.hooks?.afterWrite?.(state);
      return { stored, added: true };
    });
  }
}
