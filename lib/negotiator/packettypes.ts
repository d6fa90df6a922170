/*!
 * packettypes.ts - the cs* packet types and their P2P commands.
 *
 * Every packet class (packets.ts, envelope.ts, announcepacket.ts) names its
 * type from here, and packets.ts decodes by command.
 */

/** Packet types. */
export const types = {
  HELLO: 0,
  AUTH: 1,
  REQUEST: 2,
  RESPONSE: 3,
  ANNOUNCE: 4,
  ANNOUNCE2: 5
} as const;

export type PacketType = typeof types[keyof typeof types];

/** Packet type names by value. */
export const typesByVal: Record<PacketType, keyof typeof types> = {
  [types.HELLO]: 'HELLO',
  [types.AUTH]: 'AUTH',
  [types.REQUEST]: 'REQUEST',
  [types.RESPONSE]: 'RESPONSE',
  [types.ANNOUNCE]: 'ANNOUNCE',
  [types.ANNOUNCE2]: 'ANNOUNCE2'
};

/** P2P command of each packet type. */
export const commands: Record<PacketType, string> = {
  [types.HELLO]: 'cshello',
  [types.AUTH]: 'csauth',
  [types.REQUEST]: 'csreq',
  [types.RESPONSE]: 'csres',
  [types.ANNOUNCE]: 'csannounce',
  [types.ANNOUNCE2]: 'csannounce2'
};
