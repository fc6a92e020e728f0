import { Type } from '@sinclair/typebox';
import { allOf, named } from '../../core/access/access.resources.js';
import { IsoTime, Nullable, toIso } from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { ResourceServer, ResourceServersService } from './oauth-resource-servers.js';

const tags = ['oauth'];
export const ResourceServerName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9][a-z0-9._-]*$',
  description: 'Lower-case letters, digits, ".", "_" and "-".',
});
export const ResourceServerFields = {
  owner: Type.String({ minLength: 1, maxLength: 200, description: 'The accountable human (an email).' }),
  description: Type.String({ maxLength: 500 }),
  scopes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
    maxItems: 100,
    description: 'The scopes a token for this resource server may carry.',
  }),
  accessTokenTtlSeconds: Nullable(
    Type.Integer({
      minimum: 30,
      maximum: 86_400,
      description: 'The longest access token issued for it (a shorter client setting wins); null: no cap.',
    }),
  ),
  senderConstrained: Type.Boolean({
    description: 'Tokens for it must be DPoP- or certificate-bound (RFC 9449, RFC 8705).',
  }),
};
export const ResourceServerIdentifier = Type.String({
  minLength: 1,
  maxLength: 512,
  description: 'The absolute URI clients send as `resource` (RFC 8707) and tokens carry as `aud`.',
});

/** What `POST /v1/oauth/resource-servers` takes, and what a `resourceServers` file entry is. */
export const ResourceServerBody = Type.Object(
  {
    name: ResourceServerName,
    identifier: ResourceServerIdentifier,
    owner: ResourceServerFields.owner,
    description: Type.Optional(ResourceServerFields.description),
    scopes: Type.Optional(ResourceServerFields.scopes),
    accessTokenTtlSeconds: Type.Optional(ResourceServerFields.accessTokenTtlSeconds),
    senderConstrained: Type.Optional(ResourceServerFields.senderConstrained),
  },
  { additionalProperties: false },
);

const ResourceServerSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    identifier: Type.String(),
    ...ResourceServerFields,
    createdAt: IsoTime,
    updatedAt: IsoTime,
  },
  { $id: 'ResourceServer' },
);

const toWire = (rs: ResourceServer) => ({
  id: rs.id,
  name: rs.name,
  identifier: rs.identifier,
  owner: rs.owner,
  description: rs.description,
  scopes: rs.scopes,
  accessTokenTtlSeconds: rs.accessTokenTtlSeconds,
  senderConstrained: rs.senderConstrained,
  createdAt: toIso(rs.createdAtMs),
  updatedAt: toIso(rs.updatedAtMs),
});

const Params = Type.Object({ name: ResourceServerName }, { additionalProperties: false });
const byName = (r: { params: unknown }) => named('resource-server', (r.params as { name: string }).name);

/** `/v1/oauth/resource-servers`: the resource server registry (ADR 0038), `resource-server:/<name>`. */
export function registerResourceServerRoutes(
  app: TypedApp,
  deps: { resourceServers: ResourceServersService },
) {
  const svc = deps.resourceServers;
  app.addSchema(ResourceServerSchema);

  app.post(
    '/v1/oauth/resource-servers',
    {
      config: {
        access: {
          permission: {
            action: 'create',
            resource: (r) => named('resource-server', (r.body as { name: string }).name),
          },
        },
      },
      schema: {
        tags,
        summary: 'Register an OAuth resource server',
        body: ResourceServerBody,
        response: { 201: Type.Ref('ResourceServer'), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const rs = await svc.create(request.body, request.ctx);
      reply.status(201);
      return toWire(rs);
    },
  );

  app.get(
    '/v1/oauth/resource-servers',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('resource-server') } } },
      schema: {
        tags,
        summary: 'List OAuth resource servers',
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('ResourceServer')) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async () => ({ items: (await svc.list()).map(toWire) }),
  );

  app.get(
    '/v1/oauth/resource-servers/:name',
    {
      config: { access: { permission: { action: 'read', resource: byName } } },
      schema: {
        tags,
        summary: 'Get an OAuth resource server',
        params: Params,
        response: { 200: Type.Ref('ResourceServer'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toWire(await svc.get(request.params.name)),
  );

  app.patch(
    '/v1/oauth/resource-servers/:name',
    {
      config: { access: { permission: { action: 'update', resource: byName } } },
      schema: {
        tags,
        summary: 'Update an OAuth resource server (its identifier cannot change)',
        params: Params,
        body: Type.Partial(Type.Object(ResourceServerFields), { additionalProperties: false }),
        response: { 200: Type.Ref('ResourceServer'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toWire(await svc.update(request.params.name, request.body, request.ctx)),
  );

  app.delete(
    '/v1/oauth/resource-servers/:name',
    {
      config: { access: { permission: { action: 'delete', resource: byName } } },
      schema: {
        tags,
        summary:
          'Delete an OAuth resource server (tokens already issued for it stay valid until they expire)',
        params: Params,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await svc.delete(request.params.name, request.ctx);
      return reply.status(204).send();
    },
  );
}
