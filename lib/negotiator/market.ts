/*!
 * market.ts - the `market` core service (decloud: "share my knowledge of
 * market prices"), PROTOCOL 2.7: `market.prices` answers the storage
 * prices this node knows, signed by it, so a renter can compare what
 * others saw with what hosts tell it and keep the answer with who said it.
 *
 * Sources, kept apart per entry: 0 a host's announcement this node holds
 * (2.9), 1 a `storage.quote` answer this node received as a renter
 * (`MarketBook#recordQuote`), 2 this node's own offer (it hosts).
 *
 * MarketStatement: signer (33) || u32 height || varint n (<= 256) ||
 * n x MarketEntry (74) || sig (64) over TH("cc/market/0", magic u32 LE ||
 * every byte before sig). MarketEntry: host (33) || u8 source || u32
 * height || storage, upload, download price (3 x u64) || u64 capacity ||
 * u32 maxDuration.
 */

import bio = require('bufio');
import { SignerStatement } from '../base/signed';
import { PacketError } from '../base/errors';
import { BoundedMap } from './boundedmap';
import { MAX_MONEY } from './common';
import { ServiceError } from './errors';
import type { Service } from './services';
import { emptyArgs } from './standard';
import {
  checkEnd, readAmount, readLength, readPubkey, readU8, readU32, sizeVarint, writeAmount
} from './wire';
import { MALFORMED_SCORE } from './common';

/** Tag of a market statement's signature. */
export const MARKET_TAG = 'cc/market/0';

/** Version of the `market` service. */
export const MARKET_VERSION = 1;

/** Entries one statement carries at most (the newest first). */
export const MAX_MARKET_ENTRIES = 256;

/** Quotes remembered, one per host (the newest). */
export const MAX_MARKET_QUOTES = 1024;

/** Where an entry's prices come from. */
export const marketSources = {
  ANNOUNCEMENT: 0,
  QUOTE: 1,
  OWN: 2
} as const;

export type MarketSource = typeof marketSources[keyof typeof marketSources];

const SOURCE_NAMES = ['announcement', 'quote', 'own'] as const;

/** One host's prices as one source gave them. Prices: storage sat per GiB per 1000 blocks, upload and download sat per GiB. */
export interface MarketEntry {
  host: Buffer;
  source: MarketSource;
  /** Chain height at which this node learnt them. */
  height: number;
  storagePrice: number;
  uploadPrice: number;
  downloadPrice: number;
  /** Free bytes the host offered. */
  capacity: number;
  /** Blocks. */
  maxDuration: number;
}

/** Bytes of one entry on the wire. */
export const MARKET_ENTRY_SIZE = 33 + 1 + 4 + 3 * 8 + 8 + 4;

function readEntry(br: bio.BufferReader): MarketEntry {
  const host = readPubkey(br);
  const source = readU8(br);
  // [REJECT] a source this version does not define
  if (source > marketSources.OWN)
    throw new PacketError('bad-market', 'reject', MALFORMED_SCORE);
  return {
    host, source: source as MarketSource, height: readU32(br),
    storagePrice: readAmount(br), uploadPrice: readAmount(br), downloadPrice: readAmount(br),
    capacity: readAmount(br), maxDuration: readU32(br)
  };
}

function writeEntry(bw: bio.Writer, e: MarketEntry): void {
  bw.writeBytes(e.host);
  bw.writeU8(e.source);
  bw.writeU32(e.height);
  writeAmount(bw, e.storagePrice);
  writeAmount(bw, e.uploadPrice);
  writeAmount(bw, e.downloadPrice);
  writeAmount(bw, Math.min(e.capacity, MAX_MONEY));
  bw.writeU32(e.maxDuration);
}

/** An entry as JSON (getmarketprices, the `market` table). */
export function entryJSON(e: MarketEntry, addressOf: (pk: Buffer) => string): Record<string, unknown> {
  return {
    host: addressOf(e.host),
    pubkey: e.host.toString('hex'),
    source: SOURCE_NAMES[e.source],
    height: e.height,
    storageprice: e.storagePrice,
    uploadprice: e.uploadPrice,
    downloadprice: e.downloadPrice,
    capacity: e.capacity,
    maxduration: e.maxDuration
  };
}

/** A node's signed list of the prices it knows. */
export class MarketStatement extends SignerStatement {
  // `signer`: the answering node's identity key (SignerStatement).
  /** The signer's chain height. */
  height = 0;
  entries: MarketEntry[] = [];

  get tag(): string {
    return MARKET_TAG;
  }

  getUnsignedSize(): number {
    return 33 + 4 + sizeVarint(this.entries.length) + this.entries.length * MARKET_ENTRY_SIZE;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    bw.writeBytes(this.signer);
    bw.writeU32(this.height);
    bw.writeVarint(this.entries.length);
    for (const e of this.entries)
      writeEntry(bw, e);
    return bw;
  }

  readUnsigned(br: bio.BufferReader): void {
    this.signer = readPubkey(br);
    this.height = readU32(br);
    const n = readLength(br, MAX_MARKET_ENTRIES);
    this.entries = [];
    for (let i = 0; i < n; i++)
      this.entries.push(readEntry(br));
  }
}

/** What a `storage.quote` answered (the deals' Quote, as far as the market needs it). */
export interface QuotedPrices {
  prices: { storage: number; upload: number; download: number };
  freeCapacity: number;
  maxDuration: number;
}

/** What the market service reads from the negotiator. */
export interface MarketSourceView {
  /** Our identity key. */
  self(): Buffer;
  /** Valid announcements with the height each was accepted at. */
  announcements(): Array<{ host: Buffer; height: number; storagePrice: number; uploadPrice: number;
    downloadPrice: number; capacity: number; maxDuration: number }>;
  height(): number;
  sign(statement: MarketStatement): MarketStatement;
}

/** The quotes this node received as a renter, newest per host (bounded). */
export class MarketBook {
  private readonly quotes = new BoundedMap<string, MarketEntry>(MAX_MARKET_QUOTES);

  /** Remember what `host` quoted at `height`. */
  recordQuote(host: Buffer, quote: QuotedPrices, height: number): void {
    this.quotes.set(host.toString('hex'), {
      host, source: marketSources.QUOTE, height,
      storagePrice: quote.prices.storage, uploadPrice: quote.prices.upload, downloadPrice: quote.prices.download,
      capacity: quote.freeCapacity, maxDuration: quote.maxDuration
    });
  }

  /** Every entry this node knows: its own offer, announcements, quotes; newest first, at most MAX_MARKET_ENTRIES. */
  entries(view: MarketSourceView): MarketEntry[] {
    const self = view.self();
    const out: MarketEntry[] = [];
    for (const a of view.announcements())
      out.push({ ...a, source: a.host.equals(self) ? marketSources.OWN : marketSources.ANNOUNCEMENT });
    for (const q of this.quotes.values())
      out.push(q);
    // Own first, then newest; ties by host key and source, so the list is deterministic.
    out.sort((x, y) => Number(y.source === marketSources.OWN) - Number(x.source === marketSources.OWN)
      || y.height - x.height || Buffer.compare(x.host, y.host) || x.source - y.source);
    return out.slice(0, MAX_MARKET_ENTRIES);
  }
}

/** Decode a `market.prices` body; throws PacketError when malformed. */
export function decodeMarket(body: Buffer): MarketStatement {
  const s = new MarketStatement();
  const br = bio.read(body);
  s.read(br);
  checkEnd(br);
  return s;
}

/** The `market` service: `prices` (no args) answers this node's signed statement. */
export function marketService(book: MarketBook, view: MarketSourceView, magic: number,
  addressOf: (pk: Buffer) => string): Service {
  return {
    name: 'market',
    version: MARKET_VERSION,
    methods: {
      prices: {
        description: 'the storage prices this node knows (announcements, quotes it received, its own offer), signed',
        handler(args: Buffer): Buffer {
          // [REJECT] prices takes no arguments
          if (args.length !== 0)
            throw ServiceError.badArgs();
          const s = new MarketStatement();
          s.height = view.height();
          s.entries = book.entries(view);
          return view.sign(s).encode();
        },
        encodeArgs: emptyArgs,
        decodeBody: (body: Buffer): unknown => {
          const s = decodeMarket(body);
          return {
            signer: addressOf(s.signer), signerkey: s.signer.toString('hex'), height: s.height,
            valid: s.verify(magic), entries: s.entries.map((e) => entryJSON(e, addressOf))
          };
        }
      }
    }
  };
}
