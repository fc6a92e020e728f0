import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { randomPassword } from '../src/crypto/random-password.js';
import { createMysqlProducer, renderMysqlStatement } from '../src/producers/mysql.producer.js';

/** The MariaDB/MySQL producer against the real MariaDB on the machine (issue 6). */
const HOST = process.env.TESSERA_TEST_MYSQL_HOST ?? '127.0.0.1';
const PORT = Number(process.env.TESSERA_TEST_MYSQL_PORT ?? 3306);
const prefix = `tsrt${process.pid}_${Math.random().toString(36).slice(2, 6)}_`;

const producer = createMysqlProducer();
const settings = producer.normaliseSettings({
  host: HOST,
  port: PORT,
  database: 'test',
  adminUsername: 'root',
  adminPassword: '',
  usernamePrefix: prefix,
  creationStatements: ["GRANT SELECT ON test.* TO '{{name}}'@'%'"],
});

const login = (user: string, password: string) =>
  mysql.createConnection({ host: HOST, port: PORT, user, password, database: 'test', connectTimeout: 3000 });
const canLogin = async (user: string, password: string) => {
  try {
    const c = await login(user, password);
    await c.query('SELECT 1');
    await c.end();
    return true;
  } catch {
    return false;
  }
};

describe('mysql producer', () => {
  afterAll(async () => {
    const admin = await mysql.createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
    const [rows] = await admin.query('SELECT User AS u, Host AS h FROM mysql.user WHERE User LIKE ?', [
      `${prefix}%`,
    ]);
    for (const { u, h } of rows as Array<{ u: string; h: string }>)
      await admin.query('DROP USER ?@?', [u, h]);
    await admin.end();
    await producer.close();
  });

  it('renders templates as escaped literals, quoted or not', () => {
    expect(
      renderMysqlStatement("CREATE USER '{{name}}'@'%' IDENTIFIED BY {{password}}", {
        username: 'a',
        password: "x'y",
      }),
    ).toBe("CREATE USER 'a'@'%' IDENTIFIED BY 'x\\'y'");
  });

  it('checks the admin connection, and refuses an unreachable target', async () => {
    await producer.check(settings);
    await expect(
      producer.check({ ...settings, port: 1, options: { connectTimeoutMs: 500 } }),
    ).rejects.toThrow();
  });

  it('creates a working account; revoking it ends its open sessions and its logins', async () => {
    const username = `${prefix}a`;
    const password = randomPassword(32);
    await producer.createAccount(settings, { username, password, expiresAtMs: Date.now() + 60_000 });
    const session = await login(username, password);
    const [rows] = await session.query('SELECT 1 + 1 AS two');
    expect((rows as Array<{ two: number }>)[0]!.two).toBe(2);
    // Grants are those of the statements: read only.
    await expect(session.query('CREATE TABLE t_forbidden (x int)')).rejects.toThrow();

    const result = await producer.revokeAccount(settings, username);
    expect(result).toEqual({ existed: true, sessionsTerminated: 1 });
    await expect(session.query('SELECT 1')).rejects.toThrow();
    session.destroy();
    expect(await canLogin(username, password)).toBe(false);
    // Idempotent.
    expect(await producer.revokeAccount(settings, username)).toEqual({
      existed: false,
      sessionsTerminated: 0,
    });
  });

  it('lists accounts created behind its back that match the prefix', async () => {
    const admin = await mysql.createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
    await admin.query("CREATE USER ?@'localhost' IDENTIFIED BY 'x'", [`${prefix}rogue`]);
    await admin.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [`other${prefix}`]);
    await admin.end();
    const listed = await producer.listAccounts(settings);
    expect(listed).toContain(`${prefix}rogue`);
    expect(listed.every((u) => u.startsWith(prefix))).toBe(true);
    await producer.revokeAccount(settings, `${prefix}rogue`);
    const cleanup = await mysql.createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
    await cleanup.query("DROP USER ?@'%'", [`other${prefix}`]);
    await cleanup.end();
    expect(await producer.listAccounts(settings)).not.toContain(`${prefix}rogue`);
  });

  it('sets a new password: the old one stops working, open sessions stay', async () => {
    const username = `${prefix}p`;
    const old = randomPassword(24);
    await producer.createAccount(settings, { username, password: old, expiresAtMs: Date.now() + 60_000 });
    const session = await login(username, old);
    const next = randomPassword(24);
    await producer.setPassword(settings, username, next);
    expect(await canLogin(username, next)).toBe(true);
    expect(await canLogin(username, old)).toBe(false);
    await session.query('SELECT 1');
    await session.end();
    await expect(producer.setPassword(settings, `${prefix}missing`, next)).rejects.toThrow(/does not exist/);
    await producer.revokeAccount(settings, username);
  });

  it('leaves nothing behind when a creation statement fails', async () => {
    const username = `${prefix}f`;
    const broken = {
      ...settings,
      creationStatements: ["GRANT SELECT ON test.* TO '{{name}}'@'%'", 'NOT SQL'],
    };
    await expect(
      producer.createAccount(broken, { username, password: randomPassword(), expiresAtMs: Date.now() }),
    ).rejects.toThrow();
    expect(await producer.listAccounts(settings)).not.toContain(username);
  });
});
