import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubActionsClaims, gitlabClaims, kubernetesClaims, TestIssuer } from './federation.issuer.js';
import { STORES, startTestServer, type TestServer } from './harness.js';

const AUD = 'https://tessera.test';
/** Shared by a second server on the same PostgreSQL store (the one-time token test). */
const ROOT_KEY = randomBytes(32).toString('base64');

/**
 * Workload identity federation (issue 13): a real local OIDC issuer (discovery + JWKS over HTTP)
 * minting GitHub Actions, GitLab CI and Kubernetes shaped tokens, exchanged at `POST /v1/auth`.
 */
describe.each(STORES)('OIDC federation on %s', (store) => {
  let s: TestServer;
  let gh: TestIssuer;
  let gl: TestIssuer;
  let k8s: TestIssuer;
  let ghMethod: string;
  let ownerId = '';
  const nowS = () => Math.floor(s.clock.ms / 1000);
  let adminToken = '';
  const admin = (method: string, url: string, body?: unknown) =>
    s.call(method, url, { token: adminToken, ...(body === undefined ? {} : { body }) });
  /** A fresh administrator session (the tests move the clock by hours). */
  const relogin = async () => {
    const r = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: s.adminAccessKey },
    });
    adminToken = r.body.token;
  };
  const auth = async (accessId: string, jwt: string) => {
    s.track(jwt);
    return s.call('POST', '/v1/auth', { body: { accessType: 'oidc_federation', accessId, jwt } });
  };
  const lastAudit = async (type: string) =>
    (await admin('GET', `/v1/audit/events?type=${type}&limit=1`)).body.items[0];
  const readSecret = (token: string, name: string) =>
    s.call('GET', `/v1/secrets/value?name=${encodeURIComponent(name)}`, { token });
  const refusedWith = async (accessId: string, jwt: string, reason: string) => {
    const r = await auth(accessId, jwt);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('TESSERA_AUTH_FAILED');
    expect(JSON.stringify(r.body)).not.toContain('federation_');
    const event = await lastAudit('auth.failed');
    expect(event.reason).toBe(reason);
    expect(JSON.stringify(event)).not.toContain(jwt);
    return r.body.error;
  };

  beforeAll(async () => {
    s = await startTestServer(store, { TESSERA_AUTH_FAILURE_LIMIT: '10000', TESSERA_ROOT_KEY: ROOT_KEY });
    adminToken = s.adminToken;
    [gh, gl, k8s] = await Promise.all([
      new TestIssuer('RS256').start(),
      new TestIssuer('ES256').start(),
      new TestIssuer('RS256').start(),
    ]);
    // The method's identity carries the owner and tags that identities created on first use inherit.
    const owner = await admin('POST', '/v1/identities', {
      name: '/federation/github-owner',
      kind: 'ci-pipeline',
      owner: 'platform-team',
      tags: ['ci', 'github'],
    });
    expect(owner.status).toBe(201);
    ownerId = owner.body.id;
    const m = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/github',
      identityId: owner.body.id,
      preset: 'github-actions',
      issuer: gh.url,
      audience: AUD,
      algorithms: ['RS256'],
      boundClaims: { repository: 'acme/*', ref: 'refs/heads/main', environment: ['production', 'staging'] },
    });
    expect(m.status).toBe(201);
    expect(m.body.authMethod.oidcFederation).toMatchObject({
      preset: 'github-actions',
      issuer: gh.url,
      identityTemplate: 'ci/github/{repository}',
      createIdentities: true,
      pinnedJwks: false,
    });
    ghMethod = m.body.authMethod.id;
    expect(
      (await admin('POST', '/v1/secrets', { name: '/ci/deploy-key', value: 'deploy-secret-value' })).status,
    ).toBe(201);
    expect((await admin('POST', '/v1/roles', { name: 'ci-readers' })).status).toBe(201);
    expect(
      (
        await admin('POST', '/v1/roles/ci-readers/rules', {
          ruleType: 'item',
          path: '/ci/*',
          capabilities: ['read'],
        })
      ).status,
    ).toBe(200);
    expect(
      (await admin('POST', '/v1/roles/ci-readers/associations', { authMethodId: ghMethod })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
    await Promise.all([gh?.close(), gl?.close(), k8s?.close()]);
  });

  it('a GitHub Actions token with matching claims gets a session and reads a secret, with no stored credential', async () => {
    const jwt = await gh.mint(githubActionsClaims(gh.url, AUD, nowS()));
    const r = await auth(ghMethod, jwt);
    expect(r.status).toBe(200);
    expect(r.body.authMethodId).toBe(ghMethod);
    const secret = await readSecret(r.body.token, '/ci/deploy-key');
    expect(secret.status).toBe(200);
    expect(secret.body.value).toBe('deploy-secret-value');
    // The identity was named from the claims and created with the method identity's owner and tags.
    const identity = (await admin('GET', `/v1/identities/${r.body.identityId}`)).body;
    expect(identity).toMatchObject({
      name: 'ci/github/acme/app',
      owner: 'platform-team',
      tags: ['ci', 'github'],
    });
    expect((await lastAudit('identity.created')).data).toMatchObject({
      identityId: r.body.identityId,
      owner: 'platform-team',
      via: 'oidc_federation',
      issuer: gh.url,
    });
    // Audit: the issuer, the subject and the matched claims; never the JWT.
    const event = await lastAudit('auth.succeeded');
    expect(event.data.federation).toEqual({
      issuer: gh.url,
      subject: 'repo:acme/app:environment:production',
      matchedClaims: { repository: 'acme/app', ref: 'refs/heads/main', environment: 'production' },
    });
    expect(JSON.stringify(event)).not.toContain(jwt);
    // The second run maps to the same identity.
    const again = await auth(ghMethod, await gh.mint(githubActionsClaims(gh.url, AUD, nowS())));
    expect(again.body.identityId).toBe(r.body.identityId);
  });

  it('claims reach role conditions through the mapped identity (an association narrowed by identity-name)', async () => {
    expect((await admin('POST', '/v1/secrets', { name: '/release/signing-key', value: 'sign' })).status).toBe(
      201,
    );
    expect((await admin('POST', '/v1/roles', { name: 'release' })).status).toBe(201);
    await admin('POST', '/v1/roles/release/rules', {
      ruleType: 'item',
      path: '/release/*',
      capabilities: ['read'],
    });
    const a = await admin('POST', '/v1/roles/release/associations', {
      authMethodId: ghMethod,
      claims: { 'identity-name': ['ci/github/acme/release-tool'] },
    });
    expect(a.status).toBe(201);
    const release = await auth(
      ghMethod,
      await gh.mint(githubActionsClaims(gh.url, AUD, nowS(), { repository: 'acme/release-tool' })),
    );
    const other = await auth(ghMethod, await gh.mint(githubActionsClaims(gh.url, AUD, nowS())));
    expect((await readSecret(release.body.token, '/release/signing-key')).status).toBe(200);
    expect((await readSecret(other.body.token, '/release/signing-key')).status).toBe(403);
  });

  it('refuses each kind of mismatch with one uniform 401 and a precise audited reason', async () => {
    const n = nowS();
    const claims = (over: Record<string, unknown> = {}) => githubActionsClaims(gh.url, AUD, n, over);
    const bodies = [
      await refusedWith(
        ghMethod,
        await gh.mint(claims({ iss: 'https://evil.example' })),
        'federation_unknown_issuer',
      ),
      await refusedWith(
        ghMethod,
        await gh.mint(claims({ aud: 'https://other.example' })),
        'federation_wrong_audience',
      ),
      await refusedWith(
        ghMethod,
        await gh.mint(claims({ repository: 'evil/app' })),
        'federation_claim_mismatch',
      ),
      await refusedWith(
        ghMethod,
        await gh.mint(claims({ ref: 'refs/heads/feature' })),
        'federation_claim_mismatch',
      ),
      await refusedWith(ghMethod, await gh.mint(claims({ environment: 'dev' })), 'federation_claim_mismatch'),
      await refusedWith(
        ghMethod,
        await gh.mint(claims({ environment: undefined })),
        'federation_missing_claim',
      ),
      await refusedWith(ghMethod, await gh.mint(claims({ iat: n - 900, exp: n - 60 })), 'federation_expired'),
      await refusedWith(
        ghMethod,
        await gh.mint(claims({ iat: n + 600, nbf: n - 5 })),
        'federation_issued_in_future',
      ),
      await refusedWith(
        ghMethod,
        await gh.mint(claims({ iat: n - 7200, nbf: n - 7200 })),
        'federation_too_old',
      ),
      await refusedWith(ghMethod, await gh.mint(claims({ nbf: n + 600 })), 'federation_not_yet_valid'),
      await refusedWith(ghMethod, 'not-a-jwt', 'federation_malformed_jwt'),
    ];
    // A key not in the JWKS: under the issuer's kid (bad signature), and under a kid of its own.
    const stranger = await generateKeyPair('RS256', { extractable: true });
    bodies.push(
      await refusedWith(
        ghMethod,
        await gh.mint(claims(), { key: stranger.privateKey as CryptoKey }),
        'federation_bad_signature',
      ),
      await refusedWith(
        ghMethod,
        await gh.mint(claims(), { key: stranger.privateKey as CryptoKey, header: { kid: 'attacker-kid' } }),
        'federation_unknown_key',
      ),
    );
    // alg none and HMAC (with the public key as the HMAC secret: the classic confusion).
    const [h, p] = (await gh.mint(claims())).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    bodies.push(await refusedWith(ghMethod, none, 'federation_alg_not_allowed'));
    const pub = new TextEncoder().encode(JSON.stringify(await exportJWK(stranger.publicKey)));
    const hs = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: gh.currentKid }).sign(pub);
    bodies.push(await refusedWith(ghMethod, hs, 'federation_alg_not_allowed'));
    expect(h).toBeTruthy();
    // Another kind's access id, and an unknown one.
    const uidMethod = await admin('POST', '/v1/auth-methods', {
      type: 'universal_identity',
      name: '/fed/uid',
    });
    bodies.push(
      await refusedWith(uidMethod.body.authMethod.id, await gh.mint(claims()), 'wrong_access_type'),
      await refusedWith('p-doesnotexist00', await gh.mint(claims()), 'unknown_access_id'),
    );
    // Uniform: every refusal has the same code and message.
    const shapes = new Set(bodies.map((b) => JSON.stringify({ code: b.code, message: b.message })));
    expect(shapes.size).toBe(1);
  });

  it('one-time tokens (GitHub Actions by default): a replay is refused on every server of the store, audited as theft', async () => {
    const jwt = await gh.mint(githubActionsClaims(gh.url, AUD, nowS()));
    expect((await auth(ghMethod, jwt)).status).toBe(200);
    const error = await refusedWith(ghMethod, jwt, 'federation_token_replayed');
    expect(error.code).toBe('TESSERA_AUTH_FAILED');
    const event = await lastAudit('auth.failed');
    expect(event.actor.authMethodId).toBe(ghMethod);
    expect(event.actor.credentialRef).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(event.data.federation).toMatchObject({
      issuer: gh.url,
      subject: 'repo:acme/app:environment:production',
    });
    // A token without a jti cannot be one-time: refused, with the claim named.
    await refusedWith(
      ghMethod,
      await gh.mint(githubActionsClaims(gh.url, AUD, nowS(), { jti: undefined })),
      'federation_missing_claim',
    );
    expect((await lastAudit('auth.failed')).data.federation.claim).toBe('jti');
    // The key is kept only while the token could be accepted: it is in the shared table with an expiry.
    const keys = await s.tessera.store.db
      .selectFrom('one_time_keys')
      .select(['key', 'expires_at'])
      .where('key', 'like', 'federation:%')
      .execute();
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k.key).not.toContain(jwt.split('.')[1]!.slice(0, 20));
      expect(Number(k.expires_at) - s.clock.ms).toBeLessThanOrEqual((3600 + 30) * 1000);
    }
    // A second server on the same PostgreSQL database refuses the replay as well (the cluster case).
    if (store === 'postgres') {
      const other = await startTestServer(
        store,
        { TESSERA_ROOT_KEY: ROOT_KEY },
        { storeUrl: s.config.storeUrl!, adminAccessKey: s.adminAccessKey },
      );
      try {
        other.clock.ms = s.clock.ms;
        const fresh = await gh.mint(githubActionsClaims(gh.url, AUD, nowS()));
        other.track(fresh);
        const body = { accessType: 'oidc_federation', accessId: ghMethod, jwt: fresh };
        expect((await other.call('POST', '/v1/auth', { body })).status).toBe(200);
        expect((await s.call('POST', '/v1/auth', { body })).status).toBe(401);
        expect((await lastAudit('auth.failed')).reason).toBe('federation_token_replayed');
      } finally {
        await other.close();
      }
    }
    // A method may opt out (its workloads reuse a token): then the same token works twice.
    const reusable = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/github-reusable',
      identityId: ownerId,
      preset: 'github-actions',
      issuer: gh.url,
      audience: AUD,
      boundClaims: { repository: 'acme/*' },
      oneTimeTokens: false,
    });
    expect(reusable.status, JSON.stringify(reusable.body)).toBe(201);
    expect(reusable.body.authMethod.oidcFederation.oneTimeTokens).toBe(false);
    const twice = await gh.mint(githubActionsClaims(gh.url, AUD, nowS()));
    expect((await auth(reusable.body.authMethod.id, twice)).status).toBe(200);
    expect((await auth(reusable.body.authMethod.id, twice)).status).toBe(200);
  });

  it('the same token works through OAuth token exchange (subject_token_type jwt) for a client allowed to act for the method', async () => {
    const RESOURCE = 'https://api.example.test/';
    const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
    const client = async (name: string, mayActFor: string[]) => {
      const c = await admin('POST', '/v1/oauth-clients', { name, resources: [RESOURCE], mayActFor });
      expect(c.status, JSON.stringify(c.body)).toBe(201);
      s.track(c.body.clientSecret);
      return `Basic ${Buffer.from(`${c.body.client.clientId}:${c.body.clientSecret}`).toString('base64')}`;
    };
    const deployer = await client('/svc/deployer', [ghMethod]);
    const stranger = await client('/svc/stranger', []);
    const exchange = async (authorization: string, jwt: string) => {
      s.track(jwt);
      const res = await s.tessera.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
        payload: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: jwt,
          subject_token_type: JWT_TYPE,
          resource: RESOURCE,
        }).toString(),
      });
      return { status: res.statusCode, body: JSON.parse(res.body) };
    };
    const once = await gh.mint(githubActionsClaims(gh.url, AUD, nowS()));
    const ok = await exchange(deployer, once);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    s.track(ok.body.access_token);
    // A one-time token is spent by the exchange too (the same store key as `POST /v1/auth`).
    const replayed = await exchange(deployer, once);
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe('invalid_grant');
    expect((await lastAudit('oauth.token_refused')).data).toMatchObject({
      federationReason: 'federation_token_replayed',
    });
    expect((await auth(ghMethod, once)).status).toBe(401);
    const claims = JSON.parse(Buffer.from(ok.body.access_token.split('.')[1], 'base64url').toString());
    const identity = (await admin('GET', `/v1/identities/${claims.sub}`)).body;
    expect(identity.name).toBe('ci/github/acme/app');
    expect(claims.am).toBe(ghMethod);
    expect(claims.aud).toBe(RESOURCE);
    expect(claims.act.client_id).toMatch(/^p-/);
    // A client not allowed to act for the method, and a token whose claims do not match: refused.
    const strangerAnswer = await exchange(stranger, await gh.mint(githubActionsClaims(gh.url, AUD, nowS())));
    expect(strangerAnswer.status).toBe(400);
    expect(strangerAnswer.body.error).toBe('invalid_grant');
    const evil = await exchange(
      deployer,
      await gh.mint(githubActionsClaims(gh.url, AUD, nowS(), { repository: 'evil/app' })),
    );
    expect(evil.status).toBe(400);
    expect(evil.body.error).toBe('invalid_grant');
    expect(await lastAudit('oauth.token_refused')).toMatchObject({
      reason: 'subject_token_inactive',
      data: { federationReason: 'federation_claim_mismatch' },
    });
  });

  it("follows the issuer's key rotation mid-test, refreshing on an unknown kid at a bounded rate", async () => {
    const before = await auth(ghMethod, await gh.mint(githubActionsClaims(gh.url, AUD, nowS())));
    expect(before.status).toBe(200);
    const oldKey = await gh.mint(githubActionsClaims(gh.url, AUD, nowS()));
    s.clock.advance(11);
    const newKid = await gh.rotate();
    const after = await auth(ghMethod, await gh.mint(githubActionsClaims(gh.url, AUD, nowS())));
    expect(after.status).toBe(200);
    expect(gh.currentKid).toBe(newKid);
    // The retired key is no longer published: its tokens are refused.
    await refusedWith(ghMethod, oldKey, 'federation_unknown_key');
    // Random kids cannot make Tessera hammer the issuer: at most one refresh per interval.
    const fetched = gh.hits['/keys'] ?? 0;
    const stranger = await generateKeyPair('RS256');
    for (let i = 0; i < 5; i++) {
      const jwt = await gh.mint(githubActionsClaims(gh.url, AUD, nowS()), {
        key: stranger.privateKey,
        header: { kid: `random-${i}` },
      });
      await refusedWith(ghMethod, jwt, 'federation_unknown_key');
    }
    expect((gh.hits['/keys'] ?? 0) - fetched).toBeLessThanOrEqual(1);
  });

  it('keeps serving the last good JWKS while the issuer is down, up to a limit', async () => {
    s.clock.advance(11 * 60); // past the cache's freshness
    gh.down = true;
    try {
      const stale = await auth(ghMethod, await gh.mint(githubActionsClaims(gh.url, AUD, nowS())));
      expect(stale.status).toBe(200);
      s.clock.advance(25 * 3600); // past the stale limit
      await relogin();
      await refusedWith(
        ghMethod,
        await gh.mint(githubActionsClaims(gh.url, AUD, nowS())),
        'federation_jwks_unavailable',
      );
    } finally {
      gh.down = false;
    }
    s.clock.advance(11);
    expect((await auth(ghMethod, await gh.mint(githubActionsClaims(gh.url, AUD, nowS())))).status).toBe(200);
  });

  it('GitLab CI (ES256) and Kubernetes projected tokens, with presets, nested claims and pre-registered identities', async () => {
    const glm = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/gitlab',
      preset: 'gitlab',
      issuer: gl.url,
      audience: AUD,
      algorithms: ['ES256'],
      boundClaims: { project_path: 'acme/*', ref_protected: 'true' },
    });
    expect(glm.status).toBe(201);
    const g = await auth(glm.body.authMethod.id, await gl.mint(gitlabClaims(gl.url, AUD, nowS())));
    expect(g.status).toBe(200);
    expect((await admin('GET', `/v1/identities/${g.body.identityId}`)).body.name).toBe('ci/gitlab/acme/api');
    await refusedWith(
      glm.body.authMethod.id,
      await gl.mint(gitlabClaims(gl.url, AUD, nowS(), { ref_protected: 'false' })),
      'federation_claim_mismatch',
    );

    const km = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/cluster',
      preset: 'kubernetes',
      issuer: k8s.url,
      audience: AUD,
      boundClaims: {
        'kubernetes.io.namespace': ['payments', 'billing'],
        'kubernetes.io.serviceaccount.name': 'api',
      },
      createIdentities: false,
    });
    expect(km.status).toBe(201);
    const kid = km.body.authMethod.id;
    const token = () => k8s.mint(kubernetesClaims(k8s.url, AUD, nowS()));
    await refusedWith(kid, await token(), 'federation_identity_not_registered');
    const pre = await admin('POST', '/v1/identities', {
      name: 'k8s/payments/api',
      kind: 'workload',
      owner: 'payments',
    });
    expect(pre.status).toBe(201);
    const k = await auth(kid, await token());
    expect(k.status).toBe(200);
    expect(k.body.identityId).toBe(pre.body.id);
    await refusedWith(
      kid,
      await k8s.mint(
        kubernetesClaims(k8s.url, AUD, nowS(), {
          'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'default' } },
        }),
      ),
      'federation_claim_mismatch',
    );
  });

  it('cloud presets: Azure workload identity fills its audience, GCP and EKS name identities from their claims', async () => {
    const azureAud = 'api://AzureADTokenExchange';
    const az = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/aks',
      preset: 'azure-workload-identity',
      issuer: k8s.url,
      boundClaims: { 'kubernetes.io.namespace': 'payments' },
    });
    expect(az.status, JSON.stringify(az.body)).toBe(201);
    expect(az.body.authMethod.oidcFederation.audiences).toEqual([azureAud]);
    const a = await auth(az.body.authMethod.id, await k8s.mint(kubernetesClaims(k8s.url, azureAud, nowS())));
    expect(a.status).toBe(200);
    expect((await admin('GET', `/v1/identities/${a.body.identityId}`)).body.name).toBe(
      'azure/aks/payments/api',
    );
    // A token for Tessera's own audience is not one the preset accepts.
    await refusedWith(
      az.body.authMethod.id,
      await k8s.mint(kubernetesClaims(k8s.url, AUD, nowS())),
      'federation_wrong_audience',
    );

    const eks = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/eks',
      preset: 'aws-eks',
      issuer: k8s.url,
      audience: AUD,
      boundClaims: { 'kubernetes.io.serviceaccount.name': 'api' },
    });
    expect(eks.status).toBe(201);
    const e = await auth(eks.body.authMethod.id, await k8s.mint(kubernetesClaims(k8s.url, AUD, nowS())));
    expect(e.status).toBe(200);
    expect((await admin('GET', `/v1/identities/${e.body.identityId}`)).body.name).toBe(
      'aws/eks/payments/api',
    );

    // GCP's issuer is fixed; an operator testing against another one overrides it, as here.
    const gcp = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/gcp',
      preset: 'gcp',
      issuer: gh.url,
      audience: AUD,
      algorithms: ['RS256'],
      boundClaims: { 'google.compute_engine.project_id': 'acme-prod', email_verified: 'true' },
    });
    expect(gcp.status).toBe(201);
    const gcpClaims = (projectId: string) => ({
      aud: AUD,
      iss: gh.url,
      iat: nowS() - 5,
      exp: nowS() + 3600,
      sub: '113000000000000000001',
      email: 'billing@acme-prod.iam.gserviceaccount.com',
      email_verified: true,
      google: {
        compute_engine: { project_id: projectId, instance_name: 'billing-1', zone: 'europe-west1-b' },
      },
    });
    const g = await auth(gcp.body.authMethod.id, await gh.mint(gcpClaims('acme-prod')));
    expect(g.status, JSON.stringify(g.body)).toBe(200);
    expect((await admin('GET', `/v1/identities/${g.body.identityId}`)).body.name).toBe(
      'gcp/113000000000000000001',
    );
    await refusedWith(
      gcp.body.authMethod.id,
      await gh.mint(gcpClaims('acme-dev')),
      'federation_claim_mismatch',
    );
  });

  it('bound claims can be changed with PATCH, and take effect at once', async () => {
    const m = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/patched',
      issuer: gh.url,
      audience: AUD,
      algorithms: ['RS256'],
      boundClaims: { repository: 'acme/app' },
    });
    expect(m.status).toBe(201);
    const id = m.body.authMethod.id;
    const token = () => gh.mint(githubActionsClaims(gh.url, AUD, nowS()));
    expect((await auth(id, await token())).status).toBe(200);
    const patched = await admin('PATCH', `/v1/auth-methods/${id}`, {
      boundClaims: { repository: 'acme/other' },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.oidcFederation.boundClaims).toEqual({ repository: 'acme/other' });
    await refusedWith(id, await token(), 'federation_claim_mismatch');
    expect((await admin('PATCH', `/v1/auth-methods/${id}`, { algorithms: ['HS256'] })).status).toBe(400);
  });

  it('a pinned JWKS (air-gapped) needs no discovery', async () => {
    const before = k8s.hits['/.well-known/openid-configuration'] ?? 0;
    const pinned = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/pinned',
      preset: 'spiffe',
      issuer: k8s.url,
      audience: AUD,
      boundClaims: { sub: 'system:serviceaccount:payments:*' },
      jwks: k8s.jwks(),
    });
    expect(pinned.status).toBe(201);
    expect(pinned.body.authMethod.oidcFederation.pinnedJwks).toBe(true);
    k8s.down = true;
    try {
      const r = await auth(pinned.body.authMethod.id, await k8s.mint(kubernetesClaims(k8s.url, AUD, nowS())));
      expect(r.status).toBe(200);
    } finally {
      k8s.down = false;
    }
    expect(k8s.hits['/.well-known/openid-configuration'] ?? 0).toBe(before);
  });

  it('a SPIFFE trust bundle pinned as is: jwt-svid keys verify JWT-SVIDs, x509-svid keys never do', async () => {
    const ca = await generateKeyPair('ES256', { extractable: true });
    const bundle = {
      keys: [
        // What `spire-server bundle show -format spiffe` prints: the X.509 CA, then JWT signing keys.
        { ...(await exportJWK(ca.publicKey)), use: 'x509-svid', x5c: ['MIIBdummyCAcertificate'] },
        ...k8s.jwks().keys.map(({ use: _use, alg: _alg, ...k }) => ({ ...k, use: 'jwt-svid' })),
      ],
    };
    const m = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/spiffe-bundle',
      preset: 'spiffe',
      issuer: k8s.url,
      audience: AUD,
      algorithms: ['RS256', 'ES256'],
      boundClaims: { sub: 'spiffe://example.org/ns/payments/*' },
      jwks: bundle,
    });
    expect(m.status, JSON.stringify(m.body)).toBe(201);
    const id = m.body.authMethod.id;
    const n = nowS();
    const svid = (sub: string) => ({ iss: k8s.url, sub, aud: AUD, iat: n, exp: n + 300 });
    expect((await auth(id, await k8s.mint(svid('spiffe://example.org/ns/payments/sa/api')))).status).toBe(
      200,
    );
    await refusedWith(
      id,
      await k8s.mint(svid('spiffe://example.org/ns/other/sa/api')),
      'federation_claim_mismatch',
    );
    // Signed by the X.509 CA key (the x509-svid entry): not a JWT key.
    const forged = await new SignJWT(svid('spiffe://example.org/ns/payments/sa/api'))
      .setProtectedHeader({ alg: 'ES256' })
      .sign(ca.privateKey);
    const refused = await auth(id, forged);
    expect(refused.status).toBe(401);
    // A bundle with no JWT key at all is refused at creation.
    const x509Only = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/spiffe-x509-only',
      preset: 'spiffe',
      issuer: k8s.url,
      audience: AUD,
      boundClaims: { sub: 'spiffe://example.org/*' },
      jwks: { keys: [bundle.keys[0]] },
    });
    expect(x509Only.status).toBe(400);
  });

  it('a JWT-SVID without iss: accepted by a spiffe method with a pinned bundle, only in its trust domain', async () => {
    const bundle = {
      keys: k8s.jwks().keys.map(({ use: _use, alg: _alg, ...k }) => ({ ...k, use: 'jwt-svid' })),
    };
    const spiffe = (name: string, extra: Record<string, unknown> = {}) =>
      admin('POST', '/v1/auth-methods', {
        type: 'oidc_federation',
        name,
        preset: 'spiffe',
        issuer: k8s.url,
        audience: AUD,
        // Any SPIFFE ID: what refuses another trust domain below is the trust domain, not this.
        boundClaims: { sub: 'spiffe://*' },
        jwks: bundle,
        ...extra,
      });
    const m = await spiffe('/federation/svid-no-iss', { trustDomain: 'example.org' });
    expect(m.status, JSON.stringify(m.body)).toBe(201);
    expect(m.body.authMethod.oidcFederation.trustDomain).toBe('example.org');
    const id = m.body.authMethod.id;
    const n = nowS();
    // What a SPIRE agent hands out with no `jwt_issuer` configured: sub, aud, exp, iat; no iss.
    const svid = (sub: string, over: Record<string, unknown> = {}) => ({
      sub,
      aud: [AUD],
      iat: n,
      exp: n + 300,
      ...over,
    });
    const ok = await auth(id, await k8s.mint(svid('spiffe://example.org/ns/payments/sa/api')));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await lastAudit('auth.succeeded')).data.federation).toEqual({
      issuer: k8s.url,
      subject: 'spiffe://example.org/ns/payments/sa/api',
      matchedClaims: { sub: 'spiffe://example.org/ns/payments/sa/api' },
    });
    // Another trust domain, a look-alike one, a bare trust domain ID, dot segments, not a SPIFFE ID.
    for (const sub of [
      'spiffe://evil.org/ns/payments/sa/api',
      'spiffe://example.org.evil.org/ns/payments',
      'spiffe://example.org',
      'spiffe://example.org/',
      'spiffe://example.org/ns/../sa/api',
      'spiffe://EXAMPLE.org/ns/payments',
    ])
      await refusedWith(id, await k8s.mint(svid(sub)), 'federation_claim_mismatch');
    // Everything else is checked as for any token: audience, exp, signature.
    await refusedWith(
      id,
      await k8s.mint(svid('spiffe://example.org/a', { aud: ['someone-else'] })),
      'federation_wrong_audience',
    );
    await refusedWith(
      id,
      await k8s.mint(svid('spiffe://example.org/a', { exp: undefined })),
      'federation_missing_claim',
    );
    await refusedWith(
      id,
      await k8s.mint(svid('spiffe://example.org/a', { exp: n - 120 })),
      'federation_expired',
    );
    const stranger = await generateKeyPair('RS256');
    const forged = await new SignJWT(svid('spiffe://example.org/a'))
      .setProtectedHeader({ alg: 'RS256', kid: k8s.jwks().keys[0]?.kid as string })
      .sign(stranger.privateKey);
    await refusedWith(id, forged, 'federation_bad_signature');
    // A token that does carry an iss must carry the method's, as before.
    await refusedWith(
      id,
      await k8s.mint(svid('spiffe://example.org/a', { iss: 'https://other.example' })),
      'federation_unknown_issuer',
    );
    // A spiffe method with no trust domain, and a github-actions method, refuse tokens without iss.
    const noDomain = await spiffe('/federation/svid-no-domain');
    expect(noDomain.status).toBe(201);
    await refusedWith(
      noDomain.body.authMethod.id,
      await k8s.mint(svid('spiffe://example.org/a')),
      'federation_unknown_issuer',
    );
    const gha = await admin('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: '/federation/gha-no-iss',
      preset: 'github-actions',
      issuer: gh.url,
      audience: AUD,
      boundClaims: { repository: 'acme/*' },
      jwks: gh.jwks(),
    });
    expect(gha.status).toBe(201);
    const { iss: _iss, ...noIss } = githubActionsClaims(gh.url, AUD, n);
    await refusedWith(gha.body.authMethod.id, await gh.mint(noIss), 'federation_unknown_issuer');
    // trustDomain is the spiffe preset's, and must be a trust domain name.
    expect(
      (await admin('PATCH', `/v1/auth-methods/${gha.body.authMethod.id}`, { trustDomain: 'example.org' }))
        .status,
    ).toBe(400);
    expect(
      (await spiffe('/federation/svid-bad-domain', { trustDomain: 'spiffe://example.org' })).status,
    ).toBe(400);
    expect((await spiffe('/federation/svid-bad-domain2', { trustDomain: 'Example.org' })).status).toBe(400);
  });

  it('a spiffe method with no issuer: its bundle from a SPIFFE bundle endpoint, cached for the refresh hint, rotation followed, stale bounded', async () => {
    // A SPIRE-like server: the trust domain's bundle at /bundle (jwt-svid keys, refresh hint 300 s).
    const spire = await new TestIssuer('ES256').start();
    try {
      spire.refreshHint = 300;
      const endpoint = `${spire.url}/bundle`;
      const m = await admin('POST', '/v1/auth-methods', {
        type: 'oidc_federation',
        name: '/federation/svid-endpoint',
        preset: 'spiffe',
        trustDomain: 'example.org',
        bundleEndpoint: endpoint,
        audience: AUD,
        boundClaims: { sub: 'spiffe://example.org/ns/payments/*' },
      });
      expect(m.status, JSON.stringify(m.body)).toBe(201);
      expect(m.body.authMethod.oidcFederation).toMatchObject({
        issuer: null,
        trustDomain: 'example.org',
        bundleEndpoint: endpoint,
        pinnedJwks: false,
      });
      const id = m.body.authMethod.id;
      const svid = (over: Record<string, unknown> = {}) =>
        spire.mint({
          sub: 'spiffe://example.org/ns/payments/sa/api',
          aud: [AUD],
          iat: nowS(),
          exp: nowS() + 300,
          ...over,
        });
      const hits = () => spire.hits['/bundle'] ?? 0;
      // No iss, and (the method naming no issuer) any iss: the trust domain of sub is what counts.
      expect((await auth(id, await svid())).status).toBe(200);
      expect((await auth(id, await svid({ iss: 'https://spire.example.org' }))).status).toBe(200);
      expect((await lastAudit('auth.succeeded')).data.federation.issuer).toBe('spiffe://example.org');
      await refusedWith(
        id,
        await svid({ sub: 'spiffe://evil.org/ns/payments/sa/api' }),
        'federation_claim_mismatch',
      );
      expect(hits()).toBe(1); // cached
      // Fresh for the refresh hint: refetched once it has passed, not before.
      s.clock.advance(299);
      await relogin();
      expect((await auth(id, await svid())).status).toBe(200);
      expect(hits()).toBe(1);
      s.clock.advance(2);
      expect((await auth(id, await svid())).status).toBe(200);
      expect(hits()).toBe(2);
      // Key rotation: a JWT-SVID signed by the new key (unknown kid) makes the cache refetch.
      s.clock.advance(11);
      const beforeRotation = await svid();
      await spire.rotate();
      expect((await auth(id, await svid())).status).toBe(200);
      expect(hits()).toBe(3);
      // The old key is gone from the bundle: a token it signed is refused (and, within the least
      // refresh interval, its unknown kid does not make the cache fetch again); a token signed by
      // another key under the current kid too.
      await refusedWith(id, beforeRotation, 'federation_unknown_key');
      expect(hits()).toBe(3);
      const stranger = await generateKeyPair('ES256');
      const forged = await new SignJWT({
        sub: 'spiffe://example.org/ns/payments/sa/api',
        aud: [AUD],
        iat: nowS(),
        exp: nowS() + 300,
      })
        .setProtectedHeader({ alg: 'ES256', kid: spire.currentKid })
        .sign(stranger.privateKey);
      await refusedWith(id, forged, 'federation_bad_signature');
      // The endpoint fails: the last bundle keeps serving past its freshness, for a bounded time.
      spire.down = true;
      s.clock.advance(3600);
      await relogin();
      expect((await auth(id, await svid())).status).toBe(200);
      s.clock.advance(25 * 3600);
      await relogin();
      await refusedWith(id, await svid(), 'federation_jwks_unavailable');
      // Back up: the next attempt (past the least refresh interval) fetches it again.
      spire.down = false;
      s.clock.advance(11);
      expect((await auth(id, await svid())).status).toBe(200);
      // Settings: no issuer needs a trust domain and a bundle; the endpoint is the spiffe preset's,
      // an https URL, and not beside a pinned jwks.
      const base = { type: 'oidc_federation', audience: AUD, boundClaims: { sub: 'spiffe://example.org/*' } };
      for (const body of [
        { ...base, name: '/f/svid-no-domain', preset: 'spiffe', bundleEndpoint: endpoint },
        { ...base, name: '/f/svid-no-bundle', preset: 'spiffe', trustDomain: 'example.org' },
        { ...base, name: '/f/gha-endpoint', preset: 'github-actions', bundleEndpoint: endpoint },
        {
          ...base,
          name: '/f/svid-http',
          preset: 'spiffe',
          trustDomain: 'example.org',
          bundleEndpoint: 'http://spire.example.org/bundle',
        },
        {
          ...base,
          name: '/f/svid-both',
          preset: 'spiffe',
          trustDomain: 'example.org',
          bundleEndpoint: endpoint,
          jwks: spire.jwks(),
        },
        { ...base, name: '/f/svid-nothing', preset: 'kubernetes' },
      ]) {
        const r = await admin('POST', '/v1/auth-methods', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
      }
    } finally {
      await spire.close();
    }
  });

  it('refuses unsafe settings at creation', async () => {
    const base = {
      type: 'oidc_federation',
      issuer: gh.url,
      audience: AUD,
      boundClaims: { repository: 'acme/*' },
    };
    const bad = [
      { ...base, name: '/f/none', algorithms: ['none'] },
      { ...base, name: '/f/hs', algorithms: ['HS256'] },
      { ...base, name: '/f/nobound', boundClaims: {} },
      { ...base, name: '/f/http', issuer: 'http://issuer.example' },
      { ...base, name: '/f/noaud', audience: undefined },
      { ...base, name: '/f/private', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } },
      { ...base, name: '/f/preset', preset: 'nope' },
    ];
    // Federation settings on another kind are refused, not silently dropped.
    bad.push({ type: 'universal_identity', name: '/f/uid', issuer: gh.url } as never);
    for (const body of bad) {
      const r = await admin('POST', '/v1/auth-methods', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    }
  });
});
