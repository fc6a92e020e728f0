import type { FastifyRequest } from 'fastify';
import type { Resource } from '../../core/access/access.policy.js';
import { itemResource } from '../../core/access/access.resources.js';
import type { SecretKeysService } from '../../core/secrets/secrets.keys.js';
import { normaliseSecretName } from '../../core/secrets/secrets.names.js';
import {
  CreateSecretBody,
  DeleteSecretQuery,
  GetSecretValueQuery,
  GetSecretValuesBody,
  KekRotationSchema,
  KekStatusSchema,
  kekRotationToWire,
  kekStatusToWire,
  ListSecretsQuery,
  SECRET_BODY_LIMIT,
  SecretDeletionSchema,
  SecretDescriptionSchema,
  SecretItemSchema,
  SecretNameBody,
  SecretNameQuery,
  SecretPage,
  SecretValueResponse,
  SecretValuesResponse,
  SetSecretApprovalBody,
  secretDeletionToWire,
  secretDescriptionToWire,
  secretToWire,
  secretValueToWire,
  UpdateSecretBody,
} from '../../core/secrets/secrets.schemas.js';
import type { SecretsService } from '../../core/secrets/secrets.service.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['secrets'];

/** Who reads, for the approval gate of approval-required items (issue 14). */
const readerOf = (request: FastifyRequest) =>
  request.principal ? { principal: request.principal } : undefined;

/** The policy resource of an item: its canonical name (400 for a name that is not one). */
const item = (name: string): Resource => itemResource(normaliseSecretName(name));
const nameIn = (part: 'body' | 'query') => (request: FastifyRequest) =>
  item((request[part] as { name: string }).name);
/**
 * The key-encryption keys are not an item: rotating them is an operation on the deployment, granted
 * like the other operator surfaces (audit ledger, metrics) on the `audit` rule type.
 */
export const SECRET_KEYS_RESOURCE: Resource = { type: 'audit', path: '/secret-keys' };
const keys = SECRET_KEYS_RESOURCE;

/** Static secrets (`/v1/secrets…`) and the rotation of their key-encryption key (`/v1/sys/kek…`). */
export function registerSecretRoutes(
  app: TypedApp,
  deps: { secrets: SecretsService; secretKeys: SecretKeysService; onKekRotated?: () => void },
) {
  const svc = deps.secrets;
  app.addSchema(SecretItemSchema);
  app.addSchema(SecretDescriptionSchema);

  app.post(
    '/v1/secrets',
    {
      bodyLimit: SECRET_BODY_LIMIT,
      config: { access: { permission: { action: 'create', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Create a static secret (its first version)',
        description:
          'Names are paths; a leading `/` is added when missing. 409 when the name is taken, also by a deleted item that can still be restored.',
        body: CreateSecretBody,
        'x-body-limit': SECRET_BODY_LIMIT,
        response: { 201: { $ref: 'SecretItem' }, ...errorResponses(400, 401, 403, 409, 413) },
      },
    },
    async (request, reply) => {
      reply.status(201);
      return secretToWire(await svc.create(request.body, request.ctx));
    },
  );

  app.get(
    '/v1/secrets',
    {
      config: {
        access: {
          filter: {
            action: 'list',
            type: 'item',
            scope: (r) => itemResource((r.query as { prefix?: string }).prefix ?? '*').path,
          },
        },
      },
      schema: {
        tags,
        summary: 'List the items in a folder (paged)',
        description:
          'Only the items (and sub-folders) the caller may list are shown. A page can be short and still have a `nextCursor` when many rows were hidden.',
        querystring: ListSecretsQuery,
        response: { 200: SecretPage, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const { limit = 50, prefix, recursive, includeDeleted, cursor } = request.query;
      const page = await svc.list(
        {
          limit,
          ...(prefix !== undefined ? { prefix } : {}),
          ...(recursive !== undefined ? { recursive } : {}),
          ...(includeDeleted !== undefined ? { includeDeleted } : {}),
          cursor: cursor ?? null,
        },
        (path, kind) =>
          request.permits('list', { type: 'item', path: kind === 'folder' ? `${path}/` : path }),
      );
      return { items: page.items.map(secretToWire), folders: page.folders, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/secrets/value',
    {
      config: { access: { permission: { action: 'read', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Read a secret value (the latest version, or `version`)',
        description:
          'Every read is audited (`secret.read`: name and version, never the value). An approval-required item answers 403 `TESSERA_APPROVAL_REQUIRED` (`details.action`: what to request with `POST /v1/approvals`) unless the caller holds an approved grant for exactly this item and version, which the read consumes.',
        querystring: GetSecretValueQuery,
        response: { 200: SecretValueResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      secretValueToWire(
        await svc.getValue(request.query.name, request.query.version ?? null, request.ctx, readerOf(request)),
      ),
  );

  app.post(
    '/v1/secrets/values',
    {
      config: {
        access: {
          permission: {
            action: 'read',
            resource: (r) => item((r.body as { names: string[] }).names[0]!),
            resources: (r) => (r.body as { names: string[] }).names.map(item),
          },
        },
      },
      schema: {
        tags,
        summary: 'Read the latest values of several secrets at once',
        description:
          'All or nothing: every name must be readable by the caller (403) and exist (404 naming the first missing one). Answers in the order asked, each name once.',
        body: GetSecretValuesBody,
        response: { 200: SecretValuesResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      items: (await svc.getValues(request.body.names, request.ctx, readerOf(request))).map(secretValueToWire),
    }),
  );

  app.put(
    '/v1/secrets/approval',
    {
      config: { access: { permission: { action: 'update', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Mark a secret approval-required, or clear the mark',
        description:
          '`approval: {group?, required?}`: every read then needs an approved `secret.read` grant for exactly that item, version and reader (the group’s `required` distinct members decide; without a group, the reading identity’s owner). `approval: null` clears it. Audited (`secret.approval_set`).',
        body: SetSecretApprovalBody,
        response: { 200: { $ref: 'SecretItem' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      secretToWire(await svc.setApproval(request.body.name, request.body.approval ?? null, request.ctx)),
  );

  app.post(
    '/v1/secrets/versions',
    {
      bodyLimit: SECRET_BODY_LIMIT,
      config: { access: { permission: { action: 'update', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Write a new version of a secret',
        description:
          'The new version becomes the latest; versions beyond the item’s `maxVersions` are destroyed. With `expectedVersion`, 409 unless it is still the latest.',
        body: UpdateSecretBody,
        'x-body-limit': SECRET_BODY_LIMIT,
        response: { 200: { $ref: 'SecretItem' }, ...errorResponses(400, 401, 403, 404, 409, 413) },
      },
    },
    async (request) =>
      secretToWire(
        await svc.update(
          request.body.name,
          request.body.value,
          request.body.expectedVersion !== undefined ? { expectedVersion: request.body.expectedVersion } : {},
          request.ctx,
        ),
      ),
  );

  app.get(
    '/v1/secrets/describe',
    {
      config: { access: { permission: { action: 'list', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Describe a secret: metadata and versions, never the value',
        description:
          'Deleted items that can still be restored are described too (`deletedAt`, `purgeAfter`).',
        querystring: SecretNameQuery,
        response: { 200: { $ref: 'SecretDescription' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => secretDescriptionToWire(await svc.describe(request.query.name)),
  );

  app.delete(
    '/v1/secrets',
    {
      config: { access: { permission: { action: 'delete', resource: nameIn('query') } } },
      schema: {
        tags,
        summary: 'Delete a secret (restorable for a recovery window, or immediately)',
        description:
          'Default: restorable for 7 days (`recoveryDays`), then destroyed with every version. `immediately=true` destroys it now (also an item already deleted).',
        querystring: DeleteSecretQuery,
        response: { 200: SecretDeletionSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { name, immediately, recoveryDays } = request.query;
      return secretDeletionToWire(
        await svc.delete(
          name,
          {
            ...(immediately !== undefined ? { immediately } : {}),
            ...(recoveryDays !== undefined ? { recoveryDays } : {}),
          },
          request.ctx,
        ),
      );
    },
  );

  app.post(
    '/v1/secrets/restore',
    {
      config: { access: { permission: { action: 'delete', resource: nameIn('body') } } },
      schema: {
        tags,
        summary: 'Restore a deleted secret within its recovery window',
        body: SecretNameBody,
        response: { 200: { $ref: 'SecretItem' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => secretToWire(await svc.restore(request.body.name, request.ctx)),
  );

  app.post(
    '/v1/sys/kek/rotate',
    {
      config: { access: { permission: { action: 'update', resource: () => keys } } },
      schema: {
        tags,
        summary: 'Rotate the key-encryption key of secrets (no downtime)',
        description:
          'New data keys are wrapped by the new KEK at once; a background job re-wraps the existing ones in batches while reads go on, then destroys the KEK versions no item uses. Permission: `update` on `audit` `/secret-keys`.',
        response: { 200: KekRotationSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const rotation = await deps.secretKeys.rotate(request.ctx);
      deps.onKekRotated?.();
      return kekRotationToWire(rotation);
    },
  );

  app.get(
    '/v1/sys/kek',
    {
      config: { access: { permission: { action: 'read', resource: () => keys } } },
      schema: {
        tags,
        summary: 'The key-encryption keys: the active version, and how many items each version wraps',
        response: { 200: KekStatusSchema, ...errorResponses(401, 403) },
      },
    },
    async () => kekStatusToWire(await deps.secretKeys.status()),
  );
}
