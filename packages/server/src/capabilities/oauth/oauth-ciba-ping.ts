import { type Kysely, type Migration, sql } from 'kysely';
import type { RequestContext } from '../../core/shared/context.js';
import type { EventBus } from '../../core/shared/events.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import { type OutboundFetch, OutboundRefused } from '../../platform/outbound-fetch.js';
import type { QueryTarget } from '../../storage/prepared.js';

/**
 * CIBA ping mode (OpenID CIBA Core §10.2, issue 14, ADR 0027): a client registered for `ping` gives
 * a `client_notification_token` with its authentication request; once the person approves or denies
 * (or the request expires), the server POSTs `{"auth_req_id": …}` to the client's notification
 * endpoint with that token as a bearer credential, and the client fetches the result from the token
 * endpoint as in poll mode. The token is a credential of the client's: stored sealed under the root
 * key (never in plaintext), sent once, and its row deleted when sent.
 */
export interface CibaPingRecord {
  authReqId: string;
  clientId: string;
  endpoint: string;
  /** The client notification token, sealed (see `CibaPingDeps.seal`). */
  tokenSealed: string;
  expiresAtMs: number;
}

export interface CibaPingRepo {
  insert(record: CibaPingRecord): Promise<void>;
  /** Takes the row (deletes it and returns it): one server sends each ping. */
  take(authReqId: string): Promise<CibaPingRecord | null>;
  /** Drops rows whose request expired before `beforeMs` (no decision ever came). */
  purge(beforeMs: number): Promise<number>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    cibaPings: CibaPingRepo;
  }
}

export const cibaPingMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('oauth_ciba_pings')
      .addColumn('auth_req_id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('token_sealed', 'text', (c) => c.notNull())
      .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};

interface Row {
  auth_req_id: string;
  client_id: string;
  endpoint: string;
  token_sealed: string;
  expires_at_ms: number | string;
}

export function createCibaPingRepo({ db }: QueryTarget): CibaPingRepo {
  const t = db as unknown as Kysely<{ oauth_ciba_pings: Row }>;
  return {
    async insert(r) {
      await t
        .insertInto('oauth_ciba_pings')
        .values({
          auth_req_id: r.authReqId,
          client_id: r.clientId,
          endpoint: r.endpoint,
          token_sealed: r.tokenSealed,
          expires_at_ms: r.expiresAtMs,
        })
        .execute();
    },
    async take(authReqId) {
      const row = await t
        .selectFrom('oauth_ciba_pings')
        .selectAll()
        .where('auth_req_id', '=', authReqId)
        .executeTakeFirst();
      if (!row) return null;
      // The conditional delete decides which server sends it (one affected row, on any store).
      const gone = await sql`delete from oauth_ciba_pings where auth_req_id = ${authReqId}`.execute(t);
      if (Number(gone.numAffectedRows ?? 0) !== 1) return null;
      return {
        authReqId: row.auth_req_id,
        clientId: row.client_id,
        endpoint: row.endpoint,
        tokenSealed: row.token_sealed,
        expiresAtMs: Number(row.expires_at_ms),
      };
    },
    async purge(beforeMs) {
      const result = await t
        .deleteFrom('oauth_ciba_pings')
        .where('expires_at_ms', '<', beforeMs)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export interface CibaPingDeps {
  uow: UnitOfWork;
  clock: Clock;
  events: EventBus;
  /** Seals / opens the notification token under the root key, bound to the request id. */
  seal(token: string, authReqId: string): string;
  unseal(sealed: string, authReqId: string): string;
  log: { warn(obj: object, msg: string): void };
  audit(
    type: 'oauth.ciba_ping_sent' | 'oauth.ciba_ping_failed',
    record: CibaPingRecord,
    data: Record<string, unknown>,
  ): Promise<void>;
  /** How to POST to the client's endpoint (default: the global `fetch`; the module: the outbound guard). */
  fetch?: OutboundFetch;
  /** Retries and their spacing (tests shorten them). */
  attempts?: number;
  retryDelayMs?: number;
}

/** Longest client notification token taken (CIBA §7.1 sets no bound; every string is bounded). */
export const MAX_NOTIFICATION_TOKEN_LENGTH = 1024;

export function createCibaPing(deps: CibaPingDeps) {
  const { uow, clock } = deps;
  const attempts = deps.attempts ?? 3;
  const delayMs = deps.retryDelayMs ?? 500;
  const inFlight = new Set<Promise<void>>();

  async function deliver(authReqId: string): Promise<void> {
    const record = await uow.write((r) => r.cibaPings.take(authReqId));
    if (!record) return; // poll mode, or another server sent it
    const token = deps.unseal(record.tokenSealed, authReqId);
    let last = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, delayMs * i));
      try {
        const res = await (deps.fetch ?? fetch)(record.endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ auth_req_id: authReqId }),
          redirect: 'manual',
          signal: AbortSignal.timeout(5_000),
        });
        await res.body?.cancel();
        // §10.2: the client answers 2xx (204 expected); anything else is retried.
        if (res.status >= 200 && res.status < 300) {
          await deps.audit('oauth.ciba_ping_sent', record, { status: res.status, attempt: i + 1 });
          return;
        }
        last = `status_${res.status}`;
      } catch (error) {
        if (error instanceof OutboundRefused) {
          last = `outbound_${error.reason}`;
          break; // the address will not change its nature on a retry
        }
        last = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
      }
    }
    deps.log.warn({ authReqId, clientId: record.clientId, reason: last }, 'CIBA ping not delivered');
    await deps.audit('oauth.ciba_ping_failed', record, { reason: last, attempts });
  }

  // After commit, never inside a transaction: a decision (or expiry) on any server pings the client.
  deps.events.committed('approval.decided', ({ id, status }) => {
    if (status !== 'approved' && status !== 'denied' && status !== 'expired') return;
    const p = deliver(id)
      .catch((error) => deps.log.warn({ err: error, authReqId: id }, 'CIBA ping failed'))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  });

  return {
    /** Remembers where to ping for this request (ping-mode clients only). */
    async register(record: Omit<CibaPingRecord, 'tokenSealed'>, token: string, _ctx: RequestContext) {
      await uow.write((r) =>
        r.cibaPings.insert({ ...record, tokenSealed: deps.seal(token, record.authReqId) }),
      );
    },
    /** Rows of requests that ended an hour ago without a decision. */
    purge: () => uow.write((r) => r.cibaPings.purge(clock.nowMs() - 3_600_000)),
    /** Waits for pings in flight (graceful shutdown). */
    idle: async () => {
      await Promise.all([...inFlight]);
    },
  };
}

export type CibaPing = ReturnType<typeof createCibaPing>;
