import { type ApprovalRequest, describeAction } from './approvals.model.js';

/** Where a person decides a request: the console page, and the CLI commands that do the same. */
export const approvalLinks = (issuer: string, id: string) => ({
  page: `${issuer}/ui/approvals/${encodeURIComponent(id)}`,
  approve: `${issuer}/ui/approvals/${encodeURIComponent(id)}?decision=approve`,
  deny: `${issuer}/ui/approvals/${encodeURIComponent(id)}?decision=deny`,
});

/**
 * Slack-compatible body (an incoming webhook's `text` and Block Kit `blocks` with link buttons)
 * plus a structured `approval` for other receivers. Holds no secret: the action and its parties.
 */
export function approvalMessage(issuer: string, a: ApprovalRequest) {
  const links = approvalLinks(issuer, a.id);
  const who = `${a.requester.kind} ${a.requester.name}`;
  const approvers =
    a.approvers.kind === 'owner'
      ? `the owner of ${a.approvers.ownerOf}`
      : `${a.approvers.required ?? 1} of group ${a.approvers.group}`;
  const text = `[tessera] Approval needed: ${who} asks to ${describeAction(a.action)}. Justification: ${a.justification}. Decided by ${approvers} before ${a.expiresAt}.`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Approve' },
            style: 'primary',
            url: links.approve,
          },
          { type: 'button', text: { type: 'plain_text', text: 'Deny' }, style: 'danger', url: links.deny },
        ],
      },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: `or: tessera approval approve ${a.id} / tessera approval deny ${a.id}` },
        ],
      },
    ],
    approval: {
      id: a.id,
      requester: a.requester,
      action: a.action,
      approvers: a.approvers,
      expiresAt: a.expiresAt,
      links,
    },
  };
}

export interface ApprovalNotifier {
  requested(a: ApprovalRequest): void;
  /** Resolves when every queued message has been sent or given up (tests, shutdown). */
  idle(): Promise<void>;
}

/** Posts each new request to the webhook, in order, with a few retries; failures are logged, not fatal. */
export function createApprovalNotifier(options: {
  url: string | null;
  issuer: string;
  log: { warn(obj: object, msg: string): void };
  retryMs?: number;
}): ApprovalNotifier {
  const queue: ApprovalRequest[] = [];
  let running: Promise<void> | null = null;
  const retryMs = options.retryMs ?? 500;
  async function post(a: ApprovalRequest) {
    const response = await fetch(options.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'tessera-approvals' },
      body: JSON.stringify(approvalMessage(options.issuer, a)),
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer().catch(() => {});
    if (!response.ok) throw new Error(`approval webhook answered ${response.status}`);
  }
  async function drain() {
    while (queue.length > 0) {
      const a = queue[0]!;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await post(a);
          break;
        } catch (error) {
          if (attempt === 2)
            options.log.warn({ err: error, approval: a.id }, 'approval webhook failed; giving up');
          else await new Promise((r) => setTimeout(r, retryMs * 2 ** attempt).unref());
        }
      }
      queue.shift();
    }
  }
  return {
    requested(a) {
      if (!options.url || queue.length >= 1000) return;
      queue.push(a);
      running ??= drain().finally(() => {
        running = null;
      });
    },
    idle: async () => {
      while (running) await running;
    },
  };
}
