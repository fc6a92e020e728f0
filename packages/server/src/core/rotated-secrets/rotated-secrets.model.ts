import type { ProducerSettings, ProducerType } from '../dynamic/producer.port.js';

/**
 * Two-account (dual-phase): readers get the current account; a rotation sets a new password on the
 * idle one and switches readers to it; the previous account is changed only after the grace period.
 * Single-account: the password of the one account changes at once (a brief window where a
 * credential just read stops working).
 */
export type RotationStrategy = 'two-account' | 'single-account';

/** What is sealed (one ciphertext per row): the target's settings with its admin credential, and passwords. */
export interface RotatedSecretSealed {
  settings: ProducerSettings;
  /** The password of the current account (the last good credential). */
  current: string;
  /**
   * The password being set by a claimed rotation, written before talking to the target: a rotation
   * interrupted after the target applied it retries with the same password (idempotent).
   */
  pending: string | null;
}

/** A rotated secret as stored; `sealed` is the ciphertext of {@link RotatedSecretSealed}. */
export interface RotatedSecretRecord {
  id: string;
  name: string;
  producerType: ProducerType;
  strategy: RotationStrategy;
  /** [A, B] (two-account) or [A] (single-account). Account names are not secret. */
  usernames: string[];
  currentIndex: number;
  /** Credential version: 1 at creation, +1 per rotation. */
  version: number;
  intervalSeconds: number | null;
  graceSeconds: number;
  rotatedAtMs: number | null;
  nextRotationAtMs: number | null;
  /** Two-account: the previous account, to be changed once `retireAtMs` has passed. */
  retireIndex: number | null;
  retireAtMs: number | null;
  failures: number;
  /** The last failure's reason (never a credential). */
  lastError: string | null;
  lastFailureAtMs: number | null;
  /** After a failure: when the next attempt is due (exponential backoff). */
  nextAttemptAtMs: number | null;
  /** A server working on the target holds the row until then (several servers, one store). */
  claimedUntilMs: number | null;
  /** Optimistic concurrency: every write is `WHERE row_version = expected`, then +1. */
  rowVersion: number;
  sealed: string;
  wrappedKey: string;
  kekVersion: number;
  createdAtMs: number;
  updatedAtMs: number;
  /** Keyed hash of the current password (ADR 0036): how a leaked one is recognised. Null before 0011. */
  passwordHash: string | null;
  /** Keyed hash of the previous password while its grace period runs (two-account), else null. */
  previousPasswordHash: string | null;
}

/** The associated data of a row's ciphertext: bound to the row and its version. */
export const rotatedAad = (id: string, rowVersion: number) => `tessera-rotated-secret:v1:${id}:${rowVersion}`;

/**
 * The keyed hash a rotated password is recognised by when reported leaked (ADR 0036): the audit HMAC
 * (a key derived from the root key, kept across root-key rotations) of the password's SHA-256 hex,
 * so a report that carries only the SHA-256 (`POST /v1/leaks` `hash`) finds it too.
 */
export const rotatedPasswordRef = (auditRef: (value: string) => string, passwordSha256Hex: string) =>
  auditRef(`tessera-rotated-password:${passwordSha256Hex}`);
