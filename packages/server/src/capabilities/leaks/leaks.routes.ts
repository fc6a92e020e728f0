import { type Static, Type } from '@sinclair/typebox';
import type { Resource } from '../../core/access/access.policy.js';
import { Cursor, IsoTime, Limit, Nullable, StringEnum, toIso } from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import { LEAK_OUTCOMES, type LeakFinding } from './leaks.model.js';
import type { LeaksService } from './leaks.service.js';

const tags = ['leaks'];
/** Leak reports and findings are audit records: `create`/`list`/`read` on `audit:/leaks`. */
const leaksResource = (): Resource => ({ type: 'audit', path: '/leaks' });
const KINDS = [
  'uid_token',
  'access_key',
  'client_secret',
  'registration_token',
  'initial_access_token',
  'session_token',
  'dynamic_password',
  'rotated_password',
  'unseal_share',
] as const;

const Location = Type.Object(
  {
    uri: Type.String({ minLength: 1, maxLength: 1024, description: 'A path or URL where it was found.' }),
    line: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    commit: Type.Optional(Type.String({ minLength: 4, maxLength: 64, pattern: '^[0-9a-zA-Z]+$' })),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
const ReportBody = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          credential: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
          hash: Type.Optional(
            Type.String({ minLength: 64, maxLength: 64, description: 'SHA-256 (hex) of the credential.' }),
          ),
          location: Type.Optional(Location),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);
const Receipt = Type.Object({
  index: Type.Integer(),
  findingId: Nullable(Type.String()),
  auditHash: Nullable(Type.String()),
});
const Finding = Type.Object(
  {
    id: Type.String(),
    kind: StringEnum(KINDS),
    outcome: StringEnum(LEAK_OUTCOMES),
    credentialHash: Type.String(),
    identityId: Nullable(Type.String()),
    auditHash: Nullable(Type.String()),
    locations: Type.Array(Location),
    reportCount: Type.Integer(),
    firstReportedAt: IsoTime,
    lastReportedAt: IsoTime,
  },
  { $id: 'LeakFinding' },
);

const toWire = (f: LeakFinding): Static<typeof Finding> => ({
  id: f.id,
  kind: f.kind,
  outcome: f.outcome,
  credentialHash: f.credentialHash,
  identityId: f.identityId,
  auditHash: f.auditHash,
  locations: f.locations,
  reportCount: f.reportCount,
  firstReportedAt: toIso(f.firstReportedAtMs),
  lastReportedAt: toIso(f.lastReportedAtMs),
});

/** `/v1/leaks`: report leaked credentials (the secret-scanning partner endpoint) and read findings. */
export function registerLeaksRoutes(app: TypedApp, deps: { leaks: LeaksService }) {
  const svc = deps.leaks;
  app.addSchema(Finding);

  app.post(
    '/v1/leaks',
    {
      config: { access: { permission: { action: 'create', resource: leaksResource } } },
      schema: {
        tags,
        summary: 'Report leaked credentials: each is identified by hash, revoked, its owner alerted',
        description:
          'Takes Tessera credentials found where they should not be (or the SHA-256 of stored kinds), ' +
          'and for each: revokes it when live, alerts its owner, records a finding with where it was ' +
          'found. Idempotent. The receipt is the same whatever the string was; what it turned out to be ' +
          'is in the finding (GET /v1/leaks).',
        body: ReportBody,
        response: { 200: Type.Object({ items: Type.Array(Receipt) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => ({ items: await svc.report(request.body.items, request.ctx) }),
  );

  app.get(
    '/v1/leaks',
    {
      config: { access: { permission: { action: 'list', resource: leaksResource } } },
      schema: {
        tags,
        summary: 'List findings of leaked credentials',
        querystring: Type.Object(
          {
            outcome: Type.Optional(StringEnum(LEAK_OUTCOMES)),
            identityId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('LeakFinding')),
            nextCursor: Nullable(Type.String()),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await svc.list(
        {
          ...(q.outcome ? { outcome: q.outcome } : {}),
          ...(q.identityId ? { identityId: q.identityId } : {}),
        },
        q.limit ?? 50,
        q.cursor ?? null,
      );
      return { items: page.items.map(toWire), nextCursor: page.nextCursor };
    },
  );
}
