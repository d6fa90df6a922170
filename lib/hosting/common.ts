/*!
 * common.ts - constants of the hosting extension.
 */

/** Capacity offered when --host-capacity is not given: 10 GiB. */
export const DEFAULT_HOST_CAPACITY = 10 * 2 ** 30;

/** Host names a plain-http data API may use (DESIGN 7: https except on loopback). */
export const LOOPBACK_HOST = /^(localhost|127\.[0-9.]+|\[::1\])$/;
