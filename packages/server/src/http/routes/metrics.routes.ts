import { Type } from '@sinclair/typebox';
import type { Resource } from '../../core/access/access.policy.js';
import { auditResource } from '../../core/access/access.resources.js';
import { EXPOSITION_CONTENT_TYPE } from '../../monitoring/prometheus.js';
import type { RouteAccess } from '../access.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

/** What a non-public scrape needs: `read` on this resource. */
export const METRICS_RESOURCE: Resource = auditResource('metrics');

/**
 * `GET /metrics` in the Prometheus text format. Its access is chosen once, at start-up, from the
 * configuration, and declared like every other route's: public for a scraper that holds no
 * credential (`TESSERA_METRICS_PUBLIC=true`), otherwise a session token allowed to `read`
 * `audit:/metrics` (a scraper's `bearer_token_file`).
 */
export function registerMetricsRoutes(app: TypedApp, deps: { render: () => string; public: boolean }) {
  const access: RouteAccess = deps.public
    ? { public: true }
    : { permission: { action: 'read', resource: () => METRICS_RESOURCE } };
  app.get(
    '/metrics',
    {
      config: { access },
      schema: {
        tags: ['system'],
        summary: 'Metrics in the Prometheus text exposition format 0.0.4',
        description: deps.public
          ? 'Public (TESSERA_METRICS_PUBLIC=true).'
          : 'Needs a session token allowed to read audit:/metrics.',
        response: {
          200: {
            description: 'The exposition',
            content: { 'text/plain; version=0.0.4': { schema: Type.String() } },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async (_request, reply) => {
      reply.header('content-type', EXPOSITION_CONTENT_TYPE);
      reply.header('cache-control', 'no-store');
      return deps.render();
    },
  );
}
