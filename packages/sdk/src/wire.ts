/**
 * Wire types for the Tessera native HTTP API (v1), as described in `docs/http-api.md`.
 *
 * Durations are in seconds and say so in their names; timestamps are ISO-8601 UTC strings.
 * These are plain data shapes: no behaviour, no runtime code.
 *
 * @packageDocumentation
 */

/** Stable error codes the server returns in {@link ErrorBody}. Unknown codes may appear in newer servers. */
export type TesseraErrorCode =
  | 'TESSERA_VALIDATION_FAILED'
  | 'TESSERA_UID_TTL_LIMIT'
  | 'TESSERA_UID_DEPTH_LIMIT'
  | 'TESSERA_AUTH_FAILED'
  | 'TESSERA_UNAUTHENTICATED'
  | 'TESSERA_TOKEN_INVALID'
  | 'TESSERA_TOKEN_EXPIRED'
  | 'TESSERA_TOKEN_REVOKED'
  | 'TESSERA_FORBIDDEN'
  | 'TESSERA_UID_ROTATION_DENIED'
  | 'TESSERA_UID_INHERITANCE_DENIED'
  | 'TESSERA_NOT_FOUND'
  | 'TESSERA_ROUTE_NOT_FOUND'
  | 'TESSERA_CONFLICT'
  | 'TESSERA_ROTATION_CONFLICT'
  | 'TESSERA_PAYLOAD_TOO_LARGE'
  | 'TESSERA_UNSUPPORTED_MEDIA_TYPE'
  | 'TESSERA_RATE_LIMITED'
  | 'TESSERA_UNAVAILABLE';

/** The body of every error answer. */
export interface ErrorBody {
  error: {
    code: TesseraErrorCode | (string & Record<never, never>);
    message: string;
    requestId?: string;
    /** Optional structured details (e.g. which field failed validation). Never secrets. */
    details?: unknown;
  };
}

/** A page of a listing; `nextCursor` is `null` on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

// ---------------------------------------------------------------------------------------------
// Identities
// ---------------------------------------------------------------------------------------------

/** The kind of a non-human identity. */
export type IdentityKind =
  | 'service'
  | 'workload'
  | 'ci-pipeline'
  | 'ai-agent'
  | 'mcp-server'
  | 'device'
  | 'other';

/** Lifecycle state of an identity; `retired` is terminal. */
export type IdentityState = 'active' | 'suspended' | 'retired';

/** One non-human identity: an inventory entry. */
export interface Identity {
  id: string;
  name: string;
  kind: IdentityKind;
  owner: string;
  environment: string | null;
  tags: string[];
  state: IdentityState;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  retiredAt: string | null;
}

/** Body of `POST /v1/identities`. */
export interface CreateIdentityRequest {
  name: string;
  kind: IdentityKind;
  owner: string;
  environment?: string | null;
  tags?: string[];
  description?: string | null;
}

/** Body of `PATCH /v1/identities/:id`. */
export interface UpdateIdentityRequest {
  owner?: string;
  environment?: string | null;
  tags?: string[];
  description?: string | null;
  state?: 'active' | 'suspended';
}

/** Query of `GET /v1/identities`. */
export interface ListIdentitiesQuery {
  kind?: IdentityKind;
  owner?: string;
  tag?: string;
  state?: IdentityState;
  limit?: number;
  cursor?: string;
}

// ---------------------------------------------------------------------------------------------
// Auth methods
// ---------------------------------------------------------------------------------------------

/** Auth method types. */
export type AuthMethodType =
  | 'universal_identity'
  | 'access_key'
  | 'oauth_client'
  | 'oidc_federation'
  | 'certificate';

/** What happens when a superseded UID token is used again: revoke the node's subtree, or only flag it. */
export type UidReusePolicy = 'revoke' | 'flag';

/** Universal Identity settings of an auth method. */
export interface UniversalIdentitySettings {
  ttlSeconds: number;
  jwtTtlSeconds: number;
  childTtlLimitSeconds: number;
  treeLength: number;
  denyRotate: boolean;
  denyInheritance: boolean;
  reusePolicy: UidReusePolicy;
  rotationGraceSeconds: number;
}

/** An auth method; `id` is the access id `p-…`. */
export interface AuthMethod {
  id: string;
  name: string;
  type: AuthMethodType;
  identityId: string;
  boundCidrs: string[];
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  universalIdentity?: UniversalIdentitySettings;
}

/** Fields every auth-method creation accepts. */
export interface CreateAuthMethodCommon {
  name: string;
  boundCidrs?: string[];
  expiresAt?: string | null;
  identityId?: string;
  owner?: string;
}

/** Body of `POST /v1/auth-methods` for an access-key method. */
export interface CreateAccessKeyAuthMethodRequest extends CreateAuthMethodCommon {
  type: 'access_key';
  jwtTtlSeconds?: number;
}

/** Body of `POST /v1/auth-methods` for a Universal Identity method. */
export interface CreateUniversalIdentityAuthMethodRequest extends CreateAuthMethodCommon {
  type: 'universal_identity';
  ttlSeconds?: number;
  jwtTtlSeconds?: number;
  childTtlLimitSeconds?: number;
  treeLength?: number;
  denyRotate?: boolean;
  denyInheritance?: boolean;
  reusePolicy?: UidReusePolicy;
  rotationGraceSeconds?: number;
}

/** Body of `POST /v1/auth-methods`. */
export type CreateAuthMethodRequest =
  | CreateAccessKeyAuthMethodRequest
  | CreateUniversalIdentityAuthMethodRequest;

/** Answer of `POST /v1/auth-methods`; `accessKey` is present (once) for access-key methods. */
export interface CreateAuthMethodResponse {
  authMethod: AuthMethod;
  accessKey?: string;
}

/** Body of `PATCH /v1/auth-methods/:id`. */
export interface UpdateAuthMethodRequest {
  ttlSeconds?: number;
  jwtTtlSeconds?: number;
  childTtlLimitSeconds?: number;
  treeLength?: number;
  denyRotate?: boolean;
  denyInheritance?: boolean;
  reusePolicy?: UidReusePolicy;
  rotationGraceSeconds?: number;
  boundCidrs?: string[];
  expiresAt?: string | null;
}

/** Query of `GET /v1/auth-methods`. */
export interface ListAuthMethodsQuery {
  type?: AuthMethodType;
  limit?: number;
  cursor?: string;
}

// ---------------------------------------------------------------------------------------------
// Universal Identity tokens
// ---------------------------------------------------------------------------------------------

/** A freshly issued UID token. `token` is the bearer secret `u-…`: show it once, store it safely. */
export interface UidTokenIssued {
  token: string;
  tokenId: string;
  authMethodId: string;
  expiresAt: string;
  ttlSeconds: number;
}

/** Body of `POST /v1/uid/tokens` (admin: a new root). */
export interface GenerateUidTokenRequest {
  authMethodId?: string;
  authMethodName?: string;
  ttlSeconds?: number;
  denyRotate?: boolean;
  denyInheritance?: boolean;
  comment?: string;
}

/** Body of `POST /v1/uid/rotate`. */
export interface RotateUidTokenRequest {
  manualAck?: boolean;
}

/** Answer of `POST /v1/uid/rotate`: the new token; `pendingAck` is true in manual-ack mode. */
export interface UidTokenRotated extends UidTokenIssued {
  pendingAck: boolean;
}

/** Body of `POST /v1/uid/rotate/ack` (sent with the old token as credential). */
export interface AckUidRotationRequest {
  newToken: string;
}

/** Answer of `POST /v1/uid/rotate/ack`. */
export interface AckUidRotationResponse {
  tokenId: string;
  acknowledged: true;
}

/** Body of `POST /v1/uid/children`. Holders send only the child settings; admins also name the parent. */
export interface CreateUidChildRequest {
  ttlSeconds?: number;
  denyRotate?: boolean;
  denyInheritance?: boolean;
  comment?: string;
  authMethodId?: string;
  authMethodName?: string;
  parentTokenId?: string;
}

/** Answer of `POST /v1/uid/children`. */
export interface UidChildIssued extends UidTokenIssued {
  parentId: string | null;
  depth: number;
}

/** Query of `GET /v1/uid/tree` for admins; holders send none. */
export interface UidTreeQuery {
  authMethodId?: string;
  authMethodName?: string;
  tokenId?: string;
}

/** One node of a UID tree. */
export interface UidNode {
  id: string;
  parentId: string | null;
  depth: number;
  ttlSeconds: number;
  expiresAt: string;
  createdAt: string;
  lastRotatedAt: string | null;
  denyRotate: boolean;
  denyInheritance: boolean;
  revoked: boolean;
  revokedAt: string | null;
  /** True when a superseded token of this node was reused and the method's policy only flags it. */
  flagged?: boolean;
  comment: string | null;
  children: UidNode[];
}

/** Answer of `GET /v1/uid/tree`. */
export interface UidTree {
  authMethodId: string;
  maxDepth: number;
  numberOfTokens: number;
  /** True when the server cut a very large tree short. */
  truncated?: boolean;
  roots: UidNode[];
}

/** `self` revokes one node (its children move to its parent); `all` revokes the whole subtree. */
export type UidRevokeType = 'self' | 'all';

/** Body of `POST /v1/uid/revoke`: exactly one of `token` / `tokenId`. */
export interface RevokeUidTokenRequest {
  token?: string;
  tokenId?: string;
  type: UidRevokeType;
  authMethodId?: string;
  authMethodName?: string;
}

/** Answer of `POST /v1/uid/revoke`. */
export interface RevokeUidTokenResponse {
  tokenId: string;
  type: UidRevokeType;
  revokedCount: number;
}

// ---------------------------------------------------------------------------------------------
// Authentication (credential → session token)
// ---------------------------------------------------------------------------------------------

/** Exchange an access id and key. */
export interface AccessKeyAuthRequest {
  accessType: 'access_key';
  accessId: string;
  accessKey: string;
}

/** Exchange a UID token; `accessId` is optional. */
export interface UniversalIdentityAuthRequest {
  accessType: 'universal_identity';
  uidToken: string;
  accessId?: string;
}

/** Body of `POST /v1/auth`. */
export type AuthRequest = AccessKeyAuthRequest | UniversalIdentityAuthRequest;

/** Answer of `POST /v1/auth`. `token` is the session JWT (no `t-` prefix). */
export interface AuthResponse {
  token: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: string;
  identityId: string;
  authMethodId: string;
  uidTokenId?: string;
}

// ---------------------------------------------------------------------------------------------
// Keys and health
// ---------------------------------------------------------------------------------------------

/** One public JSON Web Key, as served in the JWKS (Ed25519: `kty: OKP`, `crv: Ed25519`). */
export interface Jwk {
  kty: string;
  kid?: string;
  crv?: string;
  x?: string;
  alg?: string;
  use?: string;
  [extra: string]: unknown;
}

/** Answer of `GET /.well-known/jwks.json`. */
export interface Jwks {
  keys: Jwk[];
}

/** Answer of `GET /healthz` and `GET /readyz`. */
export interface HealthResponse {
  status: string;
  [extra: string]: unknown;
}
