/*!
 * index.ts - the light file server: HTTP data and admin APIs over the
 * lib/storage object store. Imports nothing from the node.
 */

export * from './common';
export * from './errors';
export { FileServer, parseBasePath } from './server';
export type { FileServerOptions } from './server';
export { parseRange } from './range';
export { main, loadAdminKey } from './cli';
