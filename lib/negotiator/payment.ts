/*!
 * payment.ts - the payment hook between the envelope and payment channels.
 *
 * The envelope carries `attached` payments as opaque channel-state bytes.
 * The payment-channel subsystem (a later issue) checks them on the server
 * and builds them on the client by installing its own PaymentHooks with
 * `Negotiator#setPaymentHooks`. Until then regtest accepts claimed amounts
 * unverified (so the bidding flow can be exercised end to end) and other
 * networks refuse attached payments.
 */

export interface PaymentHooks {
  /** Server: does `data` pay us `amount` sat from identity `from`? */
  verify(from: Buffer, amount: number, data: Buffer): Promise<boolean>;
  /** Client: channel-state bytes paying `amount` sat to identity `to`; throw if impossible. */
  attach(to: Buffer, amount: number): Promise<Buffer>;
}

/** Regtest placeholder: claims are believed. Never used off regtest. */
export const unverifiedPayments: PaymentHooks = {
  async verify(): Promise<boolean> {
    return true;
  },
  async attach(): Promise<Buffer> {
    return Buffer.from('unverified', 'latin1');
  }
};

/** No payment channels: attached payments are refused and never made. */
export const noPayments: PaymentHooks = {
  async verify(): Promise<boolean> {
    return false;
  },
  async attach(): Promise<Buffer> {
    throw new Error('payment-unavailable');
  }
};

export function defaultPaymentHooks(networkType: string): PaymentHooks {
  return networkType === 'regtest' ? unverifiedPayments : noPayments;
}
