import type { Kysely, Migration } from 'kysely';
import type { QueryTarget } from '../../storage/prepared.js';
import type { McpServerRecord } from './mcp.model.js';

export interface McpServersRepo {
  insert(server: McpServerRecord): Promise<void>;
  get(name: string): Promise<McpServerRecord | null>;
  list(): Promise<McpServerRecord[]>;
  update(server: McpServerRecord): Promise<void>;
  delete(name: string): Promise<boolean>;
}

/**
 * The gateway's sequence and rate state (ADR 0042), in the store so that every server behind a
 * balancer sees it. Keys are hashes: of (server, caller, MCP session or token) for the labels a
 * session has called, of (server, caller, tool) for the instants of its calls.
 */
export interface McpCallStateRepo {
  /** The last time each label was called in the session. */
  getLabels(sessionKey: string): Promise<Map<string, number>>;
  /** The instants of the caller's calls of a tool after `sinceMs`, at most `limit`, newest first. */
  listCalls(callerKey: string, sinceMs: number, limit: number): Promise<number[]>;
  record(entry: {
    sessionKey: string;
    labels: readonly string[];
    callerKey: string | null;
    atMs: number;
  }): Promise<void>;
  /** Drops state older than `beforeMs`. */
  prune(beforeMs: number): Promise<void>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    mcpServers: McpServersRepo;
    mcpCallState: McpCallStateRepo;
  }
}

/** The capability's own migration history (`tessera_migrations_mcp`). */
export const mcpMigrations = (): Record<string, Migration> => ({
  '0001-mcp-servers': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('mcp_servers')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('identity_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('transport', 'varchar(16)', (c) => c.notNull())
        .addColumn('url', 'text')
        .addColumn('command', 'text')
        .addColumn('upstream_auth', 'text', (c) => c.notNull())
        .addColumn('required_scopes', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('pinned', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0002-mcp-server-timeout': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('mcp_servers')
        .addColumn('timeout_ms', 'integer', (c) => c.notNull().defaultTo(30_000))
        .execute();
    },
  },
  '0003-mcp-call-state': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('mcp_session_labels')
        .addColumn('session_key', 'varchar(64)', (c) => c.notNull())
        .addColumn('label', 'varchar(64)', (c) => c.notNull())
        .addColumn('last_at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('mcp_session_labels_pk', ['session_key', 'label'])
        .execute();
      await db.schema
        .createIndex('mcp_session_labels_at')
        .on('mcp_session_labels')
        .column('last_at_ms')
        .execute();
      await db.schema
        .createTable('mcp_tool_calls')
        .addColumn('caller_key', 'varchar(64)', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('mcp_tool_calls_key_at')
        .on('mcp_tool_calls')
        .columns(['caller_key', 'at_ms'])
        .execute();
      await db.schema.createIndex('mcp_tool_calls_at').on('mcp_tool_calls').column('at_ms').execute();
    },
  },
});

interface Row {
  name: string;
  identity_id: string;
  transport: string;
  url: string | null;
  command: string | null;
  upstream_auth: string;
  required_scopes: string;
  policy: string;
  pinned: string;
  timeout_ms: number;
  created_at_ms: number | string;
  updated_at_ms: number | string;
}

const toRow = (s: McpServerRecord): Row => ({
  name: s.name,
  identity_id: s.identityId,
  transport: s.transport,
  url: s.url,
  command: s.command ? JSON.stringify(s.command) : null,
  upstream_auth: JSON.stringify(s.upstreamAuth),
  required_scopes: JSON.stringify(s.requiredScopes),
  policy: JSON.stringify(s.policy),
  pinned: JSON.stringify(s.pinned),
  timeout_ms: s.timeoutMs,
  created_at_ms: s.createdAtMs,
  updated_at_ms: s.updatedAtMs,
});

const fromRow = (r: Row): McpServerRecord => ({
  name: r.name,
  identityId: r.identity_id,
  transport: r.transport as McpServerRecord['transport'],
  url: r.url,
  command: r.command ? JSON.parse(r.command) : null,
  upstreamAuth: JSON.parse(r.upstream_auth),
  requiredScopes: JSON.parse(r.required_scopes),
  policy: JSON.parse(r.policy),
  pinned: JSON.parse(r.pinned),
  timeoutMs: Number(r.timeout_ms),
  createdAtMs: Number(r.created_at_ms),
  updatedAtMs: Number(r.updated_at_ms),
});

export function createMcpServersRepo({ db }: QueryTarget): McpServersRepo {
  const table = db as unknown as Kysely<{ mcp_servers: Row }>;
  return {
    async insert(s) {
      await table.insertInto('mcp_servers').values(toRow(s)).execute();
    },
    async get(name) {
      const row = await table
        .selectFrom('mcp_servers')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? fromRow(row) : null;
    },
    async list() {
      const rows = await table.selectFrom('mcp_servers').selectAll().orderBy('name').limit(1000).execute();
      return rows.map(fromRow);
    },
    async update(s) {
      const { name, created_at_ms: _c, ...rest } = toRow(s);
      await table.updateTable('mcp_servers').set(rest).where('name', '=', name).execute();
    },
    async delete(name) {
      const result = await table.deleteFrom('mcp_servers').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

interface StateTables {
  mcp_session_labels: { session_key: string; label: string; last_at_ms: number | string };
  mcp_tool_calls: { caller_key: string; at_ms: number | string };
}

export function createMcpCallStateRepo({ db }: QueryTarget): McpCallStateRepo {
  const t = db as unknown as Kysely<StateTables>;
  return {
    async getLabels(sessionKey) {
      const rows = await t
        .selectFrom('mcp_session_labels')
        .select(['label', 'last_at_ms'])
        .where('session_key', '=', sessionKey)
        .limit(1000)
        .execute();
      return new Map(rows.map((r) => [r.label, Number(r.last_at_ms)]));
    },
    async listCalls(callerKey, sinceMs, limit) {
      const rows = await t
        .selectFrom('mcp_tool_calls')
        .select('at_ms')
        .where('caller_key', '=', callerKey)
        .where('at_ms', '>', sinceMs)
        .orderBy('at_ms', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => Number(r.at_ms));
    },
    async record({ sessionKey, labels, callerKey, atMs }) {
      for (const label of labels)
        await t
          .insertInto('mcp_session_labels')
          .values({ session_key: sessionKey, label, last_at_ms: atMs })
          .onConflict((oc) => oc.columns(['session_key', 'label']).doUpdateSet({ last_at_ms: atMs }))
          .execute();
      if (callerKey !== null)
        await t.insertInto('mcp_tool_calls').values({ caller_key: callerKey, at_ms: atMs }).execute();
    },
    async prune(beforeMs) {
      await t.deleteFrom('mcp_session_labels').where('last_at_ms', '<', beforeMs).execute();
      await t.deleteFrom('mcp_tool_calls').where('at_ms', '<', beforeMs).execute();
    },
  };
}
