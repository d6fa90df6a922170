/*!
 * index.ts - storage contracts on chain: the `contracts` extension and the
 * library behind it (contract primitive, payloads, tx builders, index).
 */

import type { ExtensionModule, NodeAPI } from '../base/extension';
import { ContractsPlugin } from './plugin';
import { addRPCs } from './rpc';

/** Extension id: `api.require<ContractsPlugin>('contracts')`. */
export const id = 'contracts';

/** Build the extension: index, packets, hooks and RPCs. */
export function init(api: NodeAPI): ContractsPlugin {
  const plugin = new ContractsPlugin(api);
  addRPCs(api, plugin);
  return plugin;
}

/** The module as cloudcoind loads it. */
export const extension: ExtensionModule<ContractsPlugin> = { id, init };

export { ContractsPlugin } from './plugin';
export type { RatingOptions } from './plugin';
export * as common from './common';
export { ContractError } from './errors';
export { StorageContract, checkSaneContract, checkContractCheap, hasSaneContract, verifyContract } from './storagecontract';
export type {
  StorageContractOptions, StorageContractJSON, SaneContractOptions, VerifyContractOptions
} from './storagecontract';
export { escrowScript, escrowAddress, escrowOutputScript, refundWitness, cooperativeWitness, classifySpend } from './escrow';
export { batchLeaf, batchRoot, batchBranch, branchRoot, verifyBranch } from './batchtree';
export { CommitPayload, RatingPayload, findPayload, decodeCommit, decodeRating, payloadType } from './payload';
export type { CommitHooks, WalletContext } from './builders';
export {
  commitOutputs, createCommitTX, commitContracts, buildRefundTX, refundContract,
  buildRatingTX, sendRating, feeFor, submitTX
} from './builders';
export { ESCROW_ACCOUNT, createEscrowKey, getEscrowRing, ownsEscrowKey } from './escrowkeys';
export { Indexer, indexerLayout } from './indexer';
export type { BlockStep, IndexTip, IndexerOptions } from './indexer';
export { ContractIndex } from './contractindex';
export type { ContractIndexOptions } from './contractindex';
export { LOCAL_PEER } from './recordresolver';
export type { AddResult } from './recordresolver';
export { ContractQueries, contractState, revHex } from './contractqueries';
export type { ContractInfo, EscrowInfo, RatingInfo } from './contractqueries';
export { OrphanPool } from './orphanpool';
export type { Orphan } from './orphanpool';
export { ContractRecord, CommitEntry, RatingEntry, BlockUndo, VoidRecord } from './records';
