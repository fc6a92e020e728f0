import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Dynamic secrets and their leases (issue 6, ADR 0010). A dynamic secret is an item (its name is an
 * item path, granted by `item` rules); its producer settings are sealed like a secret value (a data
 * key of its own, wrapped by the secrets' KEK). A lease is one account minted on the target.
 *
 * `leases.state`: creating → active → revoking → revoked, with failed (creation failed) and
 * revoke_failed (gave up after N attempts). `next_attempt_at` is when a `revoking` lease may be
 * claimed again (backoff, or the claim of a server that died while holding it).
 */
export function dynamicSecretsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const bytewise = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('dynamic_secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', bytewise, (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('public_settings', 'text', (c) => c.notNull())
        .addColumn('sealed_settings', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', 'text', (c) => c.notNull())
        .addColumn('kek_version', 'integer', (c) => c.notNull())
        .addColumn('default_ttl_seconds', 'integer', (c) => c.notNull())
        .addColumn('max_ttl_seconds', 'integer', (c) => c.notNull())
        .addColumn('lease_quota', 'integer', (c) => c.notNull())
        .addColumn('sweep_drop', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('leases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('item_name', bytewise, (c) => c.notNull())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('max_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('revoked_at', 'bigint')
        .execute();
      // The reaper's claim: live leases by due time.
      await db.schema
        .createIndex('leases_due_idx')
        .on('leases')
        .columns(['state', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('leases_expiry_idx')
        .on('leases')
        .columns(['state', 'expires_at'])
        .execute();
      // The quota and the revocation of an identity's leases.
      await db.schema
        .createIndex('leases_identity_idx')
        .on('leases')
        .columns(['identity_id', 'item_id', 'state'])
        .execute();
      await db.schema.createIndex('leases_item_idx').on('leases').columns(['item_name', 'state']).execute();
      await db.schema
        .createIndex('leases_username_idx')
        .on('leases')
        .columns(['item_id', 'username'])
        .execute();
    },
  };
}
