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
import type { AccessService } from '../core/access/access.service.js';
import type { RolesService } from '../core/access/roles.service.js';
import type { AuditService } from '../core/audit/audit.service.js';
import type { DenialRecorder } from '../core/audit/denials.js';
import type { AuthService } from '../core/auth/auth.service.js';
import { AuthMethodSchema } from '../core/auth-methods/auth-methods.schemas.js';
import type { AuthMethodsService } from '../core/auth-methods/auth-methods.service.js';
import type { DynamicSecretsService } from '../core/dynamic/dynamic.service.js';
import type { LeasesService } from '../core/dynamic/leases.service.js';
import { IdentitySchema } from '../core/identities/identities.schemas.js';
import type { IdentitiesService } from '../core/identities/identities.service.js';
import type { HttpMetrics } from '../core/monitoring/tessera-metrics.js';
import type { RotationService } from '../core/rotation/rotation.service.js';
import type { SecretKeysService } from '../core/secrets/secrets.keys.js';
import type { SecretsService } from '../core/secrets/secrets.service.js';
import type { SessionsService } from '../core/sessions/sessions.service.js';
import { ErrorCodes, TesseraError } from '../core/shared/errors.js';
import type { Clock } from '../core/shared/ports.js';
import { ErrorBody } from '../core/shared/schemas.js';
import { UidNodeSchema } from '../core/uid/uid.schemas.js';
import type { UidService } from '../core/uid/uid.service.js';
import { installAccessControl } from './access.js';
import { registerAkeylessApi } from './compat/akeyless/akeyless.commands.js';
import { errorHandler } from './error-mapper.js';
import { installRequestMetrics } from './request-metrics.js';
import { registerAccessRoutes } from './routes/access.routes.js';
import { registerAuditRoutes } from './routes/audit.routes.js';
import { type AuditLedgerDeps, registerAuditLedgerRoutes } from './routes/audit-ledger.routes.js';
import { registerAuthRoutes } from './routes/auth.routes.js';
import { registerAuthMethodRoutes } from './routes/auth-methods.routes.js';
import { registerDynamicSecretRoutes } from './routes/dynamic-secrets.routes.js';
import { registerIdentityRoutes } from './routes/identities.routes.js';
import { registerMetricsRoutes } from './routes/metrics.routes.js';
import { registerRoleRoutes } from './routes/roles.routes.js';
import { registerRotatedSecretRoutes } from './routes/rotated-secrets.routes.js';
import { registerSecretRoutes } from './routes/secrets.routes.js';
import { registerSystemRoutes } from './routes/system.routes.js';
import { registerUidRoutes } from './routes/uid.routes.js';
import { httpTimeoutOptions } from './timeouts.js';
import { createValidatorCompiler } from './validation.js';

export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface AppDeps {
  denials: DenialRecorder;
  sessions: SessionsService;
  access: AccessService;
  /** Roles, rules and associations (ADR 0008). */
  roles: RolesService;
  authenticate: AuthService;
  identities: IdentitiesService;
  authMethods: AuthMethodsService;
  uid: UidService;
  audit: AuditService;
  jwks: () => unknown;
  ready: () => Promise<boolean>;
  /** Why the server must not take traffic now (e.g. every audit sink failing), or null. */
  notReadyReason?: () => string | null;
  version: string;
  auditLedger: AuditLedgerDeps;
  logger: FastifyServerOptions['logger'];
  trustProxy: boolean;
  /** Slow and idle connections are dropped (config `httpTimeouts`). */
  httpTimeouts?: HttpTimeouts;
  newRequestId: () => string;
  metrics: HttpMetrics;
  /** `GET /metrics` needs no credential. */
  metricsPublic: boolean;
  /** Static secrets and their key-encryption keys. */
  secrets: SecretsService;
  secretKeys: SecretKeysService;
  /** A KEK rotation committed: start re-wrapping now rather than at the job's next run. */
  onKekRotated?: () => void;
  /** The server's clock (tests inject one). */
  clock: Clock;
  /** Dynamic secrets and their leases (issue 6). */
  dynamic?: { items: DynamicSecretsService; leases: LeasesService };
  /** Rotated secrets (issue 6, ADR 0011). */
  rotation?: RotationService;
}

/** Builds the HTTP application: schema-validated routes, one access hook, one error mapper. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger,
    // Our own one line per request (below) replaces Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: deps.trustProxy,
    bodyLimit: 64 * 1024,
    genReqId: () => deps.newRequestId(),
    return503OnClosing: true,
    ...httpTimeoutOptions(deps.httpTimeouts),
    // The Akeyless SDK sends `//auth` when its base path ends with a slash.
    routerOptions: { ignoreDuplicateSlashes: true },
    // Router-level refusals (malformed or over-long URL parameters) use the one error shape too.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
  });
  app.setValidatorCompiler(createValidatorCompiler());

  // Every body is JSON (docs/http-api.md); anything else is 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  // A POST without a body is an empty object: `{manualAck?}`-style bodies are optional on the wire.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PATCH'))
      request.body = {};
  });
  app.decorateRequest('ctx', null as never);
  app.addHook('onRequest', async (request) => {
    const ua = request.headers['user-agent'];
    request.ctx = {
      requestId: request.id,
      sourceIp: request.ip,
      userAgent: ua ? ua.slice(0, 200) : null,
      actor: null,
    };
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
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
          'Identity for non-human identities: Universal Identity tokens, session tokens, identities and auth methods. Durations are seconds; times are ISO-8601 UTC.',
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

  installAccessControl(app, {
    sessions: deps.sessions,
    access: deps.access,
    exchangeUidToken: async (token, request) =>
      (await deps.authenticate({ accessType: 'universal_identity', uidToken: token }, request.ctx)).token,
    onGranted: (request, action, resource, ruleId) =>
      deps.denials.record(
        {
          type: 'access.granted',
          outcome: 'success',
          actor: {},
          resource: resource.path,
          data: {
            action,
            resourceType: resource.type,
            rule: ruleId,
            route: request.routeOptions.url ?? null,
          },
        },
        request.ctx,
      ),
    onDenied: (request, action, resource, reason) =>
      deps.denials.record(
        {
          type: 'access.denied',
          outcome: 'denied',
          actor: {},
          resource: resource.path,
          reason,
          data: { action, resourceType: resource.type, route: request.routeOptions.url ?? null },
        },
        request.ctx,
      ),
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>() as TypedApp;
  registerSystemRoutes(typed, {
    jwks: deps.jwks,
    ready: deps.ready,
    version: deps.version,
    ...(deps.notReadyReason ? { notReadyReason: deps.notReadyReason } : {}),
  });
  registerMetricsRoutes(typed, { render: () => deps.metrics.render(), public: deps.metricsPublic });
  registerAuthRoutes(typed, { authenticate: deps.authenticate });
  registerIdentityRoutes(typed, { identities: deps.identities });
  registerAuthMethodRoutes(typed, {
    authMethods: deps.authMethods,
    onChange: (id) => deps.access.invalidate(id),
  });
  registerUidRoutes(typed, { uid: deps.uid, authMethods: deps.authMethods });
  registerRoleRoutes(typed, { roles: deps.roles, authMethods: deps.authMethods });
  registerAccessRoutes(typed, { access: deps.access, sessions: deps.sessions, denials: deps.denials });
  registerAuditRoutes(typed, { audit: deps.audit });
  registerAuditLedgerRoutes(typed, deps.auditLedger);
  registerSecretRoutes(typed, {
    secrets: deps.secrets,
    secretKeys: deps.secretKeys,
    ...(deps.onKekRotated ? { onKekRotated: deps.onKekRotated } : {}),
  });
  if (deps.dynamic) registerDynamicSecretRoutes(typed, deps.dynamic);
  if (deps.rotation) registerRotatedSecretRoutes(typed, { rotation: deps.rotation });
  await registerAkeylessApi(typed, {
    authenticate: deps.authenticate,
    sessions: deps.sessions,
    authMethods: deps.authMethods,
    uid: deps.uid,
    roles: deps.roles,
    secrets: deps.secrets,
    ...(deps.dynamic ? { dynamicSecrets: deps.dynamic.items, leases: deps.dynamic.leases } : {}),
    onMethodChange: (id) => deps.access.invalidate(id),
    nowMs: () => deps.clock.nowMs(),
  });
  await app.ready();
  return app;
}
