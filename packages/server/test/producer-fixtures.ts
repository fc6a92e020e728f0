/**
 * Per-producer fixtures of the lease tests (issue 6): the same lease behaviour (credential works,
 * revoke ends it and its open session, the reaper, the sweep, quotas, policy) runs against the real
 * PostgreSQL, MariaDB and Redis on the machine. A fixture knows how to make an item's settings, log in
 * with a credential and run a probe, keep a session open, and look at the target's accounts.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createClient } from 'redis';
import type { StoreKind } from './harness.js';
import { MYSQL_HOST, MYSQL_PORT, mysqlRoot } from './rotation.helpers.js';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const REDIS_HOST = process.env.TESSERA_TEST_REDIS_HOST ?? '127.0.0.1';
const REDIS_PORT = Number(process.env.TESSERA_TEST_REDIS_PORT ?? 6379);

/** A session opened with a credential: `probe` runs one query and throws once the session is gone. */
export interface TargetSession {
  probe(): Promise<void>;
  close(): Promise<void>;
}

export interface ProducerFixture {
  type: 'postgresql' | 'mysql' | 'redis';
  /** The target's limit on account names. */
  maxNameLength: number;
  /** Creates what the run needs on the target (a database…); `tag` is unique to the test file run. */
  setUp(tag: string): Promise<void>;
  /** Removes every account starting with `prefix`, then what `setUp` created. */
  tearDown(prefix: string): Promise<void>;
  /** The item's producer settings. `adminPassword`, when not empty, must never come back. */
  settings(prefix: string): Record<string, unknown>;
  /** Logs in with the credential and runs a probe; throws when refused. */
  connect(username: string, password: string): Promise<TargetSession>;
  accountExists(username: string): Promise<boolean>;
  countAccounts(prefix: string): Promise<number>;
  /** Creates an account named `username` directly on the target, behind Tessera's back. */
  createRogue(username: string): Promise<void>;
}

/** PostgreSQL: a database per run; the local server trusts 127.0.0.1 (the admin password is a dummy). */
export function postgresFixture(): ProducerFixture & { database: () => string } {
  let database = '';
  const admin = async (text: string, values: unknown[] = [], db = database) => {
    const c = new pg.Client({ ...PG, database: db });
    await c.connect();
    try {
      return await c.query(text, values);
    } finally {
      await c.end();
    }
  };
  return {
    type: 'postgresql',
    maxNameLength: 63,
    database: () => database,
    async setUp(tag) {
      database = `tessera_target_${tag}`;
      await admin(`create database ${database}`, [], 'postgres');
    },
    async tearDown(prefix) {
      const left = await admin('select rolname from pg_roles where rolname like $1', [`${prefix}%`]);
      for (const r of left.rows)
        await admin(`drop owned by "${r.rolname}"; drop role "${r.rolname}"`).catch(() => {});
      await admin(`drop database if exists ${database} with (force)`, [], 'postgres');
    },
    settings: (prefix) => ({
      host: PG.host,
      port: PG.port,
      database,
      adminUsername: 'postgres',
      adminPassword: 'unused-trust',
      usernamePrefix: prefix,
    }),
    async connect(username, password) {
      const c = new pg.Client({ ...PG, user: username, password, database });
      c.on('error', () => {});
      await c.connect();
      const probe = async () => {
        const { rows } = await c.query('select current_user as u');
        if (rows[0].u !== username) throw new Error(`logged in as ${rows[0].u}`);
      };
      try {
        await probe();
      } catch (error) {
        await c.end().catch(() => {});
        throw error;
      }
      return { probe, close: () => c.end().catch(() => {}) };
    },
    accountExists: async (username) =>
      (await admin('select 1 from pg_roles where rolname = $1', [username])).rowCount === 1,
    countAccounts: async (prefix) =>
      (await admin('select count(*)::int as n from pg_roles where rolname like $1', [`${prefix}%`])).rows[0]
        .n,
    async createRogue(username) {
      await admin(`create role "${username}" login`);
    },
  };
}

/** MariaDB: root with an empty password, database `test` (read grants on it by default). */
export function mysqlFixture(): ProducerFixture {
  const withRoot = async <T>(work: (c: mysql.Connection) => Promise<T>) => {
    const c = await mysqlRoot();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  };
  const accounts = (prefix: string) =>
    withRoot(async (c) => {
      const [rows] = await c.query('SELECT User AS u, Host AS h FROM mysql.user WHERE User LIKE ?', [
        `${prefix.replace(/_/g, '\\_')}%`,
      ]);
      return (rows as Array<{ u: string | Buffer; h: string | Buffer }>).map((r) => ({
        u: String(r.u),
        h: String(r.h),
      }));
    });
  return {
    type: 'mysql',
    maxNameLength: 80,
    async setUp() {},
    async tearDown(prefix) {
      const left = await accounts(prefix);
      await withRoot(async (c) => {
        for (const { u, h } of left) await c.query('DROP USER IF EXISTS ?@?', [u, h]);
      });
    },
    settings: (prefix) => ({
      host: MYSQL_HOST,
      port: MYSQL_PORT,
      database: 'test',
      adminUsername: 'root',
      adminPassword: '',
      usernamePrefix: prefix,
    }),
    async connect(username, password) {
      const c = await mysql.createConnection({
        host: MYSQL_HOST,
        port: MYSQL_PORT,
        user: username,
        password,
        database: 'test',
        connectTimeout: 3000,
      });
      c.on('error', () => {});
      const probe = async () => {
        const [rows] = await c.query('SELECT CURRENT_USER() AS u');
        const u = String((rows as Array<{ u: string }>)[0]!.u);
        if (!u.startsWith(`${username}@`)) throw new Error(`logged in as ${u}`);
      };
      try {
        await probe();
      } catch (error) {
        c.destroy();
        throw error;
      }
      return { probe, close: async () => c.destroy() };
    },
    accountExists: async (username) =>
      withRoot(async (c) => {
        const [rows] = await c.query('SELECT 1 FROM mysql.user WHERE User = ?', [username]);
        return (rows as unknown[]).length > 0;
      }),
    countAccounts: async (prefix) => new Set((await accounts(prefix)).map((a) => a.u)).size,
    async createRogue(username) {
      await withRoot((c) => c.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [username]));
    },
  };
}

/** Redis: ACL users, the default user without a password. */
export function redisFixture(): ProducerFixture {
  const client = (auth: { username?: string; password?: string } = {}) => {
    const c = createClient({
      socket: { host: REDIS_HOST, port: REDIS_PORT, reconnectStrategy: false },
      ...auth,
    });
    c.on('error', () => {});
    return c;
  };
  const withAdmin = async <T>(work: (c: ReturnType<typeof client>) => Promise<T>) => {
    const c = client();
    await c.connect();
    try {
      return await work(c);
    } finally {
      c.destroy();
    }
  };
  const users = (prefix: string) =>
    withAdmin(async (c) =>
      ((await c.sendCommand(['ACL', 'USERS'])) as string[]).filter((u) => u.startsWith(prefix)),
    );
  return {
    type: 'redis',
    maxNameLength: 64,
    async setUp() {},
    async tearDown(prefix) {
      const left = await users(prefix);
      await withAdmin(async (c) => {
        for (const u of left) await c.sendCommand(['ACL', 'DELUSER', u]);
      });
    },
    settings: (prefix) => ({
      host: REDIS_HOST,
      port: REDIS_PORT,
      adminUsername: 'default',
      adminPassword: '',
      usernamePrefix: prefix,
      creationStatements: [`~${prefix}app:* +@read +ping +acl|whoami`],
    }),
    async connect(username, password) {
      const c = client({ username, password });
      await c.connect();
      const probe = async () => {
        const who = String(await c.sendCommand(['ACL', 'WHOAMI']));
        if (who !== username) throw new Error(`logged in as ${who}`);
      };
      try {
        await probe();
      } catch (error) {
        c.destroy();
        throw error;
      }
      return {
        probe,
        close: async () => {
          if (c.isOpen) c.destroy();
        },
      };
    },
    accountExists: async (username) =>
      withAdmin(async (c) => (await c.sendCommand(['ACL', 'GETUSER', username])) !== null),
    countAccounts: async (prefix) => (await users(prefix)).length,
    async createRogue(username) {
      await withAdmin((c) => c.sendCommand(['ACL', 'SETUSER', username, 'on', '>x', '~x:*', '+ping']));
    },
  };
}

/**
 * The (producer, store) pairs the lease suite runs: PostgreSQL on every store under test, MariaDB and
 * Redis on SQLite (the PostgreSQL store's lease code is the same whatever the producer).
 */
export function leaseSuiteCases(stores: readonly StoreKind[]): Array<[string, StoreKind, ProducerFixture]> {
  const cases: Array<[string, StoreKind, ProducerFixture]> = stores.map((store) => [
    'postgresql',
    store,
    postgresFixture(),
  ]);
  const sqlite: StoreKind = stores.includes('sqlite') ? 'sqlite' : stores[0]!;
  cases.push(['mysql', sqlite, mysqlFixture()], ['redis', sqlite, redisFixture()]);
  return cases;
}
