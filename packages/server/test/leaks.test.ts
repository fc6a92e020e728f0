import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialKindOf, sha256Hex } from '../src/crypto/credentials.js';
import { dynamicPassword, isDynamicPassword } from '../src/crypto/random-password.js';
import { split } from '../src/crypto/shamir.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import { STORES, type StoreKind, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';
import { createClient } from './oauth.helpers.js';
import { redisFixture } from './producer-fixtures.js';

/**
 * Issue 17 (ADR 0020): `POST /v1/leaks` identifies each reported credential by hash, revokes it,
 * alerts its owner and records a finding; idempotent; the receipt is no liveness oracle.
 */
const tag = `lk${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const OWNER = `owner-${tag}@example.com`;
const redis = redisFixture();

describe.each(STORES)('leak reports on %s: every Tessera credential kind', (store: StoreKind) => {
  const prefix = `${tag}${store.slice(0, 2)}`;
  let s: TestServer;
  let hook: WebhookReceiver;
  const bodies: string[] = [];
  const planted: Record<string, string> = {};
  let lease: { username: string; password: string };

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  let clientId = '';
  let accessId = '';

  const clientToken = () =>
    s.tessera.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: 'grant_type=client_credentials',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(clientId, planted.client_secret!),
      },
    });
  /** Whether each planted credential still works, through the door it is used at. */
  async function alive(): Promise<Record<string, boolean>> {
    const session = await s.call('GET', '/v1/identities', { token: planted.session_token! });
    const accessKey = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId, accessKey: planted.access_key },
    });
    let dynamic = true;
    try {
      const c = await redis.connect(lease.username, lease.password);
      await c.close();
    } catch {
      dynamic = false;
    }
    return {
      uid_token: (await uidAuth(s, planted.uid_token!)).status === 200,
      session_token: session.status !== 401,
      access_key: accessKey.status === 200,
      client_secret: (await clientToken()).statusCode === 200,
      dynamic_password: dynamic,
    };
  }
  const alertsOf = () =>
    bodies.map((b) => JSON.parse(b)).filter((b) => b.alert?.rule === 'credential_leaked');

  beforeAll(async () => {
    hook = await startWebhookReceiver(bodies);
    s = await startTestServer(store, {
      TESSERA_ALERT_WEBHOOK_URL: hook.url('/alerts'),
    });
    const { root } = await uidSetup(s, { owner: OWNER });
    planted.uid_token = root.token;
    const auth = await uidAuth(s, root.token);
    expect(auth.status).toBe(200);
    // A separate UID token's session, so revoking the UID subtree above does not end it first.
    const other = await uidSetup(s, { owner: OWNER });
    planted.session_token = (await uidAuth(s, other.root.token)).body.token;
    s.track(other.root.token);
    const key = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: `/leaks/${tag}/key`, owner: OWNER },
    });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    accessId = key.body.authMethod.id;
    planted.access_key = key.body.accessKey;
    const client = await createClient(s, `/leaks/${tag}/client`, { owner: OWNER });
    clientId = client.clientId;
    planted.client_secret = client.clientSecret!;
    await redis.setUp(prefix);
    const item = await s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: { name: `/leaks/${tag}/redis`, type: 'redis', settings: redis.settings(`${prefix}_`) },
    });
    expect(item.status, JSON.stringify(item.body)).toBe(201);
    const issued = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: s.adminToken,
      body: { name: `/leaks/${tag}/redis` },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    lease = issued.body;
    planted.dynamic_password = lease.password;
    for (const v of Object.values(planted)) s.track(v);
  });
  afterAll(async () => {
    await s?.close();
    await hook?.close();
    await redis.tearDown(`${prefix}_`);
  });

  it('issues every credential with a recognisable, checksummed shape', () => {
    for (const [kind, value] of Object.entries(planted)) expect(credentialKindOf(value)).toBe(kind);
    expect(isDynamicPassword(planted.dynamic_password!)).toBe(true);
    const p = dynamicPassword(32);
    expect(p).toMatch(/^tdp1[A-Za-z0-9]{28}$/);
    expect(isDynamicPassword(`${p.slice(0, 10)}${p[10] === 'A' ? 'B' : 'A'}${p.slice(11)}`)).toBe(false);
  });

  it('revokes each reported credential, alerts its owner, records where it was found', async () => {
    expect(await alive()).toEqual({
      uid_token: true,
      session_token: true,
      access_key: true,
      client_secret: true,
      dynamic_password: true,
    });
    const kinds = Object.keys(planted);
    const report = await s.call('POST', '/v1/leaks', {
      token: s.adminToken,
      body: {
        items: kinds.map((kind, i) => ({
          credential: planted[kind],
          location: { uri: `src/${kind}.env`, line: i + 1, source: 'test' },
        })),
      },
    });
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body.items).toHaveLength(kinds.length);
    for (const r of report.body.items) {
      expect(Object.keys(r).sort()).toEqual(['auditHash', 'findingId', 'index']);
      expect(r.auditHash).toMatch(/^hmac-sha256:/);
    }
    expect(await alive()).toEqual({
      uid_token: false,
      session_token: false,
      access_key: false,
      client_secret: false,
      dynamic_password: false,
    });
    const findings = await s.call('GET', '/v1/leaks?limit=50', { token: s.adminToken });
    expect(findings.status).toBe(200);
    for (const kind of kinds) {
      const f = findings.body.items.find((x: any) => x.kind === kind);
      expect(f, kind).toMatchObject({ outcome: 'revoked', reportCount: 1 });
      expect(f.locations[0]).toMatchObject({ uri: `src/${kind}.env` });
    }
    const end = Date.now() + 5000;
    while (alertsOf().length < kinds.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const alerts = alertsOf();
    expect(alerts.map((a) => a.alert.fields.kind).sort()).toEqual([...kinds].sort());
    for (const a of alerts) {
      // The lease was obtained by the administrator: its owner is the one alerted for it.
      if (a.alert.fields.kind === 'dynamic_password') expect(typeof a.alert.fields.owner).toBe('string');
      else expect(a.alert.fields.owner).toBe(OWNER);
      expect(a.alert.fields.location).toMatch(/^src\/.*\.env:\d$/);
    }
    for (const b of bodies) for (const v of Object.values(planted)) expect(b).not.toContain(v);
  });

  it('is idempotent: a second report revokes nothing more, alerts nobody, says already dead', async () => {
    const before = alertsOf().length;
    const again = await s.call('POST', '/v1/leaks', {
      token: s.adminToken,
      body: {
        items: [
          { credential: planted.uid_token, location: { uri: 'https://ci.example/build/7' } },
          { hash: sha256Hex(planted.access_key!) },
        ],
      },
    });
    expect(again.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(alertsOf().length).toBe(before);
    const findings = await s.call('GET', '/v1/leaks?outcome=revoked', { token: s.adminToken });
    const uid = findings.body.items.find((x: any) => x.kind === 'uid_token');
    expect(uid).toMatchObject({ reportCount: 2 });
    expect(uid.locations.map((l: any) => l.uri)).toEqual(['src/uid_token.env', 'https://ci.example/build/7']);
    const events = await s.call('GET', '/v1/audit/events?type=leak.reported&limit=100', {
      token: s.adminToken,
    });
    const repeats = events.body.items.filter((e: any) => e.data.repeat === true);
    expect(repeats.map((e: any) => e.data.outcome)).toEqual(['already_dead', 'already_dead']);
  });

  it('tells the reporter the same for a live credential, a dead one and a stranger', async () => {
    const fresh = await uidSetup(s, { owner: OWNER });
    s.track(fresh.root.token);
    // A string with a valid u- checksum that Tessera never issued.
    const body = 'A'.repeat(43);
    const { createHash } = await import('node:crypto');
    const sum = createHash('sha256').update(body).digest().subarray(0, 4).toString('base64url').slice(0, 6);
    const stranger = `u-${body}${sum}`;
    expect(credentialKindOf(stranger)).toBe('uid_token');
    const r = await s.call('POST', '/v1/leaks', {
      token: s.adminToken,
      body: {
        items: [
          { credential: fresh.root.token },
          { credential: planted.uid_token },
          { credential: stranger },
        ],
      },
    });
    expect(r.status).toBe(200);
    const shapes = r.body.items.map((i: any) => [typeof i.findingId, typeof i.auditHash]);
    expect(new Set(shapes.map(String)).size).toBe(1);
    const all = await s.call('GET', '/v1/leaks?limit=100', { token: s.adminToken });
    const outcome = (id: string) => all.body.items.find((f: any) => f.id === id)?.outcome;
    expect(r.body.items.map((i: any) => outcome(i.findingId))).toEqual(['revoked', 'revoked', 'unknown']);
    expect((await uidAuth(s, fresh.root.token)).status).toBe(401);
  });

  it('records a key share of the live root key as action_required and alerts once; another key is dead', async () => {
    const material = Buffer.from(readFileSync(join(s.dataDir, 'root.key'), 'utf8').trim(), 'base64');
    const [live] = split(material, 3, 2);
    const [other] = split(randomBytes(32), 3, 2);
    s.track(live!);
    const report = () =>
      s.call('POST', '/v1/leaks', {
        token: s.adminToken,
        body: {
          items: [{ credential: live, location: { uri: 'wiki/runbook.md', line: 3 } }, { credential: other }],
        },
      });
    const first = await report();
    expect(first.status).toBe(200);
    expect(
      new Set(first.body.items.map((i: any) => `${typeof i.findingId}/${typeof i.auditHash}`)).size,
    ).toBe(1);
    const shareAlerts = () =>
      bodies.map((b) => JSON.parse(b)).filter((b) => b.alert?.rule === 'unseal_share_leaked');
    const end = Date.now() + 30_000;
    while (shareAlerts().length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(shareAlerts()).toHaveLength(1);
    expect(shareAlerts()[0].alert.fields).toMatchObject({ location: 'wiki/runbook.md:3' });
    expect(JSON.stringify(shareAlerts())).not.toContain(live!);
    expect((await report()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(shareAlerts().length).toBe(1);
    const all = await s.call('GET', '/v1/leaks?limit=100', { token: s.adminToken });
    const outcome = (id: string) => all.body.items.find((f: any) => f.id === id)?.outcome;
    expect(first.body.items.map((i: any) => outcome(i.findingId))).toEqual([
      'action_required',
      'already_dead',
    ]);
    const pending = await s.call('GET', '/v1/leaks?outcome=action_required', { token: s.adminToken });
    expect(pending.body.items.map((f: any) => f.kind)).toEqual(['unseal_share']);
  });

  it('revokes a leaked registration access token (RFC 7592), reported by hash only', async () => {
    const r = await s.call('POST', '/oauth/register', {
      token: s.adminToken,
      body: { client_name: `/leaks/${tag}/dyn-${store}` },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const { client_id: id, registration_access_token: rat, client_secret: secret } = r.body;
    s.track(rat);
    s.track(secret);
    const read = () =>
      s.call('GET', `/oauth/register/${id}`, { headers: { authorization: `Bearer ${rat}` } });
    expect((await read()).status).toBe(200);
    const report = await s.call('POST', '/v1/leaks', {
      token: s.adminToken,
      body: { items: [{ hash: sha256Hex(rat), location: { uri: 'https://tickets.example/123' } }] },
    });
    expect(report.status).toBe(200);
    expect(report.body.items[0].auditHash).toBeNull();
    expect((await read()).status).toBe(401);
    const findings = await s.call('GET', '/v1/leaks?outcome=revoked&limit=100', { token: s.adminToken });
    expect(findings.body.items.find((f: any) => f.kind === 'registration_token')).toMatchObject({
      locations: [{ uri: 'https://tickets.example/123' }],
    });
  });

  it('refuses bad input with a 400 and callers without the permission with a 401/403', async () => {
    const bad = [
      { items: [] },
      { items: [{}] },
      { items: [{ credential: 'x', hash: 'a'.repeat(64) }] },
      { items: [{ hash: 'zz' }] },
      { items: [{ hash: 'A'.repeat(64) }] },
      { items: [{ credential: 'x', location: { uri: '' } }] },
      { items: [{ credential: 'x', extra: 1 }] },
    ];
    for (const body of bad) {
      const r = await s.call('POST', '/v1/leaks', { token: s.adminToken, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await s.call('POST', '/v1/leaks', { body: { items: [{ credential: 'x' }] } })).status).toBe(401);
    const fresh = await uidSetup(s);
    s.track(fresh.root.token);
    const session = (await uidAuth(s, fresh.root.token)).body.token;
    const denied = await s.call('POST', '/v1/leaks', {
      token: session,
      body: { items: [{ credential: 'x' }] },
    });
    expect(denied.status).toBe(403);
  });
});
