/*!
 * index.ts - the storage data path: chunked encryption, keys, Merkle tree
 * and proofs, manifests, data tokens, admin signatures and the object store.
 */

export * from './common';
export * from './errors';
export * from './keys';
export * from './cipher';
export * from './merkle';
export * from './treefile';
export * from './hashpool';
export * from './fileops';
export * from './erasure';
export * from './manifest';
export * from './delta';
export * from './token';
export * from './adminauth';
export * from './storetypes';
export * from './objectstore';
export { writeFileAtomic, fsyncDir, mkdirDurable } from './fsutil';
export * from './fileserverclient';
export * from './transfer';
export * from './keyfile';
