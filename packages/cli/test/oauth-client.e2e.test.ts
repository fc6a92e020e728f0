import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type ConfiguredServer, run, startConfiguredServer } from './server-process.js';

const tessera = (args: string[], env: NodeJS.ProcessEnv) =>
  run(process.execPath, [bin, ...args], env, 60_000);

/** `tessera oauth-client …` against a real server process, and the secret it prints at work. */
describe('tessera oauth-client against a real server', () => {
  let server: ConfiguredServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-oauth-e2e-');
    ({ dir, env, url } = server);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  const token = (clientId: string, secret: string) =>
    fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=read',
    });

  it('create, list, get, update, rotate-secret, delete; the printed secret obtains a token', async () => {
    const created = await tessera(
      ['oauth-client', 'create', '--name', '/svc/billing', '--scopes', 'read,write', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { client, clientSecret } = JSON.parse(created.stdout);
    expect(clientSecret).toMatch(/^tcs-/);
    expect(client).toMatchObject({
      name: '/svc/billing',
      scopes: ['read', 'write'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    // A scope is granted by the client's roles: `read` on `/read` as a `scope` rule.
    for (const args of [
      ['create-role', '--name', 'billing-scopes'],
      [
        'set-role-rule',
        '--role-name',
        'billing-scopes',
        '--rule-type',
        'scope',
        '--path',
        '/read',
        '--capability',
        'read',
      ],
      ['assoc-role-am', '--role-name', 'billing-scopes', '--am-name', '/svc/billing'],
    ]) {
      const r = await tessera(args, env);
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await token(client.clientId, clientSecret)).status).toBe(200);

    const listed = await tessera(['oauth-client', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(client.clientId);
    const got = await tessera(['oauth-client', 'get', '--client-id', client.clientId, '--json'], env);
    expect(JSON.parse(got.stdout).clientId).toBe(client.clientId);

    const updated = await tessera(
      ['oauth-client', 'update', '--client-id', client.clientId, '--scopes', 'write', '--json'],
      env,
    );
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout).scopes).toEqual(['write']);
    const narrowed = await token(client.clientId, clientSecret);
    expect(narrowed.status).toBe(400);
    expect((await narrowed.json()).error).toBe('invalid_scope');

    // Restricted to token exchange, the client may no longer use client_credentials.
    const exchangeOnly = await tessera(
      [
        'oauth-client',
        'update',
        '--client-id',
        client.clientId,
        '--scopes',
        'read',
        '--grant-types',
        'urn:ietf:params:oauth:grant-type:token-exchange',
        '--json',
      ],
      env,
    );
    expect(exchangeOnly.code, exchangeOnly.stderr).toBe(0);
    expect(JSON.parse(exchangeOnly.stdout).grantTypes).toEqual([
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    const unauthorized = await token(client.clientId, clientSecret);
    expect(unauthorized.status).toBe(400);
    expect((await unauthorized.json()).error).toBe('unauthorized_client');
    const shown = await tessera(['oauth-client', 'get', '--client-id', client.clientId], env);
    expect(shown.stdout).toMatch(/Grant types:\s+urn:ietf:params:oauth:grant-type:token-exchange/);

    const rotated = await tessera(['oauth-client', 'rotate-secret', '--client-id', client.clientId], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newSecret = /Client Secret: (\S+)/.exec(rotated.stdout)[1]!;
    expect(newSecret).not.toBe(clientSecret);
    expect((await token(client.clientId, clientSecret)).status).toBe(401);

    const jwks = join(dir, 'private.jwks.json');
    writeFileSync(
      jwks,
      JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), d: 'B'.repeat(43) }] }),
    );
    const refused = await tessera(
      [
        'oauth-client',
        'create',
        '--name',
        '/svc/agent',
        '--auth-method',
        'private_key_jwt',
        '--jwks-file',
        jwks,
      ],
      env,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/public/);

    // --jwks-uri: the keys are published (fetched by the server at the token endpoint).
    const published = await tessera(
      [
        'oauth-client',
        'create',
        '--name',
        '/svc/published',
        '--auth-method',
        'private_key_jwt',
        '--jwks-uri',
        'https://agent.example/jwks.json',
        '--json',
      ],
      env,
    );
    expect(published.code, published.stderr).toBe(0);
    expect(JSON.parse(published.stdout).client).toMatchObject({
      jwksUri: 'https://agent.example/jwks.json',
      jwks: null,
    });
    const both = await tessera(
      [
        'oauth-client',
        'update',
        '--client-id',
        client.clientId,
        '--jwks-uri',
        'https://a.example/j',
        '--jwks-file',
        jwks,
      ],
      env,
    );
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/mutually exclusive/);
    const plainHttp = await tessera(
      [
        'oauth-client',
        'create',
        '--name',
        '/svc/plain',
        '--auth-method',
        'private_key_jwt',
        '--jwks-uri',
        'http://agent.example/jwks.json',
      ],
      env,
    );
    expect(plainHttp.code).not.toBe(0);
    expect(plainHttp.stderr).toMatch(/https/);

    const deleted = await tessera(['oauth-client', 'delete', '--client-id', client.clientId], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await tessera(['oauth-client', 'get', '--client-id', client.clientId], env)).code).not.toBe(0);
  });

  it('registration-token create, list, get, revoke; the printed token registers a client inside its path only, owned by its owner', async () => {
    const created = await tessera(
      [
        'oauth-client',
        'registration-token',
        'create',
        '--path',
        '/ci/*',
        '--ttl',
        '1h',
        '--uses',
        '2',
        '--owner',
        'group:ci-team',
        '--json',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { registrationToken, token: initial } = JSON.parse(created.stdout);
    expect(initial).toMatch(/^tri-/);
    expect(registrationToken).toMatchObject({
      path: '/ci/*',
      owner: 'group:ci-team',
      state: 'active',
      maxUses: 2,
      uses: 0,
    });
    const register = (client_name: string) =>
      fetch(`${url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${initial}` },
        body: JSON.stringify({ client_name }),
      });
    const inside = await register('/ci/runner');
    expect(inside.status).toBe(201);
    const client = await inside.json();
    expect(client.client_secret).toMatch(/^tcs-/);
    // The client's new identity answers to the token's owner.
    const identity = await tessera(['identity', 'list', '--owner', 'group:ci-team', '--json'], env);
    expect(identity.code, identity.stderr).toBe(0);
    expect(JSON.parse(identity.stdout).items.map((i: { name: string }) => i.name)).toEqual(['/ci/runner']);
    const outside = await register('/prod/runner');
    expect(outside.status).toBe(403);
    expect((await outside.json()).error).toBe('invalid_client_metadata');

    const listed = await tessera(['oauth-client', 'registration-token', 'list'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`${registrationToken.id}\\s+/ci/\\*\\s+group:ci-team\\s+active\\s+1/2`),
    );
    expect(listed.stdout).not.toContain(initial);
    const shown = await tessera(
      ['oauth-client', 'registration-token', 'get', '--id', registrationToken.id],
      env,
    );
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/Owner:\s+group:ci-team/);
    expect(shown.stdout).toMatch(/Uses:\s+1\/2/);
    expect(shown.stdout).not.toContain(initial);
    const shownJson = await tessera(
      ['oauth-client', 'registration-token', 'get', '--id', registrationToken.id, '--json'],
      env,
    );
    expect(JSON.parse(shownJson.stdout)).toMatchObject({ id: registrationToken.id, owner: 'group:ci-team' });

    // Without --owner the token takes the issuer's own owner; one meaning nobody is refused.
    const unowned = await tessera(
      [
        'oauth-client',
        'registration-token',
        'create',
        '--path',
        '/ci/*',
        '--ttl',
        '1h',
        '--owner',
        'unassigned',
      ],
      env,
    );
    expect(unowned.code).not.toBe(0);
    expect(unowned.stderr).toMatch(/owner/);

    // Text output prints the token once, on its own line.
    const text = await tessera(
      ['oauth-client', 'registration-token', 'create', '--path', '/agents/one', '--ttl', '15m'],
      env,
    );
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Registration Token: tri-\S+\n$/);

    const revoked = await tessera(
      ['oauth-client', 'registration-token', 'revoke', '--id', registrationToken.id, '--json'],
      env,
    );
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: registrationToken.id, state: 'revoked' });
    expect((await register('/ci/late')).status).toBe(401);

    const bad = await tessera(
      ['oauth-client', 'registration-token', 'create', '--path', '/ci/*', '--ttl', 'soon'],
      env,
    );
    expect(bad.code).not.toBe(0);
    const unknown = await tessera(
      ['oauth-client', 'registration-token', 'revoke', '--id', 'rit-nosuch'],
      env,
    );
    expect(unknown.code).not.toBe(0);
  });
});
