import type { SecretValue } from '@tessera/sdk';
import { useEffect, useState } from 'preact/hooks';
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

const TABS = [
  { href: '/ui/secrets', label: 'Static' },
  { href: '/ui/secrets/dynamic', label: 'Dynamic' },
  { href: '/ui/secrets/rotated', label: 'Rotated' },
];
/** A revealed value disappears from the page after this long (and is never stored anywhere). */
const REVEAL_MS = 30_000;

export function SecretsPage(props: { path: string }) {
  const tab = props.path.startsWith('/ui/secrets/dynamic')
    ? 1
    : props.path.startsWith('/ui/secrets/rotated')
      ? 2
      : 0;
  return (
    <Page title="Secrets">
      <nav class="tabs" aria-label="Secret kinds">
        {TABS.map((t, i) => (
          <Link key={t.href} href={t.href} current={i === tab}>
            {t.label}
          </Link>
        ))}
      </nav>
      {tab === 0 ? <StaticSecrets /> : tab === 1 ? <DynamicSecrets /> : <RotatedSecrets />}
    </Page>
  );
}

/** The value of one secret, fetched only on an explicit, audited reveal, and hidden again soon. */
function Reveal(props: { name: string }) {
  const [value, setValue] = useState<SecretValue | null>(null);
  const action = useAction();
  useEffect(() => {
    if (!value) return;
    const t = setTimeout(() => setValue(null), REVEAL_MS);
    return () => clearTimeout(t);
  }, [value]);
  useEffect(() => () => setValue(null), [props.name]);
  return (
    <div class="reveal">
      {value ? (
        <>
          <output aria-label={`Value of ${props.name}`} class="secret">
            {value.value}
          </output>
          <span class="fine">version {value.version} · hidden again in 30 s</span>
          <button type="button" onClick={() => setValue(null)}>
            Hide
          </button>
        </>
      ) : (
        <button
          type="button"
          disabled={action.busy}
          onClick={async () => {
            const v = await action.run(() => api.getSecretValue(SESSION, props.name));
            if (v) setValue(v);
          }}
        >
          Reveal value
        </button>
      )}
      <ErrorNote error={action.error} />
    </div>
  );
}

function StaticSecrets() {
  const [prefix, setPrefix] = useState('/');
  const list = useLoad(() => api.listSecrets(SESSION, { prefix, recursive: true, limit: 200 }), [prefix]);
  const [selected, setSelected] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const create = useAction();
  return (
    <>
      <form
        class="card form"
        aria-label="New secret or version"
        onSubmit={async (e) => {
          e.preventDefault();
          const n = name.trim();
          const exists = list.data?.items.some((s) => s.name === n);
          const done = await create.run(() =>
            exists
              ? api.updateSecretValue(SESSION, { name: n, value })
              : api.createSecret(SESSION, { name: n, value }),
          );
          if (done) {
            setValue('');
            list.reload();
          }
        }}
      >
        <h2>Store a secret</h2>
        <div class="row">
          <Field label="Path" hint="e.g. /team/app/db-password; an existing path gets a new version">
            <input name="secretName" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field label="Value">
            <input
              name="secretValue"
              type="password"
              autoComplete="off"
              required
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          </Field>
          <button type="submit" class="primary" disabled={create.busy}>
            Save
          </button>
        </div>
        <ErrorNote error={create.error} />
      </form>
      <div class="filters" role="search">
        <Field label="Browse path">
          <input type="search" value={prefix} onChange={(e) => setPrefix(e.currentTarget.value || '/')} />
        </Field>
      </div>
      <ErrorNote error={list.error} onRetry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data?.items.length === 0 ? <Empty>No secret under {prefix}. Store one above.</Empty> : null}
      {list.data?.items.length ? (
        <table>
          <caption class="sr-only">Secrets</caption>
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col">Type</th>
              <th scope="col">Latest version</th>
              <th scope="col">Updated</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((s) => (
              <tr key={s.id}>
                <td>
                  <code>{s.name}</code>
                </td>
                <td>{s.type}</td>
                <td>{s.latestVersion}</td>
                <td>{when(s.updatedAt)}</td>
                <td>
                  {s.type === 'static' ? (
                    selected === s.name ? (
                      <Reveal name={s.name} />
                    ) : (
                      <button type="button" onClick={() => setSelected(s.name)}>
                        Show value…
                      </button>
                    )
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {selected ? (
        <p class="fine" role="note">
          Revealing a value is recorded in the audit log with your identity.
        </p>
      ) : null}
    </>
  );
}

function DynamicSecrets() {
  const secrets = useLoad(() => api.listDynamicSecrets(SESSION, { limit: 200 }));
  const leases = useLoad(() => api.listLeases(SESSION, { state: 'active', limit: 200 }));
  const [revoking, setRevoking] = useState<string | null>(null);
  const action = useAction();
  return (
    <>
      <h2>Producers</h2>
      <ErrorNote error={secrets.error} onRetry={secrets.reload} />
      {secrets.data?.items.length === 0 ? (
        <Empty>No dynamic secret yet: create one with `tessera dynamic-secret create`.</Empty>
      ) : null}
      <ul class="list">
        {secrets.data?.items.map((d) => (
          <li key={d.name}>
            <code>{d.name}</code> <Badge>{d.type}</Badge>
          </li>
        ))}
      </ul>
      <h2>Active leases</h2>
      <ErrorNote error={leases.error ?? action.error} onRetry={leases.reload} />
      {leases.data?.items.length === 0 ? <Empty>No active lease.</Empty> : null}
      {leases.data?.items.length ? (
        <table>
          <caption class="sr-only">Leases</caption>
          <thead>
            <tr>
              <th scope="col">Lease</th>
              <th scope="col">Secret</th>
              <th scope="col">Expires</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {leases.data.items.map((l) => (
              <tr key={l.leaseId}>
                <td>
                  <code>{l.leaseId}</code>
                </td>
                <td>{l.name}</td>
                <td>{when(l.expiresAt)}</td>
                <td>
                  <button type="button" class="danger" onClick={() => setRevoking(l.leaseId)}>
                    Revoke…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {revoking ? (
        <Confirm
          title={`Revoke lease ${revoking}?`}
          confirmLabel="Revoke lease"
          busy={action.busy}
          onCancel={() => setRevoking(null)}
          onConfirm={async () => {
            if (await action.run(() => api.revokeLease(SESSION, revoking))) {
              setRevoking(null);
              leases.reload();
            }
          }}
        >
          <p>The credential is dropped at its target now.</p>
        </Confirm>
      ) : null}
    </>
  );
}

function RotatedSecrets() {
  const list = useLoad(() => api.listRotatedSecrets(SESSION, { limit: 200 }));
  const action = useAction();
  return (
    <>
      <ErrorNote error={list.error ?? action.error} onRetry={list.reload} />
      {list.data?.items.length === 0 ? (
        <Empty>No rotated secret yet: create one with `tessera rotated-secret create`.</Empty>
      ) : null}
      {list.data?.items.length ? (
        <table>
          <caption class="sr-only">Rotated secrets</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Target</th>
              <th scope="col">Version</th>
              <th scope="col">Last rotation</th>
              <th scope="col">Status</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <code>{r.name}</code>
                </td>
                <td>{r.type}</td>
                <td>{r.version}</td>
                <td>{when(r.rotatedAt)}</td>
                <td>
                  {r.failures > 0 ? (
                    <Badge tone="bad">{`${r.failures} failures: ${r.lastError ?? ''}`}</Badge>
                  ) : (
                    <Badge tone="ok">ok</Badge>
                  )}
                </td>
                <td>
                  <button
                    type="button"
                    disabled={action.busy}
                    onClick={async () => {
                      if (await action.run(() => api.rotateSecret(SESSION, r.name))) list.reload();
                    }}
                  >
                    Rotate now
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
