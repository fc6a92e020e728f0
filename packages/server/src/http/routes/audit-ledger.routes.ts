import { Type } from '@sinclair/typebox';
import type { LedgerReport } from '../../core/audit/audit.verify.js';
import { errorResponses } from '../../core/shared/schemas.js';
import type { TypedApp } from '../app.js';

const Report = Type.Object({
  ok: Type.Boolean(),
  checkedEvents: Type.Integer(),
  lastSeq: Type.Integer(),
  checkpoints: Type.Object({
    total: Type.Integer(),
    matched: Type.Integer(),
    latestSeq: Type.Union([Type.Integer(), Type.Null()]),
  }),
  problem: Type.Union([
    Type.Object({
      kind: Type.Union(
        [
          'edited',
          'broken-link',
          'missing-events',
          'truncated',
          'checkpoint-mismatch',
          'forged-checkpoint',
        ].map((k) => Type.Literal(k)),
      ),
      seq: Type.Integer({ description: 'The first event where the ledger stops being trustworthy.' }),
      message: Type.String(),
    }),
    Type.Null(),
  ]),
});

/** Verification of the tamper-evident audit ledger. */
export function registerAuditLedgerRoutes(
  app: TypedApp,
  deps: { verify: () => Promise<LedgerReport>; checkpointKey: () => Record<string, unknown> },
) {
  app.post(
    '/v1/audit/verify',
    {
      config: {
        access: {
          permission: { action: 'read', resource: () => ({ type: 'audit', path: '/audit/ledger' }) },
        },
      },
      schema: {
        tags: ['audit'],
        summary: 'Verify the audit chain and its signed checkpoints',
        description:
          'Walks every event: its keyed hash, its link to the previous event and the sequence with no gap, and compares the chain with every signed checkpoint of its head (which reveals deleted newest events). Names the first event that fails.',
        response: { 200: Report, ...errorResponses(401, 403) },
      },
    },
    async () => deps.verify(),
  );

  app.get(
    '/v1/audit/checkpoint-key',
    {
      config: {
        access: {
          permission: { action: 'read', resource: () => ({ type: 'audit', path: '/audit/ledger' }) },
        },
      },
      schema: {
        tags: ['audit'],
        summary: 'The public key that signs audit checkpoints (JWK)',
        response: {
          200: Type.Object({
            kty: Type.String(),
            crv: Type.String(),
            x: Type.String(),
            kid: Type.String(),
            alg: Type.String(),
            use: Type.String(),
          }),
          ...errorResponses(401, 403),
        },
      },
    },
    async () =>
      deps.checkpointKey() as { kty: string; crv: string; x: string; kid: string; alg: string; use: string },
  );
}
