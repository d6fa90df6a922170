/*!
 * service.ts - the `reputation` core service (decloud's "share my
 * reputation data"): `get` with a 33-byte identity key answers this node's
 * signed view of it (statement.ts, PROTOCOL 2.8), free unless a policy
 * asks a price.
 */

import bio = require('bufio');
import { invalidParam } from '../base/errors';
import { checkEnd, readPubkey } from '../base/wire';
import { ServiceError, type Service } from '../negotiator/services';
import { REPUTATION_SERVICE_VERSION } from './common';
import type { ReputationPlugin } from './plugin';
import { ReputationStatement } from './statement';

/** `get` args: exactly one compressed identity key. */
export function decodeGetArgs(args: Buffer): Buffer {
  const br = bio.read(args);
  const key = readPubkey(br);
  checkEnd(br);
  return key;
}

/**
 * `decodeGetArgs` for the handler: malformed args are the peer's
 * `bad-request`, not this node's failure (a decoding error thrown from a
 * handler is logged as one; the fuzz suite found it).
 */
function parseGetArgs(args: Buffer): Buffer {
  try {
    return decodeGetArgs(args);
  } catch {
    throw ServiceError.badArgs();
  }
}

/** The service as the negotiator registers it. */
export function reputationService(plugin: ReputationPlugin): Service {
  return {
    name: 'reputation',
    version: REPUTATION_SERVICE_VERSION,
    methods: {
      get: {
        description: 'this node\'s signed view of an identity (33-byte key): score, own records, ratings, trust',
        handler: async (args: Buffer): Promise<Buffer> => (await plugin.statement(parseGetArgs(args))).encode(),
        encodeArgs: (json: unknown): Buffer => {
          if (typeof json !== 'string' || !/^0[23][0-9a-fA-F]{64}$/.test(json))
            throw invalidParam('reputation get takes an identity key: 33 bytes of hex.');
          return Buffer.from(json, 'hex');
        },
        decodeBody: (body: Buffer): unknown => {
          const s = ReputationStatement.decode(body);
          return { ...s.getJSON(), valid: s.verify(plugin.api.network.magic) };
        }
      }
    }
  };
}
