/*!
 * coinholds.ts - wallet coins the node itself keeps locked (the inputs of
 * an in-flight payment, lib/negotiator/walletpay.ts), which the user's
 * `lockunspent true` must leave locked.
 *
 * bcoin has one set of locked coins per wallet. bitcoind's lockunspent
 * unlocks every coin the user locked; here the node also locks coins while
 * a payment it signed may still reach the chain, and unlocking those would
 * let the next send spend them: the payment becomes a double spend, the
 * server charges it back and bans us.
 */

/** The coin of `hash` (txid, internal byte order hex) and `index`. */
export interface CoinRef {
  hash: string;
  index: number;
}

const held = new WeakMap<object, Set<string>>();

function key(o: CoinRef): string {
  return `${o.hash}:${o.index}`;
}

/** Mark the coin as held by the node for `wallet` (the caller locks it in the wallet too). */
export function holdCoin(wallet: object, o: CoinRef): void {
  let set = held.get(wallet);
  if (!set) {
    set = new Set();
    held.set(wallet, set);
  }
  set.add(key(o));
}

/** The node no longer holds the coin. */
export function releaseCoin(wallet: object, o: CoinRef): void {
  held.get(wallet)?.delete(key(o));
}

/** Whether the node holds the coin (lockunspent leaves it locked). */
export function isHeldCoin(wallet: object, o: CoinRef): boolean {
  return held.get(wallet)?.has(key(o)) ?? false;
}
