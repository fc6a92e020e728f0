import type { AuthMethod, Identity } from '@tessera/sdk';
import { useState } from 'preact/hooks';
import { api, SESSION } from '../api.js';
import {
  Badge,
  Confirm,
  Empty,
  ErrorNote,
  Field,
  Link,
  Loading,
  Page,
  useAction,
  useLoad,
  when,
} from '../ui.js';

const KINDS = ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device', 'other'] as const;

export function IdentitiesPage(props: { path: string }) {
  const id = props.path.split('/')[3];
  return id ? <IdentityDetail id={decodeURIComponent(id)} /> : <IdentityList />;
}

function CreateIdentity(props: { onCreated: (i: Identity) => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<(typeof KINDS)[number]>('service');
  const [owner, setOwner] = useState('');
  const { busy, error, run } = useAction();
  return (
    <form
      class="card form"
      aria-label="New identity"
      onSubmit={async (e) => {
        e.preventDefault();
        const created = await run(() =>
          api.createIdentity(SESSION, { name: name.trim(), kind, owner: owner.trim() }),
        );
        if (created) {
          setName('');
          props.onCreated(created);
        }
      }}
    >
      <h2>New identity</h2>
      <div class="row">
        <Field label="Name">
          <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Kind">
          <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </Field>
        <Field label="Owner">
          <input name="owner" required value={owner} onInput={(e) => setOwner(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          Create identity
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function IdentityList() {
  const [kind, setKind] = useState('');
  const [state, setState] = useState('');
  const [search, setSearch] = useState('');
  const list = useLoad(
    () =>
      api.listIdentities(SESSION, {
        limit: 200,
        ...(kind ? { kind: kind as Identity['kind'] } : {}),
        ...(state ? { state: state as Identity['state'] } : {}),
      }),
    [kind, state],
  );
  const items = (list.data?.items ?? []).filter(
    (i) => !search || `${i.name} ${i.owner} ${i.id}`.toLowerCase().includes(search.toLowerCase()),
  );
  return (
    <Page title="Identities">
      <CreateIdentity onCreated={(i) => list.reload() ?? i} />
      <div class="filters" role="search">
        <Field label="Search">
          <input
            type="search"
            name="search"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </Field>
        <Field label="Kind">
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">any</option>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </Field>
        <Field label="State">
          <select value={state} onChange={(e) => setState(e.currentTarget.value)}>
            <option value="">any</option>
            <option>active</option>
            <option>suspended</option>
            <option>retired</option>
          </select>
        </Field>
      </div>
      <ErrorNote error={list.error} onRetry={list.reload} />
      {list.loading && !list.data ? (
        <Loading />
      ) : items.length === 0 ? (
        <Empty>No identity matches. Create one above, or clear the filters.</Empty>
      ) : (
        <table>
          <caption class="sr-only">Identities</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Owner</th>
              <th scope="col">State</th>
              <th scope="col">Last used</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.id}>
                <td>
                  <Link href={`/ui/identities/${encodeURIComponent(i.id)}`}>{i.name}</Link>
                </td>
                <td>{i.kind}</td>
                <td>{i.owner}</td>
                <td>
                  <Badge tone={i.state === 'active' ? 'ok' : 'muted'}>{i.state}</Badge>
                </td>
                <td>{when(i.lastUsedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data?.nextCursor ? (
        <p class="fine">Showing the first 200; narrow the filters to see others.</p>
      ) : null}
    </Page>
  );
}

function NewMethod(props: { identity: Identity; onCreated: () => void }) {
  const [type, setType] = useState<'universal_identity' | 'access_key'>('universal_identity');
  const [name, setName] = useState(`${props.identity.name}-uid`);
  const [shown, setShown] = useState<{ id: string; accessKey?: string } | null>(null);
  const { busy, error, run } = useAction();
  return (
    <form
      class="card form"
      aria-label="New auth method"
      onSubmit={async (e) => {
        e.preventDefault();
        const created = await run(() =>
          api.createAuthMethod(SESSION, { type, name: name.trim(), identityId: props.identity.id }),
        );
        if (created) {
          setShown({
            id: created.authMethod.id,
            ...(created.accessKey ? { accessKey: created.accessKey } : {}),
          });
          props.onCreated();
        }
      }}
    >
      <h2>Add an auth method</h2>
      <div class="row">
        <Field label="Type">
          <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value as typeof type)}>
            <option value="universal_identity">Universal Identity (token tree)</option>
            <option value="access_key">Access key</option>
          </select>
        </Field>
        <Field label="Method name">
          <input name="methodName" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          Add method
        </button>
      </div>
      <ErrorNote error={error} />
      {shown ? (
        <div class="note ok" role="status">
          <p>
            Created <code>{shown.id}</code>.
            {shown.accessKey ? ' Copy the access key now: it is shown only once.' : ''}
          </p>
          {shown.accessKey ? <code class="secret">{shown.accessKey}</code> : null}
        </div>
      ) : null}
    </form>
  );
}

function IdentityDetail(props: { id: string }) {
  const identity = useLoad(() => api.getIdentity(SESSION, props.id), [props.id]);
  const methods = useLoad(async () => {
    const all: AuthMethod[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.listAuthMethods(SESSION, { limit: 200, ...(cursor ? { cursor } : {}) });
      all.push(...page.items.filter((m) => m.identityId === props.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && all.length < 500);
    return all;
  }, [props.id]);
  const activity = useLoad(
    () => api.listAuditEvents(SESSION, { identityId: props.id, limit: 10 }),
    [props.id],
  );
  const [retiring, setRetiring] = useState(false);
  const action = useAction();
  const i = identity.data;
  return (
    <Page title={i ? i.name : 'Identity'} actions={<Link href="/ui/identities">All identities</Link>}>
      <ErrorNote error={identity.error} onRetry={identity.reload} />
      {i ? (
        <div class="card">
          <dl class="facts">
            <dt>Id</dt>
            <dd>
              <code>{i.id}</code>
            </dd>
            <dt>Kind</dt>
            <dd>{i.kind}</dd>
            <dt>Owner</dt>
            <dd>{i.owner}</dd>
            <dt>State</dt>
            <dd>
              <Badge tone={i.state === 'active' ? 'ok' : 'muted'}>{i.state}</Badge>
            </dd>
            <dt>Created</dt>
            <dd>{when(i.createdAt)}</dd>
            <dt>Last used</dt>
            <dd>{when(i.lastUsedAt)}</dd>
          </dl>
          {i.state !== 'retired' ? (
            <div class="row">
              <button
                type="button"
                disabled={action.busy}
                onClick={async () => {
                  const state = i.state === 'active' ? 'suspended' : 'active';
                  if (await action.run(() => api.updateIdentity(SESSION, i.id, { state }))) identity.reload();
                }}
              >
                {i.state === 'active' ? 'Suspend' : 'Reactivate'}
              </button>
              <button type="button" class="danger" onClick={() => setRetiring(true)}>
                Retire…
              </button>
            </div>
          ) : null}
          {retiring ? (
            <Confirm
              title={`Retire ${i.name}?`}
              confirmLabel="Retire identity"
              busy={action.busy}
              onCancel={() => setRetiring(false)}
              onConfirm={async () => {
                if (await action.run(() => api.retireIdentity(SESSION, i.id))) {
                  setRetiring(false);
                  identity.reload();
                }
              }}
            >
              <p>Its session tokens are revoked and its leases end. This cannot be undone.</p>
            </Confirm>
          ) : null}
          <ErrorNote error={action.error} />
        </div>
      ) : null}
      <h2>Credentials</h2>
      <ErrorNote error={methods.error} onRetry={methods.reload} />
      {methods.data?.length === 0 ? <Empty>No auth method yet: add one below.</Empty> : null}
      {methods.data?.length ? (
        <table>
          <caption class="sr-only">Auth methods</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Access id</th>
              <th scope="col">Expires</th>
            </tr>
          </thead>
          <tbody>
            {methods.data.map((m) => (
              <tr key={m.id}>
                <td>
                  {m.type === 'universal_identity' ? (
                    <Link href={`/ui/uid/${encodeURIComponent(m.id)}`}>{m.name}</Link>
                  ) : (
                    m.name
                  )}
                </td>
                <td>{m.type}</td>
                <td>
                  <code>{m.id}</code>
                </td>
                <td>{when(m.expiresAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {i ? <NewMethod identity={i} onCreated={methods.reload} /> : null}
      <h2>Recent activity</h2>
      {activity.data?.items.length === 0 ? <Empty>No recorded activity yet.</Empty> : null}
      <ul class="events">
        {activity.data?.items.map((e) => (
          <li key={e.id}>
            <time>{when(e.at)}</time> <code>{e.type}</code> <Badge>{e.outcome}</Badge> {e.resource ?? ''}
          </li>
        ))}
      </ul>
    </Page>
  );
}
