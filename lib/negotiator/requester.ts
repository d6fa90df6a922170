/*!
 * requester.ts - the requesting side of the OpenCloud envelope.
 *
 * `request` signs a csreq, sends it and awaits the matching csres (by
 * request hash) until a timeout or an abort signal. It reacts to declined
 * statuses as decloud does: refresh the nonce and retry, raise the bid on
 * `too-low` up to the caller's maximum, switch to `attached` on `no-defer`,
 * and pay what is owed on `please-pay` through the payment hook (as far as
 * its own record of deferred calls, or the caller's maximum, covers it).
 */

import {
  MAX_PENDING_REQUESTS, MAX_REQUEST_ROUNDS, REQUEST_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS, MAX_MONEY, MAX_NONCE_SERVERS
} from './common';
import { BoundedMap } from './boundedmap';
import { RequestError, requestCodes, type RequestCode } from './errors';
import { NonceCache } from './nonces';
import { CoinRequestPacket, Payment, PaymentType, RequestPacket, ResponsePacket, paymentTypes } from './envelope';
import { Signer } from '../base/signed';
import { readCoinNeed, signProof, type CoinNeed } from './coins';
import { callKey } from './paidtx';
import { PaymentHooks } from './payment';
import type { ClientTab } from './tabs';
import { statuses, readAmountBody } from './status';

/** Defined with the other errors; importable from here as before. */
export { RequestError, requestCodes };
export type { RequestCode };

/** A coin this node proves it controls: its outpoint and private key. */
export interface CoinKey {
  /** txid, internal byte order */
  hash: Buffer;
  index: number;
  privateKey: Buffer;
}

/** Chooses coins to prove for a server's `coins-required`; throws when it cannot (or may not). */
export interface CoinProver {
  select(need: CoinNeed): Promise<CoinKey[]>;
}

export interface RequestOptions {
  /** Most the caller will pay for this call, in satoshis (default 0: free calls only). */
  maxPayment?: number;
  /** First payment type to try when paying: `defer` (default) or `attached`. */
  prefer?: 'defer' | 'attached';
  /** Milliseconds for the whole call, all round trips (default REQUEST_TIMEOUT_MS). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Outcome of a call: the final (verified) response and what it cost. */
export interface CallResult {
  status: string;
  body: Buffer;
  /** Amount offered in the final round. */
  paid: number;
  paymentType: PaymentType;
  rounds: number;
  response: ResponsePacket;
}

/** Where a request goes: a connection and the identity expected to answer. */
export interface Route {
  peerId: number;
  serverKey: Buffer;
  send(req: RequestPacket): void;
}

interface Pending {
  peerId: number;
  /** The identity that must sign the answer. */
  serverKey: Buffer;
  resolve(res: ResponsePacket): void;
  reject(err: Error): void;
}

export interface RequesterOptions {
  magic: number;
  signer: () => Signer;
  payments: () => PaymentHooks;
  /** Who proves coins when a server asks (`coins-required`); null: never. */
  coins?: () => CoinProver | null;
}

/**
 * Statuses the envelope answers before it looks at an attached payment
 * (PROTOCOL 2.5): the payment was not taken, so the client undoes it.
 */
const UNPAID_STATUSES: ReadonlySet<string> = new Set([
  statuses.REFRESH_NONCE, statuses.TOO_LOW, statuses.NO_DEFER, statuses.PLEASE_PAY, statuses.PAYMENT_INVALID,
  statuses.DENIED, statuses.RATE_LIMITED, statuses.BUSY, statuses.SERVICE_UNSUPPORTED, statuses.METHOD_UNSUPPORTED,
  statuses.INVALID_SIGNATURE, statuses.UNCONFIRMED
]);

/** A payment whose call went unanswered, kept to retry that call with (PROTOCOL 2.5). */
interface Unanswered {
  data: Buffer;
  amount: number;
}

export class Requester {
  readonly nonces = new NonceCache();
  /**
   * What we deferred to each server and have not paid yet (sat, by server
   * key hex): decloud's client-side "deferred payment fulfillment". On
   * `please-pay` we pay what the server claims only as far as this record
   * (or the call's maxPayment) covers it.
   */
  private readonly debts = new BoundedMap<string, number>(MAX_NONCE_SERVERS);
  private readonly pending = new Map<string, Pending>();
  /**
   * Payments sent with a call that got no answer, by server and call
   * (callKey): retrying the same call presents the same tx, which the
   * server serves without a second payment if it took the first.
   */
  private readonly unanswered = new BoundedMap<string, Unanswered>(MAX_NONCE_SERVERS);
  private readonly options: RequesterOptions;

  constructor(options: RequesterOptions) {
    this.options = options;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sat we deferred to `server` and owe it still, as we recorded it. */
  owed(server: Buffer): number {
    return this.debts.get(server.toString('hex')) ?? 0;
  }

  private setOwed(server: Buffer, amount: number): void {
    if (amount === this.owed(server))
      return;
    if (amount > 0)
      this.debts.set(server.toString('hex'), amount);
    else
      this.debts.delete(server.toString('hex'));
    this.onChange();
  }

  /** Called after every change of what we owe (the tabs file, tabs.ts). */
  onChange: () => void = () => {};

  /** What we owe each server, for the tabs file. */
  debtEntries(): ClientTab[] {
    return [...this.debts.entries()].map(([hex, owed]) => ({ key: Buffer.from(hex, 'hex'), owed }));
  }

  /** Tabs read back from the tabs file (called once, at open). */
  loadDebts(tabs: ClientTab[]): void {
    for (const t of tabs)
      this.debts.set(t.key.toString('hex'), t.owed);
  }

  /**
   * Feed a csres from `peerId`; false when nothing waited for it. A response
   * not signed by the addressed identity is dropped and the call keeps
   * waiting: anyone on the path could inject one, so it must not fail the call.
   */
  receive(peerId: number, res: ResponsePacket): boolean {
    const key = res.requestHash.toString('hex');
    const p = this.pending.get(key);
    if (!p || p.peerId !== peerId)
      return false;
    // [IGNORE] not signed by the identity we addressed
    if (!res.verify(this.options.magic, p.serverKey))
      return false;
    this.pending.delete(key);
    p.resolve(res);
    return true;
  }

  /** Fail every call waiting on a closed connection. */
  peerClosed(peerId: number): void {
    for (const [key, p] of this.pending) {
      if (p.peerId === peerId) {
        this.pending.delete(key);
        p.reject(new RequestError(requestCodes.PEER_CLOSED));
      }
    }
  }

  close(): void {
    for (const [key, p] of this.pending) {
      this.pending.delete(key);
      p.reject(new RequestError(requestCodes.ABORTED, 'negotiator closed'));
    }
  }

  private roundTrip(route: Route, req: RequestPacket, signal: AbortSignal): Promise<ResponsePacket> {
    if (this.pending.size >= MAX_PENDING_REQUESTS)
      return Promise.reject(new RequestError(requestCodes.TOO_MANY_PENDING));
    const key = req.hash(this.options.magic).toString('hex');
    // Requests differ by nonce; an equal hash would mean a reused nonce.
    if (this.pending.has(key))
      return Promise.reject(new RequestError(requestCodes.BAD_OPTIONS, 'duplicate request'));
    return new Promise<ResponsePacket>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(key);
        const reason: unknown = signal.reason;
        const timeout = reason instanceof Error && reason.name === 'TimeoutError';
        reject(new RequestError(timeout ? requestCodes.TIMEOUT : requestCodes.ABORTED));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal.removeEventListener('abort', onAbort);
      this.pending.set(key, {
        peerId: route.peerId,
        serverKey: route.serverKey,
        resolve: (res) => { done(); resolve(res); },
        reject: (err) => { done(); reject(err); }
      });
      try {
        route.send(req);
      } catch (e) {
        this.pending.delete(key);
        done();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /**
   * A paid call got no answer: keep its payment for a retry of the call,
   * and let the payment hooks take it back if the server never took it
   * (PaymentHooks#unanswered).
   */
  private paidUnanswered(key: string, data: Buffer, amount: number): void {
    const entry: Unanswered = { data, amount };
    this.unanswered.set(key, entry);
    const hook = this.options.payments().unanswered;
    if (!hook)
      return;
    hook.call(this.options.payments(), data).then((outcome) => {
      if (outcome === 'abandoned' && this.unanswered.get(key) === entry)
        this.unanswered.delete(key);
    }, () => {});
  }

  async request(route: Route, service: string, method: string, args: Buffer,
    options: RequestOptions = {}): Promise<CallResult> {
    const maxPayment = options.maxPayment ?? 0;
    const timeout = options.timeout ?? REQUEST_TIMEOUT_MS;
    if (!Number.isSafeInteger(maxPayment) || maxPayment < 0 || maxPayment > MAX_MONEY)
      throw new RequestError(requestCodes.BAD_OPTIONS, 'maxPayment must be 0 to 21e14 sat');
    if (!Number.isSafeInteger(timeout) || timeout < 1 || timeout > MAX_REQUEST_TIMEOUT_MS)
      throw new RequestError(requestCodes.BAD_OPTIONS, `timeout must be 1 to ${MAX_REQUEST_TIMEOUT_MS} ms`);
    // Like AbortSignal.timeout, but the timer keeps the process alive while a
    // call waits (AbortSignal.timeout's timer is unref'd).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('request timed out', 'TimeoutError')), timeout);
    const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal;
    try {
      return await this.rounds(route, service, method, args, maxPayment, options, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async rounds(route: Route, service: string, method: string, args: Buffer,
    maxPayment: number, options: RequestOptions, signal: AbortSignal): Promise<CallResult> {
    const { magic } = this.options;

    let type: PaymentType = paymentTypes.NONE;
    let amount = 0;
    let noDefer = options.prefer === 'attached';
    let data: Buffer = Buffer.alloc(0);
    /** Of `amount`, the part that settles earlier deferred calls (please-pay). */
    let settling = 0;
    const payType = (): PaymentType => noDefer ? paymentTypes.ATTACHED : paymentTypes.DEFER;
    // Coins the server asked this call to prove (coins-required), and the keys chosen for them.
    let coinNeed: CoinNeed | null = null;
    let chosen: CoinKey[] | null = null;
    const coinKeys = async (need: CoinNeed): Promise<CoinKey[]> => {
      if (!chosen) {
        const prover = this.options.coins?.() ?? null;
        if (!prover)
          throw new RequestError(requestCodes.PAYMENT_UNAVAILABLE, 'no coin prover');
        chosen = await prover.select(need);
      }
      return chosen;
    };

    const retryKey = route.serverKey.toString('hex') + callKey(service, method, args);
    for (let round = 1; round <= MAX_REQUEST_ROUNDS; round++) {
      const earlier = type === paymentTypes.ATTACHED ? this.unanswered.get(retryKey) : undefined;
      if (earlier && earlier.amount >= amount) {
        // The same call paid before and got no answer: present that payment again.
        this.unanswered.delete(retryKey);
        data = earlier.data;
        amount = earlier.amount;
      } else if (type === paymentTypes.ATTACHED) {
        try {
          data = await this.options.payments().attach(route.serverKey, amount);
        } catch (e) {
          throw new RequestError(requestCodes.PAYMENT_UNAVAILABLE, (e as Error).message);
        }
      } else {
        data = Buffer.alloc(0);
      }
      const req = coinNeed ? new CoinRequestPacket() : new RequestPacket();
      req.to = route.serverKey;
      req.nonce = this.nonces.take(route.serverKey);
      if (req instanceof CoinRequestPacket && coinNeed) {
        const signer = this.options.signer();
        let keys: CoinKey[];
        try {
          keys = await coinKeys(coinNeed);
        } catch (e) {
          // Never sent: the payment's coins are spendable again.
          if (type === paymentTypes.ATTACHED)
            await this.options.payments().refused?.(data);
          throw e;
        }
        req.coins = keys.map((k) =>
          signProof(magic, signer.publicKey, route.serverKey, req.nonce, k.hash, k.index, k.privateKey));
      }
      req.service = service;
      req.method = method;
      req.args = args;
      req.payment = type === paymentTypes.NONE ? Payment.none() : Payment.from(type, amount, data);
      req.sign(this.options.signer(), magic);

      // Resolves only with a response signed by route.serverKey (see receive).
      let res: ResponsePacket;
      try {
        res = await this.roundTrip(route, req, signal);
      } catch (e) {
        if (type === paymentTypes.ATTACHED)
          this.paidUnanswered(retryKey, data, amount);
        throw e;
      }
      if (res.hasNextNonce())
        this.nonces.add(route.serverKey, res.nextNonce);

      const result: CallResult = { status: res.status, body: res.body, paid: amount, paymentType: type, rounds: round, response: res };
      if (type === paymentTypes.ATTACHED && UNPAID_STATUSES.has(res.status))
        await this.options.payments().refused?.(data);
      else if (type === paymentTypes.ATTACHED) {
        await this.options.payments().taken?.(data);
        this.setOwed(route.serverKey, this.owed(route.serverKey) - settling);
      }
      else if (type === paymentTypes.DEFER && res.status === statuses.OK)
        this.setOwed(route.serverKey, this.owed(route.serverKey) + amount);
      switch (res.status) {
        case statuses.REFRESH_NONCE:
          // [REJECT] a refresh without a nonce would loop
          if (!res.hasNextNonce())
            throw new RequestError(requestCodes.BAD_RESPONSE, 'refresh-nonce without a nonce');
          continue;
        case statuses.TOO_LOW: {
          const want = readBody(res.body);
          if (want > maxPayment || want <= amount && type !== paymentTypes.NONE)
            return result;
          amount = want;
          type = payType();
          continue;
        }
        case statuses.NO_DEFER:
          if (noDefer || amount === 0 && maxPayment === 0)
            return result;
          noDefer = true;
          type = paymentTypes.ATTACHED;
          continue;
        case statuses.COINS_REQUIRED: {
          let need: CoinNeed;
          try {
            need = readCoinNeed(res.body);
          } catch {
            throw new RequestError(requestCodes.BAD_RESPONSE, 'malformed coins-required body');
          }
          // Asked again after proving, or this node proves no coins (--coin-proofs): the caller sees the status.
          if (coinNeed !== null || !this.options.coins?.())
            return result;
          coinNeed = need;
          try {
            await coinKeys(need);
          } catch {
            return result;
          }
          continue;
        }
        case statuses.PLEASE_PAY: {
          // Pay what the server says we owe as far as our own record of
          // deferred calls covers it; beyond that, only within maxPayment.
          const owed = readBody(res.body);
          const known = this.owed(route.serverKey);
          if (type === paymentTypes.ATTACHED || owed > known && owed - known + amount > maxPayment)
            return result;
          settling = owed;
          amount += owed;
          type = paymentTypes.ATTACHED;
          continue;
        }
        default:
          return result;
      }
    }
    throw new RequestError(requestCodes.TOO_MANY_ROUNDS);
  }
}

function readBody(body: Buffer): number {
  try {
    return readAmountBody(body);
  } catch {
    throw new RequestError(requestCodes.BAD_RESPONSE, 'malformed amount body');
  }
}
