import type { FastifyRequest } from 'fastify';
import { allOf, authMethodResource, roleResource } from '../../core/access/access.resources.js';
import type { AuthMethodsService } from '../../core/auth-methods/auth-methods.service.js';
import { inclusionNotFound, ruleNotFound } from '../../core/roles/roles.errors.js';
import {
  AssociateBody,
  AssociationIdParams,
  associationToWire,
  CreateRoleBody,
  DeleteRuleQuery,
  IncludeBody,
  IncludeParams,
  ListRolesQuery,
  RoleAssociationSchema,
  RoleNameParams,
  RolePage,
  RoleSchema,
  RuleSchema,
  roleSummaryToWire,
  roleToWire,
  ruleToWire,
  SetRuleBody,
} from '../../core/roles/roles.schemas.js';
import type { RolesService } from '../../core/roles/roles.service.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['roles'];
const params = (r: FastifyRequest) => r.params as { name: string; included?: string };

/**
 * Roles, rules, inclusion and associations (ADR 0008). Every route needs a right on the role
 * (`role:/<name>`); changing who a role applies to (associations) needs `update` on the auth method
 * too, and including a role needs `update` on the included role too (no granting what one cannot
 * manage).
 */
export function registerRoleRoutes(
  app: TypedApp,
  deps: { roles: RolesService; authMethods: AuthMethodsService },
) {
  const { roles, authMethods } = deps;
  app.addSchema(RoleAssociationSchema);
  app.addSchema(RoleSchema);

  /** The auth method of an association request, by name (or access id, looked up). */
  const methodOf = async (request: FastifyRequest) => {
    const body = request.body as { authMethodName?: string; authMethodId?: string };
    const byId = body.authMethodId ? await authMethods.get(body.authMethodId).catch(() => null) : null;
    return authMethodResource(body.authMethodName ?? byId?.name ?? body.authMethodId);
  };
  /** An association by id: its role and its auth method, by name. */
  const associationResources = async (request: FastifyRequest) => {
    const a = await roles.getAssociation((request.params as { id: string }).id);
    return [roleResource(a?.roleName ?? '*'), authMethodResource(a?.authMethodName ?? '*')];
  };

  app.post(
    '/v1/roles',
    {
      config: {
        access: {
          permission: { action: 'create', resource: (r) => roleResource((r.body as { name: string }).name) },
        },
      },
      schema: {
        tags,
        summary: 'Create a role (no rules yet)',
        body: CreateRoleBody,
        response: { 201: { $ref: 'Role' }, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const role = await roles.create(request.body, request.ctx);
      reply.status(201);
      return roleToWire({ ...role, rules: [], includes: [], associations: [] });
    },
  );

  app.get(
    '/v1/roles',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('role') } } },
      schema: {
        tags,
        summary: 'List roles',
        querystring: ListRolesQuery,
        response: { 200: RolePage, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await roles.list(request.query.limit ?? 50, request.query.cursor ?? null);
      return { items: page.items.map(roleSummaryToWire), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/roles/:name',
    {
      config: { access: { permission: { action: 'read', resource: (r) => roleResource(params(r).name) } } },
      schema: {
        tags,
        summary: 'Get a role: its rules, included roles and associations',
        params: RoleNameParams,
        response: { 200: { $ref: 'Role' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => roleToWire(await roles.get(request.params.name)),
  );

  app.delete(
    '/v1/roles/:name',
    {
      config: { access: { permission: { action: 'delete', resource: (r) => roleResource(params(r).name) } } },
      schema: {
        tags,
        summary: 'Delete a role with its rules and associations',
        params: RoleNameParams,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await roles.delete(request.params.name, request.ctx);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/roles/:name/rules',
    {
      config: { access: { permission: { action: 'update', resource: (r) => roleResource(params(r).name) } } },
      schema: {
        tags,
        summary:
          'Set the rule for (role, rule type, path): its capabilities, expiry and conditions are replaced',
        params: RoleNameParams,
        body: SetRuleBody,
        response: { 200: RuleSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { expiresAt, ...rule } = request.body;
      return ruleToWire(
        await roles.setRule(
          request.params.name,
          { ...rule, ...(expiresAt ? { expiresAtMs: Date.parse(expiresAt) } : {}) },
          request.ctx,
        ),
      );
    },
  );

  app.delete(
    '/v1/roles/:name/rules',
    {
      config: { access: { permission: { action: 'update', resource: (r) => roleResource(params(r).name) } } },
      schema: {
        tags,
        summary: 'Delete the rule for (role, rule type, path)',
        params: RoleNameParams,
        querystring: DeleteRuleQuery,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { ruleType, path } = request.query;
      if (!(await roles.deleteRule(request.params.name, ruleType, path, request.ctx))) throw ruleNotFound();
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/roles/:name/includes',
    {
      config: {
        access: {
          permission: {
            action: 'update',
            resource: (r) => roleResource(params(r).name),
            resources: (r) => [roleResource(params(r).name), roleResource((r.body as { role: string }).role)],
          },
        },
      },
      schema: {
        tags,
        summary: 'Include another role: its rules apply wherever this role does (no cycles)',
        params: RoleNameParams,
        body: IncludeBody,
        response: { 200: { $ref: 'Role' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      await roles.include(request.params.name, request.body.role, request.ctx);
      return roleToWire(await roles.get(request.params.name));
    },
  );

  app.delete(
    '/v1/roles/:name/includes/:included',
    {
      config: { access: { permission: { action: 'update', resource: (r) => roleResource(params(r).name) } } },
      schema: {
        tags,
        summary: 'Stop including a role',
        params: IncludeParams,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      if (!(await roles.exclude(request.params.name, request.params.included, request.ctx)))
        throw inclusionNotFound();
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/roles/:name/associations',
    {
      config: {
        access: {
          permission: {
            action: 'update',
            resource: (r) => roleResource(params(r).name),
            resources: async (r) => [roleResource(params(r).name), await methodOf(r)],
          },
        },
      },
      schema: {
        tags,
        summary: 'Associate the role with an auth method, optionally only for principals with given claims',
        description:
          'Claims (all keys must match; any value per key): identity-id, identity-name, kind, environment, tag, uid-subtree (a UID node id: that node and every node below it).',
        params: RoleNameParams,
        body: AssociateBody,
        response: { 201: { $ref: 'RoleAssociation' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { authMethodId, authMethodName, claims } = request.body;
      const association = await roles.associate(
        request.params.name,
        { id: authMethodId, name: authMethodName },
        (claims ?? null) as Record<string, string[]> | null,
        request.ctx,
      );
      reply.status(201);
      return associationToWire(association);
    },
  );

  app.delete(
    '/v1/role-associations/:id',
    {
      config: {
        access: {
          permission: {
            action: 'update',
            resource: async (r) => (await associationResources(r))[0]!,
            resources: associationResources,
          },
        },
      },
      schema: {
        tags,
        summary: 'Delete a role association (not the last one granting the administrator role)',
        params: AssociationIdParams,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await roles.deleteAssociation(request.params.id, request.ctx);
      return reply.status(204).send();
    },
  );
}
