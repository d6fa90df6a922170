/*!
 * inbound.ts - every cs* packet a peer sends, from the flood budgets to
 * the part that handles it: the handshake, the server pipeline (csreq,
 * csreqc), the requester (csres) or gossip (csannounce). Anything the
 * sender is scored for is thrown as a PacketError, which the node turns
 * into a ban score.
 */

import { PacketError } from '../base/errors';
import { FLOOD_SCORE, MALFORMED_SCORE, MAX_INFLIGHT_PER_PEER, MISBEHAVE_SCORE } from './common';
import { packetCodes } from './errors';
import type { Gossip } from './gossip';
import type { Handshake } from './handshake';
import type { LoggerLike } from './options';
import { AnnouncePacket } from './announcepacket';
import { COIN_REQUEST_CMD, RequestPacket, ResponsePacket } from './envelope';
import { commands, types } from './packettypes';
import { decode, type Packet } from './packets';
import { announceResults } from './announce';
import type { CloudPeer, CloudPeers, PeerLike } from './peers';
import type { Requester } from './requester';
import { type Server, serverCodes } from './server';

export interface InboundOptions {
  peers: CloudPeers;
  handshake: Handshake;
  server: Server;
  requester: Requester;
  gossip: Gossip;
  /** Our identity is loaded: requests are served. */
  serving: () => boolean;
  send: (peer: PeerLike, packet: Packet) => void;
  /** A response was taken by a waiting call (the connection is in use). */
  answered: (peer: PeerLike) => void;
  /**
   * Resolves once what serving a call changed in the ledgers on disk (a
   * tab charged for a deferred call) is written: its answer waits for it,
   * so a crash right after the answer forgets nothing the caller was told.
   */
  settled?: () => Promise<void>;
  logger: LoggerLike;
}

export class Inbound {
  private readonly options: InboundOptions;

  constructor(options: InboundOptions) {
    this.options = options;
  }

  /** Handle one cs* packet; throws PacketError for anything the sender should be scored for. */
  async handle(peer: PeerLike, cmd: string, payload: Buffer): Promise<void> {
    const cp = this.options.peers.get(peer);
    if (cp && (cmd === commands[types.ANNOUNCE] || cmd === commands[types.ANNOUNCE2])) {
      // [IGNORE] more csannounce than the budget: gossip relays other nodes'
      // announcements, so an honest relayer is never scored for their volume
      if (!cp.announceFlood.take())
        throw new PacketError(packetCodes.FLOOD, 'ignore', 0);
    } else if (cp && !(cmd === commands[types.REQUEST] || cmd === COIN_REQUEST_CMD ? cp.reqFlood : cp.flood).take()) {
      // [REJECT] more cs* packets than the flood limit allows (csreq has its own, lower one)
      throw new PacketError(packetCodes.FLOOD, 'reject', FLOOD_SCORE);
    }
    const packet = decode(cmd, payload);
    // [IGNORE] peer does not advertise NODE_CLOUDSTORAGE: we do not talk to it
    if (!cp)
      throw new PacketError(packetCodes.NOT_CLOUD_PEER, 'ignore', 0);
    switch (packet.type) {
      case types.HELLO:
        return this.options.handshake.handleHello(cp, packet);
      case types.AUTH:
        return this.options.handshake.handleAuth(cp, packet);
      case types.REQUEST:
        return this.handleRequest(cp, packet);
      case types.RESPONSE:
        return this.handleResponse(cp, packet);
      case types.ANNOUNCE:
      case types.ANNOUNCE2:
        return this.handleAnnounce(cp, packet);
    }
  }

  private async handleRequest(cp: CloudPeer, req: RequestPacket): Promise<void> {
    const { server, peers, send, logger } = this.options;
    // [IGNORE] not serving before our identity is loaded
    if (!this.options.serving())
      throw new PacketError(packetCodes.NOT_READY, 'ignore', 0);
    // [IGNORE] identity not proven yet: nothing to hold the sender to
    if (!cp.publicKey)
      throw new PacketError(packetCodes.NOT_PROVEN, 'ignore', 0);
    // [REJECT] a connection only carries requests of the identity it proved
    // (checked before any signature work: relayed or forged envelopes cost us nothing)
    if (!req.from.equals(cp.publicKey))
      throw new PacketError(packetCodes.WRONG_SENDER, 'reject', MISBEHAVE_SCORE);
    if (cp.inflight >= MAX_INFLIGHT_PER_PEER) {
      send(cp.peer, server.busy(req).response);
      return;
    }
    cp.inflight += 1;
    let code: string;
    let score = 0;
    try {
      const handled = await server.handle(req, cp.peer);
      code = handled.code;
      score = handled.score ?? 0;
      await this.options.settled?.();
      if (peers.get(cp.peer))
        send(cp.peer, handled.response);
    } finally {
      cp.inflight -= 1;
    }
    logger.debug('negotiator: %s.%s from %s: %s', req.service, req.method, cp.peer.hostname(), code);
    // [REJECT] a peer relaying forged or misaddressed envelopes misbehaves
    if (code === serverCodes.BAD_SIGNATURE || code === serverCodes.WRONG_RECIPIENT)
      throw new PacketError(code, 'reject', MISBEHAVE_SCORE);
    // [REJECT] malformed args of a method that scores them (answered first: the caller learns why)
    if (score > 0)
      throw new PacketError(code, 'reject', score);
  }

  private handleResponse(cp: CloudPeer, res: ResponsePacket): void {
    // Late or unsolicited responses are dropped quietly: timeouts race them.
    if (this.options.requester.receive(cp.peer.id, res))
      this.options.answered(cp.peer);
  }

  private handleAnnounce(cp: CloudPeer, ann: AnnouncePacket): void {
    const result = this.options.gossip.handle(cp, ann);
    // [REJECT] announcement not signed by the identity it announces
    if (result === announceResults.BAD_SIG)
      throw new PacketError(packetCodes.BAD_ANNOUNCE, 'reject', MALFORMED_SCORE);
  }
}
