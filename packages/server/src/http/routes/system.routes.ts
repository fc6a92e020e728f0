import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import type { TypedApp } from '../app.js';

/**
 * The interactive API reference's Content-Security-Policy: every script, style, image and request
 * comes from this server (Swagger UI's assets are served from `node_modules`, no CDN), nothing inline
 * runs, and the page cannot be framed by another site.
 */
export const DOCS_CSP =
  "default-src 'none'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; " +
  "frame-ancestors 'none'; img-src 'self' data:; manifest-src 'self'; object-src 'none'; script-src 'self'; " +
  "script-src-attr 'none'; style-src 'self'";

/** Health, readiness, keys and the API reference: public and cheap. */
/** The reference's header mark: the product's name, not the framework's. */
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="150" height="40" viewBox="0 0 150 40">' +
  '<rect x="2" y="8" width="10" height="10" fill="#7fd1b9"/><rect x="14" y="8" width="10" height="10" fill="#f2c14e"/>' +
  '<rect x="2" y="20" width="10" height="10" fill="#f78154"/><rect x="14" y="20" width="10" height="10" fill="#4d9de0"/>' +
  '<text x="32" y="28" font-family="sans-serif" font-size="22" font-weight="700" fill="#ffffff">Tessera</text></svg>';

export function registerSystemRoutes(
  app: TypedApp,
  deps: {
    jwks: () => unknown;
    ready: () => Promise<boolean>;
    version: string;
    notReadyReason?: () => string | null;
  },
) {
  app.get(
    '/healthz',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['system'],
        summary: 'Liveness',
        response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' as const, version: deps.version }),
  );

  app.get(
    '/readyz',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['system'],
        summary: 'Readiness: the store answers',
        response: {
          200: Type.Object({ status: Type.String() }),
          503: Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) }),
        },
      },
    },
    async (_request, reply) => {
      const reason = deps.notReadyReason?.() ?? null;
      if (reason !== null) return reply.status(503).send({ status: 'unavailable', reason });
      const ok = await deps.ready().catch(() => false);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable' });
    },
  );

  // The sealed listener answers the same route with sealed: true (ADR 0012).
  app.get(
    '/v1/sys/seal-status',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['system'],
        summary: 'Seal status: false once the server runs (a sealed server waits for root-key shares)',
        security: [],
        response: {
          200: Type.Object({
            sealed: Type.Boolean(),
            threshold: Type.Union([Type.Integer(), Type.Null()]),
            progress: Type.Integer(),
            keyId: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async () => ({ sealed: false, threshold: null, progress: 0, keyId: null }),
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: { public: true } },
      schema: { tags: ['system'], summary: 'Session-token verification keys (RFC 7517)' },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return deps.jwks();
    },
  );

  app.get('/openapi.json', { config: { access: { public: true } }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  // The interactive reference (Swagger UI, with try-it) at /docs; its assets under /docs/static.
  void app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    validatorUrl: false,
    theme: { title: 'Tessera API reference' },
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO_SVG), href: '/docs' },
    uiConfig: {
      deepLinking: true,
      filter: true,
      displayRequestDuration: true,
      docExpansion: 'list',
      defaultModelsExpandDepth: 0,
    },
  });

  // Someone opening the server in a browser lands on the API reference.
  app.get('/', { config: { access: { public: true } }, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/docs', 302),
  );
}
