import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * How a route refuses input it cannot accept (ADR 0044). Most routes answer in Tessera's error shape;
 * a front door that speaks another protocol answers in that protocol's own form:
 *
 * - `tessera`: `{"error": {"code": "TESSERA_…", "message", "requestId"}}` with a 4xx status;
 * - `oauth`: RFC 6749 §5.2 `{"error", "error_description"}` with a 4xx status;
 * - `jsonrpc`: a JSON-RPC 2.0 error object `{"jsonrpc": "2.0", "id", "error": {"code", "message"}}`;
 * - `ocsp`: an RFC 6960 OCSP response (`malformedRequest` for a request it cannot read), HTTP 200.
 *
 * Every operation of `/openapi.json` says which, as `x-tessera-error-protocol`, so that clients and
 * the hostile-input suite read it instead of guessing from the path.
 */
export const ERROR_PROTOCOLS = ['tessera', 'oauth', 'jsonrpc', 'ocsp'] as const;
export type ErrorProtocol = (typeof ERROR_PROTOCOLS)[number];

/** The OpenAPI extension that carries a route's error protocol. */
export const ERROR_PROTOCOL_EXTENSION = 'x-tessera-error-protocol';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's error protocol, when it differs from its door's. */
    errorProtocol?: ErrorProtocol;
  }
}

/**
 * Writes the error protocol into the schema of every route registered in `scope` (and below it):
 * the route's own `config.errorProtocol`, else the door's.
 */
export function declareErrorProtocol(scope: FastifyInstance, doorProtocol: ErrorProtocol) {
  scope.addHook('onRoute', (route) => {
    const protocol = route.config?.errorProtocol ?? doorProtocol;
    // An OpenAPI extension: @fastify/swagger copies `x-` keys of a route's schema to its operation.
    route.schema = { ...route.schema, [ERROR_PROTOCOL_EXTENSION]: protocol } as FastifySchema;
  });
}
