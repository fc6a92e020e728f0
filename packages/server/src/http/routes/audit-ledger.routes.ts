import { Type } from '@sinclair/typebox';
import type { ArchiveResult } from '../../audit/audit.ledger.js';
import { auditResource } from '../../core/access/access.resources.js';
import type { LedgerReport } from '../../core/audit/audit.verify.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const Report = Type.Object({
  ok: Type.Boolean(),
  checkedEvents: Type.Integer(),
  lastSeq: Type.Integer(),
  checkpoints: Type.Object({
    total: Type.Integer(),
    matched: Type.Integer(),
    latestSeq: Type.Union([Type.Integer(), Type.Null()]),
  }),
  anchor: Type.Union([
    Type.Object(
      { seq: Type.Integer(), hash: Type.String() },
      { description: 'The latest archive anchor: events up to `seq` live in archive files.' },
    ),
    Type.Null(),
  ]),
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
          'anchor-mismatch',
          'forged-anchor',
        ].map((k) => Type.Literal(k)),
      ),
      seq: Type.Integer({ description: 'The first event where the ledger stops being trustworthy.' }),
      message: Type.String(),
    }),
    Type.Null(),
  ]),
});

const ArchiveReport = Type.Object({
  fromSeq: Type.Integer(),
  throughSeq: Type.Integer(),
  events: Type.Integer(),
  file: Type.String({ description: 'The archive file on the server (JSON lines, the stored rows).' }),
  anchor: Type.Object({
    v: Type.Literal(1),
    seq: Type.Integer(),
    hash: Type.String(),
    atMs: Type.Integer(),
    kid: Type.String(),
    signature: Type.String(),
  }),
});

export interface AuditLedgerDeps {
  verify: () => Promise<LedgerReport>;
  checkpointKey: () => Record<string, unknown>;
  archive?: (throughSeq: number) => Promise<ArchiveResult>;
}

/** Verification and archiving of the tamper-evident audit ledger. */
export function registerAuditLedgerRoutes(app: TypedApp, deps: AuditLedgerDeps) {
  app.post(
    '/v1/audit/archive',
    {
      config: {
        access: {
          permission: { action: 'delete', resource: () => auditResource('ledger') },
        },
      },
      schema: {
        tags: ['audit'],
        summary: 'Archive and prune the oldest audit events',
        description:
          'Exports the stored events from the oldest through `throughSeq` to `<dataDir>/audit/archive/events-<from>-<to>.jsonl` on the server (JSON lines, the stored rows with their hashes, mode 0600), records a signed anchor of event `throughSeq` and prunes the exported events. Verification of the store then starts at the anchor; `tessera audit verify --data-dir … --archives` verifies the whole history. The range is verified first: a broken chain is never archived.',
        body: Type.Object({ throughSeq: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        response: { 200: ArchiveReport, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => {
      if (!deps.archive) throw new Error('archiving is not available');
      return deps.archive(request.body.throughSeq);
    },
  );

  app.post(
    '/v1/audit/verify',
    {
      config: {
        access: {
          // Verification reads the chain; recording the grant would append to the chain it checks.
          permission: { action: 'read', resource: () => auditResource('ledger'), recordGrant: false },
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
          permission: { action: 'read', resource: () => auditResource('ledger') },
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
