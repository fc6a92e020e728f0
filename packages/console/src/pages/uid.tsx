import type { UidNode } from '@tessera/sdk';
import { useState } from 'preact/hooks';
import { api, SESSION } from '../api.js';
import { Badge, Confirm, Empty, ErrorNote, Link, Loading, Page, useAction, useLoad, when } from '../ui.js';

export function UidPage(props: { path: string }) {
  const id = props.path.split('/')[3];
  return id ? <UidTreePage methodId={decodeURIComponent(id)} /> : <UidMethods />;
}

function UidMethods() {
  const methods = useLoad(() => api.listAuthMethods(SESSION, { type: 'universal_identity', limit: 200 }));
  return (
    <Page title="UID trees">
      <ErrorNote error={methods.error} onRetry={methods.reload} />
      {methods.loading && !methods.data ? <Loading /> : null}
      {methods.data?.items.length === 0 ? (
        <Empty>
          No Universal Identity method yet. Open an <Link href="/ui/identities">identity</Link> and add one.
        </Empty>
      ) : null}
      <ul class="list">
        {methods.data?.items.map((m) => (
          <li key={m.id}>
            <Link href={`/ui/uid/${encodeURIComponent(m.id)}`}>{m.name}</Link> <code>{m.id}</code>
          </li>
        ))}
      </ul>
    </Page>
  );
}

const countOf = (n: UidNode): number => 1 + n.children.reduce((s, c) => s + countOf(c), 0);
const liveCountOf = (n: UidNode): number =>
  (n.revoked ? 0 : 1) + n.children.reduce((s, c) => s + liveCountOf(c), 0);
/** Children rendered at once under one node; the rest on request (10,000-node trees stay responsive). */
const SHOWN = 100;

function TreeNode(props: {
  node: UidNode;
  level: number;
  onRevoke: (n: UidNode) => void;
  onChild: (n: UidNode) => void;
}) {
  const n = props.node;
  const [open, setOpen] = useState(props.level < 2);
  const [limit, setLimit] = useState(SHOWN);
  const hasChildren = n.children.length > 0;
  const expired = Date.parse(n.expiresAt) < Date.now();
  return (
    <li class={n.revoked ? 'revoked' : ''} data-node={n.id}>
      <div class="node">
        {hasChildren ? (
          <button
            type="button"
            class="twisty"
            aria-expanded={open}
            aria-label={`Children of ${n.id}`}
            onClick={() => setOpen(!open)}
          >
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span class="twisty" aria-hidden="true">
            ·
          </span>
        )}
        <code>{n.id}</code>
        {n.comment ? <span class="fine">{n.comment}</span> : null}
        {n.revoked ? (
          <Badge tone="bad">revoked</Badge>
        ) : expired ? (
          <Badge tone="warn">expired</Badge>
        ) : (
          <Badge tone="ok">live</Badge>
        )}
        {n.flagged ? <Badge tone="warn">flagged</Badge> : null}
        {n.denyRotate ? <Badge>no rotate</Badge> : null}
        {n.denyInheritance ? <Badge>no children</Badge> : null}
        <span class="fine">
          TTL {n.ttlSeconds}s · expires {when(n.expiresAt)} · rotated{' '}
          {n.lastRotatedAt ? when(n.lastRotatedAt) : 'never'}
        </span>
        {hasChildren && props.level > 1 ? (
          <Link href={`${location.pathname}?token=${encodeURIComponent(n.id)}`}>Subtree</Link>
        ) : null}
        {!n.revoked ? (
          <span class="node-actions">
            {!n.denyInheritance ? (
              <button type="button" onClick={() => props.onChild(n)}>
                Add child
              </button>
            ) : null}
            <button type="button" class="danger" onClick={() => props.onRevoke(n)}>
              Revoke…
            </button>
          </span>
        ) : null}
      </div>
      {hasChildren && open ? (
        <ul>
          {n.children.slice(0, limit).map((c) => (
            <TreeNode
              key={c.id}
              node={c}
              level={props.level + 1}
              onRevoke={props.onRevoke}
              onChild={props.onChild}
            />
          ))}
          {n.children.length > limit ? (
            <li>
              <button type="button" onClick={() => setLimit(limit + SHOWN * 5)}>
                Show {Math.min(SHOWN * 5, n.children.length - limit)} more of {n.children.length - limit}
              </button>
            </li>
          ) : null}
        </ul>
      ) : null}
    </li>
  );
}

function UidTreePage(props: { methodId: string }) {
  const focus = new URLSearchParams(location.search).get('token') ?? undefined;
  const tree = useLoad(
    () => api.getUidTree(SESSION, { authMethodId: props.methodId, ...(focus ? { tokenId: focus } : {}) }),
    [props.methodId, focus],
  );
  const [revoking, setRevoking] = useState<UidNode | null>(null);
  const [scope, setScope] = useState<'self' | 'all'>('all');
  const [issued, setIssued] = useState<{ token: string; tokenId: string } | null>(null);
  const action = useAction();
  const issueRoot = async () => {
    const t = await action.run(() =>
      api.generateUidToken(SESSION, { authMethodId: props.methodId, comment: 'console' }),
    );
    if (t) {
      setIssued({ token: t.token, tokenId: t.tokenId });
      tree.reload();
    }
  };
  const addChild = async (parent: UidNode) => {
    const t = await action.run(() =>
      api.createUidChild(SESSION, {
        authMethodId: props.methodId,
        parentTokenId: parent.id,
        comment: 'console',
      }),
    );
    if (t) {
      setIssued({ token: t.token, tokenId: t.tokenId });
      tree.reload();
    }
  };
  const revoke = async () => {
    if (!revoking) return;
    const done = await action.run(() =>
      api.revokeUidToken(SESSION, { authMethodId: props.methodId, tokenId: revoking.id, type: scope }),
    );
    if (done) {
      setRevoking(null);
      tree.reload();
    }
  };
  return (
    <Page
      title="UID tree"
      actions={
        <>
          <button type="button" class="primary" disabled={action.busy} onClick={issueRoot}>
            Issue root token
          </button>
          <button type="button" onClick={tree.reload}>
            Refresh
          </button>
          <Link href="/ui/uid">All trees</Link>
        </>
      }
    >
      <p class="fine">
        Method <code>{props.methodId}</code>
        {tree.data ? ` · ${tree.data.numberOfTokens} tokens · depth limit ${tree.data.maxDepth}` : ''}
      </p>
      <ErrorNote error={tree.error ?? action.error} onRetry={tree.reload} />
      {issued ? (
        <div class="note ok" role="status">
          <p>
            Issued <code>{issued.tokenId}</code>. Hand this token to its holder now: it is shown only once.
          </p>
          <code class="secret">{issued.token}</code>
          <button type="button" onClick={() => setIssued(null)}>
            Done
          </button>
        </div>
      ) : null}
      {revoking ? (
        <Confirm
          title={`Revoke ${revoking.id}?`}
          confirmLabel={scope === 'all' ? `Revoke ${liveCountOf(revoking)} tokens` : 'Revoke this token'}
          busy={action.busy}
          onCancel={() => setRevoking(null)}
          onConfirm={revoke}
        >
          <fieldset>
            <legend>What goes</legend>
            <label>
              <input type="radio" name="scope" checked={scope === 'all'} onChange={() => setScope('all')} />{' '}
              This token and its whole subtree ({countOf(revoking)} nodes, {liveCountOf(revoking)} live)
            </label>
            <label>
              <input type="radio" name="scope" checked={scope === 'self'} onChange={() => setScope('self')} />{' '}
              Only this token (its children stay)
            </label>
          </fieldset>
          <p class="fine">Holders of revoked tokens are refused on every server at once.</p>
        </Confirm>
      ) : null}
      {tree.loading && !tree.data ? <Loading /> : null}
      {tree.data?.roots.length === 0 ? <Empty>No token in this tree yet: issue a root token.</Empty> : null}
      {tree.data?.roots.length ? (
        <ul class="tree" aria-label="Token tree">
          {tree.data.roots.map((r) => (
            <TreeNode key={r.id} node={r} level={1} onRevoke={setRevoking} onChild={addChild} />
          ))}
        </ul>
      ) : null}
      {tree.data?.truncated ? (
        <p class="fine">The tree is larger than shown; open a subtree to see the rest.</p>
      ) : null}
    </Page>
  );
}
