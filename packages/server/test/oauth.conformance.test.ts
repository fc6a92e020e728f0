import { createHash } from 'node:crypto';
import { createDpopProof, SessionTokenVerifier } from '@tessera/sdk';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, uidAuth, uidSetup } from './harness.js';
import { createClient, startLiveServer } from './oauth.helpers.js';

const RESOURCE = 'https://api.example.test/';

/** Public JWK set of a fresh key pair (the private key stays with the client). */
async function keyPair(alg: 'ES256' | 'Ed25519' | 'EdDSA' | 'PS256' | 'RS256') {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: `k-${alg}`, use: 'sig' };
  return { ...pair, jwks: { keys: [jwk] }, kid: jwk.kid };
}

/**
 * Conformance with OAuth clients we did not write (issue 12): oauth4webapi 3 and openid-client 6
 * against a live Tessera on 127.0.0.1.
 */
describe('OAuth authorization server with oauth4webapi and openid-client', () => {
  let s: TestServer & { issuer: string };
  let as: oauth.AuthorizationServer;
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  beforeAll(async () => {
    s = await startLiveServer();
    const issuer = new URL(s.issuer);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    );
  });
  afterAll(() => s?.close());

  it('publishes RFC 8414 metadata that the clients accept', () => {
    expect(as.issuer).toBe(s.issuer);
    expect(as.token_endpoint).toBe(`${s.issuer}/oauth/token`);
    expect(as.jwks_uri).toBe(`${s.issuer}/.well-known/jwks.json`);
    expect(as.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']),
    );
    expect(as.dpop_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['ES256', 'EdDSA', 'Ed25519']),
    );
  });

  it('client_credentials with client_secret_basic, and the token works on the resource it names', async () => {
    const c = await createClient(s, 'svc-basic', { scopes: ['read', 'write'], resources: [RESOURCE] });
    const client = { client_id: c.clientId };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(c.clientSecret!),
      { scope: 'read', resource: RESOURCE },
      insecure,
    );
    const tokens = await oauth.processClientCredentialsResponse(as, client, response);
    s.track(tokens.access_token);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read');
    expect(response.headers.get('cache-control')).toBe('no-store');
    // RFC 9068: a resource server can validate it with oauth4webapi alone.
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(RESOURCE, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
      RESOURCE,
      insecure,
    );
    expect(claims).toMatchObject({ client_id: c.clientId, scope: 'read', aud: RESOURCE, iss: s.issuer });
  });

  it('client_secret_post, and a token for Tessera itself works on its API', async () => {
    const c = await createClient(s, 'svc-post', { tokenEndpointAuthMethod: 'client_secret_post' });
    const client = { client_id: c.clientId };
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretPost(c.clientSecret!),
        {},
        insecure,
      ),
    );
    s.track(tokens.access_token);
    const api = await fetch(`${s.issuer}/v1/dynamic-secrets`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(api.status).toBe(200);
    // Basic with a client registered for post is refused, uniformly.
    const wrong = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(c.clientSecret!),
      {},
      insecure,
    );
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(await wrong.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
  });

  for (const alg of ['Ed25519', 'ES256', 'PS256', 'RS256'] as const) {
    it(`private_key_jwt with ${alg}`, async () => {
      const keys = await keyPair(alg);
      const c = await createClient(s, `svc-jwt-${alg}`, {
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: keys.jwks,
        scopes: ['read'],
      });
      expect(c.clientSecret).toBeUndefined();
      const client = { client_id: c.clientId };
      const auth = oauth.PrivateKeyJwt({ key: keys.privateKey, kid: keys.kid });
      const tokens = await oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read' }, insecure),
      );
      s.track(tokens.access_token);
      expect(tokens.scope).toBe('read');
    });
  }

  it('DPoP with a server nonce: the retry after use_dpop_nonce gets a DPoP-bound token, refused without its proof', async () => {
    const keys = await keyPair('ES256');
    const c = await createClient(s, 'svc-dpop', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: keys.jwks,
      dpopBoundAccessTokens: true,
    });
    const client = { client_id: c.clientId };
    const auth = oauth.PrivateKeyJwt({ key: keys.privateKey, kid: keys.kid });
    const holderKeys = await oauth.generateKeyPair('ES256', { extractable: true });
    const DPoP = oauth.DPoP(client, holderKeys);
    const grant = () => oauth.clientCredentialsGrantRequest(as, client, auth, {}, { DPoP, ...insecure });
    let tokens: oauth.TokenEndpointResponse;
    let retried = false;
    try {
      tokens = await oauth.processClientCredentialsResponse(as, client, await grant());
    } catch (error) {
      expect(oauth.isDPoPNonceError(error)).toBe(true);
      retried = true;
      tokens = await oauth.processClientCredentialsResponse(as, client, await grant());
    }
    expect(retried).toBe(true);
    s.track(tokens.access_token);
    expect(tokens.token_type).toBe('dpop');
    const url = new URL(`${s.issuer}/v1/dynamic-secrets`);
    const withProof = await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      url,
      undefined,
      undefined,
      {
        DPoP,
        ...insecure,
      },
    );
    expect(withProof.status).toBe(200);
    // Stolen: presented as a bearer token, or with a proof of another key.
    const bearer = await fetch(url, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(bearer.status).toBe(401);
    const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const stolen = await oauth
      .protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, {
        DPoP: thief,
        ...insecure,
      })
      .catch((error: unknown) => error);
    expect(stolen).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect((stolen as oauth.WWWAuthenticateChallengeError).response.status).toBe(401);

    // The SDK verifier (a resource server verifying locally) refuses it too without the holder's proof.
    const verifier = new SessionTokenVerifier({
      jwksUrl: `${s.issuer}/.well-known/jwks.json`,
      audience: 'tessera',
    });
    await expect(verifier.verify(tokens.access_token)).rejects.toMatchObject({
      code: 'TESSERA_TOKEN_INVALID',
    });
    const api = `${s.issuer}/v1/dynamic-secrets`;
    const proofBy = async (keys: CryptoKeyPair, claims: Record<string, unknown> = {}) =>
      new SignJWT({
        htm: 'GET',
        htu: api,
        iat: Math.floor(Date.now() / 1000),
        jti: crypto.randomUUID(),
        ath: createHash('sha256').update(tokens.access_token).digest('base64url'),
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(keys.publicKey) })
        .sign(keys.privateKey);
    const good = await proofBy(holderKeys);
    const sender = { method: 'GET', url: api, dpopProof: good };
    expect(await verifier.verify(tokens.access_token, sender)).toMatchObject({ client_id: c.clientId });
    await expect(verifier.verify(tokens.access_token, sender)).rejects.toThrow(/used before/);
    const thiefKeys = await oauth.generateKeyPair('ES256', { extractable: true });
    for (const dpopProof of [
      await proofBy(thiefKeys),
      await proofBy(holderKeys, { htm: 'POST' }),
      await proofBy(holderKeys, { ath: 'x' }),
      await proofBy(holderKeys, { iat: Math.floor(Date.now() / 1000) - 600 }),
    ])
      await expect(
        verifier.verify(tokens.access_token, { method: 'GET', url: api, dpopProof }),
      ).rejects.toMatchObject({
        code: 'TESSERA_TOKEN_INVALID',
      });

    // A proof made by the SDK is accepted by Tessera's API and by the SDK verifier.
    const sdkProof = () =>
      createDpopProof(holderKeys, { method: 'GET', url: api, accessToken: tokens.access_token });
    const viaSdk = await fetch(api, {
      headers: { authorization: `DPoP ${tokens.access_token}`, dpop: await sdkProof() },
    });
    expect(viaSdk.status).toBe(200);
    const checked = await verifier.verify(tokens.access_token, {
      method: 'GET',
      url: api,
      dpopProof: await sdkProof(),
    });
    expect(checked.cnf).toEqual({ jkt: expect.any(String) });
  });

  it('introspection and revocation (RFC 7662, RFC 7009); a revoked token is refused by the API', async () => {
    const c = await createClient(s, 'svc-introspect', { scopes: ['read'] });
    const client = { client_id: c.clientId };
    const auth = oauth.ClientSecretBasic(c.clientSecret!);
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read' }, insecure),
    );
    s.track(tokens.access_token);
    const active = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure),
    );
    expect(active).toMatchObject({
      active: true,
      client_id: c.clientId,
      scope: 'read',
      token_type: 'Bearer',
    });
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth, tokens.access_token, insecure),
    );
    const inactive = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure),
    );
    expect(inactive).toEqual({ active: false });
    const api = await fetch(`${s.issuer}/v1/dynamic-secrets`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(api.status).toBe(401);
  });

  it('token exchange (RFC 8693) with an actor token: the issued token names the subject and the actor chain', async () => {
    const subjectClient = await createClient(s, 'svc-user-facing', { scopes: ['read', 'write'] });
    const agent = await createClient(s, 'svc-agent', {
      scopes: ['read'],
      resources: [RESOURCE],
      mayActFor: [subjectClient.clientId],
    });
    const subjectAuth = oauth.ClientSecretBasic(subjectClient.clientSecret!);
    const sc = { client_id: subjectClient.clientId };
    const subject = await oauth.processClientCredentialsResponse(
      as,
      sc,
      await oauth.clientCredentialsGrantRequest(as, sc, subjectAuth, { scope: 'read write' }, insecure),
    );
    const ac = { client_id: agent.clientId };
    const basic = oauth.ClientSecretBasic(agent.clientSecret!);
    const own = await oauth.processClientCredentialsResponse(
      as,
      ac,
      await oauth.clientCredentialsGrantRequest(as, ac, basic, {}, insecure),
    );
    s.track(subject.access_token);
    s.track(own.access_token);
    const exchanged = await oauth.processGenericTokenEndpointResponse(
      as,
      ac,
      await oauth.genericTokenEndpointRequest(
        as,
        ac,
        basic,
        'urn:ietf:params:oauth:grant-type:token-exchange',
        {
          subject_token: subject.access_token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          actor_token: own.access_token,
          actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: RESOURCE,
          scope: 'read',
        },
        insecure,
      ),
    );
    s.track(exchanged.access_token);
    expect(exchanged.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(RESOURCE, { headers: { authorization: `Bearer ${exchanged.access_token}` } }),
      RESOURCE,
      insecure,
    );
    const subjectIdentity = JSON.parse(
      Buffer.from(subject.access_token.split('.')[1]!, 'base64url').toString(),
    ).sub;
    expect(claims).toMatchObject({
      sub: subjectIdentity,
      client_id: agent.clientId,
      scope: 'read',
      act: { client_id: agent.clientId },
    });
    // The agent's own introspection sees the token it obtained.
    const seen = await oauth.processIntrospectionResponse(
      as,
      ac,
      await oauth.introspectionRequest(as, ac, basic, exchanged.access_token, insecure),
    );
    expect(seen).toMatchObject({ active: true, act: { client_id: agent.clientId } });
  });

  it('token exchange with a UID-derived session token as subject (oauth4webapi)', async () => {
    const uid = await uidSetup(s);
    s.track(uid.root.token);
    const session = await uidAuth(s, uid.root.token);
    expect(session.status, JSON.stringify(session.body)).toBe(200);
    const sessionToken = session.body.token as string;
    s.track(sessionToken);
    const agent = await createClient(s, 'svc-uid-agent', {
      resources: [RESOURCE],
      mayActFor: [uid.method.id],
    });
    const ac = { client_id: agent.clientId };
    const exchange = (subject_token: string) =>
      oauth.genericTokenEndpointRequest(
        as,
        ac,
        oauth.ClientSecretBasic(agent.clientSecret!),
        'urn:ietf:params:oauth:grant-type:token-exchange',
        {
          subject_token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: RESOURCE,
        },
        insecure,
      );
    const exchanged = await oauth.processGenericTokenEndpointResponse(as, ac, await exchange(sessionToken));
    s.track(exchanged.access_token);
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(RESOURCE, { headers: { authorization: `Bearer ${exchanged.access_token}` } }),
      RESOURCE,
      insecure,
    );
    expect(claims).toMatchObject({
      sub: session.body.identityId,
      aud: RESOURCE,
      client_id: agent.clientId,
      act: { client_id: agent.clientId },
    });
    // A session of another UID method is not one the agent may act for.
    const other = await uidSetup(s);
    s.track(other.root.token);
    const otherSession = (await uidAuth(s, other.root.token)).body.token as string;
    s.track(otherSession);
    const refused = await oauth
      .processGenericTokenEndpointResponse(as, ac, await exchange(otherSession))
      .then(
        () => 'issued',
        (e: unknown) => (e as oauth.ResponseBodyError).error,
      );
    expect(refused).toBe('invalid_grant');
  });

  it('token exchange under a delegation rule (ADR 0039): impersonation only where the rule allows it, narrowed scopes and audiences', async () => {
    const OTHER = 'https://other.example.test/';
    const subjectClient = await createClient(s, 'svc-rule-subject', { scopes: ['read', 'write'] });
    const rule = { subject: subjectClient.clientId, audiences: [RESOURCE], scopes: ['read'] };
    const agent = await createClient(s, 'svc-rule-agent', {
      resources: [RESOURCE, OTHER],
      delegation: [{ ...rule, impersonation: true }],
    });
    const delegator = await createClient(s, 'svc-rule-delegator', {
      resources: [RESOURCE],
      delegation: [rule],
    });
    const sc = { client_id: subjectClient.clientId };
    const subject = await oauth.processClientCredentialsResponse(
      as,
      sc,
      await oauth.clientCredentialsGrantRequest(
        as,
        sc,
        oauth.ClientSecretBasic(subjectClient.clientSecret!),
        { scope: 'read write' },
        insecure,
      ),
    );
    s.track(subject.access_token);
    const subjectSub = JSON.parse(
      Buffer.from(subject.access_token.split('.')[1]!, 'base64url').toString(),
    ).sub;
    const exchangeAs = async (
      c: { clientId: string; clientSecret?: string },
      extra: Record<string, string>,
    ) => {
      const client = { client_id: c.clientId };
      const response = await oauth.genericTokenEndpointRequest(
        as,
        client,
        oauth.ClientSecretBasic(c.clientSecret!),
        'urn:ietf:params:oauth:grant-type:token-exchange',
        {
          subject_token: subject.access_token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: RESOURCE,
          ...extra,
        },
        insecure,
      );
      return oauth.processGenericTokenEndpointResponse(as, client, response).then(
        async (tokens) => {
          s.track(tokens.access_token);
          return oauth.validateJwtAccessToken(
            as,
            new Request(RESOURCE, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
            RESOURCE,
            insecure,
          );
        },
        (e: unknown) => (e as oauth.ResponseBodyError).error,
      );
    };
    // Impersonation: the rule allows it and no actor token was sent — no `act`, the subject's own
    // scopes narrowed to the rule's.
    const impersonated = await exchangeAs(agent, {});
    expect(impersonated).toMatchObject({ sub: subjectSub, client_id: agent.clientId, scope: 'read' });
    expect(impersonated).not.toHaveProperty('act');
    // The same exchange by a client whose rule does not allow impersonation is a delegation.
    const delegated = await exchangeAs(delegator, {});
    expect(delegated).toMatchObject({ sub: subjectSub, act: { client_id: delegator.clientId } });
    // With its own actor token, the impersonating client asks for delegation and gets `act`.
    const ac = { client_id: agent.clientId };
    const own = await oauth.processClientCredentialsResponse(
      as,
      ac,
      await oauth.clientCredentialsGrantRequest(
        as,
        ac,
        oauth.ClientSecretBasic(agent.clientSecret!),
        {},
        insecure,
      ),
    );
    s.track(own.access_token);
    const withActor = await exchangeAs(agent, {
      actor_token: own.access_token,
      actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    expect(withActor).toMatchObject({ sub: subjectSub, act: { client_id: agent.clientId } });
    // Never broader than the rule: a scope the subject has but the rule does not, another audience.
    expect(await exchangeAs(agent, { scope: 'write' })).toBe('invalid_scope');
    expect(await exchangeAs(agent, { resource: OTHER })).toBe('invalid_target');
  });

  it('openid-client 6: discovery, private_key_jwt (EdDSA), DPoP with automatic nonce retry, resource, introspection, revocation', async () => {
    const keys = await keyPair('Ed25519');
    const c = await createClient(s, 'svc-openid-client', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: keys.jwks,
      scopes: ['read'],
      resources: [RESOURCE],
    });
    const config = await openid.discovery(
      new URL(s.issuer),
      c.clientId,
      {},
      openid.PrivateKeyJwt({ key: keys.privateKey, kid: keys.kid }),
      { execute: [openid.allowInsecureRequests], algorithm: 'oauth2' },
    );
    const DPoP = openid.getDPoPHandle(config, await openid.randomDPoPKeyPair('EdDSA'));
    const tokens = await openid.clientCredentialsGrant(
      config,
      { scope: 'read', resource: RESOURCE },
      { DPoP },
    );
    s.track(tokens.access_token);
    expect(tokens.token_type).toBe('dpop');
    const introspected = await openid.tokenIntrospection(config, tokens.access_token);
    expect(introspected).toMatchObject({ active: true, aud: RESOURCE, cnf: { jkt: expect.any(String) } });
    await openid.tokenRevocation(config, tokens.access_token);
    expect((await openid.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });

  it('openid-client 6: client_secret_basic, client_secret_post, private_key_jwt (PS256), and token exchange with an actor', async () => {
    const discover = (clientId: string, auth: openid.ClientAuth) =>
      openid.discovery(new URL(s.issuer), clientId, {}, auth, {
        execute: [openid.allowInsecureRequests],
        algorithm: 'oauth2',
      });
    const basic = await createClient(s, 'svc-oc-basic', { scopes: ['read', 'write'] });
    const basicConfig = await discover(basic.clientId, openid.ClientSecretBasic(basic.clientSecret!));
    const subject = await openid.clientCredentialsGrant(basicConfig, { scope: 'read write' });
    s.track(subject.access_token);
    expect(subject.scope).toBe('read write');

    const post = await createClient(s, 'svc-oc-post', { tokenEndpointAuthMethod: 'client_secret_post' });
    const postConfig = await discover(post.clientId, openid.ClientSecretPost(post.clientSecret!));
    const posted = await openid.clientCredentialsGrant(postConfig);
    s.track(posted.access_token);
    expect(posted.token_type.toLowerCase()).toBe('bearer');
    // The same client with the other secret method is refused (invalid_client on a 401).
    const wrongMethod = await discover(post.clientId, openid.ClientSecretBasic(post.clientSecret!));
    const refused = await openid.clientCredentialsGrant(wrongMethod).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(openid.WWWAuthenticateChallengeError);
    expect(await (refused as openid.WWWAuthenticateChallengeError).response.json()).toMatchObject({
      error: 'invalid_client',
    });

    // An agent authenticating with private_key_jwt (PS256) exchanges the subject's token for one
    // naming itself as actor, narrowed to a resource and a scope.
    const keys = await keyPair('PS256');
    const agent = await createClient(s, 'svc-oc-agent', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: keys.jwks,
      scopes: ['read', 'write'],
      resources: [RESOURCE],
      mayActFor: [basic.clientId],
    });
    const agentConfig = await discover(
      agent.clientId,
      openid.PrivateKeyJwt({ key: keys.privateKey, kid: keys.kid }),
    );
    const own = await openid.clientCredentialsGrant(agentConfig);
    s.track(own.access_token);
    const exchanged = await openid.genericGrantRequest(
      agentConfig,
      'urn:ietf:params:oauth:grant-type:token-exchange',
      {
        subject_token: subject.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        actor_token: own.access_token,
        actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: RESOURCE,
        scope: 'read',
      },
    );
    s.track(exchanged.access_token);
    expect(exchanged.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    const claims = JSON.parse(Buffer.from(exchanged.access_token.split('.')[1]!, 'base64url').toString());
    const subjectClaims = JSON.parse(
      Buffer.from(subject.access_token.split('.')[1]!, 'base64url').toString(),
    );
    expect(claims).toMatchObject({
      sub: subjectClaims.sub,
      aud: RESOURCE,
      scope: 'read',
      act: { client_id: agent.clientId },
    });
    // Broader than the subject's token: invalid_scope; a subject the agent may not act for: invalid_grant.
    const readOnly = await openid.clientCredentialsGrant(basicConfig, { scope: 'read' });
    s.track(readOnly.access_token);
    const exchangeError = (subject_token: string, scope: string) =>
      openid
        .genericGrantRequest(agentConfig, 'urn:ietf:params:oauth:grant-type:token-exchange', {
          subject_token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: RESOURCE,
          scope,
        })
        .then(
          () => 'issued',
          (e: unknown) => (e instanceof openid.ResponseBodyError ? e.error : Promise.reject(e)),
        );
    expect(await exchangeError(readOnly.access_token, 'read write')).toBe('invalid_scope');
    expect(await exchangeError(posted.access_token, 'read')).toBe('invalid_grant');
    expect((await openid.tokenIntrospection(agentConfig, exchanged.access_token)).act).toMatchObject({
      client_id: agent.clientId,
    });
  });

  it('openid-client 6: dynamic registration (RFC 7591) with an initial access token, then client_credentials', async () => {
    const keys = await keyPair('Ed25519');
    const config = await openid.dynamicClientRegistration(
      new URL(s.issuer),
      {
        client_name: '/dynamic/openid-client',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: keys.jwks as never,
        grant_types: ['client_credentials'],
      },
      openid.PrivateKeyJwt({ key: keys.privateKey, kid: keys.kid }),
      { execute: [openid.allowInsecureRequests], algorithm: 'oauth2', initialAccessToken: s.adminToken },
    );
    const registered = config.clientMetadata();
    expect(registered.client_id).toMatch(/^p-/);
    s.track(registered.registration_access_token as string);
    expect(registered.registration_client_uri).toBe(`${s.issuer}/oauth/register/${registered.client_id}`);
    const tokens = await openid.clientCredentialsGrant(config);
    s.track(tokens.access_token);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    // RFC 7592: read with the registration access token, then delete.
    const uri = registered.registration_client_uri as string;
    const auth = { authorization: `Bearer ${registered.registration_access_token}` };
    expect((await (await fetch(uri, { headers: auth })).json()).client_name).toBe('/dynamic/openid-client');
    expect((await fetch(uri, { method: 'DELETE', headers: auth })).status).toBe(204);
    await expect(openid.clientCredentialsGrant(config)).rejects.toThrow();
  });
});
