/*!
 * targets.ts - a request target (a peer object, an identity key or
 * address, or `host:port`) resolved to a connected CloudStorage peer whose
 * identity is proven.
 */

import { RequestError, requestCodes } from './errors';
import type { Target } from './options';
import type { CloudPeer, CloudPeers } from './peers';

/** The connected, proven peer `target` names; throws RequestError `unknown-peer`. */
export function resolveTarget(peers: CloudPeers, addressOf: (pk: Buffer) => string, target: Target): CloudPeer {
  let cp: CloudPeer | null = null;
  if (Buffer.isBuffer(target)) {
    cp = peers.byKey(target);
  } else if (typeof target === 'string') {
    if (/^(02|03)[0-9a-f]{64}$/i.test(target))
      cp = peers.byKey(Buffer.from(target, 'hex'));
    if (!cp) {
      for (const p of peers.all()) {
        if (p.publicKey && addressOf(p.publicKey) === target) {
          cp = p;
          break;
        }
      }
    }
    cp ??= peers.byHostname(target);
  } else {
    cp = peers.get(target);
  }
  if (!cp || !cp.publicKey)
    throw new RequestError(requestCodes.UNKNOWN_PEER, `No CloudStorage peer ${describe(target)}.`);
  return cp;
}

function describe(target: Target): string {
  if (Buffer.isBuffer(target))
    return target.toString('hex');
  if (typeof target === 'string')
    return target;
  return target.hostname();
}
