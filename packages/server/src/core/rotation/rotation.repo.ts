import type { RotatedSecretRecord } from './rotation.model.js';

/** Persistence of rotated secrets; implemented in storage/. Credentials only ever appear sealed. */
export interface RotatedSecretRepo {
  insert(record: RotatedSecretRecord): Promise<void>;
  get(name: string): Promise<RotatedSecretRecord | null>;
  /**
   * Writes every mutable column of `record` (its `rowVersion` must be `expectedRowVersion + 1`) if the
   * stored row is still at `expectedRowVersion`; false when another writer got there first.
   */
  update(record: RotatedSecretRecord, expectedRowVersion: number): Promise<boolean>;
  /** Names of unclaimed rows with work due at `nowMs` (a rotation, a retry or a retirement). */
  due(nowMs: number, limit: number): Promise<string[]>;
}
