/**
 * Interfaces the core depends on. Adapters (storage/, crypto/, the clock in server.ts) implement them;
 * the core never reaches for I/O, the environment or the wall clock itself.
 */

/** The only source of time in the core. Tests inject a controllable one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
}

/** Randomness and one-way hashing for bearer credentials, implemented in crypto/. */
export interface CredentialFactory {
  /** A new `u-` UID token: 256 random bits plus a checksum. */
  newUidToken(): string;
  /** A new access key for `access_key` auth methods. */
  newAccessKey(): string;
  /** True when the string has the shape and checksum of a UID token. */
  isWellFormedUidToken(token: string): boolean;
  /** SHA-256 (hex) of a high-entropy bearer credential; the only form in which it is stored. */
  hashCredential(token: string): string;
  /** Constant-time comparison of two hex hashes. */
  equalHashes(a: string, b: string): boolean;
  /** A random identifier with a prefix, e.g. `p-`, `i-`. */
  newId(prefix: string, length?: number): string;
  /** A random opaque identifier for a UID node (not a credential). */
  newNodeId(): string;
  /**
   * How audit events refer to a presented credential: its keyed audit hash (the value
   * `POST /v1/audit/hash` returns for it), so an operator can find every event of a token without
   * the ledger holding anything that could be replayed or tested offline.
   */
  auditRef(credential: string): string;
}

/** A logger that never receives secret values. */
export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/**
 * The keyed hash of sensitive values in audit (like Vault's audit-hash): an operator who holds a
 * value can compute its hash and search for it; the hash alone reveals nothing. Implemented in crypto/
 * with a key derived from the root key.
 */
export interface AuditHasher {
  /** `hmac-sha256:<hex>` of `value`. */
  hash(value: string): string;
}

/**
 * One-time values (issue 11): a JWT `jti`, a DPoP proof, an approval grant may be used once. Backed
 * by the store, so "once" holds across every server sharing it.
 */
export interface OneTimeKeys {
  /**
   * True the first time `key` is seen within `ttlSeconds`, false for every later call while it is
   * remembered; once its TTL has passed the key may be consumed again. Atomic across servers.
   * `key` is at most 512 characters (hash a longer or attacker-shaped value first).
   */
  consume(key: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets keys whose TTL has passed; returns how many. */
  pruneExpired(): Promise<number>;
}
