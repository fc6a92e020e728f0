import { Type } from '@sinclair/typebox';
import {
  type RoleAssociation,
  type RoleDetails,
  ruleTypeToAkeyless,
} from '../../../core/roles/roles.model.js';
import { RulePath } from '../../../core/roles/roles.schemas.js';
import type { RolesService } from '../../../core/roles/roles.service.js';
import { notFound, validationError } from '../../../core/shared/errors.js';
import { type CommandRegistrar, commandBody, Int, NonEmpty, Str } from './akeyless.api.js';
import { authMethod, bodyKey, role, roleNamed } from './akeyless.resources.js';
import { minutesToSeconds } from './akeyless.wire.js';

const CreateRole = commandBody({
  name: NonEmpty(200),
  description: Type.Optional(Str(1000)),
  comment: Type.Optional(Str(1000)),
});
const ByName = commandBody({ name: NonEmpty(200) });
// The rule path is checked by the native schema, before any access decision (issue 10).
const SetRule = commandBody({
  'role-name': NonEmpty(200),
  path: RulePath,
  capability: Type.Array(Type.String({ minLength: 1, maxLength: 20 }), { minItems: 1, maxItems: 10 }),
  'rule-type': Type.Optional(Str(40)),
  ttl: Type.Optional(Int(0, 600_000)),
});
const DeleteRule = commandBody({
  'role-name': NonEmpty(200),
  path: RulePath,
  'rule-type': Type.Optional(Str(40)),
});
const Assoc = commandBody({
  'role-name': NonEmpty(200),
  'am-name': NonEmpty(200),
  'sub-claims': Type.Optional(
    Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1000 }), { maxProperties: 20 }),
  ),
  'case-sensitive': Type.Optional(Str(10)),
});
const DeleteAssoc = commandBody({ 'assoc-id': NonEmpty(100) });

/** `RoleAuthMethodAssociation`: the claim filter as `auth_method_sub_claims` (key → values). */
export function associationToAkeyless(a: RoleAssociation) {
  return {
    assoc_id: a.id,
    role_name: a.roleName,
    auth_method_access_id: a.authMethodId,
    auth_method_name: a.authMethodName,
    auth_method_sub_claims: a.claims,
    sub_claims_case_sensitive: true,
  };
}

/** `AuthMethodRoleAssociation`: the same association seen from the auth method. */
export function methodAssociationToAkeyless(a: RoleAssociation) {
  return {
    assoc_id: a.id,
    role_name: a.roleName,
    auth_method_sub_claims: a.claims,
    is_sub_claims_case_sensitive: true,
  };
}

/** The SDK's `Role`: rules as `path_rules` (Akeyless rule-type spellings, `ttl` in minutes left). */
function roleToAkeyless(r: RoleDetails, nowMs: number) {
  return {
    role_name: r.name,
    comment: r.description ?? '',
    creation_date: new Date(r.createdAtMs).toISOString(),
    modification_date: new Date(r.updatedAtMs).toISOString(),
    rules: {
      admin: r.builtin,
      path_rules: r.rules.map((rule) => ({
        path: rule.path,
        capabilities: [...rule.capabilities],
        type: ruleTypeToAkeyless(rule.ruleType),
        ttl: rule.expiresAtMs ? Math.max(0, Math.ceil((rule.expiresAtMs - nowMs) / 60_000)) : 0,
        start_time: Math.floor(rule.createdAtMs / 1000),
      })),
    },
    role_auth_methods_assoc: r.associations.map(associationToAkeyless),
  };
}

/** Akeyless sub-claims: one string per key, several values separated by commas. */
function subClaims(map: Record<string, string> | undefined): Record<string, string[]> | null {
  if (!map || Object.keys(map).length === 0) return null;
  return Object.fromEntries(
    Object.entries(map).map(([k, v]) => [
      k,
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ]),
  );
}

/** Roles, rules and associations, over the same roles service as `/v1/roles`. */
export function registerAkeylessRoleCommands(
  c: CommandRegistrar,
  deps: { roles: RolesService; nowMs: () => number },
) {
  const { roles } = deps;

  c.command(
    'create-role',
    {
      summary: 'Create a role',
      access: { permission: { action: 'create', resource: roleNamed('name') } },
      body: CreateRole,
    },
    async (request) => {
      const description = request.body.description ?? request.body.comment;
      await roles.create({ name: request.body.name, ...(description ? { description } : {}) }, request.ctx);
      return {};
    },
  );

  c.command(
    'get-role',
    {
      summary: 'Get a role, its rules and associations',
      access: { permission: { action: 'read', resource: roleNamed('name') } },
      body: ByName,
    },
    async (request) => roleToAkeyless(await roles.get(request.body.name), deps.nowMs()),
  );

  c.command(
    'delete-role',
    {
      summary: 'Delete a role',
      access: { permission: { action: 'delete', resource: roleNamed('name') } },
      body: ByName,
    },
    async (request) => {
      await roles.delete(request.body.name, request.ctx);
      return {};
    },
  );

  c.command(
    'set-role-rule',
    {
      summary: 'Set the capabilities of a rule',
      access: { permission: { action: 'update', resource: roleNamed('role-name') } },
      body: SetRule,
    },
    async (request) => {
      const body = request.body;
      const ttlSeconds = minutesToSeconds(body.ttl, 'ttl');
      await roles.setRule(
        body['role-name'],
        {
          ruleType: body['rule-type'] ?? 'item-rule',
          path: body.path,
          capabilities: body.capability,
          ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        },
        request.ctx,
      );
      return {};
    },
  );

  c.command(
    'delete-role-rule',
    {
      summary: 'Delete a rule',
      access: { permission: { action: 'update', resource: roleNamed('role-name') } },
      body: DeleteRule,
    },
    async (request) => {
      const body = request.body;
      const deleted = await roles.deleteRule(
        body['role-name'],
        body['rule-type'] ?? 'item-rule',
        body.path,
        request.ctx,
      );
      return { deleted, result: deleted ? 'rule deleted' : 'no such rule' };
    },
  );

  c.command(
    'assoc-role-am',
    {
      summary: 'Associate a role with an auth method',
      access: {
        // Two-sided, as natively: rights on the role and on the method it is attached to.
        permission: {
          action: 'update',
          resource: roleNamed('role-name'),
          resources: (request) => [
            role(bodyKey(request, 'role-name')),
            authMethod(bodyKey(request, 'am-name')),
          ],
        },
      },
      body: Assoc,
    },
    async (request) => {
      const body = request.body;
      if (body['case-sensitive'] !== undefined && body['case-sensitive'] !== 'true') {
        throw validationError('Sub-claims are compared case-sensitively; case-sensitive must be "true".', {
          field: 'case-sensitive',
        });
      }
      const assoc = await roles.associate(
        body['role-name'],
        { name: body['am-name'] },
        subClaims(body['sub-claims']),
        request.ctx,
      );
      return { assoc_id: assoc.id };
    },
  );

  /** The association names its role and method only in the store. */
  const associationResources = async (request: Parameters<typeof bodyKey>[0]) => {
    const found = await roles.getAssociation(bodyKey(request, 'assoc-id'));
    return [role(found?.roleName ?? ''), authMethod(found?.authMethodName ?? '')];
  };

  c.command(
    'delete-assoc',
    {
      summary: 'Delete a role association',
      access: {
        permission: {
          action: 'update',
          resource: async (request) => (await associationResources(request))[0]!,
          resources: associationResources,
        },
      },
      body: DeleteAssoc,
    },
    async (request) => {
      const found = await roles.getAssociation(request.body['assoc-id']);
      if (!found) throw notFound('The association');
      await roles.deleteAssociation(found.id, request.ctx);
      return {};
    },
  );
}
