import type { FastifyRequest } from 'fastify';
import type { Resource } from '../../core/access/access.policy.js';
import { itemResource } from '../../core/access/access.resources.js';
import {
  CreateRotatedSecretBody,
  RotatedSecretNameBody,
  RotatedSecretNameQuery,
  RotatedSecretSchema,
  RotatedSecretValueResponse,
  rotatedSecretToWire,
  rotatedValueToWire,
} from '../../core/rotation/rotation.schemas.js';
import type { RotationService } from '../../core/rotation/rotation.service.js';
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
        response: { 201: { $ref: 'RotatedSecret' }, ...errorResponses(400, 401, 403, 409, 503) },
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
