/*!
 * remotecalls.ts - calls to a peer's standard services whose answers are
 * checked before use (PROTOCOL 2.7): `market.prices` (a statement the
 * peer signed for this network) and `peers.announce` (announcements that
 * go through the store as gossiped ones would, a forged one scoring the
 * peer). Negotiator#marketPrices and #fetchAnnouncements call these.
 */

import { announceResults, type AnnounceResult } from './announce';
import type { AnnouncePacket } from './announcepacket';
import { MALFORMED_SCORE, STANDARD_METHODS_VERSION } from './common';
import { decodeAnnouncements, encodeAnnounceArgs } from './coreservices';
import { RequestError, requestCodes } from './errors';
import { decodeMarket, type MarketStatement } from './market';
import type { Target } from './options';
import type { CloudPeer, PeerLike } from './peers';
import type { CallResult, RequestOptions } from './requester';
import { describeDecline } from './status';

/** What the checked calls need from the negotiator. */
export interface RemoteCallContext {
  magic: number;
  /** A connected CloudStorage peer whose identity is proven (Negotiator#resolve). */
  resolve(target: Target): CloudPeer;
  request(peer: PeerLike, service: string, method: string, args: Buffer, options: RequestOptions): Promise<CallResult>;
  /** An announcement `cp` sent, through the store (Gossip#handle). */
  handle(cp: CloudPeer, packet: AnnouncePacket): AnnounceResult;
  ban?(peer: PeerLike, score: number): void;
}

/**
 * Ask a peer for the prices it knows (`market.prices`), paying at most
 * `maxPayment` sat. Resolves with its statement, checked: signed by the
 * peer for this network. Rejects with RequestError `unsupported` for a
 * peer whose cs version predates the market (PROTOCOL 2.7), and
 * `declined` (the status in the message) when it does not answer `ok`.
 */
export async function marketPrices(ctx: RemoteCallContext, target: Target, options: RequestOptions = {})
  : Promise<{ statement: MarketStatement; paid: number }> {
  const cp = ctx.resolve(target);
  if (cp.csVersion < STANDARD_METHODS_VERSION)
    throw new RequestError(requestCodes.UNSUPPORTED, `peer speaks cs version ${cp.csVersion}: no market service`);
  const res = await ctx.request(cp.peer, 'market', 'prices', Buffer.alloc(0), options);
  if (res.status !== 'ok')
    throw new RequestError(requestCodes.DECLINED, `market.prices: ${describeDecline(res.status, res.body, options.maxPayment ?? 0)}`);
  let statement: MarketStatement;
  try {
    statement = decodeMarket(res.body);
  } catch {
    throw new RequestError(requestCodes.BAD_RESPONSE, 'malformed market statement');
  }
  // [REJECT] a statement the peer did not sign for this network
  if (!statement.signer.equals(cp.publicKey as Buffer) || !statement.verify(ctx.magic))
    throw new RequestError(requestCodes.BAD_RESPONSE, 'market statement not signed by the peer');
  return { statement, paid: res.paid };
}

/**
 * Fetch host announcements from a peer on request (`peers.announce`,
 * PROTOCOL 2.7): those of `hosts`, or (none named) the newest it knows,
 * paying at most `maxPayment` sat. Each goes through the announcement
 * store as a gossiped one would from that peer (signature, expiry,
 * sequence, new-host budget); one its host did not sign scores the peer
 * MALFORMED_SCORE. Resolves with each announcement and the store's
 * verdict; rejects with RequestError `unsupported` before cs
 * version 3, `declined` for an answer other than `ok`, `bad-response`
 * for a body that does not decode.
 */
export async function fetchAnnouncements(ctx: RemoteCallContext, target: Target, hosts: Buffer[] = [],
  options: RequestOptions = {}): Promise<{ announcements: Array<{ packet: AnnouncePacket; result: string }>; paid: number }> {
  const cp = ctx.resolve(target);
  if (cp.csVersion < STANDARD_METHODS_VERSION)
    throw new RequestError(requestCodes.UNSUPPORTED, `peer speaks cs version ${cp.csVersion}: no peers.announce`);
  const res = await ctx.request(cp.peer, 'peers', 'announce', encodeAnnounceArgs(hosts), options);
  if (res.status !== 'ok')
    throw new RequestError(requestCodes.DECLINED, `peers.announce: ${describeDecline(res.status, res.body, options.maxPayment ?? 0)}`);
  let list: AnnouncePacket[];
  try {
    list = decodeAnnouncements(res.body);
  } catch {
    throw new RequestError(requestCodes.BAD_RESPONSE, 'malformed peers.announce body');
  }
  const announcements = list.map(packet => ({ packet, result: ctx.handle(cp, packet) }));
  // [REJECT] an announcement its host did not sign: the answering peer forged or altered it
  if (announcements.some(a => a.result === announceResults.BAD_SIG))
    ctx.ban?.(cp.peer, MALFORMED_SCORE);
  return { announcements, paid: res.paid };
}
