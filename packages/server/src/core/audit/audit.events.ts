/**
 * The catalogue of audit event types (version 1 of their `data`): what each records and which actor
 * fields it must carry. Tests hold every emitted event to it; a new event type starts here.
 */
export interface EventTypeSpec {
  description: string;
  /** Actor fields that must be present (non-null). */
  actor: ReadonlyArray<'identityId' | 'authMethodId' | 'uidNodeId' | 'tokenId' | 'credentialRef'>;
  /** Fields of `data` that must be present. */
  data: readonly string[];
  outcomes: ReadonlyArray<'success' | 'failure' | 'denied'>;
  /** Whether `reason` must be set (the precise internal reason for a refusal). */
  reason: boolean;
}

const admin = ['identityId', 'authMethodId', 'tokenId'] as const;

export const AUDIT_EVENT_TYPES = {
  'auth.succeeded': {
    description:
      'A credential was exchanged for a session token (oidc_federation: `federation` holds the issuer, subject and matched claims, never the JWT).',
    actor: ['identityId', 'authMethodId', 'tokenId', 'credentialRef'],
    data: ['accessType', 'expiresAt'],
    outcomes: ['success'],
    reason: false,
  },
  'auth.failed': {
    description:
      'A credential presented for exchange was refused (the reason is only here; oidc_federation: `federation` holds the issuer and, when known, the subject and the failing claim).',
    actor: [],
    data: ['accessType'],
    outcomes: ['failure'],
    reason: true,
  },
  'auth.rate_limited': {
    description: 'An exchange was refused because its source failed too often.',
    actor: [],
    data: ['accessType'],
    outcomes: ['denied'],
    reason: true,
  },
  'access.denied': {
    description: 'A request was refused by policy; repeats within a minute are one event with `repeated`.',
    actor: ['identityId', 'authMethodId'],
    data: ['action', 'resourceType'],
    outcomes: ['denied'],
    reason: true,
  },
  'access.granted': {
    description: 'A read was allowed by policy (writes are recorded by the change they make).',
    actor: ['identityId', 'authMethodId'],
    data: ['action', 'resourceType', 'rule'],
    outcomes: ['success'],
    reason: false,
  },
  'identity.created': {
    description: 'An identity was created.',
    actor: admin,
    data: ['identityId', 'kind', 'owner'],
    outcomes: ['success'],
    reason: false,
  },
  'identity.updated': {
    description: 'An identity was changed.',
    actor: admin,
    data: ['identityId', 'changed'],
    outcomes: ['success'],
    reason: false,
  },
  'identity.retired': {
    description: 'An identity was retired.',
    actor: admin,
    data: ['identityId'],
    outcomes: ['success'],
    reason: false,
  },
  'auth_method.created': {
    description: 'An auth method was created.',
    actor: [],
    data: ['authMethodId', 'methodType', 'identityId'],
    outcomes: ['success'],
    reason: false,
  },
  'auth_method.updated': {
    description: 'An auth method was changed.',
    actor: admin,
    data: ['authMethodId', 'changed'],
    outcomes: ['success'],
    reason: false,
  },
  'auth_method.deleted': {
    description: 'An auth method was deleted and its tokens revoked.',
    actor: admin,
    data: ['authMethodId', 'revokedUidNodes'],
    outcomes: ['success'],
    reason: false,
  },
  'uid.token.generated': {
    description: 'A root UID token was generated.',
    actor: admin,
    data: ['nodeId', 'ttlSeconds'],
    outcomes: ['success', 'denied', 'failure'],
    reason: false,
  },
  'uid.token.rotated': {
    description: 'A UID token was rotated, or a rotation was refused.',
    actor: ['uidNodeId', 'credentialRef'],
    data: [],
    outcomes: ['success', 'failure', 'denied'],
    reason: false,
  },
  'uid.token.rotation_acknowledged': {
    description: 'A manual-ack rotation was acknowledged.',
    actor: ['uidNodeId', 'credentialRef'],
    data: ['nodeId'],
    outcomes: ['success', 'failure'],
    reason: false,
  },
  'uid.token.child_created': {
    description: 'A child UID token was created, or refused.',
    actor: [],
    data: [],
    outcomes: ['success', 'failure', 'denied'],
    reason: false,
  },
  'uid.token.revoked': {
    description: 'A UID token (self) or subtree (all) was revoked.',
    actor: [],
    data: [],
    outcomes: ['success', 'failure', 'denied'],
    reason: false,
  },
  'uid.token.reuse_detected': {
    description: 'A rotated-away UID token was presented again: a theft signal.',
    actor: ['uidNodeId', 'credentialRef'],
    data: ['policy', 'revokedCount', 'nodeId'],
    outcomes: ['failure'],
    reason: true,
  },
  'uid.tree.listed': {
    description: 'A holder asked for its tree and was refused.',
    actor: [],
    data: [],
    outcomes: ['failure', 'denied'],
    reason: true,
  },
  'access.explained': {
    description: 'An administrator asked how policy decides for another principal (never storing its token).',
    actor: ['identityId', 'authMethodId'],
    data: ['action', 'resourceType', 'allowed', 'subjectIdentityId', 'subjectAuthMethodId'],
    outcomes: ['success'],
    reason: false,
  },
  'role.created': {
    description: 'A role was created.',
    actor: admin,
    data: ['roleId', 'roleName'],
    outcomes: ['success'],
    reason: false,
  },
  'role.deleted': {
    description: 'A role was deleted with its rules and associations.',
    actor: admin,
    data: ['roleId', 'roleName', 'associations'],
    outcomes: ['success'],
    reason: false,
  },
  'role.rule_set': {
    description: 'A rule of a role was set (created, or its capabilities, expiry and conditions replaced).',
    actor: admin,
    data: ['roleName', 'ruleId', 'ruleType', 'path', 'capabilities', 'expiresAt', 'conditions', 'replaced'],
    outcomes: ['success'],
    reason: false,
  },
  'role.rule_deleted': {
    description: 'A rule of a role was deleted.',
    actor: admin,
    data: ['roleName', 'ruleId', 'ruleType', 'path'],
    outcomes: ['success'],
    reason: false,
  },
  'role.included': {
    description: 'A role now includes another role (its rules apply wherever the role does).',
    actor: admin,
    data: ['roleName', 'included'],
    outcomes: ['success'],
    reason: false,
  },
  'role.excluded': {
    description: 'A role no longer includes another role.',
    actor: admin,
    data: ['roleName', 'included'],
    outcomes: ['success'],
    reason: false,
  },
  'role.associated': {
    description: 'A role was associated with an auth method, optionally narrowed by claims.',
    actor: [],
    data: ['roleName', 'associationId', 'authMethodId', 'claims'],
    outcomes: ['success'],
    reason: false,
  },
  'role.association_deleted': {
    description: 'A role association was deleted.',
    actor: admin,
    data: ['roleName', 'associationId', 'authMethodId'],
    outcomes: ['success'],
    reason: false,
  },
  'signing_key.rotated': {
    description: 'The session-token signing key was rotated (or created).',
    actor: [],
    data: ['kid', 'reason'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.created': {
    description: 'A static secret was created with its first version (name and id; never the value).',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'version', 'format'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.read': {
    description: 'A secret value was read: which item and version (never the value).',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'version'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.read_refused': {
    description:
      'A read of an approval-required secret was refused: no approved, unused grant for exactly this item, version and requester (`reason`: no_request, request_pending, request_denied, request_expired, request_used, grant_*, no_reader).',
    actor: [],
    data: ['secretId', 'version', 'requester'],
    outcomes: ['denied'],
    reason: true,
  },
  'secret.approval_set': {
    description:
      'A secret was marked approval-required (`approval`: the policy, group and required approvers) or the mark was cleared (null).',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'approval', 'was'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.updated': {
    description: 'A new version of a secret was written; versions beyond its maxVersions were destroyed.',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'version', 'destroyedVersions'],
    outcomes: ['success'],
    reason: false,
  },
  'config.applied': {
    description:
      'Identity as code: a plan was applied in one unit of work (ADR 0021), after the events of each change it made.',
    actor: ['identityId', 'authMethodId'],
    data: ['planHash', 'create', 'update', 'delete'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.metadata_updated': {
    description:
      "A static secret's description, tags or maxVersions were changed by identity as code (ADR 0030).",
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'changed'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.deleted': {
    description: 'A secret was deleted: restorable until purgeAfter, or destroyed at once (immediately).',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'immediately', 'purgeAfter', 'versionsDestroyed'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.restored': {
    description: 'A deleted secret was restored within its recovery window.',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.purged': {
    description: 'A deleted secret whose recovery window ended was destroyed with its ciphertexts.',
    actor: [],
    data: ['secretId', 'versionsDestroyed', 'deletedAt'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.kek.rotated': {
    description:
      'A new key-encryption key version now wraps new secret data keys (or the first was created).',
    actor: [],
    data: ['kekVersion', 'previousKekVersion', 'reason'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.kek.rewrapped': {
    description: 'A batch of secret data keys was re-wrapped under the active key-encryption key.',
    actor: [],
    data: ['kekVersion', 'count'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.kek.destroyed': {
    description: 'A key-encryption key version no secret used any more was destroyed.',
    actor: [],
    data: ['kekVersion', 'activeKekVersion'],
    outcomes: ['success'],
    reason: false,
  },
  'dynamic_secret.created': {
    description: 'A dynamic secret (producer) was created; its settings are sealed, never recorded.',
    actor: admin,
    data: ['itemId', 'itemType', 'defaultTtlSeconds', 'maxTtlSeconds'],
    outcomes: ['success'],
    reason: false,
  },
  'dynamic_secret.deleted': {
    description: 'A dynamic secret with no live lease was deleted.',
    actor: admin,
    data: ['itemId', 'itemType'],
    outcomes: ['success'],
    reason: false,
  },
  'dynamic_secret.swept': {
    description:
      'Accounts matching the prefix with no live lease were looked for on the target (and dropped if asked).',
    actor: [],
    data: ['itemId', 'found', 'dropped'],
    outcomes: ['success'],
    reason: false,
  },
  'lease.issued': {
    description: 'An account was created on the target and leased (username and expiry; never the password).',
    actor: ['identityId'],
    data: ['leaseId', 'identityId', 'username', 'ttlSeconds', 'expiresAt'],
    outcomes: ['success'],
    reason: false,
  },
  'lease.issue_failed': {
    description:
      'The target refused to create a leased account (what may exist was dropped or is being retried).',
    actor: ['identityId'],
    data: ['leaseId', 'identityId', 'username'],
    outcomes: ['failure'],
    reason: true,
  },
  'lease.renewed': {
    description: 'A lease was extended (never past its maximum).',
    actor: ['identityId'],
    data: ['leaseId', 'identityId', 'username', 'expiresAt', 'capped'],
    outcomes: ['success'],
    reason: false,
  },
  'lease.revoked': {
    description:
      'A leased account was disabled, its sessions terminated and it was dropped (on request, on expiry, or when its identity, UID token or auth method was revoked).',
    actor: [],
    data: ['leaseId', 'identityId', 'username', 'reason', 'existed', 'sessionsTerminated'],
    outcomes: ['success'],
    reason: false,
  },
  'lease.revoke_failed': {
    description: 'The reaper gave up revoking a lease after its last attempt (state revoke_failed; alert).',
    actor: [],
    data: ['leaseId', 'identityId', 'username', 'attempts'],
    outcomes: ['failure'],
    reason: true,
  },
  'leak.reported': {
    description:
      'A credential was reported as leaked (POST /v1/leaks): its keyed audit hash, where it was found and what it turned out to be (revoked, already dead, unknown); never the credential.',
    actor: [],
    data: ['findingId', 'kind', 'outcome', 'auditHash', 'location', 'repeat'],
    outcomes: ['success'],
    reason: false,
  },
  'leak.revoked': {
    description:
      'A reported leaked credential was live and was revoked (its UID node subtree, session, access key, client secret or lease); the owner is alerted.',
    actor: [],
    data: ['findingId', 'kind', 'identityId', 'owner', 'auditHash', 'location'],
    outcomes: ['success'],
    reason: false,
  },
  'leak.unseal_share_live': {
    description:
      'A reported key share belongs to the root key the server runs under: it cannot be revoked, so operators are alerted to rotate the root key and split the new one (the finding stays action_required until then).',
    actor: [],
    data: ['findingId', 'keyId', 'auditHash', 'location'],
    outcomes: ['success'],
    reason: false,
  },
  'rotated_secret.created': {
    description:
      'A rotated secret was created: Tessera took over its accounts on the target (never a credential).',
    actor: ['identityId', 'authMethodId'],
    data: ['rotatedSecretId', 'producerType', 'strategy', 'intervalSeconds', 'graceSeconds'],
    outcomes: ['success'],
    reason: false,
  },
  'rotated_secret.read': {
    description:
      'The current credential of a rotated secret was read: which item and version (never the password).',
    actor: ['identityId', 'authMethodId'],
    data: ['rotatedSecretId', 'version'],
    outcomes: ['success'],
    reason: false,
  },
  'rotated_secret.rotated': {
    description:
      'A rotation step succeeded: `switch` (the idle account got a new password and became current) or `retire` (the previous account was changed after the grace period).',
    actor: [],
    data: ['rotatedSecretId', 'phase', 'account', 'version'],
    outcomes: ['success'],
    reason: false,
  },
  'rotated_secret.rotation_failed': {
    description:
      'A rotation step failed on the target: the last good credential is kept, the step is retried with backoff (alert).',
    actor: [],
    data: ['rotatedSecretId', 'phase', 'account', 'failures', 'nextAttemptAt', 'version'],
    outcomes: ['failure'],
    reason: true,
  },
  'rotated_secret.updated': {
    description:
      'A rotated secret’s schedule, grace period or administrator credential changed (whether the credential changed; never a credential).',
    actor: ['identityId', 'authMethodId'],
    data: ['rotatedSecretId', 'intervalSeconds', 'graceSeconds', 'adminCredentialChanged'],
    outcomes: ['success'],
    reason: false,
  },
  'rotated_secret.deleted': {
    description:
      'A rotated secret was deleted: its rotation stopped; its accounts were left on the target as they were.',
    actor: ['identityId', 'authMethodId'],
    data: ['rotatedSecretId', 'usernames', 'accountsLeft'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth_client.secret_issued': {
    description:
      'An OAuth client got its first secret (generated by Tessera, shown once; `credentialRef` is its keyed hash).',
    actor: [],
    data: ['authMethodId', 'graceSeconds', 'credentialRef'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth_client.secret_rotated': {
    description: 'An OAuth client got a new secret; the previous ones stop working after `graceSeconds`.',
    actor: admin,
    data: ['authMethodId', 'graceSeconds', 'credentialRef'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.token_issued': {
    description:
      'The token endpoint issued an access token (`grantType`: client_credentials, jwt-bearer or ciba; `audience`, `scope`, whether it is DPoP- or certificate-bound, the jwt-bearer assertion’s `iss`/`sub`).',
    actor: ['identityId', 'authMethodId', 'tokenId'],
    data: ['grantType', 'scope'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.token_exchanged': {
    description:
      'RFC 8693 token exchange: the issued token’s whole delegation chain (`subject`, `subjectClient`, `subjectTokenId`, `act`, `parties`), `audience`, `scope`, `dpop`.',
    actor: ['identityId', 'authMethodId', 'tokenId'],
    data: ['subject', 'parties', 'audience', 'scope', 'dpop'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.token_refused': {
    description:
      'An authenticated client’s token request was refused (the precise reason: scope not granted, unknown resource, grant not allowed, exchange policy…; exchanges carry the chain).',
    actor: ['identityId', 'authMethodId'],
    data: [],
    outcomes: ['denied'],
    reason: true,
  },
  'oauth.client_auth_failed': {
    description:
      'Client authentication failed at an OAuth endpoint (`endpoint`, `method`); outside it is always `invalid_client`.',
    actor: [],
    data: ['endpoint', 'method'],
    outcomes: ['failure'],
    reason: true,
  },
  'oauth.rate_limited': {
    description:
      'An OAuth endpoint refused a client or source that failed (or asked) too often (`endpoint`).',
    actor: [],
    data: ['endpoint'],
    outcomes: ['denied'],
    reason: true,
  },
  'oauth.token_revoked': {
    description: 'A client revoked one of its tokens (RFC 7009); every server refuses it from then on.',
    actor: ['identityId', 'authMethodId'],
    data: ['tokenId'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.ciba_ping_sent': {
    description:
      'CIBA ping mode: the client was notified that its request was decided (`status`, `attempt`).',
    actor: ['authMethodId'],
    data: ['clientId', 'endpoint', 'status', 'attempt'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.ciba_ping_failed': {
    description: 'CIBA ping mode: every attempt to notify the client failed (`attempts`; the last reason).',
    actor: ['authMethodId'],
    data: ['clientId', 'endpoint', 'attempts'],
    outcomes: ['failure'],
    reason: true,
  },
  'oauth.resource_server_created': {
    description: 'An OAuth resource server was registered (`identifier`: the audience tokens for it carry).',
    actor: admin,
    data: ['resourceServerId', 'identifier', 'owner'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.resource_server_updated': {
    description: 'An OAuth resource server was changed (`changed`: the fields).',
    actor: admin,
    data: ['resourceServerId', 'identifier', 'owner', 'changed'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.resource_server_deleted': {
    description: 'An OAuth resource server was removed; new tokens for it are refused.',
    actor: admin,
    data: ['resourceServerId', 'identifier', 'owner'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.registration_token_created': {
    description:
      'A registration token (RFC 7591 initial access token, `tri-…`) was issued for `path`; `registrationTokenId` names it, never the token; `owner` will own every identity it creates (ADR 0052).',
    actor: admin,
    data: ['registrationTokenId', 'path', 'expiresAt', 'maxUses', 'owner'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.registration_token_revoked': {
    description:
      'A registration token was revoked by a caller that may issue tokens for its path (leak reports record `leak.revoked`).',
    actor: admin,
    data: ['registrationTokenId', 'path'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.client_registered': {
    description:
      'A client registered itself (RFC 7591) with an administrator’s session (`via: session`) or a registration token (`via: registration_token`, with `registrationTokenId`, its `path` and the `owner` of the new identity).',
    actor: [],
    data: ['clientId', 'name', 'identityId', 'via'],
    outcomes: ['success'],
    reason: false,
  },
  'oauth.client_registration_refused': {
    description:
      'A registration with a registration token was refused (`actor.credentialRef`: its id): the token expired, was revoked or used up, a `name` outside its path, or an existing identity (`identity_exists`) or client (`client_exists`) of that name, also when it appeared while the registration was under way. An unknown token is not audited.',
    actor: [],
    data: ['registrationTokenId'],
    outcomes: ['failure', 'denied'],
    reason: true,
  },
  'root_key.rotated': {
    description: 'The root key was replaced offline; the signing keys and KEKs were re-sealed under it.',
    actor: [],
    data: ['previousKeyId', 'keyId', 'signingKeys', 'keks'],
    outcomes: ['success'],
    reason: false,
  },
  'pki.intermediate_requested': {
    description:
      'An intermediate CA was started (issue 13): its key made and sealed, its CSR waiting for an outside CA to sign it.',
    actor: admin,
    data: ['caId', 'trustDomain'],
    outcomes: ['success'],
    reason: false,
  },
  'pki.ca_created': {
    description:
      'The certificate authority became active: a self-signed root, or an intermediate whose signed certificate was installed (`kind`; an intermediate also records `chainLength`).',
    actor: admin,
    data: ['caId', 'trustDomain', 'notAfter', 'kind'],
    outcomes: ['success'],
    reason: false,
  },
  'pki.profile_created': {
    description: 'A certificate profile was created (through the API or identity as code).',
    actor: admin,
    data: ['profile', 'maxTtlSeconds', 'spiffeIdPath'],
    outcomes: ['success'],
    reason: false,
  },
  'pki.profile_updated': {
    description: 'A certificate profile was changed (through the API or identity as code).',
    actor: admin,
    data: ['profile', 'maxTtlSeconds', 'spiffeIdPath'],
    outcomes: ['success'],
    reason: false,
  },
  'pki.profile_deleted': {
    description:
      'A certificate profile was deleted; certificates issued under it stay valid until they expire.',
    actor: admin,
    data: ['profile'],
    outcomes: ['success'],
    reason: false,
  },
  'pki.certificate_issued': {
    description:
      'A certificate was issued from a CSR, or with a key the server made when asked (`keyGeneratedByServer`; the key is never recorded). `notAfterCappedBy` says what ended it: the TTL, the CA, or the credential the request came through.',
    actor: ['identityId', 'authMethodId'],
    data: [
      'serial',
      'identityId',
      'spiffeId',
      'dnsNames',
      'notAfter',
      'notAfterCappedBy',
      'keyGeneratedByServer',
      'keyType',
    ],
    outcomes: ['success'],
    reason: false,
  },
  'pki.certificate_revoked': {
    description:
      'Certificates were revoked before they expired (the CRL and the OCSP responder list them): one on request (`cause` request), or every live one of an identity that was retired (`cause` identity_retired, with `count`; `serials` holds at most 100).',
    actor: [],
    data: ['serials', 'identityId', 'cause'],
    outcomes: ['success'],
    reason: false,
  },
  'mcp.server_added': {
    description:
      'An upstream MCP server was registered behind the gateway, with an identity of its own in the inventory (`transport`, `url` or the stdio `command`, `upstreamAuth` kind, `identityId`).',
    actor: admin,
    data: ['transport', 'upstreamAuth', 'identityId'],
    outcomes: ['success'],
    reason: false,
  },
  'mcp.server_changed': {
    description:
      "An MCP server's tool policy or required scopes changed (`rules`: the rule ids, `policyHash`: the canonical policy's hash, `requiredScopes`).",
    actor: admin,
    data: ['rules', 'policyHash', 'requiredScopes'],
    outcomes: ['success'],
    reason: false,
  },
  'mcp.server_removed': {
    description: 'An MCP server was removed from the gateway; its calls are refused from now on.',
    actor: admin,
    data: [],
    outcomes: ['success'],
    reason: false,
  },
  'mcp.tools_approved': {
    description:
      'Tool definitions of an upstream were approved and pinned by their hash (`tools`, `hashes`); a later change to one is withheld until approved again.',
    actor: admin,
    data: ['tools', 'hashes'],
    outcomes: ['success'],
    reason: false,
  },
  'mcp.tool_withheld': {
    description:
      'A tool definition differs from the pinned one or is new (`reason` definition_changed or new_tool; `hash`, `pinnedHash`): agents do not see or call it until an administrator approves it. Once per definition.',
    actor: [],
    data: ['server', 'tool', 'hash'],
    outcomes: ['denied'],
    reason: true,
  },
  'mcp.tool_called': {
    description:
      'A tools/call through the gateway, allowed, denied or failed upstream: the caller, its client and delegation chain (`actingFor`), `clientInfo`, the W3C `traceId`, the arguments hash (the arguments only where the tool policy logs them), the decision with the stage, rule and condition, the approval used, the upstream status, `latencyMs` and `upstreamMs`.',
    actor: ['identityId', 'authMethodId'],
    data: [
      'server',
      'tool',
      'argumentsHash',
      'decision',
      'actingFor',
      'traceId',
      'upstreamStatus',
      'latencyMs',
    ],
    outcomes: ['success', 'denied', 'failure'],
    reason: false,
  },
  'mcp.resource_read': {
    description:
      "A resources/read through the gateway, allowed or denied by a role's `read` on `mcp-tool:/SERVER/resources/URI` (`roleRule`, the upstream status, `latencyMs`).",
    actor: ['identityId', 'authMethodId'],
    data: ['server', 'actingFor', 'decision', 'roleRule', 'upstreamStatus', 'latencyMs'],
    outcomes: ['success', 'denied', 'failure'],
    reason: false,
  },
  'mcp.prompt_got': {
    description:
      "A prompts/get through the gateway, allowed or denied by a role's `read` on `mcp-tool:/SERVER/prompts/NAME` (the arguments hash, `roleRule`, the upstream status, `latencyMs`).",
    actor: ['identityId', 'authMethodId'],
    data: ['server', 'actingFor', 'decision', 'roleRule', 'upstreamStatus', 'latencyMs'],
    outcomes: ['success', 'denied', 'failure'],
    reason: false,
  },
  'mcp.upstream_exited': {
    description:
      'A stdio upstream the gateway supervises exited (`reason` process_exited); it is relaunched on the next call.',
    actor: [],
    data: ['server'],
    outcomes: ['failure'],
    reason: true,
  },
  'approval.requested': {
    description:
      'An approval was asked for an action (`requester`, `requesterName`, `action`, `approvers`, the `justification` and when the request `expiresAt`).',
    actor: [],
    data: ['requester', 'requesterName', 'action', 'approvers', 'justification', 'expiresAt'],
    outcomes: ['success'],
    reason: false,
  },
  'approval.decided': {
    description:
      'An approver approved or denied a request (`approver`, `decision`, the request `status` after it, `comment` or null).',
    actor: [],
    data: ['requester', 'requesterName', 'action', 'approvers', 'approver', 'decision', 'status', 'comment'],
    outcomes: ['success'],
    reason: false,
  },
  'approval.decision_refused': {
    description:
      'A decision was refused (`reason` approval_self, not_an_approver, already_decided or request_STATUS; `approver`).',
    actor: [],
    data: ['requester', 'requesterName', 'action', 'approvers', 'approver'],
    outcomes: ['denied'],
    reason: true,
  },
  'approval.expired': {
    description:
      'A pending request or an unused grant ran out of time (`was`: the status it had, `approvedBy`).',
    actor: [],
    data: ['requester', 'requesterName', 'action', 'approvers', 'was', 'approvedBy'],
    outcomes: ['success'],
    reason: false,
  },
  'approval.used': {
    description: 'An approved grant was used, once, for exactly its action (`approvedBy`).',
    actor: [],
    data: ['requester', 'requesterName', 'action', 'approvers', 'approvedBy'],
    outcomes: ['success'],
    reason: false,
  },
  'approval.use_refused': {
    description:
      'A grant was refused for use (`reason` pending, denied, expired, used, mismatch with the `presented` action, other_requester with `presentedBy`, or approvers_not_allowed).',
    actor: [],
    data: ['requester', 'requesterName', 'action', 'approvers'],
    outcomes: ['denied'],
    reason: true,
  },
  'jit.eligibility_added': {
    description:
      'An identity was made eligible for just-in-time activation of a role (`identityId`, `roleName`, `maxDurationSec`, and the `approvers` and `breakGlass` given).',
    actor: admin,
    data: ['identityId', 'roleName', 'maxDurationSec'],
    outcomes: ['success'],
    reason: false,
  },
  'jit.eligibility_removed': {
    description: 'An eligibility was removed (the resource names it); running activations end at their time.',
    actor: admin,
    data: [],
    outcomes: ['success'],
    reason: false,
  },
  'jit.activated': {
    description:
      'An approved `jit.elevate` request was activated by the identity it names: a temporary role until `expiresAt` (`approvalId`, `requester`, `approvedBy`).',
    actor: ['identityId', 'authMethodId'],
    data: ['identityId', 'roleName', 'durationSec', 'expiresAt', 'approvalId', 'requester', 'approvedBy'],
    outcomes: ['success'],
    reason: false,
  },
  'jit.break_glass': {
    description:
      'An emergency activation without approval, with its mandatory `justification`, a short maximum and an immediate alert.',
    actor: ['identityId', 'authMethodId'],
    data: ['identityId', 'roleName', 'durationSec', 'expiresAt', 'justification'],
    outcomes: ['success'],
    reason: false,
  },
  'jit.lapsed': {
    description:
      'An activation ended and its temporary role was removed (`approvalId` is null after break-glass).',
    actor: [],
    data: ['identityId', 'roleName', 'approvalId'],
    outcomes: ['success'],
    reason: false,
  },
  'person.created': {
    description:
      'A person signed in for the first time: created, with an identity and an auth method (`personId`, the IdP `issuer` and `subject`, `email`).',
    actor: [],
    data: ['personId', 'issuer', 'subject', 'email'],
    outcomes: ['success'],
    reason: false,
  },
  'person.login_started': {
    description: 'A sign-in was started (the resource names the login); never the state or the poll token.',
    actor: [],
    data: [],
    outcomes: ['success'],
    reason: false,
  },
  'person.login_refused': {
    description:
      "The IdP's redirect was refused (`reason` unknown_state, login_replayed, login_expired or idp_response_invalid with `error`; `loginId` or null).",
    actor: [],
    data: ['loginId'],
    outcomes: ['denied'],
    reason: true,
  },
  'person.signed_in': {
    description:
      'A person completed a sign-in at the IdP (`personId`, `email`, `groups`, the `roles` they map to, `loginId`); never the code or the ID token.',
    actor: ['authMethodId'],
    data: ['personId', 'email', 'groups', 'roles', 'loginId'],
    outcomes: ['success'],
    reason: false,
  },
  'person.session_issued': {
    description:
      'The starter of a sign-in collected the session, once (`personId`, `email`, `expiresAt`; the actor holds its token id, never the token).',
    actor: ['identityId', 'authMethodId', 'tokenId'],
    data: ['personId', 'email', 'expiresAt'],
    outcomes: ['success'],
    reason: false,
  },
  'person.logout': {
    description: "A person's session was ended at once on every server.",
    actor: ['identityId', 'authMethodId', 'tokenId'],
    data: [],
    outcomes: ['success'],
    reason: false,
  },
  'governance.anomaly': {
    description:
      'An identity deviated from its baseline (`kind`: a new source, an unusual hour, a rate or a resource; `observed`, the event that showed it). Alert rule `identity_anomaly`.',
    actor: [],
    data: ['identityId', 'kind', 'observed', 'eventSeq', 'eventAt'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.policy_updated': {
    description: 'The posture policy changed (`changed`: the settings named).',
    actor: [],
    data: ['changed'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.scanned': {
    description:
      "A posture scan ended, on demand or by the leader's job (`open`, `opened`, `resolved` findings, `auditEventsFolded`, `tookMs`).",
    actor: [],
    data: ['open', 'opened', 'resolved'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.credentials_revoked': {
    description:
      'An identity was retired and every credential it held revoked in the same transaction (`methods`, `uidTokens`, `leases`: how many of each).',
    actor: [],
    data: ['identityId', 'methods', 'uidTokens', 'leases'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.owner_offboarded': {
    description:
      'An owner was offboarded: their identities reassigned `to` another owner, or `suspended` (`identities`: how many).',
    actor: [],
    data: ['owner', 'to', 'suspended', 'identities'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.review_started': {
    description:
      'An access review campaign started (`scope`, `identities` snapshotted, `consequence` for no answer, `dueAt`).',
    actor: [],
    data: ['campaignId', 'name', 'scope', 'identities', 'consequence', 'dueAt'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.review_decided': {
    description:
      'An owner or an administrator decided an item of a review: keep, narrow or revoke (`outcome`: what was applied).',
    actor: [],
    data: ['campaignId', 'identityId', 'identityName', 'owner', 'decision', 'outcome'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.review_reminder': {
    description:
      'A reminder to an owner with pending review items (`pending`, `identities`, `dueAt`). Alert rule `review_reminder`.',
    actor: [],
    data: ['campaignId', 'campaignName', 'owner', 'pending', 'identities', 'dueAt'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.review_expired': {
    description:
      "An item nobody decided by the due date; the campaign's `consequence` (notify or suspend) was applied (`outcome`).",
    actor: [],
    data: ['campaignId', 'campaignName', 'identityId', 'identityName', 'owner', 'consequence', 'outcome'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.review_closed': {
    description: 'A review campaign closed (`expired`: items left undecided, `consequence`).',
    actor: [],
    data: ['campaignId', 'expired', 'consequence'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.review_refused': {
    description:
      'A review decision was refused: the decider is neither the owner (a person, or a member of the owning group) nor an administrator (`reason` review_not_owner; `decider`, `decision`).',
    actor: [],
    data: ['campaignId', 'identityId', 'decision', 'decider'],
    outcomes: ['denied'],
    reason: true,
  },
  'governance.source_added': {
    description:
      "A discovery source was added: a dynamic secret's target and a name prefix (`source`, `connector`).",
    actor: [],
    data: ['source', 'connector'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.discovery_ran': {
    description:
      "A discovery run listed a source's accounts (`accounts`, `unknown`: not made by Tessera, `new`: discovered for the first time).",
    actor: [],
    data: ['source', 'accounts', 'unknown', 'new'],
    outcomes: ['success'],
    reason: false,
  },
  'governance.discovered_decided': {
    description:
      'A decision on a discovered account was carried out: adopt (rotated under Tessera), replace (dropped for dynamic credentials) or delete (`decision`, `owner`).',
    actor: [],
    data: ['discoveredId', 'decision'],
    outcomes: ['success'],
    reason: false,
  },
} as const satisfies Record<string, EventTypeSpec>;

export type AuditEventType = keyof typeof AUDIT_EVENT_TYPES;
