import { Type } from '@sinclair/typebox';
import { allOf } from '../../core/access/access.resources.js';
import { unauthenticated } from '../../core/sessions/sessions.errors.js';
import { notFound } from '../../core/shared/errors.js';
import { IsoTime, Limit, Nullable, StringEnum, toIso, toIsoOrNull } from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { Person } from './people.repo.js';
import type { PeopleService } from './people.service.js';

const tags = ['people'];
const PersonSchema = Type.Object(
  {
    id: Type.String(),
    issuer: Type.String(),
    subject: Type.String(),
    email: Nullable(Type.String()),
    name: Nullable(Type.String()),
    groups: Type.Array(Type.String()),
    authMethodId: Type.String(),
    createdAt: IsoTime,
    lastLoginAt: Nullable(IsoTime),
  },
  { $id: 'Person' },
);
const toWire = (p: Person) => ({
  id: p.id,
  issuer: p.issuer,
  subject: p.subject,
  email: p.email,
  name: p.name,
  groups: p.groups,
  authMethodId: p.authMethodId,
  createdAt: toIso(p.createdAtMs),
  lastLoginAt: toIsoOrNull(p.lastLoginAtMs),
});
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function registerPeopleRoutes(
  app: TypedApp,
  deps: { people: PeopleService; redirectUri: string | null },
) {
  const { people } = deps;
  app.addSchema(PersonSchema);

  app.post(
    '/v1/login/start',
    {
      config: { access: { public: true } },
      schema: {
        tags,
        summary: 'Start a person’s single sign-on (OIDC authorization code + PKCE)',
        description:
          'Open `authorizationUrl` in a browser; then `POST /v1/login/poll` with `loginId` and `pollToken` until the session is ready. 404 when no IdP is configured.',
        security: [],
        response: {
          200: Type.Object({
            loginId: Type.String(),
            authorizationUrl: Type.String(),
            pollToken: Type.String(),
            expiresAt: IsoTime,
          }),
          ...errorResponses(404, 503),
        },
      },
    },
    async (request) => {
      const s = await people.start(request.ctx);
      return {
        loginId: s.loginId,
        authorizationUrl: s.authorizationUrl,
        pollToken: s.pollToken,
        expiresAt: toIso(s.expiresAtMs),
      };
    },
  );

  app.get(
    '/v1/login/callback',
    {
      config: { access: { public: true } },
      schema: {
        tags,
        summary: 'Where the identity provider sends the browser back (redirect URI)',
        security: [],
        querystring: Type.Object({
          code: Type.Optional(Type.String({ maxLength: 4096 })),
          state: Type.Optional(Type.String({ maxLength: 200 })),
          iss: Type.Optional(Type.String({ maxLength: 1024 })),
          error: Type.Optional(Type.String({ maxLength: 200 })),
          error_description: Type.Optional(Type.String({ maxLength: 1000 })),
        }),
        response: { 200: Type.String(), ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const base = deps.redirectUri ?? '';
      const person = await people.callback(`${base}${query}`, request.ctx);
      reply.type('text/html; charset=utf-8');
      return `<!doctype html><title>Tessera</title><p>Signed in as ${escapeHtml(person.email ?? person.id)}. You can close this window and return to your terminal.</p>`;
    },
  );

  app.post(
    '/v1/login/poll',
    {
      config: { access: { public: true } },
      schema: {
        tags,
        summary: 'Collect the session of a finished sign-in (once)',
        security: [],
        body: Type.Object(
          {
            loginId: Type.String({ minLength: 1, maxLength: 64 }),
            pollToken: Type.String({ minLength: 1, maxLength: 128 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            status: StringEnum(['pending', 'expired', 'done'] as const),
            token: Type.Optional(Type.String()),
            expiresAt: Type.Optional(IsoTime),
            person: Type.Optional(Type.Ref('Person')),
          }),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request) => {
      const r = await people.poll(request.body.loginId, request.body.pollToken, request.ctx);
      if (r.status !== 'done') return { status: r.status };
      return { status: r.status, token: r.token, expiresAt: toIso(r.expiresAtMs), person: toWire(r.person) };
    },
  );

  app.post(
    '/v1/logout',
    {
      config: { access: { filter: { action: 'read', type: 'identity' } } },
      schema: {
        tags,
        summary: 'End the calling session now, on every server',
        response: { 204: { type: 'null' }, ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      if (!request.principal) throw unauthenticated();
      await people.logout(request.principal, request.ctx);
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/people/me',
    {
      config: { access: { filter: { action: 'read', type: 'identity' } } },
      schema: {
        tags,
        summary: 'The person behind the calling session (404 for an NHI’s session)',
        response: { 200: Type.Ref('Person'), ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const me = request.principal ? await people.personOf(request.principal) : null;
      const person = me ? await people.get(me.id) : null;
      if (!person) throw notFound('The person');
      return toWire(person);
    },
  );

  app.get(
    '/v1/people',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('identity') } } },
      schema: {
        tags,
        summary: 'List the people known from single sign-on',
        querystring: Type.Object({ limit: Type.Optional(Limit) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('Person')) }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => ({ items: (await people.list(request.query.limit ?? 50)).map(toWire) }),
  );
}
