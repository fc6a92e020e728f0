import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { randomPassword } from '../src/crypto/random-password.js';
import { createRedisProducer, redisRules } from '../src/producers/redis.producer.js';

/** The Redis ACL producer against the real Redis on the machine (issue 6). */
const HOST = process.env.TESSERA_TEST_REDIS_HOST ?? '127.0.0.1';
const PORT = Number(process.env.TESSERA_TEST_REDIS_PORT ?? 6379);
const prefix = `tsrt${process.pid}_${Math.random().toString(36).slice(2, 6)}_`;

const producer = createRedisProducer();
const settings = producer.normaliseSettings({
  host: HOST,
  port: PORT,
  adminUsername: 'default',
  adminPassword: '',
  usernamePrefix: prefix,
  creationStatements: [`~${prefix}app:* +@read +ping`],
});

async function login(username: string, password: string) {
  const client = createClient({
    socket: { host: HOST, port: PORT, reconnectStrategy: false },
    username,
    password,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}
const canLogin = async (username: string, password: string) => {
  try {
    const c = await login(username, password);
    await c.ping();
    c.destroy();
    return true;
  } catch {
    return false;
  }
};
const admin = async () => {
  const c = createClient({ socket: { host: HOST, port: PORT, reconnectStrategy: false } });
  c.on('error', () => {});
  await c.connect();
  return c;
};

describe('redis producer', () => {
  afterAll(async () => {
    const c = await admin();
    const users = (await c.sendCommand(['ACL', 'USERS'])) as string[];
    for (const u of users.filter((u) => u.startsWith(prefix))) await c.sendCommand(['ACL', 'DELUSER', u]);
    await c.del(`${prefix}app:k`);
    c.destroy();
    await producer.close();
  });

  it('refuses password rules in statements', () => {
    expect(() => redisRules(['~x:* >pw'], 'u')).toThrow();
    expect(redisRules([], 'u')).toEqual(['~app:*', '+@read']);
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
    const c = await admin();
    await c.set(`${prefix}app:k`, 'v');
    c.destroy();
    await producer.createAccount(settings, { username, password, expiresAtMs: Date.now() + 60_000 });
    const session = await login(username, password);
    expect(await session.get(`${prefix}app:k`)).toBe('v');
    // Only what the rules grant: no writes, no other keys.
    await expect(session.set(`${prefix}app:k`, 'w')).rejects.toThrow(/NOPERM/);
    await expect(session.get('elsewhere')).rejects.toThrow(/NOPERM/);

    const result = await producer.revokeAccount(settings, username);
    expect(result).toEqual({ existed: true, sessionsTerminated: 1 });
    await expect(session.get(`${prefix}app:k`)).rejects.toThrow();
    session.destroy();
    expect(await canLogin(username, password)).toBe(false);
    expect(await producer.revokeAccount(settings, username)).toEqual({
      existed: false,
      sessionsTerminated: 0,
    });
    await expect(
      producer.createAccount(settings, { username: 'default', password, expiresAtMs: 0 }),
    ).rejects.toThrow();
  });

  it('lists accounts created behind its back that match the prefix', async () => {
    const c = await admin();
    await c.sendCommand(['ACL', 'SETUSER', `${prefix}rogue`, 'on', '>x']);
    c.destroy();
    const listed = await producer.listAccounts(settings);
    expect(listed).toContain(`${prefix}rogue`);
    expect(listed.every((u) => u.startsWith(prefix))).toBe(true);
    await producer.revokeAccount(settings, `${prefix}rogue`);
    expect(await producer.listAccounts(settings)).not.toContain(`${prefix}rogue`);
  });

  it('sets a new password: the old one stops working, open sessions stay; never creates an account', async () => {
    const username = `${prefix}p`;
    const old = randomPassword(24);
    await producer.createAccount(settings, { username, password: old, expiresAtMs: Date.now() + 60_000 });
    await expect(
      producer.createAccount(settings, { username, password: old, expiresAtMs: 0 }),
    ).rejects.toThrow(/already exists/);
    const session = await login(username, old);
    const next = randomPassword(24);
    await producer.setPassword(settings, username, next);
    expect(await canLogin(username, next)).toBe(true);
    expect(await canLogin(username, old)).toBe(false);
    expect(await session.ping()).toBe('PONG');
    session.destroy();
    await expect(producer.setPassword(settings, `${prefix}missing`, next)).rejects.toThrow(/does not exist/);
    expect(await producer.listAccounts(settings)).not.toContain(`${prefix}missing`);
    await producer.revokeAccount(settings, username);
  });
});
