import { type Kysely, type Migration, sql } from 'kysely';
import type { Clock, OneTimeKeys } from '../../core/shared/platform.port.js';
import { prepared, type QueryTarget } from '../../storage/prepared.js';
import { cibaPingMigration } from './oauth-ciba-ping.js';
import { initialAccessTokenOwnerMigration, initialAccessTokensMigration } from './oauth-initial-tokens.js';
import { resourceServersMigration } from './oauth-resource-servers.js';

/** One secret of an OAuth client, stored hashed; a rotated-away one may live on for a grace period. */
export interface ClientSecretRecord {
  id: string;
  clientId: string;
  secretHash: string;
  createdAtMs: number;
  /** Null while it is the current secret. */
  expiresAtMs: number | null;
}

export interface OAuthClientSecretsRepo {
  insert(secret: ClientSecretRecord): Promise<void>;
  /** Secrets of a client still usable at `nowMs`, newest first. */
  listUsable(clientId: string, nowMs: number): Promise<ClientSecretRecord[]>;
  /** Makes every current secret of a client expire at `expiresAtMs` (rotation). */
  expireCurrent(clientId: string, expiresAtMs: number): Promise<void>;
  deleteOfClient(clientId: string): Promise<void>;
  /** The secret with this hash, usable or not (leak reports, ADR 0020). */
  findByHash(secretHash: string): Promise<ClientSecretRecord | null>;
  /** Makes one secret expire at `expiresAtMs` (a leaked secret ends now; its siblings live on). */
  expire(id: string, expiresAtMs: number): Promise<void>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    oauthClientSecrets: OAuthClientSecretsRepo;
    /**
     * The one-time keys (`one_time_keys`) inside a unit of work: a `jti` consumed here commits with
     * the other requests' writes of the same group commit instead of costing a commit of its own.
     */
    oauthOneTimeKeys: OneTimeKeys;
    oauthRegistrationTokens: OAuthRegistrationTokensRepo;
  }
}

/** RFC 7592 registration access tokens, one per dynamically registered client, stored hashed. */
export interface OAuthRegistrationTokensRepo {
  /** Sets (or replaces) the client's token hash. */
  put(clientId: string, tokenHash: string, nowMs: number): Promise<void>;
  hashOf(clientId: string): Promise<string | null>;
  deleteOfClient(clientId: string): Promise<void>;
  /** The client whose registration token has this hash (leak reports, ADR 0020). */
  clientOfHash(tokenHash: string): Promise<string | null>;
}

/** The capability's own migration history (`tessera_migrations_oauth`). */
export const oauthMigrations = (): Record<string, Migration> => ({
  '0001-oauth-client-secrets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oauth_client_secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint')
        .execute();
      await db.schema
        .createIndex('oauth_client_secrets_client_idx')
        .on('oauth_client_secrets')
        .column('client_id')
        .execute();
    },
  },
  '0002-oauth-registration-tokens': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oauth_registration_tokens')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  // Leak reports identify a secret by its hash (ADR 0020).
  '0003-oauth-hash-indexes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('oauth_client_secrets_hash_idx')
        .on('oauth_client_secrets')
        .column('secret_hash')
        .execute();
      await db.schema
        .createIndex('oauth_registration_tokens_hash_idx')
        .on('oauth_registration_tokens')
        .column('token_hash')
        .execute();
    },
  },
  '0004-oauth-ciba-pings': cibaPingMigration,
  '0005-oauth-resource-servers': resourceServersMigration,
  '0006-oauth-initial-access-tokens': initialAccessTokensMigration,
  '0007-oauth-initial-access-token-owner': initialAccessTokenOwnerMigration,
});

interface RegistrationRow {
  client_id: string;
  token_hash: string;
  created_at_ms: number | string;
}

export function createOAuthRegistrationTokensRepo({ db }: QueryTarget): OAuthRegistrationTokensRepo {
  const table = db as unknown as Kysely<{ oauth_registration_tokens: RegistrationRow }>;
  return {
    async put(clientId, tokenHash, nowMs) {
      await table.deleteFrom('oauth_registration_tokens').where('client_id', '=', clientId).execute();
      await table
        .insertInto('oauth_registration_tokens')
        .values({ client_id: clientId, token_hash: tokenHash, created_at_ms: nowMs })
        .execute();
    },
    async hashOf(clientId) {
      const row = await table
        .selectFrom('oauth_registration_tokens')
        .select('token_hash')
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return row?.token_hash ?? null;
    },
    async deleteOfClient(clientId) {
      await table.deleteFrom('oauth_registration_tokens').where('client_id', '=', clientId).execute();
    },
    async clientOfHash(tokenHash) {
      const row = await table
        .selectFrom('oauth_registration_tokens')
        .select('client_id')
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row?.client_id ?? null;
    },
  };
}

interface Row {
  id: string;
  client_id: string;
  secret_hash: string;
  created_at_ms: number | string;
  expires_at_ms: number | string | null;
}

export function createOAuthClientSecretsRepo({ db }: QueryTarget): OAuthClientSecretsRepo {
  const table = db as unknown as Kysely<{ oauth_client_secrets: Row }>;
  return {
    async insert(s) {
      await table
        .insertInto('oauth_client_secrets')
        .values({
          id: s.id,
          client_id: s.clientId,
          secret_hash: s.secretHash,
          created_at_ms: s.createdAtMs,
          expires_at_ms: s.expiresAtMs,
        })
        .execute();
    },
    async listUsable(clientId, nowMs) {
      const rows = await sql<Row>`
        select id, client_id, secret_hash, created_at_ms, expires_at_ms from oauth_client_secrets
        where client_id = ${clientId} and (expires_at_ms is null or expires_at_ms > ${nowMs})
        order by created_at_ms desc, id limit 5`.execute(table);
      return rows.rows.map((r) => ({
        id: r.id,
        clientId: r.client_id,
        secretHash: r.secret_hash,
        createdAtMs: Number(r.created_at_ms),
        expiresAtMs: r.expires_at_ms === null ? null : Number(r.expires_at_ms),
      }));
    },
    async expireCurrent(clientId, expiresAtMs) {
      await table
        .updateTable('oauth_client_secrets')
        .set({ expires_at_ms: expiresAtMs })
        .where('client_id', '=', clientId)
        .where('expires_at_ms', 'is', null)
        .execute();
    },
    async deleteOfClient(clientId) {
      await table.deleteFrom('oauth_client_secrets').where('client_id', '=', clientId).execute();
    },
    async findByHash(secretHash) {
      const r = await table
        .selectFrom('oauth_client_secrets')
        .selectAll()
        .where('secret_hash', '=', secretHash)
        .executeTakeFirst();
      if (!r) return null;
      return {
        id: r.id,
        clientId: r.client_id,
        secretHash: r.secret_hash,
        createdAtMs: Number(r.created_at_ms),
        expiresAtMs: r.expires_at_ms === null ? null : Number(r.expires_at_ms),
      };
    },
    async expire(id, expiresAtMs) {
      await table
        .updateTable('oauth_client_secrets')
        .set({ expires_at_ms: expiresAtMs })
        .where('id', '=', id)
        .execute();
    },
  };
}

/** `one_time_keys` upsert (storage/repos/one-time-keys.repo.ts), compiled once: a row when new. */
const consumeQuery = prepared((db, key: string, expiresAt: number, nowMs: number) =>
  db
    .insertInto('one_time_keys')
    .values({ key, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
        .where('one_time_keys.expires_at', '<=', nowMs),
    )
    .returning('key'),
);

/**
 * One-time keys inside the caller's unit of work (the token endpoint spends two per token): the
 * same statement and semantics as the platform's `consume`, prepared, and committed with the token.
 */
export function createOAuthOneTimeKeysRepo(target: QueryTarget, clock: Clock): OneTimeKeys {
  return {
    async consume(key, ttlSeconds) {
      if (key.length === 0 || key.length > 512)
        throw new RangeError('a one-time key must be 1 to 512 characters');
      if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
        throw new RangeError('a one-time key needs a positive TTL');
      const nowMs = clock.nowMs();
      const rows = await consumeQuery(target, key, nowMs + Math.ceil(ttlSeconds * 1000), nowMs);
      return rows.length > 0;
    },
    pruneExpired: async () => 0, // the platform's job prunes the table
  };
}
