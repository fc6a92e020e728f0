import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/**
 * A real local OIDC issuer for the federation tests (issue 13): discovery and JWKS over HTTP
 * (node:http), tokens signed with jose, keys rotated on demand (a new `kid`).
 */
export class TestIssuer {
  url = '';
  private server: Server | null = null;
  private keys: { kid: string; alg: string; privateKey: CryptoKey; publicJwk: JWK }[] = [];
  /** Requests served, by path (to observe the cache's fetches). */
  hits: Record<string, number> = {};
  /** When set, discovery and JWKS answer 503 (an issuer outage). */
  down = false;
  /** `spiffe_refresh_hint` of the SPIFFE bundle served at `/bundle`, in seconds. */
  refreshHint = 300;
  private sequence = 0;

  constructor(private readonly alg: 'RS256' | 'ES256' = 'RS256') {}

  async start(): Promise<this> {
    await this.rotate();
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      this.hits[path] = (this.hits[path] ?? 0) + 1;
      if (this.down) {
        res.writeHead(503).end();
        return;
      }
      const send = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (path === '/.well-known/openid-configuration')
        send({
          issuer: this.url,
          jwks_uri: `${this.url}/keys`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: [this.alg],
        });
      else if (path === '/keys') send(this.jwks());
      else if (path === '/bundle') send(this.spiffeBundle());
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })) };
  }

  /**
   * The same keys as a SPIFFE trust bundle (SPIFFE Trust Domain and Bundle §4), as a SPIFFE bundle
   * endpoint serves it: `use: jwt-svid` signing keys, a refresh hint and a sequence number.
   */
  spiffeBundle() {
    return {
      spiffe_sequence: this.sequence,
      spiffe_refresh_hint: this.refreshHint,
      keys: this.keys.map((k) => ({ ...k.publicJwk, kid: k.kid, use: 'jwt-svid' })),
    };
  }

  /** A new signing key with a new kid; the previous key stops being published (hard rotation). */
  async rotate(): Promise<string> {
    const pair = await generateKeyPair(this.alg, { extractable: true });
    const kid = randomUUID();
    this.sequence++;
    this.keys = [
      {
        kid,
        alg: this.alg,
        privateKey: pair.privateKey as CryptoKey,
        publicJwk: await exportJWK(pair.publicKey),
      },
    ];
    return kid;
  }

  get currentKid(): string {
    return this.keys[0]!.kid;
  }

  /** Signs claims with the current key; `header` overrides the protected header. */
  async mint(
    claims: Record<string, unknown>,
    opts: { header?: Record<string, unknown>; key?: CryptoKey } = {},
  ): Promise<string> {
    const k = this.keys[0]!;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.alg, kid: k.kid, typ: 'JWT', ...opts.header })
      .sign(opts.key ?? k.privateKey);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** GitHub Actions' documented OIDC claim set (a push to main of acme/app, environment production). */
export function githubActionsClaims(
  iss: string,
  aud: string,
  nowS: number,
  over: Record<string, unknown> = {},
) {
  const repository = (over.repository as string | undefined) ?? 'acme/app';
  return {
    jti: randomUUID(),
    sub: `repo:${repository}:environment:production`,
    aud,
    ref: 'refs/heads/main',
    sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    repository,
    repository_owner: repository.split('/')[0],
    repository_owner_id: '1001',
    repository_id: '2002',
    repository_visibility: 'private',
    run_id: '123456789',
    run_number: '42',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    actor: 'octocat',
    actor_id: '3003',
    workflow: 'deploy',
    workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
    event_name: 'push',
    ref_type: 'branch',
    ref_protected: 'true',
    environment: 'production',
    iss,
    nbf: nowS - 5,
    iat: nowS - 5,
    exp: nowS + 300,
    ...over,
  };
}

/** GitLab CI's documented ID token claim set. */
export function gitlabClaims(iss: string, aud: string, nowS: number, over: Record<string, unknown> = {}) {
  return {
    namespace_id: '72',
    namespace_path: 'acme',
    project_id: '20',
    project_path: 'acme/api',
    user_id: '1',
    user_login: 'deployer',
    user_email: 'deployer@example.test',
    pipeline_id: '574',
    pipeline_source: 'push',
    job_id: '302',
    ref: 'main',
    ref_type: 'branch',
    ref_path: 'refs/heads/main',
    ref_protected: 'true',
    environment: 'production',
    environment_protected: 'true',
    deployment_tier: 'production',
    runner_id: 1,
    runner_environment: 'gitlab-hosted',
    sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    project_visibility: 'private',
    ci_config_ref_uri: 'gitlab.example.test/acme/api//.gitlab-ci.yml@refs/heads/main',
    jti: randomUUID(),
    iss,
    iat: nowS - 5,
    nbf: nowS - 10,
    exp: nowS + 300,
    sub: 'project_path:acme/api:ref_type:branch:ref:main',
    aud,
    ...over,
  };
}

/** A Kubernetes projected service-account token's claim set (TokenRequest API). */
export function kubernetesClaims(iss: string, aud: string, nowS: number, over: Record<string, unknown> = {}) {
  return {
    aud: [aud],
    exp: nowS + 3600,
    iat: nowS - 5,
    nbf: nowS - 5,
    iss,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: 'payments',
      node: { name: 'node-1', uid: '7b0d3f3e-0000-4000-8000-000000000001' },
      pod: { name: 'api-5d8f7c9b6-x2x4z', uid: '7b0d3f3e-0000-4000-8000-000000000002' },
      serviceaccount: { name: 'api', uid: '7b0d3f3e-0000-4000-8000-000000000003' },
      warnafter: nowS + 3000,
    },
    sub: 'system:serviceaccount:payments:api',
    ...over,
  };
}
