import type { AuditCheckpointRecord, AuditRecord, AuditSink } from '../../core/audit/audit-sink.port.js';

export interface WebhookSinkOptions {
  url: string;
  timeoutMs?: number;
}

/** POSTs one JSON batch per write; any non-2xx answer or network error fails the batch. */
export function createWebhookSink({ url, timeoutMs = 5_000 }: WebhookSinkOptions): AuditSink {
  async function post(body: unknown) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'tessera-audit' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer().catch(() => {});
    if (!response.ok) throw new Error(`audit webhook answered ${response.status}`);
  }
  return {
    kind: 'webhook',
    write: (events: readonly AuditRecord[]) => post({ kind: 'audit.events', events }),
    writeCheckpoint: (checkpoint: AuditCheckpointRecord) => post({ kind: 'audit.checkpoint', checkpoint }),
    close: async () => {},
  };
}
