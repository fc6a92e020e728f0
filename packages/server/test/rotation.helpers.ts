/**
 * Helpers of the rotated-secret tests (issue 6, ADR 0011): the MariaDB on the machine, a server whose
 * clock follows real time, on-demand rotations that wait out grace periods, and a client that
 * re-reads the credential and reconnects in a loop, counting failed connections.
 */
import mysql from 'mysql2/promise';
import { startTestServer, type TestServer } from './harness.js';

export const MYSQL_HOST = process.env.TESSERA_TEST_MYSQL_HOST ?? '127.0.0.1';
export const MYSQL_PORT = Number(process.env.TESSERA_TEST_MYSQL_PORT ?? 3306);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection as MariaDB's root (empty password). */
export const mysqlRoot = () =>
  mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root', password: '' });

/** Connects as `user` to the `test` database and runs `SELECT 1`; throws when refused. */
export async function mysqlConnect(user: string, password: string): Promise<void> {
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
  } finally {
    await c.end();
  }
}

/** True when `user`/`password` can connect to MariaDB and query. */
export async function mysqlCanQuery(user: string, password: string): Promise<boolean> {
  return mysqlConnect(user, password).then(
    () => true,
    () => false,
  );
}

/**
 * A MariaDB administrator for a test run, with `grants` (a pair is tried in order: the first that
 * this MariaDB accepts), and a Tessera whose clock follows real time and whose rotation job polls
 * every 200 ms. `close` stops the server and drops every account whose name starts with `run`.
 */
export async function startMariadbRotationTest(opts: {
  run: string;
  admin: string;
  adminPassword: string;
  grants: ReadonlyArray<string | readonly [string, string]>;
}): Promise<{ server: TestServer; close(): Promise<void> }> {
  const c = await mysqlRoot();
  await c.query("CREATE USER ?@'%' IDENTIFIED BY ?", [opts.admin, opts.adminPassword]);
  for (const grant of opts.grants) {
    const [first, fallback] = typeof grant === 'string' ? [grant, null] : grant;
    await c.query(first, [opts.admin]).catch((error) => {
      if (!fallback) throw error;
      return c.query(fallback, [opts.admin]);
    });
  }
  await c.end();
  const server = await startTestServer(
    'sqlite',
    {},
    { tessera: { rotation: { backoffBaseMs: 5000 }, rotationPollMs: 200 } },
  );
  followRealTime(server);
  return {
    server,
    async close() {
      await server.close();
      const root = await mysqlRoot();
      const [rows] = await root.query('SELECT User AS u, Host AS h FROM mysql.user WHERE User LIKE ?', [
        `${opts.run}%`,
      ]);
      for (const { u, h } of rows as Array<{ u: string; h: string }>)
        await root.query('DROP USER ?@?', [u, h]);
      await root.end();
    },
  };
}

/** Makes the server's clock follow real time from now on (grace periods and the job are real). */
export function followRealTime(s: TestServer): void {
  const base = s.clock.ms;
  const t0 = Date.now();
  s.clock.nowMs = () => base + (Date.now() - t0);
}

/** Moves a real-time-following clock `ms` ahead (instead of waiting out a backoff). */
export function shiftClock(s: TestServer, ms: number): void {
  const previous = s.clock.nowMs;
  s.clock.nowMs = () => previous() + ms;
}

/** The admin's JSON calls on the rotated-secret routes. */
export function rotatedSecretsApi(server: () => TestServer) {
  const api = (method: string, url: string, body?: unknown) =>
    server().call(method, url, { token: server().adminToken, ...(body !== undefined ? { body } : {}) });
  return {
    api,
    value: (name: string) => api('GET', `/v1/rotated-secrets/value?name=${encodeURIComponent(name)}`),
    describe: async (name: string) =>
      (await api('GET', `/v1/rotated-secrets/describe?name=${encodeURIComponent(name)}`)).body,
    rotate: (name: string) => api('POST', '/v1/rotated-secrets/rotate', { name }),
  };
}

/**
 * Rotates `name` on demand `times` times, retrying every `pauseMs` while a grace period (or the job)
 * holds it (409). Returns the versions the rotations answered.
 */
export async function rotateTimes(
  rotate: (name: string) => Promise<{ status: number; body: any }>,
  name: string,
  times: number,
  pauseMs = 300,
): Promise<number[]> {
  const versions: number[] = [];
  while (versions.length < times) {
    await sleep(pauseMs);
    const rotated = await rotate(name);
    if (rotated.status === 409) continue;
    if (rotated.status !== 200)
      throw new Error(`rotate answered ${rotated.status}: ${JSON.stringify(rotated.body)}`);
    versions.push(rotated.body.version);
  }
  return versions;
}

export interface Credential {
  username: string;
  password: string;
  version: number;
}

export interface ReconnectReport {
  connections: number;
  failures: string[];
  /** `username@version` of every credential read. */
  seen: Set<string>;
  /** The credential read for each version. */
  credentials: Map<number, Credential>;
}

/**
 * A client that re-reads the credential and reconnects every ~`pauseMs` until stopped, like an
 * application that reads its secret on each reconnect. `stop()` ends it and returns what it saw.
 */
export function startReconnectLoop(opts: {
  read: () => Promise<{ status: number; body: any }>;
  connect: (username: string, password: string) => Promise<void>;
  pauseMs?: number;
}): { stop: () => Promise<ReconnectReport> } {
  const report: ReconnectReport = { connections: 0, failures: [], seen: new Set(), credentials: new Map() };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const read = await opts.read();
      if (read.status !== 200) {
        report.failures.push(`read ${read.status}`);
      } else {
        const c = read.body as Credential;
        report.seen.add(`${c.username}@${c.version}`);
        report.credentials.set(c.version, c);
        try {
          await opts.connect(c.username, c.password);
          report.connections++;
        } catch (error) {
          report.failures.push(`v${c.version} ${c.username}: ${(error as Error).message}`);
        }
      }
      await sleep(opts.pauseMs ?? 20);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return report;
    },
  };
}
