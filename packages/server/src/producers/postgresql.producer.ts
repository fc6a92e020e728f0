import pg from 'pg';
import {
  type AccountSpec,
  type Producer,
  type ProducerSettings,
  type RevocationResult,
  TargetError,
} from '../core/dynamic/producer.port.js';
import { validationError } from '../core/shared/errors.js';
import { sha256Hex } from '../crypto/credentials.js';
import { normaliseCommonSettings, timeoutMs } from './producer.settings.js';
import { AccountDisabledError, classified, classifyTargetError } from './target-errors.js';

/**
 * PostgreSQL roles as dynamic credentials (issue 6, ADR 0010). Revocation is the part peers get
 * wrong (docs/adr/0010, peers.md §E): the role first loses LOGIN, then its live sessions are
 * terminated, then its owned objects are reassigned (or dropped), then the role is dropped — so no
 * session outlives its credential and no role is left behind by an ownership error.
 */

/**
 * Ends the sessions of the named roles. `pg_terminate_backend` sits in the target list, which is
 * only evaluated for rows that passed WHERE: as a WHERE conjunct, the planner may call it first,
 * for every backend of the cluster.
 */
const TERMINATE_SESSIONS =
  'SELECT usename FROM (SELECT usename, pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE usename = ANY($1::text[])) t WHERE ended';

/** Failures that concern the whole target, not one account. */
const TARGET_WIDE = new Set(['unreachable', 'timeout', 'authentication_failed', 'database_not_found']);

/** PostgreSQL's identifier limit (NAMEDATALEN - 1). */
export const PG_MAX_NAME = 63;

export const DEFAULT_PG_CREATION = [
  `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`,
];

/** `"…"` with embedded quotes doubled: always a valid, exact identifier. */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** `'…'` with embedded quotes doubled; backslashes made literal with the `E` form when present. */
export const quoteLiteral = (value: string) =>
  value.includes('\\')
    ? `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
    : `'${value.replace(/'/g, "''")}'`;

/**
 * Substitutes `{{name}}`, `{{password}}` and `{{expiration}}` safely, whatever quotes the author
 * put around them: `"{{name}}"` and bare `{{name}}` become a quoted identifier; `'{{x}}'` and a bare
 * `{{password}}`/`{{expiration}}` become a quoted literal.
 */
export function renderPgStatement(
  statement: string,
  account: { username: string; password?: string; expiresAtMs?: number | null },
): string {
  const values: Record<string, string> = {
    name: account.username,
    password: account.password ?? '',
    // No expiry: `VALID UNTIL 'infinity'` (never the epoch, which is an account expired in 1970).
    expiration: account.expiresAtMs == null ? 'infinity' : new Date(account.expiresAtMs).toISOString(),
  };
  return statement.replace(/(['"]?)\{\{(name|password|expiration)\}\}(['"]?)/g, (whole, open, key, close) => {
    const value = values[key as string]!;
    if (open === "'" && close === "'") return quoteLiteral(value);
    if (open === '"' && close === '"') return quoteIdent(value);
    if (open || close) return whole.replace(`{{${key}}}`, value.replace(/[^A-Za-z0-9_.:+ -]/g, ''));
    return key === 'name' ? quoteIdent(value) : quoteLiteral(value);
  });
}

/** One small pool per target and administrator (keyed by a hash: the password never is a map key). */
function poolKey(s: ProducerSettings) {
  return sha256Hex(JSON.stringify([s.host, s.port, s.database, s.adminUsername, s.adminPassword, s.tls]));
}

export function createPostgresProducer(options: { poolSize?: number } = {}): Producer {
  const pools = new Map<string, pg.Pool>();
  const poolOf = (s: ProducerSettings) => {
    const key = poolKey(s);
    let pool = pools.get(key);
    if (!pool) {
      pool = new pg.Pool({
        host: s.host,
        port: s.port,
        database: s.database ?? 'postgres',
        user: s.adminUsername,
        password: s.adminPassword,
        max: options.poolSize ?? 4,
        idleTimeoutMillis: 10_000,
        connectionTimeoutMillis: timeoutMs(s),
        statement_timeout: 30_000,
        // Client side too: a target that stops answering must not hold a request forever.
        query_timeout: 35_000,
        ...(s.tls ? { ssl: { rejectUnauthorized: true } } : {}),
      });
      // An idle client's error (the target restarted) must not crash the server.
      pool.on('error', () => {});
      pools.set(key, pool);
    }
    return pool;
  };

  async function inTransaction<T>(s: ProducerSettings, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await poolOf(s).connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Step 1 of a revocation, committed on its own before any clean-up (issue 10): the roles can no
   * longer log in (NOLOGIN, no password, expired), and the administrator becomes a member of them
   * where it is not one yet — PostgreSQL 15 gives a `CREATEROLE` administrator no right to end their
   * sessions or drop what they own otherwise (PostgreSQL 16 makes the creator an admin member anyway).
   * Whatever the clean-up does next, the credential is dead once this commits.
   */
  async function disableRoles(s: ProducerSettings, names: readonly string[]) {
    const client = await poolOf(s).connect();
    try {
      for (const n of names)
        await client.query(`ALTER ROLE ${quoteIdent(n)} NOLOGIN PASSWORD NULL VALID UNTIL '-infinity'`);
      for (const n of names) {
        const member = await client.query<{ m: boolean }>(
          "SELECT pg_has_role(current_user, $1, 'USAGE') AS m",
          [n],
        );
        // Best effort: without it, ending the sessions below fails and says why (no silent success).
        if (!member.rows[0]?.m) await client.query(`GRANT ${quoteIdent(n)} TO CURRENT_USER`).catch(() => {});
      }
      const ended = await client.query<{ usename: string }>(TERMINATE_SESSIONS, [names]);
      const counts = new Map<string, number>();
      for (const row of ended.rows) counts.set(row.usename, (counts.get(row.usename) ?? 0) + 1);
      return counts;
    } finally {
      client.release();
    }
  }

  /** Step 2: owned objects handled, grants dropped, roles dropped (one transaction; may fail). */
  async function dropRoles(c: pg.PoolClient, s: ProducerSettings, names: readonly string[]) {
    const list = names.map(quoteIdent).join(', ');
    if (s.reassignOwnedTo) await c.query(`REASSIGN OWNED BY ${list} TO ${quoteIdent(s.reassignOwnedTo)}`);
    // Drops the remaining grants too (privileges on objects of this database, default privileges).
    await c.query(`DROP OWNED BY ${list}`);
    await c.query(`DROP ROLE IF EXISTS ${list}`);
  }

  async function revokeBatch(s: ProducerSettings, usernames: readonly string[]): Promise<RevocationResult[]> {
    const { rows } = await classified([s.adminPassword], () =>
      poolOf(s).query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])', [
        usernames,
      ]),
    );
    const existing = rows.map((r) => r.rolname);
    const results = () =>
      usernames.map((u) => ({ existed: existing.includes(u), sessionsTerminated: ended.get(u) ?? 0 }));
    let ended = new Map<string, number>();
    if (existing.length === 0) return results();
    try {
      ended = await disableRoles(s, existing);
    } catch (error) {
      throw classifyTargetError(error, [s.adminPassword]);
    }
    try {
      await inTransaction(s, async (c) => {
        if (s.revocationStatements.length > 0) {
          for (const name of existing)
            for (const statement of s.revocationStatements)
              await c.query(renderPgStatement(statement, { username: name }));
        } else {
          await dropRoles(c, s, existing);
        }
      });
      // Custom statements or not, no session outlives its credential (one opened before step 1 ended).
      const again = await poolOf(s).query<{ usename: string }>(TERMINATE_SESSIONS, [existing]);
      for (const row of again.rows) ended.set(row.usename, (ended.get(row.usename) ?? 0) + 1);
    } catch (error) {
      throw new AccountDisabledError(classifyTargetError(error, [s.adminPassword]));
    }
    return results();
  }

  return {
    type: 'postgresql',

    normaliseSettings(input) {
      const settings = normaliseCommonSettings(input, {
        port: 5432,
        adminUsername: 'postgres',
        usernamePrefix: 'tsr_',
      });
      if (!settings.adminPassword && input.adminPassword === undefined) settings.adminPassword = '';
      if (settings.creationStatements.length === 0) settings.creationStatements = [...DEFAULT_PG_CREATION];
      if (!settings.creationStatements.some((st) => st.includes('{{name}}')))
        throw validationError('creationStatements must create the account named {{name}}.', {
          field: 'creationStatements',
        });
      if (!settings.usernamePrefix)
        throw validationError('usernamePrefix must not be empty: the sweep finds accounts by it.', {
          field: 'usernamePrefix',
        });
      return settings;
    },

    async check(s) {
      await classified([s.adminPassword], async () => {
        const client = await poolOf(s).connect();
        try {
          await client.query('SELECT 1');
        } finally {
          client.release();
        }
      });
    },

    async createAccount(s, account: AccountSpec) {
      if (account.username.length > PG_MAX_NAME)
        throw validationError('The username is too long for PostgreSQL.');
      // One transaction: a failed statement leaves no half-made role behind.
      await classified([s.adminPassword, account.password], () =>
        inTransaction(s, async (c) => {
          for (const statement of s.creationStatements) await c.query(renderPgStatement(statement, account));
        }),
      );
    },

    async revokeAccount(s, username) {
      return (await revokeBatch(s, [username]))[0]!;
    },

    async revokeAccounts(s, usernames) {
      try {
        return await revokeBatch(s, usernames);
      } catch (error) {
        // A target that cannot be reached (or refuses the administrator) fails every account alike:
        // no point in waiting for a timeout per account.
        if (error instanceof TargetError && TARGET_WIDE.has(error.reason)) return usernames.map(() => error);
        // One bad account must not fail its batch: each on its own, so the error names the right one.
        const out: Array<RevocationResult | Error> = [];
        for (const u of usernames) {
          try {
            out.push((await revokeBatch(s, [u]))[0]!);
          } catch (error) {
            out.push(error instanceof Error ? error : new Error(String(error)));
          }
        }
        return out;
      }
    },

    async listAccounts(s) {
      const escaped = s.usernamePrefix.replace(/[\\%_]/g, (ch) => `\\${ch}`);
      const rows = await classified([s.adminPassword], () =>
        poolOf(s).query<{ rolname: string }>(
          "SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ESCAPE '\\' ORDER BY rolname",
          [`${escaped}%`],
        ),
      );
      return rows.rows.map((r) => r.rolname);
    },

    async setPassword(s, username, password) {
      await classified([s.adminPassword, password], () =>
        poolOf(s).query(`ALTER ROLE ${quoteIdent(username)} WITH PASSWORD ${quoteLiteral(password)}`),
      );
    },

    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.allSettled(all.map((p) => p.end()));
    },
  };
}
