/*!
 * handshake.ts - how a CloudStorage connection proves its identity
 * (PROTOCOL 2.2): each side sends cshello with a fresh challenge, then
 * csauth signing the other's challenge; a connection keeps the identity
 * its first hello named.
 */

import { randomBytes } from 'crypto';
import secp256k1 = require('bcrypto/lib/secp256k1');
import { PacketError } from '../base/errors';
import type { Identity } from '../base/identity';
import { BAD_AUTH_SCORE, CHALLENGE_SIZE, MALFORMED_SCORE, MIN_PROTOCOL_VERSION, MISBEHAVE_SCORE, PROTOCOL_VERSION } from './common';
import { packetCodes } from './errors';
import { AuthPacket, HelloPacket, type Packet } from './packets';
import type { CloudPeer } from './peers';

export interface HandshakeOptions {
  magic: number;
  /** Our identity, or null before it is loaded (nothing is sent until then). */
  identity: () => Identity | null;
  send: (cp: CloudPeer, packet: Packet) => void;
  /** The peer proved `cp.publicKey`. */
  proven: (cp: CloudPeer) => void;
}

export class Handshake {
  private readonly options: HandshakeOptions;

  constructor(options: HandshakeOptions) {
    this.options = options;
  }

  /** Our cshello with a fresh challenge, once per connection. */
  sendHello(cp: CloudPeer): void {
    const id = this.options.identity();
    if (cp.helloSent || !id)
      return;
    cp.helloSent = true;
    cp.challenge = randomBytes(CHALLENGE_SIZE);
    this.options.send(cp, HelloPacket.fromOptions(PROTOCOL_VERSION, id.publicKey, cp.challenge));
  }

  /** Our csauth over the peer's challenge, once it sent one. */
  sendAuth(cp: CloudPeer): void {
    const id = this.options.identity();
    if (cp.authSent || !id || !cp.peerChallenge)
      return;
    cp.authSent = true;
    this.options.send(cp, AuthPacket.create(id, this.options.magic, cp.peerChallenge));
  }

  /** Both, as far as each can go now (identity loaded, or a new peer). */
  start(cp: CloudPeer): void {
    this.sendHello(cp);
    this.sendAuth(cp);
  }

  handleHello(cp: CloudPeer, hello: HelloPacket): void {
    // A later hello is only compared (the kept key passed the point check):
    // a byte compare rejects it before a point decompression would.
    if (cp.claimedKey) {
      // [REJECT] a connection keeps the identity it announced
      if (!cp.claimedKey.equals(hello.publicKey))
        throw new PacketError(packetCodes.DUPLICATE_HELLO, 'reject', MISBEHAVE_SCORE);
      return;
    }
    // [REJECT] hello key is not a point on the curve
    if (!secp256k1.publicKeyVerify(hello.publicKey))
      throw new PacketError(packetCodes.BAD_HELLO_KEY, 'reject', MALFORMED_SCORE);
    // [IGNORE] protocol too old to talk to
    if (hello.version < MIN_PROTOCOL_VERSION)
      return;
    cp.claimedKey = hello.publicKey;
    cp.peerChallenge = hello.challenge;
    cp.csVersion = hello.version;
    // Our hello first (it carries the challenge the peer must sign), then our proof.
    this.start(cp);
  }

  handleAuth(cp: CloudPeer, auth: AuthPacket): void {
    // [REJECT] csauth before the peer's hello or before we sent a challenge
    if (!cp.claimedKey || !cp.challenge)
      throw new PacketError(packetCodes.UNEXPECTED_AUTH, 'reject', MISBEHAVE_SCORE);
    // [IGNORE] already proven
    if (cp.publicKey)
      return;
    // [REJECT] signature does not prove the claimed identity on this connection
    if (!auth.verify(this.options.magic, cp.challenge, cp.claimedKey))
      throw new PacketError(packetCodes.BAD_AUTH, 'reject', BAD_AUTH_SCORE);
    cp.publicKey = cp.claimedKey;
    this.options.proven(cp);
  }
}
