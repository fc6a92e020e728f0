import { Type } from '@sinclair/typebox';
import { RULE_TYPES } from '../../core/access/access.policy.js';
import { allOf, identityResource } from '../../core/access/access.resources.js';
import { IDENTITY_KINDS } from '../../core/identities/identities.model.js';
import { Cursor, Limit, StringEnum } from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import { OWASP_NHI } from './governance.model.js';
import { grantUsed } from './governance.rules.js';
import type { GovernanceService } from './governance.service.js';
import {
  CSV_COLUMNS,
  entryToCsv,
  entryToWire,
  FindingSchema,
  findingToWire,
  InventoryEntrySchema,
  WhoCanSchema,
} from './governance.wire.js';

const tags = ['governance'];
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Owner = Text(200);
const IdParams = Type.Object({ id: Text(64) });
const Owasp = StringEnum(Object.keys(OWASP_NHI) as (keyof typeof OWASP_NHI)[]);
const Filters = {
  kind: Type.Optional(StringEnum(IDENTITY_KINDS)),
  owner: Type.Optional(Owner),
  environment: Type.Optional(Text(100)),
  state: Type.Optional(StringEnum(['active', 'suspended', 'retired'] as const)),
  tag: Type.Optional(Text(100)),
  finding: Type.Optional(Type.Union([Owasp, Type.Literal('*')])),
};
const CredRef = Type.Object({ kind: Type.String(), id: Type.String(), via: Type.String() });
const RuleWire = Type.Object({
  ruleType: Type.String(),
  path: Type.String(),
  capabilities: Type.Array(Type.String()),
});
const PolicySchema = Type.Object({
  usageWindowDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  maxStaticSecretAgeDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  maxTtlSeconds: Type.Integer({ minimum: 60, maximum: 10 * 365 * 86_400 }),
  maxSourcesPerCredential: Type.Integer({ minimum: 1, maximum: 10_000 }),
  workstationCidrs: Type.Array(Text(64), { maxItems: 100 }),
  dpopRequiredEnvironments: Type.Array(Text(100), { maxItems: 50 }),
  goneOwners: Type.Array(Type.String(), { maxItems: 100_000 }),
});
const PolicyPatch = Type.Partial(Type.Omit(PolicySchema, ['goneOwners']), {
  additionalProperties: false,
  minProperties: 1,
});

const listAll = { permission: { action: 'list' as const, resource: () => allOf('identity') } };
const changeAll = { permission: { action: 'update' as const, resource: () => allOf('identity') } };

/** Inventory, findings, narrowed roles, retirement and offboarding (issue 16). */
export function registerGovernanceRoutes(
  app: TypedApp,
  deps: { governance: GovernanceService; nowMs: () => number },
) {
  const svc = deps.governance;
  const theIdentity = async (request: { params: unknown }) => {
    const id = (request.params as { id: string }).id;
    return identityResource((await svc.show(id).catch(() => null))?.name ?? id);
  };
  const wire = (e: Awaited<ReturnType<GovernanceService['show']>>) =>
    entryToWire(
      e,
      deps.nowMs(),
      e.grants.map((g) => grantUsed(g, e.used)),
    );

  app.get(
    '/v1/inventory',
    {
      config: { access: listAll },
      schema: {
        tags,
        summary: 'The inventory: every identity with credentials, permissions, use, findings, risk',
        querystring: Type.Object(
          { ...Filters, limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(InventoryEntrySchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { limit = 50, cursor, ...filter } = request.query;
      const page = await svc.list(filter, limit, cursor ?? null);
      return { items: page.items.map(wire), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/inventory/export',
    {
      config: { access: listAll },
      schema: {
        tags,
        summary: 'The whole inventory as JSON or CSV',
        querystring: Type.Object(
          { ...Filters, format: Type.Optional(StringEnum(['json', 'csv'] as const)) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Any(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { format = 'json', ...filter } = request.query;
      const lines: string[] = [];
      const items: ReturnType<typeof wire>[] = [];
      for (let cursor: string | null = null; ; ) {
        const page = await svc.list(filter, 500, cursor);
        for (const e of page.items) format === 'csv' ? lines.push(entryToCsv(e)) : items.push(wire(e));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      if (format === 'csv') {
        reply.type('text/csv; charset=utf-8');
        return `${[CSV_COLUMNS.join(','), ...lines].join('\n')}\n`;
      }
      return { items };
    },
  );

  app.get(
    '/v1/inventory/access',
    {
      config: {
        access: {
          permission: {
            action: 'list',
            resource: () => allOf('identity'),
            resources: () => [allOf('identity'), allOf('role')],
          },
        },
      },
      schema: {
        tags,
        summary: 'Who can reach a resource: each identity, every path to it, and escalation paths',
        description:
          'Paths go through auth methods, role associations (with their claim filter), role inclusion and OAuth token-exchange delegation (mayActFor). Escalations are identities that may edit a role they hold or associate the administrator role with their own auth method.',
        querystring: Type.Object(
          {
            type: Type.Optional(StringEnum(RULE_TYPES)),
            path: Type.String({ minLength: 1, maxLength: 1024, pattern: '^/' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: WhoCanSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => svc.whoCan({ type: request.query.type ?? 'item', path: request.query.path }),
  );

  app.get(
    '/v1/inventory/:id',
    {
      config: { access: { permission: { action: 'read', resource: theIdentity } } },
      schema: {
        tags,
        summary: 'One identity of the inventory',
        params: IdParams,
        response: { 200: InventoryEntrySchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => wire(await svc.show(request.params.id)),
  );

  const Settings = Type.Object({
    windowDays: Type.Integer(),
    minEvents: Type.Integer(),
    minDays: Type.Integer(),
    rateFactor: Type.Number(),
    rateMinEvents: Type.Integer(),
    prefixDepth: Type.Integer(),
    staleSeconds: Type.Integer(),
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  app.get(
    '/v1/inventory/:id/baseline',
    {
      config: { access: { permission: { action: 'read', resource: theIdentity } } },
      schema: {
        tags,
        summary: 'The anomaly baseline of one identity: networks, resource prefixes, hours, rate; thresholds',
        params: IdParams,
        response: {
          200: Type.Object({
            identityId: Type.String(),
            baseline: Type.Union([
              Type.Object({
                firstSeenAt: Type.String(),
                events: Type.Integer(),
                armed: Type.Boolean(),
                networks: Type.Array(Type.Object({ network: Type.String(), lastSeenAt: Type.String() })),
                prefixes: Type.Array(Type.Object({ prefix: Type.String(), lastSeenAt: Type.String() })),
                hoursUtc: Type.Array(Type.Integer(), { minItems: 24, maxItems: 24 }),
                peakHourEvents: Type.Integer(),
                rateThreshold: Type.Integer(),
              }),
              Type.Null(),
            ]),
            settings: Settings,
          }),
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      const { identityId, baseline: b, settings } = await svc.baseline(request.params.id);
      return {
        identityId,
        settings,
        baseline: b && {
          firstSeenAt: iso(b.firstSeenAtMs),
          events: b.events,
          armed: b.armed,
          networks: b.networks.map((x) => ({ network: x.network, lastSeenAt: iso(x.lastSeenAtMs) })),
          prefixes: b.prefixes.map((x) => ({ prefix: x.prefix, lastSeenAt: iso(x.lastSeenAtMs) })),
          hoursUtc: b.hoursUtc,
          peakHourEvents: b.peakHourEvents,
          rateThreshold: b.rateThreshold,
        },
      };
    },
  );

  app.post(
    '/v1/inventory/:id/retire',
    {
      config: { access: { permission: { action: 'delete', resource: theIdentity } } },
      schema: {
        tags,
        summary: 'Retire an identity, revoking every credential it holds (or preview it)',
        params: IdParams,
        body: Type.Optional(
          Type.Object({ preview: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        ),
        response: {
          200: Type.Object({
            identityId: Type.String(),
            identityName: Type.String(),
            state: Type.Optional(Type.String()),
            revoked: Type.Optional(Type.Array(CredRef)),
            leasesDue: Type.Optional(Type.Integer()),
            wouldRevoke: Type.Optional(Type.Array(CredRef)),
          }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      request.body?.preview
        ? svc.previewRetire(request.params.id)
        : svc.retire(request.params.id, request.ctx),
  );

  app.post(
    '/v1/inventory/:id/narrow',
    {
      config: { access: { permission: { action: 'update', resource: theIdentity } } },
      schema: {
        tags,
        summary: 'A role generated from the permissions the identity used (applied when asked)',
        params: IdParams,
        body: Type.Optional(
          Type.Object({ apply: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        ),
        response: {
          200: Type.Object({
            identityId: Type.String(),
            windowDays: Type.Integer(),
            rules: Type.Array(RuleWire),
            removed: Type.Array(Type.Object({ roleName: Type.String(), ...RuleWire.properties })),
            applied: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) => svc.narrow(request.params.id, request.body?.apply === true, request.ctx),
  );

  app.post(
    '/v1/inventory/:id/owner',
    {
      config: { access: { permission: { action: 'update', resource: theIdentity } } },
      schema: {
        tags,
        summary: 'Assign an owner (person or group)',
        params: IdParams,
        body: Type.Object({ owner: Owner }, { additionalProperties: false }),
        response: {
          200: Type.Object({ identityId: Type.String(), owner: Type.String() }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => svc.assignOwner(request.params.id, request.body.owner, request.ctx),
  );

  app.post(
    '/v1/owners/offboard',
    {
      config: { access: changeAll },
      schema: {
        tags,
        summary: 'Offboard an owner: reassign their identities, or suspend them (or preview)',
        body: Type.Object(
          {
            owner: Owner,
            to: Type.Optional(Owner),
            suspend: Type.Optional(Type.Boolean()),
            preview: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            owner: Type.String(),
            to: Type.Union([Type.String(), Type.Null()]),
            suspend: Type.Boolean(),
            preview: Type.Boolean(),
            identities: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                owner: Type.String(),
                state: Type.String(),
              }),
            ),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => svc.offboardOwner(request.body, request.ctx),
  );

  app.post(
    '/v1/governance/scan',
    {
      config: { access: changeAll },
      schema: {
        tags,
        summary: 'Run a posture scan now',
        response: {
          200: Type.Object({
            identities: Type.Integer(),
            auditEventsFolded: Type.Integer(),
            open: Type.Integer(),
            opened: Type.Integer(),
            resolved: Type.Integer(),
            tookMs: Type.Integer(),
          }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => svc.scan(request.ctx),
  );

  app.get(
    '/v1/governance/findings',
    {
      config: { access: listAll },
      schema: {
        tags,
        summary: 'Posture findings of the last scan (OWASP NHI Top 10)',
        querystring: Type.Object(
          {
            owasp: Type.Optional(Owasp),
            includeResolved: Type.Optional(Type.Boolean()),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Text(300)),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(FindingSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { limit = 50, cursor, owasp, includeResolved } = request.query;
      const page = await svc.findings({
        limit,
        cursor: cursor ?? null,
        ...(owasp ? { owasp } : {}),
        ...(includeResolved ? { includeResolved } : {}),
      });
      return { items: page.items.map(findingToWire), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/governance/policy',
    {
      config: { access: listAll },
      schema: {
        tags,
        summary: 'The posture policy',
        response: { 200: PolicySchema, ...errorResponses(401, 403) },
      },
    },
    async () => svc.policy(),
  );

  app.put(
    '/v1/governance/policy',
    {
      config: { access: changeAll },
      schema: {
        tags,
        summary: 'Change thresholds of the posture policy',
        body: PolicyPatch,
        response: { 200: PolicySchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => svc.setPolicy(request.body, request.ctx),
  );
}
