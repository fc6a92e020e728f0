/**
 * Targets whose administrator has only the privileges docs/http-api.md documents (issue 10), not a
 * superuser: PostgreSQL `CREATEROLE` (plus the schema the credentials get), MariaDB `CREATE USER,
 * PROCESS, CONNECTION ADMIN` with grantable rights on the database, a Redis ACL user limited to the
 * ACL and CLIENT KILL commands. Each can make the credential own something (a table, a key) and
 * tell whether a username/password still logs in.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createClient } from 'redis';
import { MYSQL_HOST, MYSQL_PORT, mysqlRoot } from './rotation.helpers.js';

const PG = { host: '127.0.0.1', port: 5432 };
const REDIS = {
  host: process.env.TESSERA_TEST_REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.TESSERA_TEST_REDIS_PORT ?? 6379),
};

export interface LeastPrivilegeTarget {
  type: 'postgresql' | 'mysql' | 'redis';
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** Item settings with the least-privileged administrator; `extra` overrides fields. */
  settings(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Logs in as the credential and creates something it owns (PostgreSQL: a table in `app`). */
  ownSomething(username: string, password: string): Promise<void>;
  /** Whether the credential can still log in and run a query. */
  canLogIn(username: string, password: string): Promise<boolean>;
  /** Settings whose administrator lacks the right to create accounts (for error mapping). */
  unprivilegedSettings(): Record<string, unknown>;
}

const ok = (p: Promise<unknown>) =>
  p.then(
    () => true,
    () => false,
  );

export function pgTarget(tag: string): LeastPrivilegeTarget {
  const database = `tessera_lp_${tag}`;
  const admin = `tsr_lpadm_${tag}`;
  const weak = `tsr_lpweak_${tag}`;
  const prefix = `tsr_lp_${tag}_`;
  const su = async (sql: string, db = database) => {
    const c = new pg.Client({ ...PG, user: 'postgres', database: db });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const login = async (user: string, password: string, work?: (c: pg.Client) => Promise<unknown>) => {
    const c = new pg.Client({ ...PG, user, password, database, connectionTimeoutMillis: 3000 });
    c.on('error', () => {});
    await c.connect();
    try {
      await c.query('select 1');
      if (work) await work(c);
    } finally {
      await c.end().catch(() => {});
    }
  };
  return {
    type: 'postgresql',
    async setUp() {
      await su(`create database ${database}`, 'postgres');
      await su(`create role ${admin} login createrole password 'lp-admin-password-${tag}'`, 'postgres');
      await su(`create role ${weak} login password 'lp-weak-password-${tag}'`, 'postgres');
      await su(`create schema app; grant usage, create on schema app to ${admin} with grant option`);
    },
    async tearDown() {
      await su(`drop database if exists ${database} with (force)`, 'postgres');
      const left = await su(`select rolname from pg_roles where rolname like '${prefix}%'`, 'postgres');
      for (const r of left.rows) await su(`drop role if exists "${r.rolname}"`, 'postgres').catch(() => {});
      await su(`drop role if exists ${admin}`, 'postgres').catch(() => {});
      await su(`drop role if exists ${weak}`, 'postgres').catch(() => {});
    },
    settings: (extra = {}) => ({
      host: PG.host,
      port: PG.port,
      database,
      adminUsername: admin,
      adminPassword: `lp-admin-password-${tag}`,
      usernamePrefix: prefix,
      creationStatements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`,
        'GRANT USAGE, CREATE ON SCHEMA app TO "{{name}}"',
      ],
      ...extra,
    }),
    ownSomething: (u, p) =>
      login(u, p, (c) => c.query(`create table app.owned_${u.slice(-8).toLowerCase()} (x int)`)),
    canLogIn: (u, p) => ok(login(u, p)),
    unprivilegedSettings() {
      return { ...this.settings(), adminUsername: weak, adminPassword: `lp-weak-password-${tag}` };
    },
  };
}

export function mysqlTarget(tag: string): LeastPrivilegeTarget {
  const admin = `tsr_lpadm_${tag}`;
  const weak = `tsr_lpweak_${tag}`;
  const prefix = `tsr_lp_${tag}_`;
  const root = async (work: (c: mysql.Connection) => Promise<unknown>) => {
    const c = await mysqlRoot();
    try {
      await work(c);
    } finally {
      await c.end();
    }
  };
  const login = async (user: string, password: string, work?: (c: mysql.Connection) => Promise<unknown>) => {
    const c = await mysql.createConnection({
      host: MYSQL_HOST,
      port: MYSQL_PORT,
      user,
      password,
      database: 'test',
      connectTimeout: 3000,
    });
    try {
      await c.query('SELECT 1');
      if (work) await work(c);
    } finally {
      c.destroy();
    }
  };
  return {
    type: 'mysql',
    async setUp() {
      await root(async (c) => {
        await c.query(`CREATE USER '${admin}'@'%' IDENTIFIED BY 'lp-admin-password-${tag}'`);
        await c.query(`GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO '${admin}'@'%'`);
        await c.query(`GRANT SELECT ON mysql.user TO '${admin}'@'%'`);
        await c.query(`GRANT SELECT, CREATE ON test.* TO '${admin}'@'%' WITH GRANT OPTION`);
        await c.query(`CREATE USER '${weak}'@'%' IDENTIFIED BY 'lp-weak-password-${tag}'`);
        await c.query(`GRANT SELECT ON test.* TO '${weak}'@'%'`);
      });
    },
    async tearDown() {
      await root(async (c) => {
        const [rows] = await c.query('SELECT User AS u, Host AS h FROM mysql.user WHERE User LIKE ?', [
          `${prefix.replace(/_/g, '\\_')}%`,
        ]);
        for (const r of rows as Array<{ u: unknown; h: unknown }>)
          await c.query('DROP USER IF EXISTS ?@?', [String(r.u), String(r.h)]);
        const [tables] = await c.query(
          "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME LIKE ?",
          [`lp\\_${tag}\\_%`],
        );
        for (const t of tables as Array<{ t: unknown }>)
          await c.query(`DROP TABLE IF EXISTS test.\`${String(t.t)}\``);
        await c.query(`DROP USER IF EXISTS '${admin}'@'%'`);
        await c.query(`DROP USER IF EXISTS '${weak}'@'%'`);
      });
    },
    settings: (extra = {}) => ({
      host: MYSQL_HOST,
      port: MYSQL_PORT,
      database: 'test',
      adminUsername: admin,
      adminPassword: `lp-admin-password-${tag}`,
      usernamePrefix: prefix,
      creationStatements: [
        "CREATE USER {{name}}@'%' IDENTIFIED BY {{password}}",
        "GRANT SELECT, CREATE ON test.* TO {{name}}@'%'",
      ],
      ...extra,
    }),
    ownSomething: (u, p) => login(u, p, (c) => c.query(`CREATE TABLE test.lp_${tag}_${u.slice(-8)} (x INT)`)),
    canLogIn: (u, p) => ok(login(u, p)),
    unprivilegedSettings() {
      return { ...this.settings(), adminUsername: weak, adminPassword: `lp-weak-password-${tag}` };
    },
  };
}

export function redisTarget(tag: string): LeastPrivilegeTarget {
  const admin = `tsr_lpadm_${tag}`;
  const weak = `tsr_lpweak_${tag}`;
  const prefix = `tsr_lp_${tag}_`;
  const client = (auth: { username?: string; password?: string } = {}) => {
    const c = createClient({ socket: { ...REDIS, reconnectStrategy: false, connectTimeout: 3000 }, ...auth });
    c.on('error', () => {});
    return c;
  };
  const root = async (work: (c: ReturnType<typeof client>) => Promise<unknown>) => {
    const c = client();
    await c.connect();
    try {
      await work(c);
    } finally {
      c.destroy();
    }
  };
  const login = async (
    username: string,
    password: string,
    work?: (c: ReturnType<typeof client>) => Promise<unknown>,
  ) => {
    const c = client({ username, password });
    try {
      await c.connect();
      await c.sendCommand(['PING']);
      if (work) await work(c);
    } finally {
      if (c.isOpen) c.destroy();
    }
  };
  return {
    type: 'redis',
    async setUp() {
      await root(async (c) => {
        // The documented administrator: the ACL commands Tessera runs, CLIENT KILL, PING; no keys.
        await c.sendCommand([
          'ACL',
          'SETUSER',
          admin,
          'reset',
          'on',
          `>lp-admin-password-${tag}`,
          '+acl|setuser',
          '+acl|deluser',
          '+acl|getuser',
          '+acl|users',
          '+acl|whoami',
          '+client|kill',
          '+ping',
        ]);
        await c.sendCommand([
          'ACL',
          'SETUSER',
          weak,
          'reset',
          'on',
          `>lp-weak-password-${tag}`,
          '+acl|whoami',
          '+ping',
        ]);
      });
    },
    async tearDown() {
      await root(async (c) => {
        const users = (await c.sendCommand(['ACL', 'USERS'])) as string[];
        for (const u of users)
          if (u.startsWith(prefix) || u === admin || u === weak) await c.sendCommand(['ACL', 'DELUSER', u]);
        const keys = (await c.sendCommand(['KEYS', `${prefix}*`])) as string[];
        if (keys.length > 0) await c.sendCommand(['DEL', ...keys]);
      });
    },
    settings: (extra = {}) => ({
      host: REDIS.host,
      port: REDIS.port,
      adminUsername: admin,
      adminPassword: `lp-admin-password-${tag}`,
      usernamePrefix: prefix,
      creationStatements: [`~${prefix}app:* +@read +@write +ping`],
      ...extra,
    }),
    ownSomething: (u, p) => login(u, p, (c) => c.sendCommand(['SET', `${prefix}app:${u}`, 'x'])),
    canLogIn: (u, p) => ok(login(u, p)),
    unprivilegedSettings() {
      return { ...this.settings(), adminUsername: weak, adminPassword: `lp-weak-password-${tag}` };
    },
  };
}
