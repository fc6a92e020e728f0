import type {
  AuthFailureReason,
  AuthMethodHandler,
  CredentialPresentation,
} from '../../core/auth-methods/auth-method.registry.js';
import {
  type AuthMethod,
  type ClaimMatcher,
  isOidcFederation,
  type OidcFederationSettings,
} from '../../core/auth-methods/auth-methods.model.js';
import type { Identity } from '../../core/identities/identities.model.js';
import { validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import {
  checkBoundClaims,
  IDENTITY_NAME,
  isSpiffeIdIn,
  renderTemplate,
  SPIFFE_TRUST_DOMAIN,
  templateClaims,
} from './federation.claims.js';
import { FEDERATION_PRESETS } from './federation.presets.js';
import { allowedUrl, type Jwks, type JwksCache } from './jwks-cache.js';

const DEFAULT_TTL_SECONDS = 900;
const DEFAULT_MAX_AGE_SECONDS = 3600;
const CLOCK_TOLERANCE_SECONDS = 30;
const DEFAULT_ALGORITHMS = ['RS256', 'ES256'];
const SETTINGS = [
  'jwtTtlSeconds',
  'preset',
  'issuer',
  'audience',
  'algorithms',
  'maxTokenAgeSeconds',
  'boundClaims',
  'identityTemplate',
  'createIdentities',
  'oneTimeTokens',
  'jwks',
  'trustDomain',
  'bundleEndpoint',
];

/** What the crypto layer offers (crypto/federated-jwt.ts). */
export interface FederationCrypto {
  algorithms: readonly string[];
  peek(jwt: string): { alg: string | null; kid: string | null; iss: string | null } | null;
  verify(
    jwt: string,
    jwks: Jwks,
    expected: {
      issuer: string | null;
      audiences: readonly string[];
      algorithms: readonly string[];
      nowMs: number;
      clockToleranceSeconds: number;
    },
  ): Promise<{ ok: true; payload: Record<string, unknown> } | { ok: false; reason: AuthFailureReason }>;
  jwksProblem(jwks: unknown): string | null;
}

/** Spends a one-time key inside the caller's transaction (the store's `one_time_keys`). */
export interface ReplayCache {
  consume(key: string, ttlSeconds: number): Promise<boolean>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    federationOneTimeKeys: ReplayCache;
  }
}

const MAX_JTI_LENGTH = 256;

type Prepared =
  | {
      ok: true;
      methodId: string;
      payload: Record<string, unknown>;
      matched: Record<string, string>;
      /** For a one-time method: the key of `iss` + `jti` and how long it must be remembered. */
      replay: { key: string; ttlSeconds: number } | null;
    }
  | { ok: false; methodId: string | null; reason: AuthFailureReason; data?: Record<string, unknown> };

function issuerUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length > 512) throw validationError('issuer must be a URL.');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw validationError('issuer must be a URL.', { field: 'issuer' });
  }
  if (!allowedUrl(url) || url.search || url.hash)
    throw validationError('issuer must be an https URL (http only for a loopback test issuer).', {
      field: 'issuer',
    });
  return value;
}

function boundClaimsOf(input: unknown): Record<string, ClaimMatcher> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw validationError('boundClaims must be an object of claim name to pattern(s).');
  const out: Record<string, ClaimMatcher> = {};
  for (const [key, raw] of Object.entries(input)) {
    const values = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string' || !v))
      throw validationError(`boundClaims.${key.slice(0, 100)} must be a pattern or a list of patterns.`);
    out[key] = typeof raw === 'string' ? raw : [...new Set(values as string[])];
  }
  return out;
}

/** A SPIFFE bundle endpoint URL: https (http only on loopback, for a local test endpoint). */
function bundleEndpointUrl(value: unknown): string {
  let url: URL | null = null;
  try {
    url = typeof value === 'string' && value.length <= 512 ? new URL(value) : null;
  } catch {}
  if (!url || !allowedUrl(url) || url.hash)
    throw validationError('bundleEndpoint must be an https URL (http only for a loopback test endpoint).', {
      field: 'bundleEndpoint',
    });
  return value as string;
}

/**
 * The trust domain a token's `sub` is checked against instead of its `iss`, or null when the
 * token's `iss` must be the method's. Only a spiffe method with a trust domain and a bundle (pinned
 * or from its bundle endpoint) does so: for a token without `iss` (JWT-SVIDs may lack it), and for
 * every token when the method names no issuer.
 */
function spiffeTrustDomainFor(s: OidcFederationSettings, iss: string | null): string | null {
  if (s.preset !== 'spiffe' || (s.jwks === null && !s.bundleEndpoint)) return null;
  if (iss !== null && s.issuer !== null) return null;
  return s.trustDomain ?? null;
}

/** What the audit and the one-time key name the issuer by: its `iss`, or the SPIFFE trust domain. */
function issuerLabel(s: OidcFederationSettings): string {
  return s.issuer ?? `spiffe://${s.trustDomain}`;
}

/**
 * `oidc_federation` (issue 13): a JWT from a trusted external issuer, verified against its JWKS
 * (discovered and cached, or pinned), its bound claims all matched, mapped to an identity.
 * Signature and claim checks run in `prepare`, before the transaction (the JWKS may be fetched);
 * the identity mapping runs in `authenticate`, inside it.
 */
export function createFederationHandler(deps: {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  jwks: JwksCache;
  crypto: FederationCrypto;
  maxSessionTtlSeconds: number;
}): AuthMethodHandler {
  const { clock, credentials, crypto } = deps;

  function normaliseSettings(
    input: Record<string, unknown>,
    current: AuthMethod['settings'] | null,
  ): OidcFederationSettings {
    const foreign = Object.keys(input).find((k) => !SETTINGS.includes(k));
    if (foreign) throw validationError(`oidc_federation methods do not take ${foreign}.`, { field: foreign });
    const previous = current as OidcFederationSettings | null;
    const presetName = (input.preset as string | undefined) ?? previous?.preset ?? null;
    const preset = presetName === null ? null : FEDERATION_PRESETS[presetName];
    if (presetName !== null && !preset)
      throw validationError(`preset must be one of ${Object.keys(FEDERATION_PRESETS).join(', ')}.`);
    // A spiffe method may name no issuer (checked below: then it needs a trust domain and a bundle).
    const issuerInput = input.issuer !== undefined ? input.issuer : (previous?.issuer ?? preset?.issuer);
    const issuer = issuerInput == null && presetName === 'spiffe' ? null : issuerUrl(issuerInput);
    const audienceInput = input.audience ?? previous?.audiences ?? preset?.audience;
    const audiences = typeof audienceInput === 'string' ? [audienceInput] : audienceInput;
    if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((a) => typeof a !== 'string'))
      throw validationError('audience is required (the aud the issuer puts in tokens for Tessera).', {
        field: 'audience',
      });
    const algorithms = (input.algorithms ?? previous?.algorithms ?? DEFAULT_ALGORITHMS) as string[];
    const bad = algorithms.find((a) => !crypto.algorithms.includes(a));
    if (bad !== undefined || algorithms.length === 0)
      throw validationError(
        `algorithms must be asymmetric: ${crypto.algorithms.join(', ')} (never none or HMAC).`,
        {
          field: 'algorithms',
        },
      );
    const maxAge = input.maxTokenAgeSeconds ?? previous?.maxTokenAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
    if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 10 || maxAge > 86_400)
      throw validationError('maxTokenAgeSeconds must be between 10 and 86400.');
    const ttl = input.jwtTtlSeconds ?? previous?.jwtTtlSeconds ?? DEFAULT_TTL_SECONDS;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 30 || ttl > deps.maxSessionTtlSeconds)
      throw validationError(`jwtTtlSeconds must be between 30 and ${deps.maxSessionTtlSeconds}.`);
    const boundClaims =
      input.boundClaims === undefined ? (previous?.boundClaims ?? {}) : boundClaimsOf(input.boundClaims);
    // Without a bound claim, every token of the issuer for this audience would get in.
    if (Object.keys(boundClaims).length === 0)
      throw validationError('boundClaims needs at least one claim (e.g. repository=acme/*).', {
        field: 'boundClaims',
      });
    const template =
      input.identityTemplate !== undefined
        ? (input.identityTemplate as string | null)
        : previous
          ? previous.identityTemplate
          : (preset?.identityTemplate ?? null);
    if (template !== null && (typeof template !== 'string' || templateClaims(template).length === 0))
      throw validationError('identityTemplate must name at least one claim, e.g. ci/github/{repository}.');
    const createIdentities = input.createIdentities ?? previous?.createIdentities ?? true;
    if (typeof createIdentities !== 'boolean') throw validationError('createIdentities must be a boolean.');
    // A preset chosen now sets the default; an existing method keeps its choice unless told.
    const oneTimeTokens =
      input.oneTimeTokens ??
      (input.preset === undefined ? previous?.oneTimeTokens : undefined) ??
      preset?.oneTimeTokens ??
      false;
    if (typeof oneTimeTokens !== 'boolean') throw validationError('oneTimeTokens must be a boolean.');
    let jwks = previous?.jwks ?? null;
    if (input.jwks !== undefined) {
      if (input.jwks !== null) {
        const problem = crypto.jwksProblem(input.jwks);
        if (problem) throw validationError(`jwks: ${problem}.`, { field: 'jwks' });
      }
      jwks = input.jwks as Jwks | null;
    }
    const trustDomain = (input.trustDomain === undefined ? previous?.trustDomain : input.trustDomain) ?? null;
    if (trustDomain !== null) {
      if (presetName !== 'spiffe')
        throw validationError('trustDomain is only for the spiffe preset.', { field: 'trustDomain' });
      if (typeof trustDomain !== 'string' || !SPIFFE_TRUST_DOMAIN.test(trustDomain))
        throw validationError('trustDomain must be a SPIFFE trust domain name (e.g. example.org).', {
          field: 'trustDomain',
        });
    }
    const bundleInput =
      (input.bundleEndpoint === undefined ? previous?.bundleEndpoint : input.bundleEndpoint) ?? null;
    let bundleEndpoint: string | null = null;
    if (bundleInput !== null) {
      if (presetName !== 'spiffe')
        throw validationError('bundleEndpoint is only for the spiffe preset.', { field: 'bundleEndpoint' });
      bundleEndpoint = bundleEndpointUrl(bundleInput);
      if (jwks !== null)
        throw validationError('Give either a pinned jwks or a bundleEndpoint, not both.', {
          field: 'bundleEndpoint',
        });
    }
    if (issuer === null && (trustDomain === null || (jwks === null && bundleEndpoint === null)))
      throw validationError(
        'issuer is required, unless a spiffe method names its trustDomain and its bundle (jwks or bundleEndpoint).',
        { field: 'issuer' },
      );
    return {
      jwtTtlSeconds: ttl,
      preset: presetName,
      issuer,
      audiences: [...new Set(audiences as string[])],
      algorithms: [...new Set(algorithms)],
      maxTokenAgeSeconds: maxAge,
      boundClaims,
      identityTemplate: template,
      createIdentities,
      oneTimeTokens,
      jwks,
      // Left out when unset, so methods stored before it existed compare equal in config plans.
      ...(trustDomain === null ? {} : { trustDomain }),
      ...(bundleEndpoint === null ? {} : { bundleEndpoint }),
    };
  }

  /** `audience` in, `audiences` stored: exports say `audience` (ADR 0021). */
  function configSettings(settings: AuthMethod['settings']): Record<string, unknown> {
    const { audiences, ...rest } = settings as OidcFederationSettings;
    return { ...rest, audience: audiences };
  }

  async function prepare(presentation: CredentialPresentation): Promise<Prepared> {
    const credential = presentation.credential;
    if (credential.kind !== 'federated_jwt' || !presentation.accessId)
      return { ok: false, methodId: null, reason: 'wrong_credential_kind' };
    const accessId = presentation.accessId;
    const method = await deps.uow.read((r) => r.authMethods.get(accessId));
    if (!method) return { ok: false, methodId: null, reason: 'unknown_access_id' };
    if (!isOidcFederation(method)) return { ok: false, methodId: method.id, reason: 'wrong_access_type' };
    const s = method.settings;
    const fail = (reason: AuthFailureReason, data?: Record<string, unknown>): Prepared => ({
      ok: false,
      methodId: method.id,
      reason,
      data: { issuer: issuerLabel(s), ...data },
    });
    const peek = crypto.peek(credential.jwt);
    if (!peek) return fail('federation_malformed_jwt');
    if (peek.alg === null || !s.algorithms.includes(peek.alg)) return fail('federation_alg_not_allowed');
    // A JWT-SVID may have no `iss` (JWT-SVID spec §3): accepted only by a spiffe method that has
    // its trust domain's bundle (pinned or from its bundle endpoint), and then its `sub` must be a
    // SPIFFE ID in that trust domain. A spiffe method without an issuer checks every token so.
    const svidTrustDomain = spiffeTrustDomainFor(s, peek.iss);
    if (peek.iss !== s.issuer && svidTrustDomain === null) return fail('federation_unknown_issuer');
    const keys =
      s.jwks ??
      (s.bundleEndpoint
        ? await deps.jwks.bundleAt(s.bundleEndpoint, peek.kid)
        : s.issuer === null
          ? null
          : await deps.jwks.keysFor(s.issuer, peek.kid));
    if (!keys) return fail('federation_jwks_unavailable');
    const nowMs = clock.nowMs();
    const verified = await crypto.verify(credential.jwt, keys, {
      issuer: svidTrustDomain === null ? s.issuer : null,
      audiences: s.audiences,
      algorithms: s.algorithms,
      nowMs,
      clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
    });
    if (!verified.ok) return fail(verified.reason);
    const payload = verified.payload;
    const subject = typeof payload.sub === 'string' ? payload.sub.slice(0, 300) : null;
    if (svidTrustDomain !== null && !isSpiffeIdIn(payload.sub, svidTrustDomain))
      return fail('federation_claim_mismatch', { subject, claim: 'sub' });
    const iat = payload.iat as number;
    const now = nowMs / 1000;
    if (iat > now + CLOCK_TOLERANCE_SECONDS) return fail('federation_issued_in_future', { subject });
    if (now - iat > s.maxTokenAgeSeconds + CLOCK_TOLERANCE_SECONDS)
      return fail('federation_too_old', { subject });
    const bound = checkBoundClaims(s.boundClaims, payload);
    if (!bound.ok)
      return fail(bound.missing ? 'federation_missing_claim' : 'federation_claim_mismatch', {
        subject,
        claim: bound.claim,
      });
    let replay: { key: string; ttlSeconds: number } | null = null;
    if (s.oneTimeTokens) {
      const jti = payload.jti;
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
        return fail('federation_missing_claim', { subject, claim: 'jti' });
      // Remembered for as long as the token could still be accepted: until `exp`, or `iat` plus
      // the maximum age, whichever is first, plus the clock tolerance. Then it is refused anyway.
      const exp = typeof payload.exp === 'number' ? payload.exp : iat + s.maxTokenAgeSeconds;
      const lastAccepted = Math.min(exp, iat + s.maxTokenAgeSeconds) + CLOCK_TOLERANCE_SECONDS;
      replay = {
        key: `federation:${credentials.hashCredential(`${issuerLabel(s)}\n${jti}`)}`,
        ttlSeconds: Math.max(1, Math.ceil(lastAccepted - now)),
      };
    }
    return { ok: true, methodId: method.id, payload, matched: bound.matched, replay };
  }

  return {
    type: 'oidc_federation',
    normaliseSettings,
    configSettings,
    prepare: (presentation) => prepare(presentation),
    async authenticate(repos, presentation, _ctx, preparedInput) {
      const credential = presentation.credential;
      const credentialRef =
        credential.kind === 'federated_jwt' ? credentials.auditRef(credential.jwt) : undefined;
      const prepared = (preparedInput as Prepared | undefined) ?? (await prepare(presentation));
      const actor = { authMethodId: prepared.methodId, ...(credentialRef ? { credentialRef } : {}) };
      if (!prepared.ok)
        return {
          ok: false,
          reason: prepared.reason,
          actor,
          ...(prepared.data ? { auditData: { federation: prepared.data } } : {}),
        };
      // Re-read inside the transaction: a method deleted since `prepare` does not authenticate.
      const method = await repos.authMethods.get(prepared.methodId);
      if (!method || !isOidcFederation(method)) return { ok: false, reason: 'unknown_access_id', actor };
      const s = method.settings;
      const auditData = {
        federation: {
          issuer: issuerLabel(s),
          subject: typeof prepared.payload.sub === 'string' ? prepared.payload.sub.slice(0, 300) : null,
          matchedClaims: prepared.matched,
        },
      };
      // Spent in this transaction, so it holds on every server sharing the store; a second
      // presentation (here or on another server) finds the key and is a theft signal.
      if (
        prepared.replay &&
        !(await repos.federationOneTimeKeys.consume(prepared.replay.key, prepared.replay.ttlSeconds))
      )
        return { ok: false, reason: 'federation_token_replayed', actor, auditData };
      let identity: Identity | null;
      if (s.identityTemplate === null) {
        identity = await repos.identities.get(method.identityId);
      } else {
        const name = renderTemplate(s.identityTemplate, prepared.payload);
        if (name === null) return { ok: false, reason: 'federation_missing_claim', actor, auditData };
        if (name.length > 200 || !IDENTITY_NAME.test(name))
          return { ok: false, reason: 'federation_bad_identity_name', actor, auditData };
        identity = await repos.identities.getByName(name);
        if (!identity) {
          if (!s.createIdentities)
            return { ok: false, reason: 'federation_identity_not_registered', actor, auditData };
          const owner = await repos.identities.get(method.identityId);
          const now = clock.nowMs();
          identity = {
            id: credentials.newId('i-'),
            name,
            kind: 'workload',
            owner: owner?.owner ?? 'unassigned',
            environment: owner?.environment ?? null,
            description: `Created on first use by federated auth method ${method.name}`,
            tags: [...(owner?.tags ?? [])],
            state: 'active',
            createdAtMs: now,
            updatedAtMs: now,
            retiredAtMs: null,
            lastUsedAtMs: null,
          };
          await repos.identities.insert(identity);
          await repos.audit.append(
            {
              type: 'identity.created',
              outcome: 'success',
              actor: { authMethodId: method.id },
              resource: `/identities/${name}`,
              data: {
                identityId: identity.id,
                kind: identity.kind,
                owner: identity.owner,
                via: 'oidc_federation',
                issuer: issuerLabel(s),
              },
            },
            _ctx,
            now,
          );
        }
      }
      if (!identity) return { ok: false, reason: 'identity_missing', actor, auditData };
      return {
        ok: true,
        subject: {
          method,
          identityId: identity.id,
          identityState: identity.state,
          credentialRef: credentialRef ?? '',
          auditData,
        },
      };
    },
  };
}
