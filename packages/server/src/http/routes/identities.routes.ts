import type { FastifyRequest } from 'fastify';
import { allOf, identityResource } from '../../core/access/access.resources.js';
import {
  CreateIdentityBody,
  IdentityIdParams,
  IdentityPage,
  identityToWire,
  ListIdentitiesQuery,
  UpdateIdentityBody,
} from '../../core/identities/identities.schemas.js';
import type { IdentitiesService } from '../../core/identities/identities.service.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['identities'];

/** The identity inventory. */
export function registerIdentityRoutes(app: TypedApp, deps: { identities: IdentitiesService }) {
  const svc = deps.identities;
  /** Routes by id: the policy path is the identity's name (ADR 0008), looked up. */
  const theIdentity = async (request: FastifyRequest) => {
    const id = (request.params as { id: string }).id;
    return identityResource((await svc.get(id).catch(() => null))?.name ?? id);
  };

  app.post(
    '/v1/identities',
    {
      config: {
        access: {
          permission: {
            action: 'create',
            resource: (r) => identityResource((r.body as { name: string }).name),
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
      config: { access: { permission: { action: 'list', resource: () => allOf('identity') } } },
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
      config: { access: { permission: { action: 'read', resource: theIdentity } } },
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
      config: { access: { permission: { action: 'update', resource: theIdentity } } },
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
      config: { access: { permission: { action: 'delete', resource: theIdentity } } },
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
