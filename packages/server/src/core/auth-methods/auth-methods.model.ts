export const AUTH_METHOD_TYPES = ['access_key', 'universal_identity'] as const;
export type AuthMethodTypeName = (typeof AUTH_METHOD_TYPES)[number];

export const REUSE_POLICIES = ['revoke', 'flag'] as const;
export type ReusePolicy = (typeof REUSE_POLICIES)[number];

/** Settings of a `universal_identity` auth method. */
export interface UidSettings {
  /** TTL of root tokens generated under the method, and the reset TTL on rotation. */
  ttlSeconds: number;
  /** Lifetime of session tokens issued for the method's tokens. */
  jwtTtlSeconds: number;
  /** Upper bound of a child token's TTL (independent of its parent's: a child may outlive it). */
  childTtlLimitSeconds: number;
  /** Most live (unrevoked, unexpired) children one node may have. */
  childCountLimit: number;
  /** Maximum depth of a token tree (a root is depth 1). */
  treeLength: number;
  /** Default for new root tokens: they may not rotate. */
  denyRotate: boolean;
  /** Default for new root tokens: they may not create children. */
  denyInheritance: boolean;
  /** On reuse of a rotated-away token: revoke the node's subtree, or only flag it. */
  reusePolicy: ReusePolicy;
  /** How long a rotated token may still be used to retry that rotation (lost response). */
  rotationGraceSeconds: number;
}

export interface AccessKeySettings {
  jwtTtlSeconds: number;
}

/** One way of proving identity; its id is the public access id `p-…`. */
export interface AuthMethod {
  id: string;
  name: string;
  type: AuthMethodTypeName;
  identityId: string;
  settings: UidSettings | AccessKeySettings;
  /** Hash of the access key (access_key methods only). */
  secretHash: string | null;
  /** The bootstrap administrator method created on first start. */
  isAdmin: boolean;
  boundCidrs: string[];
  expiresAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

/** The per-node child count limit (methods stored before it existed have the default, 100). */
export const uidChildCountLimit = (s: UidSettings): number => s.childCountLimit ?? 100;

export const isUidMethod = (m: AuthMethod): m is AuthMethod & { settings: UidSettings } =>
  m.type === 'universal_identity';

declare module '../shared/events.js' {
  interface DomainEvents {
    /** An auth method was created, changed or deleted (in the transaction that did it). */
    'auth_method.changed': { authMethodId: string; change: 'created' | 'updated' | 'deleted' };
  }
}
