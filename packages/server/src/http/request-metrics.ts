import type { FastifyInstance, RouteOptions } from 'fastify';
import type { HttpMetrics } from '../monitoring/tessera-metrics.js';

/**
 * Times every answered request by route pattern (`/v1/identities/:id`), never by raw URL: the
 * patterns are declared as routes register, so the `route` label is a closed set. Install before
 * the routes. A request no route matched counts as `unmatched`.
 */
export function installRequestMetrics(app: FastifyInstance, metrics: HttpMetrics): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    metrics.declareRoute(route.url);
  });
  // A callback hook, not an async one: no promise per request on the hot path.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? null;
    metrics.request(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
