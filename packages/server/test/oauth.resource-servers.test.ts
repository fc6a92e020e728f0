/**
 * The resource server registry (issue 12 "Scope and audience", ADR 0038), driven by oauth4webapi's
 * resource indicators (RFC 8707) against a live Tessera: a `resource` must name a registered resource
 * server (or an MCP gateway URL) once any is registered; its scopes bound the token's; its TTL caps
 * the token's; a sender-constrained one refuses bearer tokens; roles still bound every scope.
 */
import { TesseraClient, TesseraError } from '@tessera/sdk';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpUpstream, startHttpUpstream } from './fixtures/mcp-upstream.js';
import type { TestServer } from './harness.js';
import { createClient, grantScopesTo, startLiveServer } from './oauth.helpers.js';

const ORDERS = 'https://orders.example.test/';
const LEDGER = 'https://ledger.example.test/api';
const UNKNOWN = 'https://unknown.example.test/';

describe('OAuth resource servers with oauth4webapi', () => {
  let s: TestServer & { issuer: string };
  let as: oauth.AuthorizationServer;
  let upstream: HttpUpstream;
  const insecure = { [oauth.allowInsecureRequests]: true } as const;
  const admin = (method: string, url: string, body?: unknown) =>
    s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });

  beforeAll(async () => {
    upstream = await startHttpUpstream();
    s = await startLiveServer();
    const issuer = new URL(s.issuer);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    );
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await upstream?.close();
  });

  /** A client_credentials grant with a secret; the token's claims, or the error code. */
  async function grant(
    c: { clientId: string; clientSecret?: string },
    params: Record<string, string>,
  ): Promise<{ claims: Record<string, unknown>; tokens: oauth.TokenEndpointResponse } | string> {
    const client = { client_id: c.clientId };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(c.clientSecret!),
      params,
      insecure,
    );
    try {
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      s.track(tokens.access_token);
      const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
      return { claims, tokens };
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError) return error.error;
      throw error;
    }
  }
  const issued = (r: Awaited<ReturnType<typeof grant>>) => {
    if (typeof r === 'string') throw new Error(`refused: ${r}`);
    return r;
  };
  const lastEvent = async (type: string) =>
    (await admin('GET', `/v1/audit/events?type=${type}&limit=1`)).body.items[0];

  it('keeps the per-client resources while no resource server is registered', async () => {
    const c = await createClient(s, 'rs-compat', { scopes: ['read'], resources: [UNKNOWN] });
    const r = issued(await grant(c, { resource: UNKNOWN, scope: 'read' }));
    expect(r.claims.aud).toBe(UNKNOWN);
    expect(await grant(c, { resource: ORDERS })).toBe('invalid_target');
  });

  it('registers, reads, lists, updates and deletes resource servers, each change audited', async () => {
    const created = await admin('POST', '/v1/oauth/resource-servers', {
      name: 'scratch',
      identifier: 'https://scratch.example.test/',
      owner: 'dana@example.com',
      scopes: ['b', 'a', 'a'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'scratch',
      identifier: 'https://scratch.example.test/',
      owner: 'dana@example.com',
      description: '',
      scopes: ['a', 'b'],
      accessTokenTtlSeconds: null,
      senderConstrained: false,
    });
    expect((await lastEvent('oauth.resource_server_created')).data).toMatchObject({
      resourceServerId: created.body.id,
      identifier: 'https://scratch.example.test/',
      scopes: ['a', 'b'],
    });
    expect((await admin('GET', '/v1/oauth/resource-servers/scratch')).body.id).toBe(created.body.id);
    const updated = await admin('PATCH', '/v1/oauth/resource-servers/scratch', {
      scopes: ['c'],
      accessTokenTtlSeconds: 300,
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ scopes: ['c'], accessTokenTtlSeconds: 300 });
    expect((await lastEvent('oauth.resource_server_updated')).data.changed).toEqual([
      'scopes',
      'accessTokenTtlSeconds',
    ]);
    const listed = await admin('GET', '/v1/oauth/resource-servers');
    expect(listed.body.items.map((x: { name: string }) => x.name)).toContain('scratch');
    expect((await admin('DELETE', '/v1/oauth/resource-servers/scratch')).status).toBe(204);
    expect((await lastEvent('oauth.resource_server_deleted')).resource).toBe(
      '/oauth/resource-servers/scratch',
    );
    expect((await admin('GET', '/v1/oauth/resource-servers/scratch')).status).toBe(404);
    expect((await admin('DELETE', '/v1/oauth/resource-servers/scratch')).status).toBe(404);
  });

  it('is managed through the SDK', async () => {
    const sdk = new TesseraClient({ url: s.issuer });
    const created = await sdk.createResourceServer(s.adminToken, {
      name: 'sdk-made',
      identifier: 'https://sdk.example.test/',
      owner: 'sam@example.com',
      scopes: ['read'],
    });
    expect(created).toMatchObject({ name: 'sdk-made', scopes: ['read'], senderConstrained: false });
    expect((await sdk.listResourceServers(s.adminToken)).map((x) => x.name)).toContain('sdk-made');
    const updated = await sdk.updateResourceServer(s.adminToken, 'sdk-made', { senderConstrained: true });
    expect(updated.senderConstrained).toBe(true);
    expect((await sdk.getResourceServer(s.adminToken, 'sdk-made')).senderConstrained).toBe(true);
    await sdk.deleteResourceServer(s.adminToken, 'sdk-made');
    await expect(sdk.getResourceServer(s.adminToken, 'sdk-made')).rejects.toBeInstanceOf(TesseraError);
  });

  it('refuses bad registrations with a 4xx and a stable code', async () => {
    const bad = async (body: unknown) => {
      const r = await admin('POST', '/v1/oauth/resource-servers', body);
      return [r.status, r.body.error?.code];
    };
    const base = { name: 'bad', identifier: 'https://bad.example.test/', owner: 'x@example.com' };
    expect(await bad({ ...base, identifier: 'not a uri' })).toEqual([400, 'TESSERA_VALIDATION_FAILED']);
    expect(await bad({ ...base, identifier: 'https://bad.example.test/#frag' })).toEqual([
      400,
      'TESSERA_VALIDATION_FAILED',
    ]);
    expect(await bad({ ...base, name: 'Bad Name' })).toEqual([400, 'TESSERA_VALIDATION_FAILED']);
    expect(await bad({ ...base, scopes: ['has space'] })).toEqual([400, 'TESSERA_VALIDATION_FAILED']);
    expect(await bad({ ...base, accessTokenTtlSeconds: 5 })).toEqual([400, 'TESSERA_VALIDATION_FAILED']);
    expect(await bad({ ...base, extra: 1 })).toEqual([400, 'TESSERA_VALIDATION_FAILED']);
    expect((await admin('POST', '/v1/oauth/resource-servers', base)).status).toBe(201);
    expect((await bad(base))[0]).toBe(409);
    expect((await bad({ ...base, name: 'bad2' }))[0]).toBe(409);
    expect((await admin('DELETE', '/v1/oauth/resource-servers/bad')).status).toBe(204);
    // Without a session: 401; the registry is not public.
    expect((await s.call('GET', '/v1/oauth/resource-servers')).status).toBe(401);
  });

  it('selects the audience, bounds scopes and TTL by the registered resource server', async () => {
    expect(
      (
        await admin('POST', '/v1/oauth/resource-servers', {
          name: 'orders',
          identifier: ORDERS,
          owner: 'olga@example.com',
          scopes: ['read', 'write'],
          accessTokenTtlSeconds: 120,
        })
      ).status,
    ).toBe(201);
    const c = await createClient(s, 'rs-orders', {
      scopes: ['read', 'write', 'admin'],
      resources: [ORDERS, UNKNOWN],
    });
    const r = issued(await grant(c, { resource: ORDERS, scope: 'read' }));
    expect(r.claims.aud).toBe(ORDERS);
    expect(r.claims.scope).toBe('read');
    expect((r.claims.exp as number) - (r.claims.iat as number)).toBeLessThanOrEqual(120);
    expect(r.tokens.expires_in).toBeLessThanOrEqual(120);
    expect((await lastEvent('oauth.token_issued')).data.resourceServers).toHaveLength(1);

    // No scope asked: the client's granted scopes the resource server accepts (admin left out).
    const all = issued(await grant(c, { resource: ORDERS }));
    expect(String(all.claims.scope).split(' ').sort()).toEqual(['read', 'write']);

    // A scope the resource server does not accept, though the client may have it.
    expect(await grant(c, { resource: ORDERS, scope: 'admin' })).toBe('invalid_scope');
    expect((await lastEvent('oauth.token_refused')).reason).toBe('scope_not_allowed_by_resource');
    // Unregistered now that the registry is in use, even though the client lists it.
    expect(await grant(c, { resource: UNKNOWN, scope: 'read' })).toBe('invalid_target');
    expect((await lastEvent('oauth.token_refused')).reason).toBe('resource_not_registered');
    // Registered, but not one this client may ask for.
    expect(
      (
        await admin('POST', '/v1/oauth/resource-servers', {
          name: 'ledger',
          identifier: LEDGER,
          owner: 'lee@example.com',
          scopes: ['read'],
        })
      ).status,
    ).toBe(201);
    expect(await grant(c, { resource: LEDGER, scope: 'read' })).toBe('invalid_target');
    // Without resource: Tessera's own audience, as before.
    const own = issued(await grant(c, { scope: 'admin' }));
    expect(own.claims.aud).not.toBe(ORDERS);
  });

  it('never issues a scope the client identity is not granted by its roles', async () => {
    const c = await createClient(s, 'rs-roles', {
      scopes: ['read', 'write'],
      resources: [ORDERS],
      grantScopes: false,
    });
    await grantScopesTo(s, c.clientId, ['read']);
    expect(await grant(c, { resource: ORDERS, scope: 'write' })).toBe('invalid_scope');
    expect(await grant(c, { resource: ORDERS, scope: 'read write' })).toBe('invalid_scope');
    const r = issued(await grant(c, { resource: ORDERS }));
    expect(r.claims.scope).toBe('read');
  });

  it('refuses a bearer token for a sender-constrained resource server and issues a DPoP-bound one', async () => {
    const identifier = 'https://bound.example.test/';
    expect(
      (
        await admin('POST', '/v1/oauth/resource-servers', {
          name: 'bound',
          identifier,
          owner: 'bo@example.com',
          scopes: ['read'],
          senderConstrained: true,
        })
      ).status,
    ).toBe(201);
    const c = await createClient(s, 'rs-bound', { scopes: ['read'], resources: [identifier] });
    expect(await grant(c, { resource: identifier })).toBe('invalid_request');
    expect((await lastEvent('oauth.token_refused')).reason).toBe('resource_requires_bound_token');

    const client = { client_id: c.clientId };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const request = () =>
      oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(c.clientSecret!),
        { resource: identifier },
        { DPoP, ...insecure },
      );
    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await oauth.processClientCredentialsResponse(as, client, await request());
    } catch (error) {
      if (!oauth.isDPoPNonceError(error)) throw error;
      tokens = await oauth.processClientCredentialsResponse(as, client, await request());
    }
    s.track(tokens.access_token);
    expect(tokens.token_type).toBe('dpop');
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
    expect(claims.aud).toBe(identifier);
    expect(claims.cnf.jkt).toEqual(expect.any(String));
  });

  it('applies the registry to token exchange (RFC 8693) too', async () => {
    // Registered above: orders (read, write; 120 s) and ledger (read).
    const service = await createClient(s, 'rs-x-service', { scopes: ['read', 'write', 'admin'] });
    const subject = issued(await grant(service, { scope: 'read write admin' }));
    const agent = await createClient(s, 'rs-x-agent', {
      scopes: ['read', 'write', 'admin'],
      resources: [ORDERS, UNKNOWN],
      mayActFor: [service.clientId],
    });
    const client = { client_id: agent.clientId };
    const exchange = async (params: Record<string, string>) => {
      const response = await oauth.genericTokenEndpointRequest(
        as,
        client,
        oauth.ClientSecretBasic(agent.clientSecret!),
        'urn:ietf:params:oauth:grant-type:token-exchange',
        {
          subject_token: subject.tokens.access_token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          ...params,
        },
        insecure,
      );
      try {
        const tokens = await oauth.processGenericTokenEndpointResponse(as, client, response);
        s.track(tokens.access_token);
        return JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
      } catch (error) {
        if (error instanceof oauth.ResponseBodyError) return error.error;
        throw error;
      }
    };
    const narrowed = await exchange({ resource: ORDERS });
    expect(narrowed.aud).toBe(ORDERS);
    expect(String(narrowed.scope).split(' ').sort()).toEqual(['read', 'write']);
    expect(narrowed.exp - narrowed.iat).toBeLessThanOrEqual(120);
    expect(await exchange({ resource: ORDERS, scope: 'admin' })).toBe('invalid_scope');
    expect(await exchange({ resource: UNKNOWN })).toBe('invalid_target');
  });

  it('counts the gateway URL of an existing MCP server as a resource server', async () => {
    const name = `rs-mcp-${Math.random().toString(36).slice(2, 8)}`;
    expect(
      (await admin('POST', '/v1/mcp-servers', { name, url: upstream.url, owner: 'm@example.com' })).status,
    ).toBe(201);
    const gateway = `${s.issuer}/mcp/${name}`;
    const missing = `${s.issuer}/mcp/${name}-gone`;
    const c = await createClient(s, 'rs-mcp', { scopes: ['tools'], resources: [gateway, missing] });
    const r = issued(await grant(c, { resource: gateway, scope: 'tools' }));
    expect(r.claims.aud).toBe(gateway);
    expect(r.claims.scope).toBe('tools');
    expect(await grant(c, { resource: missing, scope: 'tools' })).toBe('invalid_target');
  });
});
