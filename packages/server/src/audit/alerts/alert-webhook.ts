import type { Alert, AlertNotifier } from '../../core/alerts/alert.model.js';
import { backoffDelayMs } from '../sinks/backoff.js';

export interface AlertWebhookOptions {
  url: string | null;
  retryInitialMs: number;
  /** Attempts per alert before it is given up (and logged). */
  maxAttempts?: number;
  maxQueue?: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

const COLOR = { critical: '#d40e0d', warning: '#e9a820', info: '#2eb886' } as const;

/** Slack-compatible body: `text` for any incoming webhook, attachments and `alert` for structure. */
export function slackBody(alert: Alert) {
  return {
    text: `[tessera] ${alert.severity.toUpperCase()}: ${alert.title}`,
    attachments: [
      {
        color: COLOR[alert.severity],
        fields: Object.entries(alert.fields)
          .filter(([, v]) => v !== null)
          .map(([title, value]) => ({ title, value: String(value), short: true })),
        ts: Math.floor(alert.atMs / 1000),
      },
    ],
    alert: {
      rule: alert.rule,
      severity: alert.severity,
      subject: alert.subject,
      at: new Date(alert.atMs).toISOString(),
      fields: alert.fields,
    },
  };
}

/** Posts alerts one at a time, in order, retried with exponential backoff and jitter; the log always gets them. */
export function createAlertWebhook(options: AlertWebhookOptions): AlertNotifier & { idle(): Promise<void> } {
  const { url, retryInitialMs, log } = options;
  const maxAttempts = options.maxAttempts ?? 6;
  const maxQueue = options.maxQueue ?? 1_000;
  const queue: Alert[] = [];
  let running: Promise<void> | null = null;

  async function post(alert: Alert) {
    const response = await fetch(url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'tessera-alerts' },
      body: JSON.stringify(slackBody(alert)),
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer().catch(() => {});
    if (!response.ok) throw new Error(`alert webhook answered ${response.status}`);
  }

  async function drain() {
    while (queue.length > 0) {
      const alert = queue[0]!;
      for (let attempt = 0; ; attempt++) {
        try {
          await post(alert);
          break;
        } catch (error) {
          if (attempt + 1 >= maxAttempts) {
            log.error(
              { err: error, rule: alert.rule, subject: alert.subject },
              'alert delivery failed; giving up',
            );
            break;
          }
          await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, retryInitialMs, 60_000)).unref());
        }
      }
      queue.shift();
    }
  }

  return {
    notify(alert) {
      log.warn({ alert: { rule: alert.rule, subject: alert.subject, fields: alert.fields } }, alert.title);
      if (!url) return;
      if (queue.length >= maxQueue) queue.splice(running ? 1 : 0, 1);
      queue.push(alert);
      if (!running) {
        running = drain().finally(() => {
          running = null;
        });
      }
    },
    /** Resolves once every queued alert was delivered or given up. */
    async idle() {
      while (running) await running;
    },
  };
}
