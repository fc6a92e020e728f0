/**
 * Leases of dynamic secrets (issue 6, ADR 0010) held by the agent and by `tessera run`: one lease
 * per dynamic secret name, renewed at about half of its remaining TTL (±10% jitter). When a lease
 * cannot be renewed any more — it reached its maximum expiry, or the server refused the renewal — and
 * replacement is allowed (the agent), a new lease is obtained; the old one is *retired*: once the
 * caller has switched to the new credential (the file is rewritten) it is revoked after a grace, so a
 * process that re-reads the file on change can reconnect first. Without replacement (`tessera run`:
 * the child's environment cannot change) the lease is kept until its maximum and a warning is logged.
 *
 * Passwords are held in memory only and never logged.
 */

import { TesseraApiError, type TesseraClient, TesseraNetworkError } from '@tessera/sdk';
import type { AgentLog } from './agent.log.js';

/** The fields a template or an environment mapping can read from a lease. */
export const DYNAMIC_FIELDS = ['username', 'password', 'leaseId', 'expiresAt'] as const;
export type DynamicField = (typeof DYNAMIC_FIELDS)[number];

/** What a template reads: the credential of one dynamic secret. */
export type DynamicValues = Readonly<Record<DynamicField, string>>;

/** Renewal is planned at this fraction of the remaining TTL… */
export const RENEW_AT_FRACTION = 0.5;
/** …spread by ±10% so a fleet started at once does not renew at once. */
export const RENEW_JITTER = 0.1;
/** Never plan a renewal sooner than this (a lease with a few seconds left). */
export const MIN_RENEW_DELAY_MS = 1000;

/** A lease held by the keeper. */
export interface HeldLease {
  name: string;
  leaseId: string;
  username: string;
  password: string;
  expiresAtMs: number;
  maxExpiresAtMs: number;
  renewAtMs: number;
  /** Set once a renewal was refused or the maximum is reached and no replacement is allowed. */
  final: boolean;
}

/** A replaced lease waiting for its revocation (`revokeAtMs` is set once the caller switched). */
interface RetiringLease {
  name: string;
  leaseId: string;
  expiresAtMs: number;
  revokeAtMs: number | undefined;
}

/** Dependencies of {@link LeaseKeeper}. */
export interface LeaseKeeperDeps {
  client: TesseraClient;
  /** Runs `fn` with a valid session token (re-authenticating as needed). */
  withToken<T>(fn: (token: string) => Promise<T>): Promise<T>;
  now(): number;
  /** Uniform in [0, 1): jitter. */
  random(): number;
  log: AgentLog;
}

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** Replace a lease that cannot be renewed any more (the agent); false for `tessera run`. */
  replace: boolean;
  /** Seconds between the switch to a new lease and the revocation of the old one. */
  revokeGraceSeconds: number;
}

/** True for failures worth retrying later: no answer, overload. */
function isTransient(err: unknown): boolean {
  if (err instanceof TesseraNetworkError) return true;
  return err instanceof TesseraApiError && (err.status === 429 || err.status >= 500);
}

/** A 401 means the session token, not the lease: let the session logic handle it. */
function isLeaseRefusal(err: unknown): boolean {
  return err instanceof TesseraApiError && err.status !== 401 && !isTransient(err);
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** See the file comment. */
export class LeaseKeeper {
  readonly #deps: LeaseKeeperDeps;
  readonly #options: LeaseKeeperOptions;
  readonly #held = new Map<string, HeldLease>();
  #retiring: RetiringLease[] = [];

  /** @param deps - see {@link LeaseKeeperDeps} @param options - see {@link LeaseKeeperOptions} */
  constructor(deps: LeaseKeeperDeps, options: LeaseKeeperOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /** The leases held now, by dynamic secret name (read-only view, for tests and health). */
  get held(): ReadonlyMap<string, Readonly<HeldLease>> {
    return this.#held;
  }

  /** Leases replaced and not revoked yet. */
  get retiring(): readonly Readonly<RetiringLease>[] {
    return this.#retiring;
  }

  /** Takes over the leases of another keeper (the agent's configuration was reloaded). */
  adopt(other: LeaseKeeper): void {
    for (const [name, lease] of other.#held) this.#held.set(name, lease);
    this.#retiring.push(...other.#retiring);
    other.#held.clear();
    other.#retiring = [];
  }

  /** The credential of each held lease, for rendering. */
  values(): Map<string, DynamicValues> {
    const out = new Map<string, DynamicValues>();
    for (const [name, l] of this.#held)
      out.set(name, {
        username: l.username,
        password: l.password,
        leaseId: l.leaseId,
        expiresAt: iso(l.expiresAtMs),
      });
    return out;
  }

  /**
   * Makes sure a lease is held for each of `names`; leases of names no longer used are retired.
   *
   * @returns the names for which a new lease was obtained
   */
  async ensure(names: readonly string[]): Promise<string[]> {
    const wanted = new Set(names);
    for (const [name, lease] of this.#held) {
      if (wanted.has(name)) continue;
      this.#held.delete(name);
      this.#retire(lease);
    }
    const obtained: string[] = [];
    for (const name of wanted) {
      const lease = this.#held.get(name);
      if (lease && lease.expiresAtMs > this.#deps.now()) continue;
      if (lease) {
        this.#held.delete(name);
        this.#retire(lease);
      }
      await this.#obtain(name);
      obtained.push(name);
    }
    return obtained;
  }

  /**
   * Renews the leases whose renewal time has come; replaces (when allowed) those that cannot be
   * renewed any more. Throws on a transient failure (the caller backs off and retries).
   *
   * @returns the names whose lease was replaced (their credential changed)
   */
  async maintain(): Promise<string[]> {
    const replaced: string[] = [];
    for (const lease of [...this.#held.values()]) {
      const now = this.#deps.now();
      if (now < lease.renewAtMs) continue;
      const atMax = lease.expiresAtMs >= lease.maxExpiresAtMs;
      if (!atMax && !lease.final) {
        try {
          const renewed = await this.#deps.withToken((t) => this.#deps.client.renewLease(t, lease.leaseId));
          lease.expiresAtMs = Date.parse(renewed.expiresAt);
          lease.maxExpiresAtMs = Date.parse(renewed.maxExpiresAt);
          lease.renewAtMs = this.#planRenewal(lease.expiresAtMs);
          this.#deps.log({
            level: 'info',
            event: 'lease.renewed',
            message: `lease ${lease.leaseId} of ${lease.name} renewed until ${renewed.expiresAt}`,
            fields: { name: lease.name, leaseId: lease.leaseId, expiresAt: renewed.expiresAt },
          });
          continue;
        } catch (err) {
          if (!isLeaseRefusal(err)) throw err;
          this.#deps.log({
            level: 'warn',
            event: 'lease.renew_refused',
            message: `renewal of lease ${lease.leaseId} of ${lease.name} refused: ${(err as Error).message}`,
            fields: { name: lease.name, leaseId: lease.leaseId, code: (err as TesseraApiError).code },
          });
        }
      }
      if (!this.#options.replace) {
        if (!lease.final)
          this.#deps.log({
            level: 'warn',
            event: 'lease.final',
            message: `lease ${lease.leaseId} of ${lease.name} cannot be renewed any more; the credential expires at ${iso(lease.expiresAtMs)}`,
            fields: { name: lease.name, leaseId: lease.leaseId, expiresAt: iso(lease.expiresAtMs) },
          });
        lease.final = true;
        lease.renewAtMs = Number.POSITIVE_INFINITY;
        continue;
      }
      await this.#obtain(lease.name);
      this.#retire(lease);
      replaced.push(lease.name);
    }
    return replaced;
  }

  /** Starts the grace of every replaced lease the caller has now switched away from. */
  switched(): void {
    const at = this.#deps.now() + this.#options.revokeGraceSeconds * 1000;
    for (const r of this.#retiring) r.revokeAtMs ??= at;
  }

  /** Revokes the retired leases whose grace is over (a failure is retried on a later call). */
  async revokeDue(): Promise<void> {
    const now = this.#deps.now();
    const due = this.#retiring.filter((r) => r.revokeAtMs !== undefined && r.revokeAtMs <= now);
    for (const r of due) if (await this.#revoke(r.name, r.leaseId)) this.#drop(r);
  }

  /** Revokes every lease, held or retiring (exit of `tessera run`, or `revoke_leases_on_exit`). */
  async revokeAll(): Promise<void> {
    const all = [
      ...[...this.#held.values()].map((l) => ({ name: l.name, leaseId: l.leaseId })),
      ...this.#retiring.map((r) => ({ name: r.name, leaseId: r.leaseId })),
    ];
    this.#held.clear();
    this.#retiring = [];
    for (const l of all) await this.#revoke(l.name, l.leaseId);
  }

  /** When the keeper has something to do next (epoch ms), or undefined. */
  nextWakeAt(): number | undefined {
    const times = [
      ...[...this.#held.values()].map((l) => l.renewAtMs),
      ...this.#retiring.flatMap((r) => (r.revokeAtMs === undefined ? [] : [r.revokeAtMs])),
    ].filter((t) => Number.isFinite(t));
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  // ------------------------------------------------------------------ internals

  /** Half of the remaining TTL, ±10%, at least {@link MIN_RENEW_DELAY_MS}. */
  #planRenewal(expiresAtMs: number): number {
    const now = this.#deps.now();
    const jitter = 1 + (this.#deps.random() * 2 - 1) * RENEW_JITTER;
    return now + Math.max(MIN_RENEW_DELAY_MS, (expiresAtMs - now) * RENEW_AT_FRACTION * jitter);
  }

  async #obtain(name: string): Promise<HeldLease> {
    const c = await this.#deps.withToken((t) => this.#deps.client.getDynamicSecretValue(t, name));
    const expiresAtMs = Date.parse(c.expiresAt);
    const lease: HeldLease = {
      name,
      leaseId: c.leaseId,
      username: c.username,
      password: c.password,
      expiresAtMs,
      maxExpiresAtMs: Date.parse(c.maxExpiresAt),
      renewAtMs: this.#planRenewal(expiresAtMs),
      final: false,
    };
    this.#held.set(name, lease);
    this.#deps.log({
      level: 'info',
      event: 'lease.obtained',
      message: `lease ${c.leaseId} of ${name} obtained (user ${c.username}); expires at ${c.expiresAt}, at most ${c.maxExpiresAt}`,
      fields: { name, leaseId: c.leaseId, username: c.username, expiresAt: c.expiresAt },
    });
    return lease;
  }

  #retire(lease: HeldLease): void {
    this.#retiring.push({
      name: lease.name,
      leaseId: lease.leaseId,
      expiresAtMs: lease.expiresAtMs,
      revokeAtMs: undefined,
    });
  }

  #drop(r: RetiringLease): void {
    this.#retiring = this.#retiring.filter((x) => x !== r);
  }

  /** @returns false when the revocation should be retried later */
  async #revoke(name: string, leaseId: string): Promise<boolean> {
    try {
      await this.#deps.withToken((t) => this.#deps.client.revokeLease(t, leaseId));
      this.#deps.log({
        level: 'info',
        event: 'lease.revoked',
        message: `lease ${leaseId} of ${name} revoked`,
        fields: { name, leaseId },
      });
      return true;
    } catch (err) {
      const retry = isTransient(err);
      this.#deps.log({
        level: 'warn',
        event: 'lease.revoke_failed',
        message: `revocation of lease ${leaseId} of ${name} failed${retry ? ' (will retry)' : ''}: ${(err as Error).message}`,
        fields: { name, leaseId },
      });
      return !retry;
    }
  }
}
