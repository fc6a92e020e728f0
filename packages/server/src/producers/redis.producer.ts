import { createClient } from 'redis';
import type { Producer, ProducerSettings, RevocationResult } from '../core/dynamic/producer.port.js';
import { validationError } from '../core/shared/errors.js';
import { assertAccountName, normaliseCommonSettings, timeoutMs } from './producer.settings.js';
import { AccountDisabledError, classified, classifyTargetError } from './target-errors.js';

/**
 * Redis ACL users (issue 6). Each creation statement is a line of ACL rules (`~app:* +@read`);
 * `{{name}}` may appear in key patterns. Rules that set or remove passwords (`>`, `<`, `#`, `!`,
 * `nopass`, `resetpass`) are refused in statements: the password is Tessera's to set.
 */
const DEFAULT_RULES = '~app:* +@read';
const FORBIDDEN_RULE = /^(?:[<>#!]|nopass$|resetpass$)/i;

/** The ACL rules of an account, from the statements (templates substituted; no password rules). */
export function redisRules(statements: readonly string[], username: string): string[] {
  const lines = statements.length > 0 ? statements : [DEFAULT_RULES];
  const rules = lines
    .flatMap((line) => line.replace(/\{\{name\}\}/g, username).split(/\s+/))
    .filter((rule) => rule !== '');
  for (const rule of rules)
    if (FORBIDDEN_RULE.test(rule) || rule.includes('{{'))
      throw validationError(
        'Redis ACL statements may not set passwords or use templates other than {{name}}.',
        {
          field: 'creationStatements',
        },
      );
  return rules;
}

/** The one command the producer needs (keeps the client's generic types out of the signatures). */
interface Client {
  sendCommand(args: string[]): Promise<unknown>;
}

async function withAdmin<T>(settings: ProducerSettings, work: (c: Client) => Promise<T>): Promise<T> {
  const auth =
    settings.adminPassword !== ''
      ? { username: settings.adminUsername || 'default', password: settings.adminPassword }
      : {};
  const client = createClient({
    socket: {
      host: settings.host,
      port: settings.port,
      connectTimeout: timeoutMs(settings),
      // A target that accepts the connection but never answers must not hold the request forever.
      socketTimeout: Math.max(2 * timeoutMs(settings), 1000),
      reconnectStrategy: false,
      ...(settings.tls ? { tls: true as const } : {}),
    },
    ...auth,
    disableClientInfo: true,
  });
  // Failures surface as rejected commands; the listener only keeps them off the process's 'error'.
  client.on('error', () => {});
  const secrets = [settings.adminPassword];
  await classified(secrets, () => client.connect());
  try {
    return await work(client as unknown as Client);
  } catch (error) {
    throw classifyTargetError(error, secrets);
  } finally {
    client.destroy();
  }
}

const exists = async (c: Client, username: string) =>
  (await c.sendCommand(['ACL', 'GETUSER', username])) !== null;

/** Disables the user, ends its connections, deletes it. Idempotent. */
async function revokeOn(c: Client, username: string): Promise<RevocationResult> {
  if (!(await exists(c, username))) return { existed: false, sessionsTerminated: 0 };
  // Disabled first: no new session can authenticate while the existing ones are ended.
  await c.sendCommand(['ACL', 'SETUSER', username, 'off', 'resetpass']);
  const killed = Number(await c.sendCommand(['CLIENT', 'KILL', 'USER', username]));
  try {
    // Redis ≥ 7 also disconnects the clients of a deleted user.
    await c.sendCommand(['ACL', 'DELUSER', username]);
  } catch (error) {
    throw new AccountDisabledError(classifyTargetError(error));
  }
  return { existed: true, sessionsTerminated: killed };
}

function assertRedisName(username: string): void {
  assertAccountName(username, 64);
  if (username === 'default')
    throw validationError('The default user is not managed by Tessera.', { field: 'username' });
}

export function createRedisProducer(): Producer {
  return {
    type: 'redis',
    normaliseSettings(input) {
      const settings = normaliseCommonSettings(input, {
        port: 6379,
        adminUsername: 'default',
        usernamePrefix: 'tsr_',
      });
      redisRules(settings.creationStatements, 'x');
      return { ...settings, database: null };
    },
    async check(settings) {
      await withAdmin(settings, async (c) => {
        await c.sendCommand(['ACL', 'WHOAMI']);
      });
    },
    // Redis ACL users have no expiry: `account.expiresAtMs` (null or not) is enforced by the reaper alone.
    async createAccount(settings, account) {
      assertRedisName(account.username);
      const rules = redisRules(settings.creationStatements, account.username);
      await withAdmin(settings, async (c) => {
        // SETUSER on an existing user would modify it: an account Tessera did not create is never taken over.
        if (await exists(c, account.username))
          throw new Error(`account ${account.username} already exists on the target`);
        await c.sendCommand([
          'ACL',
          'SETUSER',
          account.username,
          'reset',
          'on',
          `>${account.password}`,
          ...rules,
        ]);
      });
    },
    async revokeAccount(settings, username): Promise<RevocationResult> {
      assertRedisName(username);
      return withAdmin(settings, (c) => revokeOn(c, username));
    },
    /** The reaper's batch: one admin connection for all the accounts (not one each, all at once). */
    async revokeAccounts(settings, usernames) {
      return withAdmin(settings, async (c) => {
        const out: Array<RevocationResult | Error> = [];
        for (const username of usernames) {
          try {
            assertRedisName(username);
            out.push(await revokeOn(c, username));
          } catch (error) {
            out.push(classifyTargetError(error, [settings.adminPassword]));
          }
        }
        return out;
      });
    },
    async listAccounts(settings) {
      return withAdmin(settings, async (c) => {
        const users = (await c.sendCommand(['ACL', 'USERS'])) as string[];
        return users.filter((u) => u !== 'default' && u.startsWith(settings.usernamePrefix)).sort();
      });
    },
    async setPassword(settings, username, password) {
      assertRedisName(username);
      await withAdmin(settings, async (c) => {
        // SETUSER would create a missing user: refuse instead.
        if (!(await exists(c, username))) throw new Error(`account ${username} does not exist on the target`);
        await c.sendCommand(['ACL', 'SETUSER', username, 'resetpass', `>${password}`]);
      });
    },
    async close() {},
  };
}
