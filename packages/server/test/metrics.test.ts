import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?Inf|NaN)';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?\\})? (${VALUE})(?: -?\\d+)?$`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * A strict reader of the text format 0.0.4: every line is a HELP, a TYPE or a well-formed sample,
 * every sample belongs to a family whose TYPE came before it, a family is typed once, and histogram
 * buckets are cumulative up to `+Inf` = `_count`.
 */
function parseExposition(text: string): Sample[] {
  expect(text.endsWith('\n')).toBe(true);
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      const name = line.slice(7).split(' ')[0]!;
      expect(name).toMatch(new RegExp(`^${NAME}$`));
      expect(helped.has(name), `second HELP for ${name}`).toBe(false);
      helped.add(name);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, ...rest] = line.slice(7).split(' ');
      expect(rest).toEqual([]);
      expect(name).toMatch(new RegExp(`^${NAME}$`));
      expect(TYPES.has(type!), `TYPE ${type}`).toBe(true);
      expect(types.has(name!), `second TYPE for ${name}`).toBe(false);
      expect(
        samples.some((s) => familyOf(s.name, types) === name),
        `TYPE of ${name} after its samples`,
      ).toBe(false);
      types.set(name!, type!);
      continue;
    }
    expect(line.startsWith('#'), `unexpected comment: ${line}`).toBe(false);
    const m = SAMPLE_LINE.exec(line);
    expect(m, `malformed sample line: ${line}`).not.toBeNull();
    const [, name, labelText, value] = m!;
    const family = familyOf(name!, types);
    expect(family, `sample ${name} has no preceding TYPE`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const pair of (labelText ?? '').match(new RegExp(LABEL, 'g')) ?? []) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq);
      expect(key in labels, `duplicate label ${key} in ${line}`).toBe(false);
      labels[key] = pair.slice(eq + 2, -1).replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: name!, labels, value: Number(value!.replace('Inf', 'Infinity')) });
  }
  checkHistograms(samples, types);
  return samples;
}

/** The family a sample belongs to: its own name, or a histogram's name for `_bucket`/`_sum`/`_count`. */
function familyOf(name: string, types: Map<string, string>): string | null {
  if (types.has(name) && types.get(name) !== 'histogram') return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && types.get(base) === 'histogram' ? base : null;
}

function checkHistograms(samples: Sample[], types: Map<string, string>) {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, { buckets: number[]; les: string[]; count?: number }>();
    for (const s of samples) {
      if (familyOf(s.name, types) !== family) continue;
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      const entry = series.get(key) ?? { buckets: [], les: [] };
      series.set(key, entry);
      if (s.name.endsWith('_bucket')) {
        expect(le, `${family} bucket without le`).toBeDefined();
        entry.buckets.push(s.value);
        entry.les.push(le!);
      } else if (s.name.endsWith('_count')) entry.count = s.value;
    }
    for (const [key, entry] of series) {
      expect(entry.les.at(-1), `${family}${key} ends with +Inf`).toBe('+Inf');
      const bounds = entry.les.slice(0, -1).map(Number);
      expect([...bounds].sort((a, b) => a - b)).toEqual(bounds);
      for (let i = 1; i < entry.buckets.length; i++)
        expect(entry.buckets[i]!).toBeGreaterThanOrEqual(entry.buckets[i - 1]!);
      expect(entry.buckets.at(-1)).toBe(entry.count);
    }
  }
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const hits = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(hits.length, `${name}${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return hits[0]?.value;
};

describe('the exposition reader used below', () => {
  it('rejects what a Prometheus scraper would', () => {
    const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1\\"2"} 3\n';
    expect(parseExposition(ok)).toEqual([{ name: 'a_total', labels: { x: '1"2' }, value: 3 }]);
    for (const bad of [
      'a_total 1\n', // no TYPE
      '# TYPE a_total counter\na_total{x=1} 1\n', // unquoted label value
      '# TYPE a_total counter\na_total{x="1",x="2"} 1\n', // duplicate label
      '# TYPE a_total counter\na_total one\n', // bad value
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n', // not cumulative
      '# TYPE a_total counter\na_total 1', // no final newline
    ]) {
      expect(() => parseExposition(bad), bad).toThrow();
    }
  });
});

describe('GET /metrics (session token required by default)', () => {
  let s: TestServer;
  const secrets: string[] = [];
  let samples: Sample[];
  let text: string;
  let contentType: string | undefined;

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    secrets.push(s.adminToken, s.adminAccessKey);
    const { root, method } = await uidSetup(s, { ttlSeconds: 3600 });
    const other = await uidSetup(s, { ttlSeconds: 3600 });
    secrets.push(root.token, other.root.token);

    // A successful and a failed UID exchange.
    const ok = await uidAuth(s, root.token);
    expect(ok.status).toBe(200);
    secrets.push(ok.body.token);
    expect((await uidAuth(s, 'u-nope')).status).toBe(401);
    // A failed access-key exchange: the reason is counted, the key is not.
    const wrongKey = `${s.adminAccessKey.slice(0, -4)}XXXX`;
    secrets.push(wrongKey);
    const bad = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: wrongKey },
    });
    expect(bad.status).toBe(401);

    // A rotation, the successor's first use, then the old token again: reuse (default policy: revoke).
    const rotated = await s.call('POST', '/v1/uid/rotate', { token: root.token, body: {} });
    expect(rotated.status).toBe(200);
    secrets.push(rotated.body.token);
    const successor = await uidAuth(s, rotated.body.token);
    expect(successor.status).toBe(200);
    secrets.push(successor.body.token);
    expect((await uidAuth(s, root.token)).status).toBe(401);

    // A revocation of the other root by its holder.
    const revoked = await s.call('POST', '/v1/uid/revoke', {
      token: other.root.token,
      body: { type: 'self' },
    });
    expect(revoked.status).toBe(200);

    // URLs carrying ids and token-like text, matched and not: labels get the pattern or `unmatched`.
    expect((await s.call('GET', `/v1/auth-methods/${method.id}`, { token: s.adminToken })).status).toBe(200);
    expect((await s.call('GET', `/v1/no-such-route/${root.token}`, { token: s.adminToken })).status).toBe(
      404,
    );

    const res = await s.tessera.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${s.adminToken}` },
    });
    expect(res.statusCode).toBe(200);
    contentType = res.headers['content-type'] as string | undefined;
    text = res.body;
    samples = parseExposition(text);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('is served as text format 0.0.4 and parses', () => {
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(samples.length).toBeGreaterThan(20);
  });

  it('counts exchanges by method and outcome, and failures by internal reason', () => {
    const auth = (method: string, outcome: string) =>
      value(samples, 'tessera_auth_total', { method, outcome });
    expect(auth('universal_identity', 'success')).toBe(2);
    expect(auth('universal_identity', 'failure')).toBe(2);
    expect(auth('access_key', 'success')).toBe(1); // the harness's admin sign-in
    expect(auth('access_key', 'failure')).toBe(1);
    expect(auth('access_key', 'rate_limited')).toBe(0);
    const failures = (method: string, reason: string) =>
      value(samples, 'tessera_auth_failures_total', { method, reason });
    expect(failures('universal_identity', 'malformed_uid_token')).toBe(1);
    expect(failures('universal_identity', 'reuse_of_superseded_token')).toBe(1);
    expect(failures('access_key', 'wrong_access_key')).toBe(1);
    expect(samples.filter((x) => x.name === 'tessera_auth_failures_total')).toHaveLength(3);
  });

  it('counts rotations, revocations and reuse detections with their labels', () => {
    expect(value(samples, 'tessera_uid_rotations_total', { outcome: 'success' })).toBe(1);
    expect(value(samples, 'tessera_uid_rotations_total', { outcome: 'failure' })).toBe(0);
    expect(value(samples, 'tessera_uid_revocations_total', { type: 'self' })).toBe(1);
    expect(value(samples, 'tessera_uid_revocations_total', { type: 'all' })).toBe(0);
    expect(value(samples, 'tessera_uid_reuse_detections_total', { policy: 'revoke' })).toBe(1);
    expect(value(samples, 'tessera_uid_reuse_detections_total', { policy: 'flag' })).toBe(0);
    // The reuse revoked a subtree, the holder revoked a node: two live revocations.
    expect(value(samples, 'tessera_revocation_set_size')).toBe(2);
  });

  it('times requests by route pattern, never by raw URL', () => {
    const count = (route: string, method: string, status_class: string) =>
      value(samples, 'tessera_http_request_duration_seconds_count', { route, method, status_class });
    // Admin sign-in, two UID successes.
    expect(count('/v1/auth', 'POST', '2xx')).toBe(3);
    expect(count('/v1/auth', 'POST', '4xx')).toBe(3);
    expect(count('/v1/uid/rotate', 'POST', '2xx')).toBe(1);
    expect(count('/v1/auth-methods/:id', 'GET', '2xx')).toBe(1);
    expect(count('unmatched', 'GET', '4xx')).toBe(1);
    const routes = new Set(
      samples.filter((x) => x.name.startsWith('tessera_http_request')).map((x) => x.labels.route),
    );
    for (const route of routes) expect(route).toMatch(/^(\/[a-z0-9/:._-]*|unmatched)$/);
  });

  it('reports the audit group commit, build and process', () => {
    expect(value(samples, 'tessera_audit_write_duration_seconds_count')).toBeGreaterThanOrEqual(8);
    expect(value(samples, 'tessera_audit_write_duration_seconds_sum')).toBeGreaterThan(0);
    expect(value(samples, 'tessera_audit_commit_failures_total')).toBe(0);
    expect(value(samples, 'tessera_build_info', { version: '0.1.0' })).toBe(1);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
  });

  it('never contains a token, a JWT, an access key or an id from the requests', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    for (const line of text.split('\n')) {
      for (const secret of secrets) expect(line).not.toContain(secret);
      expect(line).not.toMatch(/u-[A-Za-z0-9_-]{20,}/);
      expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
      expect(line).not.toContain(s.adminAccessId);
      expect(line).not.toMatch(/\breq-/);
    }
  });

  it('refuses a caller without a credential (401) and one without read on audit:/metrics (403)', async () => {
    const anonymous = await s.call('GET', '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('TESSERA_UNAUTHENTICATED');
    const { root } = await uidSetup(s);
    const session = await uidAuth(s, root.token);
    const denied = await s.call('GET', '/metrics', { token: session.body.token });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('TESSERA_FORBIDDEN');
    // A `u-` token is not a credential for this route.
    expect((await s.call('GET', '/metrics', { token: root.token })).status).toBe(401);
  });
});

describe('GET /metrics with TESSERA_METRICS_PUBLIC=true', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { TESSERA_METRICS_PUBLIC: 'true' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers a scraper that holds no credential', async () => {
    const res = await s.tessera.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    const samples = parseExposition(res.body);
    expect(value(samples, 'tessera_auth_total', { method: 'access_key', outcome: 'success' })).toBe(1);
    // The previous scrape is itself timed, under its pattern.
    const again = parseExposition((await s.tessera.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(
      value(again, 'tessera_http_request_duration_seconds_count', {
        route: '/metrics',
        method: 'GET',
        status_class: '2xx',
      }),
    ).toBe(1);
  });
});
