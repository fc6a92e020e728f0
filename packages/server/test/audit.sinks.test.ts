import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileSink, rotatedPath } from '../src/audit/sinks/file.sink.js';
import { type AuditSinkDispatcher, createAuditSinkDispatcher } from '../src/audit/sinks/sink-dispatcher.js';
import { createSyslogSink } from '../src/audit/sinks/syslog.sink.js';
import { createWebhookSink } from '../src/audit/sinks/webhook.sink.js';
import type { StoredAuditEvent } from '../src/core/audit/audit.model.js';
import {
  type AuditCheckpointRecord,
  type AuditRecord,
  type AuditSink,
  toAuditRecord,
} from '../src/core/audit/audit-sink.port.js';
import { startTestServer, type TestServer } from './harness.js';

const event = (seq: number, extra: Partial<StoredAuditEvent> = {}): StoredAuditEvent => ({
  seq,
  id: `ev-${seq}`,
  atMs: Date.UTC(2026, 0, 1) + seq,
  type: 'identity.created',
  outcome: 'success',
  actor: { identityId: 'i-1' },
  resource: '/identities/i-1',
  reason: null,
  requestId: 'req-1',
  sourceIp: '127.0.0.1',
  data: {},
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
  ...extra,
});

const until = async (check: () => boolean | Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** A local HTTP server answering with `status()` and keeping the bodies it accepted. */
async function httpReceiver(status: () => number = () => 200) {
  const bodies: any[] = [];
  let attempts = 0;
  const server: Server = createHttpServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      attempts++;
      const code = status();
      if (code < 300) bodies.push(JSON.parse(text));
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    attempts: () => attempts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const RFC5424 = /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[[^\]]*\]) (.*)$/s;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('file sink', () => {
  it('writes JSON lines with mode 0600 and rotates by size, keeping N files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-sink-'));
    const path = join(dir, 'audit', 'events.jsonl');
    const sink = createFileSink({ path, maxBytes: 2_000, keep: 2 });
    for (let i = 1; i <= 30; i++) await sink.write([toAuditRecord(event(i))]);
    await sink.writeCheckpoint({ v: 1, seq: 30, hash: 'c'.repeat(64), atMs: 1, kid: 'k', signature: 's' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(rotatedPath(path, 1))).toBe(true);
    expect(existsSync(rotatedPath(path, 2))).toBe(true);
    expect(existsSync(rotatedPath(path, 3))).toBe(false);
    expect(rotatedPath(path, 1)).toBe(join(dir, 'audit', 'events.1.jsonl'));
    for (const p of [path, rotatedPath(path, 1), rotatedPath(path, 2)]) {
      expect(statSync(p).size).toBeLessThanOrEqual(2_000);
    }
    const lines = [rotatedPath(path, 2), rotatedPath(path, 1), path]
      .flatMap((p) => readFileSync(p, 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l));
    const seqs = lines.slice(0, -1).map((l) => l.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs[seqs.length - 1]).toBe(30);
    expect(lines[lines.length - 1].checkpoint.seq).toBe(30);
    const last = lines[lines.length - 2] as AuditRecord;
    expect(last).toMatchObject({
      seq: 30,
      id: 'ev-30',
      type: 'identity.created',
      at: '2026-01-01T00:00:00.030Z',
    });
    expect(Object.keys(last)).toEqual([
      'seq',
      'id',
      'at',
      'type',
      'outcome',
      'actor',
      'resource',
      'reason',
      'requestId',
      'sourceIp',
      'data',
      'prevHash',
      'hash',
    ]);
    // In order across rotated files: .2 older than .1 older than current.
    const first = (p: string) => JSON.parse(readFileSync(p, 'utf8').split('\n')[0]!).seq as number;
    expect(first(rotatedPath(path, 2))).toBeLessThan(first(rotatedPath(path, 1)));
  });
});

describe('syslog sink', () => {
  it('sends RFC 5424 messages over UDP', async () => {
    const socket = createSocket('udp4');
    const received: string[] = [];
    socket.on('message', (m) => received.push(m.toString('utf8')));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    cleanups.push(() => socket.close());
    const sink = createSyslogSink({
      transport: 'udp',
      host: '127.0.0.1',
      port: socket.address().port,
      facility: 10,
      appName: 'tessera-test',
    });
    cleanups.push(() => sink.close());
    await sink.write([
      toAuditRecord(event(1)),
      toAuditRecord(event(2, { outcome: 'failure', type: 'auth.failed' })),
    ]);
    await until(() => received.length === 2);
    const [, pri, ts, host, app, procId, msgId, sd, msg] = RFC5424.exec(received[0])!;
    expect(Number(pri)).toBe(10 * 8 + 6);
    expect(ts).toBe('2026-01-01T00:00:00.001Z');
    expect(host).not.toBe('-');
    expect(app).toBe('tessera-test');
    expect(procId).toBe(String(process.pid));
    expect(msgId).toBe('identity.created');
    expect(sd).toContain('seq="1"');
    expect(JSON.parse(msg!).id).toBe('ev-1');
    const second = RFC5424.exec(received[1])!;
    expect(Number(second[1])).toBe(10 * 8 + 4);
    expect(second[6]).toBe('auth.failed');
  });

  it('sends octet-counted RFC 5424 messages over TCP (RFC 6587)', async () => {
    let buffer = '';
    const server = createTcpServer((c) =>
      c.on('data', (d) => {
        buffer += d.toString('utf8');
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const sink = createSyslogSink({
      transport: 'tcp',
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      facility: 13,
      appName: 'tessera',
    });
    cleanups.push(() => sink.close());
    await sink.write([toAuditRecord(event(1)), toAuditRecord(event(2))]);
    await sink.writeCheckpoint({ v: 1, seq: 2, hash: 'c'.repeat(64), atMs: 5, kid: 'k', signature: 's' });
    const frames: string[] = [];
    await until(() => {
      frames.length = 0;
      let rest = Buffer.from(buffer);
      while (rest.length > 0) {
        const space = rest.indexOf(0x20);
        const len = Number(rest.subarray(0, space).toString());
        if (rest.length < space + 1 + len) return false;
        frames.push(rest.subarray(space + 1, space + 1 + len).toString('utf8'));
        rest = rest.subarray(space + 1 + len);
      }
      return frames.length === 3;
    });
    const parsed = frames.map((f) => RFC5424.exec(f)!);
    expect(parsed.map((p) => Number(p[1]))).toEqual([13 * 8 + 6, 13 * 8 + 6, 13 * 8 + 6]);
    expect(parsed.map((p) => p[6])).toEqual(['identity.created', 'identity.created', 'audit.checkpoint']);
    expect(JSON.parse(parsed[2][8]!).checkpoint.seq).toBe(2);
  });

  it('fails the write when the TCP collector is down', async () => {
    const server = createTcpServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const sink = createSyslogSink({ transport: 'tcp', host: '127.0.0.1', port, facility: 13, appName: 't' });
    await expect(sink.write([toAuditRecord(event(1))])).rejects.toThrow();
    await sink.close();
  });
});

describe('webhook sink through the dispatcher', () => {
  it('delivers events in order, in batches, retrying with backoff after failures', async () => {
    let calls = 0;
    const hook = await httpReceiver(() => (++calls <= 2 ? 500 : 200));
    cleanups.push(hook.close);
    const ledger = Array.from({ length: 7 }, (_, i) => event(i + 1));
    const health: Array<[string, boolean]> = [];
    const dispatcher = createAuditSinkDispatcher({
      sinks: [createWebhookSink({ url: hook.url })],
      startSeq: 0,
      readAfter: async (seq, limit) => ledger.filter((e) => e.seq > seq).slice(0, limit),
      options: { batchSize: 3, maxQueue: 100, retryInitialMs: 10, retryMaxMs: 50 },
      onHealthChange: (kind, healthy) => health.push([kind, healthy]),
    });
    cleanups.push(() => dispatcher.close());
    await dispatcher.poke();
    dispatcher.checkpoint({ v: 1, seq: 7, hash: 'c'.repeat(64), atMs: 1, kid: 'k', signature: 's' });
    await until(() => hook.bodies.length === 4);
    expect(hook.attempts()).toBe(6);
    expect(hook.bodies.slice(0, 3).map((b) => b.events.map((e: AuditRecord) => e.seq))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7],
    ]);
    expect(hook.bodies[3]).toMatchObject({ kind: 'audit.checkpoint', checkpoint: { seq: 7 } });
    expect(health).toEqual([
      ['webhook', false],
      ['webhook', true],
    ]);
    expect(dispatcher.refusal()).toBeNull();
    // The receiver records the checkpoint before the dispatcher has read the answer and dequeued it.
    await until(() => dispatcher.status()[0]?.queued === 0);
    expect(dispatcher.status()).toEqual([
      { kind: 'webhook', healthy: true, lagEvents: 0, catchingUp: false, queued: 0 },
    ]);
  });
});

/** A sink taking `delayMs` per write, throwing while `failing()`, recording what it accepted. */
function fakeSink(options: { delayMs: number; failing?: () => boolean }) {
  const received: Array<{ seq: number } | { checkpoint: number }> = [];
  const attempt = async () => {
    await new Promise((r) => setTimeout(r, options.delayMs));
    if (options.failing?.()) throw new Error('sink down');
  };
  const sink: AuditSink = {
    kind: 'file',
    async write(events) {
      await attempt();
      for (const e of events) received.push({ seq: e.seq });
    },
    async writeCheckpoint(checkpoint) {
      await attempt();
      received.push({ checkpoint: checkpoint.seq });
    },
    close: async () => {},
  };
  return { sink, received };
}

const checkpointAt = (seq: number): AuditCheckpointRecord => ({
  v: 1,
  seq,
  hash: 'c'.repeat(64),
  atMs: seq,
  kid: 'k',
  signature: 's',
});

/**
 * Commits `total` events in commits of `perCommit` (each offered after its commit, like the unit of
 * work does), with a checkpoint of the head every `checkpointEvery` events, far faster than the sink
 * drains. Returns once the sink has every event and checkpoint.
 */
async function overflow(
  sink: AuditSink,
  received: ReturnType<typeof fakeSink>['received'],
  sample: (dispatcher: AuditSinkDispatcher) => void = () => {},
) {
  const total = 1_500;
  const perCommit = 25;
  const checkpointEvery = 300;
  const ledger: StoredAuditEvent[] = [];
  const catchUps: boolean[] = [];
  const health: boolean[] = [];
  const dispatcher = createAuditSinkDispatcher({
    sinks: [sink],
    startSeq: 0,
    readAfter: async (seq, limit) => {
      await new Promise((r) => setImmediate(r));
      return ledger.filter((e) => e.seq > seq).slice(0, limit);
    },
    options: { batchSize: 10, maxQueue: 50, retryInitialMs: 5, retryMaxMs: 20 },
    onCatchUp: (_kind, catchingUp) => catchUps.push(catchingUp),
    onHealthChange: (_kind, healthy) => health.push(healthy),
  });
  cleanups.push(() => dispatcher.close(0));
  const checkpoints: number[] = [];
  for (let seq = 1; seq <= total; seq++) {
    const e = event(seq);
    ledger.push(e);
    dispatcher.offer(e);
    if (seq % perCommit === 0) {
      await new Promise((r) => setImmediate(r));
      sample(dispatcher);
    }
    if (seq % checkpointEvery === 0) {
      dispatcher.checkpoint(checkpointAt(seq));
      checkpoints.push(seq);
    }
  }
  await until(() => received.length === total + checkpoints.length, 20_000);
  sample(dispatcher);
  return { dispatcher, total, checkpoints, catchUps, health };
}

/** Every event exactly once in seq order, and each checkpoint once, after the event it covers. */
function expectLosslessCopy(
  received: ReturnType<typeof fakeSink>['received'],
  total: number,
  checkpoints: number[],
) {
  const seqs = received.flatMap((r) => ('seq' in r ? [r.seq] : []));
  expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  const at = received.flatMap((r, index) => ('checkpoint' in r ? [[r.checkpoint, index]] : []));
  expect(at.map(([seq]) => seq)).toEqual(checkpoints);
  for (const [seq, index] of at) {
    expect(received.findIndex((r) => 'seq' in r && r.seq === seq)).toBeLessThan(index!);
  }
}

describe('a sink slower than the ledger (queue overflow)', () => {
  it('catches up from the ledger: every event once, in order, checkpoints after their events', async () => {
    const { sink, received } = fakeSink({ delayMs: 1 });
    const { dispatcher, total, checkpoints, catchUps, health } = await overflow(sink, received);
    expectLosslessCopy(received, total, checkpoints);
    expect(catchUps.length).toBeGreaterThanOrEqual(2);
    expect(catchUps).toEqual(catchUps.map((_, i) => i % 2 === 0)); // started, caught up, ...
    expect(health).toEqual([]);
    expect(dispatcher.status()).toEqual([
      { kind: 'file', healthy: true, lagEvents: 0, catchingUp: false, queued: 0 },
    ]);
  });

  it('keeps the guarantee when the sink fails and recovers while behind', async () => {
    let writes = 0;
    const { sink, received } = fakeSink({ delayMs: 1, failing: () => ++writes % 7 < 3 });
    const { dispatcher, total, checkpoints, health } = await overflow(sink, received);
    expectLosslessCopy(received, total, checkpoints);
    expect(health.length).toBeGreaterThanOrEqual(2);
    expect(health).toEqual(health.map((_, i) => i % 2 === 1)); // failing, recovered, ...
    expect(dispatcher.refusal()).toBeNull();
    expect(dispatcher.status()[0]).toMatchObject({ healthy: true, lagEvents: 0, catchingUp: false });
  });

  it('holds at most maxQueue + one batch in memory', async () => {
    const { sink, received } = fakeSink({ delayMs: 1 });
    let maxQueued = 0;
    let sawCatchUp = false;
    const sample = (dispatcher: AuditSinkDispatcher) => {
      const [status] = dispatcher.status();
      maxQueued = Math.max(maxQueued, status!.queued);
      sawCatchUp ||= status!.catchingUp;
    };
    let watched: AuditSinkDispatcher | undefined;
    const write = sink.write;
    sink.write = (events) => {
      if (watched) sample(watched);
      return write(events);
    };
    await overflow(sink, received, (dispatcher) => {
      watched = dispatcher;
      sample(dispatcher);
    });
    expect(sawCatchUp).toBe(true);
    expect(maxQueued).toBeGreaterThan(0);
    expect(maxQueued).toBeLessThanOrEqual(50 + 10);
  });
});

describe('fail closed when every audit sink fails', () => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('refuses writes with TESSERA_AUDIT_UNAVAILABLE, alerts, keeps health and metrics, and resumes', async () => {
    let sinkUp = true;
    const sinkHook = await httpReceiver(() => (sinkUp ? 200 : 500));
    const alertHook = await httpReceiver();
    cleanups.push(sinkHook.close, alertHook.close);
    server = await startTestServer('sqlite', {
      TESSERA_AUDIT_FILE: 'off',
      TESSERA_AUDIT_WEBHOOK_URL: sinkHook.url,
      // The receiver answers at once; a loaded machine must not turn a slow first delivery into a
      // failing sink before the test has started (it did, under CI load, with the 5 s default).
      TESSERA_AUDIT_WEBHOOK_TIMEOUT_MS: '60000',
      TESSERA_AUDIT_SINK_RETRY_MS: '20',
      TESSERA_AUDIT_SINK_RETRY_MAX_MS: '100',
      TESSERA_ALERT_WEBHOOK_URL: alertHook.url,
      TESSERA_ALERT_RETRY_MS: '10',
      TESSERA_METRICS_PUBLIC: 'true',
    });
    const s = server;
    const create = (name: string) =>
      s.call('POST', '/v1/identities', {
        token: s.adminToken,
        body: { name, kind: 'service', owner: 'team-a' },
      });
    expect((await create('before')).status).toBe(201);
    await until(() =>
      sinkHook.bodies.some((b) => b.events?.some((e: AuditRecord) => e.type.startsWith('identity.'))),
    );

    sinkUp = false;
    // The next write commits (the sink was healthy), its copy fails, and the sink turns failing.
    expect((await create('trigger')).status).toBe(201);
    await until(async () => (await s.call('GET', '/readyz')).status === 503);
    const refused = await create('refused');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('TESSERA_AUDIT_UNAVAILABLE');
    expect(refused.body.error.message).toMatch(/audit/i);
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: s.adminAccessKey },
    });
    expect(auth.status).toBe(503);
    expect((await s.call('GET', '/healthz')).status).toBe(200);
    const ready = await s.call('GET', '/readyz');
    expect(ready.body).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/audit/i) });
    const metrics = await s.call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('tessera_audit_sink_healthy{sink="webhook"} 0');
    expect(metrics.body).toMatch(/tessera_audit_sink_errors_total\{sink="webhook"\} [1-9]/);
    await until(() => alertHook.bodies.some((b) => b.alert?.rule === 'audit_sink_failing'));
    const alert = alertHook.bodies.find((b) => b.alert?.rule === 'audit_sink_failing');
    expect(alert.text).toMatch(/webhook is failing/);
    expect(alert.alert.fields).toMatchObject({ sink: 'webhook', allSinksFailing: true });

    sinkUp = true;
    await until(async () => (await s.call('GET', '/readyz')).status === 200);
    expect((await create('after')).status).toBe(201);
    await until(() => alertHook.bodies.some((b) => b.alert?.rule === 'audit_sink_recovered'));
    await until(() =>
      sinkHook.bodies.some((b) =>
        b.events?.some(
          (e: AuditRecord) => e.resource?.includes('after') || JSON.stringify(e.data).includes('after'),
        ),
      ),
    );
    const delivered = sinkHook.bodies.flatMap((b) => b.events ?? []).map((e: AuditRecord) => e.seq);
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
    expect(new Set(delivered).size).toBe(delivered.length);
    const metricsAfter = await s.call('GET', '/metrics');
    expect(metricsAfter.body).toContain('tessera_audit_sink_healthy{sink="webhook"} 1');
    expect(metricsAfter.body).toContain('tessera_alerts_total{rule="audit_sink_failing"} 1');
  });

  it('writes events to the default file sink in the data dir', async () => {
    server = await startTestServer('sqlite');
    const path = join(server.dataDir, 'audit', 'events.jsonl');
    await until(() => existsSync(path) && readFileSync(path, 'utf8').includes('"auth.'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
