/*!
 * common.ts - limits of the file server. Each keeps requests PHP-shaped:
 * small bodies, short requests, no state beyond the data directory.
 */

/** Largest request body on the data API (one upload part). */
export const MAX_BODY_SIZE = 8 << 20;

/** Largest response body: bigger objects are read with Range. */
export const MAX_RESPONSE_SIZE = 8 << 20;

/** Largest admin request body (JSON). */
export const MAX_ADMIN_BODY = 64 << 10;

/** No request may take longer than this (a PHP max_execution_time). */
export const REQUEST_TIMEOUT_MS = 30000;

/** Headers must arrive within this. */
export const HEADERS_TIMEOUT_MS = 10000;

/** How often Node checks the two deadlines above (its default, 30 s, let a request live 60 s). */
export const CONNECTIONS_CHECK_MS = 1000;

/** An idle keep-alive connection is closed after this. */
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

/** Concurrent connections: a PHP host's worker pool is of this order, and it bounds memory and file descriptors. */
export const MAX_CONNECTIONS = 256;

/** Connections one client address may hold at once: one address cannot take the whole pool. */
export const MAX_CONNECTIONS_PER_ADDRESS = 32;

/** A response the client stops reading is cut after this long without progress. */
export const SEND_STALL_MS = 10000;

/** Default capacity when --capacity is not given. */
export const DEFAULT_CAPACITY = 10 * 2 ** 30;

/** Server version reported by /admin/status. */
export const VERSION = '0.1.0';
