/**
 * Wire types for the Tessera native HTTP API (v1), as described in `docs/http-api.md`.
 *
 * Typed from the route schemas: every shape the server describes is an alias of, or derived from, a type
 * of `wire.generated.ts`, which `npm run gen:sdk` generates from the server's OpenAPI document. Only
 * what the server has no schema for (the JWKS, the list of error codes) is written by hand here.
 *
 * Durations are in seconds and say so in their names; timestamps are ISO-8601 UTC strings.
 * These are plain data shapes: no behaviour, no runtime code.
 *
 * @packageDocumentation
 */

import type * as Gen from './wire.generated.js';

/** `Omit` that fails to compile when a key no longer exists in `T`. */
type OmitKnown<T, K extends keyof T> = Omit<T, K>;

/** Stable error codes the server returns in {@link ErrorBody}. Unknown codes may appear in newer servers. */
export type TesseraErrorCode =
  | 'TESSERA_VALIDATION_FAILED'
  | 'TESSERA_LEASE_QUOTA'
  | 'TESSERA_PRODUCER_FAILED'
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
  | 'TESSERA_ROLE_BUILTIN'
  | 'TESSERA_ROLE_CYCLE'
  | 'TESSERA_LAST_ADMIN'
  | 'TESSERA_ROTATION_CONFLICT'
  | 'TESSERA_PAYLOAD_TOO_LARGE'
  | 'TESSERA_UNSUPPORTED_MEDIA_TYPE'
  | 'TESSERA_RATE_LIMITED'
  | 'TESSERA_UNAVAILABLE'
  | 'TESSERA_AUDIT_UNAVAILABLE'
  | 'TESSERA_STORAGE_FULL'
  | 'TESSERA_SECRET_NAME_INVALID'
  | 'TESSERA_SECRET_VALUE_INVALID'
  | 'TESSERA_SECRET_TOO_LARGE'
  | 'TESSERA_SECRET_INTEGRITY'
  | 'TESSERA_SEALED'
  | 'TESSERA_UNSEAL_SHARE_INVALID'
  | 'TESSERA_UNSEAL_KEY_MISMATCH'
  | 'TESSERA_CONFIG_INVALID'
  | 'TESSERA_CONFIG_PLAN_STALE'
  | 'TESSERA_CONFIG_DELETE_REFUSED'
  | 'TESSERA_APPROVAL_SELF'
  | 'TESSERA_APPROVAL_NOT_APPROVER'
  | 'TESSERA_APPROVAL_CLOSED'
  | 'TESSERA_APPROVAL_REQUIRED';

type ServerError = Gen.Error['error'];

/**
 * The body of every error answer (the server's `Error` schema). The SDK also reads error bodies that
 * did not come from Tessera itself (e.g. a proxy in front of it), so `requestId` is optional here.
 */
export interface ErrorBody {
  error: OmitKnown<ServerError, 'code' | 'requestId'> & {
    code: TesseraErrorCode | (string & Record<never, never>);
    requestId?: ServerError['requestId'];
  };
}

/** A page of a listing; `nextCursor` is `null` on the last page. */
export interface Page<T> extends OmitKnown<Gen.GetV1IdentitiesResponse, 'items'> {
  items: T[];
}

// ---------------------------------------------------------------------------------------------
// Identities
// ---------------------------------------------------------------------------------------------

/** The kind of a non-human identity. */
export type IdentityKind = Gen.Identity['kind'];

/** Lifecycle state of an identity; `retired` is terminal. */
export type IdentityState = Gen.Identity['state'];

/** One non-human identity: an inventory entry. */
export type Identity = Gen.Identity;

/** Body of `POST /v1/identities`. */
export type CreateIdentityRequest = Gen.PostV1IdentitiesRequest;

/** Body of `PATCH /v1/identities/:id`. */
export type UpdateIdentityRequest = Gen.PatchV1IdentitiesByIdRequest;

/** Query of `GET /v1/identities`. */
export type ListIdentitiesQuery = Gen.GetV1IdentitiesQuery;

// ---------------------------------------------------------------------------------------------
// Auth methods
// ---------------------------------------------------------------------------------------------

type CreateAuthMethodBody = Gen.PostV1AuthMethodsRequest;

/** Auth method types the server accepts. */
export type AuthMethodType = CreateAuthMethodBody['type'];

/** What happens when a superseded UID token is used again: revoke the node's subtree, or only flag it. */
export type UidReusePolicy = NonNullable<CreateAuthMethodBody['reusePolicy']>;

/** Universal Identity settings of an auth method. */
export type UniversalIdentitySettings = NonNullable<Gen.AuthMethod['universalIdentity']>;

/** An auth method; `id` is the access id `p-…`. */
export type AuthMethod = Gen.AuthMethod;

/** Fields every auth-method creation accepts. */
export type CreateAuthMethodCommon = Pick<
  CreateAuthMethodBody,
  'name' | 'boundCidrs' | 'expiresAt' | 'identityId' | 'owner'
>;

/** Creation fields that only Universal Identity methods take. */
type UniversalIdentityOnlyField =
  | 'ttlSeconds'
  | 'childTtlLimitSeconds'
  | 'childCountLimit'
  | 'treeLength'
  | 'denyRotate'
  | 'denyInheritance'
  | 'reusePolicy'
  | 'rotationGraceSeconds';

/** Creation fields that only `oidc_federation` methods take (workload identity federation). */
type OidcFederationOnlyField =
  | 'preset'
  | 'issuer'
  | 'audience'
  | 'algorithms'
  | 'maxTokenAgeSeconds'
  | 'boundClaims'
  | 'identityTemplate'
  | 'createIdentities'
  | 'oneTimeTokens'
  | 'trustDomain'
  | 'bundleEndpoint'
  | 'jwks';

/** Creation fields that only `certificate` methods take (mTLS client certificates). */
type CertificateOnlyField = 'caCertificates' | 'boundNames';

/** Body of `POST /v1/auth-methods` for an access-key method. */
export interface CreateAccessKeyAuthMethodRequest
  extends OmitKnown<
    CreateAuthMethodBody,
    'type' | UniversalIdentityOnlyField | OidcFederationOnlyField | CertificateOnlyField
  > {
  type: Extract<AuthMethodType, 'access_key'>;
}

/** Body of `POST /v1/auth-methods` for a Universal Identity method. */
export interface CreateUniversalIdentityAuthMethodRequest
  extends OmitKnown<CreateAuthMethodBody, 'type' | OidcFederationOnlyField | CertificateOnlyField> {
  type: Extract<AuthMethodType, 'universal_identity'>;
}

/**
 * Body of `POST /v1/auth-methods` for an `oidc_federation` method: JWTs of a trusted external
 * issuer (GitHub Actions, GitLab CI, Kubernetes, SPIFFE) exchanged for sessions, no stored secret.
 */
export interface CreateOidcFederationAuthMethodRequest
  extends OmitKnown<CreateAuthMethodBody, 'type' | UniversalIdentityOnlyField | CertificateOnlyField> {
  type: Extract<AuthMethodType, 'oidc_federation'>;
}

/**
 * Body of `POST /v1/auth-methods` for a `certificate` method: mTLS client certificates of
 * Tessera's internal CA (no `caCertificates`) or of the CAs given, matched by `boundNames`.
 */
export interface CreateCertificateAuthMethodRequest
  extends OmitKnown<CreateAuthMethodBody, 'type' | UniversalIdentityOnlyField | OidcFederationOnlyField> {
  type: Extract<AuthMethodType, 'certificate'>;
}

/** Settings of an `oidc_federation` auth method, as the server shows them. */
export type OidcFederationSettings = NonNullable<Gen.AuthMethod['oidcFederation']>;

/** Body of `POST /v1/auth-methods`. */
export type CreateAuthMethodRequest =
  | CreateAccessKeyAuthMethodRequest
  | CreateUniversalIdentityAuthMethodRequest
  | CreateOidcFederationAuthMethodRequest
  | CreateCertificateAuthMethodRequest;

/** Answer of `POST /v1/auth-methods`; `accessKey` is present (once) for access-key methods. */
export type CreateAuthMethodResponse = Gen.PostV1AuthMethodsResponse;

/** Body of `PATCH /v1/auth-methods/:id`. */
export type UpdateAuthMethodRequest = Gen.PatchV1AuthMethodsByIdRequest;

/** An OAuth client (issue 12): an `oauth_client` auth method; `clientId` is its access id. */
export type OAuthClient = Gen.OAuthClient;
/** `POST /v1/oauth-clients` body. */
export type CreateOAuthClientRequest = Gen.PostV1OauthClientsRequest;
/** `POST /v1/oauth-clients` and `POST /v1/oauth-clients/:id/rotate-secret` answer: the secret is shown once. */
export type CreateOAuthClientResponse = Gen.PostV1OauthClientsResponse;
/** `PATCH /v1/oauth-clients/:id` body. */
export type UpdateOAuthClientRequest = Gen.PatchV1OauthClientsByIdRequest;
/** A registration token (ADR 0047): an RFC 7591 initial access token confined to a path; never the token itself. */
export type RegistrationToken = Gen.RegistrationToken;
/** `POST /v1/oauth/registration-tokens` body. */
export type CreateRegistrationTokenRequest = Gen.PostV1OauthRegistrationTokensRequest;
/** `POST /v1/oauth/registration-tokens` answer: `token` (`tri-…`) is shown once. */
export type CreateRegistrationTokenResponse = Gen.PostV1OauthRegistrationTokensResponse;
/** An approval request (issue 14): who asks for which exact action, who decides, and where it stands. */
export type Approval = Gen.Approval;
/** `POST /v1/approvals` body: the caller is the requester. */
export type RequestApprovalRequest = Gen.PostV1ApprovalsRequest;
/** Query of `GET /v1/approvals`. */
export type ListApprovalsQuery = Gen.GetV1ApprovalsQuery;

/** A person known from single sign-on (issue 14). */
export type Person = Gen.Person;
/** `POST /v1/login/start` answer: open `authorizationUrl`, then poll with `loginId` and `pollToken`. */
export type LoginStart = Gen.PostV1LoginStartResponse;
/** `POST /v1/login/poll` answer: `done` once, with the person's session token. */
export type LoginPoll = Gen.PostV1LoginPollResponse;

/** RFC 8414 metadata of the authorization server. */
export type OAuthServerMetadata = Gen.GetWellKnownOauthAuthorizationServerResponse;

/** An upstream MCP server behind the gateway (issue 15); agents connect to its `endpoint`. */
export type McpServer = Gen.McpServer;
/** `POST /v1/mcp-servers` body. */
export type CreateMcpServerRequest = Gen.PostV1McpServersRequest;
/** `PATCH /v1/mcp-servers/:name` body: the tool policy (rules, labels, high-impact tools), required scopes. */
export type UpdateMcpServerRequest = Gen.PatchV1McpServersByNameRequest;
/** The upstream's tool catalogue against the pinned one. */
export type McpToolCatalogue = Gen.GetV1McpServersByNameToolsResponse;
/** A registered OAuth resource server (ADR 0038): an audience `resource` may name, its scopes and token rules. */
export type ResourceServer = Gen.ResourceServer;
/** `POST /v1/oauth/resource-servers` body. */
export type CreateResourceServerRequest = Gen.PostV1OauthResourceServersRequest;
/** `PATCH /v1/oauth/resource-servers/:name` body (the identifier cannot change). */
export type UpdateResourceServerRequest = Gen.PatchV1OauthResourceServersByNameRequest;
/** The internal certificate authority (issue 13): its certificate is the trust bundle. */
export type CertificateAuthority = Gen.GetV1PkiCaResponse;
/** `POST /v1/pki/ca` body. */
export type CreateCertificateAuthorityRequest = Gen.PostV1PkiCaRequest;
/** An intermediate CA waiting for the certificate an outside root signs for its CSR (ADR 0040). */
export type PendingIntermediateCa = Gen.GetV1PkiCaIntermediateResponse;
/** `POST /v1/pki/ca/intermediate` body. */
export type CreateIntermediateCaRequest = Gen.PostV1PkiCaIntermediateRequest;
/** `POST /v1/pki/ca/intermediate/certificate` body: the signed certificate and its chain to the root. */
export type ImportIntermediateCaRequest = Gen.PostV1PkiCaIntermediateCertificateRequest;
/** A certificate profile (`/pki/<profile>` in roles). */
export type CertificateProfile = Gen.GetV1PkiProfilesByNameResponse;
/** `PUT /v1/pki/profiles/:name` body. */
export type PutCertificateProfileRequest = Gen.PutV1PkiProfilesByNameRequest;
/** `POST /v1/pki/issue/:profile` body: a PEM CSR (the key stays with the requester). */
export type IssueCertificateRequest = Gen.PostV1PkiIssueByNameRequest;
/** The issued certificate, the CA bundle, and its record. */
export type IssuedCertificate = Gen.PostV1PkiIssueByNameResponse;
/** A certificate's record (serial, SPIFFE ID, validity, revocation). */
export type CertificateRecord = Gen.GetV1PkiCertificatesBySerialResponse;

/** Query of `GET /v1/auth-methods`. */
export type ListAuthMethodsQuery = Gen.GetV1AuthMethodsQuery;

// ---------------------------------------------------------------------------------------------
// Universal Identity tokens
// ---------------------------------------------------------------------------------------------

/** A freshly issued UID token. `token` is the bearer secret `u-…`: show it once, store it safely. */
export type UidTokenIssued = Gen.PostV1UidTokensResponse;

/** Body of `POST /v1/uid/tokens` (admin: a new root). */
export type GenerateUidTokenRequest = Gen.PostV1UidTokensRequest;

/** Body of `POST /v1/uid/rotate`. */
export type RotateUidTokenRequest = Gen.PostV1UidRotateRequest;

/** Answer of `POST /v1/uid/rotate`: the new token; `pendingAck` is true in manual-ack mode. */
export type UidTokenRotated = Gen.PostV1UidRotateResponse;

/** Body of `POST /v1/uid/rotate/ack` (sent with the old token as credential). */
export type AckUidRotationRequest = Gen.PostV1UidRotateAckRequest;

/** Answer of `POST /v1/uid/rotate/ack`. */
export type AckUidRotationResponse = Gen.PostV1UidRotateAckResponse;

/** Body of `POST /v1/uid/children`. Holders send only the child settings; admins also name the parent. */
export type CreateUidChildRequest = Gen.PostV1UidChildrenRequest;

/** Answer of `POST /v1/uid/children`. */
export type UidChildIssued = Gen.PostV1UidChildrenResponse;

/** Query of `GET /v1/uid/tree` for admins; holders send none. */
export type UidTreeQuery = Gen.GetV1UidTreeQuery;

/** One node of a UID tree; `flagged` is true when a superseded token of this node was reused. */
export type UidNode = Gen.UidNode;

/** Answer of `GET /v1/uid/tree`; `truncated` is true when the server cut a very large tree short. */
export type UidTree = Gen.GetV1UidTreeResponse;

/** Body of `POST /v1/uid/revoke`: exactly one of `token` / `tokenId`. */
export type RevokeUidTokenRequest = Gen.PostV1UidRevokeRequest;

/** `self` revokes one node (its children move to its parent); `all` revokes the whole subtree. */
export type UidRevokeType = RevokeUidTokenRequest['type'];

/** Answer of `POST /v1/uid/revoke`. */
export type RevokeUidTokenResponse = Gen.PostV1UidRevokeResponse;

// ---------------------------------------------------------------------------------------------
// Authentication (credential → session token)
// ---------------------------------------------------------------------------------------------

type AuthBody = Gen.PostV1AuthRequest;

/** Exchange an access id and key. */
export interface AccessKeyAuthRequest extends Required<Pick<AuthBody, 'accessId' | 'accessKey'>> {
  accessType: Extract<AuthBody['accessType'], 'access_key'>;
}

/** Exchange a UID token; `accessId` is optional. */
export interface UniversalIdentityAuthRequest
  extends Required<Pick<AuthBody, 'uidToken'>>,
    Pick<AuthBody, 'accessId'> {
  accessType: Extract<AuthBody['accessType'], 'universal_identity'>;
}

/** Exchange a workload JWT of a trusted issuer (an `oidc_federation` method's access id). */
export interface OidcFederationAuthRequest extends Required<Pick<AuthBody, 'accessId' | 'jwt'>> {
  accessType: Extract<AuthBody['accessType'], 'oidc_federation'>;
}

/**
 * Sign in with the client certificate of the TLS connection (a `certificate` method's access id):
 * only over HTTPS with a client certificate, e.g. a `fetch` that presents one.
 */
export interface CertificateAuthRequest extends Required<Pick<AuthBody, 'accessId'>> {
  accessType: Extract<AuthBody['accessType'], 'certificate'>;
}

/** Body of `POST /v1/auth` (the server's one schema, split by `accessType`). */
export type AuthRequest =
  | AccessKeyAuthRequest
  | UniversalIdentityAuthRequest
  | OidcFederationAuthRequest
  | CertificateAuthRequest;

/** Answer of `POST /v1/auth`. `token` is the session JWT (no `t-` prefix). */
export type AuthResponse = Gen.PostV1AuthResponse;

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

/** Answer of `GET /.well-known/jwks.json` (the route has no response schema). */
export interface Jwks {
  keys: Jwk[];
}

/** Answer of `GET /healthz` (`status: 'ok'` and the server version) or of `GET /readyz`. */
export type HealthResponse = Gen.GetHealthzResponse | Gen.GetReadyzResponse;

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

/** One audit event. `reason` is the precise internal reason; `data` never holds secret values. */
export type AuditEvent = Gen.AuditEvent;

/** How an audited action ended: `failure` (e.g. a refused credential) or `denied` (by policy or limit). */
export type AuditOutcome = Gen.AuditEvent['outcome'];

/** Who acted: identity, auth method, UID node, session token id, credential hash prefix (null when unknown). */
export type AuditActor = Gen.AuditEvent['actor'];

/**
 * Query of `GET /v1/audit/events`. Without `afterSeq`: newest first, page on with `cursor`. With
 * `afterSeq`: oldest first after it (follow the ledger with the last `seq` seen).
 */
export type ListAuditEventsQuery = Gen.GetV1AuditEventsQuery;

/** Answer of `POST /v1/audit/hash`: `hmac-sha256:<hex>`, to search audit records for a value. */
export type AuditHashResponse = Gen.PostV1AuditHashResponse;

/** `POST /v1/audit/verify`: the ledger verification report. */
export type AuditLedgerReport = Gen.PostV1AuditVerifyResponse;
export type AuditArchiveResult = Gen.PostV1AuditArchiveResponse;

// ---------------------------------------------------------------------------------------------
// Leaked credentials (ADR 0020)
// ---------------------------------------------------------------------------------------------

/** `POST /v1/leaks`: credentials (or their SHA-256) found where they should not be, with where. */
export type ReportLeaksRequest = Gen.PostV1LeaksRequest;
/** One receipt per reported item: the same whatever the string was. */
export type ReportLeaksResponse = Gen.PostV1LeaksResponse;
/** The record of one leaked credential: what it was (revoked, already dead, unknown) and where it was found. */
export type LeakFinding = Gen.LeakFinding;
export type ListLeaksQuery = Gen.GetV1LeaksQuery;

// ---------------------------------------------------------------------------------------------
// Static secrets
// ---------------------------------------------------------------------------------------------

/** A static secret's metadata (never its value). */
export type SecretItem = Gen.SecretItem;

/** `text` or `json` (a JSON value must parse). */
export type SecretFormat = Gen.SecretItem['format'];

/** Metadata plus the versions held (numbers, sizes, times). */
export type SecretDescription = Gen.SecretDescription;

/** Body of `POST /v1/secrets`. */
export type CreateSecretRequest = Gen.PostV1SecretsRequest;

/** Body of `POST /v1/secrets/versions`. */
export type UpdateSecretRequest = Gen.PostV1SecretsVersionsRequest;

/** Body of `PUT /v1/secrets/approval`: mark an item approval-required (`approval`), or clear it (null). */
export type SetSecretApprovalRequest = Gen.PutV1SecretsApprovalRequest;

/** A decrypted value (`GET /v1/secrets/value`, and each item of `POST /v1/secrets/values`). */
export type SecretValue = Gen.GetV1SecretsValueResponse;

/** Query of `GET /v1/secrets`. */
export type ListSecretsQuery = Gen.GetV1SecretsQuery;

/** A page of `GET /v1/secrets`: items, the immediate sub-folders (first page), the next cursor. */
export type SecretPage = Gen.GetV1SecretsResponse;

/** Options of `DELETE /v1/secrets`. */
export type DeleteSecretOptions = Omit<Gen.DeleteV1SecretsQuery, 'name'>;

/** Answer of `DELETE /v1/secrets`. */
export type SecretDeletion = Gen.DeleteV1SecretsResponse;

/** Answer of `POST /v1/sys/kek/rotate`. */
export type KekRotation = Gen.PostV1SysKekRotateResponse;

/** Answer of `GET /v1/sys/kek`. */
export type KekStatus = Gen.GetV1SysKekResponse;

/**
 * Answer of `GET /v1/sys/seal-status` and `POST /v1/sys/unseal` (ADR 0012): `threshold` is known once
 * a first share was given; `keyId` names the root key the store is sealed under.
 */
export type SealStatus = Gen.GetV1SysSealStatusResponse;

// ---------------------------------------------------------------------------------------------
// Rotated secrets (ADR 0011)
// ---------------------------------------------------------------------------------------------

/** A rotated secret's state: accounts, schedule, failures (never a password or the admin credential). */
export type RotatedSecret = Gen.RotatedSecret;

/** Body of `POST /v1/rotated-secrets`. */
export type CreateRotatedSecretRequest = Gen.PostV1RotatedSecretsRequest;

/** `two-account` (default) or `single-account`. */
export type RotationStrategy = NonNullable<Gen.PostV1RotatedSecretsRequest['strategy']>;

/** The target kind of a rotated secret (its producer). */
export type RotatedSecretType = Gen.PostV1RotatedSecretsRequest['type'];

/** The current credential of a rotated secret (`GET /v1/rotated-secrets/value`). */
export type RotatedSecretValue = Gen.GetV1RotatedSecretsValueResponse;

/** A page of `GET /v1/rotated-secrets`. */
export type RotatedSecretPage = Gen.GetV1RotatedSecretsResponse;

/** Body of `PATCH /v1/rotated-secrets` (without `name`): schedule, grace period, admin credential. */
export type UpdateRotatedSecretRequest = Omit<Gen.PatchV1RotatedSecretsRequest, 'name'>;

// ---------------------------------------------------------------------------------------------
// Dynamic secrets and leases (ADR 0010)
// ---------------------------------------------------------------------------------------------

/** A dynamic secret (a producer): its settings without the admin password. */
export type DynamicSecret = Gen.PostV1DynamicSecretsResponse;

/** Body of `POST /v1/dynamic-secrets`. */
export type CreateDynamicSecretRequest = Gen.PostV1DynamicSecretsRequest;

/** A page of `GET /v1/dynamic-secrets`. */
export type DynamicSecretPage = Gen.GetV1DynamicSecretsResponse;

/** A credential with its lease (`POST /v1/dynamic-secrets/credentials`): the password is shown once. */
export type DynamicCredential = Gen.PostV1DynamicSecretsCredentialsResponse;

/** A lease (never a password). */
export type Lease = Gen.PostV1LeasesRenewResponse;

/** Query of `GET /v1/leases`. */
export type ListLeasesQuery = Gen.GetV1LeasesQuery;

/** A page of `GET /v1/leases`. */
export type LeasePage = Gen.GetV1LeasesResponse;

/** Answer of `POST /v1/leases/revoke`. */
export type LeaseRevocation = Gen.PostV1LeasesRevokeResponse;

/** Answer of `POST /v1/dynamic-secrets/sweep`. */
export type SweepReport = Gen.PostV1DynamicSecretsSweepResponse;

// ---------------------------------------------------------------------------------------------
// Roles and access (ADR 0008)
// ---------------------------------------------------------------------------------------------

/** A role: its rules, the roles it includes and its associations with auth methods. */
export type Role = Gen.Role;

/** A rule of a role (unique per role, rule type and path). */
export type RoleRule = Gen.PostV1RolesByNameRulesResponse;

/** A role associated with an auth method, optionally narrowed by claims. */
export type RoleAssociation = Gen.RoleAssociation;

/** One line of `GET /v1/roles`. */
export type RoleSummary = Gen.GetV1RolesResponse['items'][number];

/** Body of `POST /v1/roles`. */
export type CreateRoleRequest = Gen.PostV1RolesRequest;

/** Query of `GET /v1/roles`. */
export type ListRolesQuery = Gen.GetV1RolesQuery;

/** Body of `POST /v1/roles/:name/rules`: set (create or replace) the rule for (role, type, path). */
export type SetRoleRuleRequest = Gen.PostV1RolesByNameRulesRequest;

/** Rule types, native and Akeyless spellings (`item` or `item-rule`). */
export type RuleTypeName = Gen.PostV1RolesByNameRulesRequest['ruleType'];

/** A capability of a rule. */
export type Capability = Gen.PostV1RolesByNameRulesRequest['capabilities'][number];

/** Rule conditions: claims, source CIDRs, a UTC time window. */
export type RuleConditions = NonNullable<Gen.PostV1RolesByNameRulesRequest['conditions']>;

/** A claim filter (association sub-claims, or a rule's claim condition). */
export type ClaimFilter = Gen.RoleAssociation['claims'];

/** Body of `POST /v1/roles/:name/associations`. */
export type AssociateRoleRequest = Gen.PostV1RolesByNameAssociationsRequest;

/** Body of `POST /v1/access/explain`. */
export type ExplainAccessRequest = Gen.PostV1AccessExplainRequest;

/** Answer of `POST /v1/access/explain`. */
export type AccessExplanation = Gen.PostV1AccessExplainResponse;

/** One identity-as-code file sent to plan or apply: its path (shown in problems) and its YAML text. */
export type ConfigFileInput = Gen.PostV1ConfigPlanRequest['files'][number];

/** The value of one secret reference of the files (`env:NAME`, `file:PATH`), sent out of band (ADR 0030). */
export type ConfigSecretValue = NonNullable<Gen.PostV1ConfigPlanRequest['values']>[number];

/** Answer of `POST /v1/config/plan`: the changes, their summary and the plan's hash. */
export type ConfigPlan = Gen.ConfigPlan;

/** Body of `POST /v1/config/apply`. */
export type ConfigApplyRequest = Gen.PostV1ConfigApplyRequest;

/** Answer of `POST /v1/config/apply`: the plan run, and credentials generated once. */
export type ConfigApplyResult = Gen.PostV1ConfigApplyResponse;

/** Answer of `GET /v1/config/export`. */
export type ConfigExport = Gen.GetV1ConfigExportResponse;
// ------------------------------------------------------------------ governance (issue 16)

/** One identity of the inventory: credentials, effective and used permissions, findings, risk. */
export type InventoryEntry = Gen.GetV1InventoryByIdResponse;

/** Filters and paging of `GET /v1/inventory`. */
export type ListInventoryQuery = Gen.GetV1InventoryQuery;

/** A page of the inventory. */
export type InventoryPage = Gen.GetV1InventoryResponse;

/** Filters and format of `GET /v1/inventory/export`. */
export type ExportInventoryQuery = Gen.GetV1InventoryExportQuery;

/** The question of `GET /v1/inventory/access`: a resource type (default `item`) and path. */
export type WhoCanQuery = Gen.GetV1InventoryAccessQuery;

/** Who can reach a resource, every path to it, and escalation paths (ADR 0043). */
export type WhoCanAnswer = Gen.GetV1InventoryAccessResponse;

/** An identity's anomaly baseline and the thresholds in force (`GET /v1/inventory/:id/baseline`). */
export type IdentityBaseline = Gen.GetV1InventoryByIdBaselineResponse;

/** A posture finding, mapped to the OWASP NHI Top 10. */
export type PostureFinding = Gen.GetV1GovernanceFindingsResponse['items'][number];

/** Query of `GET /v1/governance/findings`. */
export type ListFindingsQuery = Gen.GetV1GovernanceFindingsQuery;

/** A page of findings. */
export type FindingPage = Gen.GetV1GovernanceFindingsResponse;

/** What a posture scan did. */
export type PostureScan = Gen.PostV1GovernanceScanResponse;

/** The posture policy (thresholds). */
export type PosturePolicy = Gen.GetV1GovernancePolicyResponse;

/** Body of `PUT /v1/governance/policy`. */
export type UpdatePosturePolicyRequest = Gen.PutV1GovernancePolicyRequest;

/** A role generated from observed use (and whether it was applied). */
export type NarrowedRole = Gen.PostV1InventoryByIdNarrowResponse;

/** What retiring revoked (or would revoke, in a preview). */
export type RetirementReport = Gen.PostV1InventoryByIdRetireResponse;

/** Body of `POST /v1/owners/offboard`. */
export type OffboardOwnerRequest = Gen.PostV1OwnersOffboardRequest;

/** What offboarding changed (or would change). */
export type OffboardReport = Gen.PostV1OwnersOffboardResponse;

/** Body of `POST /v1/reviews`: an access-review campaign over a scope of the inventory. */
export type CreateReviewRequest = Gen.PostV1ReviewsRequest;

/** An access-review campaign with its summary. */
export type ReviewCampaign = Gen.PostV1ReviewsResponse;

/** Query of `GET /v1/reviews`. */
export type ListReviewsQuery = Gen.GetV1ReviewsQuery;

/** A page of campaigns. */
export type ReviewPage = Gen.GetV1ReviewsResponse;

/** Query of `GET /v1/reviews/:id` (items filtered by pending, owner; paged). */
export type GetReviewQuery = Gen.GetV1ReviewsByIdQuery;

/** A campaign, its summary and a page of its items. */
export type ReviewDetail = Gen.GetV1ReviewsByIdResponse;

/** Body of `POST /v1/reviews/:id/decisions`. */
export type ReviewDecisionRequest = Gen.PostV1ReviewsByIdDecisionsRequest;

/** One identity of a campaign: its permissions and the decision. */
export type ReviewItem = Gen.PostV1ReviewsByIdDecisionsResponse;

/** What `POST /v1/reviews/:id/remind` did. */
export type ReviewRemindResult = Gen.PostV1ReviewsByIdRemindResponse;

/** The JSON report of `GET /v1/reviews/:id/report`. */
export interface ReviewReport {
  campaign: Omit<ReviewCampaign, 'summary'>;
  summary: ReviewCampaign['summary'];
  items: ReviewItem[];
}

/** A discovery source. */
export type DiscoverySource = Gen.PostV1DiscoverySourcesResponse;

/** Body of `POST /v1/discovery/sources`. */
export type CreateDiscoverySourceRequest = Gen.PostV1DiscoverySourcesRequest;

/** What a discovery run found. */
export type DiscoveryRun = Gen.PostV1DiscoverySourcesByNameRunResponse;

/** An account found on a target that Tessera did not create. */
export type DiscoveredAccount = Gen.GetV1DiscoveryAccountsResponse['items'][number];

/** Body of `POST /v1/discovery/accounts/:id/decide`. */
export type DecideDiscoveredRequest = Gen.PostV1DiscoveryAccountsByIdDecideRequest;

/** A decision's plan (preview) or outcome. */
export type DiscoveryDecision = Gen.PostV1DiscoveryAccountsByIdDecideResponse;
