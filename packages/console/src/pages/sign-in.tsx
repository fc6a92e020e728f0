import { useState } from 'preact/hooks';
import { describeError, pollSso, signIn, startSso } from '../api.js';
import { ErrorNote, Field } from '../ui.js';

const REASONS: Record<string, string> = {
  idle: 'You were signed out after a period without activity.',
  expired: 'Your session ended. Sign in again to continue.',
};

/** Sign-in with an access key (the administrator's, or any person's or team's key). */
export function SignInPage() {
  const params = new URLSearchParams(location.search);
  const reason = REASONS[params.get('reason') ?? ''];
  const [accessId, setAccessId] = useState('');
  const [accessKey, setAccessKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const next = params.get('next') ?? '/ui/';
  const target = next.startsWith('/ui/') && !next.startsWith('/ui/sign-in') ? next : '/ui/';
  return (
    <main id="main" class="sign-in">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await signIn(accessId.trim(), accessKey);
            setAccessKey('');
            location.assign(target);
          } catch (err) {
            setError(describeError(err));
            setBusy(false);
          }
        }}
      >
        <h1>Sign in to Tessera</h1>
        {reason ? (
          <p class="note" role="status">
            {reason}
          </p>
        ) : null}
        <Field label="Access id" hint="p-… — the administrator's is printed when the server first starts.">
          <input
            name="accessId"
            autoComplete="username"
            required
            value={accessId}
            onInput={(e) => setAccessId(e.currentTarget.value)}
          />
        </Field>
        <Field label="Access key">
          <input
            name="accessKey"
            type="password"
            autoComplete="current-password"
            required
            value={accessKey}
            onInput={(e) => setAccessKey(e.currentTarget.value)}
          />
        </Field>
        <ErrorNote error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="fine">The session is kept in a secure cookie and ends after inactivity.</p>
        <div class="sso">
          <button
            type="button"
            disabled={busy}
            onClick={async () => {
              setError(null);
              const started = await startSso().catch((e) => ({ error: describeError(e) }));
              if ('error' in started) {
                setError(started.error);
                return;
              }
              setBusy(true);
              window.open(started.authorizationUrl, '_blank', 'noopener');
              const deadline = Date.now() + 10 * 60_000;
              while (Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 1000));
                const status = await pollSso();
                if (status === 'done') return location.assign(target);
                if (status === 'expired') break;
              }
              setBusy(false);
              setError('The single sign-on did not finish. Try again.');
            }}
          >
            Sign in with your organisation (SSO)
          </button>
          {busy ? <p role="status">Finish signing in in the window that opened…</p> : null}
        </div>
      </form>
    </main>
  );
}
