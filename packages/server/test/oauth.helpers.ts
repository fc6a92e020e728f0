import { freePort } from './cluster.helpers.js';
import { adminSession, type StoreKind, startTestServer, type TestServer } from './harness.js';

/** A free port on 127.0.0.1 (the issuer must name the port before the server starts). */
export { freePort };

/**
 * A Tessera listening on 127.0.0.1 with its issuer at that address, on the wall clock (clients we
 * did not write sign assertions and proofs with the real time).
 */
export async function startLiveServer(
  store: StoreKind = 'sqlite',
  env: Record<string, string> = {},
  port?: number,
): Promise<TestServer & { issuer: string }> {
  port ??= await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const s = await startTestServer(store, { ...env, TESSERA_ISSUER: issuer });
  s.clock.ms = Date.now();
  // Real time moves: keep the test clock on it.
  const timer = setInterval(() => {
    s.clock.ms = Date.now();
  }, 50);
  timer.unref();
  s.adminToken = await adminSession(s);
  await s.tessera.app.listen({ host: '127.0.0.1', port });
  const close = s.close;
  return {
    ...s,
    issuer,
    async close() {
      clearInterval(timer);
      await close();
    },
  };
}

/** Registers an OAuth client through the native API; returns its id and secret (if any). */
export async function createClient(
  s: TestServer,
  name: string,
  body: Record<string, unknown> = {},
): Promise<{ clientId: string; clientSecret?: string; body: any }> {
  const { grantScopes = true, ...fields } = body;
  const r = await s.call('POST', '/v1/oauth-clients', { token: s.adminToken, body: { name, ...fields } });
  if (r.status !== 201) throw new Error(`client creation failed: ${r.status} ${JSON.stringify(r.body)}`);
  if (r.body.clientSecret) s.track(r.body.clientSecret);
  const scopes = (fields.scopes as string[] | undefined) ?? [];
  // A token carries only scopes the client's roles grant: by default the registered ones are.
  if (grantScopes && scopes.length) await grantScopesTo(s, r.body.client.clientId, scopes);
  return { clientId: r.body.client.clientId, clientSecret: r.body.clientSecret, body: r.body };
}

/** A role granting `read` on `scope:/<scope>` for each scope, associated with the client. */
export async function grantScopesTo(
  s: TestServer,
  clientId: string,
  scopes: readonly string[],
  capabilities: readonly string[] = ['read'],
): Promise<string> {
  const role = `scopes-${clientId}-${Math.random().toString(36).slice(2, 8)}`;
  const ok = (r: { status: number; body: unknown }, what: string) => {
    if (r.status >= 300) throw new Error(`${what} failed: ${r.status} ${JSON.stringify(r.body)}`);
  };
  ok(await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: role } }), 'role creation');
  for (const scope of scopes)
    ok(
      await s.call('POST', `/v1/roles/${role}/rules`, {
        token: s.adminToken,
        body: { ruleType: 'scope', path: `/${scope}`, capabilities },
      }),
      'scope rule',
    );
  ok(
    await s.call('POST', `/v1/roles/${role}/associations`, {
      token: s.adminToken,
      body: { authMethodId: clientId },
    }),
    'association',
  );
  return role;
}
