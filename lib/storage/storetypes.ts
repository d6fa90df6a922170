/*!
 * storetypes.ts - the object store's records, limits and id rules, shared
 * by the store (objectstore.ts), its layout, the file server and its
 * client, and the deals that price a host's disk (footprint()).
 */

import { MAX_MANIFEST_SIZE } from './common';
import { treeFileSize } from './treefile';

/** Largest part a single upload request may carry (PHP-shaped requests). */
export const MAX_PART_SIZE = 8 << 20;

/**
 * Object ids: 0 holds the sealed manifest, 1..MAX data objects (u32, as in
 * tokens); 2^32-1 is never an object: a `get` token names every data object
 * with it (token.ts ALL_OBJECTS), and the object tree reserves it too.
 */
export const objects = {
  MANIFEST: 0,
  /** The first data object; today's deal flow stores its file there. */
  DATA: 1,
  MAX: 0xfffffffe
} as const;

/** Data objects one contract may register over its life (tombstones count): bounds a contract's directory. */
export const MAX_OBJECTS_PER_CONTRACT = 65536;

/** Objects one adopt call may name (its JSON body stays under the 64 KiB admin limit). */
export const MAX_ADOPT_OBJECTS = 4096;

/** A registered contract as the store knows it. */
export interface ContractRecord {
  id: string;
  /** Unix seconds after which the data may be purged. */
  expiry: number;
  /** Unix seconds when registered. */
  registered: number;
  /** Largest manifest (object 0) the contract may store, bytes; reserved at registration. */
  manifestLimit: number;
}

/** A registered data object of a contract. */
export interface ObjectRecord {
  /** Contract id, 64 hex. */
  contract: string;
  /** Object id, 1..2^32-2. */
  object: number;
  /** Merkle root of the object, 64 hex. */
  root: string;
  /** Size in bytes. */
  size: number;
  /** Unix seconds when registered. */
  registered: number;
  /**
   * The contract this object was adopted from (a renewal), sharing its
   * bytes through hard links; absent for an uploaded object.
   */
  adoptedFrom?: string;
}

/** Upload progress of one object. */
export interface ObjectState extends ObjectRecord {
  received: number;
  complete: boolean;
}

/** A contract with what it holds. */
export interface ContractState extends ContractRecord {
  /** Bytes of the stored manifest (0 when none). */
  manifestSize: number;
  /** Data objects registered and not deleted. */
  objects: number;
  /** Disk this contract may fill: the manifest limit plus each object with its tree file. */
  reserved: number;
  /** Disk it holds now. */
  used: number;
}

/** What a host signs a receipt over: one complete object. */
export interface ObjectReceipt {
  contract: string;
  object: number;
  root: string;
  size: number;
  complete: true;
}

/** Totals for capacity planning. */
export interface StoreStatus {
  capacity: number;
  /**
   * Disk the registered contracts may fill: each contract's manifest limit,
   * and each registered object with its tree file (see footprint()).
   */
  reserved: number;
  /** Bytes actually held (objects, their tree files, uploads in progress, manifests). */
  used: number;
  free: number;
  contracts: number;
  /** Data objects registered (not deleted), over all contracts. */
  objects: number;
}

/** Contract ids and Merkle roots: 64 lowercase hex. */
export const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Disk bytes an object of `size` bytes reserves: the object and its tree
 * file (about 1.6 % more). Capacity is checked against this, so
 * --capacity bounds the disk the store fills.
 */
export function footprint(size: number): number {
  return size + treeFileSize(size);
}

/**
 * Disk bytes a contract holding one object of `size` bytes may fill: the
 * object with its tree file plus the largest manifest (1 MiB). What a host
 * must have free before offering such a contract.
 */
export function contractFootprint(size: number, manifestLimit = MAX_MANIFEST_SIZE): number {
  return footprint(size) + manifestLimit;
}

/** Checks that `id` is a contract id (64 lowercase hex). */
export function isId(id: unknown): id is string {
  return typeof id === 'string' && HEX64.test(id);
}

/** Checks that `n` is a data object id (1..2^32-2). */
export function isDataObject(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= objects.MAX;
}

/** A stored object record or tombstone (the store keeps a deleted id used). */
export type StoredObject = ObjectRecord | { contract: string; object: number; deleted: number };

/** True for a live record, false for a tombstone or nothing. */
export function isLive(r: StoredObject | null): r is ObjectRecord {
  return r !== null && !('deleted' in r);
}
