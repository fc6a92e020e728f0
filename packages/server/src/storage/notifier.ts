import pg from 'pg';
import type { Store } from './database.js';
import { REVOCATION_CHANNEL } from './repos/revocations.repo.js';
import { ACCESS_CHANNEL } from './repos/roles.repo.js';

/**
 * On PostgreSQL, a dedicated connection LISTENs for revocations committed by any server and calls
 * `onRevocation` at once; polling stays as the fallback (and is all there is on SQLite, where
 * one process owns the store). Likewise for changes to roles and associations (`onAccessChange`;
 * the access cache's short TTL is the fallback). Reconnects with backoff if the connection drops.
 */
export function listenForRevocations(
  store: Store,
  onRevocation: () => void,
  onError: (error: unknown) => void,
  onAccessChange: () => void = () => {},
): { close(): Promise<void> } {
  if (store.dialect !== 'postgres' || !store.pgConfig) return { close: async () => {} };
  let client: pg.Client | null = null;
  let closed = false;
  let delayMs = 100;
  let timer: NodeJS.Timeout | null = null;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: store.pgConfig!.connectionString });
    c.on('notification', (n) => (n.channel === ACCESS_CHANNEL ? onAccessChange() : onRevocation()));
    c.on('error', (error) => {
      onError(error);
      reconnect();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${REVOCATION_CHANNEL}`);
      await c.query(`LISTEN ${ACCESS_CHANNEL}`);
      client = c;
      delayMs = 100;
      onRevocation(); // catch up on anything missed while disconnected
      onAccessChange();
    } catch (error) {
      onError(error);
      c.end().catch(() => {});
      reconnect();
    }
  };
  const reconnect = () => {
    if (closed || timer) return;
    client?.end().catch(() => {});
    client = null;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delayMs);
    timer.unref();
    delayMs = Math.min(delayMs * 2, 10_000);
  };
  void connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => {});
    },
  };
}
