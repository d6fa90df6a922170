/*!
 * index.ts - the deals extension: storage deals between renters and hosts.
 */

import type { NodeAPI, OptionSpec } from '../base/extension';
import { Deals } from './deals';

export const id = 'deals';

export const options: OptionSpec[] = [
  { name: 'host-storage-price', type: 'string', description: 'storage price, sat per GiB per 1000 blocks (e.g. 1000sat)', defaultText: '1000sat' },
  { name: 'host-upload-price', type: 'string', description: 'upload price, sat per GiB', defaultText: '100sat' },
  { name: 'host-download-price', type: 'string', description: 'download price, sat per GiB', defaultText: '200sat' },
  { name: 'host-max-duration', type: 'uint', description: 'longest contract served, in blocks', defaultText: 'the network maximum' },
];

export function init(api: NodeAPI): Deals {
  return new Deals(api);
}

export { Deals } from './deals';
export { Renter, DealError } from './renter';
export { HostService } from './hostservice';
export * from './pricing';
export * from './wire';
