import { Type } from '@sinclair/typebox';
import { allOf } from '../../core/access/access.resources.js';
import { unauthenticated } from '../../core/sessions/sessions.errors.js';
import { IsoTime, Nullable, toIso, toIsoOrNull } from '../../core/shared/schemas.js';
import type { RouteAccess } from '../../http/access.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { Activation, Eligibility } from './jit.repo.js';
import type { JitService } from './jit.service.js';

const tags = ['jit'];
const RoleName = Type.String({ minLength: 1, maxLength: 200 });
/** The owner (default), or `required` distinct members of an IdP group (N of M). */
const JitApproversSchema = Type.Union([
  Type.Object({ kind: Type.Literal('owner') }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('group'),
      group: Type.String({ minLength: 1, maxLength: 200 }),
      required: Type.Integer({ minimum: 1, maximum: 10 }),
    },
    { additionalProperties: false },
  ),
]);
const EligibilitySchema = Type.Object(
  {
    id: Type.String(),
    identityId: Type.String(),
    roleName: Type.String(),
    maxDurationSec: Type.Integer(),
    breakGlass: Type.Boolean(),
    approvers: JitApproversSchema,
    createdAt: IsoTime,
  },
  { $id: 'JitEligibility' },
);
const ActivationSchema = Type.Object(
  {
    id: Type.String(),
    identityId: Type.String(),
    roleName: Type.String(),
    grantRole: Type.String(),
    approvalId: Nullable(Type.String()),
    breakGlass: Type.Boolean(),
    createdAt: IsoTime,
    expiresAt: IsoTime,
    endedAt: Nullable(IsoTime),
  },
  { $id: 'JitActivation' },
);
const eWire = (e: Eligibility) => ({
  id: e.id,
  identityId: e.identityId,
  roleName: e.roleName,
  maxDurationSec: e.maxDurationSec,
  breakGlass: e.breakGlass,
  approvers: e.approvers,
  createdAt: toIso(e.createdAtMs),
});
const aWire = (a: Activation) => ({
  id: a.id,
  identityId: a.identityId,
  roleName: a.roleName,
  grantRole: a.grantRole,
  approvalId: a.approvalId,
  breakGlass: a.breakGlass,
  createdAt: toIso(a.createdAtMs),
  expiresAt: toIso(a.expiresAtMs),
  endedAt: toIsoOrNull(a.endedAtMs),
});
/** Managing eligibility is managing roles. */
const manageRoles: RouteAccess = { permission: { action: 'update', resource: () => allOf('role') } };
const anySession: RouteAccess = { filter: { action: 'read', type: 'identity' } };

export function registerJitRoutes(app: TypedApp, deps: { jit: JitService }) {
  const { jit } = deps;
  app.addSchema(EligibilitySchema);
  app.addSchema(ActivationSchema);

  app.post(
    '/v1/jit/eligibilities',
    {
      config: { access: manageRoles },
      schema: {
        tags,
        summary: 'Make a role eligible for an identity (activated on approval, never standing)',
        body: Type.Object(
          {
            identityId: Type.String({ minLength: 1, maxLength: 64 }),
            roleName: RoleName,
            maxDurationSec: Type.Integer({ minimum: 60, maximum: 86_400 }),
            breakGlass: Type.Optional(Type.Boolean()),
            approvers: Type.Optional(JitApproversSchema),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('JitEligibility'), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const e = await jit.addEligibility(
        { ...b, breakGlass: b.breakGlass ?? false, approvers: b.approvers ?? { kind: 'owner' } },
        request.ctx,
      );
      reply.status(201);
      return eWire(e);
    },
  );

  app.get(
    '/v1/jit/eligibilities',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('role') } } },
      schema: {
        tags,
        summary: 'List eligible roles',
        querystring: Type.Object(
          { identityId: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('JitEligibility')) }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => ({
      items: (await jit.listEligibilities(request.query.identityId ?? null)).map(eWire),
    }),
  );

  app.delete(
    '/v1/jit/eligibilities/:id',
    {
      config: { access: manageRoles },
      schema: {
        tags,
        summary: 'Remove an eligibility (activations running end at their time)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await jit.removeEligibility(request.params.id, request.ctx);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/jit/requests',
    {
      config: { access: anySession },
      schema: {
        tags,
        summary: 'Ask for the activation of an eligible role (the calling identity is the requester)',
        description:
          'Creates a `jit.elevate` approval request decided by the approvers the eligibility names (the owner, or N distinct members of a group); the requester cannot choose them. Then `POST /v1/jit/activate` with its id once approved.',
        body: Type.Object(
          {
            roleName: RoleName,
            durationSec: Type.Integer({ minimum: 60, maximum: 86_400 }),
            justification: Type.String({ minLength: 1, maxLength: 1000 }),
            ttlSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86_400 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Approval'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      if (!request.principal) throw unauthenticated();
      const a = await jit.request(request.principal, request.body, request.ctx);
      reply.status(201);
      return a;
    },
  );

  app.post(
    '/v1/jit/activate',
    {
      config: { access: anySession },
      schema: {
        tags,
        summary: 'Activate an approved jit.elevate request for the calling identity',
        description:
          'Consumes the approval (single use) and grants the eligible role to this identity on the calling auth method until `expiresAt`; then it lapses on every server.',
        body: Type.Object(
          { approvalId: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('JitActivation'), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      if (!request.principal) throw unauthenticated();
      const a = await jit.activate(request.principal, request.body.approvalId, request.ctx);
      reply.status(201);
      return aWire(a);
    },
  );

  app.post(
    '/v1/jit/break-glass',
    {
      config: { access: anySession },
      schema: {
        tags,
        summary: 'Emergency activation without approval (justified, short, alerted at once)',
        body: Type.Object(
          {
            roleName: RoleName,
            durationSec: Type.Integer({ minimum: 60, maximum: 86_400 }),
            justification: Type.String({
              minLength: 1,
              maxLength: 1000,
              description: 'at least 10 characters',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('JitActivation'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!request.principal) throw unauthenticated();
      const a = await jit.breakGlass(request.principal, request.body, request.ctx);
      reply.status(201);
      return aWire(a);
    },
  );

  app.get(
    '/v1/jit/activations',
    {
      config: { access: anySession },
      schema: {
        tags,
        summary: 'The calling identity’s activations',
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('JitActivation')) }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      if (!request.principal) throw unauthenticated();
      return { items: (await jit.listActivations(request.principal.identityId, 100)).map(aWire) };
    },
  );
}
