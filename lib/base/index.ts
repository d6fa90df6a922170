/*!
 * index.ts - the base every CloudCoin subsystem may import.
 *
 * lib/base imports nothing of ours but lib/bcoin.ts (identity keys): the
 * extension API, error types, identity keys, tagged hashes, units and the
 * constants several folders share. Code that must not load bcoin (the file
 * server) imports the single modules it needs (`lib/base/units`), not this.
 */

export * from './consts';
export * from './errors';
export * from './extension';
export * from './hash';
export * from './identity';
export * from './units';
export * from './secrets';
export * from './rpc';
export * from './signed';
export * from './wire';
