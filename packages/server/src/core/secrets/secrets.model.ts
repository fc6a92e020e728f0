/** How a value is to be read: free text, or a JSON document (checked to parse on every write). */
export const SECRET_FORMATS = ['text', 'json'] as const;
export type SecretFormat = (typeof SECRET_FORMATS)[number];

/** Largest value, in UTF-8 bytes. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
/** Versions kept when the creator does not say (`maxVersions`), and the most one may ask for. */
export const DEFAULT_MAX_VERSIONS = 100;
export const MAX_MAX_VERSIONS = 1000;
/** Recovery window of a deletion, in days: default and bounds. */
export const DEFAULT_RECOVERY_DAYS = 7;
export const MAX_RECOVERY_DAYS = 90;
/** Most names in one multi-name read. */
export const MAX_NAMES_PER_READ = 100;

/** A static secret as stored: metadata plus its wrapped data key (no value). */
export interface SecretItem {
  id: string;
  /** Canonical name, e.g. `/demo/database-config`. */
  name: string;
  /** The folder it is in (`/demo`; `/` at the top). */
  folder: string;
  format: SecretFormat;
  description: string | null;
  tags: string[];
  maxVersions: number;
  /** The newest version (versions are numbered from 1 and never reused). */
  latestVersion: number;
  createdAtMs: number;
  updatedAtMs: number;
  /** Set while the item is deleted but recoverable. */
  deletedAtMs: number | null;
  /** When a deleted item is destroyed for good. */
  purgeAfterMs: number | null;
  /** The item's data key, wrapped by key-encryption key `kekVersion`. */
  wrappedKey: string;
  kekVersion: number;
  /** Reads need an approved, single-use grant (issue 14); null: they do not. */
  approval: SecretApprovalPolicy | null;
}

/**
 * Who must approve a read of an approval-required item: `group` (its `required` distinct members,
 * default 1), or, without a group, the owner of the identity that reads.
 */
export interface SecretApprovalPolicy {
  group?: string;
  required?: number;
}

/** One stored version: the value encrypted under the item's data key. */
export interface SecretVersionRecord {
  secretId: string;
  version: number;
  ciphertext: string;
  sizeBytes: number;
  createdAtMs: number;
}

export interface SecretVersionInfo {
  version: number;
  sizeBytes: number;
  createdAtMs: number;
}

/** What callers see of an item: never its value, never key material. */
export interface SecretMetadata {
  id: string;
  name: string;
  format: SecretFormat;
  description: string | null;
  tags: string[];
  maxVersions: number;
  latestVersion: number;
  createdAtMs: number;
  updatedAtMs: number;
  deletedAtMs: number | null;
  purgeAfterMs: number | null;
  /** Reads need an approval (issue 14); null: they do not. Absent for dynamic and rotated items. */
  approval?: SecretApprovalPolicy | null;
  /**
   * The kind of item (issue 10: listings show every item). Dynamic and rotated items have no
   * versions or format of their own: `format` is `text`, the version numbers 0. Absent: static.
   */
  type?: ItemType;
}

export type ItemType = 'static' | 'dynamic' | 'rotated';

/** `describe`: metadata and the versions held (numbers, sizes, times). */
export interface SecretDescription extends SecretMetadata {
  versions: SecretVersionInfo[];
}

/** A decrypted value. */
export interface SecretValue {
  name: string;
  version: number;
  format: SecretFormat;
  value: string;
  createdAtMs: number;
}

/** An item row joined with one of its versions (the read path: one statement). */
export interface SecretValueRecord {
  item: SecretItem;
  version: SecretVersionRecord;
}

export interface SecretDeletion {
  id: string;
  name: string;
  deletedAtMs: number;
  /** Null when it was destroyed at once. */
  purgeAfterMs: number | null;
  /** Whether the item and its versions are already gone. */
  purged: boolean;
  versionsDestroyed: number;
}

export interface SecretListQuery {
  /** The folder to list (`/demo`, or `/` for everything); default `/`. */
  prefix?: string;
  /** Items in sub-folders too (default), or only those directly in the folder. */
  recursive?: boolean;
  limit: number;
  /** From the previous page's `nextCursor`. */
  cursor?: string | null;
  /** Include deleted items that can still be restored. */
  includeDeleted?: boolean;
}

export interface SecretListPage {
  items: SecretMetadata[];
  /** Immediate sub-folders of the listed folder (first page only; empty on later pages). */
  folders: string[];
  nextCursor: string | null;
}

/** A key-encryption key as stored: its material sealed under the root key. */
export interface StoredKek {
  version: number;
  sealed: string;
  createdAtMs: number;
}

/** The state of the key-encryption keys: which one wraps new keys, and how many items each wraps. */
export interface KekStatus {
  activeVersion: number | null;
  versions: Array<{ version: number; createdAtMs: number; items: number }>;
}
