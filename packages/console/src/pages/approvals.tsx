import type { Approval } from '@tessera/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, SESSION } from '../api.js';
import { Badge, Empty, ErrorNote, Field, Link, Loading, Page, useAction, useLoad, when } from '../ui.js';

/** One line that says exactly what would be allowed. */
function describeAction(a: Approval['action']): string {
  switch (a.kind) {
    case 'jit.elevate':
      return `Give identity ${a.identityId} the role ${a.roleName} for ${Math.round(a.durationSec / 60)} min`;
    case 'mcp.tool_call':
      return `Call the tool ${a.tool} on MCP server ${a.server} (arguments ${a.argumentsHash.slice(0, 12)}…)`;
    case 'ciba.token':
      return `Issue a token to client ${a.clientId} for scope "${a.scope}"${a.bindingMessage ? ` — "${a.bindingMessage}"` : ''}`;
    case 'secret.read':
      return `Read the secret ${a.path}`;
  }
}

function approversOf(a: Approval['approvers']): string {
  switch (a.kind) {
    case 'owner':
      return `the owner of ${a.ownerOf}`;
    case 'person':
      return a.person;
    case 'group':
      return `group ${a.group}${a.required ? ` (${a.required} needed)` : ''}`;
  }
}

const TONE = { pending: 'warn', approved: 'ok', used: 'muted', denied: 'bad', expired: 'muted' } as const;

function Request(props: { request: Approval; onDecided: () => void; intent?: 'approve' | 'deny' }) {
  const r = props.request;
  const [comment, setComment] = useState('');
  const action = useAction();
  const intended = useRef<HTMLButtonElement>(null);
  // A link may say which decision the person meant; it only focuses that button (opening a link
  // never decides: link previews and scanners open links too).
  useEffect(() => {
    if (props.intent) intended.current?.focus();
  }, [props.intent]);
  const decide = async (decision: 'approve' | 'deny') => {
    const done = await action.run(() =>
      api.decideApproval(SESSION, r.id, decision, comment.trim() ? { comment: comment.trim() } : {}),
    );
    if (done) props.onDecided();
  };
  return (
    <article class="card" aria-labelledby={`req-${r.id}`}>
      <h2 id={`req-${r.id}`}>{describeAction(r.action)}</h2>
      <p>
        <Badge tone={TONE[r.status]}>{r.status}</Badge>{' '}
        {r.breakGlass ? <Badge tone="bad">break-glass</Badge> : null} asked by {r.requester.kind}{' '}
        <strong>{r.requester.name}</strong> · {when(r.createdAt)}
      </p>
      <blockquote>{r.justification}</blockquote>
      <p class="fine">
        Decided by {approversOf(r.approvers)} · expires {when(r.expiresAt)}
        {r.grantExpiresAt ? ` · grant valid until ${when(r.grantExpiresAt)}` : ''}
      </p>
      {r.decisions.length ? (
        <ul class="fine">
          {r.decisions.map((d) => (
            <li key={`${d.by}-${d.at}`}>
              {d.by} {d.decision === 'approve' ? 'approved' : 'denied'} at {when(d.at)}
              {d.comment ? `: ${d.comment}` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      {r.status === 'pending' ? (
        <div class="row">
          <Field label="Comment (optional)">
            <input
              name={`comment-${r.id}`}
              value={comment}
              onInput={(e) => setComment(e.currentTarget.value)}
            />
          </Field>
          <button
            type="button"
            class="primary"
            disabled={action.busy}
            ref={props.intent === 'approve' ? intended : undefined}
            onClick={() => decide('approve')}
          >
            Approve
          </button>
          <button
            type="button"
            class="danger"
            disabled={action.busy}
            ref={props.intent === 'deny' ? intended : undefined}
            onClick={() => decide('deny')}
          >
            Deny
          </button>
        </div>
      ) : null}
      <ErrorNote error={action.error} />
    </article>
  );
}

/** `/ui/approvals`: the inbox; `/ui/approvals/<id>`: one request (the webhook's approve/deny link). */
export function ApprovalsPage(props: { path: string }) {
  const id = props.path.split('/')[3];
  return id ? <ApprovalDetail id={decodeURIComponent(id)} /> : <ApprovalInbox />;
}

function ApprovalDetail(props: { id: string }) {
  const one = useLoad(() => api.getApproval(SESSION, props.id), [props.id]);
  const asked = new URLSearchParams(location.search).get('decision');
  const intent = asked === 'approve' || asked === 'deny' ? asked : undefined;
  return (
    <Page title="Approval request" actions={<Link href="/ui/approvals">All approvals</Link>}>
      <ErrorNote error={one.error} onRetry={one.reload} />
      {one.loading && !one.data ? <Loading /> : null}
      {one.data ? (
        <Request
          request={one.data}
          onDecided={one.reload}
          {...(intent && one.data.status === 'pending' ? { intent } : {})}
        />
      ) : null}
    </Page>
  );
}

/** The inbox: what waits for the signed-in principal's decision, then what was decided lately. */
function ApprovalInbox() {
  const [show, setShow] = useState<'pending' | 'all'>('pending');
  const list = useLoad(
    () => api.listApprovals(SESSION, show === 'pending' ? { status: 'pending', limit: 100 } : { limit: 100 }),
    [show],
  );
  return (
    <Page
      title="Approvals"
      actions={
        <>
          <Field label="Show">
            <select value={show} onChange={(e) => setShow(e.currentTarget.value as typeof show)}>
              <option value="pending">waiting for a decision</option>
              <option value="all">all recent requests</option>
            </select>
          </Field>
          <button type="button" onClick={list.reload}>
            Refresh
          </button>
        </>
      }
    >
      <ErrorNote error={list.error} onRetry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data?.items.length === 0 ? (
        <Empty>
          {show === 'pending'
            ? 'Nothing waits for your decision. Requests from agents and people appear here.'
            : 'No approval request yet.'}
        </Empty>
      ) : null}
      {list.data?.items.map((r) => (
        <Request key={r.id} request={r} onDecided={list.reload} />
      ))}
    </Page>
  );
}
