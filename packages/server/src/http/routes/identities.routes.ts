import type { Resource } from '../../core/access/access.policy.js';
import {
  CreateIdentityBody,
  IdentityIdParams,
  IdentityPage,
  identityToWire,
  ListIdentitiesQuery,
  UpdateIdentityBody,
} from '../../core/identities/identities.schemas.js';
import type { IdentitiesService } from '../../core/identities/identities.service.js';
import { errorResponses } from '../../core/shared/schemas.js';
import type { TypedApp } from '../app.js';

const identities = (path = '/identities/*'): Resource => ({ type: 'identity', path });
const tags = ['identities'];

/** The identity inventory. */
export function registerIdentityRoutes(app: TypedApp, deps: { identities: IdentitiesService }) {
  const svc = deps.identities;

  app.post(
    '/v1/identities',
    {
      config: {
        access: {
          permission: {
            action: 'create',
            resource: (r) => identities(`/identities/${(r.body as { name: string }).name}`),
          },
        },
      },
      schema: {
        tags,
        summary: 'Create an identity',
        body: CreateIdentityBody,
        response: { 201: { $ref: 'Identity' }, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      reply.status(201);
      return identityToWire(await svc.create(request.body, request.ctx));
    },
  );

  app.get(
    '/v1/identities',
    {
      config: { access: { permission: { action: 'list', resource: () => identities() } } },
      schema: {
        tags,
        summary: 'List identities (paged, filtered)',
        querystring: ListIdentitiesQuery,
        response: { 200: IdentityPage, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, ...filter } = request.query;
      const page = await svc.list(filter, limit, cursor ?? null);
      return { items: page.items.map(identityToWire), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/identities/:id',
    {
      config: { access: { permission: { action: 'read', resource: () => identities() } } },
      schema: {
        tags,
        summary: 'Get an identity',
        params: IdentityIdParams,
        response: { 200: { $ref: 'Identity' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => identityToWire(await svc.get(request.params.id)),
  );

  app.patch(
    '/v1/identities/:id',
    {
      config: { access: { permission: { action: 'update', resource: () => identities() } } },
      schema: {
        tags,
        summary: 'Update an identity',
        params: IdentityIdParams,
        body: UpdateIdentityBody,
        response: { 200: { $ref: 'Identity' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => identityToWire(await svc.update(request.params.id, request.body, request.ctx)),
  );

  app.post(
    '/v1/identities/:id/retire',
    {
      config: { access: { permission: { action: 'delete', resource: () => identities() } } },
      schema: {
        tags,
        summary: 'Retire an identity (terminal; its tokens stop working)',
        params: IdentityIdParams,
        response: { 200: { $ref: 'Identity' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => identityToWire(await svc.retire(request.params.id, request.ctx)),
  );
}
