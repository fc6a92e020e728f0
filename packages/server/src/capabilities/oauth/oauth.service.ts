import type { AuditActor } from '../../core/audit/audit.model.js';
import type { FailureLimiter } from '../../core/auth/failure-limiter.js';
import type {
  AuthFailureReason,
  ReadOnlyAuthMethodHandler,
} from '../../core/auth-methods/auth-method.registry.js';
import {
  type AuthMethod,
  isOAuthClient,
  type OAuthClientSettings,
  TLS_CLIENT_AUTH_METHODS,
  type TrustedIssuer,
} from '../../core/auth-methods/auth-methods.model.js';
import { refuseReason } from '../../core/auth-methods/method-checks.js';
import type { SessionClaims } from '../../core/sessions/sessions.model.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { RequestContext } from '../../core/shared/context.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../../core/shared/unit-of-work.js';
import type {
  AssertionFailure,
  DpopCheck,
  DpopFailure,
  GrantAssertionFailure,
  ReplayKey,
} from '../../crypto/jose-verify.js';
import {
  CIBA_GRANT,
  type ClientCredentials,
  invalidClient,
  JWT_BEARER_GRANT,
  OAuthError,
  TOKEN_EXCHANGE_GRANT,
} from './oauth.model.js';
import { type CibaDeps, createCiba } from './oauth-ciba.js';
import { createTokenExchange } from './oauth-exchange.js';
import { applyTargets, checkTargets } from './oauth-resource-servers.js';

export type OAuthClient = AuthMethod & { settings: OAuthClientSettings };

export interface OAuthServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  sessions: SessionsService;
  secretHandler: ReadOnlyAuthMethodHandler;
  /** Failed client authentications per source and per client (FailureLimiter keys are prefixed). */
  limiter: FailureLimiter;
  /**
   * Access tokens issued per client per window (client_credentials, token exchange, JWT-bearer;
   * keys `oauth-issued:<client>`); absent: no cap (ADR 0039).
   */
  issueLimiter?: FailureLimiter;
  /**
   * RFC 7523 §3 with the client's registered keys: inline (`jwks`) or published (`jwksUri`, fetched
   * and cached outside any transaction; `client_jwks_unavailable` when no usable set is known).
   */
  verifyAssertion(
    assertion: string,
    client: { clientId: string; jwks: { keys: Record<string, unknown>[] }; jwksUri: string | null },
  ): Promise<
    { ok: true; replay: ReplayKey } | { ok: false; reason: AssertionFailure | 'client_jwks_unavailable' }
  >;
  checkDpop(
    proof: string,
    expected: DpopCheck,
  ): Promise<{ ok: true; jkt: string; replay: ReplayKey } | { ok: false; reason: DpopFailure }>;
  nonces: { current(): string; isValid(nonce: string): boolean };
  /** RFC 7523 §2.1/§3: an assertion from one of `issuers` (the client's trusted issuers). */
  verifyGrantAssertion(
    assertion: string,
    issuers: readonly TrustedIssuer[],
  ): Promise<
    | { ok: true; issuer: string; subject: string; replay: ReplayKey }
    | { ok: false; reason: GrantAssertionFailure }
  >;
  /** Whether the client's roles grant `scope` (`read` on `scope:/<scope>`): a token carries no other. */
  scopeGranted(client: OAuthClient, scope: string): Promise<boolean>;
  /**
   * RFC 8705 §2: why the client certificate does not authenticate `client` (registered with a
   * `tls_client_auth*` method), or null when it does. Reads only.
   */
  checkTlsClient(
    r: ReadRepos,
    client: OAuthClient,
    presented: Extract<ClientCredentials, { kind: 'tls_client_certificate' }>,
  ): Promise<AuthFailureReason | null>;
  config: { issuer: string; tokenEndpoint: string; audience: string };
  /** CIBA (issue 14): present when the approvals and people capabilities are composed. */
  ciba?: CibaDeps;
  /** Token exchange of a federated workload JWT (issue 13); see `createTokenExchange`. */
  federatedSubject?: Parameters<typeof createTokenExchange>[0]['federatedSubject'];
  /** Whether `resource` is the gateway URL of an MCP server (a resource server implicitly, ADR 0038). */
  isMcpAudience: (r: ReadRepos, resource: string) => Promise<boolean>;
}

export interface TokenRequest {
  params: Readonly<Record<string, string>>;
  resources: readonly string[];
  credentials: ClientCredentials;
  dpopProof: string | undefined;
}

export interface TokenResponse {
  access_token: string;
  issued_token_type?: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope?: string;
}

/** A client that proved who it is; an assertion's `jti` is still to be consumed (`replay`). */
export interface AuthenticatedClient {
  client: OAuthClient;
  credentialRef: string;
  replay: ReplayKey | null;
  presented: ClientCredentials;
  claimedId: string | null;
  endpoint: string;
}

export type AuditFn = (
  r: Repos,
  type: string,
  outcome: 'success' | 'failure' | 'denied',
  actor: AuditActor,
  ctx: RequestContext,
  data: Record<string, unknown>,
  reason?: string,
) => Promise<unknown>;

/** RFC 7662 §2.2: an active token's claims. */
function activeAnswer(claims: SessionClaims) {
  return {
    active: true,
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    client_id: claims.client_id,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    token_type: claims.cnf?.jkt ? 'DPoP' : 'Bearer',
    ...(claims.scope ? { scope: claims.scope } : {}),
    ...(claims.cnf ? { cnf: claims.cnf } : {}),
    ...(claims.act ? { act: claims.act } : {}),
  };
}

/** The payload of a JWT, unverified: only to find which client's keys to verify it with. */
function unverifiedSubject(jwt: string): string | null {
  const part = jwt.split('.')[1];
  if (!part || part.length > 8192) return null;
  try {
    const payload = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    return typeof payload.sub === 'string' && payload.sub.length <= 64 ? payload.sub : null;
  } catch {
    return null;
  }
}

/**
 * The OAuth 2 authorization server's logic (issue 12): client authentication, the
 * `client_credentials` grant with resource indicators, scopes and DPoP, introspection and
 * revocation. Every token issued or refused is audited with its precise reason.
 */
export function createOAuthService(deps: OAuthServiceDeps) {
  const { uow, clock, credentials, sessions, limiter, config } = deps;

  const audit: AuditFn = (
    r: Repos,
    type: string,
    outcome: 'success' | 'failure' | 'denied',
    actor: AuditActor,
    ctx: RequestContext,
    data: Record<string, unknown>,
    reason?: string,
  ) =>
    r.audit.append(
      { type, outcome, actor, ...(reason ? { reason } : {}), resource: '/oauth/token', data },
      ctx,
      clock.nowMs(),
    );

  function rateLimited(clientId: string | null, ip: string): boolean {
    return (
      limiter.isBlocked(`oauth-src:${ip}`) ||
      (clientId !== null && limiter.isBlocked(`oauth-client:${clientId}`))
    );
  }

  type Outcome =
    | { ok: true; client: OAuthClient; credentialRef: string }
    | { ok: false; reason: AuthFailureReason; actor: AuditActor };

  /** Audits a failed client authentication, counts it, and throws the uniform `invalid_client`. */
  async function clientAuthFailed(
    reason: AuthFailureReason,
    actor: AuditActor,
    presented: ClientCredentials,
    claimedId: string | null,
    ctx: RequestContext,
    endpoint: string,
    r?: Repos,
  ): Promise<never> {
    const record = (repos: Repos) =>
      audit(
        repos,
        'oauth.client_auth_failed',
        'failure',
        actor,
        ctx,
        { endpoint, method: presented.kind },
        reason,
      );
    await (r ? record(r) : uow.write(record));
    limiter.recordFailure(`oauth-src:${ctx.sourceIp}`);
    if (claimedId) limiter.recordFailure(`oauth-client:${claimedId}`);
    throw invalidClient(reason);
  }

  /**
   * Authenticates the client at any endpoint; throws a uniform `invalid_client` (401) after
   * auditing the precise reason. Reads only: an assertion's `jti` is returned as a replay key for
   * the caller to consume in the transaction that acts on it (`spend`).
   */
  async function authenticateClient(
    presented: ClientCredentials,
    ctx: RequestContext,
    endpoint: string,
  ): Promise<AuthenticatedClient> {
    const claimedId =
      presented.kind === 'client_assertion'
        ? (presented.clientId ?? unverifiedSubject(presented.assertion))
        : presented.clientId;
    if (rateLimited(claimedId, ctx.sourceIp)) {
      await uow.write((r) =>
        audit(
          r,
          'oauth.rate_limited',
          'denied',
          { authMethodId: null },
          ctx,
          { endpoint },
          'too_many_failures',
        ),
      );
      throw new OAuthError('invalid_request', 'Too many failed client authentications; retry later.', 429);
    }
    const outcome = await uow.read(async (r): Promise<Outcome> => {
      const fail = (reason: AuthFailureReason, actor: AuditActor): Outcome => ({ ok: false, reason, actor });
      let client: OAuthClient;
      let credentialRef: string;
      if (presented.kind === 'none') return fail('unknown_client', { authMethodId: null });
      if (presented.kind === 'client_secret') {
        const result = await deps.secretHandler.authenticate(
          r,
          {
            accessType: 'oauth_client',
            credential: {
              kind: 'client_secret',
              clientId: presented.clientId,
              clientSecret: presented.secret,
            },
          },
          ctx,
        );
        if (!result.ok) return fail(result.reason, result.actor);
        client = result.subject.method as OAuthClient;
        credentialRef = result.subject.credentialRef;
        if (client.settings.tokenEndpointAuthMethod !== presented.via)
          return fail('wrong_client_auth_method', { authMethodId: client.id });
      } else if (presented.kind === 'tls_client_certificate') {
        credentialRef = `x5t#S256:${presented.thumbprint}`;
        const method = await r.authMethods.get(presented.clientId.slice(0, 64));
        const actor = { authMethodId: method?.id ?? null, credentialRef };
        if (!method || !isOAuthClient(method)) return fail('unknown_client', actor);
        if (!TLS_CLIENT_AUTH_METHODS.includes(method.settings.tokenEndpointAuthMethod))
          return fail('wrong_client_auth_method', actor);
        const refused = await deps.checkTlsClient(r, method, presented);
        if (refused) return fail(refused, actor);
        client = method;
      } else {
        credentialRef = credentials.auditRef(presented.assertion);
        const method = claimedId ? await r.authMethods.get(claimedId) : null;
        const actor = { authMethodId: method?.id ?? null, credentialRef };
        if (!method || !isOAuthClient(method)) return fail('unknown_client', actor);
        if (method.settings.tokenEndpointAuthMethod !== 'private_key_jwt')
          return fail('wrong_client_auth_method', actor);
        if (presented.clientId !== null && presented.clientId !== unverifiedSubject(presented.assertion))
          return fail('assertion_wrong_issuer', actor);
        client = method;
      }
      const refused = await refuseReason(r, client, { identityId: client.identityId }, ctx, clock.nowMs());
      if (refused)
        return fail(refused, { authMethodId: client.id, identityId: client.identityId, credentialRef });
      return { ok: true, client, credentialRef };
    });
    if (!outcome.ok)
      return clientAuthFailed(outcome.reason, outcome.actor, presented, claimedId, ctx, endpoint);
    const { client, credentialRef } = outcome;
    let replay: ReplayKey | null = null;
    if (presented.kind === 'client_assertion') {
      const checked = await deps.verifyAssertion(presented.assertion, {
        clientId: client.id,
        jwks: client.settings.jwks ?? { keys: [] },
        jwksUri: client.settings.jwksUri ?? null,
      });
      if (!checked.ok)
        return clientAuthFailed(
          checked.reason,
          { authMethodId: client.id, credentialRef },
          presented,
          claimedId,
          ctx,
          endpoint,
        );
      replay = checked.replay;
    }
    ctx.actor = { identityId: client.identityId, authMethodId: client.id };
    return { client, credentialRef, replay, presented, claimedId, endpoint };
  }

  /**
   * Consumes an authenticated client's assertion `jti` in `r` (the transaction that acts on it):
   * false when it was spent already, after auditing the replay as a failed authentication.
   */
  async function spent(r: Repos, auth: AuthenticatedClient, ctx: RequestContext): Promise<boolean> {
    if (!auth.replay || (await r.oauthOneTimeKeys.consume(auth.replay.key, auth.replay.ttlSeconds)))
      return false;
    await audit(
      r,
      'oauth.client_auth_failed',
      'failure',
      { authMethodId: auth.client.id, credentialRef: auth.credentialRef },
      ctx,
      { endpoint: auth.endpoint, method: auth.presented.kind },
      'assertion_replayed',
    );
    return true;
  }

  /** After a transaction found the assertion spent: count the failure and answer `invalid_client`. */
  function replayed(auth: AuthenticatedClient, ctx: RequestContext): never {
    limiter.recordFailure(`oauth-src:${ctx.sourceIp}`);
    if (auth.claimedId) limiter.recordFailure(`oauth-client:${auth.claimedId}`);
    throw invalidClient('assertion_replayed');
  }

  /** Consumes the assertion in a transaction of its own (introspection, revocation, exchange). */
  async function spend(auth: AuthenticatedClient, ctx: RequestContext): Promise<void> {
    if (auth.replay && (await uow.write((r) => spent(r, auth, ctx)))) replayed(auth, ctx);
  }

  /** Audits a refused token request of an authenticated client, then throws its OAuth error. */
  async function refuse(
    client: OAuthClient,
    ctx: RequestContext,
    error: OAuthError,
    data: Record<string, unknown> = {},
  ): Promise<never> {
    await uow.write((r) =>
      audit(
        r,
        'oauth.token_refused',
        'denied',
        { authMethodId: client.id, identityId: client.identityId },
        ctx,
        data,
        String(error.reason),
      ),
    );
    throw error;
  }

  const exchange = createTokenExchange({
    uow,
    clock,
    sessions,
    refuse,
    audit,
    targets: (resources) => uow.read((r) => checkTargets(r, resources, deps.isMcpAudience)),
    ...(deps.federatedSubject ? { federatedSubject: deps.federatedSubject } : {}),
  });

  /**
   * The scopes of a `client_credentials` token: those asked for, each registered for the client and
   * granted by its roles (else `invalid_scope`); without `scope`, the registered scopes its roles
   * grant (RFC 6749 §3.3: the response then names them).
   */
  async function grantedScopes(
    client: OAuthClient,
    requested: string | undefined,
  ): Promise<string[] | OAuthError> {
    const granted = async (scopes: readonly string[]) => {
      const allowed = await Promise.all(scopes.map((s) => deps.scopeGranted(client, s)));
      return scopes.filter((_, i) => allowed[i]);
    };
    if (requested === undefined) return granted(client.settings.scopes);
    const scopes = [...new Set(requested.split(' ').filter(Boolean))];
    if (scopes.length === 0 || requested.length > 2048)
      return new OAuthError('invalid_scope', 'The scope is empty or too long.', 400, 'scope_malformed');
    const unknown = scopes.find((s) => !client.settings.scopes.includes(s));
    if (unknown !== undefined)
      return new OAuthError(
        'invalid_scope',
        'A requested scope is not allowed for this client.',
        400,
        'scope_not_allowed',
      );
    if ((await granted(scopes)).length !== scopes.length)
      return new OAuthError(
        'invalid_scope',
        'A requested scope is not granted to this client by its roles.',
        400,
        'scope_not_granted',
      );
    return scopes;
  }

  /** RFC 6749 §5.2 `unauthorized_client`: a grant type the client's registration does not list. */
  async function grantAllowed(client: OAuthClient, grantType: string, ctx: RequestContext) {
    const allowed = client.settings.grantTypes;
    if (allowed && !allowed.includes(grantType))
      await refuse(
        client,
        ctx,
        new OAuthError(
          'unauthorized_client',
          'This client may not use this grant type.',
          400,
          'grant_type_not_allowed',
        ),
        { grantType },
      );
  }

  /**
   * The per-client cap on issued tokens: 429 `invalid_request` with the window's `Retry-After`
   * (as the failure limiter answers; ADR 0039), audited as `oauth.rate_limited`.
   */
  async function underTokenCap(client: OAuthClient, grantType: string, ctx: RequestContext) {
    const key = `oauth-issued:${client.id}`;
    if (!deps.issueLimiter?.isBlocked(key)) return;
    const retryAfterSeconds = deps.issueLimiter.retryAfterSeconds(key);
    await uow.write((r) =>
      audit(
        r,
        'oauth.rate_limited',
        'denied',
        { authMethodId: client.id, identityId: client.identityId },
        ctx,
        { endpoint: 'token', grantType, retryAfterSeconds },
        'token_cap_reached',
      ),
    );
    throw new OAuthError(
      'invalid_request',
      'Too many tokens issued to this client; retry later.',
      429,
      'token_cap_reached',
      retryAfterSeconds,
    );
  }

  const ciba = deps.ciba
    ? createCiba({
        ...deps.ciba,
        uow,
        clock,
        sessions,
        grantAllowed,
        audit,
        authenticateClient,
        spend,
        refuse,
        grantedScopes,
        consumeOnce: (key, ttl) => uow.write((r) => r.oauthOneTimeKeys.consume(key, ttl)),
      })
    : null;

  async function token(request: TokenRequest, ctx: RequestContext): Promise<TokenResponse> {
    const grantType = request.params.grant_type;
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required.');
    if (grantType === CIBA_GRANT && ciba) return ciba.token(request.params, request.credentials, ctx);
    if (
      grantType !== 'client_credentials' &&
      grantType !== TOKEN_EXCHANGE_GRANT &&
      grantType !== JWT_BEARER_GRANT
    )
      throw new OAuthError(
        'unsupported_grant_type',
        'Supported: client_credentials, token exchange and the JWT-bearer grant.',
      );
    const auth = await authenticateClient(request.credentials, ctx, 'token');
    const { client, credentialRef } = auth;
    await grantAllowed(client, grantType, ctx);
    await underTokenCap(client, grantType, ctx);

    let jkt: string | null = null;
    let proofReplay: ReplayKey | null = null;
    if (request.dpopProof !== undefined) {
      const proof = await deps.checkDpop(request.dpopProof, {
        method: 'POST',
        // Only the published endpoint: the request's Host header is the client's to choose, and a
        // proof made for another server's token endpoint must not be replayable here.
        urls: [config.tokenEndpoint],
        nowMs: clock.nowMs(),
        nonceValid: deps.nonces.isValid,
      });
      if (!proof.ok) {
        if (proof.reason === 'nonce_required')
          await refuse(
            client,
            ctx,
            new OAuthError(
              'use_dpop_nonce',
              'Authorization server requires nonce in DPoP proof.',
              400,
              'dpop_nonce_required',
            ),
          );
        await refuse(
          client,
          ctx,
          new OAuthError('invalid_dpop_proof', 'The DPoP proof is invalid.', 400, `dpop_${proof.reason}`),
        );
      } else {
        jkt = proof.jkt;
        proofReplay = proof.replay;
      }
    } else if (client.settings.dpopBoundAccessTokens) {
      await refuse(
        client,
        ctx,
        new OAuthError('invalid_request', 'This client must send a DPoP proof.', 400, 'dpop_proof_missing'),
      );
    }

    if (grantType === TOKEN_EXCHANGE_GRANT) {
      await spend(auth, ctx);
      if (
        proofReplay &&
        !(await uow.write((r) => r.oauthOneTimeKeys.consume(proofReplay.key, proofReplay.ttlSeconds)))
      )
        await refuse(
          client,
          ctx,
          new OAuthError('invalid_dpop_proof', 'The DPoP proof was used before.', 400, 'dpop_replayed'),
        );
      const exchanged = await exchange(client, credentialRef, request, jkt, ctx);
      deps.issueLimiter?.record(`oauth-issued:${client.id}`);
      return exchanged;
    }

    // RFC 7523 §2.1: an assertion from an issuer the client trusts; the token is still the
    // client's (its identity, its roles), and records whom the assertion named.
    let grantAssertion: { issuer: string; subject: string; replay: ReplayKey } | null = null;
    if (grantType === JWT_BEARER_GRANT) {
      const assertion = request.params.assertion;
      if (!assertion) await refuse(client, ctx, new OAuthError('invalid_request', 'assertion is required.'));
      const checked = await deps.verifyGrantAssertion(assertion!, client.settings.trustedIssuers ?? []);
      if (!checked.ok)
        await refuse(
          client,
          ctx,
          new OAuthError(
            'invalid_grant',
            'The assertion is not valid.',
            400,
            `grant_assertion_${checked.reason}`,
          ),
        );
      else grantAssertion = checked;
    }

    const scopes = await grantedScopes(client, request.params.scope);
    if (scopes instanceof OAuthError)
      return refuse(client, ctx, scopes, { scope: request.params.scope?.slice(0, 200) });
    const unknownResource = request.resources.find((res) => !client.settings.resources.includes(res));
    if (unknownResource !== undefined)
      return refuse(
        client,
        ctx,
        new OAuthError(
          'invalid_target',
          'A requested resource is not allowed for this client.',
          400,
          'resource_not_allowed',
        ),
        {
          resource: unknownResource.slice(0, 200),
        },
      );
    const audience = request.resources.length ? request.resources : config.audience;

    // RFC 8705 §3: a client that authenticated with its certificate gets tokens bound to it.
    const certificateBound =
      request.credentials.kind === 'tls_client_certificate' ? request.credentials.thumbprint : null;
    // The resource server registry (ADR 0038): what each target accepts and how its tokens are made.
    const targets = await uow.read((r) => checkTargets(r, request.resources, deps.isMcpAudience));
    if (targets instanceof OAuthError)
      return refuse(client, ctx, targets, { resource: request.resources.join(' ').slice(0, 200) });
    const shaped = applyTargets(targets, scopes, {
      scopeRequested: request.params.scope !== undefined,
      bound: jkt !== null || certificateBound !== null,
    });
    if (shaped instanceof OAuthError)
      return refuse(client, ctx, shaped, { scope: request.params.scope?.slice(0, 200) });
    const tokenScopes = shaped.scopes;
    // One transaction: both single-use values are spent with the token they bought, or neither.
    const issued = await uow.write(async (r) => {
      if (await spent(r, auth, ctx)) return 'assertion_replayed' as const;
      if (proofReplay && !(await r.oauthOneTimeKeys.consume(proofReplay.key, proofReplay.ttlSeconds))) {
        await audit(
          r,
          'oauth.token_refused',
          'denied',
          { authMethodId: client.id, identityId: client.identityId },
          ctx,
          {},
          'dpop_replayed',
        );
        return 'dpop_replayed' as const;
      }
      if (
        grantAssertion &&
        !(await r.oauthOneTimeKeys.consume(grantAssertion.replay.key, grantAssertion.replay.ttlSeconds))
      ) {
        await audit(
          r,
          'oauth.token_refused',
          'denied',
          { authMethodId: client.id, identityId: client.identityId },
          ctx,
          { grantType },
          'grant_assertion_replayed',
        );
        return 'grant_assertion_replayed' as const;
      }
      const session = sessions.issue(
        { method: client, identityId: client.identityId },
        {
          audience,
          scope: tokenScopes,
          ...(shaped.ttlSeconds !== null ? { ttlSeconds: shaped.ttlSeconds } : {}),
          ...(jkt || certificateBound
            ? {
                confirmation: {
                  ...(jkt ? { jkt } : {}),
                  ...(certificateBound ? { 'x5t#S256': certificateBound } : {}),
                },
              }
            : {}),
        },
      );
      await audit(
        r,
        'oauth.token_issued',
        'success',
        {
          authMethodId: client.id,
          identityId: client.identityId,
          credentialRef,
          tokenId: session.claims.jti,
        },
        ctx,
        {
          grantType,
          clientAuth: request.credentials.kind,
          audience,
          scope: tokenScopes,
          ...(targets.registered.length ? { resourceServers: targets.registered.map((t) => t.id) } : {}),
          dpop: jkt !== null,
          certificateBound: certificateBound !== null,
          ...(grantAssertion
            ? { assertion: { iss: grantAssertion.issuer, sub: grantAssertion.subject } }
            : {}),
          expiresAt: new Date(session.expiresAtMs).toISOString(),
        },
      );
      return session;
    });
    if (issued === 'assertion_replayed') replayed(auth, ctx);
    if (issued === 'grant_assertion_replayed')
      throw new OAuthError(
        'invalid_grant',
        'The assertion was used before.',
        400,
        'grant_assertion_replayed',
      );
    if (issued === 'dpop_replayed')
      throw new OAuthError('invalid_dpop_proof', 'The DPoP proof was used before.', 400, 'dpop_replayed');
    deps.issueLimiter?.record(`oauth-issued:${client.id}`);
    return {
      access_token: issued.token,
      token_type: jkt ? 'DPoP' : 'Bearer',
      expires_in: Math.max(0, Math.floor((issued.expiresAtMs - clock.nowMs()) / 1000)),
      ...(tokenScopes.length ? { scope: tokenScopes.join(' ') } : {}),
    };
  }

  /** Whether `client` may learn about (or revoke) a token: its own tokens. */
  const owns = (client: OAuthClient, claims: SessionClaims) => claims.client_id === client.id;

  return {
    /** CIBA §7.1 (`/oauth/bc-authorize`); unsupported without the approvals capability. */
    backchannel(
      params: Readonly<Record<string, string>>,
      credentials: ClientCredentials,
      ctx: RequestContext,
    ) {
      if (!ciba) throw new OAuthError('invalid_request', 'CIBA is not enabled on this server.', 404);
      return ciba.backchannel(params, credentials, ctx);
    },
    token,
    authenticateClient,
    /** RFC 7662: `{active:false}` for anything not active or not the caller's. */
    async introspect(
      params: Readonly<Record<string, string>>,
      presented: ClientCredentials,
      ctx: RequestContext,
    ) {
      const raw = params.token;
      if (!raw) throw new OAuthError('invalid_request', 'token is required.');
      const auth = await authenticateClient(presented, ctx, 'introspect');
      await spend(auth, ctx);
      const { client } = auth;
      const claims = await sessions.introspect(raw);
      return claims && owns(client, claims) ? activeAnswer(claims) : { active: false };
    },
    /**
     * RFC 7662 for an administrator's session instead of a client: any token whose client the
     * caller may read (`read` on the client's auth method, through its roles).
     */
    async introspectForSession(
      params: Readonly<Record<string, string>>,
      mayRead: (clientName: string) => Promise<boolean>,
    ) {
      const raw = params.token;
      if (!raw) throw new OAuthError('invalid_request', 'token is required.');
      const claims = await sessions.introspect(raw);
      if (!claims) return { active: false };
      const method = await uow.read((r) => r.authMethods.get(claims.client_id));
      return method && (await mayRead(method.name)) ? activeAnswer(claims) : { active: false };
    },
    /** RFC 7009: revokes the caller's own token everywhere; anything else is a silent success. */
    async revoke(
      params: Readonly<Record<string, string>>,
      presented: ClientCredentials,
      ctx: RequestContext,
    ) {
      const raw = params.token;
      if (!raw) throw new OAuthError('invalid_request', 'token is required.');
      const auth = await authenticateClient(presented, ctx, 'revoke');
      await spend(auth, ctx);
      const { client } = auth;
      const claims = await sessions.introspect(raw);
      if (!claims || !owns(client, claims)) return;
      await uow.write(async (r) => {
        await sessions.revoke(r, 'token', claims.jti, 'revoked by its client (RFC 7009)');
        await r.audit.append(
          {
            type: 'oauth.token_revoked',
            outcome: 'success',
            actor: { authMethodId: client.id, identityId: client.identityId },
            resource: '/oauth/revoke',
            data: { tokenId: claims.jti },
          },
          ctx,
          clock.nowMs(),
        );
      });
    },
    /** A fresh DPoP nonce (RFC 9449 §8), for the `DPoP-Nonce` header. */
    currentNonce: () => deps.nonces.current(),
  };
}

export type OAuthService = ReturnType<typeof createOAuthService>;
