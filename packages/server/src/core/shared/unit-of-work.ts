import type { AuditRepo } from '../audit/audit.repo.js';
import type { AuthMethodRepo } from '../auth-methods/auth-methods.repo.js';
import type { DynamicRepo } from '../dynamic/dynamic.model.js';
import type { IdentityRepo } from '../identities/identities.repo.js';
import type { RoleRepo } from '../roles/roles.repo.js';
import type { RotatedSecretRepo } from '../rotated-secrets/rotated-secrets.repo.js';
import type { SecretKeyRepo, SecretsRepo } from '../secrets/secrets.repo.js';
import type { RevocationRepo } from '../sessions/revocations.repo.js';
import type { UidRepo } from '../uid/uid.repo.js';

/** The repositories, bound to one transaction (or to the store, for reads). */
export interface Repos {
  identities: IdentityRepo;
  authMethods: AuthMethodRepo;
  uid: UidRepo;
  revocations: RevocationRepo;
  audit: AuditRepo;
  roles: RoleRepo;
  secrets: SecretsRepo;
  /** The key-encryption keys of secrets (sealed under the root key). */
  secretKeys: SecretKeyRepo;
  /** Dynamic secrets and their leases (issue 6). */
  dynamic: DynamicRepo;
  /** Credentials Tessera owns on targets and rotates (issue 6). */
  rotatedSecrets: RotatedSecretRepo;
  /** Runs `fn` once the transaction has committed (in-memory effects, notifications). */
  afterCommit(fn: () => void): void;
}

/** Method names that only read, by the repositories' naming convention. */
type ReadPrefix =
  | 'get'
  | 'list'
  | 'find'
  | 'count'
  | 'query'
  | 'has'
  | 'is'
  | 'search'
  | 'load'
  | 'read'
  | 'latest'
  | 'exists'
  | 'head'
  | 'versions'
  | 'folders'
  | 'live'
  | 'due';
type ReadMethods<T> = {
  [K in keyof T]: K extends `${ReadPrefix}${string}`
    ? T[K] extends (...args: never[]) => unknown
      ? K
      : never
    : never;
}[keyof T];

/**
 * The repositories as a read hands them out: only their reading methods, so a read cannot write
 * (outside a transaction, a write would commit on its own, unaudited and ungrouped).
 */
export type ReadRepos = {
  readonly [K in Exclude<keyof Repos, 'afterCommit'>]: Pick<Repos[K], ReadMethods<Repos[K]>>;
};

/**
 * Transactions are scopes (DESIGN §4.7): the work function receives repositories bound to the
 * transaction, so there is no optional `tx` argument to forget. `write` resolves only after its
 * transaction is durably committed (group-committed with the writes of the same tick).
 */
export interface UnitOfWork {
  write<T>(work: (repos: Repos) => Promise<T>): Promise<T>;
  read<T>(work: (repos: ReadRepos) => Promise<T>): Promise<T>;
}
