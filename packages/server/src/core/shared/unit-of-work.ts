import type { RoleRepo } from '../access/roles.repo.js';
import type { AuditRepo } from '../audit/audit.repo.js';
import type { AuthMethodRepo } from '../auth-methods/auth-methods.repo.js';
import type { DynamicRepo } from '../dynamic/dynamic.model.js';
import type { IdentityRepo } from '../identities/identities.repo.js';
import type { RotatedSecretRepo } from '../rotation/rotation.repo.js';
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

/**
 * Transactions are scopes (DESIGN §4.7): the work function receives repositories bound to the
 * transaction, so there is no optional `tx` argument to forget. `write` resolves only after its
 * transaction is durably committed (group-committed with the writes of the same tick).
 */
export interface UnitOfWork {
  write<T>(work: (repos: Repos) => Promise<T>): Promise<T>;
  read<T>(work: (repos: Repos) => Promise<T>): Promise<T>;
}
