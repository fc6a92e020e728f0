import type { AuditEvent, AuditLedgerReport, ListAuditEventsQuery } from '@tessera/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError, SESSION } from '../api.js';
import { Badge, Empty, ErrorNote, Field, Loading, Page, when } from '../ui.js';

const TAIL_MS = 2000;
const KEEP = 500;

/** The delegation chain an event records (`data.act`, outermost actor first), if any. */
function chainOf(e: AuditEvent): string[] {
  const chain: string[] = [];
  let act = (e.data as { act?: unknown }).act as { sub?: string; act?: unknown } | undefined;
  while (act && typeof act === 'object' && chain.length < 10) {
    if (typeof act.sub === 'string') chain.push(act.sub);
    act = act.act as typeof act | undefined;
  }
  return chain;
}

function Verify() {
  const [state, setState] = useState<{
    running: boolean;
    started: number;
    report: AuditLedgerReport | null;
    error: string | null;
  }>({
    running: false,
    started: 0,
    report: null,
    error: null,
  });
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!state.running) return;
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, [state.running]);
  const run = async () => {
    setState({ running: true, started: Date.now(), report: null, error: null });
    try {
      const report = await api.verifyAuditLedger(SESSION);
      setState((s) => ({ ...s, running: false, report }));
    } catch (e) {
      setState((s) => ({ ...s, running: false, error: describeError(e) }));
    }
  };
  const r = state.report;
  return (
    <div class="card">
      <h2>Verify the chain</h2>
      <p class="fine">Recomputes every event's hash link and checks the signed checkpoints.</p>
      <button type="button" class="primary" disabled={state.running} onClick={run}>
        {state.running ? 'Verifying…' : 'Verify now'}
      </button>
      {state.running ? (
        <div role="status">
          <progress aria-label="Verification in progress" />{' '}
          <span class="fine">{((now - state.started) / 1000).toFixed(1)} s</span>
        </div>
      ) : null}
      <ErrorNote error={state.error} onRetry={run} />
      {r ? (
        <div role="status" class={`note ${r.ok ? 'ok' : 'error'}`} data-verified={r.ok ? 'ok' : 'broken'}>
          <p>
            <Badge tone={r.ok ? 'ok' : 'bad'}>{r.ok ? 'intact' : 'broken'}</Badge> {r.checkedEvents} events
            checked up to #{r.lastSeq}; checkpoints {r.checkpoints.matched}/{r.checkpoints.total} matched.
          </p>
          {r.problem ? (
            <p>
              {r.problem.kind} at #{r.problem.seq}: {r.problem.message}
            </p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

export function AuditPage() {
  const [filters, setFilters] = useState<ListAuditEventsQuery>({});
  const [draft, setDraft] = useState({ type: '', outcome: '', identityId: '', resourcePrefix: '' });
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tail, setTail] = useState(false);
  const [open, setOpen] = useState<AuditEvent | null>(null);
  const newest = useRef(0);

  useEffect(() => {
    let live = true;
    setEvents(null);
    api.listAuditEvents(SESSION, { ...filters, limit: 100 }).then(
      (page) => {
        if (!live) return;
        setEvents(page.items);
        newest.current = page.items[0]?.seq ?? newest.current;
        setError(null);
      },
      (e) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [filters]);

  useEffect(() => {
    if (!tail) return;
    const t = setInterval(async () => {
      try {
        const page = await api.listAuditEvents(SESSION, { ...filters, afterSeq: newest.current, limit: 200 });
        if (page.items.length === 0) return;
        const fresh = [...page.items].reverse();
        newest.current = fresh[0]?.seq ?? newest.current;
        setEvents((old) => [...fresh, ...(old ?? [])].slice(0, KEEP));
      } catch (e) {
        setError(describeError(e));
      }
    }, TAIL_MS);
    return () => clearInterval(t);
  }, [tail, filters]);

  return (
    <Page title="Audit">
      <Verify />
      <form
        class="filters"
        role="search"
        aria-label="Filter events"
        onSubmit={(e) => {
          e.preventDefault();
          const q: ListAuditEventsQuery = {};
          if (draft.type) q.type = draft.type;
          if (draft.outcome) q.outcome = draft.outcome as NonNullable<ListAuditEventsQuery['outcome']>;
          if (draft.identityId) q.identityId = draft.identityId;
          if (draft.resourcePrefix) q.resourcePrefix = draft.resourcePrefix;
          setFilters(q);
        }}
      >
        <Field label="Type">
          <input
            name="type"
            value={draft.type}
            onInput={(e) => setDraft({ ...draft, type: e.currentTarget.value })}
          />
        </Field>
        <Field label="Outcome">
          <select
            value={draft.outcome}
            onChange={(e) => setDraft({ ...draft, outcome: e.currentTarget.value })}
          >
            <option value="">any</option>
            <option>success</option>
            <option>failure</option>
            <option>denied</option>
          </select>
        </Field>
        <Field label="Identity id">
          <input
            value={draft.identityId}
            onInput={(e) => setDraft({ ...draft, identityId: e.currentTarget.value })}
          />
        </Field>
        <Field label="Resource prefix">
          <input
            value={draft.resourcePrefix}
            onInput={(e) => setDraft({ ...draft, resourcePrefix: e.currentTarget.value })}
          />
        </Field>
        <button type="submit">Apply</button>
        <label class="toggle">
          <input type="checkbox" checked={tail} onChange={(e) => setTail(e.currentTarget.checked)} /> Live
          tail
        </label>
      </form>
      <ErrorNote error={error} />
      {events === null && !error ? <Loading /> : null}
      {events?.length === 0 ? <Empty>No event matches these filters.</Empty> : null}
      {events?.length ? (
        <table class="audit">
          <caption class="sr-only">Audit events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Type</th>
              <th scope="col">Outcome</th>
              <th scope="col">Actor</th>
              <th scope="col">Resource</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td>
                  <button
                    type="button"
                    class="link"
                    onClick={() => setOpen(e)}
                    aria-label={`Event ${e.seq} details`}
                  >
                    {e.seq}
                  </button>
                </td>
                <td>{when(e.at)}</td>
                <td>
                  <code>{e.type}</code>
                </td>
                <td>
                  <Badge tone={e.outcome === 'success' ? 'ok' : 'bad'}>{e.outcome}</Badge>
                </td>
                <td>{e.actor.identityId ?? '—'}</td>
                <td>{e.resource ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? (
        <div class="card" role="region" aria-label={`Event ${open.seq}`}>
          <h2>Event {open.seq}</h2>
          <dl class="facts">
            <dt>Type</dt>
            <dd>{open.type}</dd>
            <dt>Actor</dt>
            <dd>
              {open.actor.identityId ?? '—'} via {open.actor.authMethodId ?? '—'}
              {open.actor.uidNodeId ? ` (UID ${open.actor.uidNodeId})` : ''}
            </dd>
            <dt>Delegation</dt>
            <dd>{chainOf(open).length ? chainOf(open).join(' ← ') : 'none: the actor acted for itself'}</dd>
            <dt>Request</dt>
            <dd>
              {open.requestId ?? '—'} from {open.sourceIp ?? '—'}
            </dd>
          </dl>
          <pre>{JSON.stringify(open.data, null, 2)}</pre>
          <button type="button" onClick={() => setOpen(null)}>
            Close
          </button>
        </div>
      ) : null}
    </Page>
  );
}
