import type { RotatedSecretRecord } from './rotated-secrets.model.js';

/** Persistence of rotated secrets; implemented in storage/. Credentials only ever appear sealed. */
export interface RotatedSecretRepo {
  insert(record: RotatedSecretRecord): Promise<void>;
  get(name: string): Promise<RotatedSecretRecord | null>;
  /**
   * Writes every mutable column of `record` (its `rowVersion` must be `expectedRowVersion + 1`) if the
   * stored row is still at `expectedRowVersion`; false when another writer got there first.
   */
  update(record: RotatedSecretRecord, expectedRowVersion: number): Promise<boolean>;
  /** Rows whose name is in `[prefix, prefix + U+10FFFF)`, after `afterName`, by name. */
  list(prefix: string, afterName: string | null, limit: number): Promise<RotatedSecretRecord[]>;
  /** Deletes the row if it is still at `expectedRowVersion`; false otherwise. */
  delete(id: string, expectedRowVersion: number): Promise<boolean>;
  /** Names of unclaimed rows with work due at `nowMs` (a rotation, a retry or a retirement). */
  due(nowMs: number, limit: number): Promise<string[]>;
  /** The row whose current or grace-period previous password has this keyed hash (ADR 0036). */
  findByPasswordHash(
    hash: string,
  ): Promise<{ record: RotatedSecretRecord; which: 'current' | 'previous' } | null>;
}
