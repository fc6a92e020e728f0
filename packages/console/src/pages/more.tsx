import { api, SESSION } from '../api.js';
import { Empty, ErrorNote, Loading, Page, useLoad } from '../ui.js';

/** A page for a capability that has not landed on this server yet: says what comes and with what. */
export function LaterPage(props: { title: string; what: string; when: string }) {
  return (
    <Page title={props.title}>
      <Empty>
        This page will show {props.what}. It arrives with {props.when}; until then, nothing here needs your
        attention.
      </Empty>
    </Page>
  );
}

export function OAuthClientsPage() {
  const clients = useLoad(() => api.listOAuthClients(SESSION, { limit: 200 }));
  return (
    <Page title="OAuth clients">
      <ErrorNote error={clients.error} onRetry={clients.reload} />
      {clients.loading && !clients.data ? <Loading /> : null}
      {clients.data?.items.length === 0 ? (
        <Empty>No OAuth client yet: register one with `tessera oauth-client create`.</Empty>
      ) : null}
      {clients.data?.items.length ? (
        <table>
          <caption class="sr-only">OAuth clients</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Client id</th>
              <th scope="col">Scopes</th>
            </tr>
          </thead>
          <tbody>
            {clients.data.items.map((c) => (
              <tr key={c.clientId}>
                <td>{c.name}</td>
                <td>
                  <code>{c.clientId}</code>
                </td>
                <td>{c.scopes.join(' ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Page>
  );
}
