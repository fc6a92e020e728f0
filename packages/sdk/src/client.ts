/**
 * Low-level typed client for the Tessera native HTTP API (v1). One method per route; each call that
 * needs a credential takes it explicitly (a session token, with or without `t-`, or a UID token `u-…`).
 *
 * Runtime-neutral: uses only `fetch`, `AbortController` and `URL`.
 *
 * @packageDocumentation
 */

import { type CallSpec, DEFAULT_TIMEOUT_MS, type FetchLike, HttpTransport } from './client.transport.js';
import type {
  AccessExplanation,
  AckUidRotationResponse,
  Approval,
  AssociateRoleRequest,
  AuditArchiveResult,
  AuditEvent,
  AuditHashResponse,
  AuditLedgerReport,
  AuthMethod,
  AuthRequest,
  AuthResponse,
  CertificateAuthority,
  CertificateProfile,
  CertificateRecord,
  ConfigApplyRequest,
  ConfigApplyResult,
  ConfigExport,
  ConfigFileInput,
  ConfigPlan,
  ConfigSecretValue,
  CreateAccessKeyAuthMethodRequest,
  CreateAuthMethodRequest,
  CreateAuthMethodResponse,
  CreateCertificateAuthMethodRequest,
  CreateCertificateAuthorityRequest,
  CreateDiscoverySourceRequest,
  CreateDynamicSecretRequest,
  CreateIdentityRequest,
  CreateIntermediateCaRequest,
  CreateMcpServerRequest,
  CreateOAuthClientRequest,
  CreateOAuthClientResponse,
  CreateOidcFederationAuthMethodRequest,
  CreateRegistrationTokenRequest,
  CreateRegistrationTokenResponse,
  CreateResourceServerRequest,
  CreateReviewRequest,
  CreateRoleRequest,
  CreateRotatedSecretRequest,
  CreateSecretRequest,
  CreateUidChildRequest,
  CreateUniversalIdentityAuthMethodRequest,
  DecideDiscoveredRequest,
  DeleteSecretOptions,
  DiscoveredAccount,
  DiscoveryDecision,
  DiscoveryRun,
  DiscoverySource,
  DynamicCredential,
  DynamicSecret,
  DynamicSecretPage,
  ExplainAccessRequest,
  ExportInventoryQuery,
  FindingPage,
  GenerateUidTokenRequest,
  GetReviewQuery,
  HealthResponse,
  Identity,
  IdentityBaseline,
  ImportIntermediateCaRequest,
  InventoryEntry,
  InventoryPage,
  IssueCertificateRequest,
  IssuedCertificate,
  Jwks,
  KekRotation,
  KekStatus,
  LeakFinding,
  Lease,
  LeasePage,
  LeaseRevocation,
  ListApprovalsQuery,
  ListAuditEventsQuery,
  ListAuthMethodsQuery,
  ListFindingsQuery,
  ListIdentitiesQuery,
  ListInventoryQuery,
  ListLeaksQuery,
  ListLeasesQuery,
  ListReviewsQuery,
  ListRolesQuery,
  ListSecretsQuery,
  LoginPoll,
  LoginStart,
  McpServer,
  McpToolCatalogue,
  NarrowedRole,
  OAuthClient,
  OAuthServerMetadata,
  OffboardOwnerRequest,
  OffboardReport,
  Page,
  PendingIntermediateCa,
  PosturePolicy,
  PostureScan,
  PutCertificateProfileRequest,
  RegistrationToken,
  ReportLeaksRequest,
  ReportLeaksResponse,
  RequestApprovalRequest,
  ResourceServer,
  RetirementReport,
  ReviewCampaign,
  ReviewDecisionRequest,
  ReviewDetail,
  ReviewItem,
  ReviewPage,
  ReviewRemindResult,
  ReviewReport,
  RevokeUidTokenRequest,
  RevokeUidTokenResponse,
  Role,
  RoleAssociation,
  RoleRule,
  RoleSummary,
  RotatedSecret,
  RotatedSecretPage,
  RotatedSecretValue,
  RotateUidTokenRequest,
  RuleTypeName,
  SealStatus,
  SecretDeletion,
  SecretDescription,
  SecretItem,
  SecretPage,
  SecretValue,
  SetRoleRuleRequest,
  SetSecretApprovalRequest,
  SweepReport,
  UidChildIssued,
  UidTokenIssued,
  UidTokenRotated,
  UidTree,
  UidTreeQuery,
  UpdateAuthMethodRequest,
  UpdateIdentityRequest,
  UpdateMcpServerRequest,
  UpdateOAuthClientRequest,
  UpdatePosturePolicyRequest,
  UpdateResourceServerRequest,
  UpdateRotatedSecretRequest,
  UpdateSecretRequest,
  WhoCanAnswer,
  WhoCanQuery,
} from './wire.js';

export type { FetchLike } from './client.transport.js';
export { bareCredential } from './client.transport.js';

/** Options of {@link TesseraClient}. */
export interface TesseraClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8377`. A trailing slash is ignored. */
  url: string;
  /** A `fetch` implementation; defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Per-request timeout in milliseconds; default 30 000. */
  timeoutMs?: number;
  /** `User-Agent` header to send; none by default (browsers refuse to set it). */
  userAgent?: string;
}

/** Per-call options. */
export interface RequestOptions {
  /** Abort the call early. */
  signal?: AbortSignal;
}

/** Low-level client: a typed call per route of `docs/http-api.md`. Holds no credentials. */
export class TesseraClient {
  /** Normalised base URL (no trailing slash). */
  readonly url: string;
  readonly #transport: HttpTransport;

  /** @param options - see {@link TesseraClientOptions} */
  constructor(options: TesseraClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    const f = options.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f) throw new TypeError('No fetch implementation: pass options.fetch');
    this.#transport = new HttpTransport({
      url: this.url,
      fetch: f,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      userAgent: options.userAgent,
    });
  }

  // ------------------------------------------------------------------ authentication

  /** `POST /v1/auth`: exchange a credential for a session token. */
  auth(request: AuthRequest, options?: RequestOptions): Promise<AuthResponse> {
    return this.#call({ method: 'POST', path: '/v1/auth', body: request, signal: options?.signal });
  }

  /**
   * `POST /v1/auth` with a workload JWT (GitHub Actions, GitLab CI, Kubernetes, SPIFFE): the
   * `oidc_federation` method `accessId` verifies it; no stored secret is involved.
   */
  authWithJwt(accessId: string, jwt: string, options?: RequestOptions): Promise<AuthResponse> {
    return this.auth({ accessType: 'oidc_federation', accessId, jwt }, options);
  }

  // ------------------------------------------------------------------ identities

  /** `POST /v1/identities` (admin). */
  createIdentity(token: string, body: CreateIdentityRequest, options?: RequestOptions): Promise<Identity> {
    return this.#call({
      method: 'POST',
      path: '/v1/identities',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/identities` (admin). */
  listIdentities(
    token: string,
    query: ListIdentitiesQuery = {},
    options?: RequestOptions,
  ): Promise<Page<Identity>> {
    return this.#call({
      method: 'GET',
      path: '/v1/identities',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/identities/:id` (admin). */
  getIdentity(token: string, id: string, options?: RequestOptions): Promise<Identity> {
    return this.#call({
      method: 'GET',
      path: `/v1/identities/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `PATCH /v1/identities/:id` (admin). */
  updateIdentity(
    token: string,
    id: string,
    body: UpdateIdentityRequest,
    options?: RequestOptions,
  ): Promise<Identity> {
    return this.#call({
      method: 'PATCH',
      path: `/v1/identities/${seg(id)}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/identities/:id/retire` (admin). Terminal: the identity's tokens stop working at once. */
  retireIdentity(token: string, id: string, options?: RequestOptions): Promise<Identity> {
    return this.#call({
      method: 'POST',
      path: `/v1/identities/${seg(id)}/retire`,
      credential: token,
      body: {},
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ auth methods

  /** `POST /v1/auth-methods` (admin) for an access-key method: the answer carries the key, once. */
  createAuthMethod(
    token: string,
    body: CreateAccessKeyAuthMethodRequest,
    options?: RequestOptions,
  ): Promise<CreateAuthMethodResponse & { accessKey: string }>;
  /** `POST /v1/auth-methods` (admin) for a Universal Identity method. */
  createAuthMethod(
    token: string,
    body: CreateUniversalIdentityAuthMethodRequest,
    options?: RequestOptions,
  ): Promise<CreateAuthMethodResponse>;
  /** `POST /v1/auth-methods` (admin) for an `oidc_federation` method. */
  createAuthMethod(
    token: string,
    body: CreateOidcFederationAuthMethodRequest,
    options?: RequestOptions,
  ): Promise<CreateAuthMethodResponse>;
  /** `POST /v1/auth-methods` (admin) for a `certificate` (mTLS) method. */
  createAuthMethod(
    token: string,
    body: CreateCertificateAuthMethodRequest,
    options?: RequestOptions,
  ): Promise<CreateAuthMethodResponse>;
  /** `POST /v1/auth-methods` (admin). */
  createAuthMethod(
    token: string,
    body: CreateAuthMethodRequest,
    options?: RequestOptions,
  ): Promise<CreateAuthMethodResponse>;
  createAuthMethod(
    token: string,
    body: CreateAuthMethodRequest,
    options?: RequestOptions,
  ): Promise<CreateAuthMethodResponse> {
    return this.#call({
      method: 'POST',
      path: '/v1/auth-methods',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/auth-methods` (admin). */
  listAuthMethods(
    token: string,
    query: ListAuthMethodsQuery = {},
    options?: RequestOptions,
  ): Promise<Page<AuthMethod>> {
    return this.#call({
      method: 'GET',
      path: '/v1/auth-methods',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/auth-methods/:id` (admin); `id` is the access id `p-…`. */
  getAuthMethod(token: string, id: string, options?: RequestOptions): Promise<AuthMethod> {
    return this.#call({
      method: 'GET',
      path: `/v1/auth-methods/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `GET /v1/auth-methods/by-name?name=` (admin). */
  getAuthMethodByName(token: string, name: string, options?: RequestOptions): Promise<AuthMethod> {
    return this.#call({
      method: 'GET',
      path: '/v1/auth-methods/by-name',
      credential: token,
      query: { name },
      signal: options?.signal,
    });
  }

  /** `PATCH /v1/auth-methods/:id` (admin). */
  updateAuthMethod(
    token: string,
    id: string,
    body: UpdateAuthMethodRequest,
    options?: RequestOptions,
  ): Promise<AuthMethod> {
    return this.#call({
      method: 'PATCH',
      path: `/v1/auth-methods/${seg(id)}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/auth-methods/:id` (admin). Every token of the method stops working. */
  deleteAuthMethod(token: string, id: string, options?: RequestOptions): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/auth-methods/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ MCP gateway

  /** `POST /v1/mcp-servers`: registers an upstream MCP server (HTTP `url` or stdio `command`). */
  createMcpServer(token: string, body: CreateMcpServerRequest, options?: RequestOptions): Promise<McpServer> {
    return this.#call({
      method: 'POST',
      path: '/v1/mcp-servers',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/mcp-servers`. */
  async listMcpServers(token: string, options?: RequestOptions): Promise<McpServer[]> {
    const page = await this.#call<{ items: McpServer[] }>({
      method: 'GET',
      path: '/v1/mcp-servers',
      credential: token,
      signal: options?.signal,
    });
    return page.items;
  }

  /** `GET /v1/mcp-servers/:name`. */
  getMcpServer(token: string, name: string, options?: RequestOptions): Promise<McpServer> {
    return this.#call({
      method: 'GET',
      path: `/v1/mcp-servers/${seg(name)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `PATCH /v1/mcp-servers/:name`: replaces the server's tool policy and/or required scopes. */
  updateMcpServer(
    token: string,
    name: string,
    body: UpdateMcpServerRequest,
    options?: RequestOptions,
  ): Promise<McpServer> {
    return this.#call({
      method: 'PATCH',
      path: `/v1/mcp-servers/${seg(name)}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/mcp-servers/:name/tools`: the upstream's catalogue, each tool approved, changed, new or removed. */
  mcpServerTools(token: string, name: string, options?: RequestOptions): Promise<McpToolCatalogue> {
    return this.#call({
      method: 'GET',
      path: `/v1/mcp-servers/${seg(name)}/tools`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/mcp-servers/:name/approve-tools`: pins the current definitions (all new/changed, or `tools`). */
  approveMcpTools(
    token: string,
    name: string,
    tools?: string[],
    options?: RequestOptions,
  ): Promise<McpToolCatalogue> {
    return this.#call({
      method: 'POST',
      path: `/v1/mcp-servers/${seg(name)}/approve-tools`,
      credential: token,
      body: tools ? { tools } : {},
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/mcp-servers/:name`. */
  deleteMcpServer(token: string, name: string, options?: RequestOptions): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/mcp-servers/${seg(name)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ OAuth resource servers

  /** `POST /v1/oauth/resource-servers`: registers a resource server (an audience RFC 8707 `resource` may name). */
  createResourceServer(
    token: string,
    body: CreateResourceServerRequest,
    options?: RequestOptions,
  ): Promise<ResourceServer> {
    return this.#call({
      method: 'POST',
      path: '/v1/oauth/resource-servers',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/oauth/resource-servers`. */
  async listResourceServers(token: string, options?: RequestOptions): Promise<ResourceServer[]> {
    const page = await this.#call<{ items: ResourceServer[] }>({
      method: 'GET',
      path: '/v1/oauth/resource-servers',
      credential: token,
      signal: options?.signal,
    });
    return page.items;
  }

  /** `GET /v1/oauth/resource-servers/:name`. */
  getResourceServer(token: string, name: string, options?: RequestOptions): Promise<ResourceServer> {
    return this.#call({
      method: 'GET',
      path: `/v1/oauth/resource-servers/${seg(name)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `PATCH /v1/oauth/resource-servers/:name`: owner, description, scopes, TTL cap, sender constraint. */
  updateResourceServer(
    token: string,
    name: string,
    body: UpdateResourceServerRequest,
    options?: RequestOptions,
  ): Promise<ResourceServer> {
    return this.#call({
      method: 'PATCH',
      path: `/v1/oauth/resource-servers/${seg(name)}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/oauth/resource-servers/:name`: new tokens for it are refused; issued ones expire. */
  deleteResourceServer(token: string, name: string, options?: RequestOptions): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/oauth/resource-servers/${seg(name)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ OAuth clients

  /** `POST /v1/oauth-clients`: registers an OAuth client; its secret (if any) is returned once. */
  createOAuthClient(
    token: string,
    body: CreateOAuthClientRequest,
    options?: RequestOptions,
  ): Promise<CreateOAuthClientResponse> {
    return this.#call({
      method: 'POST',
      path: '/v1/oauth-clients',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/oauth/registration-tokens`: a path-scoped initial access token for RFC 7591 registration, shown once. */
  createRegistrationToken(
    token: string,
    body: CreateRegistrationTokenRequest,
    options?: RequestOptions,
  ): Promise<CreateRegistrationTokenResponse> {
    return this.#call({
      method: 'POST',
      path: '/v1/oauth/registration-tokens',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/oauth/registration-tokens`. */
  listRegistrationTokens(
    token: string,
    query: { limit?: number; cursor?: string } = {},
    options?: RequestOptions,
  ): Promise<{ items: RegistrationToken[]; nextCursor: string | null }> {
    return this.#call({
      method: 'GET',
      path: '/v1/oauth/registration-tokens',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/oauth/registration-tokens/:id` (never the token itself). */
  getRegistrationToken(token: string, id: string, options?: RequestOptions): Promise<RegistrationToken> {
    return this.#call({
      method: 'GET',
      path: `/v1/oauth/registration-tokens/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/oauth/registration-tokens/:id/revoke`: it stops working now; clients it registered stay. */
  revokeRegistrationToken(token: string, id: string, options?: RequestOptions): Promise<RegistrationToken> {
    return this.#call({
      method: 'POST',
      path: `/v1/oauth/registration-tokens/${seg(id)}/revoke`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/login/start`: a person's single sign-on (public). */
  startLogin(options?: RequestOptions): Promise<LoginStart> {
    return this.#call({ method: 'POST', path: '/v1/login/start', signal: options?.signal });
  }

  /** `POST /v1/login/poll`: `pending` until the person has signed in, then `done` with the session, once. */
  pollLogin(body: { loginId: string; pollToken: string }, options?: RequestOptions): Promise<LoginPoll> {
    return this.#call({ method: 'POST', path: '/v1/login/poll', body, signal: options?.signal });
  }

  /** `POST /v1/logout`: ends the calling session on every server. */
  logout(token: string, options?: RequestOptions): Promise<void> {
    return this.#call({ method: 'POST', path: '/v1/logout', credential: token, signal: options?.signal });
  }

  /** `POST /v1/approvals`: ask for an approval (the caller is the requester). */
  requestApproval(token: string, body: RequestApprovalRequest, options?: RequestOptions): Promise<Approval> {
    return this.#call({
      method: 'POST',
      path: '/v1/approvals',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/approvals`: the requests the caller may see (`mine`: its own and those it may decide). */
  listApprovals(
    token: string,
    query: ListApprovalsQuery = {},
    options?: RequestOptions,
  ): Promise<{ items: Approval[] }> {
    return this.#call({
      method: 'GET',
      path: '/v1/approvals',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/approvals/:id`. */
  getApproval(token: string, id: string, options?: RequestOptions): Promise<Approval> {
    return this.#call({
      method: 'GET',
      path: `/v1/approvals/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/approvals/:id/approve` or `/deny`. */
  decideApproval(
    token: string,
    id: string,
    decision: 'approve' | 'deny',
    body: { comment?: string } = {},
    options?: RequestOptions,
  ): Promise<Approval> {
    return this.#call({
      method: 'POST',
      path: `/v1/approvals/${seg(id)}/${decision}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/oauth-clients`. */
  listOAuthClients(
    token: string,
    query: { limit?: number; cursor?: string } = {},
    options?: RequestOptions,
  ): Promise<Page<OAuthClient>> {
    return this.#call({
      method: 'GET',
      path: '/v1/oauth-clients',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/oauth-clients/:id`; `id` is the `client_id`. */
  getOAuthClient(token: string, id: string, options?: RequestOptions): Promise<OAuthClient> {
    return this.#call({
      method: 'GET',
      path: `/v1/oauth-clients/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `PATCH /v1/oauth-clients/:id`. */
  updateOAuthClient(
    token: string,
    id: string,
    body: UpdateOAuthClientRequest,
    options?: RequestOptions,
  ): Promise<OAuthClient> {
    return this.#call({
      method: 'PATCH',
      path: `/v1/oauth-clients/${seg(id)}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/oauth-clients/:id`: every token it obtained stops working. */
  deleteOAuthClient(token: string, id: string, options?: RequestOptions): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/oauth-clients/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/oauth-clients/:id/rotate-secret`: the new secret, once; the old one lives `graceSeconds`. */
  rotateOAuthClientSecret(
    token: string,
    id: string,
    body: { graceSeconds?: number } = {},
    options?: RequestOptions,
  ): Promise<CreateOAuthClientResponse & { clientSecret: string }> {
    return this.#call({
      method: 'POST',
      path: `/v1/oauth-clients/${seg(id)}/rotate-secret`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /.well-known/oauth-authorization-server` (RFC 8414, public). */
  getOAuthServerMetadata(options?: RequestOptions): Promise<OAuthServerMetadata> {
    return this.#call({
      method: 'GET',
      path: '/.well-known/oauth-authorization-server',
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ universal identity

  /** `POST /v1/uid/tokens` (admin): a new root UID token. */
  generateUidToken(
    token: string,
    body: GenerateUidTokenRequest,
    options?: RequestOptions,
  ): Promise<UidTokenIssued> {
    return this.#call({
      method: 'POST',
      path: '/v1/uid/tokens',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /**
   * `POST /v1/uid/rotate` (holder). Persist the returned token before using it
   * (see `TesseraSession.rotateUidToken`, which does this for you).
   */
  rotateUidToken(
    uidToken: string,
    body: RotateUidTokenRequest = {},
    options?: RequestOptions,
  ): Promise<UidTokenRotated> {
    return this.#call({
      method: 'POST',
      path: '/v1/uid/rotate',
      credential: uidToken,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/uid/rotate/ack` (holder, with the OLD token): confirm a manual-ack rotation. */
  ackUidRotation(
    oldUidToken: string,
    newToken: string,
    options?: RequestOptions,
  ): Promise<AckUidRotationResponse> {
    return this.#call({
      method: 'POST',
      path: '/v1/uid/rotate/ack',
      credential: oldUidToken,
      body: { newToken },
      signal: options?.signal,
    });
  }

  /**
   * `POST /v1/uid/children`: as holder pass the parent `u-` token and the child settings; as admin pass
   * a session token and `authMethodId|authMethodName` plus `parentTokenId`.
   */
  createUidChild(
    credential: string,
    body: CreateUidChildRequest,
    options?: RequestOptions,
  ): Promise<UidChildIssued> {
    return this.#call({
      method: 'POST',
      path: '/v1/uid/children',
      credential,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/uid/tree`: the holder's subtree, or (admin) the tree named by the query. */
  getUidTree(credential: string, query: UidTreeQuery = {}, options?: RequestOptions): Promise<UidTree> {
    return this.#call({
      method: 'GET',
      path: '/v1/uid/tree',
      credential,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `POST /v1/uid/revoke`: holder (within its subtree) or admin. */
  revokeUidToken(
    credential: string,
    body: RevokeUidTokenRequest,
    options?: RequestOptions,
  ): Promise<RevokeUidTokenResponse> {
    return this.#call({ method: 'POST', path: '/v1/uid/revoke', credential, body, signal: options?.signal });
  }

  // ------------------------------------------------------------------ audit

  /**
   * `GET /v1/audit/events` (admin): newest first with `nextCursor`, or with `afterSeq` oldest first
   * after that sequence number (to follow the ledger).
   */
  listAuditEvents(
    token: string,
    query: ListAuditEventsQuery = {},
    options?: RequestOptions,
  ): Promise<Page<AuditEvent>> {
    return this.#call({
      method: 'GET',
      path: '/v1/audit/events',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `POST /v1/audit/hash` (admin): the audit HMAC of `value`, to search audit records for it. */
  auditHash(token: string, value: string, options?: RequestOptions): Promise<AuditHashResponse> {
    return this.#call({
      method: 'POST',
      path: '/v1/audit/hash',
      credential: token,
      body: { value },
      signal: options?.signal,
    });
  }

  /**
   * Verifies the audit chain and its signed checkpoints on the server (admin). A tampered ledger is
   * a 200 with `ok: false` and the first bad event in `problem`.
   */
  verifyAuditLedger(token: string, options?: RequestOptions): Promise<AuditLedgerReport> {
    return this.#call({
      method: 'POST',
      path: '/v1/audit/verify',
      credential: token,
      signal: options?.signal,
    });
  }

  /**
   * Exports the oldest audit events through `throughSeq` to an archive file on the server, records
   * a signed anchor of that event and prunes the exported events (admin).
   */
  archiveAuditLedger(
    token: string,
    throughSeq: number,
    options?: RequestOptions,
  ): Promise<AuditArchiveResult> {
    return this.#call({
      method: 'POST',
      path: '/v1/audit/archive',
      credential: token,
      body: { throughSeq },
      signal: options?.signal,
    });
  }

  /**
   * `POST /v1/leaks`: reports leaked credentials; each is revoked when live, its owner alerted and a
   * finding recorded (ADR 0020). The receipt does not say what a credential was: see {@link listLeaks}.
   */
  reportLeaks(
    token: string,
    body: ReportLeaksRequest,
    options?: RequestOptions,
  ): Promise<ReportLeaksResponse> {
    return this.#call({
      method: 'POST',
      path: '/v1/leaks',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/leaks`: findings of leaked credentials (list on `audit:/leaks`). */
  listLeaks(token: string, query: ListLeaksQuery = {}, options?: RequestOptions): Promise<Page<LeakFinding>> {
    return this.#call({
      method: 'GET',
      path: '/v1/leaks',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ static secrets

  /** `POST /v1/secrets`: a new item with its first version (409 when the name is taken). */
  createSecret(token: string, body: CreateSecretRequest, options?: RequestOptions): Promise<SecretItem> {
    return this.#call({
      method: 'POST',
      path: '/v1/secrets',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/secrets/value`: the latest value of `name`, or `version`. Every read is audited. */
  getSecretValue(
    token: string,
    name: string,
    version?: number,
    options?: RequestOptions,
  ): Promise<SecretValue> {
    return this.#call({
      method: 'GET',
      path: '/v1/secrets/value',
      credential: token,
      query: version === undefined ? { name } : { name, version },
      signal: options?.signal,
    });
  }

  /** `POST /v1/secrets/values`: the latest values of several items, in the order asked; all or nothing. */
  getSecretValues(token: string, names: readonly string[], options?: RequestOptions): Promise<SecretValue[]> {
    return this.#call<{ items: SecretValue[] }>({
      method: 'POST',
      path: '/v1/secrets/values',
      credential: token,
      body: { names: [...names] },
      signal: options?.signal,
    }).then((r) => r.items);
  }

  /** `POST /v1/secrets/versions`: a new version; `expectedVersion` makes it conditional (409). */
  updateSecretValue(token: string, body: UpdateSecretRequest, options?: RequestOptions): Promise<SecretItem> {
    return this.#call({
      method: 'POST',
      path: '/v1/secrets/versions',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `PUT /v1/secrets/approval`: every read of the item then needs an approved grant; null clears the mark. */
  setSecretApproval(
    token: string,
    body: SetSecretApprovalRequest,
    options?: RequestOptions,
  ): Promise<SecretItem> {
    return this.#call({
      method: 'PUT',
      path: '/v1/secrets/approval',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/secrets`: the items in a folder (recursive by default), paged; only what the caller may list. */
  listSecrets(token: string, query: ListSecretsQuery = {}, options?: RequestOptions): Promise<SecretPage> {
    return this.#call({
      method: 'GET',
      path: '/v1/secrets',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/secrets/describe`: metadata and versions, never the value. */
  describeSecret(token: string, name: string, options?: RequestOptions): Promise<SecretDescription> {
    return this.#call({
      method: 'GET',
      path: '/v1/secrets/describe',
      credential: token,
      query: { name },
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/secrets`: restorable for `recoveryDays` (default 7), or destroyed `immediately`. */
  deleteSecret(
    token: string,
    name: string,
    opts: DeleteSecretOptions = {},
    options?: RequestOptions,
  ): Promise<SecretDeletion> {
    return this.#call({
      method: 'DELETE',
      path: '/v1/secrets',
      credential: token,
      query: { name, ...opts },
      signal: options?.signal,
    });
  }

  /** `POST /v1/secrets/restore`: undo a deletion within its recovery window. */
  restoreSecret(token: string, name: string, options?: RequestOptions): Promise<SecretItem> {
    return this.#call({
      method: 'POST',
      path: '/v1/secrets/restore',
      credential: token,
      body: { name },
      signal: options?.signal,
    });
  }

  /** `POST /v1/sys/kek/rotate` (operator): a new key-encryption key; existing data keys are re-wrapped in the background. */
  rotateSecretKek(token: string, options?: RequestOptions): Promise<KekRotation> {
    return this.#call({
      method: 'POST',
      path: '/v1/sys/kek/rotate',
      credential: token,
      body: {},
      signal: options?.signal,
    });
  }

  /** `GET /v1/sys/kek` (operator): the active KEK version and how many items each version wraps. */
  secretKekStatus(token: string, options?: RequestOptions): Promise<KekStatus> {
    return this.#call({ method: 'GET', path: '/v1/sys/kek', credential: token, signal: options?.signal });
  }

  /** `GET /v1/sys/seal-status` (public): whether the server waits for root-key shares, and how many it has. */
  sealStatus(options?: RequestOptions): Promise<SealStatus> {
    return this.#call({ method: 'GET', path: '/v1/sys/seal-status', signal: options?.signal });
  }

  /**
   * `POST /v1/sys/unseal` (public, sealed server only): gives one root-key share; the answer says how
   * many of how many are in, and `sealed: false` once the key is rebuilt (ADR 0012).
   */
  unseal(share: string, options?: RequestOptions): Promise<SealStatus> {
    return this.#call({ method: 'POST', path: '/v1/sys/unseal', body: { share }, signal: options?.signal });
  }

  // ------------------------------------------------------------------ rotated secrets

  /**
   * `POST /v1/rotated-secrets`: Tessera takes over the target's accounts and rotates their credential
   * (409 when the item name is taken, 503 when the target cannot be reached). Never returns a credential.
   */
  createRotatedSecret(
    token: string,
    body: CreateRotatedSecretRequest,
    options?: RequestOptions,
  ): Promise<RotatedSecret> {
    return this.#call({
      method: 'POST',
      path: '/v1/rotated-secrets',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/rotated-secrets/value`: the current credential. Every read is audited (never the password). */
  getRotatedSecretValue(token: string, name: string, options?: RequestOptions): Promise<RotatedSecretValue> {
    return this.#call({
      method: 'GET',
      path: '/v1/rotated-secrets/value',
      credential: token,
      query: { name },
      signal: options?.signal,
    });
  }

  /**
   * `POST /v1/rotated-secrets/rotate`: rotate now. 409 while a rotation runs or the previous grace period
   * does (`details.retryAfterSeconds`); 503 when the target fails (the last good credential is kept).
   */
  rotateSecret(token: string, name: string, options?: RequestOptions): Promise<RotatedSecret> {
    return this.#call({
      method: 'POST',
      path: '/v1/rotated-secrets/rotate',
      credential: token,
      body: { name },
      signal: options?.signal,
    });
  }

  /** `GET /v1/rotated-secrets/describe`: accounts, schedule and failures, never a credential. */
  describeRotatedSecret(token: string, name: string, options?: RequestOptions): Promise<RotatedSecret> {
    return this.#call({
      method: 'GET',
      path: '/v1/rotated-secrets/describe',
      credential: token,
      query: { name },
      signal: options?.signal,
    });
  }

  /** `GET /v1/rotated-secrets`: the rotated secrets the caller may list, paged. */
  listRotatedSecrets(
    token: string,
    query: { prefix?: string; limit?: number; cursor?: string } = {},
    options?: RequestOptions,
  ): Promise<RotatedSecretPage> {
    return this.#call({
      method: 'GET',
      path: '/v1/rotated-secrets',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /**
   * `PATCH /v1/rotated-secrets`: change the schedule (`intervalSeconds: null`: on demand only), the
   * grace period or the administrator credential (checked against the target first: 422 when refused).
   */
  updateRotatedSecret(
    token: string,
    name: string,
    changes: UpdateRotatedSecretRequest,
    options?: RequestOptions,
  ): Promise<RotatedSecret> {
    return this.#call({
      method: 'PATCH',
      path: '/v1/rotated-secrets',
      credential: token,
      body: { ...changes, name },
      signal: options?.signal,
    });
  }

  /**
   * `DELETE /v1/rotated-secrets`: the rotation stops for good; the accounts stay on the target as they
   * are (read the value first if it is still needed).
   */
  deleteRotatedSecret(token: string, name: string, options?: RequestOptions): Promise<RotatedSecret> {
    return this.#call({
      method: 'DELETE',
      path: '/v1/rotated-secrets',
      credential: token,
      query: { name },
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ dynamic secrets and leases

  /** `POST /v1/dynamic-secrets`: a producer; the admin credential is sealed and never returned. */
  createDynamicSecret(
    token: string,
    body: CreateDynamicSecretRequest,
    options?: RequestOptions,
  ): Promise<DynamicSecret> {
    return this.#call({
      method: 'POST',
      path: '/v1/dynamic-secrets',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/dynamic-secrets/describe`: settings without the admin password. */
  describeDynamicSecret(token: string, name: string, options?: RequestOptions): Promise<DynamicSecret> {
    return this.#call({
      method: 'GET',
      path: '/v1/dynamic-secrets/describe',
      credential: token,
      query: { name },
      signal: options?.signal,
    });
  }

  /** `GET /v1/dynamic-secrets`: the dynamic secrets the caller may list, paged. */
  listDynamicSecrets(
    token: string,
    query: { prefix?: string; limit?: number; cursor?: string } = {},
    options?: RequestOptions,
  ): Promise<DynamicSecretPage> {
    return this.#call({
      method: 'GET',
      path: '/v1/dynamic-secrets',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/dynamic-secrets`: 409 while it has live leases, unless `revokeLeases`. */
  deleteDynamicSecret(
    token: string,
    name: string,
    opts: { revokeLeases?: boolean } = {},
    options?: RequestOptions,
  ): Promise<DynamicSecret> {
    return this.#call({
      method: 'DELETE',
      path: '/v1/dynamic-secrets',
      credential: token,
      query: { name, ...opts },
      signal: options?.signal,
    });
  }

  /** `POST /v1/dynamic-secrets/credentials`: a new account and its lease; the password is shown once. */
  getDynamicSecretValue(
    token: string,
    name: string,
    opts: { ttlSeconds?: number } = {},
    options?: RequestOptions,
  ): Promise<DynamicCredential> {
    return this.#call({
      method: 'POST',
      path: '/v1/dynamic-secrets/credentials',
      credential: token,
      body: { name, ...opts },
      signal: options?.signal,
    });
  }

  /** `POST /v1/dynamic-secrets/sweep`: accounts matching the prefix with no live lease (dropped if `drop`). */
  sweepDynamicSecret(
    token: string,
    name: string,
    opts: { drop?: boolean } = {},
    options?: RequestOptions,
  ): Promise<SweepReport> {
    return this.#call({
      method: 'POST',
      path: '/v1/dynamic-secrets/sweep',
      credential: token,
      body: { name, ...opts },
      signal: options?.signal,
    });
  }

  /** `GET /v1/leases`: by item, identity or state (e.g. `revoke_failed`), paged. */
  listLeases(token: string, query: ListLeasesQuery = {}, options?: RequestOptions): Promise<LeasePage> {
    return this.#call({
      method: 'GET',
      path: '/v1/leases',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `POST /v1/leases/renew`: never past the lease's maximum. */
  renewLease(
    token: string,
    leaseId: string,
    opts: { incrementSeconds?: number } = {},
    options?: RequestOptions,
  ): Promise<Lease> {
    return this.#call({
      method: 'POST',
      path: '/v1/leases/renew',
      credential: token,
      body: { leaseId, ...opts },
      signal: options?.signal,
    });
  }

  /** `POST /v1/leases/revoke`: drops the account and terminates its sessions now. */
  revokeLease(token: string, leaseId: string, options?: RequestOptions): Promise<LeaseRevocation> {
    return this.#call({
      method: 'POST',
      path: '/v1/leases/revoke',
      credential: token,
      body: { leaseId },
      signal: options?.signal,
    });
  }

  /** `POST /v1/leases/revoke-prefix`: every live lease under an item-name prefix and/or of an identity (revoked by the reaper at once). */
  revokeLeases(
    token: string,
    by: { prefix?: string; identityId?: string },
    options?: RequestOptions,
  ): Promise<{ marked: number }> {
    return this.#call({
      method: 'POST',
      path: '/v1/leases/revoke-prefix',
      credential: token,
      body: by,
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ roles and access

  /** `POST /v1/roles`: a new role with no rules. */
  createRole(token: string, body: CreateRoleRequest, options?: RequestOptions): Promise<Role> {
    return this.#call({
      method: 'POST',
      path: '/v1/roles',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/roles`: roles by name, with their rule and association counts. */
  listRoles(token: string, query: ListRolesQuery = {}, options?: RequestOptions): Promise<Page<RoleSummary>> {
    return this.#call({
      method: 'GET',
      path: '/v1/roles',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/roles/:name`: the role with its rules, included roles and associations. */
  getRole(token: string, name: string, options?: RequestOptions): Promise<Role> {
    return this.#call({
      method: 'GET',
      path: `/v1/roles/${seg(name)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/roles/:name`: the role, its rules and associations (409 for the built-in role). */
  deleteRole(token: string, name: string, options?: RequestOptions): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/roles/${seg(name)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /**
   * `POST /v1/roles/:name/rules`: sets the rule for (role, rule type, path); calling again for the
   * same triple replaces its capabilities, expiry and conditions.
   */
  setRoleRule(
    token: string,
    role: string,
    body: SetRoleRuleRequest,
    options?: RequestOptions,
  ): Promise<RoleRule> {
    return this.#call({
      method: 'POST',
      path: `/v1/roles/${seg(role)}/rules`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/roles/:name/rules?ruleType=&path=` (404 when there is no such rule). */
  deleteRoleRule(
    token: string,
    role: string,
    rule: { ruleType: RuleTypeName; path: string },
    options?: RequestOptions,
  ): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/roles/${seg(role)}/rules`,
      credential: token,
      query: { ruleType: rule.ruleType, path: rule.path },
      signal: options?.signal,
    });
  }

  /** `POST /v1/roles/:name/includes`: the role includes `included` (409 on a cycle). */
  includeRole(token: string, role: string, included: string, options?: RequestOptions): Promise<Role> {
    return this.#call({
      method: 'POST',
      path: `/v1/roles/${seg(role)}/includes`,
      credential: token,
      body: { role: included },
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/roles/:name/includes/:included`. */
  excludeRole(token: string, role: string, included: string, options?: RequestOptions): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/roles/${seg(role)}/includes/${seg(included)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/roles/:name/associations`: associate with an auth method, optionally narrowed by claims. */
  associateRole(
    token: string,
    role: string,
    body: AssociateRoleRequest,
    options?: RequestOptions,
  ): Promise<RoleAssociation> {
    return this.#call({
      method: 'POST',
      path: `/v1/roles/${seg(role)}/associations`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `DELETE /v1/role-associations/:id` (409 for the last association granting admin). */
  deleteRoleAssociation(token: string, id: string, options?: RequestOptions): Promise<void> {
    return this.#call({
      method: 'DELETE',
      path: `/v1/role-associations/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /**
   * `POST /v1/access/explain`: which rule (role, association) allows or denies `action` on `path`,
   * for the caller, or for another session token in `body.token` (needs read on role:/*).
   */
  explainAccess(
    token: string,
    body: ExplainAccessRequest,
    options?: RequestOptions,
  ): Promise<AccessExplanation> {
    return this.#call({
      method: 'POST',
      path: '/v1/access/explain',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ governance (issue 16)

  /** `GET /v1/inventory`: a page of the inventory, filtered. */
  listInventory(
    token: string,
    query: ListInventoryQuery = {},
    options?: RequestOptions,
  ): Promise<InventoryPage> {
    return this.#call({
      method: 'GET',
      path: '/v1/inventory',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/inventory/:id/baseline`: the identity's anomaly baseline and thresholds. */
  getIdentityBaseline(token: string, id: string, options?: RequestOptions): Promise<IdentityBaseline> {
    return this.#call({
      method: 'GET',
      path: `/v1/inventory/${seg(id)}/baseline`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `GET /v1/inventory/access`: who can reach a resource, through which paths; escalation paths. */
  whoCan(token: string, query: WhoCanQuery, options?: RequestOptions): Promise<WhoCanAnswer> {
    return this.#call({
      method: 'GET',
      path: '/v1/inventory/access',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/inventory/:id`: one identity with credentials, permissions, use, findings and risk. */
  getInventoryEntry(token: string, id: string, options?: RequestOptions): Promise<InventoryEntry> {
    return this.#call({
      method: 'GET',
      path: `/v1/inventory/${seg(id)}`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `GET /v1/inventory/export`: the whole inventory; CSV text with `format: 'csv'`. */
  exportInventory(
    token: string,
    query: ExportInventoryQuery = {},
    options?: RequestOptions,
  ): Promise<{ items: InventoryEntry[] } | string> {
    return this.#call({
      method: 'GET',
      path: '/v1/inventory/export',
      credential: token,
      query: { ...query },
      raw: query.format === 'csv',
      signal: options?.signal,
    });
  }

  /** `POST /v1/inventory/:id/retire`: retire and revoke every credential (or `preview`). */
  retireInventoryIdentity(
    token: string,
    id: string,
    body: { preview?: boolean } = {},
    options?: RequestOptions,
  ): Promise<RetirementReport> {
    return this.#call({
      method: 'POST',
      path: `/v1/inventory/${seg(id)}/retire`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/inventory/:id/narrow`: a role from observed use; `apply` puts it in place. */
  narrowRole(
    token: string,
    id: string,
    body: { apply?: boolean } = {},
    options?: RequestOptions,
  ): Promise<NarrowedRole> {
    return this.#call({
      method: 'POST',
      path: `/v1/inventory/${seg(id)}/narrow`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/inventory/:id/owner`: assign an owner. */
  assignOwner(
    token: string,
    id: string,
    owner: string,
    options?: RequestOptions,
  ): Promise<{ identityId: string; owner: string }> {
    return this.#call({
      method: 'POST',
      path: `/v1/inventory/${seg(id)}/owner`,
      credential: token,
      body: { owner },
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ access reviews (issue 16)

  /** `POST /v1/reviews`: start an access-review campaign. */
  createReview(token: string, body: CreateReviewRequest, options?: RequestOptions): Promise<ReviewCampaign> {
    return this.#call({
      method: 'POST',
      path: '/v1/reviews',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/reviews`: campaigns (paged). */
  listReviews(token: string, query: ListReviewsQuery = {}, options?: RequestOptions): Promise<ReviewPage> {
    return this.#call({
      method: 'GET',
      path: '/v1/reviews',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/reviews/:id`: a campaign with its summary and a page of its items. */
  getReview(
    token: string,
    id: string,
    query: GetReviewQuery = {},
    options?: RequestOptions,
  ): Promise<ReviewDetail> {
    return this.#call({
      method: 'GET',
      path: `/v1/reviews/${seg(id)}`,
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `POST /v1/reviews/:id/decisions`: keep, narrow or revoke one identity's permissions. */
  decideReview(
    token: string,
    id: string,
    body: ReviewDecisionRequest,
    options?: RequestOptions,
  ): Promise<ReviewItem> {
    return this.#call({
      method: 'POST',
      path: `/v1/reviews/${seg(id)}/decisions`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/reviews/:id/remind`: remind owners now; past the due date, apply the consequence. */
  remindReview(token: string, id: string, options?: RequestOptions): Promise<ReviewRemindResult> {
    return this.#call({
      method: 'POST',
      path: `/v1/reviews/${seg(id)}/remind`,
      credential: token,
      signal: options?.signal,
    });
  }

  /** `GET /v1/reviews/:id/report`: the report; CSV text with `format: 'csv'`. */
  reviewReport(
    token: string,
    id: string,
    format: 'json' | 'csv' = 'json',
    options?: RequestOptions,
  ): Promise<ReviewReport | string> {
    return this.#call({
      method: 'GET',
      path: `/v1/reviews/${seg(id)}/report`,
      credential: token,
      query: { format },
      raw: format === 'csv',
      signal: options?.signal,
    });
  }

  /** `POST /v1/owners/offboard`: reassign (`to`) and/or `suspend` every identity of an owner. */
  offboardOwner(
    token: string,
    body: OffboardOwnerRequest,
    options?: RequestOptions,
  ): Promise<OffboardReport> {
    return this.#call({
      method: 'POST',
      path: '/v1/owners/offboard',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/governance/scan`: run a posture scan now. */
  runPostureScan(token: string, options?: RequestOptions): Promise<PostureScan> {
    return this.#call({
      method: 'POST',
      path: '/v1/governance/scan',
      credential: token,
      body: {},
      signal: options?.signal,
    });
  }

  /** `GET /v1/governance/findings`: findings of the last scan. */
  listFindings(token: string, query: ListFindingsQuery = {}, options?: RequestOptions): Promise<FindingPage> {
    return this.#call({
      method: 'GET',
      path: '/v1/governance/findings',
      credential: token,
      query: { ...query },
      signal: options?.signal,
    });
  }

  /** `GET /v1/governance/policy`. */
  getPosturePolicy(token: string, options?: RequestOptions): Promise<PosturePolicy> {
    return this.#call({
      method: 'GET',
      path: '/v1/governance/policy',
      credential: token,
      signal: options?.signal,
    });
  }

  /** `PUT /v1/governance/policy`: change thresholds. */
  updatePosturePolicy(
    token: string,
    body: UpdatePosturePolicyRequest,
    options?: RequestOptions,
  ): Promise<PosturePolicy> {
    return this.#call({
      method: 'PUT',
      path: '/v1/governance/policy',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/discovery/sources`. */
  addDiscoverySource(
    token: string,
    body: CreateDiscoverySourceRequest,
    options?: RequestOptions,
  ): Promise<DiscoverySource> {
    return this.#call({
      method: 'POST',
      path: '/v1/discovery/sources',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/discovery/sources`. */
  listDiscoverySources(token: string, options?: RequestOptions): Promise<{ items: DiscoverySource[] }> {
    return this.#call({
      method: 'GET',
      path: '/v1/discovery/sources',
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/discovery/sources/:name/run`. */
  runDiscovery(token: string, source: string, options?: RequestOptions): Promise<DiscoveryRun> {
    return this.#call({
      method: 'POST',
      path: `/v1/discovery/sources/${seg(source)}/run`,
      credential: token,
      body: {},
      signal: options?.signal,
    });
  }

  /** `GET /v1/discovery/accounts`. */
  listDiscoveredAccounts(
    token: string,
    source?: string,
    options?: RequestOptions,
  ): Promise<{ items: DiscoveredAccount[] }> {
    return this.#call({
      method: 'GET',
      path: '/v1/discovery/accounts',
      credential: token,
      query: { source },
      signal: options?.signal,
    });
  }

  /** `POST /v1/discovery/accounts/:id/decide`: adopt, replace or delete (or `preview`). */
  decideDiscoveredAccount(
    token: string,
    id: string,
    body: DecideDiscoveredRequest,
    options?: RequestOptions,
  ): Promise<DiscoveryDecision> {
    return this.#call({
      method: 'POST',
      path: `/v1/discovery/accounts/${seg(id)}/decide`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  // ------------------------------------------------------------------ public endpoints

  /** `GET /.well-known/jwks.json`: the session-token verification keys. */
  jwks(options?: RequestOptions): Promise<Jwks> {
    return this.#call({ method: 'GET', path: '/.well-known/jwks.json', signal: options?.signal });
  }

  // ------------------------------------------------------------------ identity as code

  /** `POST /v1/config/plan`: what applying these files would change (ADR 0021). */
  planConfig(
    token: string,
    files: ConfigFileInput[],
    values?: ConfigSecretValue[],
    options?: RequestOptions,
  ): Promise<ConfigPlan> {
    return this.#call({
      method: 'POST',
      path: '/v1/config/plan',
      credential: token,
      body: values && values.length > 0 ? { files, values } : { files },
      signal: options?.signal,
    });
  }

  /** `POST /v1/config/apply`: applies the files in one transaction (refused on any problem). */
  applyConfig(token: string, body: ConfigApplyRequest, options?: RequestOptions): Promise<ConfigApplyResult> {
    return this.#call({
      method: 'POST',
      path: '/v1/config/apply',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/config/export`: the live configuration as one document of the file format. */
  exportConfig(token: string, options?: RequestOptions): Promise<ConfigExport> {
    return this.#call({
      method: 'GET',
      path: '/v1/config/export',
      credential: token,
      signal: options?.signal,
    });
  }

  /** `GET /healthz`: liveness. */
  health(options?: RequestOptions): Promise<HealthResponse> {
    return this.#call({ method: 'GET', path: '/healthz', signal: options?.signal });
  }

  /** `GET /readyz`: readiness (store reachable). */
  ready(options?: RequestOptions): Promise<HealthResponse> {
    return this.#call({ method: 'GET', path: '/readyz', signal: options?.signal });
  }

  /** `GET /v1/pki/ca` (public): the internal CA; `certificatePem` is the trust bundle. */
  getCertificateAuthority(options?: RequestOptions): Promise<CertificateAuthority> {
    return this.#call({ method: 'GET', path: '/v1/pki/ca', signal: options?.signal });
  }

  /** `POST /v1/pki/ca` (admin): creates the internal CA; its key never leaves the server. */
  createCertificateAuthority(
    token: string,
    body: CreateCertificateAuthorityRequest,
    options?: RequestOptions,
  ): Promise<CertificateAuthority> {
    return this.#call({
      method: 'POST',
      path: '/v1/pki/ca',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/pki/ca/intermediate` (admin): makes an intermediate CA's key (sealed) and returns its CSR. */
  createIntermediateCa(
    token: string,
    body: CreateIntermediateCaRequest,
    options?: RequestOptions,
  ): Promise<PendingIntermediateCa> {
    return this.#call({
      method: 'POST',
      path: '/v1/pki/ca/intermediate',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `GET /v1/pki/ca/intermediate` (admin): the intermediate CA waiting for its certificate, with its CSR. */
  getPendingIntermediateCa(token: string, options?: RequestOptions): Promise<PendingIntermediateCa> {
    return this.#call({
      method: 'GET',
      path: '/v1/pki/ca/intermediate',
      credential: token,
      signal: options?.signal,
    });
  }

  /** `POST /v1/pki/ca/intermediate/certificate` (admin): imports the signed certificate; the CA becomes active. */
  importIntermediateCa(
    token: string,
    body: ImportIntermediateCaRequest,
    options?: RequestOptions,
  ): Promise<CertificateAuthority> {
    return this.#call({
      method: 'POST',
      path: '/v1/pki/ca/intermediate/certificate',
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `PUT /v1/pki/profiles/:name`: creates or changes a certificate profile. */
  putCertificateProfile(
    token: string,
    name: string,
    body: PutCertificateProfileRequest,
    options?: RequestOptions,
  ): Promise<CertificateProfile> {
    return this.#call({
      method: 'PUT',
      path: `/v1/pki/profiles/${seg(name)}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/pki/issue/:profile`: a certificate for the caller's identity from a CSR. */
  issueCertificate(
    token: string,
    profile: string,
    body: IssueCertificateRequest,
    options?: RequestOptions,
  ): Promise<IssuedCertificate> {
    return this.#call({
      method: 'POST',
      path: `/v1/pki/issue/${seg(profile)}`,
      credential: token,
      body,
      signal: options?.signal,
    });
  }

  /** `POST /v1/pki/certificates/:serial/revoke`. */
  revokeCertificate(token: string, serial: string, options?: RequestOptions): Promise<CertificateRecord> {
    return this.#call({
      method: 'POST',
      path: `/v1/pki/certificates/${seg(serial)}/revoke`,
      credential: token,
      signal: options?.signal,
    });
  }

  #call<T>(spec: CallSpec): Promise<T> {
    return this.#transport.call<T>(spec);
  }
}

function seg(value: string): string {
  return encodeURIComponent(value);
}
