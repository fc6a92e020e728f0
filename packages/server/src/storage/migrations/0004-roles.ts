import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Roles, their rules, inclusions and associations with auth methods (ADR 0008), and the built-in
 * administrator role (`tessera-admin`: rule type `*`, path `*`, every capability). Data directories
 * from before roles had the administrator as a flag on the auth method (`is_admin = 1`): each such
 * method is associated with the built-in role here, so it keeps its rights.
 */
export function rolesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('roles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('builtin', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('role_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('rule_type', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('capabilities', 'text', (c) => c.notNull())
        .addColumn('conditions', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('role_rules_key', ['role_id', 'rule_type', 'path'])
        .execute();

      await db.schema
        .createTable('role_inclusions')
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('included_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('role_inclusions_pk', ['role_id', 'included_id'])
        .execute();
      await db.schema
        .createIndex('role_inclusions_included_idx')
        .on('role_inclusions')
        .column('included_id')
        .execute();

      await db.schema
        .createTable('role_associations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('auth_method_id', 'text', (c) => c.notNull())
        .addColumn('claims', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('role_associations_method_idx')
        .on('role_associations')
        .column('auth_method_id')
        .execute();
      await db.schema
        .createIndex('role_associations_role_idx')
        .on('role_associations')
        .column('role_id')
        .execute();

      const now = Date.now();
      await sql`insert into roles (id, name, path, description, builtin, created_at, updated_at)
        values ('rl-builtin-admin', 'tessera-admin', '/tessera-admin',
                'Built-in: every capability on everything.', 1, ${now}, ${now})`.execute(db);
      await sql`insert into role_rules
        (id, role_id, rule_type, path, capabilities, conditions, expires_at, created_at, updated_at)
        values ('builtin:admin', 'rl-builtin-admin', '*', '*',
                '["read","list","create","update","delete"]', null, null, ${now}, ${now})`.execute(db);
      await sql`insert into role_associations (id, role_id, auth_method_id, claims, created_at)
        select 'ra-admin-' || substr(id, 3), 'rl-builtin-admin', id, '{}', created_at
        from auth_methods where is_admin = 1`.execute(db);
    },
  };
}
