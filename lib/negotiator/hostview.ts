/*!
 * hostview.ts - how this node sees announced hosts through its
 * connections: how one is reached now (a connection or an announced
 * address), the address to dial it at, and the hosts `peers.list` may name.
 */

import type { AnnouncementStore } from './announce';
import type { PeerEntry } from './coreservices';
import type { HostReach } from './options';
import { addrKinds } from './announcepacket';
import type { CloudPeers } from './peers';

/**
 * How this node reaches a host now: over the connection it has to it
 * (`outbound`: we dialled ADDR; `inbound`: it dialled us, ADDR being its
 * announced direct address, else its IP: never an ephemeral port), else
 * at the first direct address it announced (`direct`, dialled on demand),
 * else through the first relay it named (`relay`, a dial-back). Null: no
 * way (no connection, no address announced).
 */
export function reachedBy(peers: CloudPeers, store: AnnouncementStore, publicKey: Buffer): HostReach | null {
  const cp = peers.byKey(publicKey);
  const ann = store.get(publicKey);
  const direct = ann && !ann.withdrawn ? ann.hostnames(addrKinds.DIRECT)[0] : undefined;
  if (cp?.peer.outbound)
    return { how: 'outbound', address: cp.peer.hostname() };
  // An inbound connection's port is ephemeral: name the host by its announced address, else its IP.
  if (cp)
    return { how: 'inbound', address: direct ?? cp.peer.hostname().replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') };
  if (!ann || ann.withdrawn)
    return null;
  if (direct)
    return { how: 'direct', address: direct };
  const relay = ann.hostnames(addrKinds.RELAY)[0];
  return relay ? { how: 'relay', address: relay } : null;
}

/** The address a host announced to be dialled at (first direct one, else `via RELAY`), or null. */
export function announcedAddress(store: AnnouncementStore, publicKey: Buffer): string | null {
  const ann = store.get(publicKey);
  if (!ann || ann.withdrawn)
    return null;
  const direct = ann.hostnames(addrKinds.DIRECT)[0];
  if (direct)
    return direct;
  const relay = ann.hostnames(addrKinds.RELAY)[0];
  return relay ? `via ${relay}` : null;
}

/**
 * Connected peers `peers.list` may name: those announcing themselves as
 * hosts, whose identity is public by their own choice, with no socket
 * address (it would tie an identity to an IP the peer never published).
 */
export function publicPeers(peers: CloudPeers, store: AnnouncementStore): PeerEntry[] {
  const out: PeerEntry[] = [];
  for (const cp of peers.all()) {
    const ann = cp.publicKey ? store.get(cp.publicKey) : null;
    if (cp.publicKey && ann && !ann.withdrawn)
      out.push({ pubkey: cp.publicKey, addr: ann.hostnames(addrKinds.DIRECT)[0] ?? '' });
  }
  return out;
}
