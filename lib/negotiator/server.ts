/*!
 * server.ts - the csreq pipeline, in DESIGN 4 order:
 *
 *   decode and validate (recipient, signature, nonce, service, method)
 *   -> access control (policies, rate limits, payment)
 *   -> record the promise -> run the service -> record fulfilment.
 *
 * Every outcome is a signed csres with a status; every response carries a
 * fresh nonce except those to a misaddressed or badly signed request and
 * `busy`. The nonce is peeked before the signature is checked, so a stale
 * nonce costs a lookup, not a verify. `handle` also returns a
 * kebab-case code naming the outcome, for logs and tests.
 */

import { EventEmitter } from 'events';
import { BoundedMap } from './boundedmap';
import { FALSE_PAYMENT_SCORE, MAX_BODY_SIZE, MAX_LEDGER_RECORDS, NONCE_SIZE, MALFORMED_SCORE } from './common';
import { PaidTXs, callKey, type PaidRecord } from './paidtx';
import { NonceManager, nonceResults } from './nonces';
import { RequestPacket, ResponsePacket, paymentTypes, isValidStatus } from './envelope';
import { Signer } from '../base/signed';
import type { PaymentHooks, PaymentVerdict } from './payment';
import { Policy, RateLimiter } from './policy';
import { BAD_ARGS, ServiceError, packetCodes } from './errors';
import { ServiceRegistry, type MethodSpec, type RequestContext, type Service } from './services';
import { CreditLedger } from './credit';
import { coinNeedBody, coinsCover, verifyProofs, type VerifiedCoin } from './coins';
import { CoinRequestPacket } from './envelope';
import type { CoinView } from './coins';
import { statuses, amountBody } from './status';
import type { PeerLike } from './peers';

/** Outcome codes of the server pipeline. */
export const serverCodes = {
  OK: 'ok',
  WRONG_RECIPIENT: packetCodes.WRONG_RECIPIENT,
  BAD_SIGNATURE: packetCodes.BAD_SIGNATURE,
  REPLAYED_NONCE: nonceResults.REPLAYED,
  UNKNOWN_NONCE: nonceResults.UNKNOWN,
  EXPIRED_NONCE: nonceResults.EXPIRED,
  UNKNOWN_SERVICE: 'unknown-service',
  UNKNOWN_METHOD: 'unknown-method',
  DENIED: 'denied',
  RATE_LIMITED: 'rate-limited',
  COINS_REQUIRED: 'coins-required',
  TOO_LOW: 'too-low',
  NO_DEFER: 'no-defer',
  PLEASE_PAY: 'please-pay',
  PAYMENT_INVALID: 'payment-invalid',
  UNCONFIRMED: 'unconfirmed',
  SERVICE_ERROR: 'service-error',
  BUSY: 'busy'
} as const;

export type ServerCode = typeof serverCodes[keyof typeof serverCodes] | string;

/** One promise / fulfilment record. */
export interface LedgerRecord {
  requestHash: string;
  from: string;
  service: string;
  method: string;
  paid: number;
  paymentType: number;
  promisedAt: number;
  status: string | null;
  fulfilledAt: number | null;
}

export interface ServerOptions {
  magic: number;
  signer: () => Signer;
  registry: ServiceRegistry;
  policy: Policy;
  nonces: NonceManager;
  credits: CreditLedger;
  payments: () => PaymentHooks;
  addressOf: (pk: Buffer) => string;
  onError?: (err: unknown, req: RequestPacket) => void;
  clock?: () => number;
  /** The UTXO set, for coin proofs (coins.ts); without it no coin counts. */
  coinView?: CoinView;
  /** The chain height coin ages are counted from. */
  height?: () => number;
  /** Most sat of one identity's attached payments served while unconfirmed (`--unconfirmed-limit`). */
  unconfirmedLimit: number;
}

export interface Handled {
  response: ResponsePacket;
  code: ServerCode;
  /** Ban score the sender earned (a service's ServiceError.score), applied once answered; 0 when none. */
  score?: number;
}

export class Server extends EventEmitter {
  readonly registry: ServiceRegistry;
  readonly policy: Policy;
  readonly nonces: NonceManager;
  readonly credits: CreditLedger;
  readonly limiter: RateLimiter;
  /** Newest promise / fulfilment records by request hash. */
  readonly ledger = new BoundedMap<string, LedgerRecord>(MAX_LEDGER_RECORDS);
  /** Attached payments taken, by txid (paidtx.ts). */
  readonly paid = new PaidTXs();
  private readonly options: ServerOptions;
  private readonly clock: () => number;

  constructor(options: ServerOptions) {
    super();
    this.options = options;
    this.registry = options.registry;
    this.policy = options.policy;
    this.nonces = options.nonces;
    this.credits = options.credits;
    this.clock = options.clock ?? Date.now;
    this.limiter = new RateLimiter(this.clock);
  }

  private respond(req: RequestPacket, reqHash: Buffer, status: string,
    code: ServerCode, body?: Buffer, nonce = true): Handled {
    const res = new ResponsePacket();
    res.requestHash = reqHash;
    res.status = status;
    res.body = body ?? Buffer.alloc(0);
    res.nextNonce = nonce ? this.nonces.issue(req.from) : Buffer.alloc(NONCE_SIZE);
    res.sign(this.options.signer(), this.options.magic);
    return { response: res, code };
  }

  /** Answer without looking at the request (too many in flight). */
  busy(req: RequestPacket): Handled {
    return this.respond(req, req.hash(this.options.magic), statuses.BUSY, serverCodes.BUSY, undefined, false);
  }

  /**
   * Run one request through the pipeline; every stage either answers (a
   * Handled) or hands the request on. Never throws: a failing service is a
   * `server-error` answer.
   */
  async handle(req: RequestPacket, peer: PeerLike): Promise<Handled> {
    const job: Job = { req, reqHash: req.hash(this.options.magic), peer, address: '', deferred: 0, coins: [] };
    const found = this.validate(job);
    if ('response' in found)
      return found;
    const declined = await this.admit(job, found.service);
    if (declined)
      return declined;
    return this.run(job, found.method);
  }

  /** 1. Decode and validate: recipient, nonce, signature, service, method. */
  private validate(job: Job): Handled | { service: Service; method: MethodSpec } {
    const { req, reqHash } = job;
    // [REJECT] envelope addressed to another identity
    if (!req.to.equals(this.options.signer().publicKey))
      return this.respond(req, reqHash, statuses.BAD_REQUEST, serverCodes.WRONG_RECIPIENT, undefined, false);
    // [REJECT] nonce not outstanding for `from` (unknown, expired or replayed);
    // peeked before the signature: a map lookup is cheaper than a verify.
    // The nonce goes to `from`, the identity the connection proved (negotiator).
    const peek = this.nonces.check(req.from, req.nonce);
    if (peek !== nonceResults.OK)
      return this.respond(req, reqHash, statuses.REFRESH_NONCE, peek);
    // [REJECT] signature by `from` does not verify
    if (!req.verify(this.options.magic))
      return this.respond(req, reqHash, statuses.INVALID_SIGNATURE, serverCodes.BAD_SIGNATURE, undefined, false);
    // [REJECT] nonce consumed by a concurrent request since the peek
    const nonce = this.nonces.consume(req.from, req.nonce);
    if (nonce !== nonceResults.OK)
      return this.respond(req, reqHash, statuses.REFRESH_NONCE, nonce);
    const service = this.registry.get(req.service);
    // [REJECT] service not offered
    if (!service)
      return this.respond(req, reqHash, statuses.SERVICE_UNSUPPORTED, serverCodes.UNKNOWN_SERVICE);
    const method = this.registry.method(req.service, req.method);
    // [REJECT] method not offered by the service
    if (!method)
      return this.respond(req, reqHash, statuses.METHOD_UNSUPPORTED, serverCodes.UNKNOWN_METHOD);
    return { service, method };
  }

  /** 2. Access control: policies, rate limit, price, payment. Null when admitted. */
  private async admit(job: Job, service: Service): Promise<Handled | null> {
    const { req, reqHash } = job;
    job.address = this.options.addressOf(req.from);
    const decision = this.policy.decide({
      service: req.service, method: req.method, publicKey: req.from, address: job.address
    });
    // [REJECT] a deny policy is the most specific match
    if (!decision.allowed)
      return this.respond(req, reqHash, statuses.DENIED, serverCodes.DENIED);
    // [REJECT] client over the rate limit of the most specific rate-limit policy
    if (decision.rateLimit && !this.limiter.take(decision.rateLimit, req.from.toString('hex')))
      return this.respond(req, reqHash, statuses.RATE_LIMITED, serverCodes.RATE_LIMITED);
    // Coin proofs are checked after the cheap rules (each costs a signature check and a UTXO lookup).
    if (req instanceof CoinRequestPacket && this.options.coinView) {
      job.coins = await verifyProofs(req.coins, this.options.magic, req.from, req.to, req.nonce, this.options.coinView,
        this.options.height ? this.options.height() : 0);
    }
    // [REJECT] a min-coins policy applies and the proven coins fall short
    if (decision.minCoins && !coinsCover(job.coins, decision.minCoins.amount, decision.minCoins.age))
      return this.respond(req, reqHash, statuses.COINS_REQUIRED, serverCodes.COINS_REQUIRED, coinNeedBody(decision.minCoins));
    let price: number;
    try {
      price = Math.max(decision.minPayment,
        await this.registry.quote(service, req.method, req.args, req.from));
    } catch (e) {
      this.options.onError?.(e, req);
      return this.respond(req, reqHash, statuses.SERVER_ERROR, serverCodes.SERVICE_ERROR);
    }
    return this.pay(job, price, decision.deferLimit ?? this.credits.limit);
  }

  /**
   * The payment offered against `price`, with `limit` the credit (sat) the
   * client may defer for this call (the scope's defer-limit); sets
   * `job.deferred`. Null when it pays.
   */
  private async pay(job: Job, price: number, limit: number): Promise<Handled | null> {
    const { req, reqHash } = job;
    const pay = req.payment;
    if (pay.type === paymentTypes.NONE) {
      // [REJECT] nothing offered for a priced call
      if (price > 0)
        return this.respond(req, reqHash, statuses.TOO_LOW, serverCodes.TOO_LOW, amountBody(price));
      return null;
    }
    if (pay.type === paymentTypes.DEFER) {
      // [REJECT] deferred payment not accepted at all, or the price alone exceeds the credit limit
      if (limit === 0 || price > limit)
        return this.respond(req, reqHash, statuses.NO_DEFER, serverCodes.NO_DEFER);
      // [REJECT] bid below the price
      if (pay.amount < price)
        return this.respond(req, reqHash, statuses.TOO_LOW, serverCodes.TOO_LOW, amountBody(price));
      // [REJECT] credit exhausted: pay what is owed first
      if (!this.credits.canDefer(req.from, pay.amount, limit))
        return this.respond(req, reqHash, statuses.PLEASE_PAY, serverCodes.PLEASE_PAY,
          amountBody(this.credits.get(req.from)));
      job.deferred = pay.amount;
      return null;
    }
    // [REJECT] bid below the price
    if (pay.amount < price)
      return this.respond(req, reqHash, statuses.TOO_LOW, serverCodes.TOO_LOW, amountBody(price));
    // [REJECT] a payer whose payment was double spent pays what it owes with the price, first
    if (this.credits.isDue(req.from) && pay.amount < price + this.credits.get(req.from))
      return this.respond(req, reqHash, statuses.PLEASE_PAY, serverCodes.PLEASE_PAY, amountBody(this.credits.get(req.from)));
    const hooks = this.options.payments();
    const id = hooks.id ? hooks.id(pay.data) : null;
    // [REJECT] payment data that is no payment at all: answered, then scored
    if (hooks.id && id === null)
      return this.invalid(job, MALFORMED_SCORE);
    const call = callKey(req.service, req.method, req.args);
    const known = id !== null ? this.paid.get(id) : null;
    if (known) {
      const reuse = this.paid.reuse(known, req.from, call);
      // [REJECT] a payment that paid another call, or another identity's: a replay
      if (reuse === 'replay')
        return this.invalid(job, FALSE_PAYMENT_SCORE);
      // [REJECT] the same call served again too often against one payment
      // [REJECT] a retry claiming more than the payment was credited for
      if (reuse === 'exhausted' || pay.amount > known.amount)
        return this.invalid(job, 0);
      // A retry of the call whose answer was lost: served, paid already.
      return null;
    }
    // [REJECT] over the unconfirmed credit this server extends to one identity
    if (hooks.pending) {
      const pending = hooks.pending.bind(hooks);
      const unconfirmed = this.paid.unconfirmed(req.from, pending);
      if (unconfirmed + pay.amount > this.options.unconfirmedLimit)
        return this.respond(req, reqHash, statuses.UNCONFIRMED, serverCodes.UNCONFIRMED, amountBody(unconfirmed));
    }
    let ok: PaymentVerdict = false;
    try {
      ok = await hooks.verify(req.from, pay.amount, pay.data);
    } catch (e) {
      this.options.onError?.(e, req);
    }
    // [REJECT] payment data that is no payment at all: answered, then scored
    if (ok === 'malformed')
      return this.invalid(job, MALFORMED_SCORE);
    // [REJECT] a tx paying us less than it claims (or paying someone else): answered, then scored
    if (ok === 'underpays')
      return this.invalid(job, FALSE_PAYMENT_SCORE);
    // [REJECT] the attached payment does not pay the amount
    if (!ok)
      return this.invalid(job, 0);
    // Settled first: recording the payment writes both ledgers at once
    // (ledgerfiles.ts), before the answer leaves, so a crash right after
    // it keeps the debt it paid down paid.
    this.credits.settle(req.from, pay.amount - price);
    if (id !== null)
      this.paid.add(id, req.from, call, pay.amount, pay.data);
    return null;
  }

  /** `invalid`, with the ban score the sender earned (0: none). */
  private invalid(job: Job, score: number): Handled {
    const handled = this.respond(job.req, job.reqHash, statuses.PAYMENT_INVALID, serverCodes.PAYMENT_INVALID);
    return score > 0 ? { ...handled, score } : handled;
  }

  /**
   * A payment tx this server took was double spent (another tx spent its
   * input and pays otherwise, ledgerfiles.ts): its payer owes the amount again and
   * defers nothing until it pays (CreditLedger#chargeBack). Returns the
   * record, or null for a tx that paid nothing here.
   */
  doubleSpent(id: string): PaidRecord | null {
    const rec = this.paid.get(id);
    if (!rec || rec.doubleSpent)
      return null;
    // Charged first: marking the record writes both ledgers at once
    // (ledgerfiles.ts), so a crash never leaves it marked but not owed.
    this.credits.chargeBack(rec.from, rec.amount);
    this.paid.markDoubleSpent(rec);
    return rec;
  }

  /** 3-5. Record the promise, run the service, record fulfilment, answer. */
  private async run(job: Job, spec: MethodSpec): Promise<Handled> {
    const { req, reqHash } = job;
    const pay = req.payment;
    // Deferred amounts are charged now and refunded if the service fails.
    this.credits.charge(req.from, job.deferred);
    const record: LedgerRecord = {
      requestHash: reqHash.toString('hex'),
      from: req.from.toString('hex'),
      service: req.service,
      method: req.method,
      paid: pay.amount,
      paymentType: pay.type,
      promisedAt: this.clock(),
      status: null,
      fulfilledAt: null
    };
    this.ledger.set(record.requestHash, record);
    this.emit('promise', record);

    const ctx: RequestContext = {
      from: req.from, address: job.address, peer: job.peer, request: req, paid: pay.amount, coins: job.coins
    };
    let status: string = statuses.OK;
    let code: ServerCode = serverCodes.OK;
    let body: Buffer;
    let score = 0;
    try {
      body = await spec.handler(req.args, ctx);
      if (body.length > MAX_BODY_SIZE)
        throw new Error(`${req.service}.${req.method} body exceeds ${MAX_BODY_SIZE} bytes.`);
    } catch (e) {
      // A ServiceError's status and body go on the wire: they must decode at the peer.
      if (e instanceof ServiceError && isValidStatus(e.status) && e.body.length <= MAX_BODY_SIZE) {
        status = e.status;
        code = e.code;
        body = e.body;
        // Malformed args cost the same whichever service read them.
        score = e.code === BAD_ARGS ? MALFORMED_SCORE : e.score;
      } else {
        this.options.onError?.(e, req);
        status = statuses.SERVER_ERROR;
        code = serverCodes.SERVICE_ERROR;
        body = Buffer.alloc(0);
      }
      if (job.deferred > 0)
        this.credits.settle(req.from, job.deferred);
    }

    record.status = status;
    record.fulfilledAt = this.clock();
    this.emit('fulfil', record);
    return { ...this.respond(req, reqHash, status, code, body), score };
  }
}

/** A request on its way through the pipeline. */
interface Job {
  req: RequestPacket;
  reqHash: Buffer;
  peer: PeerLike;
  /** Client identity address, once access control looked it up. */
  address: string;
  /** Satoshis deferred to the client's credit by this request. */
  deferred: number;
  /** Coins its proofs showed (empty without proofs). */
  coins: VerifiedCoin[];
}
