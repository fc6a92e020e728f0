import { type Static, Type } from '@sinclair/typebox';
import {
  CLAIMS,
  type ClaimFilter,
  MAX_CLAIM_VALUE_LENGTH,
  MAX_CLAIM_VALUES,
} from '../access/access.claims.js';
import {
  MAX_CONDITION_CIDRS,
  MAX_TARGET_TAGS,
  TARGET_OWNERS,
  WEEKDAYS,
} from '../access/access.conditions.js';
import type { Explanation } from '../access/access.explain.js';
import { CAPABILITIES, RULE_TYPES } from '../access/access.policy.js';
import {
  AccessId,
  IsoTime,
  Limit,
  Name,
  Nullable,
  StringEnum,
  toIso,
  toIsoOrNull,
} from '../shared/schemas.js';
import {
  MAX_RULE_PATH_LENGTH,
  type RoleAssociation,
  type RoleDetails,
  type RoleRule,
  type RoleSummary,
} from './roles.model.js';

/** Wire schemas of `/v1/roles…` and `/v1/access/explain`. Every string is bounded. */

const RULE_TYPE_WORDS = [...RULE_TYPES, '*', ...RULE_TYPES.map((t) => `${t}-rule`)] as const;
export const RuleTypeSchema = StringEnum(
  RULE_TYPE_WORDS,
  'What the rule is about; Akeyless spellings (item-rule, auth-method-rule, role-rule) are accepted.',
);
const ActionSchema = StringEnum(['read', 'list', 'create', 'update', 'delete', 'call'] as const);
const CapabilitySchema = StringEnum(CAPABILITIES);
export const RulePath = Type.String({
  minLength: 1,
  maxLength: MAX_RULE_PATH_LENGTH,
  pattern: '^[A-Za-z0-9/*+._@:=~-]+$',
  description: '`*` matches any characters including `/`; `+` one path segment. A leading `/` is added.',
});

const claimValues = (key: keyof typeof CLAIMS) =>
  Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: MAX_CLAIM_VALUE_LENGTH }), {
      minItems: 1,
      maxItems: MAX_CLAIM_VALUES,
      description: CLAIMS[key],
    }),
  );
/** A claim filter: every key must match; a key matches when the principal holds any of its values. */
export const ClaimsSchema = Type.Object(
  {
    'identity-id': claimValues('identity-id'),
    'identity-name': claimValues('identity-name'),
    kind: claimValues('kind'),
    environment: claimValues('environment'),
    tag: claimValues('tag'),
    owner: claimValues('owner'),
    'uid-subtree': claimValues('uid-subtree'),
  },
  { additionalProperties: false },
);

/** Attributes of the object the request is about (ADR 0042). */
export const TargetConditionSchema = Type.Object(
  {
    owner: Type.Optional(
      StringEnum(
        TARGET_OWNERS,
        "`principal`: the target's owner is the caller itself (identity id or name; with a delegated token, the subject acted for). `principal-owner`: the target's owner is the caller identity's owner.",
      ),
    ),
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        maxItems: MAX_TARGET_TAGS,
        description: 'The target holds every one of these tags.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The owner and tags of the target: an item (owner from its `owner:` tag) or an MCP server identity. An unknown target fails closed.',
  },
);

export const ConditionsSchema = Type.Object(
  {
    claims: Type.Optional(ClaimsSchema),
    cidrs: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        maxItems: MAX_CONDITION_CIDRS,
        description: 'The request source address must lie in one of these.',
      }),
    ),
    timeWindow: Type.Optional(
      Type.Object(
        {
          days: Type.Optional(Type.Array(StringEnum(WEEKDAYS), { maxItems: 7 })),
          fromHour: Type.Integer({ minimum: 0, maximum: 23 }),
          toHour: Type.Integer({ minimum: 1, maximum: 24 }),
        },
        { additionalProperties: false, description: 'UTC; fromHour > toHour wraps past midnight.' },
      ),
    ),
    target: Type.Optional(TargetConditionSchema),
  },
  { additionalProperties: false },
);

export const RoleNameParams = Type.Object({ name: Name }, { additionalProperties: false });
export const IncludeParams = Type.Object({ name: Name, included: Name }, { additionalProperties: false });
export const AssociationIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

export const CreateRoleBody = Type.Object(
  { name: Name, description: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);
export const ListRolesQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);
export const SetRuleBody = Type.Object(
  {
    ruleType: RuleTypeSchema,
    path: RulePath,
    capabilities: Type.Array(CapabilitySchema, { minItems: 1, maxItems: CAPABILITIES.length }),
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10 * 365 * 86_400,
        description: 'The rule stops applying after this.',
      }),
    ),
    expiresAt: Type.Optional(IsoTime),
    conditions: Type.Optional(ConditionsSchema),
  },
  { additionalProperties: false },
);
export const DeleteRuleQuery = Type.Object(
  { ruleType: RuleTypeSchema, path: RulePath },
  { additionalProperties: false },
);
export const IncludeBody = Type.Object({ role: Name }, { additionalProperties: false });
export const AssociateBody = Type.Object(
  {
    authMethodName: Type.Optional(Name),
    authMethodId: Type.Optional(AccessId),
    claims: Type.Optional(ClaimsSchema),
  },
  { additionalProperties: false },
);
export const ExplainBody = Type.Object(
  {
    token: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'Another session token to explain (needs read on role:/*); never echoed.',
      }),
    ),
    path: RulePath,
    action: ActionSchema,
    ruleType: Type.Optional(StringEnum(RULE_TYPE_WORDS, 'What the path names; default item.')),
    sourceIp: Type.Optional(
      Type.String({ minLength: 2, maxLength: 64, description: 'Evaluate CIDR conditions for this address.' }),
    ),
    arguments: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'With `call` on an `mcp-tool` path `/SERVER/TOOL`: the tool call’s arguments, for its tool policy (default {}).',
      }),
    ),
  },
  { additionalProperties: false },
);

const RuleOut = Type.Object({
  id: Type.String(),
  ruleType: Type.String(),
  path: Type.String(),
  capabilities: Type.Array(Type.String()),
  expiresAt: Nullable(IsoTime),
  conditions: Nullable(ConditionsSchema),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export const RoleAssociationSchema = Type.Object(
  {
    id: Type.String({ description: 'The association id (ra-…).' }),
    roleName: Type.String(),
    authMethodId: Type.String(),
    authMethodName: Type.String(),
    claims: ClaimsSchema,
    createdAt: IsoTime,
  },
  { $id: 'RoleAssociation' },
);
export const RoleSchema = Type.Object(
  {
    name: Type.String(),
    description: Nullable(Type.String()),
    builtin: Type.Boolean(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    rules: Type.Array(RuleOut),
    includes: Type.Array(Type.String(), { description: 'Roles whose rules this one includes.' }),
    associations: Type.Array(Type.Ref('RoleAssociation')),
  },
  { $id: 'Role' },
);
export const RolePage = Type.Object({
  items: Type.Array(
    Type.Object({
      name: Type.String(),
      description: Nullable(Type.String()),
      builtin: Type.Boolean(),
      ruleCount: Type.Integer(),
      associationCount: Type.Integer(),
      createdAt: IsoTime,
      updatedAt: IsoTime,
    }),
  ),
  nextCursor: Nullable(Type.String()),
});
export const RuleSchema = RuleOut;

export const ExplanationSchema = Type.Object({
  allowed: Type.Boolean(),
  reason: StringEnum(['granted', 'denied-by-rule', 'no-matching-rule'] as const),
  /** One line a person can read. */
  summary: Type.String(),
  rule: Nullable(
    Type.Object({
      id: Type.String(),
      ruleType: Type.String(),
      path: Type.String(),
      capabilities: Type.Array(Type.String()),
    }),
  ),
  role: Nullable(Type.String()),
  association: Nullable(Type.String()),
  principal: Type.Object({
    identityId: Type.String(),
    authMethodId: Type.String(),
    uidTokenId: Nullable(Type.String()),
  }),
  resource: Type.Object({ type: Type.String(), path: Type.String() }),
  associations: Type.Array(Type.Object({ id: Type.String(), role: Type.String(), matched: Type.Boolean() })),
  notApplied: Type.Array(
    Type.Object({
      ruleId: Type.String(),
      role: Type.String(),
      ruleType: Type.String(),
      path: Type.String(),
      capabilities: Type.Array(Type.String()),
      why: Type.String(),
    }),
  ),
  call: Type.Optional(
    Type.Object(
      {
        allowed: Type.Boolean(),
        stage: Type.String({ description: 'catalogue, policy or approval' }),
        rule: Nullable(Type.String()),
        condition: Nullable(Type.String()),
        reason: Type.String(),
        summary: Type.String(),
        approval: Type.Boolean({ description: 'The call runs only once a human approves it.' }),
        argumentsHash: Type.String(),
      },
      {
        description:
          'A `call` on a capability’s object (an MCP tool): its own stages after the roles model. `allowed` at the top is both.',
      },
    ),
  ),
});

export type SetRuleWire = Static<typeof SetRuleBody>;

export const ruleToWire = (r: RoleRule) => ({
  id: r.id,
  ruleType: r.ruleType,
  path: r.path,
  capabilities: [...r.capabilities],
  expiresAt: toIsoOrNull(r.expiresAtMs ?? null),
  conditions: (r.conditions ?? null) as Static<typeof ConditionsSchema> | null,
  createdAt: toIso(r.createdAtMs),
  updatedAt: toIso(r.updatedAtMs),
});

export const associationToWire = (a: RoleAssociation) => ({
  id: a.id,
  roleName: a.roleName,
  authMethodId: a.authMethodId,
  authMethodName: a.authMethodName,
  claims: a.claims as ClaimFilter as Static<typeof ClaimsSchema>,
  createdAt: toIso(a.createdAtMs),
});

export const roleToWire = (r: RoleDetails) => ({
  name: r.name,
  description: r.description,
  builtin: r.builtin,
  createdAt: toIso(r.createdAtMs),
  updatedAt: toIso(r.updatedAtMs),
  rules: r.rules.map(ruleToWire),
  includes: r.includes,
  associations: r.associations.map(associationToWire),
});

export const roleSummaryToWire = (r: RoleSummary) => ({
  name: r.name,
  description: r.description,
  builtin: r.builtin,
  ruleCount: r.ruleCount,
  associationCount: r.associationCount,
  createdAt: toIso(r.createdAtMs),
  updatedAt: toIso(r.updatedAtMs),
});

/** One line: "allowed by role X rule Y (path, caps)" or "denied: …". */
export function explanationSummary(e: Explanation): string {
  const d = e.decision;
  const r = d.rule;
  const where = r
    ? `role ${d.role} rule ${r.id} (${r.ruleType} ${r.path}: ${r.capabilities.join(', ')})`
    : '';
  if (d.allowed) return `allowed by ${where}`;
  if (d.reason === 'denied-by-rule') return `denied by ${where}`;
  const skipped = e.notApplied[0];
  return skipped
    ? `denied: no matching rule applies (role ${skipped.rule.role} rule ${skipped.rule.id} on ${skipped.rule.path} did not: ${skipped.why})`
    : 'denied: no matching rule';
}

export const explanationToWire = (
  e: Explanation,
  principal: { identityId: string; authMethodId: string; uidNodeId: string | null },
  resource: { type: string; path: string },
) => ({
  allowed: e.decision.allowed,
  reason: e.decision.reason,
  summary: explanationSummary(e),
  rule: e.decision.rule
    ? {
        id: e.decision.rule.id,
        ruleType: e.decision.rule.ruleType,
        path: e.decision.rule.path,
        capabilities: [...e.decision.rule.capabilities],
      }
    : null,
  role: e.decision.role,
  association: e.decision.association,
  principal: {
    identityId: principal.identityId,
    authMethodId: principal.authMethodId,
    uidTokenId: principal.uidNodeId,
  },
  resource,
  associations: e.associations,
  notApplied: e.notApplied.map((n) => ({
    ruleId: n.rule.id,
    role: n.rule.role,
    ruleType: n.rule.ruleType,
    path: n.rule.path,
    capabilities: [...n.rule.capabilities],
    why: n.why,
  })),
});
