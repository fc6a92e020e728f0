import { describe, expect, it } from 'vitest';
import { escapeLabelValue, formatNumber, MetricsRegistry, OTHER_LABEL_VALUE } from './prometheus.js';
import { createTesseraMetrics, registerRevocationSetGauge } from './tessera-metrics.js';

const lines = (text: string) => text.trimEnd().split('\n');

describe('metrics registry', () => {
  it('renders a labelled counter with HELP and TYPE, series in first-seen order', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({
      name: 'demo_total',
      help: 'Demo counter.',
      labels: { method: ['a', 'b'], outcome: ['ok', 'ko'] },
    });
    c.inc({ method: 'b', outcome: 'ok' });
    c.inc({ method: 'a', outcome: 'ko' }, 2);
    c.inc({ method: 'b', outcome: 'ok' });
    expect(lines(registry.render())).toEqual([
      '# HELP demo_total Demo counter.',
      '# TYPE demo_total counter',
      'demo_total{method="b",outcome="ok"} 2',
      'demo_total{method="a",outcome="ko"} 2',
    ]);
    expect(c.get({ method: 'b', outcome: 'ok' })).toBe(2);
    expect(c.get({ method: 'a', outcome: 'ok' })).toBe(0);
    // Reading a series that was never recorded does not create it.
    expect(registry.render()).not.toContain('outcome="ok"} 0');
  });

  it('records a value outside the declared set as `other`, so user input never becomes a label', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: 'closed_total', help: 'h', labels: { reason: ['known'] } });
    c.inc({ reason: 'u-AAAAsecretTokenBBBB' });
    c.inc({ reason: '/v1/identities/i-123?x=1' });
    c.inc({ reason: 'known' });
    const text = registry.render();
    expect(text).toContain(`closed_total{reason="${OTHER_LABEL_VALUE}"} 2`);
    expect(text).toContain('closed_total{reason="known"} 1');
    expect(text).not.toContain('u-AAAA');
    expect(text).not.toContain('i-123');
  });

  it('reads a label set by reference, so its owner can declare values later', () => {
    const registry = new MetricsRegistry();
    const routes = new Set<string>();
    const c = registry.counter({ name: 'r_total', help: 'h', labels: { route: routes } });
    c.inc({ route: '/late' });
    routes.add('/late');
    c.inc({ route: '/late' });
    expect(registry.render()).toContain('r_total{route="other"} 1\nr_total{route="/late"} 1');
  });

  it('renders a histogram: cumulative buckets, +Inf, _sum and _count', () => {
    const registry = new MetricsRegistry();
    const h = registry.histogram({
      name: 'latency_seconds',
      help: 'Latency.',
      labels: { route: ['/x'] },
      buckets: [1, 0.1, 0.5],
    });
    for (const v of [0.05, 0.1, 0.3, 0.7, 3]) h.observe({ route: '/x' }, v);
    h.observe({ route: '/x' }, Number.NaN);
    expect(lines(registry.render())).toEqual([
      '# HELP latency_seconds Latency.',
      '# TYPE latency_seconds histogram',
      'latency_seconds_bucket{route="/x",le="0.1"} 2',
      'latency_seconds_bucket{route="/x",le="0.5"} 3',
      'latency_seconds_bucket{route="/x",le="1"} 4',
      'latency_seconds_bucket{route="/x",le="+Inf"} 5',
      'latency_seconds_sum{route="/x"} 4.15',
      'latency_seconds_count{route="/x"} 5',
    ]);
    expect(h.count({ route: '/x' })).toBe(5);
  });

  it('renders unlabelled metrics and collected gauges at render time', () => {
    const registry = new MetricsRegistry();
    let rss = 10;
    registry.gauge({ name: 'mem_bytes', help: 'Memory.', collect: () => rss });
    const g = registry.gauge({ name: 'info', help: 'Info.', labels: { version: ['1.2.3'] } });
    g.set({ version: '1.2.3' }, 1);
    registry.counter({ name: 'fails_total', help: 'Fails.' }).inc();
    rss = 42;
    expect(lines(registry.render())).toEqual([
      '# HELP mem_bytes Memory.',
      '# TYPE mem_bytes gauge',
      'mem_bytes 42',
      '# HELP info Info.',
      '# TYPE info gauge',
      'info{version="1.2.3"} 1',
      '# HELP fails_total Fails.',
      '# TYPE fails_total counter',
      'fails_total 1',
    ]);
  });

  it('declares a labelled metric with no series yet by its HELP and TYPE only', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'idle_total', help: 'Idle.', labels: { a: ['x'] } });
    expect(lines(registry.render())).toEqual(['# HELP idle_total Idle.', '# TYPE idle_total counter']);
    expect(new MetricsRegistry().render()).toBe('');
  });

  it('exposes unlabelled metrics, and every declared combination when asked, at 0 from the start', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'failures_total', help: 'F.' });
    registry.histogram({ name: 'flush_seconds', help: 'D.', buckets: [0.1] });
    registry
      .counter({ name: 'pairs_total', help: 'P.', labels: { a: ['x', 'y'], b: ['1', '2'] } })
      .withAllSeries();
    expect(lines(registry.render()).filter((l) => !l.startsWith('#'))).toEqual([
      'failures_total 0',
      'flush_seconds_bucket{le="0.1"} 0',
      'flush_seconds_bucket{le="+Inf"} 0',
      'flush_seconds_sum 0',
      'flush_seconds_count 0',
      'pairs_total{a="x",b="1"} 0',
      'pairs_total{a="x",b="2"} 0',
      'pairs_total{a="y",b="1"} 0',
      'pairs_total{a="y",b="2"} 0',
    ]);
  });

  it('escapes label values and HELP text as format 0.0.4 requires', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const registry = new MetricsRegistry();
    const c = registry.counter({
      name: 'esc_total',
      help: 'back\\slash\nnewline "quoted"',
      labels: { v: ['q"\\\n'] },
    });
    c.inc({ v: 'q"\\\n' });
    expect(lines(registry.render())).toEqual([
      '# HELP esc_total back\\\\slash\\nnewline "quoted"',
      '# TYPE esc_total counter',
      'esc_total{v="q\\"\\\\\\n"} 1',
    ]);
  });

  it('formats special floats the way Prometheus parses them', () => {
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(formatNumber(Number.NEGATIVE_INFINITY)).toBe('-Inf');
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(0.0005)).toBe('0.0005');
    expect(formatNumber(12)).toBe('12');
  });

  it('refuses bad names, duplicates, reserved labels, bad buckets and decreasing counters', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'dup_total', help: 'h' });
    expect(() => registry.counter({ name: 'dup_total', help: 'h' })).toThrow(/twice/);
    expect(() => registry.counter({ name: '1bad', help: 'h' })).toThrow(/invalid metric name/);
    expect(() => registry.counter({ name: 'x_total', help: 'h', labels: { 'bad-label': ['a'] } })).toThrow(
      /invalid label name/,
    );
    expect(() => registry.counter({ name: 'y_total', help: 'h', labels: { __name: ['a'] } })).toThrow(
      /invalid label name/,
    );
    expect(() => registry.histogram({ name: 'h1', help: 'h', labels: { le: ['a'] }, buckets: [1] })).toThrow(
      /invalid label name/,
    );
    expect(() => registry.histogram({ name: 'h2', help: 'h', buckets: [] })).toThrow(/buckets/);
    expect(() => registry.histogram({ name: 'h3', help: 'h', buckets: [1, 1] })).toThrow(/buckets/);
    expect(() => registry.histogram({ name: 'h4', help: 'h', buckets: [Number.POSITIVE_INFINITY] })).toThrow(
      /buckets/,
    );
    const c = registry.counter({ name: 'up_total', help: 'h' });
    expect(() => c.inc(undefined, -1)).toThrow(/only increase/);
  });

  it('records into one series per combination, however many increments', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: 'hot_total', help: 'h', labels: { a: ['x', 'y'], b: ['1', '2'] } });
    for (let i = 0; i < 10_000; i++) c.inc({ a: i % 2 ? 'x' : 'y', b: i % 3 ? '1' : '2' });
    // Four combinations, four series, however many increments.
    expect(lines(registry.render()).filter((l) => !l.startsWith('#'))).toHaveLength(4);
    expect(c.get({ a: 'x', b: '1' }) + c.get({ a: 'x', b: '2' })).toBe(5000);
  });
});

describe('Tessera metrics', () => {
  const make = () => {
    const m = createTesseraMetrics({ version: '9.9.9', residentMemoryBytes: () => 1234 });
    registerRevocationSetGauge(m.registry, () => 7);
    return m;
  };

  it('maps the core reports onto the named metrics with closed label sets', () => {
    const m = make();
    m.authentication('universal_identity', 'success', null);
    m.authentication('universal_identity', 'failure', 'reuse_of_superseded_token');
    m.authentication('access_key', 'rate_limited', 'too_many_failures');
    m.authentication('saml', 'failure', 'a reason nobody declared');
    m.uidRotation('denied');
    m.uidRevocation('all');
    m.uidReuseDetected('flag');
    const text = m.render();
    expect(text).toContain('tessera_auth_total{method="universal_identity",outcome="success"} 1');
    expect(text).toContain('tessera_auth_total{method="access_key",outcome="rate_limited"} 1');
    expect(text).toContain('tessera_auth_total{method="other",outcome="failure"} 1');
    expect(text).toContain(
      'tessera_auth_failures_total{method="universal_identity",reason="reuse_of_superseded_token"} 1',
    );
    expect(text).toContain('tessera_auth_failures_total{method="access_key",reason="too_many_failures"} 1');
    expect(text).toContain('tessera_auth_failures_total{method="other",reason="other"} 1');
    expect(text).toContain('tessera_uid_rotations_total{outcome="denied"} 1');
    expect(text).toContain('tessera_uid_revocations_total{type="all"} 1');
    expect(text).toContain('tessera_uid_reuse_detections_total{policy="flag"} 1');
    expect(text).toContain('tessera_revocation_set_size 7');
    expect(text).toContain('process_resident_memory_bytes 1234');
    expect(text).toContain('tessera_build_info{version="9.9.9"} 1');
    expect(text).not.toContain('nobody');
  });

  it('labels requests by declared route pattern, method and status class; the rest is unmatched/other', () => {
    const m = make();
    m.declareRoute('/v1/identities/:id');
    m.request('/v1/identities/:id', 'GET', 200, 0.002);
    m.request('/v1/identities/i-abc', 'GET', 404, 0.001);
    m.request(null, 'BREW', 404, 0.001);
    m.request('/v1/identities/:id', 'DELETE', 503, 0.3);
    const text = m.render();
    expect(text).toContain(
      'tessera_http_request_duration_seconds_count{route="/v1/identities/:id",method="GET",status_class="2xx"} 1',
    );
    expect(text).toContain(
      'tessera_http_request_duration_seconds_count{route="other",method="GET",status_class="4xx"} 1',
    );
    expect(text).toContain(
      'tessera_http_request_duration_seconds_count{route="unmatched",method="other",status_class="4xx"} 1',
    );
    expect(text).toContain(
      'tessera_http_request_duration_seconds_bucket{route="/v1/identities/:id",method="DELETE",status_class="5xx",le="0.25"} 0',
    );
    expect(text).not.toContain('i-abc');
  });

  it('times every flush and counts the ones the store could not commit', () => {
    const m = make();
    m.commit(0.0002, 'committed');
    m.commit(0.0004, 'rolled_back');
    m.commit(0.02, 'failed');
    const text = m.render();
    expect(text).toContain('tessera_audit_write_duration_seconds_count 3');
    expect(text).toContain('tessera_audit_write_duration_seconds_bucket{le="0.00025"} 1');
    expect(text).toContain('tessera_audit_commit_failures_total 1');
  });
});
