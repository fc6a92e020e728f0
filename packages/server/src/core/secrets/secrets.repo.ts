import type {
  SecretItem,
  SecretValueRecord,
  SecretVersionInfo,
  SecretVersionRecord,
  StoredKek,
} from './secrets.model.js';

/** Which items a listing reads: names in [`low`, `high`), optionally only those in one folder. */
/** The rows whose data keys the secret KEKs wrap: static secrets, dynamic secrets, rotated secrets. */
export type WrappedKind = 'secret' | 'dynamic' | 'rotated';
export const WRAPPED_KINDS: readonly WrappedKind[] = ['secret', 'dynamic', 'rotated'];

export interface SecretListFilter {
  low: string;
  high: string;
  /** Only items directly in this folder (a non-recursive listing). */
  folder: string | null;
  /** Exclusive lower bound (the cursor). */
  afterName: string | null;
  includeDeleted: boolean;
}

/** Persistence of static secrets; implemented in storage/. Values only ever appear encrypted here. */
export interface SecretsRepo {
  insert(item: SecretItem, first: SecretVersionRecord): Promise<void>;
  get(name: string): Promise<SecretItem | null>;
  /** The item and one version (`null`: the latest) in one read. */
  readValue(name: string, version: number | null): Promise<SecretValueRecord | null>;
  /** Items and their latest versions, for several names at once (missing names are left out). */
  readLatestValues(names: readonly string[]): Promise<SecretValueRecord[]>;
  versions(secretId: string): Promise<SecretVersionInfo[]>;
  addVersion(version: SecretVersionRecord): Promise<void>;
  /** Destroys versions numbered `upTo` and below; returns how many. */
  destroyVersionsUpTo(secretId: string, upTo: number): Promise<number>;
  /** Writes the mutable metadata (latest version, times, deletion state). */
  update(item: SecretItem): Promise<void>;
  /** Destroys an item and every version of it; returns how many versions. */
  destroy(secretId: string): Promise<number>;
  /** By name, ascending (byte order), at most `limit`. */
  list(filter: SecretListFilter, limit: number): Promise<SecretItem[]>;
  /** Distinct folders of the items with names in [`low`, `high`), at most `limit`. */
  folders(low: string, high: string, includeDeleted: boolean, limit: number): Promise<string[]>;
  /** Deleted items whose recovery window ended at or before `nowMs`. */
  dueForPurge(nowMs: number, limit: number): Promise<SecretItem[]>;
  /**
   * Items of `kind` (static secrets by default; dynamic secrets' settings and rotated secrets' sealed
   * state are wrapped by the same KEKs) whose data key is wrapped by a KEK older than `kekVersion`.
   */
  wrappedBelow(
    kekVersion: number,
    limit: number,
    kind?: WrappedKind,
  ): Promise<Array<Pick<SecretItem, 'id' | 'wrappedKey' | 'kekVersion'>>>;
  /**
   * Re-wraps an item's data key, if it is still wrapped by `fromKekVersion`; false when not. The
   * data key and the ciphertext are unchanged (a rotated secret's row version too: its AAD binds it).
   */
  rewrap(
    secretId: string,
    fromKekVersion: number,
    wrappedKey: string,
    kekVersion: number,
    kind?: WrappedKind,
  ): Promise<boolean>;
  /** How many items each KEK version wraps. */
  countByKek(): Promise<Map<number, number>>;
}

/** Persistence of the key-encryption keys (sealed under the root key). */
export interface SecretKeyRepo {
  list(): Promise<StoredKek[]>;
  latestVersion(): Promise<number | null>;
  insert(kek: StoredKek): Promise<void>;
  delete(version: number): Promise<void>;
}
