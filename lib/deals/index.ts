/*!
 * index.ts - the deals extension: storage deals between renters and hosts.
 */

import type { NodeAPI, OptionSpec } from '../base/extension';
import { Deals } from './plugin';

export const id = 'deals';

export const options: OptionSpec[] = [
  { name: 'host-storage-price', type: 'string', description: 'storage price, sat per GiB per 1000 blocks (e.g. 1000sat)', defaultText: '1000sat' },
  { name: 'host-upload-price', type: 'string', description: 'upload price, sat per GiB', defaultText: '100sat' },
  { name: 'host-download-price', type: 'string', description: 'download price, sat per GiB', defaultText: '200sat' },
  { name: 'host-max-duration', type: 'uint', description: 'longest contract served, in blocks', defaultText: 'the network maximum' },
  { name: 'host-new-renter-share', type: 'uint', description: 'percent of free capacity a renter with no committed contract here may hold in open offers', defaultText: '25' },
  { name: 'host-new-renter-cap', type: 'size', description: 'most bytes a renter with no committed contract here may hold in open offers', defaultText: '4GiB' },
];

export function init(api: NodeAPI): Deals {
  return new Deals(api);
}

export { Deals } from './plugin';
export { Renter } from './renter';
export { DealError, type DealErrorCode } from './errors';
export { RenterFiles } from './renterfiles';
export * from './renterclient';
export type * from './rpctypes';
export { HostService } from './hostservice';
export * from './pricing';
export * from './wire';
