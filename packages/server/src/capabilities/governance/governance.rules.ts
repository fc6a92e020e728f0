/**
 * Posture rules (issue 16): pure functions of one identity's facts and the policy, each returning
 * the findings it sees with their evidence and a one-step remediation. A finding's `key` is stable
 * for the same problem, so a scan can tell a new finding from a known one and a fixed one.
 */
import { type Capability, pathMatches, type RuleType } from '../../core/access/access.policy.js';
import { cidrContains } from '../../core/shared/cidr.js';
import {
  type CredentialView,
  type Finding,
  type IdentityFacts,
  type NarrowedRole,
  NO_OWNER,
  type OwaspNhi,
  type OwnerDirectory,
  type PosturePolicy,
  type Remediation,
  type Severity,
} from './governance.model.js';

const DAY_MS = 86_400_000;
/** Kinds of identity that run code unattended: an administrator grant on one is a finding. */
const WORKLOAD_KINDS = new Set(['workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device', 'service']);
const PROD = /(^|[/_.-])(prod|production)([/_.-]|$)/i;
const NON_PROD = /(^|[/_.-])(dev|development|staging|stage|test|qa|sandbox)([/_.-]|$)/i;

type Emit = (
  rule: string,
  owasp: OwaspNhi,
  severity: Severity,
  subject: string,
  title: string,
  evidence: Record<string, unknown>,
  remediation: Remediation,
) => void;

type Rule = (f: IdentityFacts, p: PosturePolicy, nowMs: number, emit: Emit) => void;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const ageDays = (nowMs: number, ms: number) => Math.floor((nowMs - ms) / DAY_MS);
const isLive = (c: CredentialView) => c.live;

const ownerRules: Rule = (f, p, _now, emit) => {
  if (f.state === 'retired') return;
  if (NO_OWNER.has(f.owner.trim().toLowerCase()))
    emit(
      'no-owner',
      'NHI1',
      'high',
      '',
      'The identity has no owner',
      { owner: f.owner },
      {
        action: 'assign-owner',
        description: 'Give the identity an accountable owner.',
        command: `tessera identity update ${f.id} --owner <person-or-group>`,
      },
    );
  else if (p.goneOwners.includes(f.owner))
    emit(
      'owner-gone',
      'NHI1',
      'high',
      '',
      'The owner of the identity has left',
      { owner: f.owner },
      {
        action: 'offboard-owner',
        description: 'Reassign every identity of the departed owner, or suspend them.',
        command: `tessera owner offboard --owner ${f.owner} --to <person-or-group>`,
      },
    );
};

/**
 * An owner nobody can act as: not a known person (`person:<id>`, `person:<email>`) nor a group a
 * known person belongs to (`group:<name>`). Free text such as `team-a` is unreachable too: no
 * approval addressed to the owner could ever be decided. Only with a directory (people sign in).
 */
function ownerReachability(f: IdentityFacts, p: PosturePolicy, owners: OwnerDirectory, emit: Emit) {
  const owner = f.owner.trim();
  if (f.state === 'retired' || NO_OWNER.has(owner.toLowerCase()) || p.goneOwners.includes(f.owner)) return;
  const reachable = owner.startsWith('group:')
    ? owners.groups.has(owner.slice('group:'.length))
    : owners.people.has(owner);
  if (reachable) return;
  emit(
    'owner-unreachable',
    'NHI1',
    'medium',
    '',
    'The owner of the identity is not a known person or group',
    { owner: f.owner },
    {
      action: 'assign-owner',
      description:
        'Name an owner who signs in (person:<email>) or an IdP group of people who do (group:<name>).',
      command: `tessera identity update ${f.id} --owner <person-or-group>`,
    },
  );
}

const retiredLive: Rule = (f, _p, _now, emit) => {
  if (f.state === 'active') return;
  const live = f.credentials.filter(isLive);
  if (live.length === 0) return;
  emit(
    'inactive-identity-live-credential',
    'NHI1',
    f.state === 'retired' ? 'critical' : 'high',
    '',
    `The identity is ${f.state} but still holds live credentials`,
    { state: f.state, live: live.map((c) => ({ kind: c.kind, id: c.id, expiresAt: iso(c.expiresAtMs) })) },
    {
      action: 'revoke-credentials',
      description: 'Retire the identity: every credential it holds is revoked in one transaction.',
      command: `tessera inventory retire ${f.id}`,
    },
  );
};

const insecureAuth: Rule = (f, p, _now, emit) => {
  if (f.state !== 'active') return;
  for (const c of f.credentials.filter(isLive)) {
    if (c.kind === 'access_key' && !c.facts.isAdmin)
      emit(
        'static-access-key',
        'NHI4',
        'medium',
        c.id,
        'A static access key where a UID token, a federation binding or private_key_jwt would do',
        { credential: c.id, via: c.via, createdAt: iso(c.createdAtMs) },
        {
          action: 'replace-credential',
          description: 'Move the workload to UID tokens or workload federation and delete the key.',
          command: `tessera auth-method delete --name ${c.via}`,
        },
      );
    if (c.kind === 'oauth_client' && String(c.authMethod).startsWith('client_secret'))
      emit(
        'client-secret',
        'NHI4',
        'medium',
        c.id,
        'An OAuth client authenticates with a shared client secret',
        { credential: c.id, via: c.via, tokenEndpointAuthMethod: c.authMethod },
        {
          action: 'switch-to-private-key-jwt',
          description: 'Register a public key and switch the client to private_key_jwt.',
          command: `tessera oauth-client update --client-id ${c.id} --auth-method private_key_jwt --jwks-file keys.json`,
        },
      );
    if (
      c.kind === 'oauth_client' &&
      f.environment !== null &&
      p.dpopRequiredEnvironments.includes(f.environment) &&
      !c.facts.dpopBound
    )
      emit(
        'bearer-without-dpop',
        'NHI4',
        'medium',
        c.id,
        `Bearer tokens in ${f.environment}, where policy requires DPoP`,
        { credential: c.id, via: c.via, environment: f.environment, dpopBoundAccessTokens: false },
        {
          action: 'require-dpop',
          description: 'Require DPoP-bound access tokens for the client.',
          command: `tessera oauth-client update --client-id ${c.id} --dpop`,
        },
      );
  }
};

/** A grant is used when some observed call on its type and action matches its path. */
export function grantUsed(
  g: { ruleType: string; path: string; capabilities: readonly string[] },
  used: IdentityFacts['used'],
) {
  return used.some(
    (u) =>
      (g.ruleType === '*' || g.ruleType === u.ruleType) &&
      g.capabilities.includes(u.action) &&
      pathMatches(g.path, u.path),
  );
}

const overprivileged: Rule = (f, p, now, emit) => {
  if (f.state !== 'active') return;
  const admin = f.credentials.some((c) => c.facts.isAdmin);
  const narrow: Remediation = {
    action: 'apply-narrowed-role',
    description: 'Replace the grants with a role generated from the permissions actually used.',
    command: `tessera inventory narrow ${f.id} --apply`,
  };
  for (const g of f.grants) {
    const subject = `${g.roleId}:${g.ruleType}:${g.path}`;
    if (g.builtin) {
      if (!admin && WORKLOAD_KINDS.has(f.kind))
        emit(
          'admin-on-workload',
          'NHI5',
          'high',
          subject,
          `The ${f.kind} holds the administrator role`,
          { role: g.roleName, via: g.via, kind: f.kind },
          narrow,
        );
      continue;
    }
    if (g.capabilities.includes('deny')) continue;
    if (g.ruleType === '*' || g.path === '*' || g.path === '/*')
      emit(
        'wildcard-grant',
        'NHI5',
        'medium',
        subject,
        'A rule grants every object of its kind',
        { role: g.roleName, ruleType: g.ruleType, path: g.path, capabilities: g.capabilities },
        narrow,
      );
    if (now - f.createdAtMs >= p.usageWindowDays * DAY_MS && !grantUsed(g, f.used))
      emit(
        'unused-permission',
        'NHI5',
        'low',
        subject,
        `A permission unused for ${p.usageWindowDays} days`,
        {
          role: g.roleName,
          ruleType: g.ruleType,
          path: g.path,
          capabilities: g.capabilities,
          windowDays: p.usageWindowDays,
          uses: 0,
        },
        narrow,
      );
  }
};

const deployment: Rule = (f, _p, _now, emit) => {
  if (f.state !== 'active') return;
  for (const c of f.credentials.filter((c) => c.kind === 'federation_binding' && c.live)) {
    const bound = (c.facts.boundClaims ?? {}) as Record<string, string | string[]>;
    const restrictive = Object.entries(bound).filter(([name, value]) =>
      ['sub', 'repository', 'repository_id', 'project_path', 'namespace', 'service_account'].includes(name)
        ? ![value].flat().some((v) => v === '*' || v.endsWith('/*') || v === '')
        : false,
    );
    if (restrictive.length === 0)
      emit(
        'unrestricted-federation',
        'NHI6',
        'high',
        c.id,
        'A federation binding accepts tokens of any repository or subject of its issuer',
        { credential: c.id, via: c.via, issuer: c.facts.issuer, boundClaims: bound },
        {
          action: 'bind-claims',
          description: 'Bind the method to the exact repository (or subject) that may use it.',
          command: `PATCH /v1/auth-methods/${c.id} {"boundClaims":{"repository":"<owner/repo>"}}`,
        },
      );
  }
  const paths = f.grants.filter((g) => !g.builtin && !g.capabilities.includes('deny')).map((g) => g.path);
  const prod = paths.filter((x) => PROD.test(x));
  const other = paths.filter((x) => NON_PROD.test(x));
  if (prod.length > 0 && other.length > 0)
    emit(
      'cross-environment',
      'NHI8',
      'medium',
      '',
      'One identity reaches production and non-production resources',
      { production: prod, nonProduction: other },
      {
        action: 'split-identity',
        description: 'Use one identity per environment; narrow this one to its own environment.',
        command: `tessera inventory narrow ${f.id} --apply`,
      },
    );
};

const longLived: Rule = (f, p, now, emit) => {
  if (f.state !== 'active') return;
  for (const c of f.credentials.filter(isLive)) {
    if (c.ttlSeconds !== null && c.ttlSeconds > p.maxTtlSeconds)
      emit(
        'ttl-above-policy',
        'NHI7',
        'medium',
        c.id,
        'A credential lives longer than policy allows',
        { credential: c.id, kind: c.kind, ttlSeconds: c.ttlSeconds, maxTtlSeconds: p.maxTtlSeconds },
        {
          action: 'shorten-ttl',
          description: 'Lower the TTL to the policy maximum (the agent rotates at half-life).',
          command: `PATCH /v1/auth-methods/${c.kind === 'uid_token' ? c.via : c.id} {"ttlSeconds":${p.maxTtlSeconds}}`,
        },
      );
    const staticSecret =
      c.kind === 'access_key' ||
      (c.kind === 'oauth_client' && String(c.authMethod).startsWith('client_secret'));
    const since = c.lastRotatedAtMs ?? c.createdAtMs;
    if (staticSecret && ageDays(now, since) > p.maxStaticSecretAgeDays)
      emit(
        'stale-static-secret',
        'NHI7',
        c.facts.isAdmin ? 'medium' : 'high',
        c.id,
        `A static secret not rotated for ${ageDays(now, since)} days`,
        {
          credential: c.id,
          kind: c.kind,
          lastRotatedAt: iso(c.lastRotatedAtMs),
          createdAt: iso(c.createdAtMs),
          ageDays: ageDays(now, since),
          maxAgeDays: p.maxStaticSecretAgeDays,
        },
        {
          action: 'rotate',
          description: 'Rotate the secret (or replace it with a short-lived credential).',
          command:
            c.kind === 'access_key'
              ? `tessera auth-method create access-key --name ${c.via}-2 (then delete ${c.via})`
              : `tessera oauth-client rotate-secret --client-id ${c.id}`,
        },
      );
  }
};

const reuse: Rule = (f, p, _now, emit) => {
  if (f.state !== 'active') return;
  for (const c of f.credentials)
    if (c.sources.length > p.maxSourcesPerCredential)
      emit(
        'credential-reuse',
        'NHI9',
        'medium',
        c.id,
        `One credential used from ${c.sources.length} sources`,
        { credential: c.id, kind: c.kind, sources: c.sources.slice(0, 20), max: p.maxSourcesPerCredential },
        {
          action: 'split-credential',
          description: 'Give each workload its own credential (UID children or federation).',
          command: 'tessera uid-create-child-token --help',
        },
      );
};

const humanUse: Rule = (f, p, _now, emit) => {
  if (f.state !== 'active') return;
  const hits = f.interactive.filter((i) => p.workstationCidrs.some((cidr) => cidrContains(cidr, i.sourceIp)));
  if (hits.length > 0)
    emit(
      'human-use',
      'NHI10',
      'medium',
      '',
      'The identity is used from workstation networks: a person is using a machine credential',
      {
        uses: hits.length,
        sources: [...new Set(hits.map((h) => h.sourceIp))].slice(0, 20),
        first: iso(Math.min(...hits.map((h) => h.atMs))),
        last: iso(Math.max(...hits.map((h) => h.atMs))),
      },
      {
        action: 'issue-personal-access',
        description: 'Give the person their own access (an approval or their SSO) and rotate the credential.',
        command: `tessera inventory show ${f.id}`,
      },
    );
};

const unmanaged: Rule = (f, _p, _now, emit) => {
  if (f.state !== 'active' || f.management !== 'discovered') return;
  const source = f.tags.find((t) => t.startsWith('source='))?.slice('source='.length) ?? null;
  emit(
    'unmanaged-account',
    'NHI7',
    'high',
    '',
    'An account created behind Tessera’s back: a static password nobody rotates',
    { source, account: f.name.split('/').pop() ?? f.name },
    {
      action: 'decide-discovered',
      description: 'Adopt it (rotate under Tessera), replace it with dynamic credentials, or delete it.',
      command: 'tessera discovery decide <id> --decision adopt --owner <owner> --preview',
    },
  );
};

const slash = (name: string) => (name.startsWith('/') ? name : `/${name}`);
const changes = (g: IdentityFacts['grants'][number], type: string) =>
  (g.ruleType === type || g.ruleType === '*') &&
  g.capabilities.some((c) => c === 'update' || c === 'create') &&
  !g.capabilities.includes('deny');

/**
 * Escalation paths: the identity may edit a role it holds (and so grant itself anything), or may
 * associate the administrator role with one of its own auth methods (update on both is what an
 * association needs).
 */
const escalation: Rule = (f, _p, _now, emit) => {
  if (f.state !== 'active' || f.grants.some((g) => g.builtin)) return;
  const ownRoles = [...new Set(f.grants.map((g) => g.roleName))];
  const ownMethods = [...new Set(f.grants.map((g) => g.via))];
  const roleChangers = f.grants.filter((g) => changes(g, 'role'));
  if (roleChangers.length === 0) return;
  const editable = ownRoles.filter((r) => roleChangers.some((g) => pathMatches(g.path, slash(r))));
  const adminReachable =
    roleChangers.some((g) => pathMatches(g.path, '/tessera-admin')) &&
    f.grants.some((g) => changes(g, 'auth-method') && ownMethods.some((m) => pathMatches(g.path, slash(m))));
  if (editable.length === 0 && !adminReachable) return;
  emit(
    'escalation-path',
    'NHI5',
    'critical',
    '',
    'The identity can grant itself more permissions',
    {
      canEditOwnRoles: editable,
      canAssociateAdministrator: adminReachable,
      through: roleChangers.map((g) => ({ role: g.roleName, ruleType: g.ruleType, path: g.path })),
    },
    {
      action: 'apply-narrowed-role',
      description: 'Remove the right to change roles (and its own auth methods) from the identity.',
      command: `tessera inventory narrow ${f.id} --apply`,
    },
  );
};

/** How to end a leaked credential of each kind in one step. */
function revokeLeaked(f: IdentityFacts, leak: IdentityFacts['leaks'][number]): Remediation {
  const id = leak.credentialId ?? '<id>';
  if (leak.kind === 'dynamic_password')
    return {
      action: 'revoke-lease',
      description: 'Revoke the lease: the account is dropped on its target and its sessions end.',
      command: `tessera revoke-lease --lease-id ${id}`,
    };
  if (leak.kind === 'client_secret')
    return {
      action: 'rotate',
      description: 'Rotate the client secret (or switch the client to private_key_jwt).',
      command: `tessera oauth-client rotate-secret --client-id ${id}`,
    };
  if (leak.kind === 'uid_token')
    return {
      action: 'revoke-credentials',
      description: 'Revoke the UID token and its subtree; the workload gets a new one.',
      command: `tessera uid-revoke-token --revoke-token ${id} --revoke-type revokeAll`,
    };
  return {
    action: 'revoke-credentials',
    description: 'Retire the credential: every credential of the identity is revoked and reported.',
    command: `tessera inventory retire ${f.id}`,
  };
}

/**
 * NHI2: a credential of the identity was reported leaked (`POST /v1/leaks`, the scanner) and still
 * works. A report revokes what it can at once, so this is the case where that did not complete
 * (a target that did not drop a leaked database account); the finding resolves once it is revoked.
 */
const leaked: Rule = (f, _p, _now, emit) => {
  for (const leak of f.leaks) {
    if (!leak.live) continue;
    emit(
      'leaked-credential',
      'NHI2',
      'critical',
      leak.findingId,
      'A credential reported leaked still works',
      {
        leak: leak.findingId,
        kind: leak.kind,
        credential: leak.credentialId,
        where: leak.where,
        reports: leak.reportCount,
        firstReportedAt: iso(leak.firstReportedAtMs),
        lastReportedAt: iso(leak.lastReportedAtMs),
        reportOutcome: leak.outcome,
      },
      revokeLeaked(f, leak),
    );
  }
};

const RULES: Rule[] = [
  leaked,
  escalation,
  unmanaged,
  ownerRules,
  retiredLive,
  insecureAuth,
  overprivileged,
  deployment,
  longLived,
  reuse,
  humanUse,
];

/**
 * Every finding of one identity under `policy` at `nowMs`; with `owners` (people sign in), also
 * whether its owner is reachable.
 */
export function evaluate(
  f: IdentityFacts,
  policy: PosturePolicy,
  nowMs: number,
  owners: OwnerDirectory | null = null,
): Finding[] {
  const out: Finding[] = [];
  const emit: Emit = (rule, owasp, severity, subject, title, evidence, remediation) =>
    out.push({
      key: `${rule}:${f.id}:${subject}`,
      rule,
      owasp,
      severity,
      identityId: f.id,
      identityName: f.name,
      title,
      evidence,
      remediation,
    });
  for (const rule of RULES) rule(f, policy, nowMs, emit);
  if (owners) ownerReachability(f, policy, owners, emit);
  return out;
}

const WEIGHT: Record<Severity, number> = { low: 3, medium: 10, high: 25, critical: 50 };

/** 0–100: the findings' weights, plus exposure (an administrator, many live credentials). */
export function riskScore(f: IdentityFacts, findings: readonly Finding[]): number {
  let score = findings.reduce((sum, x) => sum + WEIGHT[x.severity], 0);
  if (f.grants.some((g) => g.builtin)) score += 15;
  score += Math.min(10, Math.max(0, f.credentials.filter(isLive).length - 1) * 2);
  return Math.min(100, score);
}

/**
 * A role of exactly the permissions observed: one rule per (type, exact path) with the actions used
 * there. Every observed call stays allowed; anything else is refused (default deny).
 */
export function narrowRole(f: IdentityFacts, windowDays: number): NarrowedRole {
  const rules = new Map<string, { ruleType: RuleType; path: string; capabilities: Set<Capability> }>();
  for (const u of f.used) {
    const key = `${u.ruleType}\u0000${u.path}`;
    const rule = rules.get(key) ?? {
      ruleType: u.ruleType as RuleType,
      path: u.path,
      capabilities: new Set<Capability>(),
    };
    rule.capabilities.add(u.action as Capability);
    rules.set(key, rule);
  }
  const order: Capability[] = ['read', 'list', 'create', 'update', 'delete'];
  return {
    identityId: f.id,
    windowDays,
    rules: [...rules.values()]
      .map((r) => ({
        ruleType: r.ruleType,
        path: r.path,
        capabilities: order.filter((c) => r.capabilities.has(c)),
      }))
      .sort((a, b) => (a.ruleType + a.path).localeCompare(b.ruleType + b.path)),
    removed: f.grants
      .filter((g) => !grantUsed(g, f.used) && !g.capabilities.includes('deny'))
      .map((g) => ({
        roleName: g.roleName,
        ruleType: g.ruleType,
        path: g.path,
        capabilities: g.capabilities,
      })),
  };
}
