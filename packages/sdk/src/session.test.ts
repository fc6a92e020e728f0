import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TesseraClient } from './client.js';
import { TesseraApiError, TesseraPersistError } from './errors.js';
import { type CachedSession, type SessionCache, TesseraSession, type UidTokenStore } from './session.js';

/** What the fake server saw, in order. Store saves are logged here too, to check ordering. */
let log: string[] = [];
let authCalls: Array<Record<string, unknown>> = [];
let authDelayMs = 0;
let authExpiresIn = 600;
let authFails: { status: number; code: string } | undefined;
let rejectSessionTokens = new Set<string>();
let sessionCounter = 0;
let rotateCounter = 0;
let server: Server;
let url: string;

function send(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-test' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function error(res: ServerResponse, status: number, code: string): void {
  send(res, status, { error: { code, message: `fake ${code}`, requestId: 'req-err' } });
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function bearer(req: IncomingMessage): string {
  return (req.headers.authorization ?? '').replace(/^Bearer /, '');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
  const who = bearer(req);
  switch (route) {
    case 'POST /v1/auth': {
      authCalls.push(body);
      log.push(`auth:${String(body.uidToken ?? body.accessId)}`);
      if (authDelayMs) await new Promise((r) => setTimeout(r, authDelayMs));
      if (authFails) return error(res, authFails.status, authFails.code);
      sessionCounter++;
      return send(res, 200, {
        token: `sess-${sessionCounter}`,
        tokenType: 'Bearer',
        expiresIn: authExpiresIn,
        expiresAt: new Date(Date.now() + authExpiresIn * 1000).toISOString(),
        identityId: 'id-1',
        authMethodId: 'p-1',
      });
    }
    case 'POST /v1/uid/rotate': {
      rotateCounter++;
      log.push(`rotate:${who}`);
      return send(res, 200, {
        token: `u-new${rotateCounter}`,
        tokenId: 'node1',
        authMethodId: 'p-1',
        expiresAt: '2030-01-01T00:00:00.000Z',
        ttlSeconds: 3600,
        pendingAck: body.manualAck === true,
      });
    }
    case 'POST /v1/uid/rotate/ack':
      log.push(`ack:${who}:${String(body.newToken)}`);
      return send(res, 200, { tokenId: 'node1', acknowledged: true });
    case 'POST /v1/uid/children':
      log.push(`child:${who}:${JSON.stringify(body)}`);
      return send(res, 201, {
        token: 'u-child',
        tokenId: 'node2',
        authMethodId: 'p-1',
        expiresAt: '2030-01-01T00:00:00.000Z',
        ttlSeconds: 60,
        parentId: 'node1',
        depth: 2,
      });
    case 'GET /v1/uid/tree':
      log.push(`tree:${who}`);
      return send(res, 200, { authMethodId: 'p-1', maxDepth: 1, numberOfTokens: 0, roots: [] });
    case 'GET /v1/identities':
      log.push(`identities:${who}`);
      if (rejectSessionTokens.has(who)) return error(res, 401, 'TESSERA_TOKEN_REVOKED');
      return send(res, 200, { items: [], nextCursor: null });
    default:
      return error(res, 404, 'TESSERA_ROUTE_NOT_FOUND');
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch(() => error(res, 500, 'TESSERA_INTERNAL'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  log = [];
  authCalls = [];
  authDelayMs = 0;
  authExpiresIn = 600;
  authFails = undefined;
  rejectSessionTokens = new Set();
  sessionCounter = 0;
  rotateCounter = 0;
});

/** A store that logs its saves into the same log as the server, and can be told to fail. */
class LoggingStore implements UidTokenStore {
  token: string;
  failSave = false;
  constructor(token: string) {
    this.token = token;
  }
  async load(): Promise<string> {
    return this.token;
  }
  async save(token: string): Promise<void> {
    // Let the event loop turn, so a missing await in the session would show up as a wrong order.
    await new Promise((r) => setTimeout(r, 10));
    if (this.failSave) throw new Error('disk full');
    log.push(`save:${token}`);
    this.token = token;
  }
}

function accessKeySession(now?: () => number): TesseraSession {
  return new TesseraSession({
    client: new TesseraClient({ url }),
    credentials: { accessType: 'access_key', accessId: 'p-admin', accessKey: 'secret-key' },
    ...(now ? { now } : {}),
  });
}

describe('TesseraSession', () => {
  it('caches the session token', async () => {
    const s = accessKeySession();
    expect(await s.getToken()).toBe('sess-1');
    expect(await s.getToken()).toBe('sess-1');
    expect(authCalls).toHaveLength(1);
    expect(authCalls[0]).toEqual({ accessType: 'access_key', accessId: 'p-admin', accessKey: 'secret-key' });
  });

  it('renews at 80% of the life or 60 s before expiry, whichever first', async () => {
    let now = 1_000_000;
    const s = accessKeySession(() => now);
    authExpiresIn = 600; // 80% = 480 s, 60 s before = 540 s: renew at 480 s
    expect(await s.getToken()).toBe('sess-1');
    now += 479_000;
    expect(await s.getToken()).toBe('sess-1');
    now += 2_000;
    expect(await s.getToken()).toBe('sess-2');

    authExpiresIn = 3600; // 80% = 2880 s, 60 s before = 3540 s: 2880 s
    const t = accessKeySession(() => now);
    const base = now;
    await t.getToken();
    now = base + 2_879_000;
    expect(await t.getToken()).toBe('sess-3');
    now = base + 2_881_000;
    expect(await t.getToken()).toBe('sess-4');

    authExpiresIn = 200; // 80% = 160 s, 60 s before = 140 s: 140 s
    const u = accessKeySession(() => now);
    const base2 = now;
    await u.getToken();
    now = base2 + 139_000;
    expect(await u.getToken()).toBe('sess-5');
    now = base2 + 141_000;
    expect(await u.getToken()).toBe('sess-6');
  });

  it('shares one exchange between concurrent callers', async () => {
    authDelayMs = 50;
    const s = accessKeySession();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => s.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['sess-1']));
    expect(authCalls).toHaveLength(1);
  });

  it('keeps a still-valid token when renewal fails for a transient reason', async () => {
    let now = 1_000_000;
    const s = accessKeySession(() => now);
    await s.getToken();
    now += 500_000; // due for renewal, 100 s of life left
    authFails = { status: 503, code: 'TESSERA_UNAVAILABLE' };
    expect(await s.getToken()).toBe('sess-1');
    authFails = { status: 401, code: 'TESSERA_AUTH_FAILED' };
    await expect(s.getToken()).rejects.toMatchObject({ code: 'TESSERA_AUTH_FAILED', status: 401 });
  });

  it('re-authenticates once when the server rejects the session token', async () => {
    const s = accessKeySession();
    rejectSessionTokens.add('sess-1');
    const page = await s.withToken((t) => s.client.listIdentities(t));
    expect(page.items).toEqual([]);
    expect(authCalls).toHaveLength(2);
    expect(log.filter((l) => l.startsWith('identities:'))).toEqual([
      'identities:sess-1',
      'identities:sess-2',
    ]);

    // Only once: a second rejection is returned to the caller.
    rejectSessionTokens.add('sess-2');
    rejectSessionTokens.add('sess-3');
    const err = await s.withToken((t) => s.client.listIdentities(t)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraApiError);
    expect((err as TesseraApiError).code).toBe('TESSERA_TOKEN_REVOKED');
    expect(authCalls).toHaveLength(3);
  });

  it('exchanges a UID token from the store, with the optional access id', async () => {
    const store = new LoggingStore('u-old');
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'universal_identity', uidTokenStore: store, accessId: 'p-1' },
    });
    expect(await s.getToken()).toBe('sess-1');
    expect(authCalls[0]).toEqual({ accessType: 'universal_identity', uidToken: 'u-old', accessId: 'p-1' });
  });

  it('manual ack: rotate, then save, then ack with the old token', async () => {
    const store = new LoggingStore('u-old');
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'universal_identity', uidTokenStore: store },
    });
    const result = await s.rotateUidToken({ manualAck: true });
    expect(log).toEqual(['rotate:u-old', 'save:u-new1', 'ack:u-old:u-new1']);
    expect(result).toMatchObject({ tokenId: 'node1', acknowledged: true, ttlSeconds: 3600 });
    expect(JSON.stringify(result)).not.toContain('u-new1');
    expect(store.token).toBe('u-new1');
  });

  it('auto ack: rotate, save, and the first use of the new token is the next exchange', async () => {
    const store = new LoggingStore('u-old');
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'universal_identity', uidTokenStore: store },
    });
    const result = await s.rotateUidToken();
    expect(result.acknowledged).toBe(false);
    await s.getToken();
    expect(log).toEqual(['rotate:u-old', 'save:u-new1', 'auth:u-new1']);
  });

  it('serialises UID use: an exchange requested during a rotation waits for the save', async () => {
    const store = new LoggingStore('u-old');
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'universal_identity', uidTokenStore: store },
    });
    await Promise.all([s.rotateUidToken({ manualAck: true }), s.getToken()]);
    expect(log).toEqual(['rotate:u-old', 'save:u-new1', 'ack:u-old:u-new1', 'auth:u-new1']);
  });

  it('does not acknowledge when the store cannot save', async () => {
    const store = new LoggingStore('u-old');
    store.failSave = true;
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'universal_identity', uidTokenStore: store },
    });
    const err = await s.rotateUidToken({ manualAck: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraPersistError);
    expect((err as Error).message).not.toContain('u-new');
    expect(log).toEqual(['rotate:u-old']);
    expect(store.token).toBe('u-old');
  });

  it('without manual ack, keeps an unsaved rotated token in memory for this session', async () => {
    const store = new LoggingStore('u-old');
    store.failSave = true;
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'universal_identity', uidTokenStore: store },
    });
    await expect(s.rotateUidToken()).rejects.toBeInstanceOf(TesseraPersistError);
    await s.getToken();
    expect(log).toEqual(['rotate:u-old', 'auth:u-new1']);
  });

  it('uses the UID token for holder operations', async () => {
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'universal_identity', uidToken: 'u-holder' },
    });
    const child = await s.createChild({ ttlSeconds: 60, comment: 'db', parentTokenId: 'ignored' });
    expect(child.token).toBe('u-child');
    await s.listTree();
    expect(log).toEqual(['child:u-holder:{"ttlSeconds":60,"comment":"db"}', 'tree:u-holder']);
  });

  it('uses an admin session for admin child creation', async () => {
    const s = accessKeySession();
    await s.createChild({ ttlSeconds: 60, authMethodName: '/x', parentTokenId: 'node1' });
    expect(log[1]).toBe('child:sess-1:{"ttlSeconds":60,"authMethodName":"/x","parentTokenId":"node1"}');
  });

  it('loads and saves through a session cache', async () => {
    let stored: CachedSession | undefined = {
      token: 'cached-jwt',
      expiresAtMs: Date.now() + 600_000,
      renewAtMs: Date.now() + 300_000,
    };
    const cache: SessionCache = {
      load: async () => stored,
      save: async (s) => {
        stored = s;
      },
      clear: async () => {
        stored = undefined;
      },
    };
    const s = new TesseraSession({
      client: new TesseraClient({ url }),
      credentials: { accessType: 'access_key', accessId: 'p-admin', accessKey: 'k' },
      cache,
    });
    expect(await s.getToken()).toBe('cached-jwt');
    expect(authCalls).toHaveLength(0);
    await s.invalidate();
    expect(stored).toBeUndefined();
    expect(await s.getToken()).toBe('sess-1');
    expect(stored?.token).toBe('sess-1');
  });

  it('refuses rotation on an access-key session', async () => {
    await expect(accessKeySession().rotateUidToken()).rejects.toBeInstanceOf(TypeError);
  });
});
