import type { Kysely, Migration } from 'kysely';
import type { CredentialKind } from '../../crypto/credentials.js';
import type { QueryTarget } from '../../storage/prepared.js';
import type { LeakFinding, LeakLocation, LeakOutcome } from './leaks.model.js';

/** Findings of leaked credentials, and the hashes of dynamic passwords (to identify their lease). */
export interface LeaksRepo {
  findByHash(credentialHash: string): Promise<LeakFinding | null>;
  get(id: string): Promise<LeakFinding | null>;
  /** Inserts a first report (a racing duplicate only counts as one more report). */
  insert(finding: LeakFinding): Promise<void>;
  update(finding: LeakFinding): Promise<void>;
  list(
    filter: { outcome?: LeakOutcome; identityId?: string },
    limit: number,
    afterId: string | null,
  ): Promise<LeakFinding[]>;
  /** Remembers which lease a dynamic password (by SHA-256) belongs to. */
  putLeaseCredential(credentialHash: string, leaseId: string, atMs: number): Promise<void>;
  leaseOfCredential(credentialHash: string): Promise<string | null>;
  /**
   * The findings of these identities (for the posture scan's NHI2 rule), each with the lease of a
   * dynamic password when it is known. Indexed by identity.
   */
  listOfIdentities(identityIds: readonly string[]): Promise<(LeakFinding & { leaseId: string | null })[]>;
  /** Forgets lease credentials older than `beforeMs` (their leases have ended); returns how many. */
  pruneLeaseCredentials(beforeMs: number): Promise<number>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    leaks: LeaksRepo;
  }
}

/** The capability's own migration history (`tessera_migrations_leaks`). */
export const leaksMigrations = (): Record<string, Migration> => ({
  '0001-leak-findings': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('leak_findings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('credential_hash', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('identity_id', 'text')
        .addColumn('audit_hash', 'text')
        .addColumn('locations', 'text', (c) => c.notNull())
        .addColumn('report_count', 'integer', (c) => c.notNull())
        .addColumn('first_reported_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_reported_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('leak_lease_credentials')
        .addColumn('credential_hash', 'text', (c) => c.primaryKey())
        .addColumn('lease_id', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0002-leak-findings-by-identity': {
    async up(db: Kysely<unknown>) {
      // The posture scan reads the findings of a page of identities at a time (issue 16, NHI2).
      await db.schema
        .createIndex('leak_findings_identity')
        .on('leak_findings')
        .column('identity_id')
        .execute();
    },
  },
});

interface FindingRow {
  id: string;
  credential_hash: string;
  kind: string;
  outcome: string;
  identity_id: string | null;
  audit_hash: string | null;
  locations: string;
  report_count: number | string;
  first_reported_at_ms: number | string;
  last_reported_at_ms: number | string;
}
interface LeaseCredentialRow {
  credential_hash: string;
  lease_id: string;
  created_at_ms: number | string;
}
interface Tables {
  leak_findings: FindingRow;
  leak_lease_credentials: LeaseCredentialRow;
}

const toFinding = (r: FindingRow): LeakFinding => ({
  id: r.id,
  credentialHash: r.credential_hash,
  kind: r.kind as CredentialKind,
  outcome: r.outcome as LeakOutcome,
  identityId: r.identity_id,
  auditHash: r.audit_hash,
  locations: JSON.parse(r.locations) as LeakLocation[],
  reportCount: Number(r.report_count),
  firstReportedAtMs: Number(r.first_reported_at_ms),
  lastReportedAtMs: Number(r.last_reported_at_ms),
});

const toRow = (f: LeakFinding): FindingRow => ({
  id: f.id,
  credential_hash: f.credentialHash,
  kind: f.kind,
  outcome: f.outcome,
  identity_id: f.identityId,
  audit_hash: f.auditHash,
  locations: JSON.stringify(f.locations),
  report_count: f.reportCount,
  first_reported_at_ms: f.firstReportedAtMs,
  last_reported_at_ms: f.lastReportedAtMs,
});

export function createLeaksRepo({ db }: QueryTarget): LeaksRepo {
  const t = db as unknown as Kysely<Tables>;
  return {
    async findByHash(credentialHash) {
      const r = await t
        .selectFrom('leak_findings')
        .selectAll()
        .where('credential_hash', '=', credentialHash)
        .executeTakeFirst();
      return r ? toFinding(r) : null;
    },
    async get(id) {
      const r = await t.selectFrom('leak_findings').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toFinding(r) : null;
    },
    async insert(f) {
      // Two first reports of one credential racing on PostgreSQL: the second counts as a report.
      await t
        .insertInto('leak_findings')
        .values(toRow(f))
        .onConflict((oc) =>
          oc.column('credential_hash').doUpdateSet((eb) => ({
            report_count: eb('leak_findings.report_count', '+', 1),
            last_reported_at_ms: f.lastReportedAtMs,
          })),
        )
        .execute();
    },
    async update(f) {
      const { id, ...rest } = toRow(f);
      await t.updateTable('leak_findings').set(rest).where('id', '=', id).execute();
    },
    async list(filter, limit, afterId) {
      let q = t.selectFrom('leak_findings').selectAll();
      if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
      if (filter.identityId) q = q.where('identity_id', '=', filter.identityId);
      if (afterId) q = q.where('id', '>', afterId);
      return (await q.orderBy('id').limit(limit).execute()).map(toFinding);
    },
    async putLeaseCredential(credentialHash, leaseId, atMs) {
      await t
        .insertInto('leak_lease_credentials')
        .values({ credential_hash: credentialHash, lease_id: leaseId, created_at_ms: atMs })
        .onConflict((oc) => oc.column('credential_hash').doNothing())
        .execute();
    },
    async leaseOfCredential(credentialHash) {
      const r = await t
        .selectFrom('leak_lease_credentials')
        .select('lease_id')
        .where('credential_hash', '=', credentialHash)
        .executeTakeFirst();
      return r?.lease_id ?? null;
    },
    async listOfIdentities(identityIds) {
      if (identityIds.length === 0) return [];
      const out: (LeakFinding & { leaseId: string | null })[] = [];
      for (let i = 0; i < identityIds.length; i += 500) {
        const rows = await t
          .selectFrom('leak_findings as f')
          .leftJoin('leak_lease_credentials as c', 'c.credential_hash', 'f.credential_hash')
          .selectAll('f')
          .select('c.lease_id')
          .where('f.identity_id', 'in', identityIds.slice(i, i + 500))
          .orderBy('f.id')
          .execute();
        for (const r of rows) out.push({ ...toFinding(r), leaseId: r.lease_id ?? null });
      }
      return out;
    },
    async pruneLeaseCredentials(beforeMs) {
      const result = await t
        .deleteFrom('leak_lease_credentials')
        .where('created_at_ms', '<', beforeMs)
        .executeTakeFirst();
      return Number(result.numDeletedRows ?? 0);
    },
  };
}
