import type { ReadOnlyAuthMethodHandler } from '../../core/auth-methods/auth-method.registry.js';
import {
  CLIENT_AUTH_METHODS,
  type ClientAuthMethod,
  type DelegationRule,
  isOAuthClient,
  type OAuthClientSettings,
} from '../../core/auth-methods/auth-methods.model.js';
import { validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import { OAUTH_GRANT_TYPES } from './oauth.model.js';

const DEFAULT_TTL_SECONDS = 600;
const SETTINGS = [
  'jwtTtlSeconds',
  'tokenEndpointAuthMethod',
  'jwks',
  'jwksUri',
  'scopes',
  'resources',
  'dpopBoundAccessTokens',
  'mayActFor',
  'delegation',
  'trustedIssuers',
  'grantTypes',
  'tlsClientAuthSubjectDn',
  'tlsClientAuthSanUri',
  'tlsClientAuthSanDns',
  'cibaDeliveryMode',
  'cibaNotificationEndpoint',
];

/** https, or plain http on a loopback host (a client on the same machine, RFC 8252 §7.3). */
export function isClientUrl(value: unknown): value is string {
  let url: URL | null = null;
  try {
    url = typeof value === 'string' && value.length <= 500 ? new URL(value) : null;
  } catch {}
  const loopback = url && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return !!url && !url.hash && (url.protocol === 'https:' || (url.protocol === 'http:' && !!loopback));
}

/**
 * RFC 7591 §2: a client's keys are inline (`jwks`) or published (`jwksUri`), never both. Setting
 * one clears the other; naming both is refused. Published keys are for `private_key_jwt` only.
 */
function keysOf(
  input: Record<string, unknown>,
  previous: OAuthClientSettings | null,
  method: ClientAuthMethod,
  jwksProblem: (jwks: unknown) => string | null,
) {
  if (input.jwks != null && input.jwksUri != null)
    throw validationError('jwks and jwksUri are mutually exclusive: send one.', { field: 'jwksUri' });
  let jwks = previous?.jwks ?? null;
  let jwksUri = previous?.jwksUri ?? null;
  if (input.jwks !== undefined) {
    if (input.jwks !== null) {
      const problem = jwksProblem(input.jwks);
      if (problem) throw validationError(`jwks: ${problem}.`, { field: 'jwks' });
      jwksUri = null;
    }
    jwks = input.jwks as OAuthClientSettings['jwks'];
  }
  if (input.jwksUri !== undefined) {
    if (input.jwksUri !== null) {
      if (!isClientUrl(input.jwksUri))
        throw validationError('jwksUri must be an https URL (http only on a loopback host).', {
          field: 'jwksUri',
        });
      jwks = null;
    }
    jwksUri = input.jwksUri as string | null;
  }
  if (jwksUri !== null && method !== 'private_key_jwt')
    throw validationError('jwksUri is only for private_key_jwt clients.', { field: 'jwksUri' });
  if (method === 'private_key_jwt' && !jwks && !jwksUri)
    throw validationError('private_key_jwt clients need jwks or jwksUri (their public keys).', {
      field: 'jwks',
    });
  // RFC 8705 §2.2: the self-signed certificate is registered as a key's x5c.
  if (method === 'self_signed_tls_client_auth' && !jwks?.keys.some((k) => Array.isArray(k.x5c)))
    throw validationError('self_signed_tls_client_auth clients need jwks with the certificate in x5c.', {
      field: 'jwks',
    });
  return { jwks, jwksUri };
}

/**
 * CIBA Core §4: the notification endpoint is https; plain http only on a loopback host (a client on
 * the same machine, as RFC 8252 §7.3 allows for redirects).
 */
function cibaDeliveryOf(input: Record<string, unknown>, previous: OAuthClientSettings | null) {
  const mode = input.cibaDeliveryMode ?? previous?.cibaDeliveryMode ?? 'poll';
  if (mode !== 'poll' && mode !== 'ping')
    throw validationError('cibaDeliveryMode must be poll or ping.', { field: 'cibaDeliveryMode' });
  const endpoint =
    input.cibaNotificationEndpoint === undefined
      ? (previous?.cibaNotificationEndpoint ?? null)
      : input.cibaNotificationEndpoint;
  if (endpoint !== null) {
    if (!isClientUrl(endpoint))
      throw validationError('cibaNotificationEndpoint must be an https URL (http only on a loopback host).', {
        field: 'cibaNotificationEndpoint',
      });
  }
  if (mode === 'ping' && endpoint === null)
    throw validationError('ping delivery needs cibaNotificationEndpoint.', {
      field: 'cibaNotificationEndpoint',
    });
  return { cibaDeliveryMode: mode as 'poll' | 'ping', cibaNotificationEndpoint: endpoint as string | null };
}
const TLS_NAMES = ['tlsClientAuthSubjectDn', 'tlsClientAuthSanUri', 'tlsClientAuthSanDns'] as const;

/** RFC 8705 §2.1.2: exactly one certificate name for `tls_client_auth`, none otherwise. */
function tlsNamesOf(
  input: Record<string, unknown>,
  previous: OAuthClientSettings | null,
  method: ClientAuthMethod,
) {
  const out: Record<(typeof TLS_NAMES)[number], string | null> = {
    tlsClientAuthSubjectDn: null,
    tlsClientAuthSanUri: null,
    tlsClientAuthSanDns: null,
  };
  for (const name of TLS_NAMES) {
    const value = input[name] !== undefined ? input[name] : (previous?.[name] ?? null);
    if (value !== null && (typeof value !== 'string' || !value || value.length > 500))
      throw validationError(`${name} must be a non-empty string.`, { field: name });
    out[name] = value as string | null;
  }
  const given = TLS_NAMES.filter((n) => out[n] !== null).length;
  if (method === 'tls_client_auth' && given !== 1)
    throw validationError(
      'tls_client_auth clients need exactly one of tlsClientAuthSubjectDn, tlsClientAuthSanUri, tlsClientAuthSanDns.',
    );
  if (method !== 'tls_client_auth' && given > 0)
    throw validationError('Certificate names are only for tls_client_auth clients.');
  return out;
}
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;

/** A resource indicator (RFC 8707 §2): an absolute URI without a fragment. */
export function isResourceIndicator(value: string): boolean {
  if (value.length > 512 || value.includes('#')) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' || url.protocol === 'urn:';
  } catch {
    return false;
  }
}

function stringList(input: unknown, field: string, valid: (v: string) => boolean): string[] {
  if (!Array.isArray(input) || input.length > 50 || input.some((v) => typeof v !== 'string' || !valid(v)))
    throw validationError(`${field} must be a list of at most 50 valid values.`, { field });
  return [...new Set(input as string[])];
}

/** The grant types a client may use: a non-empty list of the supported ones. */
function grantTypesOf(input: unknown): string[] {
  const list = stringList(input, 'grantTypes', (v) => (OAUTH_GRANT_TYPES as readonly string[]).includes(v));
  if (list.length === 0)
    throw validationError('grantTypes must name at least one grant type (null: every enabled one).', {
      field: 'grantTypes',
    });
  return list;
}

/**
 * `oauth_client` (issue 12): an OAuth client is an auth method of its identity. Secrets are
 * checked here (so `client_secret_*` clients can also use `POST /v1/auth`-style pipelines);
 * assertions need a single-use `jti` and are checked by the token endpoint before it.
 */
/** JWT-bearer grant issuers: an `https` (or `http`) issuer URL each, once, with public keys. */
const CLIENT_ID = /^p-[a-z0-9]{1,62}$/;

/**
 * Token exchange rules (ADR 0039): one per subject, none for a subject also in `mayActFor`, and
 * every audience one of the client's resources (a rule cannot widen what the client may ask for).
 */
function delegationOf(input: unknown, mayActFor: string[], resources: string[]): DelegationRule[] {
  if (!Array.isArray(input) || input.length > 50)
    throw validationError('delegation must be a list of at most 50 rules.', { field: 'delegation' });
  const seen = new Set<string>();
  return input.map((entry): DelegationRule => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const foreign = Object.keys(e).find(
      (k) => !['subject', 'audiences', 'scopes', 'impersonation'].includes(k),
    );
    if (foreign)
      throw validationError(`A delegation rule does not take ${foreign}.`, { field: 'delegation' });
    if (typeof e.subject !== 'string' || !CLIENT_ID.test(e.subject))
      throw validationError('Each delegation rule needs a subject client id (p-…).', { field: 'delegation' });
    if (seen.has(e.subject) || mayActFor.includes(e.subject))
      throw validationError(`${e.subject} is named twice in mayActFor and delegation.`, {
        field: 'delegation',
      });
    seen.add(e.subject);
    if (e.impersonation !== undefined && typeof e.impersonation !== 'boolean')
      throw validationError('impersonation must be a boolean.', { field: 'delegation' });
    const audiences =
      e.audiences === undefined
        ? undefined
        : stringList(e.audiences, 'delegation audiences', isResourceIndicator);
    const outside = audiences?.find((a) => !resources.includes(a));
    if (outside !== undefined)
      throw validationError(`delegation audience ${outside} is not one of the client's resources.`, {
        field: 'delegation',
      });
    return {
      subject: e.subject,
      ...(audiences ? { audiences } : {}),
      ...(e.scopes !== undefined
        ? { scopes: stringList(e.scopes, 'delegation scopes', (v) => SCOPE_TOKEN.test(v)) }
        : {}),
      ...(e.impersonation ? { impersonation: true } : {}),
    };
  });
}

function trustedIssuersOf(input: unknown, jwksProblem: (jwks: unknown) => string | null) {
  if (!Array.isArray(input) || input.length > 10)
    throw validationError('trustedIssuers must be a list of at most 10 {issuer, jwks}.');
  const seen = new Set<string>();
  return input.map((entry: unknown) => {
    const e = entry as { issuer?: unknown; jwks?: unknown } | null;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.issuer !== 'string' ||
      !/^https?:\/\/\S{1,500}$/.test(e.issuer)
    )
      throw validationError('Each trusted issuer needs an issuer URL.');
    if (seen.has(e.issuer)) throw validationError('A trusted issuer is listed twice.');
    seen.add(e.issuer);
    const problem = jwksProblem(e.jwks);
    if (problem) throw validationError(`trustedIssuers: ${problem}.`);
    return { issuer: e.issuer, jwks: e.jwks as { keys: Record<string, unknown>[] } };
  });
}

export function createOAuthClientHandler(deps: {
  credentials: CredentialFactory;
  clock: Clock;
  maxSessionTtlSeconds: number;
  /** Why a JWK set is not a set of public keys, or null (crypto/jose-verify.ts). */
  jwksProblem(jwks: unknown): string | null;
  /**
   * Why Tessera would not fetch a URL the client gives (a host written as a loopback, private,
   * link-local or metadata address outside `TESSERA_OUTBOUND_ALLOW`), or null (ADR 0039).
   */
  outboundRefusal?(url: string): string | null;
}): ReadOnlyAuthMethodHandler {
  const { credentials } = deps;
  return {
    type: 'oauth_client',
    normaliseSettings(input, current) {
      const foreign = Object.keys(input).find((k) => !SETTINGS.includes(k));
      if (foreign) throw validationError(`oauth_client methods do not take ${foreign}.`, { field: foreign });
      const previous = current as OAuthClientSettings | null;
      const ttl = input.jwtTtlSeconds ?? previous?.jwtTtlSeconds ?? DEFAULT_TTL_SECONDS;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 30 || ttl > deps.maxSessionTtlSeconds)
        throw validationError(`accessTokenTtlSeconds must be between 30 and ${deps.maxSessionTtlSeconds}.`);
      const authMethod = (input.tokenEndpointAuthMethod ??
        previous?.tokenEndpointAuthMethod ??
        'client_secret_basic') as ClientAuthMethod;
      if (!CLIENT_AUTH_METHODS.includes(authMethod))
        throw validationError(`tokenEndpointAuthMethod must be one of ${CLIENT_AUTH_METHODS.join(', ')}.`);
      const { jwks, jwksUri } = keysOf(input, previous, authMethod, deps.jwksProblem);
      // Checked when given, not on every update: a later allow-list change leaves a client editable.
      for (const field of ['jwksUri', 'cibaNotificationEndpoint'] as const) {
        const url = input[field];
        const refused = typeof url === 'string' ? deps.outboundRefusal?.(url) : null;
        if (refused)
          throw validationError(
            `${field} names a ${refused.replace('_', '-')} address Tessera does not connect to (TESSERA_OUTBOUND_ALLOW).`,
            { field, reason: `outbound_${refused}` },
          );
      }
      const dpop = input.dpopBoundAccessTokens ?? previous?.dpopBoundAccessTokens ?? false;
      if (typeof dpop !== 'boolean') throw validationError('dpopBoundAccessTokens must be a boolean.');
      const resources =
        input.resources === undefined
          ? (previous?.resources ?? [])
          : stringList(input.resources, 'resources', isResourceIndicator);
      const mayActFor =
        input.mayActFor === undefined
          ? (previous?.mayActFor ?? [])
          : stringList(input.mayActFor, 'mayActFor', (v) => CLIENT_ID.test(v));
      return {
        jwtTtlSeconds: ttl,
        tokenEndpointAuthMethod: authMethod,
        jwks,
        jwksUri,
        scopes:
          input.scopes === undefined
            ? (previous?.scopes ?? [])
            : stringList(input.scopes, 'scopes', (v) => SCOPE_TOKEN.test(v)),
        resources,
        dpopBoundAccessTokens: dpop,
        mayActFor,
        // Re-checked on every change: a narrowed resource list or mayActFor must still fit the rules.
        delegation: delegationOf(input.delegation ?? previous?.delegation ?? [], mayActFor, resources),
        trustedIssuers:
          input.trustedIssuers === undefined
            ? (previous?.trustedIssuers ?? [])
            : trustedIssuersOf(input.trustedIssuers, deps.jwksProblem),
        grantTypes:
          input.grantTypes === undefined
            ? (previous?.grantTypes ?? null)
            : input.grantTypes === null
              ? null
              : grantTypesOf(input.grantTypes),
        ...tlsNamesOf(input, previous, authMethod),
        ...cibaDeliveryOf(input, previous),
      };
    },
    async authenticate(repos, presentation) {
      const credential = presentation.credential;
      if (credential.kind !== 'client_secret')
        return { ok: false, reason: 'wrong_credential_kind', actor: { authMethodId: null } };
      const presentedHash = credentials.hashCredential(credential.clientSecret);
      const actor = { authMethodId: null, credentialRef: credentials.auditRef(credential.clientSecret) };
      const method =
        credential.clientId.length <= 64 ? await repos.authMethods.get(credential.clientId) : null;
      const secrets =
        method && isOAuthClient(method)
          ? await repos.oauthClientSecrets.listUsable(method.id, deps.clock.nowMs())
          : [];
      // Compare against every usable secret (and a dummy when there is none): same work either way.
      let matches = false;
      for (const stored of secrets.length ? secrets.map((s) => s.secretHash) : ['0'.repeat(64)])
        if (credentials.equalHashes(stored, presentedHash)) matches = true;
      if (!method || !isOAuthClient(method)) return { ok: false, reason: 'unknown_client', actor };
      const known = { ...actor, authMethodId: method.id };
      if (!method.settings.tokenEndpointAuthMethod.startsWith('client_secret_'))
        return { ok: false, reason: 'wrong_client_auth_method', actor: known };
      if (!matches) return { ok: false, reason: 'wrong_client_secret', actor: known };
      return {
        ok: true,
        subject: {
          method,
          identityId: method.identityId,
          credentialRef: credentials.auditRef(credential.clientSecret),
        },
      };
    },
  };
}
