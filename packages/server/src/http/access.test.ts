import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installAccessControl, requireDeclaredAccess } from './access.js';
import { errorHandler } from './error-mapper.js';

const permission = {
  permission: { action: 'read' as const, resource: () => ({ type: 'item' as const, path: '/x' }) },
};

/** Access checks that refuse before they need a session or a decision. */
const stubDeps = {
  sessions: {} as never,
  access: {} as never,
  onDenied: async () => {},
  onGranted: async () => {},
};

describe('route access checks (ADR 0055: hooks of the routes that need them)', () => {
  let app: FastifyInstance | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  it('refuses to start when a guarded route was registered where no access checks were installed', async () => {
    app = Fastify();
    app.decorateRequest('ctx', null as never);
    requireDeclaredAccess(app);
    await app.register(async (scope) => {
      scope.get('/open-by-mistake', { config: { access: permission } }, async () => ({ ok: true }));
      // Installed after the route: too late for it.
      installAccessControl(scope, stubDeps);
    });
    await expect(app.ready()).rejects.toThrow(/GET \/open-by-mistake has no access checks installed/);
  });

  it('refuses to start when an unchecked route shares its options object with a checked one', async () => {
    app = Fastify();
    app.decorateRequest('ctx', null as never);
    requireDeclaredAccess(app);
    const shared = { config: { access: permission } };
    await app.register(async (scope) => {
      // No access checks in this context: the route would be open.
      scope.get('/open', shared, async () => ({ secret: 'leaked' }));
    });
    await app.register(async (scope) => {
      installAccessControl(scope, stubDeps);
      scope.get('/guarded', shared, async () => ({ ok: true }));
    });
    await expect(app.ready()).rejects.toThrow(/GET \/open has no access checks installed/);
  });

  it('checks guarded routes and leaves public ones alone', async () => {
    app = Fastify();
    app.decorateRequest('ctx', null as never);
    requireDeclaredAccess(app);
    await app.register(async (scope) => {
      scope.setErrorHandler(errorHandler);
      installAccessControl(scope, stubDeps);
      scope.get('/guarded', { config: { access: permission } }, async () => ({ ok: true }));
      scope.get('/public', { config: { access: { public: true } } }, async () => ({ ok: true }));
    });
    await app.ready();
    const guarded = await app.inject({ method: 'GET', url: '/guarded' });
    expect(guarded.statusCode).toBe(401);
    expect(guarded.json().error.code).toBe('TESSERA_UNAUTHENTICATED');
    const head = await app.inject({ method: 'HEAD', url: '/guarded' });
    expect(head.statusCode).toBe(401);
    const open = await app.inject({ method: 'GET', url: '/public' });
    expect(open.statusCode).toBe(200);
  });
});
