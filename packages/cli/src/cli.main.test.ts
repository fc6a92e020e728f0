import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FetchLike } from '@tessera/sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from '../test/capture-cli.js';
import { COMMANDS, resolveCommand } from './cli.main.js';

interface Call {
  method: string;
  path: string;
  auth: string | undefined;
  body: Record<string, unknown> | undefined;
  query: Record<string, string>;
}

type Handler = (call: Call) => Promise<[number, unknown]> | [number, unknown];

const JWT = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln';
const NOW = Date.parse('2025-06-01T10:00:00Z');
const ISSUED = {
  token: 'u-NEWTOKEN_abc-123',
  tokenId: 'node1',
  authMethodId: 'p-uid',
  expiresAt: '2025-06-01T11:00:00.000Z',
  ttlSeconds: 3600,
};
const METHOD = {
  id: 'p-uid',
  name: '/demo/uid',
  type: 'universal_identity',
  identityId: 'i-1',
  boundCidrs: [],
  expiresAt: null,
  createdAt: '2025-06-01T09:00:00.000Z',
  updatedAt: '2025-06-01T09:00:00.000Z',
  universalIdentity: {
    ttlSeconds: 3600,
    jwtTtlSeconds: 43_200,
    childTtlLimitSeconds: 86_400,
    treeLength: 5,
    denyRotate: false,
    denyInheritance: false,
    reusePolicy: 'revoke',
    rotationGraceSeconds: 120,
  },
};
const IDENTITY = {
  id: 'i-1',
  name: 'billing-api',
  kind: 'service',
  owner: 'alice@example.com',
  environment: 'prod',
  tags: ['a'],
  state: 'active',
  description: null,
  createdAt: '2025-06-01T09:00:00.000Z',
  updatedAt: '2025-06-01T09:00:00.000Z',
  lastUsedAt: null,
  retiredAt: null,
};
const TREE = {
  authMethodId: 'p-uid',
  maxDepth: 1,
  numberOfTokens: 1,
  roots: [
    {
      id: 'node1',
      parentId: null,
      depth: 1,
      ttlSeconds: 3600,
      expiresAt: '2025-06-01T11:00:00.000Z',
      createdAt: '2025-06-01T09:00:00.000Z',
      lastRotatedAt: null,
      denyRotate: false,
      denyInheritance: false,
      revoked: false,
      revokedAt: null,
      comment: null,
      children: [],
    },
  ],
};

const AUDIT_EVENT = {
  seq: 1,
  id: 'ev-1',
  at: '2025-06-01T09:59:00.000Z',
  type: 'auth.failed',
  outcome: 'failure',
  actor: { identityId: null, authMethodId: 'p-uid', uidNodeId: null, tokenId: null, credentialRef: null },
  resource: null,
  reason: 'unknown_access_id',
  requestId: 'req-1',
  sourceIp: '127.0.0.1',
  data: { v: 1 },
};

const SECRET = {
  id: 's-1',
  name: '/demo/database-config',
  format: 'text',
  description: null,
  tags: ['prod'],
  maxVersions: 100,
  latestVersion: 1,
  createdAt: '2025-06-01T09:00:00.000Z',
  updatedAt: '2025-06-01T09:00:00.000Z',
  deletedAt: null,
  purgeAfter: null,
  type: 'static',
};
const SECRET_VALUE = {
  name: '/demo/database-config',
  version: 1,
  format: 'text',
  value: 'postgres://app@db/app',
  createdAt: '2025-06-01T09:00:00.000Z',
};
/** A real data directory for the offline `root-key rotate`. */
const ROOT_KEY_DATA_DIR = join(tmpdir(), `tessera-cli-root-key-${process.pid}`);
const BACKUP_DIR = `${ROOT_KEY_DATA_DIR}-backup`;
const RESTORE_DIR = `${ROOT_KEY_DATA_DIR}-restored`;
/** A UID token file for `agent` and `run`. */
const AGENT_DIR = join(tmpdir(), `tessera-cli-agent-${process.pid}`);

const RULE = {
  id: 'rr-1',
  ruleType: 'item',
  path: '/demo/*',
  capabilities: ['read', 'list'],
  expiresAt: null,
  conditions: null,
  createdAt: '2025-06-01T09:00:00.000Z',
  updatedAt: '2025-06-01T09:00:00.000Z',
};
const ASSOCIATION = {
  id: 'ra-1',
  roleName: 'demo-readers',
  authMethodId: 'p-uid',
  authMethodName: '/demo/uid',
  claims: { environment: ['prod'] },
  createdAt: '2025-06-01T09:00:00.000Z',
};
const ROLE = {
  name: 'demo-readers',
  description: null,
  builtin: false,
  createdAt: '2025-06-01T09:00:00.000Z',
  updatedAt: '2025-06-01T09:00:00.000Z',
  rules: [RULE],
  includes: [],
  associations: [ASSOCIATION],
};
const EXPLANATION = {
  allowed: true,
  reason: 'granted',
  summary: 'allowed by role demo-readers rule rr-1 (item /demo/*: read, list)',
  rule: { id: 'rr-1', ruleType: 'item', path: '/demo/*', capabilities: ['read', 'list'] },
  role: 'demo-readers',
  association: 'ra-1',
  principal: { identityId: 'i-1', authMethodId: 'p-uid', uidTokenId: null },
  resource: { type: 'item', path: '/demo/db' },
  associations: [{ id: 'ra-1', role: 'demo-readers', matched: true }],
  notApplied: [],
};

const ROTATED = {
  id: 'rs-1',
  name: '/prod/orders-db',
  type: 'mysql',
  strategy: 'two-account',
  usernames: ['orders_a', 'orders_b'],
  currentUsername: 'orders_a',
  version: 1,
  intervalSeconds: 86_400,
  graceSeconds: 600,
  rotatedAt: '2025-06-01T09:00:00.000Z',
  nextRotationAt: '2025-06-02T09:00:00.000Z',
  retireAt: null,
  failures: 0,
  lastError: null,
  lastFailureAt: null,
  nextAttemptAt: null,
  createdAt: '2025-06-01T09:00:00.000Z',
};
const ROTATED_VALUE = {
  name: '/prod/orders-db',
  username: 'orders_a',
  password: 'Rotated-Pa55word',
  version: 1,
  rotatedAt: '2025-06-01T09:00:00.000Z',
  nextRotationAt: '2025-06-02T09:00:00.000Z',
};

const DYNAMIC = {
  id: 'ds-1',
  name: '/prod/pg',
  type: 'postgresql',
  description: null,
  settings: {
    host: 'db.internal',
    port: 5432,
    database: 'orders',
    adminUsername: 'tessera_admin',
    usernamePrefix: 'tsr_',
  },
  defaultTtlSeconds: 3600,
  maxTtlSeconds: 86_400,
  leaseQuota: 50,
  sweepDrop: false,
  createdAt: '2025-06-01T09:00:00.000Z',
  updatedAt: '2025-06-01T09:00:00.000Z',
};
const LEASE = {
  leaseId: 'l-1',
  name: '/prod/pg',
  identityId: 'i-1',
  username: 'tsr_abc123',
  state: 'active',
  createdAt: '2025-06-01T09:00:00.000Z',
  expiresAt: '2025-06-01T10:00:00.000Z',
  maxExpiresAt: '2025-06-02T09:00:00.000Z',
  attempts: 0,
  lastError: null,
  revokedAt: null,
};

const APPROVAL = {
  id: 'apr-1',
  requester: { kind: 'identity', id: 'i-1', name: 'release-bot' },
  action: { kind: 'jit.elevate', identityId: 'i-1', roleName: 'db-admin', durationSec: 600 },
  justification: 'incident 42',
  approvers: { kind: 'owner', ownerOf: 'i-1' },
  status: 'pending',
  createdAt: '2025-06-01T09:00:00.000Z',
  expiresAt: '2025-06-01T10:00:00.000Z',
  decisions: [],
  grantExpiresAt: null,
  usedAt: null,
  breakGlass: false,
};
const MCP_SERVER = {
  name: 'files',
  endpoint: 'http://tessera.test/mcp/files',
  identityId: 'i-9',
  transport: 'http',
  url: 'http://127.0.0.1:9/mcp',
  command: null,
  upstreamAuth: { kind: 'none' },
  requiredScopes: [],
  timeoutSeconds: 30,
  policy: { rules: [{ id: 'r1', tool: '*', effect: 'allow' }], tools: {} },
  pinnedTools: [{ name: 'echo', hash: 'abc', approvedAt: '2026-01-01T00:00:00.000Z' }],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const REGISTRATION_TOKEN = {
  id: 'rit-1',
  path: '/ci/*',
  description: '',
  state: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T01:00:00.000Z',
  maxUses: 3,
  uses: 0,
  revokedAt: null,
  createdBy: 'i-admin',
  owner: 'group:platform',
};
const RESOURCE_SERVER = {
  id: 'rs-1',
  name: 'orders',
  identifier: 'https://orders.example.com/',
  owner: 'olga@example.com',
  description: '',
  scopes: ['read'],
  accessTokenTtlSeconds: 300,
  senderConstrained: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const MCP_TOOLS = {
  tools: [{ name: 'echo', status: 'approved', hash: 'abc', pinnedHash: 'abc', description: 'Echo' }],
};

const OAUTH_CLIENT = {
  clientId: 'p-oc',
  name: '/svc/billing',
  identityId: 'i-1',
  tokenEndpointAuthMethod: 'client_secret_basic',
  jwks: null,
  scopes: ['read'],
  resources: [],
  accessTokenTtlSeconds: 600,
  dpopBoundAccessTokens: false,
  mayActFor: [],
  delegation: [],
  boundCidrs: [],
  expiresAt: null,
  createdAt: '2025-06-01T10:00:00.000Z',
  updatedAt: '2025-06-01T10:00:00.000Z',
};

const CA = {
  id: 'ca-1',
  trustDomain: 'example.org',
  commonName: 'Tessera CA example.org',
  certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  kind: 'root',
  chainPem: null,
  notAfter: '2036-01-01T00:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
};
const PENDING_CA = {
  id: 'ca-2',
  trustDomain: 'example.org',
  commonName: 'Tessera intermediate CA example.org',
  csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
  createdAt: '2026-01-01T00:00:00.000Z',
};
const CERT = {
  serial: '5f3a',
  profile: 'web',
  identityId: 'i-1',
  spiffeId: 'spiffe://example.org/identity/svc',
  thumbprint: 'abc',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-01-01T01:00:00.000Z',
  revokedAt: null,
};
const NO_CHANGES = {
  changes: [],
  summary: { create: 0, update: 0, delete: 0 },
  hash: `sha256:${'0'.repeat(64)}`,
};
const POLICY = {
  usageWindowDays: 30,
  maxStaticSecretAgeDays: 90,
  maxTtlSeconds: 2592000,
  maxSourcesPerCredential: 5,
  workstationCidrs: [],
  dpopRequiredEnvironments: ['production'],
  goneOwners: [],
};
const WHO_CAN = {
  resource: { type: 'item', path: '/prod/db' },
  reachers: [
    {
      identityId: 'i-1',
      identityName: 'svc/a',
      kind: 'service',
      owner: 'alice',
      state: 'active',
      capabilities: ['list', 'read'],
      paths: [
        {
          via: 'association',
          capabilities: ['read', 'list'],
          conditional: true,
          denied: false,
          steps: [
            { kind: 'identity', name: 'svc/a' },
            { kind: 'auth-method', name: 'svc/a-key', detail: { type: 'access_key' } },
            { kind: 'association', name: 'ra-1', detail: { claims: { 'uid-subtree': ['u-1'] } } },
            { kind: 'role', name: 'ops' },
            { kind: 'includes', name: 'base' },
            { kind: 'rule', name: 'item:/prod/*', detail: { capabilities: ['read', 'list'] } },
          ],
        },
      ],
      escalation: null,
    },
  ],
  escalations: [
    {
      identityId: 'i-2',
      identityName: 'sneaky',
      canEditOwnRoles: ['ops'],
      canAssociateAdministrator: [],
      steps: [
        { kind: 'identity', name: 'sneaky' },
        { kind: 'role', name: 'ops' },
        { kind: 'rule', name: 'role:/ops', detail: { capabilities: ['update'], edits: 'role:/ops' } },
      ],
    },
  ],
};
const ENTRY = {
  id: 'i-1',
  name: 'svc/a',
  kind: 'service',
  owner: 'alice',
  ownership: { identity: 'alice', credentials: 'alice', entitlements: 'alice' },
  environment: 'production',
  tags: [],
  state: 'active',
  management: 'tessera-issued',
  createdAt: '2025-06-01T09:00:00.000Z',
  lastUsedAt: null,
  credentials: [
    {
      id: 'p-ak',
      kind: 'access_key',
      via: 'svc/a-key',
      authMethod: 'access_key',
      createdAt: '2025-06-01T09:00:00.000Z',
      expiresAt: null,
      lastRotatedAt: null,
      lastUsedAt: null,
      ageDays: 0,
      ttlSeconds: null,
      live: true,
      sources: [],
    },
  ],
  effectivePermissions: [
    { role: 'r', via: 'svc/a-key', ruleType: 'item', path: '/a', capabilities: ['read'], used: true },
  ],
  usedPermissions: [],
  findings: [
    {
      key: 'static-access-key:i-1:p-ak',
      rule: 'static-access-key',
      owasp: 'NHI4',
      owaspTitle: 'Insecure Authentication',
      severity: 'medium',
      identityId: 'i-1',
      identityName: 'svc/a',
      title: 'A static access key',
      evidence: {},
      remediation: {
        action: 'replace-credential',
        description: 'x',
        command: 'tessera auth-method delete --name svc/a-key',
      },
    },
  ],
  riskScore: 10,
};

const REVIEW = {
  id: 'ar-1',
  name: 'q4',
  state: 'open',
  scope: { environment: 'prod' },
  consequence: 'suspend',
  dueAt: '2025-06-15T09:00:00.000Z',
  reminderIntervalSeconds: 86_400,
  lastRemindedAt: null,
  createdAt: '2025-06-01T09:00:00.000Z',
  closedAt: null,
};
const REVIEW_SUMMARY = { total: 1, pending: 1, keep: 0, narrow: 0, revoke: 0, expired: 0 };
const REVIEW_ITEM = {
  identityId: 'i-1',
  identityName: 'svc/a',
  owner: 'alice',
  permissions: [{ role: 'r', ruleType: 'item', path: '/prod/*', capabilities: ['read'], usedInWindow: true }],
  decision: null,
  decidedBy: null,
  decidedAt: null,
  comment: null,
  outcome: null,
};

const ROUTES: Record<string, Handler> = {
  'GET /v1/pki/ca': () => [200, CA],
  'POST /v1/pki/ca': () => [201, CA],
  'POST /v1/pki/ca/intermediate': () => [201, PENDING_CA],
  'GET /v1/pki/ca/intermediate': () => [200, PENDING_CA],
  'POST /v1/pki/ca/intermediate/certificate': () => [
    201,
    { ...CA, kind: 'intermediate', chainPem: CA.certificatePem },
  ],
  'PUT /v1/pki/profiles/web': () => [
    200,
    {
      name: 'web',
      maxTtlSeconds: 3600,
      defaultTtlSeconds: 3600,
      keyTypes: ['ec-p256'],
      keyUsages: ['digitalSignature'],
      extKeyUsages: ['clientAuth'],
      spiffeIdPath: '/identity/{identity}',
      dnsNames: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
  ],
  'POST /v1/pki/issue/web': () => [
    200,
    { certificatePem: CA.certificatePem, caBundlePem: CA.certificatePem, certificate: CERT },
  ],
  'POST /v1/pki/certificates/5f3a/revoke': () => [200, { ...CERT, revokedAt: '2026-01-01T00:30:00.000Z' }],
  'POST /v1/config/plan': () => [200, NO_CHANGES],
  'POST /v1/config/apply': () => [200, { plan: NO_CHANGES, issued: [] }],
  'GET /v1/config/export': () => [200, { document: { version: 1, identities: [] } }],
  'POST /v1/auth': () => [
    200,
    {
      token: JWT,
      tokenType: 'Bearer',
      expiresIn: 3600,
      expiresAt: '2025-06-01T11:00:00.000Z',
      identityId: 'i-1',
      authMethodId: 'p-admin',
    },
  ],
  'POST /v1/auth-methods': (c) =>
    c.body?.type === 'access_key'
      ? [201, { authMethod: { ...METHOD, id: 'p-ak', type: 'access_key' }, accessKey: 'AK-SECRET' }]
      : [201, { authMethod: METHOD }],
  'GET /v1/auth-methods': () => [200, { items: [METHOD], nextCursor: null }],
  'GET /v1/auth-methods/by-name': () => [200, METHOD],
  'DELETE /v1/auth-methods/p-uid': () => [204, undefined],
  'POST /v1/login/start': () => [
    200,
    {
      loginId: 'lg-1',
      authorizationUrl: 'http://idp.test/auth?state=st1',
      pollToken: 'lp-POLLTOKEN',
      expiresAt: '2025-06-01T10:00:00.000Z',
    },
  ],
  'POST /v1/login/poll': () => [
    200,
    {
      status: 'done',
      token: 't-PERSONTOKEN',
      expiresAt: '2099-06-01T10:00:00.000Z',
      person: {
        id: 'h-1',
        issuer: 'http://idp.test',
        subject: 'alice',
        email: 'alice@example.com',
        name: 'Alice',
        groups: ['ops'],
        authMethodId: 'p-h1',
        createdAt: '2025-06-01T09:00:00.000Z',
        lastLoginAt: '2025-06-01T09:00:00.000Z',
      },
    },
  ],
  'POST /v1/logout': () => [204, undefined],
  'GET /v1/approvals': () => [200, { items: [APPROVAL] }],
  'GET /v1/approvals/apr-1': () => [200, APPROVAL],
  'POST /v1/approvals/apr-1/approve': () => [200, { ...APPROVAL, status: 'approved' }],
  'POST /v1/approvals/apr-1/deny': () => [200, { ...APPROVAL, status: 'denied' }],
  'POST /v1/oauth-clients': () => [201, { client: OAUTH_CLIENT, clientSecret: 'tcs-SECRET' }],
  'GET /v1/oauth-clients': () => [200, { items: [OAUTH_CLIENT], nextCursor: null }],
  'GET /v1/oauth-clients/p-oc': () => [200, OAUTH_CLIENT],
  'PATCH /v1/oauth-clients/p-oc': (c) => [200, { ...OAUTH_CLIENT, ...c.body }],
  'POST /v1/oauth-clients/p-oc/rotate-secret': () => [200, { client: OAUTH_CLIENT, clientSecret: 'tcs-NEW' }],
  'DELETE /v1/oauth-clients/p-oc': () => [204, undefined],
  'POST /v1/mcp-servers': () => [201, MCP_SERVER],
  'GET /v1/mcp-servers': () => [200, { items: [MCP_SERVER] }],
  'GET /v1/mcp-servers/files': () => [200, MCP_SERVER],
  'PATCH /v1/mcp-servers/files': () => [200, MCP_SERVER],
  'GET /v1/mcp-servers/files/tools': () => [200, MCP_TOOLS],
  'POST /v1/mcp-servers/files/approve-tools': () => [200, MCP_TOOLS],
  'DELETE /v1/mcp-servers/files': () => [204, undefined],
  'POST /v1/oauth/registration-tokens': () => [
    201,
    { registrationToken: REGISTRATION_TOKEN, token: 'tri-X' },
  ],
  'GET /v1/oauth/registration-tokens': () => [200, { items: [REGISTRATION_TOKEN], nextCursor: null }],
  'GET /v1/oauth/registration-tokens/rit-1': () => [200, REGISTRATION_TOKEN],
  'POST /v1/oauth/registration-tokens/rit-1/revoke': () => [
    200,
    { ...REGISTRATION_TOKEN, state: 'revoked', revokedAt: '2026-01-01T00:10:00.000Z' },
  ],
  'POST /v1/oauth/resource-servers': () => [201, RESOURCE_SERVER],
  'GET /v1/oauth/resource-servers': () => [200, { items: [RESOURCE_SERVER] }],
  'GET /v1/oauth/resource-servers/orders': () => [200, RESOURCE_SERVER],
  'PATCH /v1/oauth/resource-servers/orders': () => [200, { ...RESOURCE_SERVER, senderConstrained: true }],
  'DELETE /v1/oauth/resource-servers/orders': () => [204, undefined],
  'POST /v1/uid/tokens': () => [201, ISSUED],
  'POST /v1/uid/rotate': (c) => [200, { ...ISSUED, pendingAck: c.body?.manualAck === true }],
  'POST /v1/uid/rotate/ack': () => [200, { tokenId: 'node1', acknowledged: true }],
  'POST /v1/uid/children': () => [
    201,
    { ...ISSUED, token: 'u-CHILD', tokenId: 'node2', parentId: 'node1', depth: 2 },
  ],
  'GET /v1/uid/tree': () => [200, TREE],
  'POST /v1/uid/revoke': (c) => [200, { tokenId: 'node1', type: c.body?.type, revokedCount: 2 }],
  'POST /v1/identities': () => [201, IDENTITY],
  'GET /v1/identities': () => [200, { items: [IDENTITY], nextCursor: 'c2' }],
  'GET /v1/identities/i-1': () => [200, IDENTITY],
  'PATCH /v1/identities/i-1': () => [200, IDENTITY],
  'POST /v1/identities/i-1/retire': () => [200, { ...IDENTITY, state: 'retired' }],
  'GET /v1/audit/events': () => [200, { items: [AUDIT_EVENT], nextCursor: null }],
  'POST /v1/roles': () => [201, { ...ROLE, rules: [], associations: [] }],
  'GET /v1/roles': () => [
    200,
    {
      items: [{ ...ROLE, ruleCount: 1, associationCount: 1, rules: undefined, associations: undefined }],
      nextCursor: null,
    },
  ],
  'GET /v1/roles/demo-readers': () => [200, ROLE],
  'DELETE /v1/roles/demo-readers': () => [204, undefined],
  'POST /v1/roles/demo-readers/rules': () => [200, RULE],
  'DELETE /v1/roles/demo-readers/rules': () => [204, undefined],
  'POST /v1/roles/demo-readers/associations': () => [201, ASSOCIATION],
  'DELETE /v1/role-associations/ra-1': () => [204, undefined],
  'POST /v1/roles/demo-readers/includes': () => [200, ROLE],
  'DELETE /v1/roles/demo-readers/includes/common': () => [204, undefined],
  'POST /v1/access/explain': () => [200, EXPLANATION],
  'POST /v1/audit/hash': () => [200, { hash: `hmac-sha256:${'0'.repeat(64)}` }],
  'POST /v1/audit/verify': () => [
    200,
    {
      ok: true,
      checkedEvents: 3,
      lastSeq: 3,
      checkpoints: { total: 1, matched: 1, latestSeq: 3 },
      anchor: null,
      problem: null,
    },
  ],
  'POST /v1/audit/archive': (c) => [
    200,
    {
      fromSeq: 1,
      throughSeq: (c.body as { throughSeq: number }).throughSeq,
      events: 2,
      file: '/data/audit/archive/events-1-2.jsonl',
      anchor: { v: 1, seq: 2, hash: 'a'.repeat(64), atMs: 0, kid: 'ck-x', signature: 'sig' },
    },
  ],
  'POST /v1/secrets': () => [201, SECRET],
  'GET /v1/secrets/value': () => [200, SECRET_VALUE],
  'POST /v1/secrets/values': (c) => [
    200,
    {
      items: ((c.body as { names: string[] }).names ?? []).map((name, i) => ({
        ...SECRET_VALUE,
        name,
        value: `value-${i}\nline2`,
      })),
    },
  ],
  'POST /v1/secrets/versions': () => [200, { ...SECRET, latestVersion: 2 }],
  'GET /v1/secrets': () => [
    200,
    {
      items: [
        SECRET,
        { ...SECRET, id: 'ds-1', name: '/demo/orders-db', type: 'dynamic', latestVersion: 0, maxVersions: 0 },
      ],
      folders: ['/demo/sub'],
      nextCursor: '/demo/database-config',
    },
  ],
  'GET /v1/secrets/describe': () => [
    200,
    { ...SECRET, versions: [{ version: 1, sizeBytes: 24, createdAt: '2025-06-01T09:00:00.000Z' }] },
  ],
  'DELETE /v1/secrets': () => [
    200,
    {
      id: 's-1',
      name: '/demo/database-config',
      deletedAt: '2025-06-01T10:00:00.000Z',
      purgeAfter: '2025-06-08T10:00:00.000Z',
      purged: false,
      versionsDestroyed: 0,
    },
  ],
  'POST /v1/secrets/restore': () => [200, SECRET],
  'POST /v1/rotated-secrets': (c) => [
    201,
    {
      ...ROTATED,
      strategy: (c.body?.strategy as string | undefined) ?? 'two-account',
      usernames: c.body?.usernames,
      intervalSeconds: c.body?.intervalSeconds ?? null,
    },
  ],
  'GET /v1/rotated-secrets/value': () => [200, ROTATED_VALUE],
  'POST /v1/rotated-secrets/rotate': () => [
    200,
    {
      ...ROTATED,
      version: 2,
      currentUsername: 'orders_b',
      rotatedAt: '2025-06-01T10:00:00.000Z',
      retireAt: '2025-06-01T10:10:00.000Z',
    },
  ],
  'GET /v1/rotated-secrets/describe': () => [200, ROTATED],
  'GET /v1/rotated-secrets': () => [200, { items: [ROTATED], nextCursor: null }],
  'PATCH /v1/rotated-secrets': (c) => [200, { ...ROTATED, ...(c.body ?? {}) }],
  'DELETE /v1/rotated-secrets': () => [200, ROTATED],
  'GET /v1/dynamic-secrets': () => [200, { items: [DYNAMIC], nextCursor: null }],
  'DELETE /v1/dynamic-secrets': () => [200, DYNAMIC],
  'POST /v1/dynamic-secrets': (c) => [201, { ...DYNAMIC, name: c.body?.name }],
  'GET /v1/dynamic-secrets/describe': () => [200, DYNAMIC],
  'POST /v1/dynamic-secrets/credentials': () => [
    201,
    {
      leaseId: 'l-1',
      name: '/prod/pg',
      username: 'tsr_abc123',
      password: 'Dyn4micPassw0rdDyn4micPassw0rd12',
      ttlSeconds: 3600,
      expiresAt: LEASE.expiresAt,
      maxExpiresAt: LEASE.maxExpiresAt,
    },
  ],
  'POST /v1/dynamic-secrets/sweep': () => [200, { orphans: ['tsr_rogue'], dropped: [], failed: [] }],
  'GET /v1/leases': () => [200, { items: [LEASE], nextCursor: null }],
  'GET /v1/leaks': () => [200, { items: [], nextCursor: null }],
  'POST /v1/leases/renew': () => [200, LEASE],
  'POST /v1/leases/revoke': () => [200, { lease: { ...LEASE, state: 'revoked' }, sessionsTerminated: 1 }],
  'POST /v1/leases/revoke-prefix': () => [202, { marked: 3 }],
  'POST /v1/sys/kek/rotate': () => [200, { kekVersion: 2, previousKekVersion: 1, pendingItems: 3 }],
  'GET /v1/sys/seal-status': () => [200, { sealed: true, threshold: null, progress: 0, keyId: 'k-abcdefgh' }],
  'POST /v1/sys/unseal': () => [200, { sealed: true, threshold: 3, progress: 1, keyId: 'k-abcdefgh' }],
  'GET /v1/sys/kek': () => [
    200,
    {
      activeVersion: 2,
      versions: [
        { version: 1, createdAt: '2025-06-01T09:00:00.000Z', items: 1 },
        { version: 2, createdAt: '2025-06-01T10:00:00.000Z', items: 2 },
      ],
    },
  ],
  'GET /v1/inventory': () => [200, { items: [ENTRY], nextCursor: null }],
  'GET /v1/inventory/i-1': () => [200, ENTRY],
  'GET /v1/inventory/export': () => [200, { items: [ENTRY] }],
  'GET /v1/inventory/access': () => [200, WHO_CAN],
  'POST /v1/inventory/i-1/retire': () => [
    200,
    {
      identityId: 'i-1',
      identityName: 'svc/a',
      state: 'retired',
      leasesDue: 0,
      revoked: [{ kind: 'access_key', id: 'p-ak', via: 'svc/a-key' }],
    },
  ],
  'POST /v1/inventory/i-1/narrow': () => [
    200,
    {
      identityId: 'i-1',
      windowDays: 30,
      rules: [{ ruleType: 'item', path: '/a', capabilities: ['read'] }],
      removed: [],
      applied: null,
    },
  ],
  'POST /v1/owners/offboard': () => [
    200,
    {
      owner: 'bob',
      to: 'carol',
      suspend: false,
      preview: false,
      identities: [{ id: 'i-1', name: 'svc/a', owner: 'carol', state: 'active' }],
    },
  ],
  'POST /v1/reviews': () => [201, { ...REVIEW, summary: REVIEW_SUMMARY }],
  'GET /v1/reviews': () => [200, { items: [REVIEW], nextCursor: null }],
  'GET /v1/reviews/ar-1': () => [
    200,
    { ...REVIEW, summary: REVIEW_SUMMARY, items: [REVIEW_ITEM], nextCursor: null },
  ],
  'POST /v1/reviews/ar-1/decisions': () => [
    200,
    {
      ...REVIEW_ITEM,
      decision: 'keep',
      decidedBy: 'i-admin',
      decidedAt: '2025-06-02T09:00:00.000Z',
      outcome: 'certified',
    },
  ],
  'POST /v1/reviews/ar-1/remind': () => [200, { reminded: 1, expired: 0, state: 'open' }],
  'GET /v1/reviews/ar-1/report': () => [
    200,
    { campaign: REVIEW, summary: REVIEW_SUMMARY, items: [REVIEW_ITEM] },
  ],
  'POST /v1/governance/scan': () => [
    200,
    { identities: 1, auditEventsFolded: 3, open: 1, opened: 1, resolved: 0, tookMs: 5 },
  ],
  'GET /v1/governance/findings': () => [200, { items: ENTRY.findings, nextCursor: null }],
  'GET /v1/governance/policy': () => [200, POLICY],
  'PUT /v1/governance/policy': () => [200, POLICY],
  'POST /v1/discovery/sources': () => [
    201,
    { name: 'pg', itemName: '/prod/pg', connector: 'postgresql', prefix: '' },
  ],
  'POST /v1/discovery/sources/pg/run': () => [200, { source: 'pg', accounts: 3, unknown: 1, discovered: 1 }],
  'GET /v1/discovery/accounts': () => [
    200,
    {
      items: [
        {
          id: 'da-1',
          source: 'pg',
          account: 'rogue',
          identityId: 'i-2',
          state: 'pending',
          firstSeenAt: '2025-06-01T09:00:00.000Z',
          lastSeenAt: '2025-06-01T09:00:00.000Z',
          decidedAt: null,
          decision: null,
          passwordChangedAt: '2025-05-01T09:00:00.000Z',
        },
      ],
    },
  ],
  'POST /v1/discovery/accounts/da-1/decide': () => [
    200,
    {
      id: 'da-1',
      account: 'rogue',
      source: 'pg',
      decision: 'adopt',
      target: 'postgresql://db:5432',
      effects: ['set a new password'],
    },
  ],
};

let dir: string;
let calls: Call[];
let routes: Record<string, Handler>;

const fakeFetch: FetchLike = async (input, init) => {
  const url = new URL(input);
  const call: Call = {
    method: init.method ?? 'GET',
    path: url.pathname,
    auth: (init.headers as Record<string, string>).authorization,
    body: typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined,
    query: Object.fromEntries(url.searchParams),
  };
  calls.push(call);
  const handler = routes[`${call.method} ${call.path}`];
  const [status, body] = handler
    ? await handler(call)
    : [404, { error: { code: 'TESSERA_ROUTE_NOT_FOUND', message: 'No such route.', requestId: 'req-404' } }];
  return new Response(body === undefined ? null : JSON.stringify(body), { status });
};

function run(argv: string[], env: Record<string, string> = {}) {
  return runCapturing(argv, {
    env: { TESSERA_CONFIG_DIR: dir, TESSERA_TOKEN: 't-admin-session', ...env },
    now: () => NOW,
    readStdin: async () => 'KEY-FROM-STDIN\n',
    onShutdownSignal: () => () => undefined,
    fetch: fakeFetch,
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-cli-'));
  calls = [];
  routes = { ...ROUTES };
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--json on every command', () => {
  const cases: string[][] = [
    ['auth', '--access-id', 'p-uid', '--access-type', 'universal_identity', '--uid_token', 'u-X'],
    ['auth-method', 'create', 'universal-identity', '--name', '/demo/uid', '--ttl', '60', '--jwt-ttl', '720'],
    ['auth-method', 'create', 'access-key', '--name', '/admins/x'],
    [
      'auth-method',
      'create',
      'oidc-federation',
      '--name',
      '/ci/github',
      '--preset',
      'github-actions',
      '--audience',
      'https://tessera.test',
      '--bound-claim',
      'repository=acme/*',
    ],
    ['auth', '--access-type', 'oidc_federation', '--access-id', 'p-fed', '--jwt', '-'],
    ['auth-method', 'list'],
    ['auth-method', 'get', '--name', '/demo/uid'],
    ['auth-method', 'delete', '--name', '/demo/uid'],
    ['oauth-client', 'create', '--name', '/svc/billing', '--scopes', 'read'],
    ['cert', 'ca-create', '--trust-domain', 'example.org'],
    ['cert', 'ca-intermediate', '--trust-domain', 'example.org'],
    ['cert', 'ca-intermediate', '--show'],
    ['cert', 'ca-import', '--cert', join(AGENT_DIR, 'token'), '--chain', join(AGENT_DIR, 'token')],
    ['cert', 'profile', '--name', 'web', '--max-ttl', '1h', '--ext-key-usages', 'clientAuth'],
    ['cert', 'issue', '--cert-profile', 'web', '--csr', join(AGENT_DIR, 'token'), '--ttl', '10m'],
    ['cert', 'revoke', '--serial', '5f3a'],
    ['cert', 'bundle'],
    ['auth-method', 'create', 'certificate', '--name', '/mtls/workloads'],
    ['oauth-client', 'list'],
    ['login', '--no-browser'],
    ['logout'],
    ['approval', 'list', '--status', 'all', '--mine'],
    ['approval', 'show', 'apr-1'],
    ['approval', 'approve', 'apr-1', '--comment', 'ok'],
    ['approval', 'deny', '--id', 'apr-1'],
    ['oauth-client', 'get', '--client-id', 'p-oc'],
    ['oauth-client', 'update', '--client-id', 'p-oc', '--dpop'],
    ['oauth-client', 'rotate-secret', '--client-id', 'p-oc'],
    ['oauth-client', 'delete', '--client-id', 'p-oc'],
    ['oauth-client', 'registration-token', 'create', '--path', '/ci/*', '--ttl', '1h', '--uses', '3'],
    ['oauth-client', 'registration-token', 'list'],
    ['oauth-client', 'registration-token', 'get', '--id', 'rit-1'],
    ['oauth-client', 'registration-token', 'revoke', '--id', 'rit-1'],
    [
      'mcp-server',
      'add',
      'files',
      '--upstream-url',
      'http://127.0.0.1:9/mcp',
      '--owner',
      'alice@example.com',
    ],
    ['mcp-server', 'list'],
    ['mcp-server', 'get', 'files'],
    ['mcp-server', 'tools', 'files'],
    ['mcp-server', 'approve-tools', 'files'],
    ['mcp-server', 'update', 'files', '--required-scopes', 'mcp:tools'],
    ['mcp-server', 'remove', 'files'],
    [
      'resource-server',
      'create',
      'orders',
      '--identifier',
      'https://orders.example.com/',
      '--owner',
      'olga@example.com',
      '--scopes',
      'read',
    ],
    ['resource-server', 'list'],
    ['resource-server', 'get', 'orders'],
    ['resource-server', 'update', 'orders', '--sender-constrained'],
    ['resource-server', 'delete', 'orders'],
    ['uid-generate-token', '--auth-method-name', '/demo/uid'],
    ['uid-rotate-token', '--uid-token', 'u-OLD'],
    ['uid-create-child-token', '--uid-token', 'u-P', '--child-ttl', '30'],
    [
      'uid-revoke-token',
      '--revoke-token',
      'node1',
      '--revoke-type',
      'revokeAll',
      '--auth-method-name',
      '/demo/uid',
    ],
    ['uid-list-children', '--uid-token', 'u-P'],
    ['identity', 'create', '--name', 'billing-api', '--kind', 'service', '--owner', 'alice@example.com'],
    ['identity', 'get', 'i-1'],
    ['identity', 'list', '--kind', 'service'],
    ['identity', 'update', 'i-1', '--owner', 'bob@example.com'],
    ['identity', 'retire', '--id', 'i-1'],
    ['configure', '--url', 'http://127.0.0.1:9999'],
    ['audit', 'list', '--type', 'auth.*'],
    ['audit', 'failures'],
    ['audit', 'hash', '--value', 'v'],
    ['audit', 'verify'],
    ['audit', 'archive', '--through-seq', '2'],
    ['create-role', '--name', 'demo-readers'],
    ['list-roles'],
    ['get-role', '--name', 'demo-readers'],
    ['delete-role', '--name', 'demo-readers'],
    ['set-role-rule', '--role-name', 'demo-readers', '--path', '/demo/*', '--capability', 'read'],
    ['delete-role-rule', '--role-name', 'demo-readers', '--path', '/demo/*', '--rule-type', 'item-rule'],
    ['assoc-role-am', '--role-name', 'demo-readers', '--am-name', '/demo/uid'],
    ['delete-assoc', '--assoc-id', 'ra-1'],
    ['include-role', '--role-name', 'demo-readers', '--included-role', 'common'],
    ['exclude-role', '--role-name', 'demo-readers', '--included-role', 'common'],
    ['access', 'explain', '--path', '/demo/db', '--action', 'read'],
    ['create-secret', '--name', '/demo/database-config', '--value', 'v', '--tag', 'prod'],
    ['get-secret-value', '--name', '/demo/database-config'],
    ['get-secret-value', '--name', '/demo/a', '--name', '/demo/b'],
    ['update-secret-val', '--name', '/demo/database-config', '--value', 'v2'],
    ['list-items', '--path', '/demo'],
    ['describe-item', '--name', '/demo/database-config'],
    ['delete-item', '--name', '/demo/database-config'],
    ['restore-item', '--name', '/demo/database-config'],
    ['secret-kek', 'rotate'],
    ['secret-kek', 'status'],
    [
      'create-rotated-secret',
      '--name',
      '/prod/orders-db',
      '--type',
      'mysql',
      '--host',
      '127.0.0.1',
      '--port',
      '3306',
      '--admin-user',
      'root',
      '--admin-password-file',
      '-',
      '--username-a',
      'orders_a',
      '--username-b',
      'orders_b',
    ],
    ['rotate-secret', '--name', '/prod/orders-db'],
    ['get-rotated-secret-value', '--name', '/prod/orders-db'],
    ['describe-rotated-secret', '--name', '/prod/orders-db'],
    ['list-rotated-secrets', '--path', '/prod'],
    ['update-rotated-secret', '--name', '/prod/orders-db', '--interval', '720', '--grace', '10'],
    ['delete-rotated-secret', '--name', '/prod/orders-db'],
    [
      'create-dynamic-secret',
      'postgresql',
      '--name',
      '/prod/pg',
      '--host',
      'db.internal',
      '--db-name',
      'orders',
      '--admin-user',
      'tessera_admin',
      '--admin-password-file',
      '-',
      '--ttl',
      '1h',
      '--max-ttl',
      '24h',
    ],
    [
      'create-dynamic-secret',
      'mysql',
      '--name',
      '/prod/pg',
      '--host',
      'db',
      '--admin-user',
      'root',
      '--admin-password-file',
      '-',
    ],
    ['create-dynamic-secret', 'redis', '--name', '/prod/pg', '--host', 'cache'],
    ['get-dynamic-secret-value', '--name', '/prod/pg'],
    ['describe-dynamic-secret', '--name', '/prod/pg'],
    ['list-dynamic-secrets', '--path', '/prod'],
    ['delete-dynamic-secret', '--name', '/prod/pg', '--revoke-leases'],
    ['list-leases', '--name', '/prod/pg'],
    ['renew-lease', '--lease-id', 'l-1'],
    ['revoke-lease', '--lease-id', 'l-1'],
    ['sweep-dynamic-secret', '--name', '/prod/pg'],
    ['scan', AGENT_DIR],
    ['list-leaks', '--outcome', 'revoked'],
    ['plan', '--file', join(AGENT_DIR, 'identity.yaml')],
    ['apply', '--file', join(AGENT_DIR, 'identity.yaml'), '--plan-hash', NO_CHANGES.hash],
    ['export'],
    ['inventory', 'list', '--owner', 'alice', '--finding', 'NHI4'],
    ['inventory', 'show', 'i-1'],
    ['inventory', 'export', '--format', 'json'],
    ['inventory', 'who-can', '/prod/db'],
    ['inventory', 'retire', 'i-1'],
    ['inventory', 'narrow', 'i-1'],
    ['owner', 'offboard', '--owner', 'bob', '--to', 'carol'],
    [
      'review',
      'create',
      '--name',
      'q4',
      '--environment',
      'prod',
      '--due-days',
      '14',
      '--consequence',
      'suspend',
    ],
    ['review', 'list', '--state', 'open'],
    ['review', 'show', 'ar-1', '--pending'],
    ['review', 'decide', 'ar-1', '--identity', 'i-1', '--decision', 'keep'],
    ['review', 'remind', 'ar-1'],
    ['review', 'report', 'ar-1'],
    ['posture', 'scan'],
    ['posture', 'findings', '--owasp', 'NHI4'],
    ['posture', 'policy', '--usage-window-days', '60'],
    ['discovery', 'add-source', '--name', 'pg', '--item', '/prod/pg'],
    ['discovery', 'run', 'pg'],
    ['discovery', 'accounts'],
    ['discovery', 'decide', 'da-1', '--decision', 'adopt', '--owner', 'team', '--preview'],
    ['root-key', 'rotate', '--data-dir', ROOT_KEY_DATA_DIR],
    ['root-key', 'split', '--data-dir', ROOT_KEY_DATA_DIR, '--shares', '3', '--threshold', '2'],
    ['backup', '--data-dir', ROOT_KEY_DATA_DIR, '--out', BACKUP_DIR, '--include-root-key'],
    ['restore', '--from', BACKUP_DIR, '--data-dir', RESTORE_DIR],
    ['unseal', '--share', '-'],
    [
      'agent',
      '--uid-token-file',
      join(AGENT_DIR, 'token'),
      '--server-url',
      'http://127.0.0.1:8377',
      '--once',
    ],
    // No `--` here: the test appends --json, which must reach the CLI, not the child.
    [
      'run',
      '--uid-token-file',
      join(AGENT_DIR, 'token'),
      '--env',
      'DB=/demo/database-config',
      process.execPath,
      '-e',
      '',
    ],
  ];
  beforeAll(async () => {
    const { initDataDir, loadConfig } = await import('@tessera/server');
    await initDataDir(loadConfig({ dataDir: ROOT_KEY_DATA_DIR, logLevel: 'silent' }, {}));
    await mkdir(AGENT_DIR, { recursive: true });
    await writeFile(join(AGENT_DIR, 'token'), 'UID_TOKEN=u-X\n', { mode: 0o600 });
    await writeFile(join(AGENT_DIR, 'identity.yaml'), 'version: 1\nidentities: []\n');
  });
  afterAll(async () => {
    await rm(ROOT_KEY_DATA_DIR, { recursive: true, force: true });
    await rm(BACKUP_DIR, { recursive: true, force: true });
    await rm(RESTORE_DIR, { recursive: true, force: true });
    await rm(AGENT_DIR, { recursive: true, force: true });
  });
  it.each(cases)('%s %s %s', async (...argv) => {
    const result = await run([...argv, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(() => JSON.parse(result.stdout)).not.toThrow();
  });

  it('covers every command except server and init', () => {
    const covered = new Set(cases.map((c) => resolveCommand(c).command?.path.join(' ')));
    const all = COMMANDS.map((c) => c.path.join(' ')).filter((n) => n !== 'server' && n !== 'init');
    expect(all.filter((n) => !covered.has(n))).toEqual([]);
  });
});

describe('oidc federation', () => {
  it('create sends presets, bound claims (exact, glob, list) and the template', async () => {
    const r = await run([
      'auth-method',
      'create',
      'oidc-federation',
      '--name',
      '/k8s/prod',
      '--preset',
      'kubernetes',
      '--issuer',
      'https://k8s.example.test',
      '--audience',
      'tessera',
      '--bound-claim',
      'kubernetes.io.namespace=payments,billing',
      '--bound-claim',
      'kubernetes.io.serviceaccount.name=api',
      '--bound-claim',
      'sub=system:serviceaccount:*',
      '--require-registered-identity',
      '--max-token-age',
      '10m',
    ]);
    expect(r.code).toBe(0);
    expect(calls.at(-1)?.body).toEqual({
      type: 'oidc_federation',
      name: '/k8s/prod',
      preset: 'kubernetes',
      issuer: 'https://k8s.example.test',
      audience: 'tessera',
      boundClaims: {
        'kubernetes.io.namespace': ['payments', 'billing'],
        'kubernetes.io.serviceaccount.name': 'api',
        sub: 'system:serviceaccount:*',
      },
      createIdentities: false,
      maxTokenAgeSeconds: 600,
    });
  });

  it('auth reads the workload JWT from a file or standard input, never needing a stored secret', async () => {
    const file = join(dir, 'oidc.jwt');
    await writeFile(file, 'eyJ.header.sig\n');
    expect(
      (await run(['auth', '--access-type', 'oidc_federation', '--access-id', 'p-fed', '--jwt-file', file]))
        .code,
    ).toBe(0);
    expect(calls.at(-1)?.body).toEqual({
      accessType: 'oidc_federation',
      accessId: 'p-fed',
      jwt: 'eyJ.header.sig',
    });
    expect(
      (await run(['auth', '--access-type', 'oidc_federation', '--access-id', 'p-fed', '--jwt', '-'])).code,
    ).toBe(0);
    expect(calls.at(-1)?.body).toEqual({
      accessType: 'oidc_federation',
      accessId: 'p-fed',
      jwt: 'KEY-FROM-STDIN',
    });
    const missing = await run(['auth', '--access-type', 'oidc_federation', '--access-id', 'p-fed']);
    expect(missing.code).not.toBe(0);
  });
});

describe('readable output for scripts', () => {
  it('set-role-rule builds a target condition (ADR 0042) and refuses an unknown owner kind', async () => {
    const r = await run([
      'set-role-rule',
      '--role-name',
      'demo-readers',
      '--path',
      '/projects/*',
      '--capability',
      'read',
      '--target-owner',
      'principal-owner',
      '--target-tag',
      'project,live',
    ]);
    expect(r.code).toBe(0);
    expect(calls[0]?.body).toMatchObject({
      conditions: { target: { owner: 'principal-owner', tags: ['project', 'live'] } },
    });
    const bad = await run([
      'set-role-rule',
      '--role-name',
      'agents',
      '--path',
      '/x',
      '--capability',
      'read',
      '--target-owner',
      'anyone',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--target-owner');
  });

  it('set-role-rule passes Akeyless rule types, sends seconds and builds conditions', async () => {
    const r = await run([
      'set-role-rule',
      '--role-name',
      'demo-readers',
      '--path',
      '/demo/*',
      '--rule-type',
      'auth-method-rule',
      '--capability',
      'read,list',
      '--capability',
      'deny',
      '--ttl',
      '90',
      '--cidr',
      '10.0.0.0/8',
      '--claim',
      'environment=prod,staging',
      '--hours',
      '9-17',
      '--days',
      'mon,fri',
    ]);
    expect(r.code).toBe(0);
    expect(calls[0]?.body).toEqual({
      ruleType: 'auth-method-rule',
      path: '/demo/*',
      capabilities: ['read', 'list', 'deny'],
      ttlSeconds: 5400,
      conditions: {
        cidrs: ['10.0.0.0/8'],
        claims: { environment: ['prod', 'staging'] },
        timeWindow: { fromHour: 9, toHour: 17, days: ['mon', 'fri'] },
      },
    });
    expect(r.stdout).toContain('Rule rr-1 of role "demo-readers"');
    const bad = await run(['set-role-rule', '--role-name', 'x', '--path', '/x', '--capability', 'admin']);
    expect(bad.code).toBe(2);
    expect(
      (
        await run([
          'set-role-rule',
          '--role-name',
          'x',
          '--path',
          '/x',
          '--capability',
          'read',
          '--rule-type',
          'target-rule',
        ])
      ).code,
    ).toBe(2);
  });

  it('assoc-role-am sends sub-claims (several values per key) and prints the association id', async () => {
    const r = await run([
      'assoc-role-am',
      '--role-name',
      'demo-readers',
      '--am-name',
      '/demo/uid',
      '--sub-claim',
      'uid-subtree=node1,node2',
      '--sub-claims',
      'kind=service',
    ]);
    expect(r.stdout).toBe('ra-1\n');
    expect(calls[0]?.body).toEqual({
      authMethodName: '/demo/uid',
      claims: { 'uid-subtree': ['node1', 'node2'], kind: ['service'] },
    });
    expect(
      (await run(['assoc-role-am', '--role-name', 'r', '--am-name', 'm', '--sub-claim', 'team=x'])).code,
    ).toBe(2);
    expect((await run(['assoc-role-am', '--role-name', 'r'])).code).toBe(2);
  });

  it('access explain reads as a sentence and never prints the token it explains', async () => {
    const r = await run([
      'access',
      'explain',
      '--for-token',
      't-OTHER-SESSION',
      '--path',
      '/demo/db',
      '--action',
      'read',
      '--rule-type',
      'item-rule',
    ]);
    expect(r.stdout.split('\n')[0]).toBe('allowed by role demo-readers rule rr-1 (item /demo/*: read, list)');
    expect(r.stdout).not.toContain('t-OTHER-SESSION');
    expect(calls[0]?.body).toEqual({
      path: '/demo/db',
      action: 'read',
      ruleType: 'item-rule',
      token: 't-OTHER-SESSION',
    });
    routes['POST /v1/access/explain'] = () => [
      200,
      {
        ...EXPLANATION,
        allowed: false,
        reason: 'no-matching-rule',
        summary: 'denied: no matching rule',
        rule: null,
        role: null,
        association: null,
      },
    ];
    expect((await run(['access', 'explain', '--path', '/prod/db', '--action', 'read'])).stdout).toMatch(
      /^denied: no matching rule\n/,
    );
  });

  it('inventory who-can prints each path and the escalation paths', async () => {
    const r = await run(['inventory', 'who-can', 'prod/db', '--type', 'item']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'identity svc/a → auth-method svc/a-key → association ra-1 → role ops → includes base → rule item:/prod/*',
    );
    expect(r.stdout).toContain('read,list (conditional)');
    expect(r.stdout).toMatch(/Escalation paths[^\n]*\n[\s\S]*sneaky\s+ops/);
    expect(calls[0]?.query).toMatchObject({ path: '/prod/db', type: 'item' });
    expect((await run(['inventory', 'who-can'])).code).toBe(2);
    expect((await run(['inventory', 'who-can', '/a', '--type', 'nope'])).code).toBe(2);
  });

  it('get-role shows rules and associations', async () => {
    const r = await run(['get-role', '--name', 'demo-readers']);
    expect(r.stdout).toContain('Role:');
    expect(r.stdout).toContain('/demo/*');
    expect(r.stdout).toContain('environment=prod');
  });

  it('uid-generate-token prints the bare token alone on stdout', async () => {
    const r = await run(['uid-generate-token', '--auth-method-name', '/demo/uid']);
    expect(r.stdout).toBe(`${ISSUED.token}\n`);
    expect(r.stderr).toContain('node1');
  });

  it('uid-create-child-token prints the bare child token and sends seconds', async () => {
    const r = await run([
      'uid-create-child-token',
      '--uid-token',
      'u-P',
      '--child-ttl',
      '480',
      '--child-deny-rotate',
    ]);
    expect(r.stdout).toBe('u-CHILD\n');
    expect(calls[0]?.auth).toBe('Bearer u-P');
    expect(calls[0]?.body).toEqual({ ttlSeconds: 28_800, denyRotate: true });
  });

  it('uid-create-child-token admin form names the method and parent', async () => {
    await run([
      'uid-create-child-token',
      '--auth-method-name',
      '/x',
      '--uid-token-id',
      'node1',
      '--child-ttl',
      '1',
    ]);
    expect(calls[0]?.auth).toBe('Bearer admin-session');
    expect(calls[0]?.body).toEqual({ ttlSeconds: 60, authMethodName: '/x', parentTokenId: 'node1' });
  });

  it('uid-rotate-token output works with the seed rotation script', async () => {
    const r = await run(['uid-rotate-token', '--uid-token', 'u-OLD']);
    const line = r.stdout.split('\n').find((l) => /(ROTATED TOKEN|Token):/.test(l)) ?? '';
    expect(line.replace(/.*\[/, '').replace(/\].*/, '')).toBe(ISSUED.token);
    expect(r.stdout).toBe(`ROTATED TOKEN: [${ISSUED.token}]\n`);
  });

  it('auth prints Authentication succeeded and a t- token', async () => {
    const r = await run([
      'auth',
      '--access-id',
      'p-uid',
      '--access-type',
      'universal_identity',
      '--uid-token',
      'u-X',
    ]);
    expect(r.stdout).toBe(
      `Authentication succeeded.\nToken: t-${JWT}\nExpires: 2025-06-01T11:00:00Z (in 1h)\n`,
    );
    expect(calls[0]?.body).toEqual({ accessType: 'universal_identity', uidToken: 'u-X', accessId: 'p-uid' });
  });

  it('auth-method create universal-identity prints the access id and sends seconds', async () => {
    const r = await run([
      'auth-method',
      'create',
      'universal-identity',
      '--name',
      '/demo/uid',
      '--ttl',
      '60',
      '--jwt-ttl',
      '720',
    ]);
    expect(r.stdout).toBe('p-uid\n');
    expect(calls[0]?.body).toEqual({
      type: 'universal_identity',
      name: '/demo/uid',
      ttlSeconds: 3600,
      jwtTtlSeconds: 43_200,
    });
  });

  it('uid-revoke-token maps the Akeyless types and tells tokens from ids', async () => {
    await run([
      'uid-revoke-token',
      '--revoke-token',
      'u-DB',
      '--revoke-type',
      'revokeSelf',
      '--auth-method-name',
      '/m',
    ]);
    await run([
      'uid-revoke-token',
      '--revoke-token',
      'node7',
      '--revoke-type',
      'revokeAll',
      '--uid-token',
      'u-P',
    ]);
    expect(calls[0]?.body).toEqual({ token: 'u-DB', type: 'self', authMethodName: '/m' });
    expect(calls[0]?.auth).toBe('Bearer admin-session');
    expect(calls[1]?.body).toEqual({ tokenId: 'node7', type: 'all' });
    expect(calls[1]?.auth).toBe('Bearer u-P');
  });

  it('uid-list-children draws the tree', async () => {
    const r = await run(['uid-list-children', '--uid-token', 'u-P']);
    expect(r.stdout).toContain('Auth method p-uid: 1 token, max depth 1\nnode1  ttl 60m');
  });
});

describe('uid-rotate-token --token-file', () => {
  it('writes the new token before acknowledging it, keeping the key=value form', async () => {
    const file = join(dir, 'demo-tokens');
    await writeFile(file, 'ACCESS_ID=p-uid\nUID_TOKEN=u-OLD\n', { mode: 0o644 });
    let fileAtAck = '';
    routes['POST /v1/uid/rotate/ack'] = async (c) => {
      fileAtAck = await readFile(file, 'utf8');
      expect(c.auth).toBe('Bearer u-OLD');
      expect(c.body).toEqual({ newToken: ISSUED.token });
      return [200, { tokenId: 'node1', acknowledged: true }];
    };
    const r = await run(['uid-rotate-token', '--token-file', file, '--manual-ack']);
    expect(r.code).toBe(0);
    expect(calls.map((c) => c.path)).toEqual(['/v1/uid/rotate', '/v1/uid/rotate/ack']);
    expect(calls[0]?.auth).toBe('Bearer u-OLD');
    expect(fileAtAck).toBe(`ACCESS_ID=p-uid\nUID_TOKEN=${ISSUED.token}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(r.stdout).not.toContain(ISSUED.token);
    expect(r.stdout).toContain(`written to ${file}`);
  });
  it('does not acknowledge when the file cannot be written, and says the old token is still there', async () => {
    const file = join(dir, 'not-a-token-file');
    await writeFile(file, 'DATABASE_URL=postgres://x\nPORT=1\n');
    const r = await run(['uid-rotate-token', '--uid-token', 'u-OLD', '--token-file', file, '--manual-ack']);
    expect(r.code).toBe(1);
    expect(calls.map((c) => c.path)).toEqual(['/v1/uid/rotate']);
    expect(r.stderr).toContain('TESSERA_UID_PERSIST_FAILED');
    expect(r.stderr).toContain('it was not acknowledged');
    expect(r.stderr).not.toContain(ISSUED.token);
    expect(await readFile(file, 'utf8')).toBe('DATABASE_URL=postgres://x\nPORT=1\n');
  });
});

describe('errors and exit codes', () => {
  it('shows the server code, message, request id and a hint; exit 1', async () => {
    routes['GET /v1/identities'] = () => [
      401,
      { error: { code: 'TESSERA_UNAUTHENTICATED', message: 'No credential.', requestId: 'req-9' } },
    ];
    const r = await run(['identity', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: No credential. [TESSERA_UNAUTHENTICATED, 401]');
    expect(r.stderr).toContain('Request id: req-9');
    expect(r.stderr).toContain('Hint: run `tessera auth');
  });

  it('renders errors as JSON on stderr with --json', async () => {
    routes['POST /v1/uid/rotate'] = () => [
      401,
      { error: { code: 'TESSERA_AUTH_FAILED', message: 'Bad.', requestId: 'r' } },
    ];
    const r = await run(['uid-rotate-token', '--uid-token', 'u-SECRET-TOKEN', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr).error.code).toBe('TESSERA_AUTH_FAILED');
    expect(r.stderr).not.toContain('u-SECRET-TOKEN');
  });

  it('exits 1 when the token is invalid (seed validity check)', async () => {
    routes['GET /v1/uid/tree'] = () => [401, { error: { code: 'TESSERA_AUTH_FAILED', message: 'Bad.' } }];
    expect((await run(['uid-list-children', '--uid-token', 'u-EXPIRED'])).code).toBe(1);
  });

  it('exits 2 on usage errors', async () => {
    expect((await run(['uid-list-children', '--bogus'])).code).toBe(2);
    expect((await run(['uid-revoke-token', '--revoke-token', 'x', '--revoke-type', 'revokeSome'])).code).toBe(
      2,
    );
    expect((await run(['uid-generate-token', '--auth-method-name', 'x', '--ttl', '0'])).code).toBe(2);
    expect((await run(['nonsense'])).code).toBe(2);
    expect((await run(['auth-method'])).code).toBe(2);
    expect((await run(['identity', 'get', 'a', 'b'])).code).toBe(2);
    expect(calls).toEqual([]);
  });

  it('asks for a credential when there is none', async () => {
    const r = await run(['auth-method', 'list'], { TESSERA_TOKEN: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TESSERA_UNAUTHENTICATED');
    expect(r.stderr).toContain('tessera configure');
  });
});

describe('help', () => {
  it.each(COMMANDS.map((c) => [c.path.join(' ')]))('%s --help has options and examples', async (name) => {
    const r = await run([...name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: tessera ${name}`);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('--json');
  });

  it('lists groups and all commands', async () => {
    expect((await run(['--help'])).stdout).toContain('uid-list-children');
    expect((await run(['auth-method', 'create', '--help'])).stdout).toContain(
      'auth-method create access-key',
    );
    expect((await run(['help', 'uid-rotate-token'])).stdout).toContain('--token-file');
  });

  it('finds the command after global options', () => {
    const r = resolveCommand(['--url', 'http://x', '--json', 'auth-method', 'get', '--name', 'n']);
    expect(r.command?.path).toEqual(['auth-method', 'get']);
    expect(r.rest).toEqual(['--url', 'http://x', '--json', '--name', 'n']);
  });
});

describe('profiles', () => {
  it('configure stores the profile privately; admin commands exchange and cache the session', async () => {
    const c = await run([
      'configure',
      '--url',
      'http://127.0.0.1:9999',
      '--access-id',
      'p-admin',
      '--access-key',
      '-',
    ]);
    expect(c.code).toBe(0);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'config.json'))).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    // The key is not in the general config file but in credentials.json (0600).
    expect(config.profiles.default).toEqual({ url: 'http://127.0.0.1:9999', accessId: 'p-admin' });
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8'));
    expect(credentials.profiles.default).toEqual({ accessKey: 'KEY-FROM-STDIN' });
    const shown = await run(['configure']);
    expect(shown.stdout).toContain('Access key: set');
    expect(shown.stdout).not.toContain('KEY-FROM-STDIN');

    // configure checked the key (POST /v1/auth) and cached that session; both commands reuse it.
    await run(['auth-method', 'list'], { TESSERA_TOKEN: '' });
    await run(['auth-method', 'list'], { TESSERA_TOKEN: '' });
    expect(calls.map((x) => `${x.method} ${x.path}`)).toEqual([
      'POST /v1/auth',
      'GET /v1/auth-methods',
      'GET /v1/auth-methods',
    ]);
    expect(calls[0]?.body).toEqual({
      accessType: 'access_key',
      accessId: 'p-admin',
      accessKey: 'KEY-FROM-STDIN',
    });
    expect(calls[2]?.auth).toBe(`Bearer ${JWT}`);
    expect((await stat(join(dir, 'sessions', 'default.json'))).mode & 0o777).toBe(0o600);
  });

  it('re-authenticates once when the cached session is rejected', async () => {
    await run(['configure', '--url', 'http://h', '--access-id', 'p-admin', '--access-key', 'K']);
    let first = true;
    routes['GET /v1/auth-methods'] = () => {
      if (first) {
        first = false;
        return [401, { error: { code: 'TESSERA_TOKEN_REVOKED', message: 'Revoked.' } }];
      }
      return [200, { items: [], nextCursor: null }];
    };
    const r = await run(['auth-method', 'list'], { TESSERA_TOKEN: '' });
    expect(r.code).toBe(0);
    expect(calls.map((x) => x.path)).toEqual([
      '/v1/auth',
      '/v1/auth-methods',
      '/v1/auth',
      '/v1/auth-methods',
    ]);
  });
});

describe('secrets', () => {
  it('reads the value from standard input or a file, never needing it on the command line', async () => {
    const fromStdin = await run(['create-secret', '--name', '/demo/x', '--value', '-']);
    expect(fromStdin.code).toBe(0);
    expect(calls[0]?.body).toEqual({ name: '/demo/x', value: 'KEY-FROM-STDIN' });
    expect(fromStdin.stdout).toBe('Created /demo/database-config (version 1, id s-1).\n');
    const file = join(dir, 'value.json');
    await writeFile(file, '{"a": 1}\n');
    await run(['update-secret-val', '--name', '/demo/x', '--value-file', file, '--expected-version', '1']);
    expect(calls[1]?.body).toEqual({ name: '/demo/x', value: '{"a": 1}\n', expectedVersion: 1 });
    expect((await run(['create-secret', '--name', '/demo/x'])).code).toBe(2);
    expect(
      (await run(['create-secret', '--name', '/demo/x', '--value', 'a', '--value-file', file])).code,
    ).toBe(2);
  });

  it('prints one value alone, several as name: value, and reads a version of one name only', async () => {
    expect((await run(['get-secret-value', '--name', '/demo/database-config'])).stdout).toBe(
      'postgres://app@db/app\n',
    );
    const several = await run(['get-secret-value', '--name', '/demo/a,/demo/b']);
    expect(calls.at(-1)?.body).toEqual({ names: ['/demo/a', '/demo/b'] });
    expect(several.stdout).toBe('/demo/a: value-0\n  line2\n/demo/b: value-1\n  line2\n');
    expect(
      (await run(['get-secret-value', '--name', '/demo/a', '--name', '/demo/b', '--version', '2'])).code,
    ).toBe(2);
  });

  it('lists folders and items, and says how to get the next page', async () => {
    const r = await run(['list-items', '--path', '/demo', '--current-folder']);
    expect(r.stdout).toContain('/demo/sub/');
    expect(r.stdout).toContain('/demo/database-config');
    // Dynamic and rotated items are listed too, with their type.
    expect(r.stdout).toMatch(/\/demo\/orders-db +dynamic/);
    expect(r.stderr).toContain('--cursor /demo/database-config');
  });

  it('deletes with a recovery window and says how to restore', async () => {
    const r = await run(['delete-item', '--name', '/demo/database-config', '--recovery-days', '7']);
    expect(r.stdout).toContain('restorable until 2025-06-08T10:00:00Z');
    expect(r.stdout).toContain('tessera restore-item --name /demo/database-config');
    expect((await run(['delete-item', '--name', '/x', '--immediately', '--recovery-days', '2'])).code).toBe(
      2,
    );
  });
});

describe('rotated secrets', () => {
  const base = [
    'create-rotated-secret',
    '--name',
    '/prod/orders-db',
    '--type',
    'mysql',
    '--host',
    'db.internal',
    '--port',
    '3306',
    '--admin-user',
    'tessera_admin',
  ];

  it('reads the admin password from standard input, converts minutes to seconds', async () => {
    const r = await run([
      ...base,
      '--admin-password-file',
      '-',
      '--username-a',
      'orders_a',
      '--username-b',
      'orders_b',
      '--interval',
      '1440',
      '--grace',
      '10',
      '--database',
      'orders',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(calls.at(-1)?.body).toEqual({
      name: '/prod/orders-db',
      type: 'mysql',
      host: 'db.internal',
      port: 3306,
      database: 'orders',
      adminUsername: 'tessera_admin',
      adminPassword: 'KEY-FROM-STDIN',
      usernames: ['orders_a', 'orders_b'],
      intervalSeconds: 86_400,
      graceSeconds: 600,
    });
    expect(r.stdout).toContain('Created /prod/orders-db (two-account, accounts orders_a, orders_b');
    expect(r.stdout).not.toContain('KEY-FROM-STDIN');
  });

  it('reads the admin password and creation statements from files; single account', async () => {
    await writeFile(join(dir, 'admin.pw'), 'file-Pa55\n', { mode: 0o600 });
    await writeFile(join(dir, 'grants.sql'), "GRANT SELECT, INSERT ON app.* TO '{{name}}'@'%'\n\n");
    const r = await run([
      ...base,
      '--admin-password-file',
      join(dir, 'admin.pw'),
      '--single-account',
      '--username',
      'app',
      '--creation-statements-file',
      join(dir, 'grants.sql'),
      '--grace',
      '0',
    ]);
    expect(r.code).toBe(0);
    expect(calls.at(-1)?.body).toMatchObject({
      adminPassword: 'file-Pa55',
      strategy: 'single-account',
      usernames: ['app'],
      creationStatements: ["GRANT SELECT, INSERT ON app.* TO '{{name}}'@'%'"],
      graceSeconds: 0,
    });
  });

  it('refuses a password flag, missing or mixed accounts, and a bad type (usage errors, no call)', async () => {
    const accounts = ['--username-a', 'a', '--username-b', 'b'];
    for (const argv of [
      [...base, '--admin-password', 'plain', ...accounts],
      [...base, ...accounts],
      [...base, '--admin-password-file', '-', '--username-a', 'a'],
      [...base, '--admin-password-file', '-', '--username-a', 'a', '--username-b', 'a'],
      [...base, '--admin-password-file', '-', '--single-account', ...accounts],
      [...base, '--admin-password-file', '-', '--username', 'u', ...accounts],
      [...base.slice(0, 4), 'mongodb', ...base.slice(5), '--admin-password-file', '-', ...accounts],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
    }
    expect(calls.filter((c) => c.path.startsWith('/v1/rotated-secrets'))).toEqual([]);
  });

  it('prints the credential, the state, and the rotation', async () => {
    const value = await run(['get-rotated-secret-value', '--name', '/prod/orders-db']);
    expect(value.stdout).toMatch(/Username: +orders_a\n/);
    expect(value.stdout).toMatch(/Password: +Rotated-Pa55word\n/);
    const json = JSON.parse(
      (await run(['get-rotated-secret-value', '--name', '/prod/orders-db', '--json'])).stdout,
    );
    expect(json).toEqual(ROTATED_VALUE);
    const d = await run(['describe-rotated-secret', '--name', '/prod/orders-db']);
    expect(d.stdout).toMatch(/Current account: +orders_a/);
    expect(d.stdout).toMatch(/Interval: +1d/);
    expect(d.stdout).not.toContain('Password');
    const r = await run(['rotate-secret', '--name', '/prod/orders-db']);
    expect(calls.at(-1)).toMatchObject({
      method: 'POST',
      path: '/v1/rotated-secrets/rotate',
      body: { name: '/prod/orders-db' },
    });
    expect(r.stdout).toContain(
      'Rotated /prod/orders-db: version 2, account orders_b; the previous account is changed 2025-06-01T10:10:00Z',
    );
  });
});

describe('dynamic secrets', () => {
  it('create-dynamic-secret postgresql reads the password from stdin and sends seconds', async () => {
    const r = await run([
      'create-dynamic-secret',
      'postgresql',
      '--name',
      '/prod/pg',
      '--host',
      'db.internal',
      '--admin-user',
      'tessera_admin',
      '--admin-password-file',
      '-',
      '--creation-statement',
      'CREATE ROLE "{{name}}" LOGIN',
      '--ttl',
      '30m',
      '--max-ttl',
      '2h',
    ]);
    expect(r.code).toBe(0);
    const body = calls.find((c) => c.path === '/v1/dynamic-secrets')?.body as Record<string, any>;
    expect(body).toMatchObject({ type: 'postgresql', defaultTtlSeconds: 1800, maxTtlSeconds: 7200 });
    expect(body.settings).toMatchObject({
      adminPassword: 'KEY-FROM-STDIN',
      creationStatements: ['CREATE ROLE "{{name}}" LOGIN'],
    });
  });

  it('create-dynamic-secret mysql and redis send their type; redis may go without an admin password', async () => {
    const my = await run([
      'create-dynamic-secret',
      'mysql',
      '--name',
      '/prod/pg',
      '--host',
      'db',
      '--db-name',
      'shop',
      '--admin-user',
      'root',
      '--admin-password-file',
      '-',
    ]);
    expect(my.code).toBe(0);
    const myBody = calls.filter((c) => c.path === '/v1/dynamic-secrets').at(-1)?.body as Record<string, any>;
    expect(myBody).toMatchObject({
      type: 'mysql',
      settings: { database: 'shop', adminPassword: 'KEY-FROM-STDIN' },
    });
    expect((await run(['create-dynamic-secret', 'mysql', '--name', '/x', '--host', 'db'])).code).toBe(2);
    const redis = await run([
      'create-dynamic-secret',
      'redis',
      '--name',
      '/prod/pg',
      '--host',
      'cache',
      '--creation-statement',
      '~cache:* +@read',
    ]);
    expect(redis.code).toBe(0);
    const redisBody = calls.filter((c) => c.path === '/v1/dynamic-secrets').at(-1)?.body as Record<
      string,
      any
    >;
    expect(redisBody).toMatchObject({
      type: 'redis',
      settings: { host: 'cache', creationStatements: ['~cache:* +@read'] },
    });
    expect(redisBody.settings.adminPassword).toBeUndefined();
  });

  it('revoke-lease by lease id or by prefix; list-leases shows a table', async () => {
    expect((await run(['revoke-lease', '--lease-id', 'l-1'])).stdout).toContain('1 session(s) terminated');
    expect((await run(['revoke-lease', '--prefix', '/prod/'])).stdout).toContain('3 lease(s)');
    expect((await run(['revoke-lease'])).code).toBe(2);
    expect((await run(['list-leases'])).stdout).toMatch(/l-1 +\/prod\/pg +tsr_abc123 +active/);
  });
});

describe('unseal', () => {
  it('reads the share from stdin only, prints the progress, and says how to unseal a sealed server', async () => {
    const given = await run(['unseal', '--share', '-']);
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).toBe('Key share accepted: 1 of 3 (2 more needed). Still sealed.\n');
    expect(calls.find((c) => c.path === '/v1/sys/unseal')?.body).toEqual({ share: 'KEY-FROM-STDIN' });
    const literal = await run(['unseal', '--share', 'tessera-share-1-3-abc']);
    expect(literal.code).toBe(2);
    expect(literal.stderr).toMatch(/shell history/);
    expect(calls.filter((c) => c.path === '/v1/sys/unseal')).toHaveLength(1);
    expect((await run(['unseal'])).stdout).toBe('Sealed: 0 of ? key shares given (root key k-abcdefgh).\n');
    routes['GET /v1/identities'] = () => [
      503,
      { error: { code: 'TESSERA_SEALED', message: 'Tessera is sealed.', requestId: 'req-sealed-1' } },
    ];
    const sealed = await run(['identity', 'list']);
    expect(sealed.code).toBe(1);
    expect(sealed.stderr).toMatch(/TESSERA_SEALED/);
    expect(sealed.stderr).toMatch(/tessera unseal --url http:\/\/127\.0\.0\.1:8377 --share-file FILE/);
  });
});

describe('discovery accounts', () => {
  it('shows when the password was set, where the target records it, and unknown elsewhere', async () => {
    const r = await run(['discovery', 'accounts']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PASSWORD SET/);
    expect(r.stdout).toMatch(/rogue .*2025-05-01T09:00:00Z \(31d 1h ago\)/);
    routes['GET /v1/discovery/accounts'] = () => [
      200,
      {
        items: [
          {
            id: 'da-2',
            source: 'pg',
            account: 'other',
            identityId: 'i-3',
            state: 'pending',
            firstSeenAt: '2025-06-01T09:00:00.000Z',
            lastSeenAt: '2025-06-01T09:00:00.000Z',
            decidedAt: null,
            decision: null,
            passwordChangedAt: null,
          },
        ],
      },
    ];
    expect((await run(['discovery', 'accounts'])).stdout).toMatch(/other .*unknown\n/);
  });
});
