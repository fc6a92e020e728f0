import { type Static, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { allOf, identityResource } from '../../core/access/access.resources.js';
import { IDENTITY_KINDS } from '../../core/identities/identities.model.js';
import { Cursor, IsoTime, Limit, Nullable, StringEnum, toIso } from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { Decider } from '../approvals/approvals.model.js';
import {
  type Campaign,
  type CampaignSummary,
  CONSEQUENCES,
  DECISIONS,
  type ReviewItem,
} from './reviews.model.js';
import type { ReviewsService } from './reviews.service.js';

const tags = ['governance'];
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const IdParams = Type.Object({ id: Text(64) });
const Scope = Type.Object(
  {
    owner: Type.Optional(Text(200)),
    environment: Type.Optional(Text(100)),
    kind: Type.Optional(StringEnum(IDENTITY_KINDS)),
    tag: Type.Optional(Text(100)),
  },
  { additionalProperties: false },
);
const Summary = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  keep: Type.Integer(),
  narrow: Type.Integer(),
  revoke: Type.Integer(),
  expired: Type.Integer(),
});
const CampaignWire = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: StringEnum(['open', 'closed'] as const),
  scope: Scope,
  consequence: StringEnum(CONSEQUENCES),
  dueAt: IsoTime,
  reminderIntervalSeconds: Type.Integer(),
  lastRemindedAt: Nullable(IsoTime),
  createdAt: IsoTime,
  closedAt: Nullable(IsoTime),
});
const CampaignWithSummary = Type.Intersect([CampaignWire, Type.Object({ summary: Summary })]);
const ItemWire = Type.Object({
  identityId: Type.String(),
  identityName: Type.String(),
  owner: Type.String(),
  permissions: Type.Array(
    Type.Object({
      role: Type.String(),
      ruleType: Type.String(),
      path: Type.String(),
      capabilities: Type.Array(Type.String()),
      usedInWindow: Type.Boolean(),
    }),
  ),
  decision: Nullable(StringEnum([...DECISIONS, 'expired'] as const)),
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(IsoTime),
  comment: Nullable(Type.String()),
  outcome: Nullable(Type.String()),
});

const campaignToWire = (c: Campaign): Static<typeof CampaignWire> => ({
  id: c.id,
  name: c.name,
  state: c.state,
  scope: c.scope as Static<typeof Scope>,
  consequence: c.consequence,
  dueAt: toIso(c.dueAtMs),
  reminderIntervalSeconds: c.reminderIntervalSeconds,
  lastRemindedAt: c.lastRemindedAtMs === null ? null : toIso(c.lastRemindedAtMs),
  createdAt: toIso(c.createdAtMs),
  closedAt: c.closedAtMs === null ? null : toIso(c.closedAtMs),
});
const withSummary = (c: Campaign & { summary: CampaignSummary }) => ({
  ...campaignToWire(c),
  summary: c.summary,
});
const itemToWire = (i: ReviewItem): Static<typeof ItemWire> => ({
  identityId: i.identityId,
  identityName: i.identityName,
  owner: i.owner,
  permissions: i.permissions,
  decision: i.decision,
  decidedBy: i.decidedBy,
  decidedAt: i.decidedAtMs === null ? null : toIso(i.decidedAtMs),
  comment: i.comment,
  outcome: i.outcome,
});

const CSV_COLUMNS = [
  'identityId',
  'identityName',
  'owner',
  'permissions',
  'unusedPermissions',
  'decision',
  'decidedBy',
  'decidedAt',
  'outcome',
  'comment',
] as const;
const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // A leading =, +, - or @ would be a formula in a spreadsheet (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

const listAll = { permission: { action: 'list' as const, resource: () => allOf('identity') } };
const changeAll = { permission: { action: 'update' as const, resource: () => allOf('identity') } };

/** Access-review campaigns (issue 16, ADR 0029). */
export function registerReviewRoutes(
  app: TypedApp,
  deps: { reviews: ReviewsService; deciderOf: (request: FastifyRequest) => Promise<Decider> },
) {
  const svc = deps.reviews;

  app.post(
    '/v1/reviews',
    {
      config: { access: changeAll },
      schema: {
        tags,
        summary: 'Start an access review: owners certify each identity in scope (keep, narrow, revoke)',
        body: Type.Object(
          {
            name: Text(200),
            scope: Type.Optional(Scope),
            dueInDays: Type.Integer({ minimum: 1, maximum: 365 }),
            consequence: Type.Optional(StringEnum(CONSEQUENCES)),
            reminderIntervalHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 30 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CampaignWithSummary, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const c = await svc.create(
        {
          name: b.name,
          scope: b.scope ?? {},
          dueInDays: b.dueInDays,
          consequence: b.consequence ?? 'notify',
          ...(b.reminderIntervalHours ? { reminderIntervalHours: b.reminderIntervalHours } : {}),
        },
        request.ctx,
      );
      reply.status(201);
      return withSummary(c);
    },
  );

  app.get(
    '/v1/reviews',
    {
      config: { access: listAll },
      schema: {
        tags,
        summary: 'Access-review campaigns (paged)',
        querystring: Type.Object(
          {
            state: Type.Optional(StringEnum(['open', 'closed'] as const)),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(CampaignWire), nextCursor: Nullable(Type.String()) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { state, limit = 50, cursor } = request.query;
      const page = await svc.list(state ?? null, limit, cursor ?? null);
      return { items: page.items.map(campaignToWire), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/reviews/:id',
    {
      config: { access: listAll },
      schema: {
        tags,
        summary: 'One campaign with its summary, and a page of its items (filter pending, owner)',
        params: IdParams,
        querystring: Type.Object(
          {
            pending: Type.Optional(Type.Boolean()),
            owner: Type.Optional(Text(200)),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Intersect([
            CampaignWithSummary,
            Type.Object({ items: Type.Array(ItemWire), nextCursor: Nullable(Type.String()) }),
          ]),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { pending, owner, limit = 50, cursor } = request.query;
      const c = await svc.get(request.params.id);
      const page = await svc.items(
        request.params.id,
        { ...(pending ? { pending } : {}), ...(owner ? { owner } : {}) },
        limit,
        cursor ?? null,
      );
      return { ...withSummary(c), items: page.items.map(itemToWire), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/reviews/:id/decisions',
    {
      config: {
        access: {
          permission: {
            action: 'update',
            resource: async (request: { body: unknown }) => {
              const id = (request.body as { identityId?: string } | undefined)?.identityId ?? '';
              return identityResource((await svc.identityName(id)) ?? id);
            },
          },
        },
      },
      schema: {
        tags,
        summary: 'Decide on one identity: keep (certify), narrow (apply the role from observed use), revoke',
        params: IdParams,
        body: Type.Object(
          {
            identityId: Text(64),
            decision: StringEnum(DECISIONS),
            comment: Type.Optional(Text(1000)),
          },
          { additionalProperties: false },
        ),
        response: { 200: ItemWire, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      itemToWire(
        await svc.decide(request.params.id, request.body, await deps.deciderOf(request), request.ctx),
      ),
  );

  app.post(
    '/v1/reviews/:id/remind',
    {
      config: { access: changeAll },
      schema: {
        tags,
        summary: 'Remind owners with pending items now; past the due date, apply the consequence and close',
        params: IdParams,
        response: {
          200: Type.Object({
            reminded: Type.Integer(),
            expired: Type.Integer(),
            state: StringEnum(['open', 'closed'] as const),
          }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => svc.process(request.params.id, request.ctx, true),
  );

  app.get(
    '/v1/reviews/:id/report',
    {
      config: { access: listAll },
      schema: {
        tags,
        summary: 'The campaign report: every identity, its permissions, the decision, who and when',
        params: IdParams,
        querystring: Type.Object(
          { format: Type.Optional(StringEnum(['json', 'csv'] as const)) },
          { additionalProperties: false },
        ),
        response: {
          // JSON built from the wire mappers below, or CSV text (as the inventory export).
          200: Type.Any(),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const r = await svc.report(request.params.id);
      if (request.query.format === 'csv') {
        const lines = [CSV_COLUMNS.join(',')];
        for (const i of r.items)
          lines.push(
            [
              i.identityId,
              i.identityName,
              i.owner,
              i.permissions
                .map((p) => `${p.role}:${p.ruleType}:${p.path}:${p.capabilities.join('|')}`)
                .join(' '),
              i.permissions.filter((p) => !p.usedInWindow).length,
              i.decision ?? 'pending',
              i.decidedBy,
              i.decidedAtMs === null ? null : toIso(i.decidedAtMs),
              i.outcome,
              i.comment,
            ]
              .map(csvCell)
              .join(','),
          );
        reply.type('text/csv; charset=utf-8');
        return `${lines.join('\n')}\n`;
      }
      return { campaign: campaignToWire(r.campaign), summary: r.summary, items: r.items.map(itemToWire) };
    },
  );
}
