import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startServer } from '@tessera/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryUidTokenStore,
  SessionTokenVerifier,
  TesseraApiError,
  TesseraClient,
  TesseraSession,
  type UidTokenStore,
} from '../src/index.js';

/** The SDK against a real server over HTTP: no fakes between them. */
describe('SDK against a running server', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let client: TesseraClient;
  let admin: TesseraSession;
  const method = '/sdk/integration';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-sdk-'));
    server = await startServer(
      loadConfig({ dataDir: dir, port: 0, logLevel: 'silent' }, { TESSERA_ISSUER: 'http://sdk.test' }),
    );
    client = new TesseraClient({ url: server.url });
    const creds = await server.tessera.ensureAdmin();
    expect(creds.created).toBe(false); // startServer created it and wrote admin.json
    const { readFileSync } = await import('node:fs');
    const file = JSON.parse(readFileSync(join(dir, 'admin.json'), 'utf8'));
    admin = new TesseraSession({
      client,
      credentials: { accessType: 'access_key', accessId: file.accessId, accessKey: file.accessKey },
    });
    await admin.withToken((t) =>
      client.createAuthMethod(t, {
        type: 'universal_identity',
        name: method,
        ttlSeconds: 3600,
        jwtTtlSeconds: 600,
      }),
    );
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newRoot(): Promise<string> {
    return (await admin.withToken((t) => client.generateUidToken(t, { authMethodName: method }))).token;
  }

  it('caches the session token and shares one exchange among concurrent callers', async () => {
    const session = new TesseraSession({
      client,
      credentials: { accessType: 'universal_identity', uidToken: await newRoot() },
    });
    const tokens = await Promise.all([session.getToken(), session.getToken(), session.getToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(await session.getToken()).toBe(tokens[0]);
  });

  it('rotates, persisting the new token before it is used; the old token is then refused', async () => {
    const saved: string[] = [];
    const inner = new MemoryUidTokenStore(await newRoot());
    const store: UidTokenStore = {
      load: () => inner.load(),
      save: async (token) => {
        saved.push(token);
        await inner.save(token);
      },
    };
    const original = await store.load();
    const session = new TesseraSession({
      client,
      credentials: { accessType: 'universal_identity', uidTokenStore: store },
    });
    await session.getToken();
    const rotated = await session.rotateUidToken();
    expect(saved).toHaveLength(1);
    expect(saved[0]).not.toBe(original);
    await session.invalidate();
    await session.getToken(); // first use of the new token
    await expect(client.auth({ accessType: 'universal_identity', uidToken: original })).rejects.toMatchObject(
      {
        status: 401,
        code: 'TESSERA_AUTH_FAILED',
      },
    );
    expect(rotated.tokenId).toBeTruthy();
  });

  it('acknowledges a manual-ack rotation only after the store saved the token', async () => {
    const order: string[] = [];
    const inner = new MemoryUidTokenStore(await newRoot());
    const session = new TesseraSession({
      client,
      credentials: {
        accessType: 'universal_identity',
        uidTokenStore: {
          load: () => inner.load(),
          save: async (t) => {
            order.push('save');
            await inner.save(t);
          },
        },
      },
    });
    const result = await session.rotateUidToken({ manualAck: true });
    order.push('returned');
    expect(result.acknowledged).toBe(true);
    expect(order).toEqual(['save', 'returned']);
    const tree = await session.listTree();
    expect(tree.roots[0]!.id).toBe(result.tokenId);
  });

  it('creates children, lists and revokes as a holder', async () => {
    const session = new TesseraSession({
      client,
      credentials: { accessType: 'universal_identity', uidToken: await newRoot() },
    });
    const kid = await session.createChild({ ttlSeconds: 600 });
    const tree = await session.listTree();
    expect(tree.numberOfTokens).toBe(2);
    const revoked = await session.revoke({ tokenId: kid.tokenId, type: 'self' });
    expect(revoked.revokedCount).toBe(1);
    await expect(
      client.auth({ accessType: 'universal_identity', uidToken: kid.token }),
    ).rejects.toBeInstanceOf(TesseraApiError);
  });

  it('verifies session tokens locally against the JWKS and refuses a wrong audience', async () => {
    const session = new TesseraSession({
      client,
      credentials: { accessType: 'universal_identity', uidToken: await newRoot() },
    });
    const token = await session.getToken();
    const verifier = new SessionTokenVerifier({
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      audience: 'tessera',
      issuer: 'http://sdk.test',
    });
    const claims = await verifier.verify(token);
    expect(claims.am).toMatch(/^p-/);
    expect(claims.uid).toBeTruthy();
    expect(claims.exp - claims.iat).toBe(600);
    expect(await verifier.verify(`t-${token}`)).toEqual(claims);
    const other = new SessionTokenVerifier({
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      audience: 'someone-else',
    });
    await expect(other.verify(token)).rejects.toMatchObject({ code: 'TESSERA_TOKEN_INVALID' });
  });
});
