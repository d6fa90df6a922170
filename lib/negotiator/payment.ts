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

/** A payment check's outcome: it pays, it does not, or `data` is no payment at all (the sender is scored). */
export type PaymentVerdict = boolean | 'malformed';

export interface PaymentHooks {
  /** Server: does `data` pay us `amount` sat from identity `from`? */
  verify(from: Buffer, amount: number, data: Buffer): Promise<PaymentVerdict>;
  /** Client: payment bytes paying `amount` sat to identity `to`; throw if impossible. */
  attach(to: Buffer, amount: number): Promise<Buffer>;
  /** Client: the server did not take what `attach` made (answered before looking at it, or refused it): undo it. */
  refused?(data: Buffer): Promise<void>;
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
