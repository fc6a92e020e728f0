import type { AuditEvent } from '../audit/audit.model.js';
import {
  describeFailure,
  leaseNotFound,
  leaseQuotaExceeded,
  targetFailed,
} from '../dynamic/dynamic.errors.js';
import type { DynamicSecret, Lease, LeaseFilter, RevokedCredential } from '../dynamic/dynamic.model.js';
import { renderUsername } from '../dynamic/dynamic.names.js';
import { DEFAULTS, type DynamicSecretsService, type Producers } from '../dynamic/dynamic.service.js';
import type { RevocationResult } from '../dynamic/producer.port.js';
import { type RequestContext, systemContext } from '../shared/context.js';
import { validationError } from '../shared/errors.js';
import type { EventBus } from '../shared/events.js';
import type { Clock } from '../shared/platform.port.js';
import type { Repos, UnitOfWork } from '../shared/unit-of-work.js';

export interface LeasesDeps {
  uow: UnitOfWork;
  clock: Clock;
  items: DynamicSecretsService;
  producers: Producers;
  ids: { newId(prefix: string, length?: number): string; hashCredential(credential: string): string };
  /** Random alphanumeric strings (crypto/): the unique part of usernames. */
  random: (length: number) => string;
  /** Passwords of new accounts (crypto/): checksummed, so a leaked one is recognisable (ADR 0020). */
  password?: (length: number) => string;
  /** `lease.credential_issued` is announced (with the password's hash only) for leak reports. */
  events?: EventBus;
  options?: Partial<LeaseOptions>;
}

export interface LeaseOptions {
  /** A `creating` lease older than this is taken for crashed and its account revoked. */
  creationGraceMs: number;
  /** How long a claim holds before another reaper may take the lease over. */
  claimMs: number;
  /** Attempts before a lease is left `revoke_failed`. */
  maxAttempts: number;
  /** Leases claimed per batch, and accounts per producer call. */
  batchSize: number;
  chunkSize: number;
  /** Producer calls in flight at once. */
  parallel: number;
}

const DEFAULT_OPTIONS: LeaseOptions = {
  creationGraceMs: 5 * 60_000,
  claimMs: 2 * 60_000,
  maxAttempts: 6,
  batchSize: 500,
  chunkSize: 100,
  parallel: 4,
};

declare module '../shared/events.js' {
  interface DomainEvents {
    /** A lease's account exists; its password is known to the holder only (its SHA-256 here). */
    'lease.credential_issued': { leaseId: string; identityId: string; credentialHash: string };
  }
}

/** Backoff of the n-th failed attempt: 5 s doubling, at most 10 minutes. */
export const backoffMs = (attempt: number) => Math.min(5000 * 2 ** Math.max(0, attempt - 1), 600_000);

/** Who obtains a lease, through which credential (a session's principal). */
export interface LeaseOrigin {
  identityId: string;
  authMethodId?: string | null;
  uidNodeId?: string | null;
  uidNodePath?: string | null;
}

export interface IssuedCredential {
  lease: Lease;
  password: string;
}

export interface ReapReport {
  claimed: number;
  revoked: number;
  retrying: number;
  failed: number;
}

/** Leases: issuing credentials, renewal, revocation (one, by prefix, by identity) and the reaper. */
export function createLeasesService(deps: LeasesDeps) {
  const { uow, clock, items, producers, ids, random } = deps;
  const password = deps.password ?? random;
  const opt = { ...DEFAULT_OPTIONS, ...deps.options };

  const leaseEvent = (
    type: string,
    lease: Lease,
    data: Record<string, unknown> = {},
    outcome: AuditEvent['outcome'] = 'success',
  ): AuditEvent => ({
    type,
    outcome,
    actor: {},
    resource: lease.itemName,
    data: { leaseId: lease.id, identityId: lease.identityId, username: lease.username, ...data },
  });

  /** Records how each claimed revocation went, in one transaction. */
  async function finish(
    outcomes: Array<{ lease: Lease; result: RevocationResult | Error }>,
    ctx: RequestContext,
    reason: string,
  ) {
    const report = { revoked: 0, retrying: 0, failed: 0 };
    if (outcomes.length === 0) return report;
    const now = clock.nowMs();
    await uow.write(async (r) => {
      report.revoked = report.retrying = report.failed = 0;
      await r.dynamic.markRevoked(
        outcomes.filter((o) => !(o.result instanceof Error)).map((o) => o.lease.id),
        now,
      );
      for (const { lease, result } of outcomes) {
        if (!(result instanceof Error)) {
          await r.audit.append(
            leaseEvent('lease.revoked', lease, {
              reason,
              existed: result.existed,
              sessionsTerminated: result.sessionsTerminated,
            }),
            ctx,
            now,
          );
          report.revoked++;
          continue;
        }
        const lastError = describeFailure(result);
        if (lease.attempts >= opt.maxAttempts) {
          await r.dynamic.updateLease(lease.id, { state: 'revoke_failed', lastError });
          await r.audit.append(
            {
              ...leaseEvent('lease.revoke_failed', lease, { attempts: lease.attempts }, 'failure'),
              reason: lastError,
            },
            ctx,
            now,
          );
          report.failed++;
        } else {
          await r.dynamic.updateLease(lease.id, {
            state: 'revoking',
            lastError,
            nextAttemptAtMs: now + backoffMs(lease.attempts),
          });
          report.retrying++;
        }
      }
    });
    return report;
  }

  /** Revokes claimed leases on their targets: per item, in chunks, a few producer calls at once. */
  async function revokeOnTargets(
    claimed: Lease[],
  ): Promise<Array<{ lease: Lease; result: RevocationResult | Error }>> {
    const byItem = new Map<string, Lease[]>();
    for (const l of claimed) byItem.set(l.itemId, [...(byItem.get(l.itemId) ?? []), l]);
    const tasks: Array<() => Promise<Array<{ lease: Lease; result: RevocationResult | Error }>>> = [];
    for (const [itemId, leases] of byItem) {
      const item = await uow.read((r) => r.dynamic.getItemById(itemId));
      if (!item) {
        tasks.push(async () =>
          leases.map((lease) => ({ lease, result: new Error('the dynamic secret is gone') })),
        );
        continue;
      }
      const settings = await items.unseal(item);
      const producer = producers.get(item.type);
      for (let i = 0; i < leases.length; i += opt.chunkSize) {
        const chunk = leases.slice(i, i + opt.chunkSize);
        tasks.push(async () => {
          const names = chunk.map((l) => l.username);
          let results: Array<RevocationResult | Error>;
          try {
            results = producer.revokeAccounts
              ? await producer.revokeAccounts(settings, names)
              : await Promise.all(
                  names.map((n) => producer.revokeAccount(settings, n).catch((e: unknown) => e as Error)),
                );
          } catch (error) {
            results = names.map(() => (error instanceof Error ? error : new Error(String(error))));
          }
          return chunk.map((lease, j) => ({ lease, result: results[j] ?? new Error('no outcome') }));
        });
      }
    }
    const out: Array<{ lease: Lease; result: RevocationResult | Error }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(opt.parallel, tasks.length) }, async () => {
        while (next < tasks.length) out.push(...(await tasks[next++]!()));
      }),
    );
    return out;
  }

  let reaping: Promise<ReapReport> | null = null;
  /** One pass of the reaper: claims and revokes due leases batch by batch until none is due. */
  async function reapAll(): Promise<ReapReport> {
    const total: ReapReport = { claimed: 0, revoked: 0, retrying: 0, failed: 0 };
    const ctx = systemContext('lease-reaper');
    for (;;) {
      const now = clock.nowMs();
      const claimed = await uow.write((r) => r.dynamic.claimDue(now, now + opt.claimMs, opt.batchSize));
      if (claimed.length === 0) return total;
      const report = await finish(await revokeOnTargets(claimed), ctx, 'expired');
      total.claimed += claimed.length;
      total.revoked += report.revoked;
      total.retrying += report.retrying;
      total.failed += report.failed;
      // Let requests in between batches (the event loop is never held for long).
      await new Promise((resolve) => setImmediate(resolve));
      if (claimed.length < opt.batchSize) return total;
    }
  }

  async function getLease(id: string): Promise<Lease> {
    const lease = await uow.read((r) => r.dynamic.getLease(id));
    if (!lease) throw leaseNotFound();
    return lease;
  }

  return {
    getLease,

    /** Creates an account and its lease; the password is returned here once and never stored. */
    async issue(
      name: string,
      origin: LeaseOrigin,
      ttlSeconds: number | undefined,
      ctx: RequestContext,
    ): Promise<IssuedCredential> {
      const { identityId } = origin;
      const item = await items.get(name);
      const settings = await items.unseal(item);
      const producer = producers.get(item.type);
      if (ttlSeconds !== undefined && ttlSeconds > item.maxTtlSeconds)
        throw validationError(`ttlSeconds must be at most ${item.maxTtlSeconds}.`, { field: 'ttlSeconds' });
      const now = clock.nowMs();
      const ttl = ttlSeconds ?? item.defaultTtlSeconds;
      const username = renderUsername(
        settings.usernameTemplate,
        settings.usernamePrefix,
        { random: random(12), item: item.name, unixTimeSeconds: Math.floor(now / 1000) },
        producer.maxUsernameLength ?? 63,
      );
      const lease: Lease = {
        id: ids.newId('l-'),
        itemId: item.id,
        itemName: item.name,
        identityId,
        username,
        state: 'creating',
        createdAtMs: now,
        expiresAtMs: now + ttl * 1000,
        maxExpiresAtMs: now + item.maxTtlSeconds * 1000,
        nextAttemptAtMs: now + opt.creationGraceMs,
        attempts: 0,
        lastError: null,
        revokedAtMs: null,
        authMethodId: origin.authMethodId ?? null,
        uidNodeId: origin.uidNodeId ?? null,
        uidNodePath: origin.uidNodePath ?? null,
      };
      // 1. The trace first (DESIGN §4.7: no network call inside a transaction): a crash from here on
      //    leaves a `creating` lease naming the account, which the reaper revokes after the grace.
      await uow.write(async (r) => {
        if ((await r.dynamic.countLive(identityId, item.id)) >= item.leaseQuota)
          throw leaseQuotaExceeded(item.leaseQuota);
        await r.dynamic.insertLease(lease);
      });
      // 2. The account; the target enforces the lease's maximum on its own (VALID UNTIL and the like).
      const secret = password(Number(settings.options.passwordLength ?? DEFAULTS.passwordLength));
      try {
        await producer.createAccount(settings, {
          username,
          password: secret,
          expiresAtMs: lease.maxExpiresAtMs,
        });
      } catch (error) {
        const reason = describeFailure(error);
        // Drop whatever may exist; if even that fails, the reaper keeps trying.
        const dropped = await producer.revokeAccount(settings, username).then(
          () => true,
          () => false,
        );
        await uow.write(async (r) => {
          await r.dynamic.updateLease(
            lease.id,
            dropped
              ? { state: 'failed', lastError: reason }
              : { state: 'revoking', lastError: reason, nextAttemptAtMs: clock.nowMs() + backoffMs(1) },
          );
          await r.audit.append(
            { ...leaseEvent('lease.issue_failed', lease, {}, 'failure'), reason },
            ctx,
            clock.nowMs(),
          );
        });
        throw targetFailed('create the account', error);
      }
      // 3. Live.
      const active: Lease = { ...lease, state: 'active', nextAttemptAtMs: lease.expiresAtMs };
      await uow.write(async (r) => {
        await r.dynamic.updateLease(lease.id, { state: 'active', nextAttemptAtMs: active.nextAttemptAtMs });
        await deps.events?.publish(r, 'lease.credential_issued', {
          leaseId: lease.id,
          identityId,
          credentialHash: ids.hashCredential(secret),
        });
        await r.audit.append(
          leaseEvent('lease.issued', active, {
            ttlSeconds: ttl,
            expiresAt: new Date(active.expiresAtMs).toISOString(),
          }),
          ctx,
          clock.nowMs(),
        );
      });
      return { lease: active, password: secret };
    },

    /** Extends an active lease by `incrementSeconds` (default: the item's TTL), never past its maximum. */
    async renew(id: string, incrementSeconds: number | undefined, ctx: RequestContext): Promise<Lease> {
      return uow.write(async (r) => {
        const lease = await r.dynamic.getLease(id);
        if (!lease) throw leaseNotFound();
        const now = clock.nowMs();
        if (lease.state !== 'active' || lease.expiresAtMs <= now)
          throw validationError('Only an active, unexpired lease can be renewed.', {
            field: 'leaseId',
            state: lease.state,
          });
        const item = await r.dynamic.getItemById(lease.itemId);
        const increment = incrementSeconds ?? item?.defaultTtlSeconds ?? DEFAULTS.ttlSeconds;
        const expiresAtMs = Math.min(now + increment * 1000, lease.maxExpiresAtMs);
        await r.dynamic.updateLease(id, { expiresAtMs, nextAttemptAtMs: expiresAtMs });
        const next = { ...lease, expiresAtMs, nextAttemptAtMs: expiresAtMs };
        await r.audit.append(
          leaseEvent('lease.renewed', next, {
            expiresAt: new Date(expiresAtMs).toISOString(),
            capped: expiresAtMs === lease.maxExpiresAtMs,
          }),
          ctx,
          now,
        );
        return next;
      });
    },

    /** Revokes one lease now: drops the account and ends its sessions. Idempotent on a finished lease. */
    async revoke(id: string, ctx: RequestContext): Promise<{ lease: Lease; sessionsTerminated: number }> {
      const claimed = await uow.write((r) => r.dynamic.claimOne(id, clock.nowMs() + opt.claimMs));
      if (!claimed) return { lease: await getLease(id), sessionsTerminated: 0 };
      const [outcome] = await revokeOnTargets([claimed]);
      await finish([outcome!], ctx, 'requested');
      if (outcome!.result instanceof Error) throw targetFailed('revoke the account', outcome!.result);
      return { lease: await getLease(id), sessionsTerminated: outcome!.result.sessionsTerminated };
    },

    /**
     * Makes the live leases of an item-name prefix or of an identity due now, then lets the reaper
     * revoke them (batched) at once; returns how many were marked.
     */
    async revokeMany(filter: { itemPrefix?: string; identityId?: string; itemId?: string }): Promise<number> {
      const count = await uow.write((r) => r.dynamic.markDue(filter, clock.nowMs()));
      return count;
    },

    /** For a transaction that retires an identity: its leases become due (no I/O here). */
    markIdentityDue: (r: Repos, identityId: string) => r.dynamic.markDue({ identityId }, clock.nowMs()),

    /**
     * For a transaction that revokes a credential (a UID token, its subtree, an auth method): the
     * leases obtained through it become due in that transaction, and the reaper runs after commit
     * (no target I/O inside a transaction; should the process die first, the reaper job finds them).
     */
    async markCredentialDue(r: Repos, credential: RevokedCredential): Promise<number> {
      const marked = await r.dynamic.markCredentialDue(credential, clock.nowMs());
      if (marked > 0) r.afterCommit(() => void this.reap().catch(() => {}));
      return marked;
    },

    /** Runs the reaper now (joins a pass in progress, then runs one more so new work is seen). */
    async reap(): Promise<ReapReport> {
      while (reaping) await reaping.catch(() => {});
      reaping = reapAll().finally(() => {
        reaping = null;
      });
      return reaping;
    },

    async list(filter: LeaseFilter, limit: number) {
      const rows = await uow.read((r) => r.dynamic.listLeases(filter, limit + 1));
      const page = rows.slice(0, limit);
      return { items: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
    },

    countRevokeFailed: () => uow.read((r) => r.dynamic.countState('revoke_failed')),

    /** For item deletion with `revokeLeases`: every live lease of the item, revoked now. */
    async revokeAllOf(item: DynamicSecret): Promise<void> {
      await uow.write((r) => r.dynamic.markDue({ itemId: item.id }, clock.nowMs()));
      await this.reap();
    },
  };
}

export type LeasesService = ReturnType<typeof createLeasesService>;
