import { Type } from '@sinclair/typebox';
import { type ClaimFilter, normaliseClaimFilter } from '../access/access.claims.js';
import { normaliseConditions, type RuleConditions } from '../access/access.conditions.js';
import { CAPABILITIES, type Capability, RULE_TYPES, type RuleType } from '../access/access.policy.js';
import type { ConfigKind, ConfigProblem, ConfigSpec } from '../shared/config-kinds.js';
import type { CredentialFactory } from '../shared/platform.port.js';
import type { Repos } from '../shared/unit-of-work.js';
import {
  isValidRoleName,
  namePath,
  normaliseCapabilities,
  normaliseRulePath,
  type Role,
  type RoleRule,
  ruleTypeFromWire,
} from './roles.model.js';

export interface RuleSpec {
  type: RuleType;
  path: string;
  capabilities: Capability[];
  /** ISO 8601 UTC, or null. */
  expiresAt: string | null;
  conditions: RuleConditions | null;
}

export interface AssociationSpec {
  /** The auth method's name. */
  authMethod: string;
  claims: ClaimFilter;
}

/** A role as a configuration file declares it: its rules, the roles it includes, its associations. */
export interface RoleSpec extends ConfigSpec {
  name: string;
  description: string | null;
  rules: RuleSpec[];
  includes: string[];
  associations: AssociationSpec[];
}

const Claims = Type.Record(
  Type.String({ maxLength: 40 }),
  Type.Union([
    Type.String({ maxLength: 200 }),
    Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 }),
  ]),
  { description: 'Claim name → a value or a list of values (any one)' },
);

export const RoleSpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    rules: Type.Optional(
      Type.Array(
        Type.Object(
          {
            type: Type.Union([...RULE_TYPES, '*'].map((t) => Type.Literal(t))),
            path: Type.String({
              minLength: 1,
              maxLength: 512,
              description: '`*`, or a path pattern (`/prod/*`)',
            }),
            capabilities: Type.Array(Type.Union(CAPABILITIES.map((c) => Type.Literal(c))), {
              minItems: 1,
              maxItems: CAPABILITIES.length,
            }),
            expiresAt: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
            conditions: Type.Optional(
              Type.Union([
                Type.Object(
                  {
                    claims: Type.Optional(Claims),
                    cidrs: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })),
                    timeWindow: Type.Optional(
                      Type.Object(
                        {
                          days: Type.Optional(Type.Array(Type.String({ maxLength: 3 }), { maxItems: 7 })),
                          fromHour: Type.Integer({ minimum: 0, maximum: 23 }),
                          toHour: Type.Integer({ minimum: 1, maximum: 24 }),
                        },
                        { additionalProperties: false },
                      ),
                    ),
                    target: Type.Optional(
                      Type.Object(
                        {
                          owner: Type.Optional(Type.String({ maxLength: 40 })),
                          tags: Type.Optional(
                            Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 }),
                          ),
                        },
                        {
                          additionalProperties: false,
                          description: 'Owner and tags of the target (ADR 0042)',
                        },
                      ),
                    ),
                  },
                  { additionalProperties: false },
                ),
                Type.Null(),
              ]),
            ),
          },
          { additionalProperties: false },
        ),
        { maxItems: 1000 },
      ),
    ),
    includes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 100,
        description: 'Roles whose rules apply too (no cycles)',
      }),
    ),
    associations: Type.Optional(
      Type.Array(
        Type.Object(
          {
            authMethod: Type.String({ minLength: 1, maxLength: 200, description: 'Name of an auth method' }),
            claims: Type.Optional(Claims),
          },
          { additionalProperties: false },
        ),
        { maxItems: 1000 },
      ),
    ),
  },
  { additionalProperties: false },
);

const canonicalIso = (text: string): string | null => {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && /^\d{4}-\d\d-\d\dT/.test(text) ? new Date(ms).toISOString() : null;
};
const ruleKey = (r: Pick<RuleSpec, 'type' | 'path'>) => `${r.type} ${r.path}`;
const assocKey = (a: AssociationSpec) => `${a.authMethod} ${JSON.stringify(a.claims)}`;
const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

function groupBy<T>(items: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const list = map.get(key(item));
    if (list) list.push(item);
    else map.set(key(item), [item]);
  }
  return map;
}

function normaliseRule(input: RuleSpec, i: number, problems: ConfigProblem[]): RuleSpec | null {
  const at = (field: string, message: string) => problems.push({ path: ['rules', i, field], message });
  const type = ruleTypeFromWire(input.type);
  const path = normaliseRulePath(input.path);
  const capabilities = normaliseCapabilities(input.capabilities);
  const conditions = normaliseConditions(input.conditions);
  const expiresAt = input.expiresAt ? canonicalIso(input.expiresAt) : null;
  if (!type) at('type', `unknown rule type "${input.type}"`);
  if (!path) at('path', `"${input.path}" is not a valid path pattern`);
  if (!capabilities) at('capabilities', `capabilities must be some of ${CAPABILITIES.join(', ')}`);
  if ('error' in conditions) at('conditions', conditions.error);
  if (input.expiresAt && !expiresAt) at('expiresAt', 'expiresAt must be an ISO 8601 time');
  if (!type || !path || !capabilities || 'error' in conditions) return null;
  return { type, path, capabilities, expiresAt, conditions: conditions.conditions };
}

/** Roles as a config kind (ADR 0008 roles, ADR 0021 identity as code); built-in roles are system. */
export function roleConfigKind(deps: {
  credentials: CredentialFactory;
  onChange: () => void;
}): ConfigKind<RoleSpec> {
  const event = (type: string, role: Pick<Role, 'id' | 'name'>, data: Record<string, unknown> = {}) => ({
    type,
    outcome: 'success' as const,
    actor: {},
    resource: `/roles${namePath(role.name)}`,
    data: { roleId: role.id, roleName: role.name, via: 'config', ...data },
  });

  async function setContents(
    r: Repos,
    role: Role,
    d: RoleSpec,
    ctx: Parameters<ConfigKind['apply']>[2],
    now: number,
  ) {
    const rules = await r.roles.listRules([role.id]);
    const wanted = new Map(d.rules.map((x) => [ruleKey(x), x]));
    for (const rule of rules) {
      const w = wanted.get(ruleKey({ type: rule.ruleType, path: rule.path }));
      if (!w) await r.roles.deleteRule(rule.id);
    }
    for (const w of d.rules) {
      const current = rules.find((x) => ruleKey({ type: x.ruleType, path: x.path }) === ruleKey(w));
      const rule: RoleRule = {
        id: current?.id ?? deps.credentials.newId('rr-'),
        roleId: role.id,
        ruleType: w.type,
        path: w.path,
        capabilities: w.capabilities,
        expiresAtMs: w.expiresAt ? Date.parse(w.expiresAt) : null,
        conditions: w.conditions,
        createdAtMs: current?.createdAtMs ?? now,
        updatedAtMs: now,
      };
      await (current ? r.roles.updateRule(rule) : r.roles.insertRule(rule));
    }
    const edges = await r.roles.listIncludes([role.id]);
    const includedNow = new Map(
      (await r.roles.getRolesById(edges.map((e) => e.includedId))).map((x) => [x.name, x.id]),
    );
    for (const [name, id] of includedNow)
      if (!d.includes.includes(name)) await r.roles.deleteInclude(role.id, id);
    for (const name of d.includes) {
      if (includedNow.has(name)) continue;
      const included = await r.roles.getRole(name);
      if (included) await r.roles.insertInclude(role.id, included.id, now);
    }
    const associations = await r.roles.listAssociations({ roleId: role.id });
    const live = new Map(
      associations.map((a) => [assocKey({ authMethod: a.authMethodName, claims: a.claims }), a]),
    );
    const desired = new Set(d.associations.map(assocKey));
    for (const [key, a] of live) if (!desired.has(key)) await r.roles.deleteAssociation(a.id);
    for (const a of d.associations) {
      if (live.has(assocKey(a))) continue;
      const method = await r.authMethods.getByName(a.authMethod);
      if (!method) continue;
      await r.roles.insertAssociation({
        id: deps.credentials.newId('ra-'),
        roleId: role.id,
        roleName: role.name,
        authMethodId: method.id,
        authMethodName: method.name,
        claims: a.claims,
        createdAtMs: now,
      });
    }
    await r.roles.touchRole(role.id, now);
    await r.audit.append(
      event('role.configured', role, {
        rules: d.rules.length,
        includes: d.includes,
        associations: d.associations.length,
      }),
      ctx,
      now,
    );
  }

  return {
    key: 'roles',
    label: 'role',
    description: 'Roles: rules, included roles and associations with auth methods',
    resourceType: 'role',
    after: ['authMethods'],
    // Roles keep the description they were created with (the API has no way to change it either).
    immutable: ['description'],
    schema: RoleSpecSchema,
    normalise(spec) {
      const problems: ConfigProblem[] = [];
      if (!isValidRoleName(spec.name))
        problems.push({
          path: ['name'],
          message: 'a role name is letters, digits, ".", "_", "-" in "/"-separated segments',
        });
      const rules: RuleSpec[] = [];
      const seen = new Map<string, number>();
      (spec.rules ?? []).forEach((input, i) => {
        const rule = normaliseRule(input, i, problems);
        if (!rule) return;
        const prior = seen.get(ruleKey(rule));
        if (prior !== undefined)
          problems.push({
            path: ['rules', i],
            message: `duplicate rule for ${rule.type} ${rule.path} (also rules[${prior}])`,
          });
        seen.set(ruleKey(rule), i);
        rules.push(rule);
      });
      const associations: AssociationSpec[] = [];
      (spec.associations ?? []).forEach((a, i) => {
        const claims = normaliseClaimFilter(a.claims);
        if ('error' in claims) problems.push({ path: ['associations', i, 'claims'], message: claims.error });
        else associations.push({ authMethod: a.authMethod, claims: claims.filter });
      });
      if (problems.length > 0) return { problems };
      return {
        spec: {
          name: spec.name,
          description: spec.description ?? null,
          rules: rules.sort(byKey(ruleKey)),
          includes: [...new Set(spec.includes ?? [])].sort(),
          associations: [...new Map(associations.map((a) => [assocKey(a), a])).values()].sort(
            byKey(assocKey),
          ),
        },
      };
    },
    references: (spec) => [
      ...(spec.includes ?? []).map((name, i) => ({ kind: 'roles', name, path: ['includes', i] })),
      ...(spec.associations ?? []).map((a, i) => ({
        kind: 'authMethods',
        name: a.authMethod,
        path: ['associations', i, 'authMethod'],
      })),
    ],
    async live(r) {
      const roles: Role[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await r.roles.listRoles(1000, after);
        roles.push(...page);
        if (page.length < 1000) break;
        after = namePath(page[page.length - 1]!.name);
      }
      const ids = roles.map((x) => x.id);
      const [rules, edges, links] = await Promise.all([
        r.roles.listRules(ids),
        r.roles.listIncludes(ids),
        r.roles.listAssociationsOfRoles(ids),
      ]);
      const associationsOf = groupBy(links, (x) => x.roleId);
      const nameOf = new Map(roles.map((x) => [x.id, x.name]));
      const rulesOf = groupBy(rules, (x) => x.roleId);
      const edgesOf = groupBy(edges, (x) => x.roleId);
      const out = [];
      for (const role of roles) {
        const associations = associationsOf.get(role.id) ?? [];
        out.push({
          system: role.builtin,
          spec: {
            name: role.name,
            description: role.description,
            rules: (rulesOf.get(role.id) ?? [])
              .map((x) => ({
                type: x.ruleType,
                path: x.path,
                capabilities: [...x.capabilities],
                expiresAt: x.expiresAtMs ? new Date(x.expiresAtMs).toISOString() : null,
                conditions: x.conditions ?? null,
              }))
              .sort(byKey(ruleKey)),
            includes: (edgesOf.get(role.id) ?? [])
              .map((e) => nameOf.get(e.includedId) ?? e.includedId)
              .sort(),
            associations: associations
              .map((a) => ({ authMethod: a.authMethodName, claims: a.claims }))
              .sort(byKey(assocKey)),
          },
        });
      }
      return out;
    },
    async apply(r, change, ctx, now) {
      r.afterCommit(deps.onChange);
      await r.roles.announceChange();
      if (change.op === 'create') {
        const role: Role = {
          id: deps.credentials.newId('rl-'),
          name: change.name,
          description: change.desired!.description,
          builtin: false,
          createdAtMs: now,
          updatedAtMs: now,
        };
        await r.roles.insertRole(role);
        await r.audit.append(event('role.created', role), ctx, now);
        await setContents(r, role, change.desired!, ctx, now);
        return undefined;
      }
      const role = await r.roles.getRole(change.name);
      if (!role) return undefined;
      if (change.op === 'delete') {
        await r.roles.deleteRole(role.id);
        await r.audit.append(event('role.deleted', role), ctx, now);
        return undefined;
      }
      await setContents(r, role, change.desired!, ctx, now);
      return undefined;
    },
  };
}
