import './styles.css';
import type { ComponentChildren } from 'preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type ConsoleSession, currentSession, signOut, startIdleWatch } from './api.js';
import { AccessPage } from './pages/access.js';
import { ApprovalsPage } from './pages/approvals.js';
import { AuditPage } from './pages/audit.js';
import { IdentitiesPage } from './pages/identities.js';
import { LaterPage, OAuthClientsPage } from './pages/more.js';
import { OverviewPage } from './pages/overview.js';
import { SecretsPage } from './pages/secrets.js';
import { SignInPage } from './pages/sign-in.js';
import { UidPage } from './pages/uid.js';
import { Link, usePath } from './ui.js';

/** The navigation: every capability has its place, including those that arrive later. */
const NAV: { href: string; label: string; page: (path: string) => ComponentChildren }[] = [
  { href: '/ui/', label: 'Overview', page: () => <OverviewPage /> },
  { href: '/ui/identities', label: 'Identities', page: (p) => <IdentitiesPage path={p} /> },
  { href: '/ui/uid', label: 'UID trees', page: (p) => <UidPage path={p} /> },
  { href: '/ui/secrets', label: 'Secrets', page: (p) => <SecretsPage path={p} /> },
  { href: '/ui/access', label: 'Access', page: (p) => <AccessPage path={p} /> },
  { href: '/ui/audit', label: 'Audit', page: () => <AuditPage /> },
  { href: '/ui/approvals', label: 'Approvals', page: (p) => <ApprovalsPage path={p} /> },
  { href: '/ui/oauth-clients', label: 'OAuth clients', page: () => <OAuthClientsPage /> },
  {
    href: '/ui/mcp',
    label: 'MCP servers',
    page: () => (
      <LaterPage
        title="MCP servers"
        what="the catalogue of MCP servers, pending definition changes and per-tool policies"
        when="the MCP gateway (issue 14)"
      />
    ),
  },
];

function pageOf(path: string) {
  const match =
    NAV.slice(1).find((n) => path === n.href || path.startsWith(`${n.href}/`)) ??
    (path === '/ui/' || path === '/ui' ? NAV[0] : undefined);
  return match;
}

function Shell(props: { session: ConsoleSession | null }) {
  const path = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  const current = pageOf(path);
  useEffect(() => {
    setMenuOpen(false);
    document.getElementById('page-title')?.focus();
  }, [path]);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <button
          type="button"
          class="menu"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <span class="brand">Tessera</span>
        <span class="who" title="Signed in as">
          {props.session?.identityId ?? ''}
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav id="nav" class={menuOpen ? 'open' : ''} aria-label="Console">
        <ul>
          {NAV.map((n) => (
            <li key={n.href}>
              <Link href={n.href} current={current === n}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        {current ? (
          current.page(path)
        ) : (
          <section class="page">
            <h1 id="page-title">Not found</h1>
            <p>
              There is no console page at {path}. <Link href="/ui/">Go to the overview</Link>.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}

function App() {
  const path = usePath();
  const [session, setSession] = useState<ConsoleSession | null>(null);
  const signingIn = path.startsWith('/ui/sign-in');
  useEffect(() => {
    if (signingIn) return;
    // The server only serves a page to a valid session; this asks who it is (for the header and the
    // idle timer) while the page already loads its data.
    currentSession().then((s) => {
      if (!s) location.assign(`/ui/sign-in?next=${encodeURIComponent(location.pathname)}`);
      else {
        setSession(s);
        startIdleWatch(s.idleTimeoutSec);
      }
    });
  }, [signingIn]);
  if (signingIn) return <SignInPage />;
  return <Shell session={session} />;
}

const root = document.getElementById('app');
if (root) render(<App />, root);
