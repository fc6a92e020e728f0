import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Baseline,
  DEFAULT_ANOMALY_SETTINGS,
  detectAnomalies,
  networkOf,
  prefixOf,
} from '../src/capabilities/governance/anomaly.rules.js';
import type { AuditSlice } from '../src/capabilities/governance/governance.repo.js';
import { loadConfig } from '../src/config/config.js';
import { identityAnomalyAlert } from '../src/core/alerts/alert.rules.js';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import { STORES, startTestServer, type TestServer } from './harness.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('anomaly rules (pure)', () => {
  const slice = (seq: number, at: number, ip: string, resource: string, identityId = 'i-1'): AuditSlice => ({
    seq,
    at,
    type: 'access.granted',
    actor: JSON.stringify({ identityId }),
    resource,
    data: '{}',
    source_ip: ip,
  });

  it('groups addresses by network and resources by prefix', () => {
    expect(networkOf('10.1.2.3')).toBe('10.1.2.0/24');
    expect(networkOf('::ffff:10.1.2.3')).toBe('10.1.2.0/24');
    expect(networkOf('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(networkOf('2001:db8:aa:bb:cc:dd:ee:ff')).toBe('2001:db8:aa:bb::/64');
    expect(prefixOf('/prod/app/db/password', 2)).toBe('/prod/app');
    expect(prefixOf('/prod', 2)).toBe('/prod');
  });

  it('learns without alerting until the history is long and large enough, then forgets past the window', () => {
    const now = 30 * DAY + 12 * HOUR;
    const baselines = new Map<string, Baseline>();
    // Two days of busy history: many events but too short a history — nothing is raised.
    const young = Array.from({ length: 60 }, (_, i) =>
      slice(i, now - 2 * DAY + i * 60_000, `10.0.${i}.1`, `/p${i}/x`),
    );
    expect(detectAnomalies(baselines, young, now, DEFAULT_ANOMALY_SETTINGS)).toEqual([]);
    // Old history beyond the window is forgotten, and stale events only teach.
    const b = baselines.get('i-1')!;
    b.hourly[Math.floor((now - 40 * DAY) / HOUR)] = 5;
    b.sources['9.9.9.0/24'] = now - 40 * DAY;
    detectAnomalies(
      baselines,
      [slice(100, now - 3 * DAY, '10.0.0.1', '/p0/x')],
      now,
      DEFAULT_ANOMALY_SETTINGS,
    );
    expect(b.sources['9.9.9.0/24']).toBeUndefined();
    expect(Object.keys(b.hourly).every((h) => Number(h) * HOUR >= now - 15 * DAY)).toBe(true);
    expect(b.firstAt).toBe(now - 3 * DAY);
    // Now three days long and 61 events: a new network is reported, once.
    const fresh = [slice(101, now, '172.16.5.4', '/p0/x'), slice(102, now + 1, '172.16.5.5', '/p0/x')];
    const found = detectAnomalies(baselines, fresh, now, DEFAULT_ANOMALY_SETTINGS);
    expect(found.map((a) => [a.kind, a.observed])).toEqual([['new_source', '172.16.5.0/24']]);
  });

  it('turns a governance.anomaly event into an identity_anomaly alert with its evidence', () => {
    const a = identityAnomalyAlert({
      seq: 1,
      id: 'ev-1',
      atMs: 5,
      type: 'governance.anomaly',
      outcome: 'success',
      actor: {},
      resource: '/identities/i-1',
      requestId: null,
      sourceIp: null,
      data: { identityId: 'i-1', kind: 'new_source', observed: '1.2.3.0/24', knownNetworks: '10.0.0.0/24' },
      prevHash: '',
      hash: '',
    });
    expect(a).toMatchObject({
      rule: 'identity_anomaly',
      severity: 'warning',
      subject: 'identity:i-1:new_source',
      fields: { identityId: 'i-1', observed: '1.2.3.0/24', knownNetworks: '10.0.0.0/24', eventId: 'ev-1' },
    });
  });
});

/**
 * Issue 16, anomalies (ADR 0033): an identity's history builds its baseline; normal traffic raises
 * nothing, a new identity raises nothing, and each kind of deviation raises exactly one
 * `identity_anomaly` alert, with evidence, through the alert webhook.
 */
describe.each(STORES)('identity anomalies on %s', (store) => {
  let s: TestServer;
  let hook: WebhookReceiver;
  const bodies: string[] = [];
  const tag = `an${Math.random().toString(36).slice(2, 7)}`;
  const who = `idn-${tag}`;
  const anomalies = () =>
    bodies
      .map((b) => JSON.parse(b))
      .filter((b) => b.alert?.rule === 'identity_anomaly')
      .map((b) => b.alert);

  /** Appends events done by `identityId` (as the access layer would), `at` ms each. */
  const act = (identityId: string, items: { at: number; ip: string; resource: string }[]) =>
    s.tessera.uow.write(async (r) => {
      for (const x of items)
        await r.audit.append(
          {
            type: 'access.granted',
            outcome: 'success',
            actor: { identityId },
            resource: x.resource,
            data: { resourceType: 'item', action: 'read' },
          },
          { requestId: `req-${tag}`, sourceIp: x.ip, userAgent: null, actor: null },
          x.at,
        );
    });
  const scan = async () => {
    const r = await s.call('POST', '/v1/governance/scan', { token: s.adminToken, body: {} });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  };
  /** Waits until `n` anomaly alerts arrived, then returns them all. */
  const expectAlerts = async (n: number) => {
    await expect.poll(() => anomalies().length, { timeout: 5000 }).toBeGreaterThanOrEqual(n);
    return anomalies();
  };

  beforeAll(async () => {
    hook = await startWebhookReceiver(bodies);
    s = await startTestServer(store, {
      TESSERA_ALERT_WEBHOOK_URL: hook.url('/alerts'),
    });
  });
  afterAll(async () => {
    await s?.close();
    await hook?.close();
  });

  it('raises exactly one alert per deviation, with evidence, and nothing for normal traffic or a new identity', async () => {
    const now = s.clock.nowMs(); // 12:00 UTC
    // Ten days of history: 10:00–14:00 UTC, two reads an hour from 10.20.30.0/24 under /tag/app.
    const history = [];
    for (let d = 10; d >= 1; d--)
      for (let h = -2; h <= 2; h++)
        for (const m of [5, 35])
          history.push({
            at: now - d * DAY + h * HOUR + m * 60_000,
            ip: `10.20.30.${(d % 5) + 1}`,
            resource: `/${tag}/app/db`,
          });
    await act(who, history);
    await scan();

    // Normal traffic: a known network (another address in it), a usual hour, a known prefix.
    await act(who, [
      { at: now, ip: '10.20.30.99', resource: `/${tag}/app/cache` },
      { at: now + 1000, ip: '10.20.30.2', resource: `/${tag}/app/db` },
    ]);
    // A brand-new identity doing everything unusual only starts its baseline.
    await act(`new-${tag}`, [{ at: now - 6 * HOUR, ip: '203.0.113.9', resource: `/${tag}/elsewhere/x` }]);
    await scan();

    // A new source network.
    await act(who, [{ at: now + 2000, ip: '198.51.100.7', resource: `/${tag}/app/db` }]);
    await scan();
    let got = await expectAlerts(1);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      severity: 'warning',
      subject: `identity:${who}:new_source`,
      fields: {
        identityId: who,
        kind: 'new_source',
        observed: '198.51.100.0/24',
        sourceIp: '198.51.100.7',
        knownNetworks: '10.20.30.0/24',
        knownNetworkCount: 1,
        resource: `/${tag}/app/db`,
      },
    });
    expect(got[0].fields.baselineEvents).toBeGreaterThanOrEqual(100);

    // A new resource prefix, an unusual hour, then a rate spike: one alert each.
    await act(who, [{ at: now + 3000, ip: '10.20.30.1', resource: `/${tag}/billing/key` }]);
    await act(who, [
      { at: now - 6 * HOUR, ip: '10.20.30.1', resource: `/${tag}/app/db` },
      { at: now - 6 * HOUR + 60_000, ip: '10.20.30.1', resource: `/${tag}/app/db` },
    ]);
    await act(
      who,
      Array.from({ length: 35 }, (_, i) => ({
        at: now + 10_000 + i * 1000,
        ip: '10.20.30.1',
        resource: `/${tag}/app/db`,
      })),
    );
    await scan();
    got = await expectAlerts(4);
    expect(got.map((a) => a.fields.kind)).toEqual([
      'new_source',
      'new_resource',
      'unusual_hour',
      'rate_spike',
    ]);
    expect(got.every((a) => a.fields.identityId === who)).toBe(true);
    expect(got[1].fields).toMatchObject({ observed: `/${tag}/billing`, knownPrefixes: `/${tag}/app` });
    expect(got[2].fields).toMatchObject({ hourUtc: 6, activeHoursUtc: '10,11,12,13,14' });
    expect(got[3].fields).toMatchObject({ eventsThisHour: 30, peakHourBefore: 2, threshold: 30 });

    // Each is also in the audit ledger, once.
    const events = await s.call(
      'GET',
      `/v1/audit/events?limit=100&resourcePrefix=${encodeURIComponent(`/identities/${who}`)}`,
      {
        token: s.adminToken,
      },
    );
    expect((events.body.items as any[]).filter((e) => e.type === 'governance.anomaly')).toHaveLength(4);

    // The same deviations again are learned: nothing more.
    await act(who, [{ at: now + 100_000, ip: '198.51.100.8', resource: `/${tag}/billing/other` }]);
    await scan();
    await new Promise((r) => setTimeout(r, 300));
    expect(anomalies()).toHaveLength(4);
  });

  it('holds its governance.* events to the audit catalogue', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'governance.', [
      'governance.anomaly',
      'governance.scanned',
    ]);
  });
});

/**
 * Anomaly thresholds from the environment (`TESSERA_ANOMALY_*`) and the baseline API
 * (`GET /v1/inventory/:id/baseline`): a short history that the defaults would only learn from arms
 * detection under lowered thresholds, and the baseline shows what the detector compares against.
 */
describe.each(STORES)('anomaly thresholds and baseline API on %s', (store) => {
  let s: TestServer;
  const tag = `ab${Math.random().toString(36).slice(2, 7)}`;
  const get = (url: string) => s.call('GET', url, { token: s.adminToken });
  beforeAll(async () => {
    s = await startTestServer(store, { TESSERA_ANOMALY_MIN_EVENTS: '6', TESSERA_ANOMALY_MIN_DAYS: '1' });
  });
  afterAll(async () => s?.close());

  it('arms detection with the configured thresholds and shows the baseline', async () => {
    const ident = await s.call('POST', '/v1/identities', {
      token: s.adminToken,
      body: { name: `svc-${tag}`, kind: 'service', owner: 'alice' },
    });
    const id = ident.body.id as string;
    const now = s.clock.nowMs(); // 12:00 UTC
    const act = (items: { at: number; ip: string; resource: string }[]) =>
      s.tessera.uow.write(async (r) => {
        for (const x of items)
          await r.audit.append(
            {
              type: 'access.granted',
              outcome: 'success',
              actor: { identityId: id },
              resource: x.resource,
              data: { resourceType: 'item', action: 'read' },
            },
            { requestId: `req-${tag}`, sourceIp: x.ip, userAgent: null, actor: null },
            x.at,
          );
      });
    const scan = async () =>
      expect((await s.call('POST', '/v1/governance/scan', { token: s.adminToken, body: {} })).status).toBe(
        200,
      );
    // Two days, four reads a day at 10:00–11:30 UTC: 8 events (the default needs 50 over 3 days).
    await act(
      [2, 1].flatMap((d) =>
        [0, 30, 60, 90].map((m) => ({
          at: now - d * DAY - 2 * HOUR + m * 60_000,
          ip: '10.9.8.7',
          resource: `/${tag}/app/db`,
        })),
      ),
    );
    await scan();
    const b = await get(`/v1/inventory/${id}/baseline`);
    expect(b.status).toBe(200);
    expect(b.body.settings).toMatchObject({ ...DEFAULT_ANOMALY_SETTINGS, minEvents: 6, minDays: 1 });
    expect(b.body.baseline).toMatchObject({
      events: 8,
      armed: true,
      networks: [{ network: '10.9.8.0/24' }],
      prefixes: [{ prefix: `/${tag}/app` }],
      peakHourEvents: 2,
      rateThreshold: 30,
    });
    expect(b.body.baseline.hoursUtc[10]).toBe(4);
    expect(b.body.baseline.hoursUtc[11]).toBe(4);
    expect(b.body.baseline.hoursUtc.reduce((x: number, y: number) => x + y, 0)).toBe(8);

    // A new network at a usual hour: one anomaly (the default thresholds would only have learned).
    await act([{ at: now, ip: '198.51.100.7', resource: `/${tag}/app/db` }]);
    await scan();
    const events = await get(
      `/v1/audit/events?limit=100&resourcePrefix=${encodeURIComponent(`/identities/${id}`)}`,
    );
    const found = (events.body.items as any[]).filter((e) => e.type === 'governance.anomaly');
    expect(found).toHaveLength(1);
    expect(JSON.stringify(found[0])).toContain('198.51.100.0/24');
    expect(
      (await get(`/v1/inventory/${id}/baseline`)).body.baseline.networks.map((n: any) => n.network),
    ).toEqual(['198.51.100.0/24', '10.9.8.0/24']);

    // An identity without history has no baseline yet; an unknown id is a 404.
    const other = await s.call('POST', '/v1/identities', {
      token: s.adminToken,
      body: { name: `new-${tag}`, kind: 'service', owner: 'alice' },
    });
    expect((await get(`/v1/inventory/${other.body.id}/baseline`)).body).toMatchObject({ baseline: null });
    expect((await get('/v1/inventory/i-does-not-exist/baseline')).status).toBe(404);
  });

  it('refuses an out-of-range threshold at start with the variable named', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-anomaly-'));
    expect(() => loadConfig({ dataDir, logLevel: 'silent' }, { TESSERA_ANOMALY_MIN_EVENTS: '0' })).toThrow(
      /TESSERA_ANOMALY_MIN_EVENTS must be an integer between 1 and/,
    );
    expect(() =>
      loadConfig({ dataDir, logLevel: 'silent' }, { TESSERA_ANOMALY_PREFIX_DEPTH: 'two' }),
    ).toThrow(/TESSERA_ANOMALY_PREFIX_DEPTH/);
    expect(
      loadConfig({ dataDir, logLevel: 'silent' }, { TESSERA_ANOMALY_RATE_FACTOR: '5' }).governance.anomaly,
    ).toEqual({
      rateFactor: 5,
    });
    rmSync(dataDir, { recursive: true, force: true });
  });
});
