import type { Kysely } from 'kysely';
import type { Repos } from '../../core/shared/unit-of-work.js';
import type { Dialect, DirectSqlite } from '../database.js';
import type { QueryTarget } from '../prepared.js';
import type { Database } from '../schema.js';

export { ChainHead };

import { ChainHead, createAuditRepo } from './audit.repo.js';
import { createAuthMethodRepo } from './auth-methods.repo.js';
import { createIdentityRepo } from './identities.repo.js';
import { createRevocationRepo } from './revocations.repo.js';
import { createUidRepo } from './uid.repo.js';

/** Binds every repository to one connection or transaction. */
export function repoFactory(
  dialect: Dialect,
  chain: ChainHead = new ChainHead(),
  direct: DirectSqlite | null = null,
) {
  return (db: Kysely<Database>, afterCommit: (fn: () => void) => void): Repos => {
    // Direct execution only inside the unit of work's transaction: the connection is ours alone
    // there, while reads outside it go through Kysely and wait for the transaction to end.
    const target: QueryTarget = { db, dialect, direct: db.isTransaction ? direct : null };
    return {
      identities: createIdentityRepo(target),
      authMethods: createAuthMethodRepo(target),
      uid: createUidRepo(target),
      revocations: createRevocationRepo(db, dialect),
      audit: createAuditRepo(target, chain),
      afterCommit,
    };
  };
}
