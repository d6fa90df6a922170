/*!
 * packetrouter.ts - the extensions' cs* P2P packets, in and out.
 *
 * bcoin hands unknown commands to its pool; a `packet` listener that
 * throws drops the peer. The router takes every `cs*` command before
 * bcoin's own unknown-packet handling, passes it through a per-peer token
 * bucket (a backstop under the extensions' finer limits: over it, packets
 * are dropped without a ban score, so relayed gossip never gets relayers
 * banned), hands it to the extension that registered the command, and turns
 * a handler failure into a ban score instead of an exception: a
 * PacketError's own verdict, HANDLER_FAILURE_SCORE for anything else.
 */

import bcoin = require('../bcoin');
import { PacketError } from '../base/errors';
import type { PacketHandler } from '../base/extension';

/** Sustained cs* packets per second and per peer. */
const CS_RATE_PER_SEC = 200;
/** cs* packets a peer may send at once after a quiet spell. */
const CS_BURST = 1000;
/** Ban score when a handler fails for a reason that is not a PacketError. */
const HANDLER_FAILURE_SCORE = 1;
/** P2P commands are at most 11 ASCII chars (bcoin's framer asserts < 12). */
const MAX_CMD_LENGTH = 11;

/** Routes cs* packets between the pool and the extensions' handlers. */
export class PacketRouter {
  private readonly handlers = new Map<string, PacketHandler>();
  /** cs* token buckets by peer id, dropped when the peer closes. */
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  private readonly logger: bcoin.Logger;
  /** Service bits extensions advertise; cs* packets need a peer with one (0: any peer). */
  serviceBits = 0;

  constructor(pool: bcoin.Pool, logger: bcoin.Logger) {
    this.logger = logger;
    const handleUnknown = pool.handleUnknown.bind(pool);
    pool.handleUnknown = async (peer, packet) => {
      if (packet.cmd.startsWith('cs'))
        return; // ours: dispatched from the 'packet' listener below
      return handleUnknown(peer, packet);
    };

    pool.on('packet', (packet, peer) => {
      if (packet.type !== bcoin.packets.types.UNKNOWN)
        return;
      if (!packet.cmd.startsWith('cs'))
        return;
      this.dispatch(peer, packet as bcoin.packets.UnknownPacket);
    });

    pool.on('peer close', (peer: bcoin.Peer) => {
      this.buckets.delete(peer.id);
    });
  }

  /**
   * Register the handler of one command.
   * @throws Error for a name that is not `cs` + [a-z0-9] of at most 11 chars, or one taken
   */
  add(cmd: string, handler: PacketHandler): void {
    if (!/^cs[a-z0-9]+$/.test(cmd) || cmd.length > MAX_CMD_LENGTH)
      throw new Error(`Bad packet command "${cmd}": cs + [a-z0-9], at most 11 chars.`);
    if (this.handlers.has(cmd))
      throw new Error(`Duplicate packet command: ${cmd}.`);
    this.handlers.set(cmd, handler);
  }

  /** The registered commands (the fuzz suite checks it covers each). */
  commands(): string[] {
    return [...this.handlers.keys()];
  }

  /** Send a cs* packet; nothing to a destroyed peer. @throws Error for a command that is not ours */
  send(peer: bcoin.Peer, cmd: string, payload: Buffer): void {
    if (!this.handlers.has(cmd) && !cmd.startsWith('cs'))
      throw new Error(`Not a CloudCoin command: ${cmd}.`);
    if (peer.destroyed)
      return;
    peer.send(new bcoin.packets.UnknownPacket(cmd, payload));
  }

  private dispatch(peer: bcoin.Peer, packet: bcoin.packets.UnknownPacket): void {
    // [IGNORE] cs* packets from peers that advertise none of our service
    // bits: they are not CloudCoin peers (DESIGN 4).
    if (this.serviceBits !== 0 && (peer.services & this.serviceBits) === 0)
      return;
    // [IGNORE] over the per-peer cs* budget
    if (!this.takeToken(peer))
      return;
    const handler = this.handlers.get(packet.cmd);
    if (!handler) {
      // A newer peer may speak commands we do not know yet: ignore, like
      // bitcoind ignores unknown messages. Malformed known ones are banned.
      this.punish(peer, new PacketError('unknown-command', 'ignore', 0), packet.cmd);
      return;
    }
    try {
      const result = handler(peer, packet.data);
      if (result && typeof result.then === 'function')
        result.catch((err: unknown) => this.punish(peer, err, packet.cmd));
    } catch (err) {
      this.punish(peer, err, packet.cmd);
    }
  }

  /** Token bucket per peer for cs* packets; true if the packet may pass. */
  private takeToken(peer: bcoin.Peer): boolean {
    const now = Date.now();
    let b = this.buckets.get(peer.id);
    if (!b) {
      b = { tokens: CS_BURST, at: now };
      this.buckets.set(peer.id, b);
    }
    b.tokens = Math.min(CS_BURST, b.tokens + (now - b.at) * CS_RATE_PER_SEC / 1000);
    b.at = now;
    if (b.tokens < 1)
      return false;
    b.tokens -= 1;
    return true;
  }

  /** Map a handler failure to a ban score; never throws. */
  private punish(peer: bcoin.Peer, err: unknown, cmd: string): void {
    try {
      if (err instanceof PacketError) {
        this.logger.debug('Bad %s from %s: %s.', cmd, peer.hostname(), err.code);
        if (err.verdict === 'reject')
          peer.increaseBan(err.score);
        return;
      }
      this.logger.warning('Handler for %s from %s failed: %s', cmd, peer.hostname(),
        err instanceof Error ? err.stack || err.message : String(err));
      peer.increaseBan(HANDLER_FAILURE_SCORE);
    } catch (e) {
      this.logger.error(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
