import type { AuditEvent } from '../audit/audit.model.js';
import { targetRejected } from '../dynamic/dynamic.errors.js';
import type { Producer, ProducerSettings } from '../dynamic/producer.port.js';
import { normaliseSecretName } from '../secrets/secrets.names.js';
import type { RequestContext } from '../shared/context.js';
import { validationError } from '../shared/errors.js';
import type { Clock } from '../shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../shared/unit-of-work.js';
import { rotatedSecretNotFound, rotationBusy } from './rotated-secrets.errors.js';
import type { RotatedSecretRecord, RotatedSecretSealed } from './rotated-secrets.model.js';

/** What an update may change: the schedule, and the administrator credential (checked first). */
export interface UpdateRotatedSecretInput {
  intervalSeconds?: number | null;
  graceSeconds?: number;
  adminUsername?: string;
  adminPassword?: string;
}

const MIN_INTERVAL_SECONDS = 60;
const MAX_INTERVAL_SECONDS = 366 * 86_400;
const MAX_GRACE_SECONDS = 7 * 86_400;

/** The schedule rules of ADR 0011 (also those of creation). */
export function validateSchedule(strategy: string, interval: number | null, grace: number): void {
  if (
    interval !== null &&
    (!Number.isInteger(interval) || interval < MIN_INTERVAL_SECONDS || interval > MAX_INTERVAL_SECONDS)
  )
    throw validationError(
      `intervalSeconds must be an integer in [${MIN_INTERVAL_SECONDS}, ${MAX_INTERVAL_SECONDS}].`,
      {
        field: 'intervalSeconds',
      },
    );
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS)
    throw validationError(`graceSeconds must be an integer in [0, ${MAX_GRACE_SECONDS}].`, {
      field: 'graceSeconds',
    });
  if (interval !== null && strategy === 'two-account' && grace >= interval)
    throw validationError('graceSeconds must be shorter than intervalSeconds.', { field: 'graceSeconds' });
}

/**
 * Listing, updating and deleting rotated secrets (issue 10: they had none, so they rotated forever).
 * Writes are optimistic on the row version, like rotations, and refused (409) while a rotation holds
 * the row. Deleting stops the rotation for good; the accounts stay on the target as they are.
 */
export function createRotatedSecretLifecycle(deps: {
  uow: UnitOfWork;
  clock: Clock;
  producerOf: (type: RotatedSecretRecord['producerType']) => Producer;
  unseal: (r: ReadRepos, record: RotatedSecretRecord) => Promise<RotatedSecretSealed>;
  save: (
    r: Repos,
    previous: RotatedSecretRecord,
    next: RotatedSecretRecord,
    sealed: RotatedSecretSealed | null,
    ctx: RequestContext,
  ) => Promise<RotatedSecretRecord | null>;
  event: (type: string, record: RotatedSecretRecord, data: Record<string, unknown>) => AuditEvent;
}) {
  const { uow, clock } = deps;

  const busy = (record: RotatedSecretRecord, now: number) =>
    rotationBusy(
      'A rotation of this secret is under way; try again.',
      Math.max(1, Math.ceil(((record.claimedUntilMs ?? now) - now) / 1000)),
    );

  async function current(r: ReadRepos, name: string): Promise<RotatedSecretRecord> {
    const record = await r.rotatedSecrets.get(name);
    if (!record) throw rotatedSecretNotFound(name);
    const now = clock.nowMs();
    if (record.claimedUntilMs !== null && record.claimedUntilMs > now) throw busy(record, now);
    return record;
  }

  return {
    async list(prefix: string | undefined, cursor: string | null, limit: number) {
      const low = prefix ? normaliseSecretName(prefix) : '/';
      const rows = await uow.read((r) => r.rotatedSecrets.list(low, cursor, limit + 1));
      const page = rows.slice(0, limit);
      return { items: page, nextCursor: rows.length > limit ? page[page.length - 1]!.name : null };
    },

    /**
     * Changes the schedule (the next rotation is `rotatedAt + interval`, or never with null) and/or
     * the administrator credential, which is checked against the target first (outside any
     * transaction; a refusal is a 422 with its reason). Audited without any credential.
     */
    async update(
      name: string,
      input: UpdateRotatedSecretInput,
      ctx: RequestContext,
    ): Promise<RotatedSecretRecord> {
      const canonical = normaliseSecretName(name);
      const before = await uow.read((r) => current(r, canonical));
      const interval = input.intervalSeconds === undefined ? before.intervalSeconds : input.intervalSeconds;
      const grace = input.graceSeconds ?? before.graceSeconds;
      validateSchedule(before.strategy, interval, grace);
      const credentialChanged = input.adminUsername !== undefined || input.adminPassword !== undefined;
      let settings: ProducerSettings | null = null;
      if (credentialChanged) {
        const sealed = await uow.read((r) => deps.unseal(r, before));
        settings = {
          ...sealed.settings,
          ...(input.adminUsername !== undefined ? { adminUsername: input.adminUsername } : {}),
          ...(input.adminPassword !== undefined ? { adminPassword: input.adminPassword } : {}),
        };
        await deps
          .producerOf(before.producerType)
          .check(settings)
          .catch((error: unknown) => {
            throw targetRejected(error);
          });
      }
      return uow.write(async (r) => {
        const record = await current(r, canonical);
        if (record.rowVersion !== before.rowVersion) throw busy(record, clock.nowMs());
        const sealed = settings ? { ...(await deps.unseal(r, record)), settings } : null;
        const base = record.rotatedAtMs ?? record.createdAtMs;
        const next: RotatedSecretRecord = {
          ...record,
          intervalSeconds: interval,
          graceSeconds: grace,
          nextRotationAtMs: interval === null ? null : Math.max(base + interval * 1000, clock.nowMs()),
        };
        const saved = await deps.save(r, record, next, sealed, ctx);
        if (!saved) throw busy(record, clock.nowMs());
        await r.audit.append(
          deps.event('rotated_secret.updated', saved, {
            intervalSeconds: interval,
            graceSeconds: grace,
            adminCredentialChanged: credentialChanged,
          }),
          ctx,
          clock.nowMs(),
        );
        return saved;
      });
    },

    /**
     * Deletes a rotated secret: no rotation or retirement runs for it again. The accounts are left on
     * the target as they are (the current one keeps its password, which Tessera forgets; during a
     * grace period the previous one keeps its own too): read the value first if it is still needed,
     * and drop or re-password the accounts on the target.
     */
    async delete(name: string, ctx: RequestContext): Promise<RotatedSecretRecord> {
      const canonical = normaliseSecretName(name);
      return uow.write(async (r) => {
        const record = await current(r, canonical);
        if (!(await r.rotatedSecrets.delete(record.id, record.rowVersion))) throw busy(record, clock.nowMs());
        await r.audit.append(
          deps.event('rotated_secret.deleted', record, { usernames: record.usernames, accountsLeft: true }),
          ctx,
          clock.nowMs(),
        );
        return record;
      });
    },
  };
}
