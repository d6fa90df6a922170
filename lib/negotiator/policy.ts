/*!
 * policy.ts - access policies: allow, deny, min-payment, rate-limit.
 *
 * A rule applies at global, service, method or credential scope (a
 * credential is a client identity address or public key hex, and may be
 * combined with a service or method). For each kind of rule the most
 * specific matching scope wins; among allow/deny at the same scope deny
 * beats allow. No matching allow/deny rule means allow.
 *
 * Text syntax (cloudcoin.conf `policy=` lines, `--policy` flags, strings in
 * the policy file):  ACTION SCOPE [VALUE]
 *   ACTION  allow | deny | min-payment | rate-limit | defer-limit | min-coins
 *           (min-coins AMOUNT [AGE]: the client proves coins worth AMOUNT,
 *           each at least AGE blocks deep, default 1; coins.ts)
 *   SCOPE   * | SERVICE | SERVICE.METHOD, optionally followed by @CREDENTIAL
 *   VALUE   min-payment, defer-limit: amount (`500`, `500sat`); rate-limit: COUNT/PERIOD
 *           (`10/60s`, `100/1m`, `5/500ms`, `1000/1h`)
 * The policy file (`--policy-file`) is JSON: an array (or `{"rules": [...]}`)
 * of such strings or of objects {action, service?, method?, credential?,
 * amount?, count?, seconds?, age?}; any other key is an error naming it.
 *
 * A credential must be an identity (a P2WPKH address of the node's network
 * or a compressed public key in hex): anything else could never match and
 * is refused. A service or method no extension registered is accepted (it
 * may belong to an extension not loaded) but `unmatched` names it, and the
 * node logs a warning once every extension is open.
 */

import * as fs from 'fs';
import { PolicyError } from './errors';
import bcoin = require('../bcoin');
import { parseAmount } from '../base/units';
import { BoundedMap } from './boundedmap';
import { MAX_POLICY_RULES, MAX_RATE_BUCKETS, MAX_MONEY } from './common';
import { isName } from './wire';

/** Defined with the other errors; importable from here as before. */
export { PolicyError };

/** Rule actions. */
export const actions = {
  ALLOW: 'allow',
  DENY: 'deny',
  MIN_PAYMENT: 'min-payment',
  RATE_LIMIT: 'rate-limit',
  /** Credit (sat) a client may run up with `defer` for calls in the scope (decloud's "to be determined" deferred-payment policy). */
  DEFER_LIMIT: 'defer-limit',
  MIN_COINS: 'min-coins'
} as const;

export type Action = typeof actions[keyof typeof actions];

export interface PolicyRule {
  action: Action;
  /** null = any service (global scope). */
  service: string | null;
  /** null = any method; requires `service`. */
  method: string | null;
  /** Identity address or lowercase pubkey hex; null = any client. */
  credential: string | null;
  /** min-payment, defer-limit, min-coins: satoshis. */
  amount: number;
  /** min-coins: blocks each coin must be deep (1: confirmed). */
  age: number;
  /** rate-limit: requests per `periodMs`. */
  count: number;
  periodMs: number;
  /** The rule as written, for logs and decisions. */
  text: string;
}

/** Who is asking for what. */
export interface PolicySubject {
  service: string;
  method: string;
  /** Client identity public key. */
  publicKey: Buffer;
  /** Client identity address. */
  address: string;
}

export interface Decision {
  allowed: boolean;
  /** The deciding allow/deny rule, or null for the default allow. */
  rule: string | null;
  /** Minimum payment the policies ask for (sat). */
  minPayment: number;
  /** The rate limit that applies, if any. */
  rateLimit: PolicyRule | null;
  /** Credit (sat) the most specific defer-limit rule allows (the lowest at that scope); null: the node's --defer-limit. */
  deferLimit: number | null;
  /** Coins the client must prove (sat, each at least `age` blocks deep), or null. */
  minCoins: { amount: number; age: number } | null;
}

const ACTIONS: readonly string[] = Object.values(actions);

function scopeRank(rule: PolicyRule): number {
  return (rule.credential ? 4 : 0) + (rule.method ? 2 : rule.service ? 1 : 0);
}

function parsePeriod(count: string, num: string, unit: string): { count: number; periodMs: number } {
  const scale = unit === 'ms' ? 1 : unit === 'm' ? 60e3 : unit === 'h' ? 3600e3 : 1e3;
  const c = Number(count);
  const periodMs = Number(num) * scale;
  if (!Number.isSafeInteger(c) || c < 1 || !Number.isSafeInteger(periodMs) || periodMs < 1)
    throw new PolicyError(`Bad rate "${count}/${num}${unit}".`);
  return { count: c, periodMs };
}

function checkScope(service: string | null, method: string | null, text: string): void {
  if (service !== null && !isName(service))
    throw new PolicyError(`Bad service name in policy "${text}".`);
  if (method !== null && (service === null || !isName(method)))
    throw new PolicyError(`Bad method name in policy "${text}".`);
}

/** Compressed public key in hex. */
const PUBKEY_HEX_RE = /^0[23][0-9a-f]{64}$/;

/** Shape of a bech32 address (human part, separator, data), checked fully with a network. */
const BECH32_RE = /^[a-z0-9]{1,83}1[02-9ac-hj-np-z]{6,}$/;

/**
 * Refuse a credential no client could ever present: not a compressed public
 * key, and not a P2WPKH (identity) address of `network` when one is given.
 */
function checkCredential(credential: string, text: string, network?: bcoin.Network): void {
  if (PUBKEY_HEX_RE.test(credential))
    return;
  let ok = BECH32_RE.test(credential);
  if (ok && network) {
    try {
      const addr = bcoin.Address.fromString(credential, network);
      ok = addr.isProgram() && addr.version === 0 && addr.hash.length === 20;
    } catch {
      ok = false;
    }
  }
  if (!ok)
    throw new PolicyError(`Credential "${credential}" in policy "${text}" is not an identity `
      + `(a ${network ? network.type + ' ' : ''}P2WPKH address or a compressed public key in hex).`);
}

/** Parse one rule in text syntax; `network` checks identity addresses fully. */
export function parseRule(text: string, network?: bcoin.Network): PolicyRule {
  const parts = text.trim().split(/\s+/);
  // min-coins alone takes two values: AMOUNT [AGE]
  if (parts.length < 2 || parts.length > (parts[0] === actions.MIN_COINS ? 4 : 3))
    throw new PolicyError(`Policy "${text}" must be ACTION SCOPE [VALUE].`);
  const [action, scope, value, age] = parts;
  if (!ACTIONS.includes(action))
    throw new PolicyError(`Unknown policy action "${action}" in "${text}".`);
  const at = scope.indexOf('@');
  const where = at === -1 ? scope : scope.slice(0, at);
  const credential = at === -1 ? null : normalizeCredential(scope.slice(at + 1));
  if (credential !== null)
    checkCredential(credential, text, network);
  let service: string | null = null;
  let method: string | null = null;
  if (where !== '*' && where !== '') {
    const dot = where.indexOf('.');
    service = dot === -1 ? where : where.slice(0, dot);
    method = dot === -1 ? null : where.slice(dot + 1);
  } else if (where === '' && credential === null) {
    throw new PolicyError(`Empty scope in policy "${text}".`);
  }
  checkScope(service, method, text);
  const rule: PolicyRule = {
    action: action as Action, service, method, credential,
    amount: 0, age: 0, count: 0, periodMs: 0, text: text.trim()
  };
  switch (rule.action) {
    case actions.MIN_PAYMENT:
    case actions.DEFER_LIMIT: {
      const amount = value === undefined ? null : parseAmount(value);
      if (amount === null || amount > MAX_MONEY)
        throw new PolicyError(`${rule.action} needs an amount such as 500sat: "${text}".`);
      rule.amount = amount;
      break;
    }
    case actions.MIN_COINS: {
      const amount = value === undefined ? null : parseAmount(value);
      if (amount === null || amount < 1 || amount > MAX_MONEY)
        throw new PolicyError(`min-coins needs an amount such as 1btc or 100000sat: "${text}".`);
      const blocks = age === undefined ? 1 : /^\d{1,7}$/.test(age) ? Number(age) : 0;
      if (blocks < 1)
        throw new PolicyError(`min-coins takes an age in blocks (1 to 9999999) after the amount: "${text}".`);
      rule.amount = amount;
      rule.age = blocks;
      break;
    }
    case actions.RATE_LIMIT: {
      const m = value === undefined ? null : /^(\d+)\/(\d+)(ms|s|m|h)?$/.exec(value);
      if (!m)
        throw new PolicyError(`rate-limit needs COUNT/PERIOD such as 10/60s: "${text}".`);
      Object.assign(rule, parsePeriod(m[1], m[2], m[3] ?? 's'));
      break;
    }
    default:
      if (value !== undefined)
        throw new PolicyError(`${rule.action} takes no value: "${text}".`);
  }
  return rule;
}

function normalizeCredential(credential: string): string {
  // Public keys compare as lowercase hex; bech32 addresses are lowercase too.
  return credential.toLowerCase();
}

/** Keys a policy-file rule object may have. */
const RULE_KEYS = ['action', 'service', 'method', 'credential', 'amount', 'count', 'seconds', 'age'] as const;

/** Parse a rule given as a JSON object or string (policy file). */
export function parseRuleJSON(json: unknown, network?: bcoin.Network): PolicyRule {
  if (typeof json === 'string')
    return parseRule(json, network);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new PolicyError('Policy file rules must be strings or objects.');
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(RULE_KEYS as readonly string[]).includes(key))
      throw new PolicyError(`Unknown key "${key}" in policy rule (expected ${RULE_KEYS.join(', ')}).`);
  }
  const str = (k: string): string | null => {
    const v = o[k];
    if (v === undefined || v === null)
      return null;
    if (typeof v !== 'string')
      throw new PolicyError(`Policy field "${k}" must be a string.`);
    return v;
  };
  const action = str('action');
  if (action === null)
    throw new PolicyError('Policy rule without "action".');
  const service = str('service');
  const method = str('method');
  const credential = str('credential');
  if (method !== null && service === null)
    throw new PolicyError(`Bad method name: "method" "${method}" needs a "service".`);
  let scope = service === null ? '*' : method === null ? service : `${service}.${method}`;
  if (credential !== null)
    scope += '@' + credential;
  let value = '';
  if (action === actions.MIN_PAYMENT || action === actions.DEFER_LIMIT)
    value = ' ' + String(o.amount ?? '');
  else if (action === actions.MIN_COINS)
    value = ' ' + String(o.amount ?? '') + (o.age === undefined ? '' : ' ' + String(o.age));
  else if (action === actions.RATE_LIMIT)
    value = ` ${String(o.count ?? '')}/${String(o.seconds ?? '')}s`;
  return parseRule(`${action} ${scope}${value}`, network);
}

/** The services and methods a node offers, for `Policy#unmatched`. */
export interface ServiceCatalog {
  /** Method names of `service`, or null when no such service is registered. */
  methods(service: string): string[] | null;
}

/** The node's policy set. */
export class Policy {
  readonly rules: PolicyRule[] = [];

  add(rule: PolicyRule): this {
    if (this.rules.length >= MAX_POLICY_RULES)
      throw new PolicyError(`At most ${MAX_POLICY_RULES} policy rules.`);
    this.rules.push(rule);
    return this;
  }

  static fromStrings(lines: string[], network?: bcoin.Network): Policy {
    const policy = new Policy();
    for (const line of lines)
      policy.add(parseRule(line, network));
    return policy;
  }

  /** Add the rules of a JSON policy file; errors name the file and the rule. */
  loadFile(file: string, network?: bcoin.Network): this {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new PolicyError(`Cannot read policy file ${file}: ${(e as Error).message}`);
    }
    const list = Array.isArray(json) ? json
      : (typeof json === 'object' && json !== null && Array.isArray((json as { rules?: unknown }).rules))
        ? (json as { rules: unknown[] }).rules : null;
    if (!list)
      throw new PolicyError(`Policy file ${file} must hold an array of rules.`);
    list.forEach((item, i) => {
      try {
        this.add(parseRuleJSON(item, network));
      } catch (e) {
        if (!(e instanceof PolicyError))
          throw e;
        throw new PolicyError(`Policy file ${file}, rule ${i + 1}: ${e.message}`);
      }
    });
    return this;
  }

  /**
   * Warnings for rules that can never match: a service no extension
   * registered, or a method its service does not have.
   */
  unmatched(catalog: ServiceCatalog): string[] {
    const out: string[] = [];
    for (const rule of this.rules) {
      if (rule.service === null)
        continue;
      const methods = catalog.methods(rule.service);
      if (methods === null)
        out.push(`policy "${rule.text}" can never match: no service "${rule.service}" is offered`);
      else if (rule.method !== null && !methods.includes(rule.method))
        out.push(`policy "${rule.text}" can never match: service "${rule.service}" has no method "${rule.method}"`
          + ` (it has ${methods.join(', ')})`);
    }
    return out;
  }

  private matches(rule: PolicyRule, s: PolicySubject): boolean {
    if (rule.service !== null && rule.service !== s.service)
      return false;
    if (rule.method !== null && rule.method !== s.method)
      return false;
    if (rule.credential !== null
        && rule.credential !== s.address.toLowerCase()
        && rule.credential !== s.publicKey.toString('hex'))
      return false;
    return true;
  }

  /** Most specific matching rules of the given actions. */
  private best(s: PolicySubject, kinds: Action[]): PolicyRule[] {
    let rank = -1;
    let found: PolicyRule[] = [];
    for (const rule of this.rules) {
      if (!kinds.includes(rule.action) || !this.matches(rule, s))
        continue;
      const r = scopeRank(rule);
      if (r > rank) {
        rank = r;
        found = [rule];
      } else if (r === rank) {
        found.push(rule);
      }
    }
    return found;
  }

  decide(s: PolicySubject): Decision {
    const access = this.best(s, [actions.ALLOW, actions.DENY]);
    const deny = access.find(r => r.action === actions.DENY);
    const allow = access.find(r => r.action === actions.ALLOW);
    const pay = this.best(s, [actions.MIN_PAYMENT]);
    const coins = this.best(s, [actions.MIN_COINS]);
    const rate = this.best(s, [actions.RATE_LIMIT]);
    const defer = this.best(s, [actions.DEFER_LIMIT]);
    // At the same scope the strictest rate wins.
    let rateLimit: PolicyRule | null = null;
    for (const r of rate) {
      if (!rateLimit || r.count / r.periodMs < rateLimit.count / rateLimit.periodMs)
        rateLimit = r;
    }
    return {
      allowed: !deny,
      rule: deny ? deny.text : allow ? allow.text : null,
      minPayment: pay.reduce((m, r) => Math.max(m, r.amount), 0),
      rateLimit,
      deferLimit: defer.length ? defer.reduce((m, r) => Math.min(m, r.amount), MAX_MONEY) : null,
      // At the same scope the largest amount and the deepest age apply.
      minCoins: coins.length ? { amount: Math.max(...coins.map((r) => r.amount)), age: Math.max(...coins.map((r) => r.age)) } : null
    };
  }
}

/** Token buckets per (rule, client); bounded. */
export class RateLimiter {
  private readonly buckets = new BoundedMap<string, { tokens: number; at: number }>(MAX_RATE_BUCKETS);
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  /** Take one token; false when the client is over the rule's rate. */
  take(rule: PolicyRule, client: string): boolean {
    const now = this.clock();
    const key = `${rule.text}|${client}`;
    const b = this.buckets.touch(key) ?? { tokens: rule.count, at: now };
    b.tokens = Math.min(rule.count, b.tokens + ((now - b.at) * rule.count) / rule.periodMs);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok)
      b.tokens -= 1;
    this.buckets.set(key, b);
    return ok;
  }
}
