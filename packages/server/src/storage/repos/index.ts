import type { Kysely } from 'kysely';
import type { Repos } from '../../core/shared/unit-of-work.js';
import type { Dialect } from '../database.js';
import type { Database } from '../schema.js';

export { ChainHead };

import { ChainHead, createAuditRepo } from './audit.repo.js';
import { createAuthMethodRepo } from './auth-methods.repo.js';
import { createIdentityRepo } from './identities.repo.js';
import { createRevocationRepo } from './revocations.repo.js';
import { createUidRepo } from './uid.repo.js';

/** Binds every repository to one connection or transaction. */
export function repoFactory(dialect: Dialect, chain: ChainHead = new ChainHead()) {
  return (db: Kysely<Database>, afterCommit: (fn: () => void) => void): Repos => ({
    identities: createIdentityRepo(db, dialect),
    authMethods: createAuthMethodRepo(db, dialect),
    uid: createUidRepo(db, dialect),
    revocations: createRevocationRepo(db, dialect),
    audit: createAuditRepo(db, dialect, chain),
    afterCommit,
  });
}
