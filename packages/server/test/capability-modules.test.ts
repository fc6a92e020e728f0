/**
 * The module contract and the front doors (ADR 0013): a capability in one folder joins with one
 * registration line; each door's parsers, limits and error rendering stay inside it.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrontDoor } from '../src/http/doors/door.js';
import { StorageRegistry } from '../src/platform/storage.js';
import { createNotesModule } from './fixtures/notes-capability/notes.module.js';
import { STORES, startTestServer, type TestServer } from './harness.js';

/** A door shaped like an OAuth token endpoint: form bodies, a larger limit, RFC 6749 errors. */
const formDoor = (): FrontDoor => ({
  name: 'form-test',
  prefix: '/form-test',
  register(scope: FastifyInstance) {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.addHook('onRoute', (route) => {
      route.bodyLimit ??= 256 * 1024;
    });
    scope.setErrorHandler((error, _request, reply) =>
      reply
        .status(400)
        .send({ error: 'invalid_request', error_description: String((error as Error).message).slice(0, 80) }),
    );
    scope.setNotFoundHandler((_request, reply) => reply.status(400).send({ error: 'unsupported_endpoint' }));
    scope.post('/token', { config: { access: { public: true } } }, async (request) => ({
      received: request.body,
      contentType: request.headers['content-type'],
    }));
  },
});

const big = (bytes: number) => JSON.stringify({ text: 'x'.repeat(bytes) });

describe.each(STORES)('capability modules and front doors on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(
      store,
      {},
      { tessera: { capabilities: [createNotesModule], doors: [formDoor] } },
    );
  });
  afterAll(() => s?.close());

  it('a capability from one folder brings its table, repository, route, audit, event reaction, metric and job', async () => {
    const created = await s.call('POST', '/v1/test-notes', { token: s.adminToken, body: { text: 'hello' } });
    expect(created.status).toBe(200);
    const notes = s.tessera.modules.notes!.services.notes as unknown as {
      list(): Promise<Array<{ id: string; text: string }>>;
      retiredIdentities: string[];
      ticks(): number;
    };
    expect((await notes.list()).map((n) => n.text)).toEqual(['hello']);
    const events = await s.call('GET', '/v1/audit/events?type=test_note.created', { token: s.adminToken });
    expect(events.body.items).toHaveLength(1);
    const metrics = await s.call('GET', '/metrics', { token: s.adminToken });
    expect(String(metrics.body)).toContain('test_notes_created_total 1');
    // Validation and access come from the door, not from the capability.
    expect((await s.call('POST', '/v1/test-notes', { body: { text: 'x' } })).status).toBe(401);
    expect((await s.call('POST', '/v1/test-notes', { token: s.adminToken, body: { text: '' } })).status).toBe(
      400,
    );

    const identity = await s.call('POST', '/v1/identities', {
      token: s.adminToken,
      body: { name: `notes-${store}`, kind: 'service', owner: 'someone' },
    });
    expect(
      (await s.call('POST', `/v1/identities/${identity.body.id}/retire`, { token: s.adminToken })).status,
    ).toBe(200);
    expect(notes.retiredIdentities).toContain(identity.body.id);
    await new Promise((r) => setTimeout(r, 100));
    expect(notes.ticks()).toBeGreaterThan(0);
  });

  it("a door's body parser and limit do not leak into the other doors", async () => {
    const form = 'grant_type=client_credentials&scope=a+b';
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
    const atDoor = await s.call('POST', '/form-test/token', { body: form, headers: formHeaders });
    expect(atDoor.status).toBe(200);
    expect(atDoor.body.received).toEqual({ grant_type: 'client_credentials', scope: 'a b' });

    const native = await s.call('POST', '/v1/auth', { body: form, headers: formHeaders });
    expect(native.status).toBe(415);
    expect(native.body.error.code).toBe('TESSERA_UNSUPPORTED_MEDIA_TYPE');
    const akeyless = await s.call('POST', '/akeyless/auth', { body: form, headers: formHeaders });
    expect(akeyless.status).toBe(415);
    expect(akeyless.body).toEqual({ error: expect.any(String) });

    // 100 KiB: within the form door's limit, over the native door's 64 KiB.
    const json = { 'content-type': 'application/json' };
    expect((await s.call('POST', '/form-test/token', { body: big(100 * 1024), headers: json })).status).toBe(
      200,
    );
    const tooLarge = await s.call('POST', '/v1/identities', { token: s.adminToken, body: big(100 * 1024) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('TESSERA_PAYLOAD_TOO_LARGE');
  });

  it('each door renders errors in its own format', async () => {
    expect((await s.call('POST', '/form-test/nothing-here', { body: {} })).body).toEqual({
      error: 'unsupported_endpoint',
    });
    const native = await s.call('GET', '/v1/nothing-here');
    expect(native.status).toBe(404);
    expect(native.body.error.code).toBe('TESSERA_ROUTE_NOT_FOUND');
    const akeyless = await s.call('POST', '/akeyless/nothing-here', { body: {} });
    expect(akeyless.status).toBe(404);
    expect(akeyless.body).toEqual({ error: expect.stringContaining('Unknown command') });
  });
});

describe('storage contributions', () => {
  it('are refused after the platform started, and may not take a built-in repository name', async () => {
    const registry = new StorageRegistry(new Set(['identities']));
    expect(() => registry.contribute({ name: 'x', repos: { identities: () => ({}) } })).toThrow(
      /already defined/,
    );
    expect(() => registry.contribute({ name: 'Bad-Name' })).toThrow(/not \[a-z\]/);
    registry.contribute({ name: 'ok' });
    expect(() => registry.contribute({ name: 'ok' })).toThrow(/twice/);
    await registry.migrate({ db: null, dialect: 'sqlite' } as never);
    expect(() => registry.contribute({ name: 'late' })).toThrow(/after start/);
  });
});
