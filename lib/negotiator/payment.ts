/*!
 * payment.ts - the payment hooks between the envelope and real money.
 *
 * The envelope carries `attached` payments as opaque bytes. cloudcoind
 * installs wallet payments (walletpay.ts: a wallet transaction paying the
 * server's identity address) with `Negotiator#setPaymentHooks` once its
 * wallet is open. A negotiator without them refuses attached payments and
 * never makes one (`noPayments`); `unverifiedPayments` believes claims and
 * exists for in-memory tests of the envelope, which have no wallet.
 */

/**
 * A payment check's outcome: it pays, it does not (a tx the mempool
 * refused, or one it already has), or the sender lied: `malformed` (no
 * payment at all) and `underpays` (pays this server less than claimed, or
 * someone else) are scored.
 */
export type PaymentVerdict = boolean | 'malformed' | 'underpays';

/**
 * A payment taken, given back to the node at start or after a reorg took
 * it out of the chain (PaymentHooks#restore): `pending` (in the mempool
 * again, or already), `confirmed` (a block holds it), `double-spent` (a
 * conflicting tx in the mempool or the chain holds its inputs), `unknown`
 * (inputs the node does not know, such as an unconfirmed parent the
 * restart lost, or refused for another reason).
 */
export type RestoredPayment = 'pending' | 'confirmed' | 'double-spent' | 'unknown';

/** What became of a payment whose call went unanswered (PaymentHooks#unanswered). */
export type UnansweredOutcome = 'kept' | 'abandoned';

export interface PaymentHooks {
  /** Server: does `data` pay us `amount` sat from identity `from`? */
  verify(from: Buffer, amount: number, data: Buffer): Promise<PaymentVerdict>;
  /**
   * Client: payment bytes paying `amount` sat to identity `to`; throw if
   * impossible. What they spend stays held until `taken`, `refused` or
   * `unanswered` settles it.
   */
  attach(to: Buffer, amount: number): Promise<Buffer>;
  /**
   * Client: the server answered a status that takes the payment in `data`
   * (it has the tx): record it as spent. Until then `attach` only holds
   * its coins: a payment is never sent out by its payer.
   */
  taken?(data: Buffer): Promise<void>;
  /** Client: the server did not take what `attach` made (answered before looking at it, or refused it): undo it. */
  refused?(data: Buffer): Promise<void>;
  /**
   * Client: a call carrying `data` got no answer (timeout, closed
   * connection). Resolves `abandoned` once the payment was given back
   * (not seen in the mempool or chain within the grace period), `kept`
   * when the server took it (it is out there: the call may be retried
   * with the same bytes).
   */
  unanswered?(data: Buffer): Promise<UnansweredOutcome>;
  /** Both sides: the id of the payment in `data` (a txid), or null when it is no payment at all. */
  id?(data: Buffer): string | null;
  /** Server: is the payment `id` it took still unconfirmed (in its mempool)? */
  pending?(id: string): boolean;
  /** Server: put back a payment tx taken before a restart or a reorg (ledgerfiles.ts); never throws. */
  restore?(data: Buffer): Promise<RestoredPayment>;
  /**
   * Server: the outputs the payment in `data` spends, as "txid:index"
   * (RPC order), to find a block tx that spends one too (a double spend
   * the mempool did not see); [] when it is no tx.
   */
  spends?(data: Buffer): string[];
  /**
   * Server: the tx in the mempool, or in the chain's last blocks, that
   * spends an input of the payment in `data` (its raw bytes, and whether
   * a block holds it), or null: none found. Asked for a payment found
   * double spent, to tell a malleated copy of it (paymentkey.ts) from a
   * double spend.
   */
  spender?(data: Buffer): Promise<{ data: Buffer; confirmed: boolean } | null>;
  /**
   * Server: do `a` and `b` make the same payment under other input
   * scripts (a malleated copy: the same inputs, outputs, version and
   * locktime, paymentkey.ts)? Such a copy pays as the payment does.
   */
  samePayment?(a: Buffer, b: Buffer): boolean;
}

/** Claims are believed: for in-memory tests only, never installed by cloudcoind. */
export const unverifiedPayments: PaymentHooks = {
  async verify(): Promise<boolean> {
    return true;
  },
  async attach(): Promise<Buffer> {
    return Buffer.from('unverified', 'latin1');
  }
};

/** No wallet: attached payments are refused and never made. */
export const noPayments: PaymentHooks = {
  async verify(): Promise<boolean> {
    return false;
  },
  async attach(): Promise<Buffer> {
    throw new Error('payment-unavailable');
  }
};
