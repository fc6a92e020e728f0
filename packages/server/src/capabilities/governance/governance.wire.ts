import { Type } from '@sinclair/typebox';
import { IsoTime, Nullable, StringEnum } from '../../core/shared/schemas.js';
import {
  CREDENTIAL_KINDS,
  type InventoryEntry,
  OWASP_NHI,
  SEVERITIES,
  type StoredFinding,
} from './governance.model.js';

const Obj = Type.Record(Type.String(), Type.Unknown());
const Str = Type.String();
const Strs = Type.Array(Type.String());
const Owasp = StringEnum(Object.keys(OWASP_NHI) as (keyof typeof OWASP_NHI)[]);

export const FindingSchema = Type.Object({
  key: Str,
  rule: Str,
  owasp: Owasp,
  owaspTitle: Str,
  severity: StringEnum(SEVERITIES),
  identityId: Str,
  identityName: Str,
  title: Str,
  evidence: Obj,
  remediation: Type.Object({ action: Str, description: Str, command: Str }),
  firstSeenAt: Type.Optional(IsoTime),
  lastSeenAt: Type.Optional(IsoTime),
  resolvedAt: Type.Optional(Nullable(IsoTime)),
});

const CredentialSchema = Type.Object({
  id: Str,
  kind: StringEnum(CREDENTIAL_KINDS),
  via: Str,
  authMethod: Nullable(Str),
  createdAt: IsoTime,
  expiresAt: Nullable(IsoTime),
  lastRotatedAt: Nullable(IsoTime),
  lastUsedAt: Nullable(IsoTime),
  ageDays: Type.Integer(),
  ttlSeconds: Nullable(Type.Integer()),
  live: Type.Boolean(),
  sources: Strs,
});

export const InventoryEntrySchema = Type.Object({
  id: Str,
  name: Str,
  kind: Str,
  owner: Str,
  ownership: Type.Object({ identity: Str, credentials: Str, entitlements: Str }),
  environment: Nullable(Str),
  tags: Strs,
  state: Str,
  management: Str,
  createdAt: IsoTime,
  lastUsedAt: Nullable(IsoTime),
  credentials: Type.Array(CredentialSchema),
  effectivePermissions: Type.Array(
    Type.Object({ role: Str, via: Str, ruleType: Str, path: Str, capabilities: Strs, used: Type.Boolean() }),
  ),
  usedPermissions: Type.Array(
    Type.Object({ ruleType: Str, action: Str, path: Str, count: Type.Integer(), lastAt: IsoTime }),
  ),
  findings: Type.Array(FindingSchema),
  riskScore: Type.Integer(),
});

const PathStepSchema = Type.Object({
  kind: StringEnum([
    'identity',
    'auth-method',
    'delegation',
    'association',
    'role',
    'includes',
    'rule',
  ] as const),
  name: Str,
  detail: Type.Optional(Obj),
});
const EscalationSchema = Type.Object({
  identityId: Str,
  identityName: Str,
  canEditOwnRoles: Strs,
  canAssociateAdministrator: Strs,
  steps: Type.Array(PathStepSchema),
});
/** The effective-access graph's answer (`GET /v1/inventory/access`, ADR 0043). */
export const WhoCanSchema = Type.Object({
  resource: Type.Object({ type: Str, path: Str }),
  reachers: Type.Array(
    Type.Object({
      identityId: Str,
      identityName: Str,
      kind: Str,
      owner: Str,
      state: Str,
      capabilities: Strs,
      paths: Type.Array(
        Type.Object({
          via: StringEnum(['association', 'delegation'] as const),
          capabilities: Strs,
          conditional: Type.Boolean(),
          denied: Type.Boolean(),
          steps: Type.Array(PathStepSchema),
        }),
      ),
      escalation: Nullable(EscalationSchema),
    }),
  ),
  escalations: Type.Array(EscalationSchema),
});

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function findingToWire(f: StoredFinding | InventoryEntry['findings'][number]) {
  const stored = 'firstSeenAtMs' in f ? f : null;
  return {
    key: f.key,
    rule: f.rule,
    owasp: f.owasp,
    owaspTitle: OWASP_NHI[f.owasp],
    severity: f.severity,
    identityId: f.identityId,
    identityName: f.identityName,
    title: f.title,
    evidence: f.evidence,
    remediation: f.remediation,
    ...(stored
      ? {
          firstSeenAt: iso(stored.firstSeenAtMs),
          lastSeenAt: iso(stored.lastSeenAtMs),
          resolvedAt: isoOrNull(stored.resolvedAtMs),
        }
      : {}),
  };
}

export function entryToWire(e: InventoryEntry, nowMs: number, usedFlags: boolean[]) {
  return {
    id: e.id,
    name: e.name,
    kind: e.kind,
    owner: e.owner,
    ownership: e.ownership,
    environment: e.environment,
    tags: e.tags,
    state: e.state,
    management: e.management,
    createdAt: iso(e.createdAtMs),
    lastUsedAt: isoOrNull(e.lastUsedAtMs),
    credentials: e.credentials.map((c) => ({
      id: c.id,
      kind: c.kind,
      via: c.via,
      authMethod: c.authMethod,
      createdAt: iso(c.createdAtMs),
      expiresAt: isoOrNull(c.expiresAtMs),
      lastRotatedAt: isoOrNull(c.lastRotatedAtMs),
      lastUsedAt: isoOrNull(c.lastUsedAtMs),
      ageDays: Math.floor((nowMs - c.createdAtMs) / 86_400_000),
      ttlSeconds: c.ttlSeconds,
      live: c.live,
      sources: c.sources,
    })),
    effectivePermissions: e.grants.map((g, i) => ({
      role: g.roleName,
      via: g.via,
      ruleType: g.ruleType,
      path: g.path,
      capabilities: [...g.capabilities],
      used: usedFlags[i] ?? false,
    })),
    usedPermissions: e.used.map((u) => ({
      ruleType: u.ruleType,
      action: u.action,
      path: u.path,
      count: u.count,
      lastAt: iso(u.lastAtMs),
    })),
    findings: e.findings.map(findingToWire),
    riskScore: e.riskScore,
  };
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // A leading =, +, - or @ would be a formula in a spreadsheet (CSV injection): quote it as text.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};
export const CSV_COLUMNS = [
  'id',
  'name',
  'kind',
  'owner',
  'environment',
  'state',
  'management',
  'tags',
  'credentials',
  'liveCredentials',
  'effectivePermissions',
  'usedPermissions',
  'findings',
  'owasp',
  'riskScore',
  'lastUsedAt',
] as const;
export function entryToCsv(e: InventoryEntry): string {
  const values = [
    e.id,
    e.name,
    e.kind,
    e.owner,
    e.environment,
    e.state,
    e.management,
    e.tags.join(' '),
    e.credentials.length,
    e.credentials.filter((c) => c.live).length,
    e.grants.length,
    e.used.length,
    e.findings.length,
    [...new Set(e.findings.map((f) => f.owasp))].join(' '),
    e.riskScore,
    isoOrNull(e.lastUsedAtMs),
  ];
  return values.map(csvCell).join(',');
}
