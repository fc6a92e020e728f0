import type { AuditEvent, Identity } from '@tessera/sdk';
import { useEffect, useState } from 'preact/hooks';
import { api, SESSION } from '../api.js';
import { ErrorNote, Link, Loading, Page, useLoad, when } from '../ui.js';

const PAGE = 500;
const FIRST_PAGE = 100;
/** Counts are built page by page so the first paint never waits for a large estate. */
const MAX_PAGES = 40;

interface Counts {
  total: number;
  byKind: Record<string, number>;
  byState: Record<string, number>;
  owners: Set<string>;
  complete: boolean;
}

function tally(counts: Counts, items: Identity[]): Counts {
  const next = { ...counts, byKind: { ...counts.byKind }, byState: { ...counts.byState } };
  for (const i of items) {
    next.total++;
    next.byKind[i.kind] = (next.byKind[i.kind] ?? 0) + 1;
    next.byState[i.state] = (next.byState[i.state] ?? 0) + 1;
    next.owners.add(i.owner);
  }
  return next;
}

function useIdentityCounts() {
  const [counts, setCounts] = useState<Counts | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    (async () => {
      let c: Counts = { total: 0, byKind: {}, byState: {}, owners: new Set(), complete: false };
      let cursor: string | undefined;
      for (let n = 0; n < MAX_PAGES && live; n++) {
        // A small first page so the first figures show at once; then the largest pages the API gives.
        const limit = n === 0 ? FIRST_PAGE : PAGE;
        const page = await api.listIdentities(SESSION, { limit, ...(cursor ? { cursor } : {}) });
        c = tally(c, page.items);
        cursor = page.nextCursor ?? undefined;
        c.complete = !cursor;
        if (live) setCounts(c);
        if (!cursor) break;
      }
    })().catch((e) => live && setError(String(e.message ?? e)));
    return () => {
      live = false;
    };
  }, []);
  return { counts, error };
}

function Tally(props: { title: string; values: Record<string, number> }) {
  const entries = Object.entries(props.values).sort((a, b) => b[1] - a[1]);
  return (
    <div class="card">
      <h2>{props.title}</h2>
      {entries.length === 0 ? (
        <p class="fine">None yet.</p>
      ) : (
        <dl class="tally">
          {entries.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}

function EventList(props: { events: AuditEvent[] | undefined; empty: string }) {
  if (!props.events) return <Loading />;
  if (props.events.length === 0) return <p class="fine">{props.empty}</p>;
  return (
    <ul class="events">
      {props.events.map((e) => (
        <li key={e.id}>
          <time>{when(e.at)}</time> <code>{e.type}</code> {e.reason ?? ''}{' '}
          {e.sourceIp ? `from ${e.sourceIp}` : ''}
        </li>
      ))}
    </ul>
  );
}

export function OverviewPage() {
  const { counts, error } = useIdentityCounts();
  const failed = useLoad(() => api.listAuditEvents(SESSION, { outcome: 'failure', limit: 8 }));
  const denied = useLoad(() => api.listAuditEvents(SESSION, { outcome: 'denied', limit: 8 }));
  return (
    <Page title="Overview">
      <ErrorNote error={error} />
      <div class="cards">
        <div class="card stat">
          <h2>Identities</h2>
          <p class="big" aria-live="polite">
            {counts ? `${counts.total}${counts.complete ? '' : '+'}` : '…'}
          </p>
          <p class="fine">
            {counts ? `${counts.owners.size} owners` : 'Counting…'} ·{' '}
            <Link href="/ui/identities">Inventory</Link>
          </p>
        </div>
        <Tally title="By kind" values={counts?.byKind ?? {}} />
        <Tally title="By state" values={counts?.byState ?? {}} />
      </div>
      <div class="cards two">
        <div class="card">
          <h2>Recent failed authentications</h2>
          <ErrorNote error={failed.error} onRetry={failed.reload} />
          <EventList events={failed.data?.items} empty="No failed authentication recently." />
        </div>
        <div class="card">
          <h2>Recent denials</h2>
          <ErrorNote error={denied.error} onRetry={denied.reload} />
          <EventList events={denied.data?.items} empty="Nothing was denied recently." />
          <p class="fine">
            <Link href="/ui/audit">Open the audit log</Link> to verify the chain.
          </p>
        </div>
      </div>
    </Page>
  );
}
