import type { AlertsConfig, AuditSinksConfig } from '../../config/audit.config.js';
import { createAlertEngine } from '../../core/alerts/alert.engine.js';
import type { StoredAuditEvent } from '../../core/audit/audit.model.js';
import type { AuditCheckpointRecord, AuditSink } from '../../core/audit/audit-sink.port.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import type { Job } from '../../jobs/scheduler.js';
import type { AuditSinkMetrics } from '../../monitoring/tessera-metrics.js';
import { createAlertWebhook } from '../alerts/alert-webhook.js';
import { createFileSink } from './file.sink.js';
import { createAuditSinkDispatcher } from './sink-dispatcher.js';
import { createSyslogSink } from './syslog.sink.js';
import { createWebhookSink } from './webhook.sink.js';

/** The sinks the configuration names, in a fixed order. */
export function createConfiguredSinks(config: AuditSinksConfig): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (config.file) sinks.push(createFileSink(config.file));
  if (config.syslog) sinks.push(createSyslogSink(config.syslog));
  if (config.webhook)
    sinks.push(createWebhookSink({ url: config.webhook.url, timeoutMs: config.webhook.timeoutMs }));
  return sinks;
}

type Log = {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
};

const NEAR_EXPIRY_SCAN_LIMIT = 1_000;

/**
 * Audit delivery and alerting for one server: sinks fed from the committed ledger, the fail-closed
 * gate, alert rules over committed events, and their periodic jobs.
 */
export async function startAuditDelivery(deps: {
  sinks: AuditSinksConfig;
  alerts: AlertsConfig;
  /** Reads of the committed ledger (the sinks catch up from it). */
  uow: Pick<UnitOfWork, 'read'>;
  clock: Clock;
  metrics: AuditSinkMetrics;
  log: Log;
}) {
  const { uow, clock, metrics, log } = deps;
  const notifier = createAlertWebhook({
    url: deps.alerts.webhookUrl,
    retryInitialMs: deps.alerts.retryInitialMs,
    log,
  });
  const alerts = createAlertEngine({
    notifier,
    clock,
    settings: deps.alerts,
    onAlert: (rule) => metrics.alert(rule),
  });
  const head = await uow.read((r) => r.audit.query({}, { order: 'descending', beforeSeq: null }, 1));
  const sinks = createConfiguredSinks(deps.sinks);
  for (const s of sinks) metrics.auditSinkHealthy(s.kind, true);
  const dispatcher = createAuditSinkDispatcher({
    sinks,
    startSeq: head[0]?.seq ?? 0,
    readAfter: (seq, limit) => uow.read((r) => r.audit.list(seq, limit)),
    options: {
      batchSize: deps.sinks.webhook?.batchSize ?? 100,
      maxQueue: deps.sinks.webhook?.maxQueue ?? 10_000,
      retryInitialMs: deps.sinks.retryInitialMs,
      retryMaxMs: deps.sinks.retryMaxMs,
    },
    onEvents: (events) => {
      alerts.observe(events);
      if (deps.sinks.maxEvents > 0) alerts.ledgerSize(events[events.length - 1]!.seq, deps.sinks.maxEvents);
    },
    onError: (kind, error) => {
      metrics.auditSinkError(kind);
      log.warn({ err: error, sink: kind }, 'audit sink delivery failed');
    },
    onLag: (kind, lag) => metrics.auditSinkLag(kind, lag),
    onCatchUp: (kind, catchingUp) => {
      if (catchingUp) log.warn({ sink: kind }, 'audit sink is behind its queue: catching up from the ledger');
      else log.info({ sink: kind }, 'audit sink caught up with the ledger');
    },
    onHealthChange: (kind, healthy, error) => {
      metrics.auditSinkHealthy(kind, healthy);
      const allFailing = dispatcher.refusal() !== null;
      if (healthy) log.info({ sink: kind }, 'audit sink recovered');
      else if (allFailing)
        log.error({ sink: kind }, 'every audit sink is failing: writes are refused until one recovers');
      alerts.sinkHealth(kind, healthy, allFailing, error);
    },
  });

  const jobs: Job[] = [
    {
      name: 'uid-near-expiry-alerts',
      intervalMs: deps.alerts.expiryScanSeconds * 1000,
      // A scan of the shared store: on every server it would raise each alert once per server.
      scope: 'leader',
      run: async () =>
        alerts.nearExpiry(
          await uow.read((r) =>
            r.uid.listNearExpiry(clock.nowMs(), deps.alerts.expiryPercent, NEAR_EXPIRY_SCAN_LIMIT),
          ),
        ),
    },
  ];

  return {
    /** Called after each committed flush; events arrive through `appended`, so nothing to read. */
    committed: () => {},
    /** An audit event this process has just committed: to the sinks and the alert rules. */
    appended: (event: StoredAuditEvent) => dispatcher.offer(event),
    checkpoint: (c: AuditCheckpointRecord) => dispatcher.checkpoint(c),
    /** The fail-closed gate for the unit of work. */
    refusal: () => dispatcher.refusal(),
    status: () => dispatcher.status(),
    /** Runs the near-expiry scan now. */
    scanNearExpiry: () => jobs[0]!.run(),
    jobs,
    alertsIdle: () => notifier.idle(),
    async close() {
      await dispatcher.close();
      await Promise.race([notifier.idle(), new Promise((r) => setTimeout(r, 2_000).unref())]);
    },
  };
}

export type AuditDelivery = Awaited<ReturnType<typeof startAuditDelivery>>;
