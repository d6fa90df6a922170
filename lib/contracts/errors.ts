/*!
 * errors.ts - the typed error every contract check throws.
 *
 * `code` is a kebab-case reason (`bad-contract-sig`); tests and callers
 * branch on it, never on the message.
 */

/** A contract, payload or transaction failed a CloudCoin rule. */
export class ContractError extends Error {
  readonly type = 'ContractError';
  readonly code: string;

  constructor(code: string, message?: string) {
    super(message ? `${code}: ${message}` : code);
    this.name = 'ContractError';
    this.code = code;
  }
}

/** Throw a ContractError unless `ok`. */
export function enforce(ok: boolean, code: string, message?: string): asserts ok {
  if (!ok)
    throw new ContractError(code, message);
}
