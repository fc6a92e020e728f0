import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { AUDIT_EVENT_TYPES } from '../src/core/audit/audit.events.js';
import { split } from '../src/crypto/shamir.js';
import { rotateRootKeyOffline } from '../src/root-key.rotation.js';
import { initDataDir } from '../src/server.js';
import { openStore } from '../src/storage/database.js';
import { expectEventCatalogued, type ParsedEvent } from './fixtures/audit-catalogue.js';
import {
  freshPostgresDatabase,
  STORES,
  type StoreKind,
  startTestServer,
  type TestServer,
  uidAuth,
  uidSetup,
} from './harness.js';
import { createClient } from './oauth.helpers.js';

/**
 * Emitted by scenarios this file cannot drive cheaply (a CIBA client's ping endpoint after a
 * person's decision): held to the catalogue by the test named.
 */
const EMITTED_ELSEWHERE: Record<string, string> = {
  'oauth.ciba_ping_sent': 'oauth.ciba.test.ts',
  'oauth.ciba_ping_failed': 'oauth.ciba.test.ts',
  // The MCP gateway needs an upstream MCP server and an agent: its file drives every type.
  'mcp.server_added': 'mcp.gateway.test.ts',
  'mcp.server_changed': 'mcp.gateway.test.ts',
  'mcp.server_removed': 'mcp.gateway.test.ts',
  'mcp.tools_approved': 'mcp.gateway.test.ts',
  'mcp.tool_withheld': 'mcp.gateway.test.ts',
  'mcp.tool_called': 'mcp.gateway.test.ts',
  'mcp.upstream_exited': 'mcp.gateway.test.ts',
  'mcp.resource_read': 'mcp.gateway.test.ts',
  'governance.scanned': 'governance.posture.test.ts',
  'governance.policy_updated': 'governance.posture.test.ts',
  'governance.owner_offboarded': 'governance.posture.test.ts',
  'governance.credentials_revoked': 'governance.posture.test.ts',
  'governance.anomaly': 'governance.anomalies.test.ts',
  'governance.review_started': 'governance.reviews.test.ts',
  'governance.review_decided': 'governance.reviews.test.ts',
  'governance.review_reminder': 'governance.reviews.test.ts',
  'governance.review_expired': 'governance.reviews.test.ts',
  'governance.review_closed': 'governance.reviews.test.ts',
  'governance.review_refused': 'governance.reviews.owner.test.ts',
  'governance.source_added': 'governance.discovery.test.ts',
  'governance.discovery_ran': 'governance.discovery.test.ts',
  'governance.discovered_decided': 'governance.discovery.test.ts',
  'mcp.prompt_got': 'mcp.gateway.test.ts',
  // Approvals, just-in-time roles and people's sign-in: each file holds its own types to the catalogue.
  'approval.requested': 'approvals.test.ts',
  'approval.decided': 'approvals.test.ts',
  'approval.decision_refused': 'approvals.test.ts',
  'approval.expired': 'approvals.test.ts',
  'approval.used': 'approvals.test.ts',
  'approval.use_refused': 'approvals.test.ts',
  'jit.eligibility_added': 'jit.multi-server.test.ts',
  'jit.eligibility_removed': 'jit.multi-server.test.ts',
  'jit.activated': 'jit.multi-server.test.ts',
  'jit.break_glass': 'jit.multi-server.test.ts',
  'jit.lapsed': 'jit.multi-server.test.ts',
  'person.created': 'people.oidc.test.ts',
  'person.login_started': 'people.oidc.test.ts',
  'person.login_refused': 'people.oidc.test.ts',
  'person.signed_in': 'people.oidc.test.ts',
  'person.session_issued': 'people.oidc.test.ts',
  'person.logout': 'people.oidc.test.ts',
};

/** `root_key.rotated`, from an offline rotation of a fresh data dir. */
async function rootKeyRotationEvents(store: StoreKind): Promise<Array<Record<string, any>>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-events-'));
  const pg = store === 'postgres' ? await freshPostgresDatabase() : null;
  const config = loadConfig({ dataDir, logLevel: 'silent', ...(pg ? { storeUrl: pg.url } : {}) }, {});
  try {
    await initDataDir(config);
    await rotateRootKeyOffline(config);
    const store = openStore(config.storeUrl);
    try {
      const rows = await store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('type', '=', 'root_key.rotated')
        .execute();
      return rows.map((e) => ({ ...e, actor: JSON.parse(e.actor), data: JSON.parse(e.data) }));
    } finally {
      await store.close();
    }
  } finally {
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every event type, emitted by a real scenario, held to the catalogue; no secret in any event. */
describe.each(STORES)('audit events on %s', (store) => {
  let s: TestServer;
  const secrets: string[] = [];
  let events: Array<Record<string, any>> = [];

  beforeAll(async () => {
    s = await startTestServer(store, { TESSERA_AUTH_FAILURE_LIMIT: '3' });
    secrets.push(s.adminAccessKey, s.adminToken);
    const admin = s.adminToken;
    // identities
    const id = (
      await s.call('POST', '/v1/identities', {
        token: admin,
        body: { name: 'billing-api', kind: 'service', owner: 'alice@example.com' },
      })
    ).body.id;
    await s.call('PATCH', `/v1/identities/${id}`, { token: admin, body: { owner: 'bob@example.com' } });
    await s.call('POST', `/v1/identities/${id}/retire`, { token: admin });
    await s.call('GET', `/v1/identities/${id}`, { token: admin }); // a granted read
    // auth methods
    const extra = await s.call('POST', '/v1/auth-methods', {
      token: admin,
      body: { type: 'access_key', name: '/ci/deployer' },
    });
    secrets.push(extra.body.accessKey);
    await s.call('PATCH', `/v1/auth-methods/${extra.body.authMethod.id}`, {
      token: admin,
      body: { boundCidrs: ['127.0.0.0/8'] },
    });
    await s.call('DELETE', `/v1/auth-methods/${extra.body.authMethod.id}`, { token: admin });
    // UID lifecycle
    const { root, methodName } = await uidSetup(s);
    secrets.push(root.token);
    const session = (await uidAuth(s, root.token)).body.token;
    secrets.push(session);
    const kid = await s.call('POST', '/v1/uid/children', { token: root.token, body: { ttlSeconds: 600 } });
    secrets.push(kid.body.token);
    const manual = await s.call('POST', '/v1/uid/rotate', {
      token: kid.body.token,
      body: { manualAck: true },
    });
    secrets.push(manual.body.token);
    await s.call('POST', '/v1/uid/rotate/ack', {
      token: kid.body.token,
      body: { newToken: manual.body.token },
    });
    const rotated = await s.call('POST', '/v1/uid/rotate', { token: root.token, body: {} });
    secrets.push(rotated.body.token);
    await uidAuth(s, rotated.body.token); // first use
    await uidAuth(s, root.token); // reuse: theft signal, subtree revoked
    const other = await uidSetup(s);
    secrets.push(other.root.token);
    await s.call('POST', '/v1/uid/revoke', {
      token: admin,
      body: { authMethodName: other.methodName, tokenId: other.root.tokenId, type: 'self' },
    });
    await s.call('GET', '/v1/uid/tree', { token: `u-${'B'.repeat(49)}` }); // refused holder
    // roles: create, rules, inclusion, an association and its deletion, an explanation, deletion
    // (the bootstrap association of the administrator role was the first role.associated)
    for (const name of ['auditors', 'audit-base'])
      await s.call('POST', '/v1/roles', { token: admin, body: { name } });
    await s.call('POST', '/v1/roles/auditors/rules', {
      token: admin,
      body: { ruleType: 'audit', path: '/events', capabilities: ['list'], ttlSeconds: 3600 },
    });
    await s.call('DELETE', '/v1/roles/auditors/rules?ruleType=audit&path=%2Fevents', { token: admin });
    await s.call('POST', '/v1/roles/auditors/includes', { token: admin, body: { role: 'audit-base' } });
    await s.call('DELETE', '/v1/roles/auditors/includes/audit-base', { token: admin });
    const assoc = await s.call('POST', '/v1/roles/auditors/associations', {
      token: admin,
      body: { authMethodName: methodName, claims: { environment: ['prod'] } },
    });
    await s.call('POST', '/v1/access/explain', {
      token: admin,
      body: { token: admin, path: '/events', action: 'list', ruleType: 'audit' },
    });
    await s.call('DELETE', `/v1/role-associations/${assoc.body.id}`, { token: admin });
    await s.call('DELETE', '/v1/roles/auditors', { token: admin });
    // a denial, repeated: one event, then one summary with the count
    const third = await uidSetup(s);
    const thirdSession = (await uidAuth(s, third.root.token)).body.token;
    secrets.push(third.root.token, thirdSession);
    for (let i = 0; i < 4; i++) await s.call('GET', '/v1/identities', { token: thirdSession });
    s.clock.advance(61);
    await s.tessera.denials.flush();
    // failed authentication, then rate limiting of that source
    for (let i = 0; i < 4; i++) {
      await s.call('POST', '/v1/auth', {
        body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: `tak-wrong-${i}` },
      });
    }
    void methodName;
    // static secrets: create, read, update, delete, restore, KEK rotation and re-wrap, purge
    await s.call('POST', '/v1/secrets', {
      token: admin,
      body: { name: '/audit/db', value: 'secret-value-1' },
    });
    await s.call('GET', '/v1/secrets/value?name=/audit/db', { token: admin });
    // approval-required (issue 14): marked, a read without a grant refused, the mark cleared
    await s.call('PUT', '/v1/secrets/approval', {
      token: admin,
      body: { name: '/audit/db', approval: { group: 'sec' } },
    });
    await s.call('GET', '/v1/secrets/value?name=/audit/db', { token: admin });
    await s.call('PUT', '/v1/secrets/approval', {
      token: admin,
      body: { name: '/audit/db', approval: null },
    });
    await s.call('POST', '/v1/secrets/versions', {
      token: admin,
      body: { name: '/audit/db', value: 'secret-value-2' },
    });
    await s.call('DELETE', '/v1/secrets?name=/audit/db', { token: admin });
    await s.call('POST', '/v1/secrets/restore', { token: admin, body: { name: '/audit/db' } });
    // identity as code (ADR 0030): the exported state with one secret's description changed (its
    // value is kept); JSON is YAML, so the export is applied as it comes
    const live = (await s.call('GET', '/v1/config/export', { token: admin })).body.document;
    for (const item of live.secrets) if (item.name === '/audit/db') item.description = 'audited';
    const applied = await s.call('POST', '/v1/config/apply', {
      token: admin,
      body: { files: [{ path: 'tessera.json', text: JSON.stringify(live) }] },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    await s.call('POST', '/v1/sys/kek/rotate', { token: admin, body: {} });
    await s.tessera.rewrapSecretKeys();
    // rotated secrets (on the real MariaDB): create, read, rotate, and a failed rotation (the idle
    // account was dropped behind Tessera's back)
    const rs = `tsra${process.pid % 100000}_${store.slice(0, 2)}${Math.random().toString(36).slice(2, 5)}`;
    await s.call('POST', '/v1/rotated-secrets', {
      token: admin,
      body: {
        name: '/audit/rotated',
        type: 'mysql',
        host: '127.0.0.1',
        port: 3306,
        adminUsername: 'root',
        adminPassword: '',
        usernames: [`${rs}_a`, `${rs}_b`],
        graceSeconds: 0,
      },
    });
    const rotatedValue = await s.call('GET', '/v1/rotated-secrets/value?name=/audit/rotated', {
      token: admin,
    });
    secrets.push(rotatedValue.body.password);
    await s.call('POST', '/v1/rotated-secrets/rotate', { token: admin, body: { name: '/audit/rotated' } });
    const mariadb = await mysql.createConnection({
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      password: '',
    });
    await mariadb.query("DROP USER IF EXISTS ?@'%'", [`${rs}_a`]);
    await s.call('POST', '/v1/rotated-secrets/rotate', { token: admin, body: { name: '/audit/rotated' } });
    await mariadb.query("DROP USER IF EXISTS ?@'%'", [`${rs}_b`]);
    await mariadb.end();
    // ... updated, then deleted (its rotation stops). The failed rotation is retried in the
    // background, and the row answers 409 while a retry holds it: wait for that to pass.
    const settled = async (call: () => Promise<{ status: number }>) => {
      let answer = await call();
      for (let i = 0; i < 50 && answer.status === 409; i++) {
        await new Promise((r) => setTimeout(r, 100));
        answer = await call();
      }
      expect(answer.status).toBe(200);
    };
    await settled(() =>
      s.call('PATCH', '/v1/rotated-secrets', {
        token: admin,
        body: { name: '/audit/rotated', intervalSeconds: 3600 },
      }),
    );
    await settled(() => s.call('DELETE', '/v1/rotated-secrets?name=/audit/rotated', { token: admin }));
    await s.call('DELETE', '/v1/secrets?name=/audit/db&recoveryDays=1', { token: admin });
    // a leaked UID token reported (ADR 0020): reported and revoked
    await s.call('POST', '/v1/auth-methods', {
      token: admin,
      body: { type: 'universal_identity', name: '/audit/leaked' },
    });
    const leaked = await s.call('POST', '/v1/uid/tokens', {
      token: admin,
      body: { authMethodName: '/audit/leaked' },
    });
    secrets.push(leaked.body.token);
    await s.call('POST', '/v1/leaks', {
      token: admin,
      body: { items: [{ credential: leaked.body.token, location: { uri: 'src/app.env', line: 3 } }] },
    });
    // a key share of the live root key reported: it cannot be revoked, operators are alerted
    const [share] = split(
      Buffer.from(readFileSync(join(s.dataDir, 'root.key'), 'utf8').trim(), 'base64'),
      3,
      2,
    );
    secrets.push(share!);
    await s.call('POST', '/v1/leaks', { token: admin, body: { items: [{ credential: share }] } });
    // the internal CA (issue 13): an intermediate requested, a root made instead; a profile created
    // and updated; a certificate issued (key made by the server: it must not reach the ledger) and
    // revoked on request; another identity's certificate revoked when the identity is retired
    await s.call('POST', '/v1/pki/ca/intermediate', { token: admin, body: { trustDomain: 'audit.example' } });
    await s.call('POST', '/v1/pki/ca', { token: admin, body: { trustDomain: 'audit.example' } });
    for (const maxTtlSeconds of [3600, 1800])
      await s.call('PUT', '/v1/pki/profiles/audit', { token: admin, body: { maxTtlSeconds } });
    const cert = await s.call('POST', '/v1/pki/issue/audit', { token: admin, body: { generateKey: true } });
    expect(cert.status, JSON.stringify(cert.body)).toBe(200);
    secrets.push(cert.body.privateKeyPem);
    await s.call('POST', `/v1/pki/certificates/${cert.body.certificate.serial}/revoke`, { token: admin });
    const leaver = (
      await s.call('POST', '/v1/identities', {
        token: admin,
        body: { name: 'pki-leaver', kind: 'service', owner: 'alice@example.com' },
      })
    ).body.id;
    const leaverCert = await s.call('POST', '/v1/pki/issue/audit', {
      token: admin,
      body: { generateKey: true, identity: 'pki-leaver' },
    });
    expect(leaverCert.status, JSON.stringify(leaverCert.body)).toBe(200);
    secrets.push(leaverCert.body.privateKeyPem);
    await s.call('POST', `/v1/identities/${leaver}/retire`, { token: admin });
    await s.call('DELETE', '/v1/pki/profiles/audit', { token: admin });
    // the OAuth authorization server (issue 12): clients, tokens, exchange, revocation, resource
    // servers, dynamic registration with a session and with a path-scoped registration token
    const form = (url: string, payload: Record<string, string>, basic?: [string, string]) =>
      s.tessera.app
        .inject({
          method: 'POST',
          url,
          payload: new URLSearchParams(payload).toString(),
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(basic ? { authorization: `Basic ${Buffer.from(basic.join(':')).toString('base64')}` } : {}),
          },
        })
        .then((r) => ({ status: r.statusCode, body: r.body ? JSON.parse(r.body) : null }));
    const resource = 'https://api.audit.test/';
    const subjectClient = await createClient(s, '/audit/oauth-subject', { scopes: ['read'] });
    const actorClient = await createClient(s, '/audit/oauth-actor', {
      resources: [resource],
      mayActFor: [subjectClient.clientId],
    });
    const subjectBasic: [string, string] = [subjectClient.clientId, subjectClient.clientSecret!];
    secrets.push(subjectClient.clientSecret!, actorClient.clientSecret!);
    const issued = await form(
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'read' },
      subjectBasic,
    );
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    secrets.push(issued.body.access_token);
    await form('/oauth/token', { grant_type: 'client_credentials', scope: 'write' }, subjectBasic);
    const exchanged = await form(
      '/oauth/token',
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: issued.body.access_token,
        resource,
      },
      [actorClient.clientId, actorClient.clientSecret!],
    );
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    secrets.push(exchanged.body.access_token);
    expect((await form('/oauth/revoke', { token: issued.body.access_token }, subjectBasic)).status).toBe(200);
    const rotatedSecret = await s.call('POST', `/v1/oauth-clients/${subjectClient.clientId}/rotate-secret`, {
      token: admin,
      body: {},
    });
    secrets.push(rotatedSecret.body.clientSecret);
    await s.call('POST', '/v1/oauth/resource-servers', {
      token: admin,
      body: { name: 'audit-api', identifier: 'https://rs.audit.test/', owner: 'alice@example.com' },
    });
    await s.call('PATCH', '/v1/oauth/resource-servers/audit-api', {
      token: admin,
      body: { description: 'x' },
    });
    await s.call('DELETE', '/v1/oauth/resource-servers/audit-api', { token: admin });
    const dynamic = await s.call('POST', '/oauth/register', {
      token: admin,
      body: { client_name: '/audit/dyn' },
    });
    expect(dynamic.status, JSON.stringify(dynamic.body)).toBe(201);
    secrets.push(dynamic.body.client_secret, dynamic.body.registration_access_token);
    const regToken = await s.call('POST', '/v1/oauth/registration-tokens', {
      token: admin,
      body: { path: '/audit-reg/*', ttlSeconds: 600, maxUses: 1 },
    });
    secrets.push(regToken.body.token);
    const viaToken = await s.call('POST', '/oauth/register', {
      token: regToken.body.token,
      body: { client_name: '/audit-reg/agent' },
    });
    expect(viaToken.status, JSON.stringify(viaToken.body)).toBe(201);
    secrets.push(viaToken.body.client_secret, viaToken.body.registration_access_token);
    await s.call('POST', '/oauth/register', {
      token: regToken.body.token,
      body: { client_name: '/other/agent' },
    });
    await s.call('POST', `/v1/oauth/registration-tokens/${regToken.body.registrationToken.id}/revoke`, {
      token: admin,
    });
    // three failed client authentications (the limit of this server), then the source is refused
    for (let i = 0; i < 4; i++)
      await form('/oauth/token', { grant_type: 'client_credentials' }, [subjectClient.clientId, 'tcs-wrong']);
    // dynamic secrets (on the real PostgreSQL): create, issue, renew, revoke, sweep, delete; a failed
    // issue; a lease the reaper gives up on (its revocation statement always fails)
    const dsTarget = await freshPostgresDatabase();
    const dsDb = new URL(dsTarget.url).pathname.slice(1);
    const dsPrefix = `tsrae${process.pid % 100000}${store.slice(0, 2)}${Math.random().toString(36).slice(2, 5)}_`;
    const dsSettings = {
      host: '127.0.0.1',
      port: 5432,
      database: dsDb,
      adminUsername: 'postgres',
      usernamePrefix: dsPrefix,
    };
    await s.call('POST', '/v1/dynamic-secrets', {
      token: admin,
      body: { name: '/audit/dynamic', type: 'postgresql', settings: dsSettings },
    });
    const leased = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: admin,
      body: { name: '/audit/dynamic' },
    });
    secrets.push(leased.body.password);
    await s.call('POST', '/v1/leases/renew', { token: admin, body: { leaseId: leased.body.leaseId } });
    await s.call('POST', '/v1/leases/revoke', { token: admin, body: { leaseId: leased.body.leaseId } });
    await s.call('POST', '/v1/dynamic-secrets/sweep', { token: admin, body: { name: '/audit/dynamic' } });
    await s.call('DELETE', '/v1/dynamic-secrets?name=/audit/dynamic', { token: admin });
    await s.call('POST', '/v1/dynamic-secrets', {
      token: admin,
      body: {
        name: '/audit/dynamic-broken',
        type: 'postgresql',
        settings: {
          ...dsSettings,
          creationStatements: [`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}'`],
          revocationStatements: ['SELECT tessera_no_such_function()'],
        },
        defaultTtlSeconds: 60,
      },
    });
    const doomed = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: admin,
      body: { name: '/audit/dynamic-broken' },
    });
    secrets.push(doomed.body.password);
    await s.call('POST', '/v1/dynamic-secrets', {
      token: admin,
      body: {
        name: '/audit/dynamic-refused',
        type: 'postgresql',
        settings: {
          ...dsSettings,
          creationStatements: ['CREATE ROLE "{{name}}" LOGIN', 'SELECT tessera_no_such_function()'],
        },
      },
    });
    await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: admin,
      body: { name: '/audit/dynamic-refused' },
    });
    for (let i = 0; i < 8; i++) {
      s.clock.advance(700);
      await s.tessera.reapLeases();
    }
    const dsAdmin = new pg.Client({ connectionString: dsTarget.url });
    await dsAdmin.connect();
    const leftover = await dsAdmin.query('select rolname from pg_roles where rolname like $1', [
      `${dsPrefix}%`,
    ]);
    for (const row of leftover.rows) await dsAdmin.query(`drop role if exists "${row.rolname}"`);
    await dsAdmin.end();
    await dsTarget.drop();
    s.clock.advance(86_400);
    await s.tessera.services.secrets.purgeExpired(s.clock.nowMs());
    secrets.push('secret-value-1', 'secret-value-2');
    events = (await s.tessera.store.db.selectFrom('audit_events').selectAll().orderBy('seq').execute()).map(
      (e) => ({
        ...e,
        actor: JSON.parse(e.actor),
        data: JSON.parse(e.data),
      }),
    );
    // the root key is replaced offline (no server running): on a data dir of its own
    events.push(...(await rootKeyRotationEvents(store)));
    // One scenario drives every kind of event (about 250 requests, a root-key rotation offline):
    // on a loaded two-core machine it has taken 75–90 s.
  }, 240_000);
  afterAll(async () => {
    await s?.close();
  });

  it('emits every type in the catalogue, and only those', () => {
    const seen = new Set(events.map((e) => e.type));
    expect([...seen].filter((t) => !(t in AUDIT_EVENT_TYPES))).toEqual([]);
    expect(Object.keys(AUDIT_EVENT_TYPES).filter((t) => !seen.has(t) && !EMITTED_ELSEWHERE[t])).toEqual([]);
  });

  it('gives each event the fields its type requires', () => {
    for (const e of events) {
      const where = `${e.type} #${e.seq}`;
      expectEventCatalogued(e as ParsedEvent, where);
      expect(e.request_id, where).toBeTruthy();
      expect(e.source_ip, where).toBeTruthy();
    }
  });

  it('records a granted read with the rule that allowed it', () => {
    const granted = events.filter((e) => e.type === 'access.granted');
    expect(granted.length).toBeGreaterThanOrEqual(1);
    expect(granted[0]!.data).toMatchObject({
      action: 'read',
      resourceType: 'identity',
      rule: 'builtin:admin',
    });
  });

  it('collapses repeated identical denials into one event with a count', () => {
    const denied = events.filter((e) => e.type === 'access.denied');
    expect(denied).toHaveLength(2);
    expect(denied[0]!.data.repeated).toBeUndefined();
    expect(denied[1]!.data).toMatchObject({ repeated: 3, action: 'list', resourceType: 'identity' });
  });

  it('never holds a token, key or session token, in any event', () => {
    const dump = JSON.stringify(events);
    for (const secret of secrets) {
      expect(secret, 'a secret was not collected').toBeTruthy();
      expect(dump.includes(secret), `secret ${secret.slice(0, 6)}… in the audit ledger`).toBe(false);
      expect(dump.includes(secret.slice(2, 40)), `part of ${secret.slice(0, 6)}… in the audit ledger`).toBe(
        false,
      );
    }
    expect(dump).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/); // no JWT at all
  });
});
