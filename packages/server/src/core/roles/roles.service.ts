import { type ClaimFilter, isEmptyFilter, normaliseClaimFilter } from '../access/access.claims.js';
import { normaliseConditions } from '../access/access.conditions.js';
import type { AuditEvent } from '../audit/audit.model.js';
import type { Page, RequestContext } from '../shared/context.js';
import { notFound, validationError } from '../shared/errors.js';
import type { Clock, CredentialFactory } from '../shared/platform.port.js';
import { toIsoOrNull } from '../shared/schemas.js';
import type { ReadRepos, Repos, UnitOfWork } from '../shared/unit-of-work.js';
import {
  associationExists,
  associationNotFound,
  builtinRole,
  lastAdmin,
  roleCycle,
  roleExists,
  roleIncluded,
  roleNotFound,
} from './roles.errors.js';
import {
  ADMIN_ROLE_ID,
  isValidRoleName,
  namePath,
  normaliseCapabilities,
  normaliseRulePath,
  type Role,
  type RoleAssociation,
  type RoleDetails,
  type RoleRule,
  type RoleSummary,
  ruleTypeFromWire,
} from './roles.model.js';

/** A claim map as callers give it: one value, or a list of values, per key. */
export type ClaimsInput = Readonly<Record<string, string | readonly string[]>>;

/** Rule conditions as callers give them (checked by the service). */
export interface ConditionsInput {
  claims?: ClaimsInput | null;
  cidrs?: readonly string[] | null;
  timeWindow?: { days?: readonly string[] | null; fromHour: number; toHour: number } | null;
  target?: { owner?: string | null; tags?: readonly string[] | null } | null;
}

/** What `setRule` takes: Akeyless `set-role-rule` plus conditions. */
export interface SetRuleInput {
  /** `item`, `auth-method`, `role`, `identity`, `audit` or `*`; Akeyless spellings (`item-rule`) too. */
  ruleType: string;
  /** `*`, or a path pattern (`/prod/*`, `/+/config`); a missing leading slash is added. */
  path: string;
  capabilities: readonly string[];
  /** The rule stops applying this long after it is set (Akeyless `ttl` is minutes: × 60). */
  ttlSeconds?: number | null;
  /** Or at this instant. */
  expiresAtMs?: number | null;
  conditions?: ConditionsInput | null;
}

/** An auth method named by access id or by name. */
export interface AuthMethodRef {
  id?: string | undefined;
  name?: string | undefined;
}

export interface RolesServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  /** Called after each committed change (the access service forgets its compiled policies). */
  onChange: () => void;
}

const MAX_TTL_SECONDS = 10 * 365 * 86_400;

/**
 * Refuses when `methodId` holds the last association granting the administrator role (an
 * un-narrowed association of the built-in role): without it nobody could administer the server.
 */
export async function assertNotLastAdmin(r: Repos, methodId: string, associationId?: string): Promise<void> {
  const admin = (await r.roles.listAssociations({ roleId: ADMIN_ROLE_ID })).filter((a) =>
    isEmptyFilter(a.claims),
  );
  const removed = admin.filter((a) => (associationId ? a.id === associationId : a.authMethodId === methodId));
  if (removed.length > 0 && removed.length === admin.length) throw lastAdmin();
}

/**
 * Roles, their rules, inclusions and associations with auth methods (ADR 0008). Name-based: the
 * Akeyless layer calls these directly for `create-role`, `get-role`, `delete-role`, `set-role-rule`,
 * `delete-role-rule`, `assoc-role-am` and `delete-assoc`. Every change is audited in its unit of work.
 */
export function createRolesService({ uow, clock, credentials, onChange }: RolesServiceDeps) {
  const event = (
    type: string,
    role: Pick<Role, 'id' | 'name'>,
    data: Record<string, unknown>,
  ): AuditEvent => ({
    type,
    outcome: 'success',
    actor: {},
    resource: `/roles${namePath(role.name)}`,
    data: { roleId: role.id, roleName: role.name, ...data },
  });

  /** Runs a change: the role must exist (and be editable unless `builtinOk`); caches drop after commit. */
  function change<T>(
    roleName: string,
    opts: { builtinOk?: boolean },
    work: (r: Repos, role: Role, now: number) => Promise<T>,
  ): Promise<T> {
    const now = clock.nowMs();
    return uow.write(async (r) => {
      const role = await r.roles.getRole(roleName);
      if (!role) throw roleNotFound();
      if (role.builtin && !opts.builtinOk) throw builtinRole();
      const result = await work(r, role, now);
      await r.roles.announceChange();
      r.afterCommit(onChange);
      return result;
    });
  }

  async function resolveMethod(r: Repos, ref: AuthMethodRef) {
    if (!ref.id && !ref.name) throw validationError('Give the auth method by name or access id.');
    const method = ref.id ? await r.authMethods.get(ref.id) : await r.authMethods.getByName(ref.name!);
    if (!method) throw notFound('The auth method');
    return method;
  }

  async function details(r: ReadRepos, role: Role): Promise<RoleDetails> {
    const [rules, edges, associations] = await Promise.all([
      r.roles.listRules([role.id]),
      r.roles.listIncludes([role.id]),
      r.roles.listAssociations({ roleId: role.id }),
    ]);
    const included = await r.roles.getRolesById(edges.map((e) => e.includedId));
    return { ...role, rules, includes: included.map((x) => x.name).sort(), associations };
  }

  return {
    /** Creates a role with no rules. 409 when the name (with or without its leading slash) is taken. */
    async create(input: { name: string; description?: string | null }, ctx: RequestContext): Promise<Role> {
      if (!isValidRoleName(input.name))
        throw validationError(
          'A role name is 1-200 letters, digits, ".", "_", "-", in "/"-separated segments.',
        );
      if ((input.description ?? '').length > 1000) throw validationError('The description is too long.');
      const now = clock.nowMs();
      const role: Role = {
        id: credentials.newId('rl-'),
        name: input.name,
        description: input.description ?? null,
        builtin: false,
        createdAtMs: now,
        updatedAtMs: now,
      };
      return uow.write(async (r) => {
        if (await r.roles.getRole(role.name)) throw roleExists();
        await r.roles.insertRole(role);
        await r.audit.append(event('role.created', role, {}), ctx, now);
        return role;
      });
    },

    /** A role with its rules, included roles and associations. */
    async get(name: string): Promise<RoleDetails> {
      return uow.read(async (r) => {
        const role = await r.roles.getRole(name);
        if (!role) throw roleNotFound();
        return details(r, role);
      });
    },

    /** Roles by name, with how many rules and associations each has. */
    async list(limit: number, cursor: string | null): Promise<Page<RoleSummary>> {
      const items = await uow.read((r) => r.roles.listRoles(limit + 1, cursor));
      const page = items.slice(0, limit);
      return { items: page, nextCursor: items.length > limit ? namePath(page[page.length - 1]!.name) : null };
    },

    /** Deletes a role with its rules and associations. 409 if built in or included by another role. */
    async delete(name: string, ctx: RequestContext): Promise<void> {
      await change(name, {}, async (r, role, now) => {
        const by = await r.roles.listIncludedBy(role.id);
        if (by.length > 0) throw roleIncluded((await r.roles.getRolesById(by)).map((x) => x.name));
        const associations = await r.roles.listAssociations({ roleId: role.id });
        await r.roles.deleteRole(role.id);
        await r.audit.append(event('role.deleted', role, { associations: associations.length }), ctx, now);
      });
    },

    /**
     * Sets the rule for (role, rule type, path): a new rule, or the existing one's capabilities,
     * expiry and conditions replaced (Akeyless `set-role-rule`).
     */
    async setRule(roleName: string, input: SetRuleInput, ctx: RequestContext): Promise<RoleRule> {
      const ruleType = ruleTypeFromWire(input.ruleType);
      if (!ruleType)
        throw validationError(`Unknown or unsupported rule type "${input.ruleType.slice(0, 40)}".`);
      const path = normaliseRulePath(input.path);
      if (!path) throw validationError('The rule path is not a valid path pattern.');
      const capabilities = normaliseCapabilities(input.capabilities);
      if (!capabilities)
        throw validationError('Capabilities must be read, list, create, update, delete or deny.');
      const conditions = normaliseConditions(input.conditions);
      if ('error' in conditions) throw validationError(conditions.error);
      const ttl = input.ttlSeconds ?? null;
      if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS))
        throw validationError('The rule TTL must be a positive whole number of seconds, at most ten years.');
      return change(roleName, {}, async (r, role, now) => {
        const expiresAtMs = ttl !== null ? now + ttl * 1000 : (input.expiresAtMs ?? null);
        if (expiresAtMs !== null && expiresAtMs <= now)
          throw validationError('The rule expiry must be in the future.');
        const current = await r.roles.getRule(role.id, ruleType, path);
        const rule: RoleRule = {
          id: current?.id ?? credentials.newId('rr-'),
          roleId: role.id,
          ruleType,
          path,
          capabilities,
          expiresAtMs,
          conditions: conditions.conditions,
          createdAtMs: current?.createdAtMs ?? now,
          updatedAtMs: now,
        };
        await (current ? r.roles.updateRule(rule) : r.roles.insertRule(rule));
        await r.roles.touchRole(role.id, now);
        await r.audit.append(
          event('role.rule_set', role, {
            ruleId: rule.id,
            ruleType,
            path,
            capabilities,
            expiresAt: toIsoOrNull(expiresAtMs),
            conditions: conditions.conditions,
            replaced: current !== null,
          }),
          ctx,
          now,
        );
        return rule;
      });
    },

    /** Deletes the rule for (role, rule type, path); false when there was none. */
    async deleteRule(
      roleName: string,
      ruleTypeInput: string,
      pathInput: string,
      ctx: RequestContext,
    ): Promise<boolean> {
      const ruleType = ruleTypeFromWire(ruleTypeInput);
      const path = normaliseRulePath(pathInput);
      return change(roleName, {}, async (r, role, now) => {
        const rule = ruleType && path ? await r.roles.getRule(role.id, ruleType, path) : null;
        if (!rule) return false;
        await r.roles.deleteRule(rule.id);
        await r.roles.touchRole(role.id, now);
        await r.audit.append(event('role.rule_deleted', role, { ruleId: rule.id, ruleType, path }), ctx, now);
        return true;
      });
    },

    /** Makes `roleName` include `includedName` (its rules apply too). 409 on a cycle. */
    async include(roleName: string, includedName: string, ctx: RequestContext): Promise<void> {
      await change(roleName, {}, async (r, role, now) => {
        const included = await r.roles.getRole(includedName);
        if (!included) throw roleNotFound();
        // A cycle: the role is reachable from the one it would include (or is that role).
        const seen = new Set<string>([included.id]);
        for (let frontier = [included.id]; frontier.length > 0; ) {
          if (seen.has(role.id)) break;
          const next = (await r.roles.listIncludes(frontier))
            .map((e) => e.includedId)
            .filter((id) => !seen.has(id));
          for (const id of next) seen.add(id);
          frontier = next;
        }
        if (seen.has(role.id)) throw roleCycle(role.name, included.name);
        const existing = await r.roles.listIncludes([role.id]);
        if (existing.some((e) => e.includedId === included.id)) return;
        await r.roles.insertInclude(role.id, included.id, now);
        await r.roles.touchRole(role.id, now);
        await r.audit.append(event('role.included', role, { included: included.name }), ctx, now);
      });
    },

    /** Stops `roleName` including `includedName`; false when it did not. */
    async exclude(roleName: string, includedName: string, ctx: RequestContext): Promise<boolean> {
      return change(roleName, {}, async (r, role, now) => {
        const included = await r.roles.getRole(includedName);
        if (!included) throw roleNotFound();
        if (!(await r.roles.deleteInclude(role.id, included.id))) return false;
        await r.roles.touchRole(role.id, now);
        await r.audit.append(event('role.excluded', role, { included: included.name }), ctx, now);
        return true;
      });
    },

    /**
     * Associates a role with an auth method (Akeyless `assoc-role-am`), for the principals whose
     * claims match `claims` (every key; any value per key; see `access.claims.ts`). Returns `ra-…`.
     */
    async associate(
      roleName: string,
      authMethod: AuthMethodRef,
      claims: ClaimsInput | null,
      ctx: RequestContext,
    ): Promise<RoleAssociation> {
      const filter = normaliseClaimFilter(claims);
      if ('error' in filter) throw validationError(filter.error);
      return change(roleName, { builtinOk: true }, (r, role, now) =>
        insertAssociation(r, role, authMethod, filter.filter, ctx, now),
      );
    },

    /** Deletes an association (Akeyless `delete-assoc`). 409 for the last one granting admin. */
    async deleteAssociation(id: string, ctx: RequestContext): Promise<void> {
      const now = clock.nowMs();
      await uow.write(async (r) => {
        const association = await r.roles.getAssociation(id);
        if (!association) throw associationNotFound();
        await assertNotLastAdmin(r, association.authMethodId, association.id);
        await r.roles.deleteAssociation(id);
        await r.roles.announceChange();
        await r.audit.append(
          event(
            'role.association_deleted',
            { id: association.roleId, name: association.roleName },
            { associationId: id, authMethodId: association.authMethodId },
          ),
          ctx,
          now,
        );
        r.afterCommit(onChange);
      });
    },

    /** The roles associated with an auth method (what `get-auth-method` shows). */
    async associationsOfMethod(authMethodId: string): Promise<RoleAssociation[]> {
      return uow.read((r) => r.roles.listAssociations({ authMethodId }));
    },

    /** One association (for resolving what a request on it touches). */
    async getAssociation(id: string): Promise<RoleAssociation | null> {
      return uow.read((r) => r.roles.getAssociation(id));
    },

    /**
     * Bootstrap: associates the built-in administrator role with `authMethodId` unless an
     * un-narrowed association exists. Idempotent.
     */
    async ensureAdminAssociation(authMethodId: string, ctx: RequestContext): Promise<void> {
      const now = clock.nowMs();
      await uow.write(async (r) => {
        const existing = await r.roles.listAssociations({ authMethodId });
        if (existing.some((a) => a.roleId === ADMIN_ROLE_ID && isEmptyFilter(a.claims))) return;
        const [role] = await r.roles.getRolesById([ADMIN_ROLE_ID]);
        if (!role) throw new Error('the built-in administrator role is missing (migration 0004)');
        await insertAssociation(r, role, { id: authMethodId }, {}, ctx, now);
        await r.roles.announceChange();
        r.afterCommit(onChange);
      });
    },
  };

  async function insertAssociation(
    r: Repos,
    role: Role,
    ref: AuthMethodRef,
    claims: ClaimFilter,
    ctx: RequestContext,
    now: number,
  ): Promise<RoleAssociation> {
    const method = await resolveMethod(r, ref);
    const same = JSON.stringify(claims);
    const existing = await r.roles.listAssociations({ roleId: role.id });
    if (existing.some((a) => a.authMethodId === method.id && JSON.stringify(a.claims) === same))
      throw associationExists();
    const association: RoleAssociation = {
      id: credentials.newId('ra-'),
      roleId: role.id,
      roleName: role.name,
      authMethodId: method.id,
      authMethodName: method.name,
      claims,
      createdAtMs: now,
    };
    await r.roles.insertAssociation(association);
    await r.audit.append(
      event('role.associated', role, { associationId: association.id, authMethodId: method.id, claims }),
      ctx,
      now,
    );
    return association;
  }
}

export type RolesService = ReturnType<typeof createRolesService>;
