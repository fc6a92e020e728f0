import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  ClientCredentialsProvider,
  PrivateKeyJwtProvider,
} from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from './harness.js';
import { createClient, startLiveServer } from './oauth.helpers.js';

/**
 * The MCP TypeScript SDK's machine-to-machine providers (issue 12) against a live Tessera: its own
 * discovery (RFC 9728 falling back to RFC 8414), its own client authentication, its own token
 * request. Nothing here builds a request by hand.
 */
describe('OAuth with the MCP SDK client providers', () => {
  let s: TestServer & { issuer: string };

  beforeAll(async () => {
    s = await startLiveServer();
  });
  afterAll(() => s?.close());

  const introspect = async (token: string) => {
    const r = await fetch(`${s.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.adminToken}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }),
    });
    expect(r.status).toBe(200);
    return (await r.json()) as Record<string, unknown>;
  };

  it('metadata names an authorization endpoint that refuses every browser grant', async () => {
    const metadata = await (await fetch(`${s.issuer}/.well-known/oauth-authorization-server`)).json();
    expect(metadata.authorization_endpoint).toBe(`${s.issuer}/oauth/authorize`);
    expect(metadata.response_types_supported).toEqual([]);
    const r = await fetch(
      `${s.issuer}/oauth/authorize?response_type=code&client_id=x&redirect_uri=https://evil.test/`,
      {
        redirect: 'manual',
      },
    );
    expect(r.status).toBe(400);
    expect(r.headers.get('location')).toBeNull();
    expect((await r.json()).error).toBe('unsupported_response_type');
  });

  it('ClientCredentialsProvider (client_secret_basic) obtains a token', async () => {
    const c = await createClient(s, 'mcp-sdk-basic', { scopes: ['read'] });
    s.track(c.clientSecret!);
    const provider = new ClientCredentialsProvider({
      clientId: c.clientId,
      clientSecret: c.clientSecret!,
      scope: 'read',
      expectedIssuer: s.issuer,
    });
    expect(await auth(provider, { serverUrl: new URL(s.issuer) })).toBe('AUTHORIZED');
    const token = provider.tokens()!.access_token;
    s.track(token);
    const claims = await introspect(token);
    expect(claims.active).toBe(true);
    expect(claims.client_id).toBe(c.clientId);
    expect(claims.scope).toBe('read');

    // A wrong secret is refused by the SDK's own error handling, with nothing issued.
    const wrong = new ClientCredentialsProvider({
      clientId: c.clientId,
      clientSecret: 'wrong',
      scope: 'read',
      expectedIssuer: s.issuer,
    });
    await expect(auth(wrong, { serverUrl: new URL(s.issuer) })).rejects.toThrow();
    expect(wrong.tokens()).toBeUndefined();
  });

  it('PrivateKeyJwtProvider (private_key_jwt, ES256) obtains a token', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'mcp-sdk', use: 'sig', alg: 'ES256' };
    const c = await createClient(s, 'mcp-sdk-pkjwt', {
      scopes: ['read'],
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [publicJwk] },
    });
    const provider = new PrivateKeyJwtProvider({
      clientId: c.clientId,
      privateKey: { ...(await exportJWK(pair.privateKey)), kid: 'mcp-sdk' },
      algorithm: 'ES256',
      scope: 'read',
      expectedIssuer: s.issuer,
    });
    expect(await auth(provider, { serverUrl: new URL(s.issuer) })).toBe('AUTHORIZED');
    const token = provider.tokens()!.access_token;
    s.track(token);
    const claims = await introspect(token);
    expect(claims.active).toBe(true);
    expect(claims.client_id).toBe(c.clientId);

    // Another key for the same client id is refused.
    const other = await generateKeyPair('ES256', { extractable: true });
    const thief = new PrivateKeyJwtProvider({
      clientId: c.clientId,
      privateKey: { ...(await exportJWK(other.privateKey)), kid: 'mcp-sdk' },
      algorithm: 'ES256',
      scope: 'read',
      expectedIssuer: s.issuer,
    });
    await expect(auth(thief, { serverUrl: new URL(s.issuer) })).rejects.toThrow();
    expect(thief.tokens()).toBeUndefined();
  });
});
