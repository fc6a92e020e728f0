import type { Kysely } from 'kysely';
import type { StoredAuditEvent } from '../../core/audit/audit.model.js';
import type { Repos } from '../../core/shared/unit-of-work.js';
import type { ChainHasher } from '../../crypto/audit-ledger.js';
import type { Dialect, DirectSqlite } from '../database.js';
import type { QueryTarget } from '../prepared.js';
import type { Database } from '../schema.js';
import { ChainHead, createAuditRepo } from './audit.repo.js';
import { AuthMethodCache, createAuthMethodRepo } from './auth-methods.repo.js';
import { createDynamicRepo } from './dynamic.repo.js';
import { createIdentityRepo } from './identities.repo.js';
import { createRevocationRepo } from './revocations.repo.js';
import { createRoleRepo } from './roles.repo.js';
import { createRotatedSecretRepo } from './rotated-secrets.repo.js';
import { createSecretKeyRepo, createSecretsRepo } from './secrets.repo.js';
import { createUidRepo } from './uid.repo.js';

export { AuthMethodCache, ChainHead };

/** Process-wide state the repositories share across transactions. */
export interface RepoState {
  /** The audit chain head (SQLite). */
  chain: ChainHead;
  /** SQLite: the connection, for statements inside the unit of work's transaction. */
  direct: DirectSqlite | null;
  /** Auth methods by id. */
  methodCache: AuthMethodCache | null;
  /** The keyed hash of the audit chain. */
  hasher: ChainHasher;
  /** Each appended audit event, once its transaction has committed, in ledger order (audit sinks). */
  onAppended?: ((event: StoredAuditEvent) => void) | null;
  /** Repositories capabilities contribute (ADR 0013), by name. */
  contributed?: ReadonlyArray<readonly [string, (target: QueryTarget) => unknown]>;
}

/** The repositories every unit of work has; a contribution may not reuse these names. */
export const BUILT_IN_REPOS: ReadonlySet<string> = new Set([
  'identities',
  'authMethods',
  'uid',
  'revocations',
  'audit',
  'roles',
  'secrets',
  'secretKeys',
  'dynamic',
  'rotatedSecrets',
  'afterCommit',
]);

/** Binds every repository to one connection or transaction. */
export function repoFactory(dialect: Dialect, state: RepoState) {
  // Outside a transaction (reads, whose afterCommit runs at once) the repositories are bound to the
  // same connection every time and hold no state of their own: built once per connection and set
  // of contributions, not on every read (ADR 0049: allocations on the token endpoint).
  let reads: { db: Kysely<Database>; contributed: number; repos: Repos } | null = null;
  return (db: Kysely<Database>, afterCommit: (fn: () => void) => void): Repos => {
    if (db.isTransaction) return make(db, afterCommit);
    const contributed = state.contributed?.length ?? 0;
    if (reads?.db !== db || reads.contributed !== contributed)
      reads = { db, contributed, repos: make(db, (fn) => fn()) };
    return reads.repos;
  };
  function make(db: Kysely<Database>, afterCommit: (fn: () => void) => void): Repos {
    // Direct execution inside the unit of work's transaction: the connection is ours alone there.
    // Prepared reads outside it use the connection directly too, but only while no transaction is
    // open on it and the unit of work does not hold it (see QueryTarget.reader); other reads go
    // through Kysely and wait for the transaction to end.
    const inTransaction = db.isTransaction;
    const target: QueryTarget = {
      db,
      dialect,
      direct: inTransaction ? state.direct : null,
      reader: inTransaction ? null : state.direct,
    };
    const repos = {
      identities: createIdentityRepo(target),
      authMethods: createAuthMethodRepo(target, state.methodCache),
      uid: createUidRepo(target),
      revocations: createRevocationRepo(db, dialect),
      audit: createAuditRepo(
        target,
        state.chain,
        state.hasher,
        state.direct,
        state.onAppended ? { afterCommit, onAppended: state.onAppended } : null,
      ),
      roles: createRoleRepo(db, dialect),
      secrets: createSecretsRepo(target),
      secretKeys: createSecretKeyRepo(target),
      dynamic: createDynamicRepo(db, dialect),
      rotatedSecrets: createRotatedSecretRepo(db),
      afterCommit,
    } as Repos;
    if (state.contributed) {
      const bag = repos as unknown as Record<string, unknown>;
      for (const [name, make] of state.contributed) bag[name] = make(target);
    }
    return repos;
  }
}
