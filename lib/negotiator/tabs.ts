/*!
 * tabs.ts - the deferred-payment tabs on disk, so a restart forgets no
 * debt (PROTOCOL 2.5): as a server, what each client identity owes
 * (CreditLedger, with the charged-back flag); as a client, what this node
 * deferred to each server (Requester). One small file in the datadir,
 * `cstabs.dat`, replaced atomically and fsynced after every change (the
 * changes of one event-loop turn are written together; checkedfile.ts):
 *
 *   u32 LE magic 0x62617443 ("Ctab")  u8 version (1)
 *   varint n (<= 4 096); n x (pubkey 33, u64 LE owed sat, u8 flags: 1 = charged back)
 *   varint m (<= 1 024); m x (pubkey 33, u64 LE owed sat)
 *   4 bytes: sha256 of everything before, first 4 bytes
 *
 * A file that does not read (torn by a disk fault, edited) is moved aside
 * to `cstabs.dat.bad` with a logged error and the tabs start empty: a debt
 * is forgotten, never invented.
 */

import bio = require('bufio');
import { CheckedFile, openSealed, sealFile, type CheckedCodec } from './checkedfile';
import { MAX_CREDIT_ACCOUNTS, MAX_NONCE_SERVERS } from './common';
import type { LoggerLike } from './options';
import { checkEnd, decodeCodes, malformed, readAmount, readLength, readPubkey, readU32, readU8, sizeVarint, writeAmount } from './wire';

const MAGIC = 0x62617443;
const VERSION = 1;
const FLAG_DUE = 1;

/** A server-side tab: what a client owes us. */
export interface ServerTab {
  key: Buffer;
  owed: number;
  /** Charged back (a double-spent payment): no deferral until paid. */
  due: boolean;
}

/** A client-side tab: what we deferred to a server. */
export interface ClientTab {
  key: Buffer;
  owed: number;
}

/** The file's content. */
export class Tabs extends bio.Struct {
  server: ServerTab[] = [];
  client: ClientTab[] = [];

  getSize(): number {
    return 5 + sizeVarint(this.server.length) + this.server.length * 42
      + sizeVarint(this.client.length) + this.client.length * 41;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU32(MAGIC);
    bw.writeU8(VERSION);
    bw.writeVarint(this.server.length);
    for (const t of this.server) {
      bw.writeBytes(t.key);
      writeAmount(bw, t.owed);
      bw.writeU8(t.due ? FLAG_DUE : 0);
    }
    bw.writeVarint(this.client.length);
    for (const t of this.client) {
      bw.writeBytes(t.key);
      writeAmount(bw, t.owed);
    }
    return bw;
  }

  read(br: bio.BufferReader): this {
    // [REJECT] not a tabs file, or a version we do not know
    if (readU32(br) !== MAGIC || readU8(br) !== VERSION)
      throw malformed(decodeCodes.BAD_VERSION);
    const n = readLength(br, MAX_CREDIT_ACCOUNTS);
    for (let i = 0; i < n; i++) {
      const key = readPubkey(br);
      const owed = readAmount(br);
      const flags = readU8(br);
      // [REJECT] unknown flags
      if (flags & ~FLAG_DUE)
        throw malformed(decodeCodes.BAD_FLAGS);
      this.server.push({ key, owed, due: (flags & FLAG_DUE) !== 0 });
    }
    const m = readLength(br, MAX_NONCE_SERVERS);
    for (let i = 0; i < m; i++)
      this.client.push({ key: readPubkey(br), owed: readAmount(br) });
    return this;
  }
}

/** The file's bytes: the tabs and their check. */
export function encodeTabs(tabs: Tabs): Buffer {
  return sealFile(tabs.encode());
}

/** Read the file's bytes; throws PacketError (malformed) on a bad check or content. */
export function decodeTabs(data: Buffer): Tabs {
  const br = openSealed(data);
  const tabs = new Tabs().read(br);
  checkEnd(br);
  return tabs;
}

const codec: CheckedCodec<Tabs> = { what: 'deferred tabs', empty: () => new Tabs(), encode: encodeTabs, decode: decodeTabs };

/** Keeps the tabs file in step with the ledgers: `changed()` after each change, `flush()` at close. */
export class TabStore extends CheckedFile<Tabs> {
  constructor(file: string, snapshot: () => Tabs, logger: LoggerLike) {
    super(file, codec, snapshot, logger);
  }
}
