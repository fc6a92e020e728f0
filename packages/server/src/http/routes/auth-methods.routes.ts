import { allOf, authMethodResource } from '../../core/access/access.resources.js';
import {
  AuthMethodIdParams,
  AuthMethodPage,
  authMethodToWire,
  ByNameQuery,
  CreateAuthMethodBody,
  CreatedAuthMethod,
  ListAuthMethodsQuery,
  splitSettings,
  UpdateAuthMethodBody,
} from '../../core/auth-methods/auth-methods.schemas.js';
import type { AuthMethodsService } from '../../core/auth-methods/auth-methods.service.js';
import { authMethodById } from '../access.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['auth-methods'];

/** Auth methods: how identities prove who they are. */
export function registerAuthMethodRoutes(app: TypedApp, deps: { authMethods: AuthMethodsService }) {
  const svc = deps.authMethods;
  const theMethod = authMethodById((id) => svc.get(id));

  app.post(
    '/v1/auth-methods',
    {
      config: {
        access: {
          permission: {
            action: 'create',
            resource: (r) => authMethodResource((r.body as { name: string }).name),
          },
        },
      },
      schema: {
        tags,
        summary: 'Create an auth method',
        body: CreateAuthMethodBody,
        response: { 201: CreatedAuthMethod, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const common = splitSettings(body as unknown as Record<string, unknown>);
      const { method, accessKey } = await svc.create(
        {
          type: body.type,
          name: body.name,
          ...(body.identityId ? { identityId: body.identityId } : {}),
          ...(body.owner ? { owner: body.owner } : {}),
          ...(common.boundCidrs ? { boundCidrs: common.boundCidrs } : {}),
          ...(common.expiresAtMs !== undefined ? { expiresAtMs: common.expiresAtMs } : {}),
          settings: common.settings,
        },
        request.ctx,
      );
      reply.status(201);
      return { authMethod: authMethodToWire(method), ...(accessKey ? { accessKey } : {}) };
    },
  );

  app.get(
    '/v1/auth-methods',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('auth-method') } } },
      schema: {
        tags,
        summary: 'List auth methods',
        querystring: ListAuthMethodsQuery,
        response: { 200: AuthMethodPage, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await svc.list(
        request.query.type ?? null,
        request.query.limit ?? 50,
        request.query.cursor ?? null,
      );
      return { items: page.items.map(authMethodToWire), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/auth-methods/by-name',
    {
      config: {
        access: {
          permission: {
            action: 'read',
            resource: (r) => authMethodResource((r.query as { name: string }).name),
          },
        },
      },
      schema: {
        tags,
        summary: 'Get an auth method by name',
        querystring: ByNameQuery,
        response: { 200: { $ref: 'AuthMethod' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => authMethodToWire(await svc.getByName(request.query.name)),
  );

  app.get(
    '/v1/auth-methods/:id',
    {
      config: { access: { permission: { action: 'read', resource: theMethod } } },
      schema: {
        tags,
        summary: 'Get an auth method by access id',
        params: AuthMethodIdParams,
        response: { 200: { $ref: 'AuthMethod' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => authMethodToWire(await svc.get(request.params.id)),
  );

  app.patch(
    '/v1/auth-methods/:id',
    {
      config: { access: { permission: { action: 'update', resource: theMethod } } },
      schema: {
        tags,
        summary: 'Update an auth method',
        params: AuthMethodIdParams,
        body: UpdateAuthMethodBody,
        response: { 200: { $ref: 'AuthMethod' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const common = splitSettings(request.body as Record<string, unknown>);
      const method = await svc.update(
        request.params.id,
        {
          ...(common.boundCidrs ? { boundCidrs: common.boundCidrs } : {}),
          ...(common.expiresAtMs !== undefined ? { expiresAtMs: common.expiresAtMs } : {}),
          settings: common.settings,
        },
        request.ctx,
      );
      return authMethodToWire(method);
    },
  );

  app.delete(
    '/v1/auth-methods/:id',
    {
      config: { access: { permission: { action: 'delete', resource: theMethod } } },
      schema: {
        tags,
        summary: 'Delete an auth method and revoke every token it issued',
        params: AuthMethodIdParams,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await svc.delete(request.params.id, request.ctx);
      return reply.status(204).send();
    },
  );
}
