import { Type } from '@sinclair/typebox';
import type { AccessService } from '../../core/access/access.service.js';
import { FailureLimiter } from '../../core/auth/failure-limiter.js';
import type { AuthMethodRegistry } from '../../core/auth-methods/auth-method.registry.js';
import { CLIENT_AUTH_METHODS, TLS_CLIENT_AUTH_METHODS } from '../../core/auth-methods/auth-methods.model.js';
import type { AuthMethodsService } from '../../core/auth-methods/auth-methods.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import { systemContext } from '../../core/shared/context.js';
import { outboundUrlRefusal } from '../../core/shared/outbound.js';
import type { ReadRepos } from '../../core/shared/unit-of-work.js';
import {
  certificateHasName,
  isSelfSignedAndCurrent,
  readCertificate,
  registeredCertificateThumbprints,
  verifyIssuedBy,
} from '../../crypto/certificates.js';
import {
  newClientSecret,
  newInitialAccessToken,
  newRegistrationAccessToken,
} from '../../crypto/credentials.js';
import { seal, unseal } from '../../crypto/envelope.js';
import { peekJwt } from '../../crypto/federated-jwt.js';
import {
  ASYMMETRIC_ALGORITHMS,
  createDpopVerifier,
  publicJwksProblem,
  verifyClientAssertion,
  verifyGrantAssertion,
} from '../../crypto/jose-verify.js';
import type { TypedApp } from '../../http/app.js';
import type { CapabilityModule } from '../../platform/module.js';
import { createOutboundFetch } from '../../platform/outbound-fetch.js';
import type { Platform } from '../../platform/platform.js';
import { createJwksCache, type JwksCacheOptions } from '../federation/jwks-cache.js';
import {
  AUTHORIZATION_ENDPOINT_PATH,
  BACKCHANNEL_ENDPOINT_PATH,
  CIBA_GRANT,
  INTROSPECTION_ENDPOINT_PATH,
  JWT_BEARER_GRANT,
  METADATA_PATH,
  REGISTRATION_ENDPOINT_PATH,
  REVOCATION_ENDPOINT_PATH,
  TOKEN_ENDPOINT_PATH,
  TOKEN_EXCHANGE_GRANT,
} from './oauth.model.js';
import {
  createOAuthClientSecretsRepo,
  createOAuthOneTimeKeysRepo,
  createOAuthRegistrationTokensRepo,
  oauthMigrations,
} from './oauth.repo.js';
import { registerOAuthClientRoutes } from './oauth.routes.js';
import { createOAuthService, type OAuthService } from './oauth.service.js';
import type { CibaDeps } from './oauth-ciba.js';
import { createCibaPing, createCibaPingRepo } from './oauth-ciba-ping.js';
import { createOAuthClientHandler } from './oauth-client.auth-method.js';
import { createOAuthClientsService, type OAuthClientsService } from './oauth-clients.service.js';
import {
  createInitialAccessTokensRepo,
  createInitialAccessTokensService,
  type InitialAccessTokensService,
} from './oauth-initial-tokens.js';
import { registerInitialAccessTokenRoutes } from './oauth-initial-tokens.routes.js';
import { createOAuthRegistration, type OAuthRegistration } from './oauth-registration.js';
import { resourceServerConfigKind } from './oauth-resource-servers.config-kind.js';
import {
  createResourceServersRepo,
  createResourceServersService,
  type ResourceServersService,
} from './oauth-resource-servers.js';
import { registerResourceServerRoutes } from './oauth-resource-servers.routes.js';

/** A client assertion may not live longer than this (RFC 7523 §3 point 4: a bounded `exp`). */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 30;
/** A JWT-bearer grant assertion (RFC 7523 §2.1) may live up to an hour (an IdP's ID-JAG). */
const MAX_GRANT_ASSERTION_LIFETIME_SECONDS = 3600;
/** A DPoP nonce is valid for its window and the one before (RFC 9449 §8). */
const NONCE_WINDOW_MS = 120_000;

const Strings = Type.Array(Type.String());
const MetadataSchema = Type.Object({
  issuer: Type.String(),
  authorization_endpoint: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  introspection_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  registration_endpoint: Type.String(),
  grant_types_supported: Strings,
  response_types_supported: Strings,
  token_endpoint_auth_methods_supported: Strings,
  token_endpoint_auth_signing_alg_values_supported: Strings,
  introspection_endpoint_auth_methods_supported: Strings,
  revocation_endpoint_auth_methods_supported: Strings,
  dpop_signing_alg_values_supported: Strings,
  tls_client_certificate_bound_access_tokens: Type.Boolean(),
  backchannel_authentication_endpoint: Type.Optional(Type.String()),
  backchannel_token_delivery_modes_supported: Type.Optional(Strings),
  backchannel_user_code_parameter_supported: Type.Optional(Type.Boolean()),
  mtls_endpoint_aliases: Type.Optional(
    Type.Object({
      token_endpoint: Type.String(),
      introspection_endpoint: Type.String(),
      revocation_endpoint: Type.String(),
    }),
  ),
});

/**
 * The OAuth 2 authorization server (issue 12): `oauth_client` auth methods, their native API, the
 * token, introspection and revocation endpoints (the `/oauth` door, `oauthDoor`) and RFC 8414
 * metadata. Access tokens are Tessera's session JWTs (RFC 9068).
 */
export function createOAuthModule(
  platform: Platform,
  deps: {
    sessions: SessionsService;
    registry: AuthMethodRegistry;
    authMethods: AuthMethodsService;
    access: AccessService;
    /** CIBA (issue 14), when the approvals and people capabilities are composed. */
    ciba?: CibaDeps;
    /** How clients' `jwksUri` sets are fetched and cached (defaults: see `createJwksCache`). */
    jwks?: Omit<JwksCacheOptions, 'jwksProblem'>;
  },
): CapabilityModule<{
  oauth: OAuthService;
  clients: OAuthClientsService;
  registration: OAuthRegistration;
  resourceServers: ResourceServersService;
  registrationTokens: InitialAccessTokensService;
}> {
  const { uow, clock, config, credentials } = platform;
  // The URLs a client registers (jwks_uri, CIBA ping endpoint) are fetched through the guard.
  const outboundFetch = createOutboundFetch(config.outboundAllow);
  platform.storage.contribute({
    name: 'oauth',
    migrations: oauthMigrations,
    repos: {
      oauthClientSecrets: createOAuthClientSecretsRepo,
      oauthOneTimeKeys: (target) => createOAuthOneTimeKeysRepo(target, clock),
      oauthRegistrationTokens: createOAuthRegistrationTokensRepo,
      cibaPings: createCibaPingRepo,
      oauthResourceServers: createResourceServersRepo,
      oauthInitialAccessTokens: createInitialAccessTokensRepo,
    },
  });
  // CIBA ping mode (ADR 0027): the client's notification token is sealed under the root key.
  const ping = deps.ciba
    ? createCibaPing({
        uow,
        clock,
        fetch: outboundFetch,
        events: platform.events,
        log: platform.log,
        seal: (token, id) => seal(platform.rootKey, Buffer.from(token, 'utf8'), `ciba-ping:${id}`),
        unseal: (sealed, id) => unseal(platform.rootKey, sealed, `ciba-ping:${id}`).toString('utf8'),
        audit: (type, record, data) =>
          uow.write((r) =>
            r.audit.append(
              {
                type,
                outcome: type === 'oauth.ciba_ping_sent' ? 'success' : 'failure',
                actor: { authMethodId: record.clientId },
                resource: `/approvals/${record.authReqId}`,
                ...(type === 'oauth.ciba_ping_failed' ? { reason: String(data.reason) } : {}),
                data: { clientId: record.clientId, endpoint: record.endpoint, ...data },
              },
              systemContext('ciba-ping'),
              clock.nowMs(),
            ),
          ),
      })
    : null;
  const handler = createOAuthClientHandler({
    credentials,
    clock,
    maxSessionTtlSeconds: config.maxSessionTtlSeconds,
    jwksProblem: publicJwksProblem,
    outboundRefusal: (url) => outboundUrlRefusal(url, config.outboundAllow),
  });
  deps.registry.register(handler);
  // A deleted client's secrets go with it, in the same transaction.
  platform.events.within('auth_method.changed', async (r, { authMethodId, change }) => {
    if (change === 'deleted') {
      await r.oauthClientSecrets.deleteOfClient(authMethodId);
      await r.oauthRegistrationTokens.deleteOfClient(authMethodId);
    }
  });

  // Clients' published keys (`jwksUri`): the federation capability's cache, an instance of its own
  // holding public keys only (ADR 0034).
  const jwksCache = createJwksCache(clock, {
    ...deps.jwks,
    jwksProblem: publicJwksProblem,
    fetch: outboundFetch,
  });
  const issuer = config.issuer.replace(/\/+$/, '');
  const tokenEndpoint = `${issuer}${TOKEN_ENDPOINT_PATH}`;
  // Replay keys are consumed by the service inside the transaction that issues the token.
  const dpop = createDpopVerifier({
    consume: (key, ttl) => uow.write((r) => r.oauthOneTimeKeys.consume(key, ttl)),
  });
  // Nonces are a keyed hash of the time window: every server of a cluster issues and accepts the same.
  // Memoised per window: every token request checks a nonce and every answer carries one.
  const nonces = new Map<number, string>();
  const nonceOf = (window: number) => {
    let nonce = nonces.get(window);
    if (nonce === undefined) {
      nonce = credentials.auditRef(`dpop-nonce:${window}`).slice(-32);
      if (nonces.size >= 4) nonces.delete(nonces.keys().next().value as number);
      nonces.set(window, nonce);
    }
    return nonce;
  };
  const windowNow = () => Math.floor(clock.nowMs() / NONCE_WINDOW_MS);
  const oauth = createOAuthService({
    uow,
    clock,
    credentials,
    sessions: deps.sessions,
    secretHandler: handler,
    limiter: new FailureLimiter(clock, config.authFailureLimit, config.authFailureWindowSeconds * 1000),
    ...(config.oauthClientTokenLimit > 0
      ? {
          issueLimiter: new FailureLimiter(
            clock,
            config.oauthClientTokenLimit,
            config.oauthClientTokenWindowSeconds * 1000,
          ),
        }
      : {}),
    async verifyAssertion(assertion, client) {
      const verify = (jwks: { keys: Record<string, unknown>[] }) =>
        verifyClientAssertion(assertion, {
          clientId: client.clientId,
          jwks: jwks as never,
          audiences: [issuer, `${issuer}/`, tokenEndpoint],
          nowMs: clock.nowMs(),
          maxLifetimeSeconds: MAX_ASSERTION_LIFETIME_SECONDS,
          clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
        });
      if (!client.jwksUri) return verify(client.jwks);
      // The assertion's kid picks the set; an unknown one refreshes it (bounded per URI).
      const kid = peekJwt(assertion)?.kid ?? null;
      const published = await jwksCache.keysAt(client.jwksUri, kid);
      if (!published) return { ok: false, reason: 'client_jwks_unavailable' };
      const checked = await verify(published);
      // Without a kid, a rotated key shows as a signature no cached key verifies: refresh once
      // (same bound), and retry only if the set changed.
      if (
        kid === null &&
        !checked.ok &&
        (checked.reason === 'assertion_bad_signature' || checked.reason === 'assertion_unknown_key')
      ) {
        const refreshed = await jwksCache.keysAt(client.jwksUri, null, true);
        if (refreshed && refreshed !== published) return verify(refreshed);
      }
      return checked;
    },
    checkDpop: dpop.check,
    verifyGrantAssertion: (assertion, issuers) =>
      verifyGrantAssertion(assertion, {
        issuers: issuers as never,
        audiences: [issuer, `${issuer}/`, tokenEndpoint],
        nowMs: clock.nowMs(),
        maxLifetimeSeconds: MAX_GRANT_ASSERTION_LIFETIME_SECONDS,
        clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
      }),
    nonces: {
      current: () => nonceOf(windowNow()),
      isValid: (nonce) => nonce === nonceOf(windowNow()) || nonce === nonceOf(windowNow() - 1),
    },
    async checkTlsClient(r, client, presented) {
      const cert = readCertificate(presented.der);
      if (!cert) return 'certificate_untrusted';
      const nowMs = clock.nowMs();
      if (client.settings.tokenEndpointAuthMethod === 'self_signed_tls_client_auth') {
        // RFC 8705 §2.2: any self-signed certificate, pinned by its registration (x5c in jwks).
        if (!isSelfSignedAndCurrent(presented.der, nowMs)) return 'certificate_untrusted';
        return registeredCertificateThumbprints(client.settings.jwks).includes(presented.thumbprint)
          ? null
          : 'certificate_name_not_bound';
      }
      // RFC 8705 §2.1: a chain the listener's client CAs verified, or one of Tessera's own CA, unrevoked.
      let trusted = presented.authorized;
      const pki = (r as Partial<ReadRepos>).pki;
      if (!trusted && pki) {
        const ca = await pki.getActiveCa();
        if (ca && verifyIssuedBy(presented.der, ca.certificatePem, nowMs)) {
          const issued = await pki.getCertificate(cert.serial);
          if (issued?.revokedAtMs !== null) return 'certificate_revoked';
          trusted = true;
        }
      }
      if (!trusted) return 'certificate_untrusted';
      const s = client.settings;
      return certificateHasName(cert, {
        subjectDn: s.tlsClientAuthSubjectDn ?? null,
        sanUri: s.tlsClientAuthSanUri ?? null,
        sanDns: s.tlsClientAuthSanDns ?? null,
      })
        ? null
        : 'certificate_name_not_bound';
    },
    scopeGranted: async (client, scope) =>
      (
        await deps.access.authorize(
          {
            identityId: client.identityId,
            authMethodId: client.id,
            via: 'session',
            tokenId: null,
            uidNodeId: null,
            uidNodePath: null,
          },
          'read',
          { type: 'scope', path: `/${scope}` },
        )
      ).allowed,
    config: { issuer, tokenEndpoint, audience: config.audience },
    // MCP gateway audiences are resource servers implicitly (ADR 0038), when the capability is composed.
    async isMcpAudience(r, resource) {
      const prefix = `${issuer}/mcp/`;
      const servers = (r as Partial<ReadRepos>).mcpServers;
      if (!servers || !resource.startsWith(prefix)) return false;
      return (await servers.get(resource.slice(prefix.length))) !== null;
    },
    ...(deps.ciba ? { ciba: { ...deps.ciba, ...(ping ? { ping } : {}) } } : {}),
    federatedSubject: async (jwt, methodIds, ctx) => {
      // Registered by the federation capability (composed later); absent when it is not mounted.
      const handler = deps.registry.get('oidc_federation');
      if (!handler?.prepare) return null;
      let refused: string | null = null;
      for (const accessId of methodIds) {
        const presentation = {
          accessType: 'oidc_federation' as const,
          accessId,
          credential: { kind: 'federated_jwt' as const, jwt },
        };
        const prepared = (await handler.prepare(presentation, ctx)) as {
          ok?: boolean;
          reason?: string;
          payload?: { exp?: unknown };
        };
        if (!prepared?.ok) {
          // A method of another kind in mayActFor says nothing about this JWT.
          if (prepared?.reason && prepared.reason !== 'wrong_access_type') refused = prepared.reason;
          continue;
        }
        const result = await uow.write((r) => handler.authenticate(r, presentation, ctx, prepared));
        if (!result.ok) {
          refused = result.reason;
          continue;
        }
        return {
          sub: result.subject.identityId,
          am: result.subject.method.id,
          exp: Number(prepared.payload?.exp),
          jti: result.subject.credentialRef,
        };
      }
      return refused ? { refused } : null;
    },
  });
  const clients = createOAuthClientsService({
    uow,
    clock,
    credentials,
    authMethods: deps.authMethods,
    newSecret: newClientSecret,
  });
  const resourceServers = createResourceServersService({ uow, clock, credentials });
  const registrationTokens = createInitialAccessTokensService({
    uow,
    clock,
    credentials,
    newToken: newInitialAccessToken,
  });
  platform.configKinds.register(resourceServerConfigKind({ credentials }));
  const registrationEndpoint = `${issuer}${REGISTRATION_ENDPOINT_PATH}`;
  const registration = createOAuthRegistration({
    uow,
    clock,
    credentials,
    clients,
    jwksProblem: publicJwksProblem,
    newToken: newRegistrationAccessToken,
    registrationUri: (clientId) => `${registrationEndpoint}/${clientId}`,
  });

  // RFC 8705 needs the TLS listener: without it, the mTLS methods are not offered.
  const mtls = config.tls !== null;
  const authMethods = CLIENT_AUTH_METHODS.filter((m) => mtls || !TLS_CLIENT_AUTH_METHODS.includes(m));
  const metadata = {
    issuer,
    token_endpoint: tokenEndpoint,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    introspection_endpoint: `${issuer}${INTROSPECTION_ENDPOINT_PATH}`,
    revocation_endpoint: `${issuer}${REVOCATION_ENDPOINT_PATH}`,
    registration_endpoint: registrationEndpoint,
    grant_types_supported: [
      'client_credentials',
      TOKEN_EXCHANGE_GRANT,
      JWT_BEARER_GRANT,
      ...(deps.ciba ? [CIBA_GRANT] : []),
    ],
    authorization_endpoint: `${issuer}${AUTHORIZATION_ENDPOINT_PATH}`,
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    dpop_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
    tls_client_certificate_bound_access_tokens: mtls,
    // RFC 8705 §5: this one listener serves mTLS and plain TLS clients alike.
    ...(mtls
      ? {
          mtls_endpoint_aliases: {
            token_endpoint: tokenEndpoint,
            introspection_endpoint: `${issuer}${INTROSPECTION_ENDPOINT_PATH}`,
            revocation_endpoint: `${issuer}${REVOCATION_ENDPOINT_PATH}`,
          },
        }
      : {}),
    ...(deps.ciba
      ? {
          backchannel_authentication_endpoint: `${issuer}${BACKCHANNEL_ENDPOINT_PATH}`,
          backchannel_token_delivery_modes_supported: ['poll', 'ping'],
          backchannel_user_code_parameter_supported: false,
        }
      : {}),
  };

  return {
    name: 'oauth',
    services: { oauth, clients, registration, resourceServers, registrationTokens },
    ...(ping
      ? {
          jobs: [
            {
              name: 'ciba-ping-purge',
              scope: 'leader' as const,
              intervalMs: 600_000,
              run: () => ping.purge(),
            },
          ],
          close: () => ping.idle(),
        }
      : {}),
    routes: {
      native(app: TypedApp) {
        registerOAuthClientRoutes(app, { clients });
        registerResourceServerRoutes(app, { resourceServers });
        registerInitialAccessTokenRoutes(app, { registrationTokens, nowMs: () => clock.nowMs() });
      },
      system(app: TypedApp) {
        app.get(
          METADATA_PATH,
          {
            config: { access: { public: true } },
            schema: {
              tags: ['oauth'],
              summary: 'OAuth 2 authorization server metadata (RFC 8414)',
              security: [],
              response: { 200: MetadataSchema },
            },
          },
          async () => metadata,
        );
      },
    },
  };
}
