/**
 * Governance (issue 16, ADR 0019): the inventory of non-human identities, posture findings mapped to
 * the OWASP Non-Human Identities Top 10 (2025), narrowed roles from observed use, retirement and
 * offboarding, and discovery of accounts created behind Tessera's back. Types only: no I/O.
 */
import type { Capability, RuleType } from '../../core/access/access.policy.js';
import type { IdentityKind, IdentityState } from '../../core/identities/identities.model.js';
import type { ReadRepos } from '../../core/shared/unit-of-work.js';

/** The OWASP NHI Top 10 (2025) entries the findings map to. */
export const OWASP_NHI = {
  NHI1: 'Improper Offboarding',
  NHI2: 'Secret Leakage',
  NHI3: 'Vulnerable Third-Party NHI',
  NHI4: 'Insecure Authentication',
  NHI5: 'Overprivileged NHI',
  NHI6: 'Insecure Cloud Deployment Configurations',
  NHI7: 'Long-Lived Secrets',
  NHI8: 'Environment Isolation',
  NHI9: 'NHI Reuse',
  NHI10: 'Human Use of NHI',
} as const;
export type OwaspNhi = keyof typeof OWASP_NHI;

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** How an identity is managed. */
export type Management = 'tessera-issued' | 'federated' | 'shared' | 'discovered';

export const CREDENTIAL_KINDS = [
  'access_key',
  'uid_token',
  'oauth_client',
  'federation_binding',
  'lease',
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** One credential an identity holds, as the inventory shows it (never a secret value). */
export interface CredentialView {
  /** Access id (`p-…`), UID node id or lease id. */
  id: string;
  kind: CredentialKind;
  /** The auth method it belongs to (its name), or the dynamic secret of a lease. */
  via: string;
  /** How it authenticates (`client_secret_basic`, `private_key_jwt`…), where that varies. */
  authMethod: string | null;
  createdAtMs: number;
  expiresAtMs: number | null;
  lastRotatedAtMs: number | null;
  lastUsedAtMs: number | null;
  /** Lifetime granted per issue (UID TTL, lease TTL), seconds; null when unbounded. */
  ttlSeconds: number | null;
  /** Usable now (not revoked, not expired). */
  live: boolean;
  /** Distinct source addresses seen using it in the window (bounded). */
  sources: string[];
  /** Method-specific facts the rules read (federation bound claims, DPoP requirement, admin). */
  facts: Record<string, unknown>;
}

/** One rule an identity holds through a role associated with one of its auth methods. */
export interface GrantView {
  roleId: string;
  roleName: string;
  builtin: boolean;
  ruleType: RuleType;
  path: string;
  capabilities: Capability[];
  /** The auth method the role is associated with. */
  via: string;
}

/** One permission actually exercised (from the audit ledger). */
export interface UsageView {
  ruleType: string;
  action: string;
  path: string;
  count: number;
  lastAtMs: number;
}

/** Who owns which aspect of an identity (the identity, its credentials, its entitlements). */
export interface Ownership {
  identity: string;
  credentials: string;
  entitlements: string;
}

/** Everything the rules see about one identity. */
export interface IdentityFacts {
  id: string;
  name: string;
  kind: IdentityKind;
  owner: string;
  environment: string | null;
  tags: string[];
  state: IdentityState;
  createdAtMs: number;
  lastUsedAtMs: number | null;
  management: Management;
  ownership: Ownership;
  credentials: CredentialView[];
  grants: GrantView[];
  used: UsageView[];
  /** Authentications from workstation networks in the window (NHI10 evidence). */
  interactive: { sourceIp: string; atMs: number }[];
  /** Credentials of the identity reported leaked (`POST /v1/leaks`), and whether each still works. */
  leaks: LeakFact[];
}

/** A leaked credential of an identity, as the leaks capability reports it (NHI2 evidence). */
export interface LeakFact {
  /** The leak finding (`lf-…`, `GET /v1/leaks/{id}`). */
  findingId: string;
  kind: string;
  /** What the report did: `revoked`, `already_dead` or `unknown`. */
  outcome: string;
  /** Still usable now: the revocation did not complete (or it works again). */
  live: boolean;
  /** The UID node, auth method, OAuth client or lease to revoke; null when unknown. */
  credentialId: string | null;
  /** Where it was found (path or URL, line, commit): never the text around it. */
  where: string[];
  reportCount: number;
  firstReportedAtMs: number;
  lastReportedAtMs: number;
}

/**
 * The port to the leaks capability: the leaked credentials of a page of identities, read in the
 * same read scope as the rest of the facts. Absent (no leaks capability), identities have none.
 */
export type LeakSource = (
  r: ReadRepos,
  identityIds: readonly string[],
  nowMs: number,
) => Promise<(LeakFact & { identityId: string })[]>;

export interface Remediation {
  /** What one step fixes it: `assign-owner`, `revoke-credentials`, `apply-narrowed-role`… */
  action: string;
  description: string;
  /** The CLI command that does it. */
  command: string;
}

/** A posture finding: stable `key` per (rule, identity, subject) so it can appear and disappear. */
export interface Finding {
  key: string;
  rule: string;
  owasp: OwaspNhi;
  severity: Severity;
  identityId: string;
  identityName: string;
  title: string;
  evidence: Record<string, unknown>;
  remediation: Remediation;
}

export interface StoredFinding extends Finding {
  firstSeenAtMs: number;
  lastSeenAtMs: number;
  resolvedAtMs: number | null;
}

/** The thresholds the rules apply (a posture policy; defaults below). */
export interface PosturePolicy {
  /** The usage window: a permission unused this long is unused. */
  usageWindowDays: number;
  /** Static secrets (access keys, client secrets) older than this are long-lived. */
  maxStaticSecretAgeDays: number;
  /** UID/lease/token TTLs above this are long-lived. */
  maxTtlSeconds: number;
  /** A credential used from more distinct sources than this in the window is shared. */
  maxSourcesPerCredential: number;
  /** Networks of people's workstations (NHI10). */
  workstationCidrs: string[];
  /** Environments where OAuth clients must require DPoP-bound tokens. */
  dpopRequiredEnvironments: string[];
  /** Owners that no longer exist (offboarded people): their identities are orphans. */
  goneOwners: string[];
}

export const DEFAULT_POLICY: PosturePolicy = {
  usageWindowDays: 30,
  maxStaticSecretAgeDays: 90,
  maxTtlSeconds: 30 * 86_400,
  maxSourcesPerCredential: 5,
  workstationCidrs: [],
  dpopRequiredEnvironments: ['production'],
  goneOwners: [],
};

/**
 * Who an owner string can reach (issue 14): the people known from sign-in and their IdP groups. An
 * owner approval can only be decided by someone here, so an owner outside it is unreachable.
 */
export interface OwnerDirectory {
  /** `person:<id>` and `person:<email>` of every known person. */
  people: ReadonlySet<string>;
  /** The IdP groups at least one known person belongs to (`group:<name>` owners). */
  groups: ReadonlySet<string>;
}

/** Owners meaning "nobody" (the inventory's own list: registration tokens refuse them too). */
export { NO_OWNER } from '../../core/identities/identities.model.js';

/** The inventory line: the identity, its credentials, grants, use, findings and risk. */
export interface InventoryEntry extends IdentityFacts {
  findings: Finding[];
  riskScore: number;
}

/** A generated role: exactly the permissions observed in the window. */
export interface NarrowedRole {
  identityId: string;
  windowDays: number;
  rules: { ruleType: RuleType; path: string; capabilities: Capability[] }[];
  /** Granted rules no observed call needed (what narrowing removes). */
  removed: { roleName: string; ruleType: string; path: string; capabilities: string[] }[];
}

/** What retiring an identity revoked, per credential kind (the proof). */
export interface RetirementReport {
  identityId: string;
  identityName: string;
  state: IdentityState;
  revoked: { kind: CredentialKind | 'session_tokens' | 'client_secret'; id: string; via: string }[];
  /** Leases whose accounts the reaper drops now (network I/O happens after the commit). */
  leasesDue: number;
}

declare module '../../core/shared/events.js' {
  interface DomainEvents {
    /** A posture scan finished: findings opened and resolved in it. */
    'governance.scanned': { opened: number; resolved: number; open: number };
  }
}
