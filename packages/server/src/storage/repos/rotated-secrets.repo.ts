import type { Kysely, Selectable } from 'kysely';
import type { ProducerType } from '../../core/dynamic/producer.port.js';
import type {
  RotatedSecretRecord,
  RotationStrategy,
} from '../../core/rotated-secrets/rotated-secrets.model.js';
import type { RotatedSecretRepo } from '../../core/rotated-secrets/rotated-secrets.repo.js';
import type { Database, RotatedSecretTable } from '../schema.js';

const num = (v: number | null) => (v === null ? null : Number(v));

function toRecord(row: Selectable<RotatedSecretTable>): RotatedSecretRecord {
  return {
    id: row.id,
    name: row.name,
    producerType: row.producer_type as ProducerType,
    strategy: row.strategy as RotationStrategy,
    usernames: JSON.parse(row.usernames) as string[],
    currentIndex: Number(row.current_index),
    version: Number(row.version),
    intervalSeconds: num(row.interval_seconds),
    graceSeconds: Number(row.grace_seconds),
    rotatedAtMs: num(row.rotated_at),
    nextRotationAtMs: num(row.next_rotation_at),
    retireIndex: num(row.retire_index),
    retireAtMs: num(row.retire_at),
    failures: Number(row.failures),
    lastError: row.last_error,
    lastFailureAtMs: num(row.last_failure_at),
    nextAttemptAtMs: num(row.next_attempt_at),
    claimedUntilMs: num(row.claimed_until),
    rowVersion: Number(row.row_version),
    sealed: row.sealed,
    wrappedKey: row.wrapped_key,
    kekVersion: Number(row.kek_version),
    createdAtMs: Number(row.created_at),
    updatedAtMs: Number(row.updated_at),
    passwordHash: row.password_hash ?? null,
    previousPasswordHash: row.previous_password_hash ?? null,
  };
}

function mutable(r: RotatedSecretRecord) {
  return {
    current_index: r.currentIndex,
    version: r.version,
    interval_seconds: r.intervalSeconds,
    grace_seconds: r.graceSeconds,
    rotated_at: r.rotatedAtMs,
    next_rotation_at: r.nextRotationAtMs,
    retire_index: r.retireIndex,
    retire_at: r.retireAtMs,
    failures: r.failures,
    last_error: r.lastError,
    last_failure_at: r.lastFailureAtMs,
    next_attempt_at: r.nextAttemptAtMs,
    claimed_until: r.claimedUntilMs,
    row_version: r.rowVersion,
    sealed: r.sealed,
    wrapped_key: r.wrappedKey,
    kek_version: r.kekVersion,
    updated_at: r.updatedAtMs,
    password_hash: r.passwordHash,
    previous_password_hash: r.previousPasswordHash,
  };
}

export function createRotatedSecretRepo(db: Kysely<Database>): RotatedSecretRepo {
  return {
    async insert(r) {
      await db
        .insertInto('rotated_secrets')
        .values({
          id: r.id,
          name: r.name,
          producer_type: r.producerType,
          strategy: r.strategy,
          usernames: JSON.stringify(r.usernames),
          created_at: r.createdAtMs,
          ...mutable(r),
        })
        .execute();
    },
    async get(name) {
      const row = await db
        .selectFrom('rotated_secrets')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async list(prefix, afterName, limit) {
      let q = db
        .selectFrom('rotated_secrets')
        .selectAll()
        .where('name', '>=', prefix)
        .where('name', '<', `${prefix}\u{10ffff}`);
      if (afterName) q = q.where('name', '>', afterName);
      return (await q.orderBy('name').limit(limit).execute()).map(toRecord);
    },
    async delete(id, expectedRowVersion) {
      const result = await db
        .deleteFrom('rotated_secrets')
        .where('id', '=', id)
        .where('row_version', '=', expectedRowVersion)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    async update(record, expectedRowVersion) {
      const result = await db
        .updateTable('rotated_secrets')
        .set(mutable(record))
        .where('id', '=', record.id)
        .where('row_version', '=', expectedRowVersion)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async findByPasswordHash(hash) {
      const current = await db
        .selectFrom('rotated_secrets')
        .selectAll()
        .where('password_hash', '=', hash)
        .executeTakeFirst();
      if (current) return { record: toRecord(current), which: 'current' };
      const previous = await db
        .selectFrom('rotated_secrets')
        .selectAll()
        .where('previous_password_hash', '=', hash)
        .executeTakeFirst();
      return previous ? { record: toRecord(previous), which: 'previous' } : null;
    },
    async due(nowMs, limit) {
      const rows = await db
        .selectFrom('rotated_secrets')
        .select('name')
        .where((eb) =>
          eb.and([
            eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', nowMs)]),
            eb.or([
              eb('retire_at', '<=', nowMs),
              eb('next_attempt_at', '<=', nowMs),
              eb.and([eb('next_attempt_at', 'is', null), eb('next_rotation_at', '<=', nowMs)]),
            ]),
          ]),
        )
        .orderBy('name')
        .limit(limit)
        .execute();
      return rows.map((r) => r.name);
    },
  };
}
