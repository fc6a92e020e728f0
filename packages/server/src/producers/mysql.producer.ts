import mysql from 'mysql2/promise';
import type {
  AccountSpec,
  Producer,
  ProducerSettings,
  RevocationResult,
} from '../core/dynamic/producer.port.js';
import { randomPassword } from '../crypto/random-password.js';
import { assertAccountName, normaliseCommonSettings, timeoutMs } from './producer.settings.js';
import { AccountDisabledError, classified, classifyTargetError } from './target-errors.js';

/** MariaDB/MySQL accounts (issue 6). One short admin connection per operation: rare and never pooled. */

/** Used when the creation statements create no account themselves. */
const DEFAULT_CREATE = "CREATE USER {{name}}@'%' IDENTIFIED BY {{password}}";
/** Used when no creation statement grants anything: read access to the configured database. */
const defaultGrant = (database: string | null) =>
  database ? `GRANT SELECT ON ${mysql.escapeId(database)}.* TO {{name}}@'%'` : null;

/** `{{expiration}}` of an account without expiry. */
export const MYSQL_NEVER = '9999-12-31 23:59:59';

/**
 * Substitutes the templates with quoted literals (the driver's escaping), whether or not the
 * template author quoted them: `'{{name}}'`, `"{{name}}"`, `` `{{name}}` `` and `{{name}}` all
 * become `'name'`, valid wherever MySQL takes an account name or a string.
 */
export function renderMysqlStatement(
  statement: string,
  account: Omit<AccountSpec, 'expiresAtMs'> & { expiresAtMs?: number | null },
): string {
  const values: Record<string, string> = {
    name: account.username,
    password: account.password,
    // No expiry: the largest DATETIME (never the epoch, which reads as long expired).
    expiration:
      account.expiresAtMs == null
        ? MYSQL_NEVER
        : new Date(account.expiresAtMs).toISOString().slice(0, 19).replace('T', ' '),
  };
  return statement.replace(/(['"`]?)\{\{(name|password|expiration)\}\}\1/g, (_m, _q, key: string) =>
    mysql.escape(values[key]!),
  );
}

async function connect(settings: ProducerSettings) {
  return mysql.createConnection({
    host: settings.host,
    port: settings.port,
    user: settings.adminUsername,
    password: settings.adminPassword,
    ...(settings.database ? { database: settings.database } : {}),
    connectTimeout: timeoutMs(settings),
    multipleStatements: false,
    ...(settings.tls ? { ssl: { rejectUnauthorized: true } } : {}),
  });
}

async function withAdmin<T>(
  settings: ProducerSettings,
  work: (c: mysql.Connection) => Promise<T>,
): Promise<T> {
  const connection = await classified([settings.adminPassword], () => connect(settings));
  try {
    return await work(connection);
  } catch (error) {
    throw classifyTargetError(error, [settings.adminPassword]);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

/** The hosts an account exists for (an account is `'user'@'host'`). */
async function hostsOf(c: mysql.Connection, username: string): Promise<string[]> {
  const [rows] = await c.query('SELECT Host AS host FROM mysql.user WHERE User = ?', [username]);
  return (rows as Array<{ host: string }>).map((r) => r.host);
}

/**
 * Ends every connection of the account not in `killed` (a connection being killed can still be
 * listed for a moment: it is counted once); adds what it ended to `killed`.
 */
async function killSessions(c: mysql.Connection, username: string, killed: Set<number>): Promise<void> {
  const [rows] = await c.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [
    username,
  ]);
  for (const { id } of rows as Array<{ id: number }>) {
    if (killed.has(Number(id))) continue;
    try {
      await c.query(`KILL CONNECTION ${Number(id)}`);
      killed.add(Number(id));
    } catch (error) {
      // The session ended on its own between the listing and the kill.
      if ((error as { errno?: number }).errno !== 1094) throw error;
    }
  }
}

/**
 * Revokes an account (issue 10: the credential dies first, whatever the clean-up does): each of its
 * hosts is locked and given an unknown password in one statement, its sessions are killed, then it
 * is dropped (or the custom statements run). A failure of the first step is a plain error (retried);
 * a failure after it is an `AccountDisabledError`. Idempotent.
 */
async function revokeOn(
  c: mysql.Connection,
  settings: ProducerSettings,
  username: string,
): Promise<RevocationResult> {
  const secrets = [settings.adminPassword];
  const hosts = await classified(secrets, () => hostsOf(c, username));
  const killed = new Set<number>();
  await classified(secrets, async () => {
    // Lock and forget the password (MariaDB ≥ 10.4, MySQL ≥ 5.7.6): no new session can start.
    for (const host of hosts)
      await c.query('ALTER USER ?@? IDENTIFIED BY ? ACCOUNT LOCK', [username, host, randomPassword(40)]);
    await killSessions(c, username, killed);
  });
  try {
    if (settings.revocationStatements.length > 0) {
      for (const statement of settings.revocationStatements)
        await c.query(renderMysqlStatement(statement, { username, password: '' }));
    } else {
      for (const host of hosts) await c.query('DROP USER IF EXISTS ?@?', [username, host]);
    }
    // A session that authenticated before the lock and after the listing.
    await killSessions(c, username, killed);
  } catch (error) {
    throw new AccountDisabledError(classifyTargetError(error, secrets));
  }
  return { existed: hosts.length > 0, sessionsTerminated: killed.size };
}

const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function createMysqlProducer(): Producer {
  return {
    type: 'mysql',
    normaliseSettings(input) {
      return normaliseCommonSettings(input, { port: 3306, adminUsername: 'root', usernamePrefix: 'tsr_' });
    },
    async check(settings) {
      await withAdmin(settings, async (c) => {
        await c.query('SELECT 1');
      });
    },
    async createAccount(settings, account) {
      assertAccountName(account.username, 80);
      const statements = [...settings.creationStatements];
      if (!statements.some((s) => /\bcreate\s+user\b/i.test(s))) statements.unshift(DEFAULT_CREATE);
      if (!statements.some((s) => /\bgrant\b/i.test(s))) {
        const grant = defaultGrant(settings.database);
        if (grant) statements.push(grant);
      }
      await withAdmin(settings, async (c) => {
        try {
          for (const statement of statements) await c.query(renderMysqlStatement(statement, account));
        } catch (error) {
          // Nothing left behind: a half-created account is dropped (it had no sessions yet).
          if ((error as { errno?: number }).errno !== 1396)
            for (const host of await hostsOf(c, account.username).catch(() => []))
              await c.query('DROP USER IF EXISTS ?@?', [account.username, host]).catch(() => {});
          throw error;
        }
      });
    },
    async revokeAccount(settings, username): Promise<RevocationResult> {
      assertAccountName(username, 80);
      return withAdmin(settings, (c) => revokeOn(c, settings, username));
    },
    /**
     * The reaper's batch: one admin connection, the accounts one after another (one connection per
     * account, 100 × 4 in flight, exhausted MariaDB's max_connections: bench/leases.mjs).
     */
    async revokeAccounts(settings, usernames) {
      return withAdmin(settings, async (c) => {
        const out: Array<RevocationResult | Error> = [];
        for (const username of usernames) {
          try {
            assertAccountName(username, 80);
            out.push(await revokeOn(c, settings, username));
          } catch (error) {
            out.push(classifyTargetError(error, [settings.adminPassword]));
          }
        }
        return out;
      });
    },
    async listAccounts(settings) {
      return withAdmin(settings, async (c) => {
        const [rows] = await c.query(
          "SELECT DISTINCT User AS name FROM mysql.user WHERE User LIKE ? ESCAPE '\\\\' ORDER BY User",
          [likePrefix(settings.usernamePrefix)],
        );
        return (rows as Array<{ name: string | Buffer }>).map((r) => String(r.name));
      });
    },
    async passwordChangedAt(settings) {
      return withAdmin(settings, async (c) => {
        // MariaDB keeps it in mysql.global_priv's JSON (epoch seconds, 0 when never set); MySQL, which
        // has no global_priv, in mysql.user.password_last_changed.
        const read = async (sql: string) => (await c.query(sql, [likePrefix(settings.usernamePrefix)]))[0];
        const rows = await read(
          "SELECT User AS name, JSON_VALUE(Priv, '$.password_last_changed') AS at FROM mysql.global_priv WHERE User LIKE ? ESCAPE '\\\\'",
        ).catch((error: { code?: string }) => {
          if (error.code !== 'ER_NO_SUCH_TABLE') throw error;
          return read(
            "SELECT User AS name, UNIX_TIMESTAMP(password_last_changed) AS at FROM mysql.user WHERE User LIKE ? ESCAPE '\\\\'",
          );
        });
        const out = new Map<string, number>();
        for (const r of rows as Array<{ name: string | Buffer; at: string | number | null }>) {
          const seconds = Number(r.at);
          if (r.at === null || !Number.isFinite(seconds) || seconds <= 0) continue;
          const name = String(r.name);
          out.set(name, Math.min(out.get(name) ?? Number.POSITIVE_INFINITY, seconds * 1000));
        }
        return out;
      });
    },
    async setPassword(settings, username, password) {
      assertAccountName(username, 80);
      await withAdmin(settings, async (c) => {
        const hosts = await hostsOf(c, username);
        if (hosts.length === 0) throw new Error(`account ${username} does not exist on the target`);
        // Sessions already open stay open: only new logins need the new password.
        for (const host of hosts) await c.query('ALTER USER ?@? IDENTIFIED BY ?', [username, host, password]);
      });
    },
    async close() {},
  };
}
