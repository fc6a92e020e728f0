import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { notFound, validationError } from '../../core/shared/errors.js';
import { IsoTime, Limit, Nullable, StringEnum } from '../../core/shared/schemas.js';
import type { RouteAccess } from '../../http/access.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { ApprovalCaller } from './approvals.caller.js';
import type { ApprovalStatus, Approvers } from './approvals.model.js';
import type { ApprovalsAdmin } from './approvals.service.js';

const tags = ['approvals'];
const Id = Type.String({ minLength: 3, maxLength: 64 });
const Short = Type.String({ minLength: 1, maxLength: 200 });
const STATUSES = ['pending', 'approved', 'denied', 'expired', 'used'] as const;

export const ApprovalActionSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('jit.elevate'),
      identityId: Id,
      roleName: Short,
      durationSec: Type.Integer({ minimum: 1, maximum: 86_400 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('mcp.tool_call'),
      server: Short,
      tool: Short,
      argumentsHash: Type.String({ minLength: 1, maxLength: 100 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('ciba.token'),
      clientId: Id,
      scope: Type.String({ maxLength: 1000 }),
      bindingMessage: Type.Optional(Type.String({ maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('secret.read'),
      path: Type.String({ minLength: 1, maxLength: 1024 }),
      version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    },
    { additionalProperties: false },
  ),
]);
export const ApproversSchema = Type.Union([
  Type.Object({ kind: Type.Literal('owner'), ownerOf: Id }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('group'),
      group: Short,
      required: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('person'),
      person: Type.String({ minLength: 8, maxLength: 200, pattern: '^person:' }),
    },
    { additionalProperties: false },
  ),
]);
const ApprovalSchema = Type.Object(
  {
    id: Type.String(),
    requester: Type.Object({
      kind: StringEnum(['identity', 'person'] as const),
      id: Type.String(),
      name: Type.String(),
    }),
    action: ApprovalActionSchema,
    justification: Type.String(),
    approvers: ApproversSchema,
    status: StringEnum(STATUSES),
    createdAt: IsoTime,
    expiresAt: IsoTime,
    decisions: Type.Array(
      Type.Object({
        by: Type.String(),
        decision: StringEnum(['approve', 'deny'] as const),
        at: IsoTime,
        comment: Type.Optional(Type.String()),
      }),
    ),
    grantExpiresAt: Nullable(IsoTime),
    usedAt: Nullable(IsoTime),
    breakGlass: Type.Boolean(),
  },
  { $id: 'Approval' },
);
const Params = Type.Object({ id: Id });
const DecisionBody = Type.Object(
  { comment: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);

/** Who is calling, as approvals see it: the requester it would be, and the decider it is. */
/**
 * Any authenticated session may call these routes: who may see or decide a request is decided
 * structurally by the service (the requester, the owner, the group, an administrator).
 */
const anySession: RouteAccess = { filter: { action: 'read', type: 'identity' } };

export function registerApprovalRoutes(
  app: TypedApp,
  deps: { approvals: ApprovalsAdmin; callerOf: (request: FastifyRequest) => Promise<ApprovalCaller> },
) {
  const { approvals, callerOf } = deps;
  app.addSchema(ApprovalSchema);

  app.post(
    '/v1/approvals',
    {
      config: { access: anySession },
      schema: {
        tags,
        summary: 'Ask for an approval (the caller is the requester)',
        description:
          'The caller asks for one exact action. Approvers default to the owner of the calling identity. Audited as `approval.requested`; the webhook (TESSERA_APPROVAL_WEBHOOK_URL) is told after commit.',
        body: Type.Object(
          {
            action: ApprovalActionSchema,
            justification: Type.String({ minLength: 1, maxLength: 1000 }),
            approvers: Type.Optional(ApproversSchema),
            ttlSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86_400 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Approval'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const caller = await callerOf(request);
      const b = request.body;
      let approvers = b.approvers as Approvers | undefined;
      if (!approvers) {
        if (caller.requester.kind !== 'identity') throw validationError('approvers: required for a person');
        approvers = { kind: 'owner', ownerOf: caller.requester.id };
      }
      const created = await approvals.request(
        {
          requester: caller.requester,
          action: b.action,
          justification: b.justification,
          approvers,
          ...(b.ttlSec ? { ttlSec: b.ttlSec } : {}),
        },
        request.ctx,
      );
      reply.status(201);
      return created;
    },
  );

  app.get(
    '/v1/approvals',
    {
      config: { access: anySession },
      schema: {
        tags,
        summary: 'List approval requests the caller may see',
        description:
          '`mine=true`: the caller’s own requests and those it may decide. Without it an administrator sees every request.',
        querystring: Type.Object(
          {
            status: Type.Optional(StringEnum(STATUSES)),
            mine: Type.Optional(Type.Boolean()),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('Approval')) }),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const caller = await callerOf(request);
      const q = request.query;
      const items = await approvals.list(caller.decider, {
        ...(q.status ? { status: q.status as ApprovalStatus } : {}),
        mine: q.mine ?? false,
        limit: q.limit ?? 50,
      });
      return { items };
    },
  );

  app.get(
    '/v1/approvals/:id',
    {
      config: { access: anySession },
      schema: {
        tags,
        summary: 'Get an approval request',
        params: Params,
        response: { 200: Type.Ref('Approval'), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const caller = await callerOf(request);
      const found = await approvals.get(request.params.id);
      if (!found || !(await approvals.visibleTo(found, caller.decider))) throw notFound('Approval request');
      return found;
    },
  );

  for (const decision of ['approve', 'deny'] as const) {
    app.post(
      `/v1/approvals/:id/${decision}`,
      {
        config: { access: anySession },
        schema: {
          tags,
          summary: decision === 'approve' ? 'Approve a request' : 'Deny a request',
          description:
            'By a person who may decide it (the owner, a member of the group) or an administrator. Self-approval is refused (403 `TESSERA_APPROVAL_SELF`, `details.reason: approval_self`); a request no longer pending answers 409 `TESSERA_APPROVAL_CLOSED`. N of M needs N distinct approvers.',
          params: Params,
          body: Type.Optional(DecisionBody),
          response: { 200: Type.Ref('Approval'), ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const caller = await callerOf(request);
        const found = await approvals.get(request.params.id);
        if (!found || !(await approvals.visibleTo(found, caller.decider))) {
          // Someone who may not even see it: as if it did not exist (requests are not enumerable).
          throw notFound('Approval request');
        }
        return approvals.decide(
          request.params.id,
          caller.decider,
          decision,
          request.body?.comment,
          request.ctx,
        );
      },
    );
  }
}
