import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, type JWK, jwtVerify } from 'jose';
import { publicJwksProblem } from './jose-verify.js';

/**
 * Verification of JWTs from trusted external issuers (workload identity federation, issue 13): CI
 * providers' OIDC tokens, Kubernetes projected service-account tokens, SPIFFE JWT-SVIDs. Asymmetric
 * algorithms only; every failure is a closed reason, never an exception.
 */
export const FEDERATION_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type FederationFailure =
  | 'federation_malformed_jwt'
  | 'federation_alg_not_allowed'
  | 'federation_unknown_key'
  | 'federation_bad_signature'
  | 'federation_expired'
  | 'federation_not_yet_valid'
  | 'federation_wrong_audience'
  | 'federation_unknown_issuer'
  | 'federation_missing_claim';

export interface JwtPeek {
  alg: string | null;
  kid: string | null;
  iss: string | null;
}

/** The header and issuer of a JWT, unverified (to choose the keys), or null when it is not a JWS. */
export function peekJwt(jwt: string): JwtPeek | null {
  if (jwt.length > 16_384 || jwt.split('.').length !== 3) return null;
  try {
    const header = decodeProtectedHeader(jwt);
    const payload = decodeJwt(jwt);
    return {
      alg: typeof header.alg === 'string' ? header.alg : null,
      kid: typeof header.kid === 'string' ? header.kid : null,
      iss: typeof payload.iss === 'string' ? payload.iss : null,
    };
  } catch {
    return null;
  }
}

/** Whether a key set holds a key with this `kid` (a JWT without `kid` matches any set). */
export function jwksHasKid(jwks: { keys: Record<string, unknown>[] }, kid: string | null): boolean {
  return kid === null || jwks.keys.some((k) => k.kid === kid);
}

/** Why a fetched or pinned JWK set is unusable (private members, symmetric keys, …), or null. */
export function federationJwksProblem(jwks: unknown): string | null {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys))
    return 'jwks must be an object with a keys array';
  const verifying = jwtVerificationKeys(jwks as { keys: Record<string, unknown>[] });
  if (verifying.keys.length === 0) return 'jwks has no key for verifying JWTs';
  // Issuers publish keys with algorithms beyond the client set: check the shape without `alg`.
  const keys = verifying.keys.map((k) => {
    if (typeof k !== 'object' || k === null) return k;
    const { alg: _alg, ...rest } = k;
    return rest;
  });
  if (keys.length > 20) return 'jwks must hold at most 20 keys';
  return (
    publicJwksProblem({ keys: keys.slice(0, 10) }) ??
    (keys.length > 10 ? publicJwksProblem({ keys: keys.slice(10) }) : null)
  );
}

/**
 * The keys of a set that verify JWTs. A SPIFFE trust bundle (SPIFFE Trust Domain and Bundle §4, as
 * `spire-server bundle show -format spiffe` prints it) is a JWK set whose keys say `use: jwt-svid`
 * (JWT-SVID signing keys) or `use: x509-svid` (CA certificates, never for JWTs). jose only takes
 * keys without `use` or with `use: sig`, so a bundle pinned as is would verify nothing: the
 * `jwt-svid` keys are kept as signing keys and the `x509-svid` ones dropped. Other sets pass as is.
 */
export function jwtVerificationKeys(jwks: { keys: Record<string, unknown>[] }): {
  keys: Record<string, unknown>[];
} {
  if (!jwks.keys.some((k) => k && (k.use === 'jwt-svid' || k.use === 'x509-svid'))) return jwks;
  const keys: Record<string, unknown>[] = [];
  for (const k of jwks.keys) {
    if (!k || k.use === 'x509-svid') continue;
    if (k.use === 'jwt-svid') {
      const { use: _use, ...rest } = k;
      keys.push({ ...rest, use: 'sig' });
    } else keys.push(k);
  }
  return { keys };
}

const keySets = new Map<string, ReturnType<typeof createLocalJWKSet>>();
function keySetOf(jwks: { keys: Record<string, unknown>[] }) {
  const id = JSON.stringify(jwks);
  let set = keySets.get(id);
  if (!set) {
    if (keySets.size >= 1000) keySets.delete(keySets.keys().next().value as string);
    set = createLocalJWKSet(jwtVerificationKeys(jwks) as { keys: JWK[] });
    keySets.set(id, set);
  }
  return set;
}

/**
 * Verifies signature, `iss`, `aud`, `exp`, `nbf`; returns the payload (the caller checks `iat` and
 * claims). `issuer: null` skips the `iss` check: only for a JWT-SVID the caller saw has no `iss`.
 */
export async function verifyFederatedJwt(
  jwt: string,
  jwks: { keys: Record<string, unknown>[] },
  expected: {
    issuer: string | null;
    audiences: readonly string[];
    algorithms: readonly string[];
    nowMs: number;
    clockToleranceSeconds: number;
  },
): Promise<{ ok: true; payload: Record<string, unknown> } | { ok: false; reason: FederationFailure }> {
  const allowed = expected.algorithms.filter((a) => (FEDERATION_ALGORITHMS as readonly string[]).includes(a));
  try {
    const verified = await jwtVerify(jwt, keySetOf(jwks), {
      algorithms: allowed,
      ...(expected.issuer === null ? {} : { issuer: expected.issuer }),
      audience: [...expected.audiences],
      currentDate: new Date(expected.nowMs),
      clockTolerance: expected.clockToleranceSeconds,
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    return { ok: true, payload: verified.payload as Record<string, unknown> };
  } catch (error) {
    return { ok: false, reason: failureOf(error) };
  }
}

function failureOf(error: unknown): FederationFailure {
  if (error instanceof errors.JWTExpired) return 'federation_expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'federation_wrong_audience';
    if (error.claim === 'iss') return 'federation_unknown_issuer';
    if (error.claim === 'nbf') return 'federation_not_yet_valid';
    if (error.reason === 'missing') return 'federation_missing_claim';
    return 'federation_malformed_jwt';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'federation_alg_not_allowed';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return 'federation_unknown_key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'federation_bad_signature';
  return 'federation_malformed_jwt';
}
