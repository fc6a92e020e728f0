import { afterEach, describe, expect, it } from 'vitest';
import {
  authFailureBurstAlerts,
  type BurstState,
  federatedReplayAlert,
  isNearExpiryWithoutRotation,
  leaseRevokeFailedAlert,
  ledgerSizeAlert,
  nearExpiryAlerts,
  reuseAlert,
  shouldSend,
  sinkHealthAlert,
} from '../src/core/alerts/alert.rules.js';
import type { StoredAuditEvent } from '../src/core/audit/audit.model.js';
import type { UidNode } from '../src/core/uid/uid.model.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import { startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

const ev = (seq: number, extra: Partial<StoredAuditEvent> = {}): StoredAuditEvent => ({
  seq,
  id: `ev-${seq}`,
  atMs: 1_000_000 + seq * 1000,
  type: 'auth.failed',
  outcome: 'failure',
  actor: {},
  resource: null,
  reason: 'wrong_access_key',
  requestId: null,
  sourceIp: '10.0.0.1',
  data: {},
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
  ...extra,
});

const node = (extra: Partial<UidNode> = {}): UidNode => ({
  id: 'n-1',
  methodId: 'm-1',
  identityId: 'i-1',
  parentId: null,
  path: '/n-1/',
  depth: 1,
  ttlSeconds: 1000,
  expiresAtMs: 1_000_000,
  denyRotate: false,
  denyInheritance: false,
  comment: null,
  createdAtMs: 0,
  lastRotatedAtMs: null,
  rotationSeq: 0,
  revokedAtMs: null,
  revokedReason: null,
  flaggedAtMs: null,
  ...extra,
});

describe('alert rules (pure)', () => {
  it('raises a critical alert on the replay of a one-time federated token, and on nothing else', () => {
    const a = federatedReplayAlert(
      ev(2, {
        reason: 'federation_token_replayed',
        actor: { authMethodId: 'p-fed', credentialRef: 'cd34' },
        data: {
          accessType: 'oidc_federation',
          federation: { issuer: 'https://ci.example', subject: 'repo:a/b' },
        },
      }),
    );
    expect(a).toMatchObject({
      rule: 'federated_token_replay',
      severity: 'critical',
      subject: 'auth-method:p-fed',
      fields: { issuer: 'https://ci.example', tokenSubject: 'repo:a/b', credentialRef: 'cd34' },
    });
    expect(federatedReplayAlert(ev(3, { reason: 'federation_claim_mismatch' }))).toBeNull();
  });

  it('raises a critical alert on reuse of a rotated UID token, with ids only', () => {
    const a = reuseAlert(
      ev(1, {
        type: 'uid.token.reuse_detected',
        actor: { uidNodeId: 'n-9', credentialRef: 'ab12' },
        data: { policy: 'revoke', revokedCount: 3, nodeId: 'n-9' },
      }),
    );
    expect(a).toMatchObject({ rule: 'uid_token_reuse', severity: 'critical', subject: 'uid-node:n-9' });
    expect(a!.fields).toMatchObject({
      nodeId: 'n-9',
      policy: 'revoke',
      revokedCount: 3,
      credentialRef: 'ab12',
    });
    expect(reuseAlert(ev(2))).toBeNull();
  });

  it('detects a burst of failed authentications per identity and per source, within the window', () => {
    const state: BurstState = new Map();
    const t = { failures: 3, windowMs: 10_000 };
    expect(authFailureBurstAlerts(state, ev(1, { actor: { identityId: 'i-1' } }), t)).toEqual([]);
    expect(authFailureBurstAlerts(state, ev(2, { sourceIp: '10.0.0.2' }), t)).toEqual([]);
    expect(authFailureBurstAlerts(state, ev(3, { actor: { identityId: 'i-1' } }), t)).toEqual([]);
    const fourth = authFailureBurstAlerts(state, ev(4), t);
    expect(fourth.map((a) => a.subject)).toEqual(['source:10.0.0.1']);
    const fifth = authFailureBurstAlerts(
      state,
      ev(5, { actor: { identityId: 'i-1' }, sourceIp: '10.0.0.3' }),
      t,
    );
    expect(fifth.map((a) => a.subject)).toEqual(['identity:i-1']);
    expect(fourth[0]!.fields.failures).toBe(3);
    // Outside the window, old failures no longer count; successes never do.
    expect(authFailureBurstAlerts(state, ev(100, { actor: { identityId: 'i-1' } }), t)).toEqual([]);
    expect(authFailureBurstAlerts(state, ev(101, { type: 'auth.succeeded', outcome: 'success' }), t)).toEqual(
      [],
    );
  });

  it('reports a sink turning failing (critical when all fail) and recovering', () => {
    expect(sinkHealthAlert('syslog', false, false, 1, 'ECONNREFUSED')).toMatchObject({
      rule: 'audit_sink_failing',
      severity: 'warning',
      subject: 'sink:syslog',
    });
    expect(sinkHealthAlert('webhook', false, true, 1, null).severity).toBe('critical');
    expect(sinkHealthAlert('webhook', true, false, 1, null).rule).toBe('audit_sink_recovered');
  });

  it('finds live tokens near expiry with no rotation for half their TTL', () => {
    const now = 1_000_000 - 50_000; // 50 s left of a 1000 s TTL: within 10 %
    expect(isNearExpiryWithoutRotation(node(), now, 10)).toBe(true);
    expect(isNearExpiryWithoutRotation(node({ lastRotatedAtMs: now - 100_000 }), now, 10)).toBe(false);
    expect(isNearExpiryWithoutRotation(node({ revokedAtMs: 1 }), now, 10)).toBe(false);
    expect(isNearExpiryWithoutRotation(node(), 1_000_000 - 200_000, 10)).toBe(false);
    expect(isNearExpiryWithoutRotation(node(), 1_000_001, 10)).toBe(false);
    expect(
      nearExpiryAlerts([node(), node({ id: 'n-2', revokedAtMs: 5 })], now, 10).map((a) => a.subject),
    ).toEqual(['uid-node:n-1']);
  });

  it('raises the ledger size alert at 90 % of the bound', () => {
    expect(ledgerSizeAlert(89, 100, 1)).toBeNull();
    expect(ledgerSizeAlert(90, 100, 1)?.severity).toBe('warning');
    expect(ledgerSizeAlert(100, 100, 1)?.severity).toBe('critical');
    expect(ledgerSizeAlert(1_000, 0, 1)).toBeNull();
  });

  it('raises a critical alert per dynamic secret when a lease is left revoke_failed', () => {
    const a = leaseRevokeFailedAlert(
      ev(3, {
        type: 'lease.revoke_failed',
        resource: '/prod/db',
        reason: 'connect ECONNREFUSED 127.0.0.1:1',
        data: { leaseId: 'l-1', identityId: 'i-1', username: 'tsr_x', attempts: 6 },
      }),
    );
    expect(a).toMatchObject({
      rule: 'lease_revoke_failed',
      severity: 'critical',
      subject: 'dynamic-secret:/prod/db',
      fields: { leaseId: 'l-1', username: 'tsr_x', attempts: 6, reason: 'connect ECONNREFUSED 127.0.0.1:1' },
    });
    expect(leaseRevokeFailedAlert(ev(4, { type: 'lease.revoked', resource: '/prod/db' }))).toBeNull();
  });

  it('deduplicates the same alert for the same subject within the window', () => {
    const state = new Map<string, number>();
    const a = ledgerSizeAlert(95, 100, 1)!;
    expect(shouldSend(state, a, 0, 1000)).toBe(true);
    expect(shouldSend(state, a, 500, 1000)).toBe(false);
    expect(shouldSend(state, { ...a, subject: 'other' }, 500, 1000)).toBe(true);
    expect(shouldSend(state, a, 1000, 1000)).toBe(true);
  });
});

describe('alert delivery end to end', () => {
  let server: TestServer | null = null;
  let hook: WebhookReceiver | null = null;
  afterEach(async () => {
    await server?.close();
    await hook?.close();
    server = null;
    hook = null;
  });

  /** A webhook receiver collecting every body, and a server whose alerts go to it. */
  async function serverWithWebhook(): Promise<{ s: TestServer; bodies: string[] }> {
    const bodies: string[] = [];
    hook = await startWebhookReceiver(bodies);
    server = await startTestServer('sqlite', {
      TESSERA_ALERT_WEBHOOK_URL: hook.url('/slack'),
    });
    return { s: server, bodies };
  }

  /** The first delivered alert of `rule` (waits up to 5 s for it). */
  async function alertOf(bodies: string[], rule: string) {
    const end = Date.now() + 5_000;
    while (!bodies.some((b) => b.includes(rule)) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    return JSON.parse(bodies.find((b) => b.includes(rule))!);
  }

  it('delivers a Slack-shaped alert on reuse of a rotated UID token, with no token in it', async () => {
    const { s, bodies } = await serverWithWebhook();
    const { root } = await uidSetup(s);
    const rotated = await s.call('POST', '/v1/uid/rotate', { token: root.token, body: {} });
    expect(rotated.status, JSON.stringify(rotated.body)).toBeLessThan(300);
    const fresh = rotated.body.token as string;
    expect((await uidAuth(s, fresh)).status).toBe(200);
    expect((await uidAuth(s, root.token)).status).toBe(401);
    const alert = await alertOf(bodies, 'uid_token_reuse');
    expect(alert.text).toMatch(/Reuse of a rotated UID token/);
    expect(alert.alert).toMatchObject({ rule: 'uid_token_reuse', severity: 'critical' });
    expect(Array.isArray(alert.attachments[0].fields)).toBe(true);
    for (const b of bodies) {
      expect(b).not.toContain(root.token);
      expect(b).not.toContain(fresh);
      expect(b).not.toContain(s.adminAccessKey);
    }
  });

  it('delivers an alert when the reaper leaves a lease revoke_failed', async () => {
    const { s, bodies } = await serverWithWebhook();
    const name = '/alerts/unreachable-redis';
    // A target that refuses connections: every revocation attempt fails.
    const created = await s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: {
        name,
        type: 'redis',
        check: false,
        settings: { host: '127.0.0.1', port: 1, options: { connectTimeoutMs: 200 } },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const item = (await s.tessera.uow.read((r) => r.dynamic.getItem(name)))!;
    const now = s.clock.nowMs();
    // A lease on its last attempt (the reaper gives up after 6).
    await s.tessera.uow.write((r) =>
      r.dynamic.insertLease({
        id: 'l-alert1',
        itemId: item.id,
        itemName: name,
        identityId: 'i-x',
        username: 'tsr_alert1',
        state: 'revoking',
        createdAtMs: now - 60_000,
        expiresAtMs: now - 1000,
        maxExpiresAtMs: now - 1000,
        nextAttemptAtMs: now,
        attempts: 5,
        lastError: 'connect ECONNREFUSED',
        revokedAtMs: null,
      }),
    );
    const report = await s.tessera.reapLeases();
    expect(report).toMatchObject({ revoked: 0, failed: 1 });
    expect((await s.tessera.services.leases.getLease('l-alert1')).state).toBe('revoke_failed');
    const alert = await alertOf(bodies, 'lease_revoke_failed');
    expect(alert.alert).toMatchObject({
      rule: 'lease_revoke_failed',
      severity: 'critical',
      subject: `dynamic-secret:${name}`,
    });
    expect(alert.text).toMatch(/could not be revoked/);
    for (const b of bodies) expect(b).not.toContain(s.adminAccessKey);
  });
});
