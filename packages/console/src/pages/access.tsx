import type { AccessExplanation, ExplainAccessRequest, Role, SetRoleRuleRequest } from '@tessera/sdk';
import { useEffect, useState } from 'preact/hooks';
import { api, SESSION } from '../api.js';
import { Badge, Empty, ErrorNote, Field, Link, Loading, Page, useAction, useLoad } from '../ui.js';

const RULE_TYPES = ['item', 'auth-method', 'role', 'identity', 'audit', 'scope', '*'] as const;
const CAPS = ['read', 'list', 'create', 'update', 'delete', 'deny'] as const;
const ACTIONS = ['read', 'list', 'create', 'update', 'delete'] as const;

export function AccessPage(props: { path: string }) {
  const name = props.path.split('/')[3];
  const [version, setVersion] = useState(0);
  return (
    <Page title="Access">
      <div class="split">
        <div>
          {name ? (
            <RoleEditor name={decodeURIComponent(name)} onChange={() => setVersion((v) => v + 1)} />
          ) : (
            <Roles />
          )}
        </div>
        <Explain version={version} />
      </div>
    </Page>
  );
}

function Roles() {
  const roles = useLoad(() => api.listRoles(SESSION, { limit: 200 }));
  const [name, setName] = useState('');
  const create = useAction();
  return (
    <>
      <h2>Roles</h2>
      <ErrorNote error={roles.error} onRetry={roles.reload} />
      {roles.loading && !roles.data ? <Loading /> : null}
      {roles.data?.items.length === 0 ? <Empty>No role yet: create one below.</Empty> : null}
      <ul class="list">
        {roles.data?.items.map((r) => (
          <li key={r.name}>
            <Link href={`/ui/access/${encodeURIComponent(r.name)}`}>{r.name}</Link>{' '}
            {r.builtin ? <Badge>built-in</Badge> : null}
          </li>
        ))}
      </ul>
      <form
        class="card form"
        aria-label="New role"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await create.run(() => api.createRole(SESSION, { name: name.trim() }))) {
            setName('');
            roles.reload();
          }
        }}
      >
        <div class="row">
          <Field label="New role name">
            <input name="roleName" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <button type="submit" class="primary" disabled={create.busy}>
            Create role
          </button>
        </div>
        <ErrorNote error={create.error} />
      </form>
    </>
  );
}

function RoleEditor(props: { name: string; onChange: () => void }) {
  const role = useLoad(() => api.getRole(SESSION, props.name), [props.name]);
  const [ruleType, setRuleType] = useState<SetRoleRuleRequest['ruleType']>('item');
  const [path, setPath] = useState('/*');
  const [caps, setCaps] = useState<Set<string>>(new Set(['read']));
  const [method, setMethod] = useState('');
  const action = useAction();
  const changed = () => {
    role.reload();
    props.onChange();
  };
  const r: Role | undefined = role.data;
  return (
    <>
      <h2>
        Role {props.name} <Link href="/ui/access">All roles</Link>
      </h2>
      <ErrorNote error={role.error ?? action.error} onRetry={role.reload} />
      {r ? (
        <>
          {r.rules.length === 0 ? (
            <Empty>No rule yet: this role allows nothing. Add a rule below.</Empty>
          ) : null}
          {r.rules.length ? (
            <table>
              <caption class="sr-only">Rules</caption>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Path</th>
                  <th scope="col">Capabilities</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {r.rules.map((rule) => (
                  <tr key={rule.id}>
                    <td>{rule.ruleType}</td>
                    <td>
                      <code>{rule.path}</code>
                    </td>
                    <td>{rule.capabilities.join(', ')}</td>
                    <td>
                      {!r.builtin ? (
                        <button
                          type="button"
                          class="danger"
                          aria-label={`Delete rule ${rule.ruleType} ${rule.path}`}
                          onClick={async () => {
                            const done = await action.run(() =>
                              api
                                .deleteRoleRule(SESSION, r.name, {
                                  ruleType: rule.ruleType as SetRoleRuleRequest['ruleType'],
                                  path: rule.path,
                                })
                                .then(() => true),
                            );
                            if (done) changed();
                          }}
                        >
                          Delete
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {!r.builtin ? (
            <form
              class="card form"
              aria-label="Set a rule"
              onSubmit={async (e) => {
                e.preventDefault();
                const capabilities = CAPS.filter((c) => caps.has(c));
                if (
                  await action.run(() => api.setRoleRule(SESSION, r.name, { ruleType, path, capabilities }))
                )
                  changed();
              }}
            >
              <h3>Set a rule</h3>
              <div class="row">
                <Field label="Rule type">
                  <select
                    name="ruleType"
                    value={ruleType}
                    onChange={(e) => setRuleType(e.currentTarget.value as typeof ruleType)}
                  >
                    {RULE_TYPES.map((t) => (
                      <option key={t}>{t}</option>
                    ))}
                  </select>
                </Field>
                <Field label="Path">
                  <input
                    name="rulePath"
                    required
                    value={path}
                    onInput={(e) => setPath(e.currentTarget.value)}
                  />
                </Field>
              </div>
              <fieldset class="row">
                <legend>Capabilities</legend>
                {CAPS.map((c) => (
                  <label key={c}>
                    <input
                      type="checkbox"
                      name={`cap-${c}`}
                      checked={caps.has(c)}
                      onChange={(e) => {
                        const next = new Set(caps);
                        if (e.currentTarget.checked) next.add(c);
                        else next.delete(c);
                        setCaps(next);
                      }}
                    />{' '}
                    {c}
                  </label>
                ))}
              </fieldset>
              <button type="submit" class="primary" disabled={action.busy}>
                Save rule
              </button>
            </form>
          ) : null}
          <h3>Associations</h3>
          {r.associations.length === 0 ? <Empty>No auth method holds this role yet.</Empty> : null}
          <ul class="list">
            {r.associations.map((a) => (
              <li key={a.id}>
                <code>{a.authMethodName}</code> ({a.authMethodId}){' '}
                <button
                  type="button"
                  class="danger"
                  aria-label={`Remove association ${a.authMethodName}`}
                  onClick={async () => {
                    const done = await action.run(() =>
                      api.deleteRoleAssociation(SESSION, a.id).then(() => true),
                    );
                    if (done) changed();
                  }}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <form
            class="card form"
            aria-label="Associate an auth method"
            onSubmit={async (e) => {
              e.preventDefault();
              if (
                await action.run(() => api.associateRole(SESSION, r.name, { authMethodName: method.trim() }))
              ) {
                setMethod('');
                changed();
              }
            }}
          >
            <h3>Associate an auth method</h3>
            <div class="row">
              <Field label="Auth method name">
                <input
                  name="associateMethod"
                  required
                  value={method}
                  onInput={(e) => setMethod(e.currentTarget.value)}
                />
              </Field>
              <button type="submit" disabled={action.busy}>
                Associate
              </button>
            </div>
          </form>
        </>
      ) : null}
    </>
  );
}

/**
 * "Explain this decision", live: re-asked whenever a rule or association changes on this page.
 * Without a token it explains the console's own session; with one, that principal's.
 */
function Explain(props: { version: number }) {
  const [token, setToken] = useState('');
  const [path, setPath] = useState('/');
  const [act, setAct] = useState<(typeof ACTIONS)[number]>('read');
  const [asked, setAsked] = useState(false);
  const [answer, setAnswer] = useState<AccessExplanation | null>(null);
  const action = useAction();
  const ask = async () => {
    const body: ExplainAccessRequest = {
      path,
      action: act,
      ...(token.trim() ? { token: token.trim() } : {}),
    };
    const a = await action.run(() => api.explainAccess(SESSION, body));
    setAnswer(a ?? null);
    setAsked(true);
  };
  useEffect(() => {
    if (asked) void ask();
  }, [props.version]);
  return (
    <form
      class="card form explain"
      aria-label="Explain a decision"
      onSubmit={(e) => {
        e.preventDefault();
        void ask();
      }}
    >
      <h2>Explain a decision</h2>
      <Field label="Session token (optional)" hint="A principal's session token; empty explains your own.">
        <input
          name="explainToken"
          type="password"
          autoComplete="off"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
      </Field>
      <div class="row">
        <Field label="Action">
          <select
            name="explainAction"
            value={act}
            onChange={(e) => setAct(e.currentTarget.value as typeof act)}
          >
            {ACTIONS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </Field>
        <Field label="Path">
          <input name="explainPath" required value={path} onInput={(e) => setPath(e.currentTarget.value)} />
        </Field>
      </div>
      <button type="submit" class="primary" disabled={action.busy}>
        Explain
      </button>
      <ErrorNote error={action.error} />
      {answer ? (
        <div class="verdict" role="status" aria-live="polite">
          <p>
            <Badge tone={answer.allowed ? 'ok' : 'bad'}>{answer.allowed ? 'allowed' : 'denied'}</Badge>{' '}
            <span data-reason={answer.reason}>{answer.summary}</span>
          </p>
          {answer.rule ? (
            <p class="fine">
              Rule {answer.rule.ruleType} <code>{answer.rule.path}</code> (
              {answer.rule.capabilities.join(', ')}) of role {answer.role}
            </p>
          ) : null}
          {answer.notApplied.length ? (
            <ul class="fine">
              {answer.notApplied.slice(0, 8).map((n) => (
                <li key={n.ruleId}>
                  {n.role}: {n.ruleType} <code>{n.path}</code> — {n.why}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
