import pg from 'pg';
import type { Store } from './database.js';

/**
 * The advisory lock whose holder is the cluster's leader: ASCII "tessera" followed by 1. Advisory
 * locks are per database, so clusters on other databases of the same PostgreSQL never meet.
 */
export const LEADER_LOCK_KEY = '8387236820507844865';

/** Which server of a cluster runs the once-per-cluster background jobs (jobs/scheduler.ts). */
export interface Leadership {
  /** True while this server holds the leadership. */
  isLeader(): boolean;
  /** Gives up the leadership (ending the session releases the lock) and stops trying. */
  close(): Promise<void>;
}

export interface LeaderElectionOptions {
  /** How often a follower tries to take the lock, and the leader checks its connection; default 1 s. */
  retryMs?: number;
  /** Told each time this server becomes or stops being the leader. */
  onChange?: (leader: boolean) => void;
  onError?: (error: unknown) => void;
}

/**
 * Leader election (issue 11). SQLite: one process owns the store, so it is always the leader.
 * PostgreSQL: the leader is the server whose dedicated session holds `pg_try_advisory_lock`. The
 * lock lives as long as that session: when the leader's process dies (even by SIGKILL) its
 * connection closes, PostgreSQL ends the session and releases the lock, and a follower, trying
 * every `retryMs`, takes it over. The leader checks its connection at the same pace and steps down
 * as soon as a check fails (the session, and so the lock, may be gone), so two leaders overlap at
 * most by about one check interval after a network partition; the jobs it gates keep their own
 * claims and idempotence (leases, rotation), so an overlap costs work, never correctness.
 */
export function startLeaderElection(store: Store, options: LeaderElectionOptions = {}): Leadership {
  if (store.dialect !== 'postgres' || !store.pgConfig) {
    options.onChange?.(true);
    return { isLeader: () => true, close: async () => {} };
  }
  const retryMs = options.retryMs ?? 1000;
  const onError = options.onError ?? (() => {});
  let client: pg.Client | null = null;
  let leader = false;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  const setLeader = (value: boolean) => {
    if (leader === value) return;
    leader = value;
    options.onChange?.(value);
  };
  /** Drops the session (and with it the lock, if the server still has it). */
  const drop = () => {
    setLeader(false);
    const c = client;
    client = null;
    c?.end().catch(() => {});
  };

  const attempt = async () => {
    if (!client) {
      const c = new pg.Client({
        connectionString: store.pgConfig!.connectionString,
        application_name: 'tessera-leader',
        keepAlive: true,
        // A check that hangs (a partition) counts as a lost session.
        query_timeout: Math.max(2 * retryMs, 1000),
      });
      c.on('error', (error) => {
        onError(error);
        if (client === c) drop();
      });
      await c.connect();
      if (closed) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
    }
    if (leader) {
      await client.query('select 1');
      return;
    }
    const result = await client.query<{ locked: boolean }>(
      'select pg_try_advisory_lock($1::bigint) as locked',
      [LEADER_LOCK_KEY],
    );
    if (!closed) setLeader(result.rows[0]?.locked === true);
  };

  const loop = async () => {
    try {
      await attempt();
    } catch (error) {
      onError(error);
      drop();
    }
    if (closed) return;
    timer = setTimeout(() => {
      timer = null;
      void loop();
    }, retryMs);
    timer.unref();
  };
  void loop();

  return {
    isLeader: () => leader,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      setLeader(false);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
