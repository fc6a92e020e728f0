import { type Kysely, type Migration, sql } from 'kysely';
import type { DirectSqlite } from '../../storage/database.js';
import { prepared, type QueryTarget } from '../../storage/prepared.js';
import type { McpServerRecord } from './mcp.model.js';

export interface McpServersRepo {
  insert(server: McpServerRecord): Promise<void>;
  get(name: string): Promise<McpServerRecord | null>;
  list(): Promise<McpServerRecord[]>;
  update(server: McpServerRecord): Promise<void>;
  delete(name: string): Promise<boolean>;
}

/** What a call's rules read: the session's labels and the caller's recent calls of the tool. */
export interface CallState {
  /** The last time each label was called in the session. */
  history: Map<string, number>;
  /** Per rate window (`windowSeconds`): the caller's calls of the tool in it, counted up to its cap. */
  callCounts: Map<number, number>;
}

/** Where to read it; a null key is not read. */
export interface CallStateKeys {
  sessionKey: string | null;
  callerKey: string | null;
  /** The rate windows to count in (with `callerKey`): calls after `sinceMs`, at most `cap`. */
  windows: { windowSeconds: number; sinceMs: number; cap: number }[];
}

/** What a call leaves behind for the next ones. */
export interface CallStateEntry {
  sessionKey: string;
  labels: readonly string[];
  callerKey: string | null;
  atMs: number;
}

/**
 * Decides on the state just read; returns the outcome and what to record (null: nothing). Runs
 * inside the reservation's transaction, so it must be synchronous and free of I/O.
 */
export type DecideOnState<T> = (state: CallState) => { value: T; record: CallStateEntry | null };

/**
 * The gateway's sequence and rate state (ADR 0042, ADR 0045), in the store so that every server
 * behind a balancer sees it. Keys are hashes: of (server, caller, MCP session or token) for the
 * labels a session has called, of (server, caller, tool) for the instants of its calls.
 */
export interface McpCallStateRepo {
  /**
   * Check and reserve (ADR 0045): reads the state, decides, and records the call, in the
   * transaction of the unit of work that calls it (which orders writers on every store), so that
   * concurrent calls cannot all pass a rate cap with one slot left.
   */
  reserve<T>(keys: CallStateKeys, decide: DecideOnState<T>): Promise<T>;
  record(entry: CallStateEntry): Promise<void>;
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
type StateDb = Kysely<StateTables>;
const asState = (db: unknown) => db as StateDb;

// The hot path's statements, compiled once per dialect (no Kysely tree per call).
const selectLabels = prepared((db, sessionKey: string) =>
  asState(db)
    .selectFrom('mcp_session_labels')
    .select(['label', 'last_at_ms'])
    .where('session_key', '=', sessionKey)
    .limit(1000),
);
/** Counted in the store, up to the cap: no row per earlier call comes back (ADR 0045). */
const countCalls = prepared((db, callerKey: string, sinceMs: number, cap: number) =>
  asState(db)
    .selectFrom((eb) =>
      eb
        .selectFrom('mcp_tool_calls')
        .select(sql<number>`1`.as('one'))
        .where('caller_key', '=', callerKey)
        .where('at_ms', '>', sinceMs)
        .limit(cap)
        .as('c'),
    )
    .select((eb) => eb.fn.countAll<number | string>().as('n')),
);
const COUNT_CALLS_SQLITE =
  'select count(*) as n from (select 1 from mcp_tool_calls where caller_key = ? and at_ms > ? limit ?) as c';
const upsertLabel = prepared((db, sessionKey: string, label: string, atMs: number) =>
  asState(db)
    .insertInto('mcp_session_labels')
    .values({ session_key: sessionKey, label, last_at_ms: atMs })
    .onConflict((oc) => oc.columns(['session_key', 'label']).doUpdateSet({ last_at_ms: atMs })),
);
const insertCall = prepared((db, callerKey: string, atMs: number) =>
  asState(db).insertInto('mcp_tool_calls').values({ caller_key: callerKey, at_ms: atMs }),
);

/** Runs the statements synchronously when `target.direct` is set (SQLite), else awaits them. */
type Step<T> = T | Promise<T>;
const then = <A, B>(a: Step<A>, f: (a: A) => Step<B>): Step<B> => (a instanceof Promise ? a.then(f) : f(a));

/**
 * The reservation's steps on a query target. With `direct` (SQLite) every statement runs
 * synchronously and so does the whole reservation: `reserveOn` relies on that to run it as one
 * transaction that nothing else on the event loop can interleave with.
 */
function reservation<T>(target: QueryTarget, keys: CallStateKeys, decide: DecideOnState<T>): Step<T> {
  const run = <R>(q: (t: QueryTarget) => Promise<R[]>, sqlite: () => R[]): Step<R[]> =>
    target.direct ? sqlite() : q(target);
  const d = target.direct;
  const labels = keys.sessionKey
    ? run(
        (t) => selectLabels(t, keys.sessionKey!),
        () =>
          d!.execute('select label, last_at_ms from mcp_session_labels where session_key = ? limit 1000', [
            keys.sessionKey,
          ]) as { label: string; last_at_ms: number }[],
      )
    : [];
  return then(labels, (labelRows) => {
    const counts: Step<number>[] = [];
    if (keys.callerKey)
      for (const w of keys.windows) {
        const rows = run(
          (t) => countCalls(t, keys.callerKey!, w.sinceMs, w.cap),
          () => d!.execute(COUNT_CALLS_SQLITE, [keys.callerKey, w.sinceMs, w.cap]) as { n: number }[],
        );
        counts.push(then(rows, (r) => Number(r[0]?.n ?? 0)));
      }
    const all: Step<number[]> = counts.some((c) => c instanceof Promise)
      ? Promise.all(counts)
      : (counts as number[]);
    return then(all, (n) => {
      const { value, record } = decide({
        history: new Map(labelRows.map((r) => [r.label, Number(r.last_at_ms)])),
        callCounts: new Map(keys.windows.map((w, i) => [w.windowSeconds, n[i]!])),
      });
      return then(record ? recording(target, record) : undefined, () => value);
    });
  });
}

function recording(target: QueryTarget, { sessionKey, labels, callerKey, atMs }: CallStateEntry): Step<void> {
  const d = target.direct;
  if (d) {
    for (const label of labels)
      d.execute(
        'insert into mcp_session_labels (session_key, label, last_at_ms) values (?, ?, ?) ' +
          'on conflict (session_key, label) do update set last_at_ms = excluded.last_at_ms',
        [sessionKey, label, atMs],
      );
    if (callerKey !== null)
      d.execute('insert into mcp_tool_calls (caller_key, at_ms) values (?, ?)', [callerKey, atMs]);
    return;
  }
  return (async () => {
    for (const label of labels) await upsertLabel(target, sessionKey, label, atMs);
    if (callerKey !== null) await insertCall(target, callerKey, atMs);
  })();
}

/**
 * SQLite only (ADR 0045, ADR 0051): the reservation on the connection, synchronously, for the unit
 * of work's `writeNow`, which runs it as its own transaction committed without an fsync on the call's
 * path (the next group commit's WAL fsync, normally the call's own audit event, makes it durable).
 */
export function reserveOn<T>(direct: DirectSqlite, keys: CallStateKeys, decide: DecideOnState<T>): T {
  return reservation({ db: null as never, dialect: 'sqlite', direct }, keys, decide) as T;
}

export function createMcpCallStateRepo(target: QueryTarget): McpCallStateRepo {
  const t = asState(target.db);
  return {
    async reserve(keys, decide) {
      return reservation(target, keys, decide);
    },
    async record(entry) {
      await recording(target, entry);
    },
    async prune(beforeMs) {
      await t.deleteFrom('mcp_session_labels').where('last_at_ms', '<', beforeMs).execute();
      await t.deleteFrom('mcp_tool_calls').where('at_ms', '<', beforeMs).execute();
    },
  };
}
