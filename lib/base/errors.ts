/*!
 * errors.ts - the error base every CloudCoin error class derives from.
 *
 * CodedError follows lodestar's LodestarError: `code` is a literal union per
 * domain (`ContractError` has `ContractCode`, `StoreError` has
 * `StoreErrorCode`...), `name` is the class name, and `detail` carries
 * machine-readable extras. Callers and tests branch on the class and the
 * code, never on the message, which is for people and may change.
 *
 * RPCError carries a bitcoind-style numeric code (bweb reads
 * `type === 'RPCError'` and passes `code` through); lib/base/rpc.ts turns
 * domain errors into it at the RPC boundary. PacketError carries a
 * lodestar-style verdict for a bad P2P packet: `reject` raises the sender's
 * ban score by `score`, `ignore` drops the packet silently.
 */

/**
 * An error with a stable code.
 * @typeParam C the domain's codes: kebab-case strings (`bad-contract-sig`),
 *   or bitcoind's numeric codes for RPCError
 * @typeParam D shape of `detail` (default: a plain record, empty when unset)
 */
export class CodedError<C extends string | number = string, D extends object = Record<string, unknown>> extends Error {
  readonly code: C;
  readonly detail: D;

  /**
   * @param code stable reason, what callers and tests branch on
   * @param message one line for people (default: the code)
   * @param detail machine-readable extras (`{received: 12}`)
   */
  constructor(code: C, message?: string, detail?: D) {
    super(message ?? String(code));
    this.name = new.target.name;
    this.code = code;
    this.detail = detail ?? ({} as D);
  }
}

/** bitcoind RPC error codes (src/rpc/protocol.h) used by CloudCoin. */
export const rpcCodes = {
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  INVALID_ADDRESS_OR_KEY: -5,
  WALLET_ERROR: -4,
  WALLET_INSUFFICIENT_FUNDS: -6,
  WALLET_INVALID_ACCOUNT_NAME: -11,
  WALLET_UNLOCK_NEEDED: -13,
  OUT_OF_MEMORY: -7,
  INVALID_PARAMETER: -8,
  DATABASE_ERROR: -20,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  IN_WARMUP: -28,
  CLIENT_NOT_CONNECTED: -9,
  CLIENT_NODE_NOT_CONNECTED: -29,
  CLIENT_P2P_DISABLED: -31,
  WALLET_PASSPHRASE_INCORRECT: -14,
  WALLET_WRONG_ENC_STATE: -15
} as const;

export type RPCCode = typeof rpcCodes[keyof typeof rpcCodes];

/** An error an RPC caller caused or should see as-is. */
export class RPCError extends CodedError<RPCCode> {
  /** What bweb's RPC#getCode looks for to pass `code` through. */
  readonly type = 'RPCError';

  constructor(code: RPCCode, message: string) {
    super(code, message);
  }
}

/** bitcoind's answer when a private key is needed and the wallet is locked (RPC -13). */
export const UNLOCK_NEEDED = 'Error: Please enter the wallet passphrase with walletpassphrase first.';

/**
 * The wallet is encrypted and locked where a key is needed: spending the
 * wallet's coins, or (before the node ever held it) the node's own keys.
 * RPC translators answer it with WALLET_UNLOCK_NEEDED (-13).
 */
export class WalletLockedError extends CodedError<'wallet-locked'> {
  constructor(message: string = UNLOCK_NEEDED) {
    super('wallet-locked', message);
  }
}

/** Shorthand for the most common RPC error: a bad parameter. */
export function invalidParam(message: string): RPCError {
  return new RPCError(rpcCodes.INVALID_PARAMETER, message);
}

/** What to do with a peer that sent a bad packet. */
export type Verdict = 'ignore' | 'reject';

/**
 * A P2P packet that failed decoding or validation. The code is the
 * kebab-case rule that failed; each extension has its own set, so the
 * type parameter defaults to any string.
 */
export class PacketError<C extends string = string> extends CodedError<C> {
  readonly verdict: Verdict;
  readonly score: number;

  /**
   * @param code kebab-case reason, e.g. `bad-envelope-sig`
   * @param verdict `reject` bans by `score`; `ignore` drops silently
   * @param score ban score increase (100 bans at once)
   */
  constructor(code: C, verdict: Verdict = 'reject', score = 10) {
    super(code);
    this.verdict = verdict;
    this.score = score;
  }
}
