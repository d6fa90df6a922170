/*!
 * services.ts - the registry of services a node offers over csreq.
 *
 * A service has a name, a version, methods and a quote. Later subsystems
 * (storage, reputation, market) plug in with `Negotiator#registerService`.
 * A method handler gets the raw args and a context naming the
 * authenticated client; it returns the response body, or throws
 * ServiceError to answer with another status.
 */

import { MAX_METHODS, MAX_SERVICES, MAX_MONEY } from './common';
import { isName } from './wire';
import type { RequestPacket } from './envelope';
import type { PeerLike } from './peers';
import type { VerifiedCoin } from './coins';

/** Defined with the other errors; importable from here as before. */
export { ServiceError } from './errors';

/** What a handler knows about the request it serves. */
export interface RequestContext {
  /** Client identity public key (signature checked). */
  readonly from: Buffer;
  /** Client identity address. */
  readonly address: string;
  /** The connection the request came on. */
  readonly peer: PeerLike;
  readonly request: RequestPacket;
  /** Satoshis the client paid or was charged for this call. */
  readonly paid: number;
  /** Coins the client proved it controls with this request (coins.ts), checked against the UTXO set. */
  readonly coins: readonly VerifiedCoin[];
}

export interface MethodSpec {
  /** One line for `info services` and help. */
  description?: string;
  /** Fixed price in satoshis; a service `quote` overrides it. Default 0. */
  price?: number;
  handler(args: Buffer, ctx: RequestContext): Buffer | Promise<Buffer>;
  /** JSON args (cloudrequest) -> wire args. Throw to reject. */
  encodeArgs?(json: unknown): Buffer;
  /** Wire body -> JSON (cloudrequest). Throw on a malformed body. */
  decodeBody?(body: Buffer): unknown;
}

export interface Service {
  name: string;
  version: number;
  methods: Record<string, MethodSpec>;
  /** Price of one call in satoshis; defaults to the method's `price`. */
  quote?(method: string, args: Buffer, from: Buffer): number | Promise<number>;
}

export class ServiceRegistry {
  private readonly services = new Map<string, Service>();

  register(service: Service): void {
    if (!isName(service.name))
      throw new Error(`Bad service name "${service.name}".`);
    if (this.services.has(service.name))
      throw new Error(`Service "${service.name}" is already registered.`);
    if (this.services.size >= MAX_SERVICES)
      throw new Error(`At most ${MAX_SERVICES} services.`);
    if (!Number.isInteger(service.version) || service.version < 0 || service.version > 0xffffffff)
      throw new Error(`Bad version for service "${service.name}".`);
    const names = Object.keys(service.methods);
    if (names.length === 0 || names.length > MAX_METHODS)
      throw new Error(`Service "${service.name}" needs 1 to ${MAX_METHODS} methods.`);
    for (const name of names) {
      if (!isName(name))
        throw new Error(`Bad method name "${service.name}.${name}".`);
      const price = service.methods[name].price ?? 0;
      if (!Number.isSafeInteger(price) || price < 0 || price > MAX_MONEY)
        throw new Error(`Bad price for "${service.name}.${name}".`);
    }
    this.services.set(service.name, service);
  }

  unregister(name: string): boolean {
    return this.services.delete(name);
  }

  get(name: string): Service | null {
    return this.services.get(name) ?? null;
  }

  method(service: string, method: string): MethodSpec | null {
    const s = this.services.get(service);
    if (!s || !Object.prototype.hasOwnProperty.call(s.methods, method))
      return null;
    return s.methods[method];
  }

  list(): Service[] {
    return [...this.services.values()];
  }

  /** Price of a call: the service's quote or the method's fixed price. */
  async quote(service: Service, method: string, args: Buffer, from: Buffer): Promise<number> {
    const price = service.quote
      ? await service.quote(method, args, from)
      : service.methods[method].price ?? 0;
    if (!Number.isSafeInteger(price) || price < 0 || price > MAX_MONEY)
      throw new Error(`Service ${service.name} quoted a bad price.`);
    return price;
  }
}
