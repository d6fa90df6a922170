/*!
 * errors.ts - error types shared by cloudcoind and its extensions.
 *
 * RPCError carries a bitcoind-style code (bweb reads `type === 'RPCError'`
 * and passes `code` through). PacketError carries a lodestar-style verdict
 * for a bad P2P packet: `reject` raises the sender's ban score by `score`,
 * `ignore` drops the packet silently.
 */

/** bitcoind RPC error codes (src/rpc/protocol.h) used by CloudCoin. */
export const rpcCodes = {
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  INVALID_ADDRESS_OR_KEY: -5,
  WALLET_INSUFFICIENT_FUNDS: -6,
  OUT_OF_MEMORY: -7,
  INVALID_PARAMETER: -8,
  DATABASE_ERROR: -20,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  IN_WARMUP: -28,
  CLIENT_NOT_CONNECTED: -9,
  CLIENT_NODE_NOT_CONNECTED: -29,
  CLIENT_P2P_DISABLED: -31
} as const;

export type RPCCode = typeof rpcCodes[keyof typeof rpcCodes];

/** An error an RPC caller caused or should see as-is. */
export class RPCError extends Error {
  readonly type = 'RPCError';
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = 'RPCError';
    this.code = code;
  }
}

/** Shorthand for the most common RPC error: a bad parameter. */
export function invalidParam(message: string): RPCError {
  return new RPCError(rpcCodes.INVALID_PARAMETER, message);
}

/** What to do with a peer that sent a bad packet. */
export type Verdict = 'ignore' | 'reject';

/** A P2P packet that failed decoding or validation. */
export class PacketError extends Error {
  readonly code: string;
  readonly verdict: Verdict;
  readonly score: number;

  /**
   * @param code kebab-case reason, e.g. `bad-envelope-sig`
   * @param verdict `reject` bans by `score`; `ignore` drops silently
   * @param score ban score increase (100 bans at once)
   */
  constructor(code: string, verdict: Verdict = 'reject', score = 10) {
    super(code);
    this.name = 'PacketError';
    this.code = code;
    this.verdict = verdict;
    this.score = score;
  }
}
