import { Type } from '@sinclair/typebox';
import { allOf, itemResource } from '../../core/access/access.resources.js';
import { IsoTime, Name, Nullable, StringEnum, toIso, toIsoOrNull } from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import { DECISIONS, type DiscoveryService } from './discovery.service.js';

const tags = ['governance'];
const SourceName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const SourceSchema = Type.Object({
  name: Type.String(),
  itemName: Type.String(),
  connector: Type.String(),
  prefix: Type.String(),
});
const DiscoveredSchema = Type.Object({
  id: Type.String(),
  source: Type.String(),
  account: Type.String(),
  identityId: Type.String(),
  state: Type.String(),
  firstSeenAt: IsoTime,
  lastSeenAt: IsoTime,
  decidedAt: Nullable(IsoTime),
  decision: Nullable(Type.String()),
  /** When the target says the password was last set (MariaDB/MySQL); null where it is not recorded. */
  passwordChangedAt: Nullable(IsoTime),
});
const PlanSchema = Type.Object({
  id: Type.String(),
  account: Type.String(),
  source: Type.String(),
  decision: Type.String(),
  target: Type.String(),
  effects: Type.Array(Type.String()),
  state: Type.Optional(Type.String()),
  rotatedSecret: Type.Optional(Nullable(Type.String())),
});

const changeAll = { permission: { action: 'update' as const, resource: () => allOf('identity') } };

/** Discovery sources, runs and decisions (issue 16). */
export function registerDiscoveryRoutes(app: TypedApp, deps: { discovery: DiscoveryService }) {
  const svc = deps.discovery;
  app.post(
    '/v1/discovery/sources',
    {
      config: {
        access: {
          permission: {
            action: 'update',
            resource: (r) => itemResource((r.body as { itemName: string }).itemName),
          },
        },
      },
      schema: {
        tags,
        summary: 'Add a discovery source: a dynamic secret’s target and a name scope',
        body: Type.Object(
          { name: SourceName, itemName: Name, prefix: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 201: SourceSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      reply.status(201);
      return svc.addSource(request.body, request.ctx);
    },
  );

  app.get(
    '/v1/discovery/sources',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('identity') } } },
      schema: {
        tags,
        summary: 'Discovery sources',
        response: { 200: Type.Object({ items: Type.Array(SourceSchema) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({ items: await svc.listSources() }),
  );

  app.post(
    '/v1/discovery/sources/:name/run',
    {
      config: { access: changeAll },
      schema: {
        tags,
        summary: 'List the target’s accounts and reconcile them with the inventory',
        params: Type.Object({ name: SourceName }),
        response: {
          200: Type.Object({
            source: Type.String(),
            accounts: Type.Integer(),
            unknown: Type.Integer(),
            discovered: Type.Integer(),
          }),
          ...errorResponses(401, 403, 404, 422, 503),
        },
      },
    },
    async (request) => svc.run(request.params.name, request.ctx),
  );

  app.get(
    '/v1/discovery/accounts',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('identity') } } },
      schema: {
        tags,
        summary: 'Discovered accounts and their decisions',
        querystring: Type.Object({ source: Type.Optional(SourceName) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ items: Type.Array(DiscoveredSchema) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => ({
      items: (await svc.list(request.query.source ?? null)).map((d) => ({
        ...d,
        firstSeenAt: toIso(d.firstSeenAtMs),
        lastSeenAt: toIso(d.lastSeenAtMs),
        decidedAt: toIsoOrNull(d.decidedAtMs),
        passwordChangedAt: toIsoOrNull(d.passwordChangedAtMs),
      })),
    }),
  );

  app.post(
    '/v1/discovery/accounts/:id/decide',
    {
      config: { access: changeAll },
      schema: {
        tags,
        summary: 'Adopt, replace or delete a discovered account (or preview the decision)',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: Type.Object(
          {
            decision: StringEnum(DECISIONS),
            owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            preview: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: PlanSchema, ...errorResponses(400, 401, 403, 404, 409, 422, 503) },
      },
    },
    async (request) => {
      const { decision, owner, preview } = request.body;
      return preview
        ? svc.preview(request.params.id, decision)
        : svc.decide(request.params.id, decision, owner ?? null, request.ctx);
    },
  );
}
