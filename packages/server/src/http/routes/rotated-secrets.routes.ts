import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Resource } from '../../core/access/access.policy.js';
import { itemResource } from '../../core/access/access.resources.js';
import {
  CreateRotatedSecretBody,
  ListRotatedSecretsQuery,
  RotatedSecretNameBody,
  RotatedSecretNameQuery,
  RotatedSecretSchema,
  RotatedSecretValueResponse,
  rotatedSecretToWire,
  rotatedValueToWire,
  UpdateRotatedSecretBody,
} from '../../core/rotated-secrets/rotated-secrets.schemas.js';
import type { RotationService } from '../../core/rotated-secrets/rotated-secrets.service.js';
import { normaliseSecretName } from '../../core/secrets/secrets.names.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['rotated-secrets'];

/** Rotated secrets are items: the policy resource is `item:<name>`. */
const item = (name: string): Resource => itemResource(normaliseSecretName(name));
const nameIn = (part: 'body' | 'query') => (request: FastifyRequest) =>
  item((request[part] as { name: string }).name);

/** Rotated secrets (`/v1/rotated-secrets…`, issue 6, ADR 0011). */
export function registerRotatedSecretRoutes(app: TypedApp, deps: { rotation: RotationService }) {
  const svc = deps.rotation;
  app.addSchema(RotatedSecretSchema);

  app.post(
    '/v1/rotated-secrets',
    {
      config: { access: { permission: { action: 'create', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Create a rotated secret: Tessera takes over the accounts and rotates their credential',
        description:
          'The target is checked and the accounts get passwords only Tessera knows (created with `creationStatements` when missing). The admin credential is sealed and never returned.',
        body: CreateRotatedSecretBody,
        response: { 201: { $ref: 'RotatedSecret' }, ...errorResponses(400, 401, 403, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const record = await svc.create(
        {
          name: b.name,
          producerType: b.type,
          settings: {
            host: b.host,
            port: b.port,
            database: b.database ?? null,
            adminUsername: b.adminUsername,
            adminPassword: b.adminPassword,
            tls: b.tls ?? false,
            creationStatements: b.creationStatements ?? [],
            // No usernamePrefix: the producer's default (PostgreSQL refuses an empty one).
          },
          ...(b.strategy !== undefined ? { strategy: b.strategy } : {}),
          usernames: b.usernames,
          ...(b.intervalSeconds !== undefined ? { intervalSeconds: b.intervalSeconds } : {}),
          ...(b.graceSeconds !== undefined ? { graceSeconds: b.graceSeconds } : {}),
        },
        request.ctx,
      );
      reply.status(201);
      return rotatedSecretToWire(record);
    },
  );

  app.get(
    '/v1/rotated-secrets/value',
    {
      config: { access: { permission: { action: 'read', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Read the current credential of a rotated secret',
        description:
          'Two-account: the credential stays valid for at least the grace period after the next rotation. Every read is audited (`rotated_secret.read`: name and version, never the password).',
        querystring: RotatedSecretNameQuery,
        response: { 200: RotatedSecretValueResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => rotatedValueToWire(await svc.getValue(request.query.name, request.ctx)),
  );

  app.post(
    '/v1/rotated-secrets/rotate',
    {
      config: { access: { permission: { action: 'update', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Rotate a rotated secret now',
        description:
          '409 while a rotation is under way or the previous rotation’s grace period runs (`details.retryAfterSeconds`); 503 when the target fails (the last good credential is kept, the rotation is retried with backoff).',
        body: RotatedSecretNameBody,
        response: { 200: { $ref: 'RotatedSecret' }, ...errorResponses(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => rotatedSecretToWire(await svc.rotate(request.body.name, request.ctx)),
  );

  app.get(
    '/v1/rotated-secrets',
    {
      config: { access: { filter: { action: 'list', type: 'item' } } },
      schema: {
        tags,
        summary: 'List rotated secrets (paged); only those the caller may list',
        querystring: ListRotatedSecretsQuery,
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('RotatedSecret')),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await svc.list(q.prefix, q.cursor ?? null, q.limit ?? 50);
      const shown = [];
      for (const r of page.items)
        if (await request.permits('list', item(r.name))) shown.push(rotatedSecretToWire(r));
      return { items: shown, nextCursor: page.nextCursor };
    },
  );

  app.patch(
    '/v1/rotated-secrets',
    {
      config: { access: { permission: { action: 'update', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Update a rotated secret: schedule, grace period, administrator credential',
        description:
          'A new administrator credential is checked against the target first (422 `TESSERA_TARGET_REJECTED` with `details.reason` when refused). `intervalSeconds: null` stops scheduled rotations (on demand only). 409 while a rotation holds the secret. Audited as `rotated_secret.updated`, never with a credential.',
        body: UpdateRotatedSecretBody,
        response: { 200: { $ref: 'RotatedSecret' }, ...errorResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const { name, ...patch } = request.body;
      return rotatedSecretToWire(await svc.update(name, patch, request.ctx));
    },
  );

  app.delete(
    '/v1/rotated-secrets',
    {
      config: { access: { permission: { action: 'delete', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Delete a rotated secret: its rotation stops; the accounts stay on the target as they are',
        description:
          'No rotation or retirement runs again. The accounts are not dropped or changed: the current one keeps the password Tessera last set (read it first if it is still needed), and during a grace period the previous one keeps its own. 409 while a rotation holds the secret. Audited as `rotated_secret.deleted`.',
        querystring: RotatedSecretNameQuery,
        response: { 200: { $ref: 'RotatedSecret' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => rotatedSecretToWire(await svc.delete(request.query.name, request.ctx)),
  );

  app.get(
    '/v1/rotated-secrets/describe',
    {
      config: { access: { permission: { action: 'list', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Describe a rotated secret: accounts, schedule, failures; never a credential',
        querystring: RotatedSecretNameQuery,
        response: { 200: { $ref: 'RotatedSecret' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => rotatedSecretToWire(await svc.describe(request.query.name)),
  );
}
