import type { AuditEvent } from '../audit/audit.model.js';
import { targetRejected } from '../dynamic/dynamic.errors.js';
import { type Producer, type ProducerType, TargetError } from '../dynamic/producer.port.js';
import type { SecretCipher } from '../secrets/secret-cipher.port.js';
import { kekAccess } from '../secrets/secrets.keys.js';
import { normaliseSecretName } from '../secrets/secrets.names.js';
import { type RequestContext, systemContext } from '../shared/context.js';
import { validationError } from '../shared/errors.js';
import type { Clock } from '../shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../shared/unit-of-work.js';
import {
  rotatedSecretExists,
  rotatedSecretNotFound,
  rotationBusy,
  rotationFailed,
} from './rotated-secrets.errors.js';
import { createRotatedSecretLifecycle, validateSchedule } from './rotated-secrets.lifecycle.js';
import {
  type RotatedSecretRecord,
  type RotatedSecretSealed,
  type RotationStrategy,
  rotatedAad,
} from './rotated-secrets.model.js';

/** What an administrator gives to create a rotated secret (validated here; settings by the producer). */
export interface CreateRotatedSecretInput {
  name: string;
  producerType: ProducerType;
  settings: Record<string, unknown>;
  strategy?: RotationStrategy;
  usernames: string[];
  intervalSeconds?: number | null;
  graceSeconds?: number;
  description?: string;
}

/** The credential readers get. */
export interface RotatedSecretValue {
  name: string;
  username: string;
  password: string;
  version: number;
  rotatedAtMs: number | null;
  nextRotationAtMs: number | null;
}

export interface RotationOptions {
  /** First retry delay after a failure; doubled per consecutive failure up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a claim holds a row (longer than the producer's connect and statement timeouts). */
  claimMs: number;
}

export const DEFAULT_ROTATION_OPTIONS: RotationOptions = {
  backoffBaseMs: 5_000,
  backoffMaxMs: 3_600_000,
  claimMs: 60_000,
};

/**
 * `reset`: the current account gets a new password in place (a leaked current password, ADR 0036);
 * `retire` also serves a leaked grace-period password, before its grace period ends.
 */
type Action =
  | { kind: 'rotate'; index: number }
  | { kind: 'retire'; index: number }
  | { kind: 'reset'; index: number };

/** Which of a secret's passwords was reported leaked. */
export type LeakedPassword = 'current' | 'previous';

/** Item names are unique across static, dynamic and rotated secrets. */
const nameTaken = async (r: ReadRepos, name: string) =>
  Boolean(
    (await r.rotatedSecrets.get(name)) ?? (await r.secrets.get(name)) ?? (await r.dynamic.getItem(name)),
  );

/** A failure reason fit for audit and storage: no credential, bounded. */
function safeReason(error: unknown, secrets: readonly string[]): string {
  let message =
    error instanceof Error
      ? `${(error as { code?: string }).code ?? error.name}: ${error.message}`
      : String(error);
  for (const s of secrets) if (s) message = message.split(s).join('[redacted]');
  return message.slice(0, 300);
}

/**
 * Rotated secrets (issue 6): Tessera owns a credential on a target and rotates it on a schedule or on
 * demand. Network I/O never happens inside a store transaction (DESIGN §4.7): a rotation claims the
 * row in one transaction, talks to the target, and records the outcome in another.
 */
export function createRotationService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  cipher: SecretCipher;
  ids: { newId(prefix: string, bytes?: number): string };
  producer: (type: ProducerType) => Producer | undefined;
  newPassword: () => string;
  /** The keyed hash stored for the current and grace-period passwords (ADR 0036). */
  passwordHash: (password: string) => string;
  options?: Partial<RotationOptions>;
}) {
  const { uow, clock, cipher } = deps;
  const options = { ...DEFAULT_ROTATION_OPTIONS, ...deps.options };
  const keks = kekAccess(cipher, clock);

  const producerOf = (type: ProducerType) => {
    const producer = deps.producer(type);
    if (!producer) throw validationError(`No producer of type ${type} is available.`, { field: 'type' });
    return producer;
  };

  async function unseal(r: ReadRepos, record: RotatedSecretRecord): Promise<RotatedSecretSealed> {
    const dek = await keks.unwrap(r, {
      id: record.id,
      wrappedKey: record.wrappedKey,
      kekVersion: record.kekVersion,
    });
    try {
      return JSON.parse(
        cipher.decrypt(dek, record.sealed, rotatedAad(record.id, record.rowVersion)),
      ) as RotatedSecretSealed;
    } finally {
      dek.fill(0);
    }
  }

  /** Seals `sealed` into `record` (which carries its new row version) under a fresh data key and the active KEK. */
  async function seal(
    r: Repos,
    record: RotatedSecretRecord,
    sealed: RotatedSecretSealed,
    ctx: RequestContext,
  ) {
    const kekVersion = await keks.active(r, ctx);
    const dek = cipher.newDataKey();
    try {
      record.wrappedKey = cipher.wrap(dek, kekVersion, record.id);
      record.kekVersion = kekVersion;
      record.sealed = cipher.encrypt(dek, JSON.stringify(sealed), rotatedAad(record.id, record.rowVersion));
      record.passwordHash = deps.passwordHash(sealed.current);
    } finally {
      dek.fill(0);
    }
  }

  /** Writes `next` over `previous` (optimistic); re-seals when `sealed` is given. */
  async function save(
    r: Repos,
    previous: RotatedSecretRecord,
    next: RotatedSecretRecord,
    sealed: RotatedSecretSealed | null,
    ctx: RequestContext,
  ): Promise<RotatedSecretRecord | null> {
    const record = { ...next, rowVersion: previous.rowVersion + 1, updatedAtMs: clock.nowMs() };
    // The AAD binds the row version: every write re-seals.
    await seal(r, record, sealed ?? (await unseal(r, previous)), ctx);
    return (await r.rotatedSecrets.update(record, previous.rowVersion)) ? record : null;
  }

  const event = (
    type: string,
    record: RotatedSecretRecord,
    data: Record<string, unknown>,
    outcome: AuditEvent['outcome'] = 'success',
    reason: string | null = null,
  ): AuditEvent => ({
    type,
    outcome,
    ...(reason !== null ? { reason } : {}),
    actor: {},
    resource: record.name,
    data: { rotatedSecretId: record.id, ...data },
  });

  /** What the row needs now, if anything. `demand`: an operator asked (ignores schedule and backoff, not grace). */
  function decide(record: RotatedSecretRecord, now: number, demand: boolean): Action | null {
    const idle = record.strategy === 'two-account' ? 1 - record.currentIndex : record.currentIndex;
    if (record.retireAtMs !== null && record.retireAtMs > now) {
      if (demand)
        throw rotationBusy(
          'The grace period of the previous rotation is still running: the idle account may still be in use.',
          Math.ceil((record.retireAtMs - now) / 1000),
        );
      return null;
    }
    const rotationDue =
      demand || (record.nextAttemptAtMs ?? record.nextRotationAtMs ?? Number.POSITIVE_INFINITY) <= now;
    if (rotationDue) return { kind: 'rotate', index: idle };
    if (record.retireIndex !== null) return { kind: 'retire', index: record.retireIndex };
    return null;
  }

  /** One step on one row: claim, talk to the target, record the outcome. */
  async function step(
    name: string,
    demand: boolean,
    ctx: RequestContext,
    leaked?: LeakedPassword,
  ): Promise<RotatedSecretRecord | null> {
    const claimed = await uow.write(async (r) => {
      const record = await r.rotatedSecrets.get(name);
      if (!record) throw rotatedSecretNotFound(name);
      const now = clock.nowMs();
      if (record.claimedUntilMs !== null && record.claimedUntilMs > now) {
        if (demand)
          throw rotationBusy(
            'A rotation of this secret is under way.',
            Math.ceil((record.claimedUntilMs - now) / 1000),
          );
        return null;
      }
      const action: Action | null = !leaked
        ? decide(record, now, demand)
        : leaked === 'current'
          ? { kind: 'reset', index: record.currentIndex }
          : record.retireIndex !== null
            ? { kind: 'retire', index: record.retireIndex }
            : null;
      if (!action) return null;
      const sealed = await unseal(r, record);
      // The new password is sealed before the target sees it; a retry reuses it.
      if (action.kind !== 'retire') sealed.pending ??= deps.newPassword();
      const saved = await save(r, record, { ...record, claimedUntilMs: now + options.claimMs }, sealed, ctx);
      if (!saved) {
        if (demand) throw rotationBusy('A rotation of this secret is under way.', 1);
        return null;
      }
      return { record: saved, sealed, action };
    });
    if (!claimed) return null;
    const { record, sealed, action } = claimed;
    const username = record.usernames[action.index]!;
    const password = action.kind !== 'retire' ? sealed.pending! : deps.newPassword();
    let failure: string | null = null;
    let failureReason = 'target_error';
    try {
      await producerOf(record.producerType).setPassword(sealed.settings, username, password);
    } catch (error) {
      failure = safeReason(error, [password, sealed.current, sealed.settings.adminPassword]);
      if (error instanceof TargetError) failureReason = error.reason;
    }
    const outcome = await uow.write(async (r) => {
      const now = clock.nowMs();
      const current = await r.rotatedSecrets.get(name);
      if (!current || current.rowVersion !== record.rowVersion) return null; // our claim expired and was taken
      if (failure !== null) {
        const failures = current.failures + 1;
        const delay = Math.min(options.backoffBaseMs * 2 ** (failures - 1), options.backoffMaxMs);
        const next: RotatedSecretRecord = {
          ...current,
          failures,
          lastError: failure,
          lastFailureAtMs: now,
          claimedUntilMs: null,
          ...(action.kind !== 'retire' ? { nextAttemptAtMs: now + delay } : { retireAtMs: now + delay }),
        };
        const saved = await save(r, current, next, sealed, ctx);
        await r.audit.append(
          event(
            'rotated_secret.rotation_failed',
            current,
            {
              phase: action.kind,
              account: username,
              failures,
              nextAttemptAt: new Date(now + delay).toISOString(),
              version: current.version,
            },
            'failure',
            failure,
          ),
          ctx,
          now,
        );
        return saved;
      }
      if (action.kind === 'retire') {
        const saved = await save(
          r,
          current,
          {
            ...current,
            retireIndex: null,
            retireAtMs: null,
            previousPasswordHash: null,
            claimedUntilMs: null,
            failures: 0,
            lastError: null,
          },
          sealed,
          ctx,
        );
        await r.audit.append(
          event('rotated_secret.rotated', current, {
            phase: leaked ? 'leak_retire' : 'retire',
            account: username,
            version: current.version,
          }),
          ctx,
          now,
        );
        return saved;
      }
      const version = current.version + 1;
      if (action.kind === 'reset') {
        // A leaked current password: the same account, a new password, now; the grace period of
        // an earlier rotation (if any) runs on untouched.
        const reset: RotatedSecretRecord = {
          ...current,
          version,
          rotatedAtMs: now,
          failures: 0,
          lastError: null,
          nextAttemptAtMs: null,
          claimedUntilMs: null,
        };
        const saved = await save(r, current, reset, { ...sealed, current: password, pending: null }, ctx);
        await r.audit.append(
          event('rotated_secret.rotated', current, { phase: 'leak_reset', account: username, version }),
          ctx,
          now,
        );
        return saved;
      }
      const next: RotatedSecretRecord = {
        ...current,
        currentIndex: action.index,
        version,
        rotatedAtMs: now,
        nextRotationAtMs: current.intervalSeconds ? now + current.intervalSeconds * 1000 : null,
        retireIndex: current.strategy === 'two-account' ? current.currentIndex : null,
        retireAtMs: current.strategy === 'two-account' ? now + current.graceSeconds * 1000 : null,
        // The outgoing password works on until the retirement: a leak of it must still be found.
        previousPasswordHash: current.strategy === 'two-account' ? deps.passwordHash(sealed.current) : null,
        failures: 0,
        lastError: null,
        nextAttemptAtMs: null,
        claimedUntilMs: null,
      };
      const saved = await save(r, current, next, { ...sealed, current: password, pending: null }, ctx);
      await r.audit.append(
        event('rotated_secret.rotated', current, { phase: 'switch', account: username, version }),
        ctx,
        now,
      );
      return saved;
    });
    if (failure !== null && demand) throw rotationFailed(failure, failureReason);
    return outcome;
  }

  const lifecycle = createRotatedSecretLifecycle({ uow, clock, producerOf, unseal, save, event });

  return {
    ...lifecycle,

    async create(input: CreateRotatedSecretInput, ctx: RequestContext): Promise<RotatedSecretRecord> {
      const name = normaliseSecretName(input.name);
      const producer = producerOf(input.producerType);
      const settings = producer.normaliseSettings(input.settings);
      const strategy = input.strategy ?? 'two-account';
      const accounts = strategy === 'two-account' ? 2 : 1;
      if (input.usernames.length !== accounts || new Set(input.usernames).size !== accounts)
        throw validationError(`The ${strategy} strategy takes ${accounts} distinct usernames.`, {
          field: 'usernames',
        });
      const interval = input.intervalSeconds ?? null;
      const grace = input.graceSeconds ?? 300;
      validateSchedule(strategy, interval, grace);
      const taken = await uow.read(async (r) => nameTaken(r, name));
      if (taken) throw rotatedSecretExists();

      // Outside any transaction: the target is checked and the accounts get passwords only Tessera knows.
      // A refusal (wrong admin password, unreachable, missing privilege) is a 422 with its reason.
      await producer.check(settings).catch((error: unknown) => {
        throw targetRejected(error);
      });
      const current = deps.newPassword();
      for (const [i, username] of input.usernames.entries()) {
        const password = i === 0 ? current : deps.newPassword();
        try {
          await producer.setPassword(settings, username, password);
        } catch (error) {
          // Another refusal (a missing privilege…) is reported as such, not as a failed creation.
          if (error instanceof TargetError && error.reason !== 'account_missing') throw targetRejected(error);
          // Missing: created with the settings' creation statements (the same grants for both).
          // No expiry: a rotated account lives until Tessera changes its password.
          await producer
            .createAccount(settings, { username, password, expiresAtMs: null })
            .catch((error: unknown) => {
              throw targetRejected(error);
            });
        }
      }
      const id = deps.ids.newId('rs-');
      return uow.write(async (r) => {
        if (await nameTaken(r, name)) throw rotatedSecretExists();
        const now = clock.nowMs();
        const record: RotatedSecretRecord = {
          id,
          name,
          producerType: input.producerType,
          strategy,
          usernames: [...input.usernames],
          currentIndex: 0,
          version: 1,
          intervalSeconds: interval,
          graceSeconds: grace,
          rotatedAtMs: now,
          nextRotationAtMs: interval ? now + interval * 1000 : null,
          retireIndex: null,
          retireAtMs: null,
          failures: 0,
          lastError: null,
          lastFailureAtMs: null,
          nextAttemptAtMs: null,
          claimedUntilMs: null,
          rowVersion: 1,
          sealed: '',
          wrappedKey: '',
          kekVersion: 0,
          createdAtMs: now,
          updatedAtMs: now,
          passwordHash: null,
          previousPasswordHash: null,
        };
        await seal(r, record, { settings, current, pending: null }, ctx);
        await r.rotatedSecrets.insert(record);
        await r.audit.append(
          event('rotated_secret.created', record, {
            producerType: record.producerType,
            strategy,
            intervalSeconds: interval,
            graceSeconds: grace,
          }),
          ctx,
          now,
        );
        return record;
      });
    },

    /** The current credential; every read is audited (name and version, never the password). */
    async getValue(name: string, ctx: RequestContext): Promise<RotatedSecretValue> {
      const canonical = normaliseSecretName(name);
      return uow.write(async (r) => {
        const record = await r.rotatedSecrets.get(canonical);
        if (!record) throw rotatedSecretNotFound(canonical);
        const sealed = await unseal(r, record);
        await r.audit.append(
          event('rotated_secret.read', record, { version: record.version }),
          ctx,
          clock.nowMs(),
        );
        return {
          name: record.name,
          username: record.usernames[record.currentIndex]!,
          password: sealed.current,
          version: record.version,
          rotatedAtMs: record.rotatedAtMs,
          nextRotationAtMs: record.nextRotationAtMs,
        };
      });
    },

    async describe(name: string): Promise<RotatedSecretRecord> {
      const canonical = normaliseSecretName(name);
      const record = await uow.read((r) => r.rotatedSecrets.get(canonical));
      if (!record) throw rotatedSecretNotFound(canonical);
      return record;
    },

    /** Rotates now (an operator asked): 409 during the previous rotation's grace period, 503 when the target fails. */
    async rotate(name: string, ctx: RequestContext): Promise<RotatedSecretRecord> {
      const canonical = normaliseSecretName(name);
      const record = await step(canonical, true, ctx);
      if (!record) throw rotationBusy('A rotation of this secret is under way.', 1);
      return record;
    },

    /**
     * A password of this secret was reported leaked (ADR 0036): the current one gets replaced in
     * place, a grace-period one retired at once, so the leaked value stops working on the target.
     * Null when there was nothing left to do (retired already). Target I/O outside any transaction;
     * 409 while another rotation holds the row, 503 when the target refuses.
     */
    async revokeLeaked(name: string, which: LeakedPassword, ctx: RequestContext) {
      return step(name, true, ctx, which);
    },

    /** The job: every due rotation, retry and retirement, one step each. */
    async runDue(limit = 50): Promise<number> {
      const names = await uow.read((r) => r.rotatedSecrets.due(clock.nowMs(), limit));
      let done = 0;
      for (const name of names) {
        try {
          if (await step(name, false, systemContext('rotation'))) done++;
        } catch {
          // Recorded by the step (audit, backoff); one secret never stops the others.
        }
      }
      return done;
    },
  };
}

export type RotationService = ReturnType<typeof createRotationService>;
