import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { HttpTimeouts } from '../config/config.js';
import { AuthMethodSchema } from '../core/auth-methods/auth-methods.schemas.js';
import { IdentitySchema } from '../core/identities/identities.schemas.js';
import { ErrorCodes, TesseraError } from '../core/shared/errors.js';
import { UidNodeSchema } from '../core/uid/uid.schemas.js';
import type { HttpMetrics } from '../monitoring/tessera-metrics.js';
import { requireDeclaredAccess } from './access.js';
import type { FrontDoor } from './doors/door.js';
import { errorHandler } from './error-mapper.js';
import { declareErrorProtocol } from './error-protocol.js';
import { ErrorBody } from './error-schemas.js';
import { installRequestMetrics } from './request-metrics.js';
import { httpTimeoutOptions } from './timeouts.js';
import { createValidatorCompiler } from './validation.js';

type ValidatorFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>['buildValidator'];

export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpDeps {
  /** The process logger (created before anything else, ADR 0013). */
  log: FastifyBaseLogger;
  version: string;
  trustProxy: boolean;
  /** HTTP server timeouts: slow or idle connections are dropped. */
  timeouts?: HttpTimeouts;
  newRequestId: () => string;
  metrics: HttpMetrics;
  /** The front doors, each mounted as its own encapsulated context, in this order. */
  doors: readonly FrontDoor[];
  /**
   * Serve HTTPS with these PEMs. A client certificate is requested but not required: a route that
   * needs one (mTLS auth, RFC 8705) checks it; `ca` is what the listener itself trusts.
   */
  tls?: { cert: string; key: string; ca: string | null } | null;
}

/**
 * Builds the HTTP application: what every door shares lives on the root context (request context
 * and log line, metrics, the OpenAPI document, the rule that every route declares its access, the
 * not-found answer); each front door is an encapsulated child with its own parsers, limits,
 * authentication and error rendering.
 */
export async function buildApp(deps: HttpDeps): Promise<FastifyInstance> {
  const validatorCompiler = createValidatorCompiler();
  const https = deps.tls
    ? {
        https: {
          cert: deps.tls.cert,
          key: deps.tls.key,
          ...(deps.tls.ca ? { ca: deps.tls.ca } : {}),
          requestCert: true,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2' as const,
        },
      }
    : {};
  const app = Fastify({
    ...https,
    // Given as a factory, not with setValidatorCompiler: a door that adds schemas rebuilds its
    // compiler from the factory, and would otherwise get Fastify's default (coercing) one. (The
    // factory's declared type is Ajv's; at run time it returns a route-schema compiler like ours.)
    schemaController: {
      compilersFactory: { buildValidator: (() => validatorCompiler) as unknown as ValidatorFactory },
    },
    loggerInstance: deps.log,
    // Our own one line per request (below) replaces Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: deps.trustProxy,
    // The ceiling for a route that sets no limit of its own; every door sets its own default.
    bodyLimit: 64 * 1024,
    genReqId: () => deps.newRequestId(),
    return503OnClosing: true,
    ...httpTimeoutOptions(deps.timeouts),
    // The Akeyless SDK sends `//auth` when its base path ends with a slash.
    routerOptions: { ignoreDuplicateSlashes: true },
    // Router-level refusals (malformed or over-long URL parameters) use the one error shape too,
    // in the error format of the door whose prefix the URL has.
    frameworkErrors: (error, request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      const door = deps.doors.find(
        (d) =>
          d.renderFrameworkError && d.prefix !== '' && (path === d.prefix || path.startsWith(`${d.prefix}/`)),
      );
      return door?.renderFrameworkError
        ? door.renderFrameworkError(error, request, reply)
        : errorHandler(error, request, reply);
    },
  });

  app.decorateRequest('ctx', null as never);
  // Callback hooks, not async ones: no promise per request on the hot path (ADR 0055).
  app.addHook('onRequest', (request, _reply, done) => {
    const ua = request.headers['user-agent'];
    request.ctx = {
      requestId: request.id,
      sourceIp: request.ip,
      userAgent: ua ? ua.slice(0, 200) : null,
      actor: null,
    };
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    // The line is built only when it is written (`routeOptions` allocates on every read).
    const log = request.log as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
    if (log.isLevelEnabled?.('info') ?? true)
      log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unknown',
          status: reply.statusCode,
          identityId: request.ctx?.actor?.identityId ?? null,
          authMethodId: request.ctx?.actor?.authMethodId ?? null,
          durationMs: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request completed',
      );
    done();
  });
  installRequestMetrics(app, deps.metrics);

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    errorHandler(
      new TesseraError(
        ErrorCodes.ROUTE_NOT_FOUND,
        `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}.`,
      ),
      request,
      reply,
    ),
  );

  app.addSchema(ErrorBody);
  app.addSchema(IdentitySchema);
  app.addSchema(AuthMethodSchema);
  app.addSchema(UidNodeSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera',
        version: deps.version,
        description:
          'Tessera, the identity platform for non-human identities: the inventory of identities and their owners, auth methods (Universal Identity tokens, access keys), session tokens, roles and access decisions, static, dynamic and rotated secrets, and the hash-chained audit ledger. Send a session token as `Authorization: Bearer …` (get one from `POST /v1/auth`). Durations are seconds; times are ISO-8601 UTC.',
      },
      components: {
        securitySchemes: {
          sessionToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt)' },
          uidToken: { type: 'http', scheme: 'bearer', bearerFormat: 'u- token' },
        },
      },
      security: [{ sessionToken: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) ?? `def-${i}`,
    },
  });
  requireDeclaredAccess(app);
  for (const door of deps.doors) {
    await app.register(
      async (scope) => {
        declareErrorProtocol(scope, door.errorProtocol ?? 'tessera');
        await door.register(scope);
      },
      { prefix: door.prefix },
    );
  }
  await app.ready();
  return app;
}
