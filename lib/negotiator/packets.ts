/*!
 * packets.ts - the cs* P2P packets of the CloudStorage layer.
 *
 * Each packet is a bio.Struct carried as the payload of a bcoin
 * UnknownPacket whose command starts with `cs` (at most 11 chars). Layouts
 * are in docs/PROTOCOL.md section 2. Decoders check every length against
 * common.ts before allocating and reject trailing bytes. Here: the
 * handshake packets (`cshello`, `csauth`) and decoding by command; the
 * request envelope is in envelope.ts, announcements in announcepacket.ts.
 */

import bio = require('bufio');
import { SignedStruct, StrictStruct, magicBytes, type Signer } from '../base/signed';
import { PUBKEY_SIZE, CHALLENGE_SIZE, AUTH_TAG } from './common';
import { decodeCodes, readU32, readFixed, readPubkey } from './wire';
import { PacketError } from '../base/errors';
import { ZERO_KEY } from '../base/consts';
import { commands, types } from './packettypes';
import { COIN_REQUEST_CMD, CoinRequestPacket, RequestPacket, ResponsePacket } from './envelope';
import { AnnouncePacket, AnnounceV1Packet } from './announcepacket';

/**
 * `cshello`: sent once per connection by each side after the version
 * handshake, when the other side advertises NODE_CLOUDSTORAGE. It claims an
 * identity key and carries a fresh random challenge; the other side proves
 * its own claim by signing our challenge in `csauth`.
 */
export class HelloPacket extends StrictStruct {
  readonly type = types.HELLO;
  version = 0;
  publicKey: Buffer = ZERO_KEY;
  challenge: Buffer = Buffer.alloc(CHALLENGE_SIZE);

  get cmd(): string {
    return commands[this.type];
  }

  getSize(): number {
    return 4 + PUBKEY_SIZE + CHALLENGE_SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU32(this.version);
    bw.writeBytes(this.publicKey);
    bw.writeBytes(this.challenge);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.version = readU32(br);
    this.publicKey = readPubkey(br);
    this.challenge = readFixed(br, CHALLENGE_SIZE);
    return this;
  }

  getJSON(): object {
    return {
      version: this.version,
      publicKey: this.publicKey.toString('hex'),
      challenge: this.challenge.toString('hex')
    };
  }

  static fromOptions(version: number, publicKey: Buffer, challenge: Buffer): HelloPacket {
    const p = new HelloPacket();
    p.version = version;
    p.publicKey = publicKey;
    p.challenge = challenge;
    return p;
  }
}

/**
 * `csauth`: proof of the identity claimed in our hello. `sig` is the
 * sender's signature over TH('cc/auth/0', magic u32 LE || the receiver's
 * hello challenge || the sender's identity key), so it cannot be replayed
 * on another connection or network.
 */
export class AuthPacket extends SignedStruct {
  readonly type = types.AUTH;

  get cmd(): string {
    return commands[this.type];
  }

  get tag(): string {
    return AUTH_TAG;
  }

  /** Nothing but the signature: what it covers is all context. */
  getUnsignedSize(): number {
    return 0;
  }

  writeUnsigned(bw: bio.Writer): bio.Writer {
    return bw;
  }

  readUnsigned(): void {}

  getJSON(): object {
    return { sig: this.sig.toString('hex') };
  }

  static hash(magic: number, challenge: Buffer, publicKey: Buffer): Buffer {
    return new AuthPacket().signatureHash(magicBytes(magic), challenge, publicKey);
  }

  /** Prove `signer`'s identity against the peer's `challenge`. */
  static create(signer: Signer, magic: number, challenge: Buffer): AuthPacket {
    return new AuthPacket().signWith(signer, magicBytes(magic), challenge, signer.publicKey);
  }

  verify(magic: number, challenge: Buffer, publicKey: Buffer): boolean {
    return this.verifyWith(publicKey, magicBytes(magic), challenge, publicKey);
  }
}

export type Packet = HelloPacket | AuthPacket | RequestPacket | ResponsePacket | AnnouncePacket;

/** True for commands this layer owns. */
export function isCloudCommand(cmd: string): boolean {
  return cmd.startsWith('cs');
}

/**
 * Decode the payload of cs* command `cmd`. Throws PacketError: `reject`
 * for malformed payloads, `ignore` (score 0) for cs commands we do not know,
 * which a newer peer may send.
 */
export function decode(cmd: string, data: Buffer): Packet {
  switch (cmd) {
    case commands[types.HELLO]:
      return HelloPacket.decode(data);
    case commands[types.AUTH]:
      return AuthPacket.decode(data);
    case commands[types.REQUEST]:
      return RequestPacket.decode(data);
    case COIN_REQUEST_CMD:
      return CoinRequestPacket.decode(data);
    case commands[types.RESPONSE]:
      return ResponsePacket.decode(data);
    case commands[types.ANNOUNCE]:
      return AnnounceV1Packet.decode(data);
    case commands[types.ANNOUNCE2]:
      return new AnnouncePacket().decode(data);
  }
  throw new PacketError(decodeCodes.UNKNOWN_COMMAND, 'ignore', 0);
}
