// A raw P2P peer for hostile tests: a TCP socket that speaks bcoin's
// message framing (magic, command, length, checksum) and the version/verack
// handshake, then sends whatever payload bytes the test chooses under any
// command, with none of bcoin's Peer logic in the way. It can bind a chosen
// loopback source address (127.x.y.z): cloudcoind bans by IP, so each
// offender gets its own address and the honest peers on 127.0.0.1 are
// never caught by an offender's ban.
import * as net from 'net';
import { EventEmitter } from 'events';
import { randomBytes } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { NODE_CLOUDSTORAGE } from '../../lib/base/consts';
import type { Identity } from '../../lib/base/identity';
import { AuthPacket, HelloPacket } from '../../lib/negotiator/packets';
import { PROTOCOL_VERSION } from '../../lib/negotiator/common';

const network = bcoin.Network.get('regtest');

/** bcoin's NODE_NETWORK | NODE_WITNESS, plus the CloudStorage bit. */
export const CLOUD_SERVICES = (1 | 8 | NODE_CLOUDSTORAGE) >>> 0;

/** Deadline for the handshake and for each barrier (a loaded machine answers slowly). */
const RAW_TIMEOUT_MS = 30_000;

export interface RawPeerOptions {
  host?: string;
  port: number;
  /** Local source address to bind (127.x.y.z), default chosen by the OS. */
  localAddress?: string;
  /** Services advertised in our version (default CLOUD_SERVICES). */
  services?: number;
}

/** One received message: bcoin's decoded packet (UnknownPacket for cs*). */
export type RawPacket = bcoin.packets.Packet & { data?: Buffer; nonce?: Buffer | null };

/**
 * A connected raw peer. Emits 'packet' for every message and 'close' when
 * the socket ends (the node banned or dropped us, or we closed).
 */
export class RawPeer extends EventEmitter {
  readonly socket: net.Socket;
  readonly localAddress: string | undefined;
  private readonly framer = new bcoin.net.Framer(network);
  private readonly parser = new bcoin.net.Parser(network);
  private readonly pongs = new Map<string, () => void>();
  closed = false;
  /** Messages received, by command (cshello, csres, ...). */
  readonly received: RawPacket[] = [];

  private constructor(socket: net.Socket, localAddress: string | undefined) {
    super();
    this.socket = socket;
    this.localAddress = localAddress;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.parser.feed(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const wake of this.pongs.values())
        wake();
      this.pongs.clear();
      this.emit('close');
    });
    this.parser.on('error', () => {});
    this.parser.on('packet', (packet: RawPacket) => this.onPacket(packet));
  }

  private onPacket(packet: RawPacket): void {
    if (packet.cmd === 'ping' && packet.nonce)
      this.write('pong', new bcoin.packets.PongPacket(packet.nonce).toRaw());
    if (packet.cmd === 'pong' && packet.nonce) {
      const key = packet.nonce.toString('hex');
      const wake = this.pongs.get(key);
      if (wake) {
        this.pongs.delete(key);
        wake();
      }
    }
    // Keep only what tests read (cs* answers), not bcoin's chatter.
    if (packet.cmd.startsWith('cs'))
      this.received.push(packet);
    this.emit('packet', packet);
  }

  /**
   * Connect and complete version/verack. Rejects if the node closes the
   * socket first (a banned address, or too many inbound peers).
   */
  static async connect(options: RawPeerOptions): Promise<RawPeer> {
    const socket = net.connect({ host: options.host ?? '127.0.0.1', port: options.port, localAddress: options.localAddress });
    const peer = new RawPeer(socket, options.localAddress);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('raw peer: handshake timed out')), RAW_TIMEOUT_MS);
      let version = false;
      let verack = false;
      const fail = (err: Error) => {
        clearTimeout(timer);
        peer.removeListener('packet', onPacket);
        socket.destroy();
        reject(err);
      };
      const onPacket = (packet: RawPacket) => {
        if (packet.cmd === 'version') {
          version = true;
          peer.write('verack', Buffer.alloc(0));
        } else if (packet.cmd === 'verack') {
          verack = true;
        }
        if (version && verack) {
          clearTimeout(timer);
          peer.removeListener('packet', onPacket);
          peer.removeListener('close', onClose);
          resolve();
        }
      };
      const onClose = () => fail(new Error('raw peer: closed during the handshake'));
      peer.on('packet', onPacket);
      peer.once('close', onClose);
      socket.once('connect', () => {
        const v = new bcoin.packets.VersionPacket({
          version: 70015, services: options.services ?? CLOUD_SERVICES, height: 0,
          agent: '/cloudcoin-rawpeer/', nonce: randomBytes(8), noRelay: true
        });
        peer.write('version', v.toRaw());
      });
    });
    return peer;
  }

  /** Send one framed message; false once the socket is gone. */
  write(cmd: string, payload: Buffer): boolean {
    if (this.closed || this.socket.destroyed)
      return false;
    this.socket.write(this.framer.packet(cmd, payload));
    return true;
  }

  /**
   * Resolves true once the node answered a ping sent now: bcoin handles a
   * peer's messages in order, so everything written before it was
   * dispatched. False if the socket closed first.
   */
  async barrier(): Promise<boolean> {
    if (this.closed)
      return false;
    const nonce = randomBytes(8);
    const key = nonce.toString('hex');
    const answered = new Promise<void>((resolve) => this.pongs.set(key, resolve));
    this.write('ping', new bcoin.packets.PingPacket(nonce).toRaw());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, RAW_TIMEOUT_MS); });
    await Promise.race([answered, timeout]);
    clearTimeout(timer);
    this.pongs.delete(key);
    return !this.closed;
  }

  /** The first cs* message of `cmd` received (waiting for it), or null if the socket closed. */
  async next(cmd: string, after = 0, timeoutMs = RAW_TIMEOUT_MS): Promise<RawPacket | null> {
    const found = () => this.received.slice(after).find((p) => p.cmd === cmd) ?? null;
    const now = found();
    if (now || this.closed)
      return now;
    return new Promise((resolve) => {
      const done = (p: RawPacket | null) => {
        clearTimeout(timer);
        this.removeListener('packet', onPacket);
        this.removeListener('close', onClose);
        resolve(p);
      };
      const onPacket = (p: RawPacket) => {
        if (p.cmd === cmd)
          done(p);
      };
      const onClose = () => done(null);
      const timer = setTimeout(() => done(null), timeoutMs);
      this.on('packet', onPacket);
      this.once('close', onClose);
    });
  }

  /**
   * Prove `identity` the way a CloudStorage peer does: send our cshello,
   * wait for the node's, answer its challenge with csauth. Returns the
   * node's identity key (null if the socket closed).
   */
  async authenticate(identity: Identity): Promise<Buffer | null> {
    this.write('cshello', HelloPacket.fromOptions(PROTOCOL_VERSION, identity.publicKey, randomBytes(16)).encode());
    const hello = await this.next('cshello');
    if (!hello || !hello.data)
      return null;
    const theirs = HelloPacket.decode(hello.data);
    this.write('csauth', AuthPacket.create(identity, network.magic, theirs.challenge).encode());
    return theirs.publicKey;
  }

  /** Close our side; resolves once the socket is gone. */
  close(): Promise<void> {
    if (this.closed)
      return Promise.resolve();
    return new Promise((resolve) => {
      this.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}
