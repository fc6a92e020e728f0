import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Resource } from '../../core/access/access.policy.js';
import { allOf, itemResource } from '../../core/access/access.resources.js';
import {
  CreateDynamicSecretBody,
  CredentialsBody,
  CredentialWire,
  DeleteQuery,
  DynamicSecretWire,
  dynamicSecretToWire,
  LeasesQuery,
  LeaseWire,
  ListQuery,
  leaseToWire,
  NameQuery,
  RenewBody,
  RevokeBody,
  RevokeManyBody,
  SweepBody,
} from '../../core/dynamic/dynamic.schemas.js';
import type { DynamicSecretsService } from '../../core/dynamic/dynamic.service.js';
import type { LeasesService } from '../../core/leases/leases.service.js';
import { normaliseSecretName } from '../../core/secrets/secrets.names.js';
import { forbidden, validationError } from '../../core/shared/errors.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['dynamic-secrets'];
const item = (name: string): Resource => itemResource(normaliseSecretName(name));
const nameIn = (part: 'body' | 'query') => (request: FastifyRequest) =>
  item((request[part] as { name: string }).name);

/**
 * Dynamic secrets and leases (issue 6, ADR 0010). A dynamic secret is an item: `read` on
 * `item:/<name>` lets an identity take credentials and renew or revoke its own leases; acting on
 * another identity's lease needs `delete` on the item.
 */
export function registerDynamicSecretRoutes(
  app: TypedApp,
  deps: { items: DynamicSecretsService; leases: LeasesService },
) {
  const { items, leases } = deps;
  /** The lease's item, for the route's `read` check (404 for an unknown lease). */
  const leaseItem = async (request: FastifyRequest) =>
    item((await leases.getLease((request.body as { leaseId: string }).leaseId)).itemName);
  /** Someone else's lease: `delete` on its item as well. */
  async function assertMayActOn(request: FastifyRequest, leaseId: string) {
    const lease = await leases.getLease(leaseId);
    if (
      lease.identityId !== request.principal?.identityId &&
      !(await request.permits('delete', item(lease.itemName)))
    )
      throw forbidden('another identity’s lease needs delete on the item');
  }

  app.post(
    '/v1/dynamic-secrets',
    {
      config: { access: { permission: { action: 'create', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Create a dynamic secret (a producer)',
        description: 'The admin credential is sealed like a secret value and never returned.',
        body: CreateDynamicSecretBody,
        response: { 201: DynamicSecretWire, ...errorResponses(400, 401, 403, 409, 422, 502) },
      },
    },
    async (request, reply) => {
      const { settings, ...rest } = request.body;
      reply.status(201);
      return dynamicSecretToWire(
        await items.create({ ...rest, settings: settings as Record<string, unknown> }, request.ctx),
      );
    },
  );

  app.get(
    '/v1/dynamic-secrets',
    {
      config: { access: { filter: { action: 'list', type: 'item' } } },
      schema: {
        tags,
        summary: 'List dynamic secrets (paged)',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(DynamicSecretWire),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const page = await items.list(
        request.query.prefix,
        request.query.cursor ?? null,
        request.query.limit ?? 50,
      );
      const shown = [];
      for (const d of page.items)
        if (await request.permits('list', item(d.name))) shown.push(dynamicSecretToWire(d));
      return { items: shown, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/dynamic-secrets/describe',
    {
      config: { access: { permission: { action: 'read', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Describe a dynamic secret (settings without the password)',
        querystring: NameQuery,
        response: { 200: DynamicSecretWire, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => dynamicSecretToWire(await items.get(request.query.name)),
  );

  app.delete(
    '/v1/dynamic-secrets',
    {
      config: { access: { permission: { action: 'delete', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Delete a dynamic secret',
        description:
          'Refused (409) while it has live leases, unless `revokeLeases=true`: they are revoked first, and the deletion still fails if one could not be.',
        querystring: DeleteQuery,
        response: { 200: DynamicSecretWire, ...errorResponses(400, 401, 403, 404, 409, 502) },
      },
    },
    async (request) =>
      dynamicSecretToWire(
        await items.delete(
          request.query.name,
          request.ctx,
          request.query.revokeLeases ? (d) => leases.revokeAllOf(d) : null,
        ),
      ),
  );

  app.post(
    '/v1/dynamic-secrets/credentials',
    {
      config: { access: { permission: { action: 'read', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Get credentials: creates an account and a lease; the password is shown once',
        body: CredentialsBody,
        response: { 201: CredentialWire, ...errorResponses(400, 401, 403, 404, 429, 502) },
      },
    },
    async (request, reply) => {
      // The lease records the credential it was obtained through: revoking it revokes the lease.
      const { lease, password } = await leases.issue(
        request.body.name,
        request.principal!,
        request.body.ttlSeconds,
        request.ctx,
      );
      reply.status(201);
      return {
        leaseId: lease.id,
        name: lease.itemName,
        username: lease.username,
        password,
        ttlSeconds: Math.round((lease.expiresAtMs - lease.createdAtMs) / 1000),
        expiresAt: new Date(lease.expiresAtMs).toISOString(),
        maxExpiresAt: new Date(lease.maxExpiresAtMs).toISOString(),
      };
    },
  );

  app.post(
    '/v1/dynamic-secrets/sweep',
    {
      config: { access: { permission: { action: 'delete', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Find (and optionally drop) accounts matching the prefix that have no live lease',
        body: SweepBody,
        response: {
          200: Type.Object({
            orphans: Type.Array(Type.String()),
            dropped: Type.Array(Type.String()),
            failed: Type.Array(Type.String()),
          }),
          ...errorResponses(400, 401, 403, 404, 502),
        },
      },
    },
    async (request) => items.sweep(request.body.name, request.body.drop, request.ctx),
  );

  app.post(
    '/v1/leases/renew',
    {
      config: { access: { permission: { action: 'read', resource: leaseItem } } },
      schema: {
        tags,
        summary: 'Renew a lease (bounded by its maximum)',
        body: RenewBody,
        response: { 200: LeaseWire, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await assertMayActOn(request, request.body.leaseId);
      return leaseToWire(
        await leases.renew(request.body.leaseId, request.body.incrementSeconds, request.ctx),
      );
    },
  );

  app.post(
    '/v1/leases/revoke',
    {
      config: { access: { permission: { action: 'read', resource: leaseItem } } },
      schema: {
        tags,
        summary: 'Revoke a lease now: drops the account and terminates its sessions',
        body: RevokeBody,
        response: {
          200: Type.Object({ lease: LeaseWire, sessionsTerminated: Type.Integer() }),
          ...errorResponses(400, 401, 403, 404, 502),
        },
      },
    },
    async (request) => {
      await assertMayActOn(request, request.body.leaseId);
      const { lease, sessionsTerminated } = await leases.revoke(request.body.leaseId, request.ctx);
      return { lease: leaseToWire(lease), sessionsTerminated };
    },
  );

  app.post(
    '/v1/leases/revoke-prefix',
    {
      config: { access: { permission: { action: 'delete', resource: () => allOf('item') } } },
      schema: {
        tags,
        summary: 'Revoke every live lease of the items under a name prefix, or of an identity',
        description:
          'Needs `delete` on all items. The leases are made due now and the reaper revokes them at once (202).',
        body: RevokeManyBody,
        response: { 202: Type.Object({ marked: Type.Integer() }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { prefix, identityId } = request.body;
      if (!prefix && !identityId) throw validationError('Give a prefix, an identityId, or both.');
      const marked = await leases.revokeMany({
        ...(prefix ? { itemPrefix: normaliseSecretName(prefix) } : {}),
        ...(identityId ? { identityId } : {}),
      });
      void leases.reap().catch((error) => request.log.error({ err: error }, 'lease reaping failed'));
      reply.status(202);
      return { marked };
    },
  );

  app.get(
    '/v1/leases',
    {
      config: { access: { filter: { action: 'list', type: 'item' } } },
      schema: {
        tags,
        summary: 'List leases (paged): by item, identity, state (e.g. `revoke_failed`)',
        description: 'Shows the leases of items the caller may list, and its own leases.',
        querystring: LeasesQuery,
        response: {
          200: Type.Object({
            items: Type.Array(LeaseWire),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await leases.list(
        {
          ...(q.name ? { itemName: normaliseSecretName(q.name) } : {}),
          ...(q.identityId ? { identityId: q.identityId } : {}),
          ...(q.state ? { state: q.state } : {}),
          afterId: q.cursor ?? null,
        },
        q.limit ?? 100,
      );
      const allowed = new Map<string, boolean>();
      const shown = [];
      for (const l of page.items) {
        if (!allowed.has(l.itemName))
          allowed.set(l.itemName, await request.permits('list', item(l.itemName)));
        if (allowed.get(l.itemName) || l.identityId === request.principal?.identityId)
          shown.push(leaseToWire(l));
      }
      return { items: shown, nextCursor: page.nextCursor };
    },
  );
}
