/*!
 * index.ts - the reputation extension for cloudcoind (id `reputation`):
 * own records, sats-weighted on-chain ratings and personalised EigenTrust,
 * kept apart and combined into one score (docs/REPUTATION.md), and the
 * `getreputation` RPC. Needs the `contracts` extension.
 * Other extensions get the instance with `api.require<ReputationPlugin>('reputation')`.
 */

import type { ExtensionModule, NodeAPI } from '../base/extension';
import { ReputationPlugin, options } from './plugin';
import { addRPCs } from './rpc';

/** Extension id: `api.require<ReputationPlugin>('reputation')`. */
export const id = 'reputation';

/** Build the extension: the view and its RPCs. */
export function init(api: NodeAPI): ReputationPlugin {
  const plugin = new ReputationPlugin(api);
  addRPCs(api, plugin);
  return plugin;
}

export { options };

/** The module as cloudcoind loads it. */
export const extension: ExtensionModule<ReputationPlugin> = { id, options, init };

export * as common from './common';
export { ReputationPlugin, contractFact, settledToHost, raterOptions, type RecordSource } from './plugin';
export {
  Rater, auditCounts, auditScore, planRating, ratingFeeBound, type AuditSource, type ContractAudits, type RaterOptions, type RatingPlan
} from './rater';
export { ReputationError, type ReputationCode } from './errors';
export { eigenTrust, localTrust, type TrustEdge, type TrustResult } from './eigentrust';
export {
  combine, emptyOwn, isPretrusted, ownScore, ratingsScore, trustWeight, ratingPermille,
  type OwnRecord, type RatingInput, type RatingsScore, type RaterTrust, type SourceScore
} from './score';
export {
  buildView, ownRecords, unknownReputation, RETRIEVAL_FAILED,
  type ContractFact, type RatingFact, type Reputation, type ReputationView
} from './view';
export { reputationJSON, identityArg, type ReputationJSON } from './rpc';
