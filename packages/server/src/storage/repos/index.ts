import type { Kysely } from 'kysely';
import type { Repos } from '../../core/shared/unit-of-work.js';
import type { Dialect } from '../database.js';
import type { Database } from '../schema.js';
import { createAuditRepo } from './audit.repo.js';
import { createAuthMethodRepo } from './auth-methods.repo.js';
import { createIdentityRepo } from './identities.repo.js';
import { createRevocationRepo } from './revocations.repo.js';
import { createUidRepo } from './uid.repo.js';

/** Binds every repository to one connection or transaction. */
export function repoFactory(dialect: Dialect) {
  return (db: Kysely<Database>, afterCommit: (fn: () => void) => void): Repos => ({
    identities: createIdentityRepo(db),
    authMethods: createAuthMethodRepo(db),
    uid: createUidRepo(db),
    revocations: createRevocationRepo(db, dialect),
    audit: createAuditRepo(db, dialect),
    afterCommit,
  });
}
