/**
 * `tessera auth-method create universal-identity|access-key|oidc-federation`, `list`, `get`, `delete`.
 * TTL flags take units (`90s`, `30m`, `12h`, `7d`); a bare number is minutes. The API takes seconds.
 */

import { readFile } from 'node:fs/promises';
import type {
  AuthMethod,
  AuthMethodType,
  CreateOidcFederationAuthMethodRequest,
  CreateUniversalIdentityAuthMethodRequest,
} from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import {
  formatDuration,
  formatTime,
  listText,
  renderKeyValues,
  renderTable,
  yesNo,
} from './output.format.js';

const COMMON_CREATE: OptionSpecs = {
  name: {
    type: 'string',
    placeholder: 'NAME',
    required: true,
    description: 'auth method name, e.g. /prod/services',
  },
  'bound-cidrs': {
    type: 'list',
    placeholder: 'CIDRS',
    description: 'comma-separated client CIDR allow-list (also --bound-ips)',
    aliases: ['bound-ips'],
  },
  owner: { type: 'string', placeholder: 'OWNER', description: 'human owner (creates/links an identity)' },
  'identity-id': { type: 'string', placeholder: 'ID', description: 'attach to an existing identity' },
  'expires-at': { type: 'string', placeholder: 'ISO', description: 'the method stops working at this time' },
};

function commonBody(args: ArgReader) {
  const boundCidrs = args.list('bound-cidrs');
  const owner = args.str('owner');
  const identityId = args.str('identity-id');
  const expiresAt = args.str('expires-at');
  if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) {
    throw new UsageError('--expires-at must be an ISO-8601 time, e.g. 2026-01-01T00:00:00Z');
  }
  return {
    name: args.requireStr('name'),
    ...(boundCidrs ? { boundCidrs } : {}),
    ...(owner ? { owner } : {}),
    ...(identityId ? { identityId } : {}),
    ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
  };
}

/** Builds the create request of a Universal Identity method from the flags (minutes → seconds). */
export function universalIdentityBody(args: ArgReader): CreateUniversalIdentityAuthMethodRequest {
  const body: CreateUniversalIdentityAuthMethodRequest = { type: 'universal_identity', ...commonBody(args) };
  const ttlSeconds = durationFlag(args, 'ttl', 'minutes');
  const jwtTtlSeconds = durationFlag(args, 'jwt-ttl', 'minutes');
  const childTtlLimitSeconds = durationFlag(args, 'child-ttl-limit', 'minutes');
  const treeLength = args.positiveInt('tree-length');
  const childCountLimit = args.positiveInt('child-count-limit');
  const grace = durationFlag(args, 'rotation-grace-seconds', 'seconds', { allowZero: true });
  const reusePolicy = args.choice('reuse-policy', ['revoke', 'flag'] as const);
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) {
    throw new UsageError('--rotation-grace-seconds must be a whole number of seconds');
  }
  if (ttlSeconds !== undefined) body.ttlSeconds = ttlSeconds;
  if (jwtTtlSeconds !== undefined) body.jwtTtlSeconds = jwtTtlSeconds;
  if (childTtlLimitSeconds !== undefined) body.childTtlLimitSeconds = childTtlLimitSeconds;
  if (treeLength !== undefined) body.treeLength = treeLength;
  if (childCountLimit !== undefined) body.childCountLimit = childCountLimit;
  if (args.bool('deny-rotate')) body.denyRotate = true;
  if (args.bool('deny-inheritance')) body.denyInheritance = true;
  if (reusePolicy) body.reusePolicy = reusePolicy;
  if (grace !== undefined) body.rotationGraceSeconds = grace;
  return body;
}

const createUid: CommandSpec = {
  path: ['auth-method', 'create', 'universal-identity'],
  summary: 'Create a Universal Identity auth method (prints its access id)',
  details:
    'TTLs take units (90s, 30m, 12h, 7d); a bare number is MINUTES. Prints the access id p-… alone on stdout, so ACCESS_ID=$(…) works; details go to ' +
    'stderr. Omitted settings take the server defaults.',
  options: {
    ...COMMON_CREATE,
    ttl: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'UID token lifetime, e.g. 60m, 12h (bare number: minutes; reset by rotation)',
    },
    'jwt-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'session token lifetime, e.g. 15m (bare number: minutes)',
    },
    'child-ttl-limit': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'maximum child token TTL (bare number: minutes)',
    },
    'child-count-limit': {
      type: 'number',
      placeholder: 'N',
      description: 'most live child tokens one token may have (default 100)',
    },
    'tree-length': { type: 'number', placeholder: 'N', description: 'maximum depth of the token tree' },
    'deny-rotate': { type: 'boolean', description: 'root tokens may not be rotated' },
    'deny-inheritance': { type: 'boolean', description: 'root tokens may not create children' },
    'reuse-policy': {
      type: 'string',
      placeholder: 'revoke|flag',
      description: 'on reuse of a rotated-away token: revoke the subtree (default) or only flag it',
    },
    'rotation-grace-seconds': {
      type: 'string',
      placeholder: 'DURATION',
      description:
        'how long the old token may finish a rotation whose answer was lost (bare number: seconds)',
    },
  },
  examples: [
    'tessera auth-method create universal-identity --name "/demo/uid-non-human-auth" --ttl 60 --jwt-ttl 720',
    'ACCESS_ID=$(tessera auth-method create universal-identity --name /prod/ci --ttl 60 --child-ttl-limit 480 --tree-length 3)',
    'tessera auth-method create universal-identity --name /edge --bound-cidrs 10.0.0.0/8,192.168.0.0/16 --reuse-policy flag',
  ],
  async run(ctx, args) {
    const body = universalIdentityBody(args);
    const { authMethod } = await ctx.withAdmin((t) => ctx.client.createAuthMethod(t, body));
    if (ctx.json) {
      ctx.printJson({ authMethod });
      return;
    }
    ctx.out(`${authMethod.id}\n`);
    ctx.note(`Created universal identity auth method "${authMethod.name}" (access id ${authMethod.id}).`);
  },
};

const createAccessKey: CommandSpec = {
  path: ['auth-method', 'create', 'access-key'],
  summary: 'Create an access-key auth method (prints the access id and the key, once)',
  details:
    'The access key is shown only now: store it safely (e.g. with `tessera configure --access-key -`).',
  options: {
    ...COMMON_CREATE,
    'jwt-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'session token lifetime, e.g. 15m (bare number: minutes)',
    },
  },
  examples: [
    'tessera auth-method create access-key --name /admins/ci-bootstrap',
    'tessera auth-method create access-key --name /admins/alice --owner alice@example.com --json',
  ],
  async run(ctx, args) {
    const jwtTtlSeconds = durationFlag(args, 'jwt-ttl', 'minutes');
    const body = {
      type: 'access_key' as const,
      ...commonBody(args),
      ...(jwtTtlSeconds ? { jwtTtlSeconds } : {}),
    };
    const answer = await ctx.withAdmin((t) => ctx.client.createAuthMethod(t, body));
    if (ctx.json) {
      ctx.printJson(answer);
      return;
    }
    ctx.out(`Access ID: ${answer.authMethod.id}\nAccess Key: ${answer.accessKey}\n`);
    ctx.note(`Created access-key auth method "${answer.authMethod.name}". The key is not shown again.`);
  },
};

const PRESETS = [
  'github-actions',
  'gitlab',
  'kubernetes',
  'spiffe',
  'aws-eks',
  'azure-workload-identity',
  'gcp',
] as const;

/**
 * `--bound-claim KEY=PATTERN`, repeatable. A value with commas is a list matcher
 * (`environment=production,staging`); `*` is a glob (`repository=acme/*`).
 */
export function boundClaimsOf(items: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  let last: string | null = null;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      // The list parser split `KEY=a,b` at the comma: `b` belongs to the previous claim.
      if (last === null || !item) throw new UsageError(`--bound-claim must be KEY=PATTERN; got "${item}"`);
      const prev = out[last]!;
      out[last] = [...(Array.isArray(prev) ? prev : [prev]), item];
      continue;
    }
    last = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (!value) throw new UsageError(`--bound-claim ${last} needs a pattern`);
    out[last] = value;
  }
  return out;
}

/** Builds the create request of an `oidc_federation` method from the flags. */
export async function oidcFederationBody(args: ArgReader): Promise<CreateOidcFederationAuthMethodRequest> {
  const body: CreateOidcFederationAuthMethodRequest = { type: 'oidc_federation', ...commonBody(args) };
  const preset = args.choice('preset', PRESETS);
  const issuer = args.str('issuer');
  const audience = args.list('audience');
  const claims = args.list('bound-claim');
  const template = args.str('identity-template');
  const algorithms = args.list('algorithms');
  const maxAge = durationFlag(args, 'max-token-age', 'seconds');
  const jwtTtlSeconds = durationFlag(args, 'jwt-ttl', 'minutes');
  const jwksFile = args.str('jwks-file');
  const trustDomain = args.str('trust-domain');
  const bundleEndpoint = args.str('bundle-endpoint');
  if (preset) body.preset = preset;
  if (trustDomain) body.trustDomain = trustDomain;
  if (bundleEndpoint) body.bundleEndpoint = bundleEndpoint;
  if (issuer) body.issuer = issuer;
  if (audience) body.audience = audience.length === 1 ? audience[0]! : audience;
  if (claims) body.boundClaims = boundClaimsOf(claims);
  if (template !== undefined) body.identityTemplate = template === 'none' ? null : template;
  if (args.bool('require-registered-identity')) body.createIdentities = false;
  const oneTime = args.choice('one-time-tokens', ['on', 'off'] as const);
  if (oneTime) body.oneTimeTokens = oneTime === 'on';
  if (algorithms) body.algorithms = algorithms;
  if (maxAge !== undefined) body.maxTokenAgeSeconds = maxAge;
  if (jwtTtlSeconds !== undefined) body.jwtTtlSeconds = jwtTtlSeconds;
  if (jwksFile) {
    let jwks: unknown;
    try {
      jwks = JSON.parse(await readFile(jwksFile, 'utf8'));
    } catch {
      throw new UsageError(`--jwks-file ${jwksFile} is not a readable JSON file`);
    }
    body.jwks = jwks as CreateOidcFederationAuthMethodRequest['jwks'];
  }
  return body;
}

const createOidcFederation: CommandSpec = {
  path: ['auth-method', 'create', 'oidc-federation'],
  summary: 'Create an OIDC federation auth method: trust a CI or cluster issuer (prints its access id)',
  details:
    'Workloads with a platform identity (GitHub Actions, GitLab CI, Kubernetes service accounts, SPIFFE) ' +
    'exchange their issuer-signed JWT for a session, with no stored secret. Every --bound-claim must ' +
    'match (exact, glob with *, or a comma list). --identity-template names the identity from claims ' +
    "(created on first use with the method identity's owner and tags, unless --require-registered-identity). " +
    '--jwks-file pins the issuer keys (air-gapped: no discovery). Presets fill the issuer and template.',
  options: {
    ...COMMON_CREATE,
    preset: {
      type: 'string',
      placeholder: PRESETS.join('|'),
      description: 'fill issuer and template conventions',
    },
    issuer: { type: 'string', placeholder: 'URL', description: 'the trusted issuer (iss), https' },
    audience: { type: 'list', placeholder: 'AUD', description: 'accepted aud value(s) (required)' },
    'bound-claim': {
      type: 'list',
      placeholder: 'KEY=PATTERN',
      description: 'a claim that must match (repeatable; all must match), e.g. repository=acme/*',
    },
    'identity-template': {
      type: 'string',
      placeholder: 'T',
      description: 'identity name from claims, e.g. ci/github/{repository} (none: the method identity)',
    },
    'require-registered-identity': {
      type: 'boolean',
      description: 'refuse tokens whose templated identity does not exist yet',
    },
    algorithms: {
      type: 'list',
      placeholder: 'ALGS',
      description: 'allowed algorithms (default RS256,ES256)',
    },
    'max-token-age': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'the oldest iat accepted, e.g. 10m (bare number: seconds; default 1h)',
    },
    'jwt-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'session token lifetime, e.g. 15m (bare number: minutes)',
    },
    'jwks-file': { type: 'string', placeholder: 'FILE', description: 'pinned JWK set (no discovery)' },
    'trust-domain': {
      type: 'string',
      placeholder: 'DOMAIN',
      description:
        'spiffe preset: accept JWT-SVIDs without iss from this trust domain (needs --jwks-file or --bundle-endpoint)',
    },
    'bundle-endpoint': {
      type: 'string',
      placeholder: 'URL',
      description:
        "spiffe preset: fetch the trust domain's bundle from its SPIFFE bundle endpoint (https_web)",
    },
    'one-time-tokens': {
      type: 'string',
      placeholder: 'on|off',
      description: 'accept each token (iss+jti) once, on every server (default: on for github-actions)',
    },
  },
  examples: [
    'tessera auth-method create oidc-federation --name /ci/github --preset github-actions --audience https://tessera.example.com --bound-claim repository=acme/* --bound-claim ref=refs/heads/main',
    'tessera auth-method create oidc-federation --name /k8s/prod --preset kubernetes --issuer https://k8s.example.com --audience tessera --bound-claim kubernetes.io.namespace=payments,billing',
    'tessera auth-method create oidc-federation --name /spiffe --preset spiffe --issuer https://spire.example.com --audience tessera --bound-claim sub=spiffe://example.org/* --jwks-file bundle.jwks.json',
  ],
  async run(ctx, args) {
    const body = await oidcFederationBody(args);
    const { authMethod } = await ctx.withAdmin((t) => ctx.client.createAuthMethod(t, body));
    if (ctx.json) {
      ctx.printJson({ authMethod });
      return;
    }
    ctx.out(`${authMethod.id}\n`);
    ctx.note(`Created OIDC federation auth method "${authMethod.name}" (access id ${authMethod.id}).`);
  },
};

const createCertificate: CommandSpec = {
  path: ['auth-method', 'create', 'certificate'],
  summary: 'Create a certificate auth method: mTLS client certificates → sessions (prints its access id)',
  details:
    'Without --ca-file, certificates of Tessera’s internal CA authenticate as the identity they were issued ' +
    'to (refused once revoked or the identity retired). With --ca-file, certificates of those CAs ' +
    'authenticate as the method’s identity when a SAN matches --bound-name (required then). The server ' +
    'must serve TLS (--tls-cert/--tls-key).',
  options: {
    ...COMMON_CREATE,
    'ca-file': { type: 'string', placeholder: 'FILE', description: 'PEM CA certificates to trust instead' },
    'bound-name': {
      type: 'list',
      placeholder: 'PATTERNS',
      description: 'URI (SPIFFE ID) or DNS SAN patterns, * within a segment; one must match',
    },
    'jwt-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'session token lifetime, e.g. 15m (bare number: minutes)',
    },
  },
  examples: [
    'tessera auth-method create certificate --name /mtls/workloads',
    'tessera auth-method create certificate --name /mtls/spire --ca-file spire-bundle.pem --bound-name "spiffe://example.org/ns/*" --json',
  ],
  async run(ctx, args) {
    const caFile = args.str('ca-file');
    const bound = args.list('bound-name');
    const jwtTtlSeconds = durationFlag(args, 'jwt-ttl', 'minutes');
    let caCertificates: string | undefined;
    if (caFile) {
      try {
        caCertificates = await readFile(caFile, 'utf8');
      } catch {
        throw new UsageError(`--ca-file ${caFile} is not readable`);
      }
    }
    const body = {
      type: 'certificate' as const,
      ...commonBody(args),
      ...(caCertificates ? { caCertificates } : {}),
      ...(bound ? { boundNames: bound } : {}),
      ...(jwtTtlSeconds ? { jwtTtlSeconds } : {}),
    };
    const { authMethod } = await ctx.withAdmin((t) => ctx.client.createAuthMethod(t, body));
    if (ctx.json) {
      ctx.printJson({ authMethod });
      return;
    }
    ctx.out(`${authMethod.id}\n`);
    ctx.note(`Created certificate auth method "${authMethod.name}" (access id ${authMethod.id}).`);
  },
};

const list: CommandSpec = {
  path: ['auth-method', 'list'],
  summary: 'List auth methods',
  options: {
    type: {
      type: 'string',
      placeholder: 'TYPE',
      description: 'only this type (universal_identity, access_key, …)',
    },
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: ['tessera auth-method list', 'tessera auth-method list --type universal_identity --json'],
  async run(ctx, args) {
    const type = args.str('type') as AuthMethodType | undefined;
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const page = await ctx.withAdmin((t) =>
      ctx.client.listAuthMethods(t, {
        ...(type ? { type } : {}),
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    );
    ctx.emit(page, () => {
      if (page.items.length === 0) return 'No auth methods.\n';
      const rows = page.items.map((m) => [
        m.name,
        m.type,
        m.id,
        m.universalIdentity ? formatDuration(m.universalIdentity.ttlSeconds) : '-',
        m.universalIdentity ? formatDuration(m.universalIdentity.jwtTtlSeconds) : '-',
        formatTime(m.createdAt, ctx.now()),
      ]);
      return renderTable(['NAME', 'TYPE', 'ACCESS ID', 'TTL', 'JWT TTL', 'CREATED'], rows);
    });
    if (page.nextCursor && !ctx.json) ctx.note(`More: tessera auth-method list --cursor ${page.nextCursor}`);
  },
};

const SELECT: OptionSpecs = {
  name: { type: 'string', placeholder: 'NAME', description: 'auth method name' },
  'access-id': { type: 'string', placeholder: 'p-…', description: 'or its access id' },
};

function fetchSelected(ctx: CommandContext, args: ArgReader): Promise<AuthMethod> {
  const name = args.str('name');
  const id = args.str('access-id');
  if (!name && !id) throw new UsageError('--name (or --access-id) is required');
  if (name && id) throw new UsageError('give --name or --access-id, not both');
  return ctx.withAdmin((t) =>
    id ? ctx.client.getAuthMethod(t, id) : ctx.client.getAuthMethodByName(t, name ?? ''),
  );
}

/** Key/value description of an auth method. */
export function renderAuthMethod(m: AuthMethod, nowMs: number): string {
  const uid = m.universalIdentity;
  return renderKeyValues([
    ['Name', m.name],
    ['Access ID', m.id],
    ['Type', m.type],
    ['Identity', m.identityId || '-'],
    ['Bound CIDRs', listText(m.boundCidrs)],
    ['Expires', m.expiresAt ? formatTime(m.expiresAt, nowMs) : 'never'],
    ['Created', formatTime(m.createdAt, nowMs)],
    ['Updated', formatTime(m.updatedAt, nowMs)],
    ['TTL', uid ? formatDuration(uid.ttlSeconds) : undefined],
    ['JWT TTL', uid ? formatDuration(uid.jwtTtlSeconds) : undefined],
    ['Child TTL limit', uid ? formatDuration(uid.childTtlLimitSeconds) : undefined],
    ['Child count limit', uid ? `${uid.childCountLimit} live children per token` : undefined],
    ['Tree length', uid ? String(uid.treeLength) : undefined],
    ['Deny rotate', uid ? yesNo(uid.denyRotate) : undefined],
    ['Deny inheritance', uid ? yesNo(uid.denyInheritance) : undefined],
    ['Reuse policy', uid?.reusePolicy],
    ['Rotation grace', uid ? formatDuration(uid.rotationGraceSeconds) : undefined],
  ]);
}

const get: CommandSpec = {
  path: ['auth-method', 'get'],
  summary: 'Show one auth method',
  options: SELECT,
  examples: [
    'tessera auth-method get --name /demo/uid-non-human-auth',
    'tessera auth-method get --access-id p-xxxx --json',
  ],
  async run(ctx, args) {
    const method = await fetchSelected(ctx, args);
    ctx.emit(method, () => renderAuthMethod(method, ctx.now()));
  },
};

const remove: CommandSpec = {
  path: ['auth-method', 'delete'],
  summary: 'Delete an auth method (all of its tokens stop working)',
  options: SELECT,
  examples: ['tessera auth-method delete --name /demo/uid-non-human-auth'],
  async run(ctx, args) {
    const method = await fetchSelected(ctx, args);
    await ctx.withAdmin((t) => ctx.client.deleteAuthMethod(t, method.id));
    ctx.emit(
      { deleted: true, id: method.id, name: method.name },
      () => `Deleted auth method "${method.name}" (${method.id}).\n`,
    );
  },
};

/** The auth-method commands. */
export const authMethodCommands: readonly CommandSpec[] = [
  createUid,
  createAccessKey,
  createOidcFederation,
  createCertificate,
  list,
  get,
  remove,
];
