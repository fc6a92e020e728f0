import { httpUrl, type Int } from './audit.config.js';

/** People, approvals and single sign-on (issue 14, ADR 0016). */
export interface HumansConfig {
  /** Where a new approval request is announced (Slack-compatible JSON), or null. */
  approvalWebhookUrl: string | null;
  /** How long a pending approval request waits for its decision, unless the request asks for less. */
  approvalTtlSeconds: number;
  /** How long an approved request's single-use grant may wait for its use. */
  approvalGrantTtlSeconds: number;
}

export function loadHumansConfig(env: NodeJS.ProcessEnv, integer: Int): HumansConfig {
  return {
    approvalWebhookUrl: httpUrl('TESSERA_APPROVAL_WEBHOOK_URL', env.TESSERA_APPROVAL_WEBHOOK_URL),
    approvalTtlSeconds: integer(
      'TESSERA_APPROVAL_TTL_SECONDS',
      env.TESSERA_APPROVAL_TTL_SECONDS,
      3600,
      60,
      7 * 86_400,
    ),
    approvalGrantTtlSeconds: integer(
      'TESSERA_APPROVAL_GRANT_TTL_SECONDS',
      env.TESSERA_APPROVAL_GRANT_TTL_SECONDS,
      300,
      10,
      86_400,
    ),
  };
}
