/*!
 * errors.ts - every error the negotiator raises, each a CodedError with a
 * literal union of codes (lodestar's LodestarError pattern).
 *
 *   PacketError<NegotiatorPacketCode>  a peer's cs* packet broke a rule:
 *                                      `reject` scores the sender, `ignore`
 *                                      drops it (decode codes: wire.ts)
 *   RequestError                       a call we made failed (timeout, ...)
 *   ServiceError                       a service answers another status
 *   PolicyError                        a policy the node cannot load
 *
 * Callers and tests branch on the class and the code, never the message;
 * rpc.ts maps them to bitcoind codes in one place.
 */

import { CodedError } from '../base/errors';
import { statuses } from './status';
import type { DecodeCode } from './wire';

/** Codes of PacketErrors raised by the negotiator beyond decoding (PROTOCOL 2.8). */
export const packetCodes = {
  FLOOD: 'flood',
  NOT_CLOUD_PEER: 'not-cloud-peer',
  NOT_READY: 'not-ready',
  DUPLICATE_HELLO: 'duplicate-hello',
  BAD_HELLO_KEY: 'bad-pubkey',
  UNEXPECTED_AUTH: 'unexpected-auth',
  BAD_AUTH: 'bad-auth-sig',
  BAD_ANNOUNCE: 'bad-announce-sig',
  BAD_SIGNATURE: 'bad-signature',
  WRONG_RECIPIENT: 'wrong-recipient',
  NOT_PROVEN: 'not-proven',
  WRONG_SENDER: 'wrong-sender'
} as const;

export type PacketCode = typeof packetCodes[keyof typeof packetCodes];

/** Every code a negotiator PacketError carries. */
export type NegotiatorPacketCode = DecodeCode | PacketCode;

/** Why a call to another node failed (RequestError.code). */
export const requestCodes = {
  TIMEOUT: 'timeout',
  ABORTED: 'aborted',
  PEER_CLOSED: 'peer-closed',
  UNKNOWN_PEER: 'unknown-peer',
  BAD_RESPONSE: 'bad-response',
  TOO_MANY_PENDING: 'too-many-pending',
  PAYMENT_UNAVAILABLE: 'payment-unavailable',
  TOO_MANY_ROUNDS: 'too-many-rounds',
  BAD_OPTIONS: 'bad-options',
  /** The peer's cs version predates what was asked (PROTOCOL 2.2 cshello). */
  UNSUPPORTED: 'unsupported',
  /** The peer answered a status other than `ok` (the message says which and why). */
  DECLINED: 'declined'
} as const;

export type RequestCode = typeof requestCodes[keyof typeof requestCodes];

/** The ServiceError code of malformed args, whichever service answers it (scored by the dispatcher). */
export const BAD_ARGS = 'bad-args';

/** A call we made failed; no response status is available. */
export class RequestError extends CodedError<RequestCode> {
  constructor(code: RequestCode, message?: string) {
    super(code, message);
  }
}

/**
 * Thrown by a service handler to answer with a status other than `ok`;
 * `code` names the decline for logs (and, by the service's choice, the body).
 */
export class ServiceError<C extends string = string> extends CodedError<C> {
  /** The csres status, e.g. `request-declined/no-capacity`. */
  readonly status: string;
  /** The csres body (at most MAX_BODY_SIZE bytes, else a server error is sent). */
  readonly body: Buffer;
  /**
   * Ban score for the sender once answered (0: none). The dispatcher
   * (server.ts) scores every `bad-args` MALFORMED_SCORE whatever this says.
   */
  readonly score: number;

  constructor(status: string, code: C = 'service-error' as C, body: Buffer = Buffer.alloc(0), score = 0) {
    super(code);
    this.status = status;
    this.body = body;
    this.score = score;
  }

  /** `client-error/bad-request` with an empty body. */
  static badRequest(code = BAD_ARGS): ServiceError {
    return new ServiceError(statuses.BAD_REQUEST, code);
  }

  /**
   * Malformed args of any service's method: `client-error/bad-request`,
   * body `bad-args` (ASCII). The dispatcher adds ban score MALFORMED_SCORE
   * once answered (PROTOCOL 2.8), so no service can forget it.
   */
  static badArgs(): ServiceError {
    return new ServiceError(statuses.BAD_REQUEST, BAD_ARGS, Buffer.from(BAD_ARGS, 'ascii'));
  }
}

/** A policy the node cannot load: cloudcoind prints the message and exits. */
export class PolicyError extends CodedError<'bad-policy'> {
  constructor(message: string) {
    super('bad-policy', message);
  }
}
