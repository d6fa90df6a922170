/*!
 * config.ts - the deals extension's flags and cloudcoin.conf keys: a
 * host's terms, automatic repair and automatic renewal, read and checked
 * once at start (a bad value is a ConfigError naming the flag).
 */

import type { NodeAPI, OptionSpec } from '../base/extension';
import { ConfigError } from '../node/config';
import { amountParam } from '../base/rpc';
import { getParams } from '../contracts/common';
import {
  DEFAULT_DOWNLOAD_PRICE, DEFAULT_NEW_RENTER_CAP, DEFAULT_NEW_RENTER_SHARE, DEFAULT_STORAGE_PRICE,
  DEFAULT_UPLOAD_PRICE
} from './common';
import type { HostTerms } from './hostservice';
import type { AutoRepairOptions } from './autorepair';
import { DEFAULT_RENEW_BUDGET, DEFAULT_RENEW_MAX_RISE, DEFAULT_RENEW_WINDOW, type AutoRenewOptions } from './autorenew';

/** Automatic repair's defaults: put's contract length and price cap. */
const REPAIR_DURATION = 200;
const REPAIR_MAX_PRICE = 5000;

/** Flags and cloudcoin.conf keys deals reads (a host's terms, automatic repair). */
export const options: OptionSpec[] = [
  { name: 'host-storage-price', type: 'string', placeholder: '<sat>', description: 'storage price, sat per GiB per 1000 blocks (e.g. 1000sat)', defaultText: '1000sat' },
  { name: 'host-upload-price', type: 'string', placeholder: '<sat>', description: 'upload price, sat per GiB', defaultText: '100sat' },
  { name: 'host-download-price', type: 'string', placeholder: '<sat>', description: 'download price, sat per GiB', defaultText: '200sat' },
  { name: 'host-min-contract', type: 'string', placeholder: '<sat>', description: 'smallest contract cost accepted, sat (a close must be worth its fee)', defaultText: '0sat' },
  { name: 'host-max-duration', type: 'uint', placeholder: '<blocks>', description: 'longest contract served, in blocks', defaultText: 'the network maximum' },
  { name: 'host-new-renter-share', type: 'uint', placeholder: '<percent>', description: 'percent of free capacity a renter with no committed contract here may hold in open offers', defaultText: '25' },
  { name: 'host-new-renter-cap', type: 'size', placeholder: '<bytes>', description: 'most bytes a renter with no committed contract here may hold in open offers', defaultText: '4GiB' },
  { name: 'host-new-renter-coins', type: 'string', placeholder: '<sat>', description: 'coins a renter may prove it controls (e.g. 1btc) instead of a committed contract here, to lift the two caps above', defaultText: '0 (off)' },
  { name: 'host-new-renter-coins-age', type: 'uint', placeholder: '<blocks>', description: 'blocks deep each of those coins must be', defaultText: '6' },
  { name: 'keep-revisions', type: 'uint', description: 'keep only the newest N versions of a name: after a put of a new version, older ones are deleted from their hosts (put --keep-revisions overrides it)', defaultText: '0 (keep every version)' },
  { name: 'repair-budget', type: 'string', placeholder: '<sat>', description: 'repair files stored as shards on its own when a shard is lost (its contract failed an audit or ended), locking at most this much in new escrows in all (e.g. 100000sat)', defaultText: '0 (off)' },
  { name: 'repair-duration', type: 'uint', placeholder: '<blocks>', description: 'length of contracts automatic repair forms, in blocks', defaultText: String(REPAIR_DURATION) },
  { name: 'repair-max-price', type: 'string', placeholder: '<sat>', description: 'highest price a host may ask for automatic repair (as put --max-price)', defaultText: `${REPAIR_MAX_PRICE}sat` },
  { name: 'renew', type: 'string', placeholder: '<auto/off>', description: 'renew contracts holding live files on their own within the renew window (auto), or never (off)', defaultText: 'auto' },
  { name: 'renew-window', type: 'uint', placeholder: '<blocks>', description: 'blocks before a contract\'s end from which it is renewed (renterd\'s renewWindow; at most a third of its length)', defaultText: String(DEFAULT_RENEW_WINDOW) },
  { name: 'renew-budget', type: 'string', placeholder: '<sat>', description: 'most that automatic renewals (and moves off a host that is gone) may lock in new escrows in all', defaultText: `${DEFAULT_RENEW_BUDGET}sat` },
  { name: 'renew-max-rise', type: 'uint', placeholder: '<percent>', description: 'percent a host\'s price (storage, upload or download) may rise over the contract\'s at renewal; above it, automatic renewal moves the files to another host instead', defaultText: String(DEFAULT_RENEW_MAX_RISE) },
  { name: 'renew-min-score', type: 'uint', placeholder: '<permille>', description: 'reputation score (permille, as put --min-score) below which automatic renewal moves a host\'s files to another host instead of renewing (a host whose audits failed always moves)', defaultText: 'none' }
];

/** An amount flag or conf key (`1000sat`, `0.1btc`), or `fallback`; a bad value throws ConfigError. */
function configAmount(api: NodeAPI, name: string, fallback: number): number {
  const text = api.config.str(name);
  if (text === null)
    return fallback;
  try {
    return amountParam(text, `--${name}`);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/** Read the automatic repair flags; null when off (no budget). */
export function readRepair(api: NodeAPI): AutoRepairOptions | null {
  const amount = (name: string, fallback: number) => configAmount(api, name, fallback);
  const budget = amount('repair-budget', 0);
  if (budget === 0)
    return null;
  const duration = api.config.uint('repair-duration') ?? REPAIR_DURATION;
  if (duration < 1)
    throw new ConfigError('--repair-duration must be at least 1 block.');
  return { budget, duration, maxPrice: amount('repair-max-price', REPAIR_MAX_PRICE) };
}

/** Read the automatic renewal flags; null when off. Moves to another host use repair's length and price cap. */
export function readRenew(api: NodeAPI): AutoRenewOptions | null {
  const mode = api.config.str('renew') ?? 'auto';
  // [REJECT] anything but the two modes
  if (mode !== 'auto' && mode !== 'off')
    throw new ConfigError(`--renew must be auto or off, not ${JSON.stringify(mode)}.`);
  if (mode === 'off')
    return null;
  const window = api.config.uint('renew-window') ?? DEFAULT_RENEW_WINDOW;
  if (window < 1)
    throw new ConfigError('--renew-window must be at least 1 block (--renew off turns renewal off).');
  const duration = api.config.uint('repair-duration') ?? REPAIR_DURATION;
  const minScore = api.config.uint('renew-min-score');
  if (minScore !== null && minScore > 1000)
    throw new ConfigError('--renew-min-score must be a score from 0 to 1000.');
  return { window, budget: configAmount(api, 'renew-budget', DEFAULT_RENEW_BUDGET), duration,
    maxRise: api.config.uint('renew-max-rise') ?? DEFAULT_RENEW_MAX_RISE, minScore: minScore ?? undefined,
    maxPrice: configAmount(api, 'repair-max-price', REPAIR_MAX_PRICE) };
}

/** Read the host's terms from flags / cloudcoin.conf; bad values throw ConfigError. */
export function readTerms(api: NodeAPI): HostTerms {
  const amount = (name: string, fallback: number) => configAmount(api, name, fallback);
  const cp = getParams(api.network);
  const longest = cp.maxSpan - cp.window;
  const maxDuration = api.config.uint('host-max-duration') ?? longest;
  if (maxDuration < 1 || maxDuration > longest)
    throw new ConfigError(`--host-max-duration must be from 1 to ${longest} blocks on ${api.network.type}.`);
  const share = api.config.uint('host-new-renter-share') ?? DEFAULT_NEW_RENTER_SHARE;
  if (share < 1 || share > 100)
    throw new ConfigError('--host-new-renter-share must be a percentage from 1 to 100.');
  const cap = api.config.size('host-new-renter-cap') ?? DEFAULT_NEW_RENTER_CAP;
  if (cap < 1)
    throw new ConfigError('--host-new-renter-cap must be a size such as 1GB.');
  const coinsAge = api.config.uint('host-new-renter-coins-age') ?? 6;
  if (coinsAge < 1)
    throw new ConfigError('--host-new-renter-coins-age must be at least 1 block.');
  return {
    prices: {
      storage: amount('host-storage-price', DEFAULT_STORAGE_PRICE),
      upload: amount('host-upload-price', DEFAULT_UPLOAD_PRICE),
      download: amount('host-download-price', DEFAULT_DOWNLOAD_PRICE)
    },
    maxDuration,
    minContract: amount('host-min-contract', 0),
    newRenterShare: share,
    newRenterCap: cap,
    newRenterCoins: amount('host-new-renter-coins', 0),
    newRenterCoinsAge: coinsAge
  };
}
