export const AUTH_METHOD_TYPES = [
  'access_key',
  'universal_identity',
  'oauth_client',
  'oidc_federation',
  'certificate',
] as const;
export type AuthMethodTypeName = (typeof AUTH_METHOD_TYPES)[number];

export const REUSE_POLICIES = ['revoke', 'flag'] as const;
export type ReusePolicy = (typeof REUSE_POLICIES)[number];

/** Settings of a `universal_identity` auth method. */
export interface UidSettings {
  /** TTL of root tokens generated under the method, and the reset TTL on rotation. */
  ttlSeconds: number;
  /** Lifetime of session tokens issued for the method's tokens. */
  jwtTtlSeconds: number;
  /** Upper bound of a child token's TTL (independent of its parent's: a child may outlive it). */
  childTtlLimitSeconds: number;
  /** Most live (unrevoked, unexpired) children one node may have. */
  childCountLimit: number;
  /** Maximum depth of a token tree (a root is depth 1). */
  treeLength: number;
  /** Default for new root tokens: they may not rotate. */
  denyRotate: boolean;
  /** Default for new root tokens: they may not create children. */
  denyInheritance: boolean;
  /** On reuse of a rotated-away token: revoke the node's subtree, or only flag it. */
  reusePolicy: ReusePolicy;
  /** How long a rotated token may still be used to retry that rotation (lost response). */
  rotationGraceSeconds: number;
}

export interface AccessKeySettings {
  jwtTtlSeconds: number;
}

export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
] as const;
/** RFC 8705 §2: client authentication by the TLS client certificate. */
export const TLS_CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'tls_client_auth',
  'self_signed_tls_client_auth',
];
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** Settings of an `oauth_client` auth method (issue 12): the client's registration. */
export interface OAuthClientSettings {
  /** Lifetime of the access tokens issued to the client. */
  jwtTtlSeconds: number;
  tokenEndpointAuthMethod: ClientAuthMethod;
  /** Public keys for `private_key_jwt` (RFC 7517 set); private members are refused. */
  jwks: { keys: Record<string, unknown>[] } | null;
  /**
   * Or, for `private_key_jwt`, where its public keys are published (RFC 7591 `jwks_uri`): https
   * (http only on a loopback host), fetched and cached by the server. Never together with `jwks`.
   */
  jwksUri?: string | null;
  /** Scopes the client may request (a token never carries another). */
  scopes: string[];
  /** Resource servers (RFC 8707 `resource`) the client may request tokens for. */
  resources: string[];
  /** Every access token must be DPoP-bound (RFC 9449 §5.2 `dpop_bound_access_tokens`). */
  dpopBoundAccessTokens: boolean;
  /**
   * Token exchange (RFC 8693): the clients whose tokens this client may exchange, acting for their
   * subject (a `may_act` policy held by the actor's registration), with no narrower limits than
   * the subject token's own. Empty, and no `delegation` rule: no exchange.
   */
  mayActFor: string[];
  /**
   * Token exchange rules narrower than `mayActFor` (ADR 0039): per subject client, the audiences
   * and scopes an exchanged token may carry, and whether an exchange without `actor_token` is an
   * impersonation (no `act`). A subject is named here or in `mayActFor`, never in both.
   */
  delegation?: DelegationRule[];
  /**
   * JWT-bearer grant (RFC 7523 §2.1): issuers whose assertions this client may present, each with
   * its public keys. Absent or empty: no such grant.
   */
  trustedIssuers?: TrustedIssuer[];
  /**
   * The grant types the client may use (RFC 7591 `grant_types`); another is `unauthorized_client`.
   * Absent or null: every grant its other settings enable (client_credentials always, token exchange
   * with `mayActFor`, the JWT-bearer grant with `trustedIssuers`).
   */
  grantTypes?: string[] | null;
  /**
   * `tls_client_auth` (RFC 8705 §2.1.2): the one certificate name the client is registered with —
   * the subject DN (RFC 4514, as `CN=…,O=…`), a URI SAN (a SPIFFE ID) or a DNS SAN.
   */
  tlsClientAuthSubjectDn?: string | null;
  tlsClientAuthSanUri?: string | null;
  tlsClientAuthSanDns?: string | null;
  /**
   * CIBA token delivery (OpenID CIBA Core §5): `poll` (default) or `ping`, where the server POSTs the
   * `auth_req_id` to `cibaNotificationEndpoint` once the person decided.
   */
  cibaDeliveryMode?: 'poll' | 'ping';
  cibaNotificationEndpoint?: string | null;
}

/** One `may_act` rule held by the acting client's registration (ADR 0039). */
export interface DelegationRule {
  /** The client (or federation method) id of the subject tokens this rule covers. */
  subject: string;
  /** Audiences (RFC 8707 resources) the exchanged token may name; absent: any of the client's. */
  audiences?: string[];
  /** Scopes the exchanged token may carry; absent: any of the subject token's. */
  scopes?: string[];
  /** An exchange without `actor_token` issues a token without `act` (RFC 8693 §1.1). */
  impersonation?: boolean;
}

/** Every subject a client may exchange tokens of: `mayActFor` and the `delegation` rules. */
export function delegationSubjects(s: Pick<OAuthClientSettings, 'mayActFor' | 'delegation'>): string[] {
  return [...(s.mayActFor ?? []), ...(s.delegation ?? []).map((r) => r.subject)];
}

/** An issuer of JWT-bearer grant assertions (an enterprise IdP) and its public keys. */
export interface TrustedIssuer {
  issuer: string;
  jwks: { keys: Record<string, unknown>[] };
}

/** A bound-claim matcher: exact (`refs/heads/main`), glob (`acme/*`) or a list (any one of). */
export type ClaimMatcher = string | string[];

/**
 * Settings of an `oidc_federation` auth method (issue 13): JWTs of an external issuer (a CI
 * provider, a cluster, a SPIFFE trust domain) exchanged for sessions, with no stored secret.
 */
export interface OidcFederationSettings {
  jwtTtlSeconds: number;
  /** The preset the method was created from, for the record (`github-actions`, …), or null. */
  preset: string | null;
  /**
   * The `iss` the tokens must carry; discovery is fetched from it unless `jwks` is pinned. Null only
   * for a `spiffe` method with a `trustDomain` and a bundle (`jwks` or `bundleEndpoint`): JWT-SVIDs
   * may carry no `iss`, and the trust domain of their `sub` is what is checked.
   */
  issuer: string | null;
  /** Accepted `aud` values (any one). */
  audiences: string[];
  /** Asymmetric algorithms only: never `none`, never HMAC. */
  algorithms: string[];
  /** The most a token may be old (now − `iat`), in seconds. */
  maxTokenAgeSeconds: number;
  /** Every claim named must match (all of them). */
  boundClaims: Record<string, ClaimMatcher>;
  /** Names the identity from claims (`ci/github/{repository}`); null: the method's own identity. */
  identityTemplate: string | null;
  /** Create the named identity on first use (with the method identity's owner and tags). */
  createIdentities: boolean;
  /**
   * Each token is accepted once (by `iss` + `jti`, on every server through the store, until the
   * token could no longer be accepted anyway); a replay is refused and alerted as a theft signal.
   */
  oneTimeTokens: boolean;
  /** A pinned JWK set (air-gapped sites): no discovery, no fetching. */
  jwks: { keys: Record<string, unknown>[] } | null;
  /**
   * `spiffe` preset only: the SPIFFE trust domain (`example.org`) whose JWT-SVIDs may come without
   * `iss` (the JWT-SVID spec makes it optional) when `jwks` pins its bundle; their `sub` must be a
   * SPIFFE ID in it. Absent on methods stored before it existed (read as null).
   */
  trustDomain?: string | null;
  /**
   * `spiffe` preset only: the trust domain's SPIFFE bundle endpoint (https_web profile), fetched,
   * cached for its `spiffe_refresh_hint`, refreshed on an unknown `kid`, served stale for a bounded
   * time when it fails. Instead of a pinned `jwks`. Absent on methods stored before it existed.
   */
  bundleEndpoint?: string | null;
}

/**
 * Settings of a `certificate` auth method (issue 13): a client certificate presented over mTLS.
 * With no CA bundle, the internal CA's certificates authenticate as the identity they were issued
 * to (refused once revoked); with a bundle, certificates of those CAs authenticate as the method's
 * identity when a SAN matches `boundNames`.
 */
export interface CertificateSettings {
  jwtTtlSeconds: number;
  /** PEM CA certificates trusted by this method; null: Tessera's internal CA. */
  caCertificates: string | null;
  /** URI (SPIFFE ID) or DNS SAN patterns, `*` within a segment; one must match. Empty: any. */
  boundNames: string[];
}

/** One way of proving identity; its id is the public access id `p-…`. */
export interface AuthMethod {
  id: string;
  name: string;
  type: AuthMethodTypeName;
  identityId: string;
  settings:
    | UidSettings
    | AccessKeySettings
    | OAuthClientSettings
    | OidcFederationSettings
    | CertificateSettings;
  /** Hash of the access key (access_key methods only). */
  secretHash: string | null;
  /** The bootstrap administrator method created on first start. */
  isAdmin: boolean;
  boundCidrs: string[];
  expiresAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

/** The per-node child count limit (methods stored before it existed have the default, 100). */
export const uidChildCountLimit = (s: UidSettings): number => s.childCountLimit ?? 100;

export const isUidMethod = (m: AuthMethod): m is AuthMethod & { settings: UidSettings } =>
  m.type === 'universal_identity';

export const isOAuthClient = (m: AuthMethod): m is AuthMethod & { settings: OAuthClientSettings } =>
  m.type === 'oauth_client';

export const isOidcFederation = (m: AuthMethod): m is AuthMethod & { settings: OidcFederationSettings } =>
  m.type === 'oidc_federation';

export const isCertificateMethod = (m: AuthMethod): m is AuthMethod & { settings: CertificateSettings } =>
  m.type === 'certificate';

declare module '../shared/events.js' {
  interface DomainEvents {
    /** An auth method was created, changed or deleted (in the transaction that did it). */
    'auth_method.changed': { authMethodId: string; change: 'created' | 'updated' | 'deleted' };
  }
}
