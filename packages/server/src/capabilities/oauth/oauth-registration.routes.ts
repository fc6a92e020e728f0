import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authMethodResource } from '../../core/access/access.resources.js';
import { credentialKindOf } from '../../crypto/credentials.js';
import type { DoorAccessDeps } from '../../http/doors/door.js';
import { OAuthError } from './oauth.model.js';
import type { OAuthRegistration } from './oauth-registration.js';

const bearer = (request: FastifyRequest) =>
  /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i.exec(request.headers.authorization ?? '')?.[1] ?? null;

/**
 * `/oauth/register` (RFC 7591) and `/oauth/register/:clientId` (RFC 7592), inside the OAuth door
 * (its errors, `no-store`, limits) in a child context that parses JSON bodies only.
 */
export function registerRegistrationRoutes(
  door: FastifyInstance,
  access: DoorAccessDeps,
  registration: OAuthRegistration,
) {
  door.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new OAuthError('invalid_client_metadata', 'The body is not valid JSON.'), undefined);
      }
    });
    const config = { access: { public: true as const } };
    const doc = (summary: string) => ({ tags: ['oauth'], summary, security: [] });
    /** A client id is an access id (`p-…`); anything longer is refused before a lookup. */
    const byClientId = (summary: string) => ({
      ...doc(summary),
      params: Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 64 }) }),
    });

    scope.post(
      '/register',
      { config, schema: doc('Dynamic client registration (RFC 7591)') },
      async (request, reply) => {
        // Otherwise the initial access token is a session that may create the client's auth-method path.
        const token = bearer(request);
        if (!token)
          throw new OAuthError('invalid_token', 'An initial access token (Bearer) is required.', 401);
        // A path-scoped registration token (`tri-…`, ADR 0047) carries its own right to register.
        if (credentialKindOf(token) === 'initial_access_token') {
          const answer = await registration.registerWithInitialToken(request.body, token, request.ctx);
          reply.status(201);
          return answer;
        }
        const claims = await access.sessions
          .verify(token, {
            scheme: 'Bearer',
            method: request.method,
            url: `${access.publicBaseUrl ?? ''}${request.url.split('?')[0]}`,
            dpopProof: undefined,
          })
          .catch(() => {
            throw new OAuthError('invalid_token', 'The initial access token is not valid.', 401);
          });
        const principal = access.sessions.toPrincipal(claims);
        request.ctx.actor = { identityId: principal.identityId, authMethodId: principal.authMethodId };
        const input = registration.parse(request.body);
        const resource = authMethodResource(input.name);
        const decision = await access.access.authorize(principal, 'create', resource, {
          sourceIp: request.ctx.sourceIp,
        });
        if (!decision.allowed) {
          await access.denials.record(
            {
              type: 'access.denied',
              outcome: 'denied',
              actor: {},
              resource: resource.path,
              reason: decision.reason,
              data: { action: 'create', resourceType: resource.type, route: '/oauth/register' },
            },
            request.ctx,
          );
          throw new OAuthError(
            'insufficient_scope',
            'The initial access token may not register this client.',
            403,
          );
        }
        reply.status(201);
        return registration.register(input, request.ctx);
      },
    );
    const clientIdOf = (request: FastifyRequest) => (request.params as { clientId: string }).clientId;
    scope.get(
      '/register/:clientId',
      { config, schema: byClientId('Read a dynamically registered client (RFC 7592)') },
      async (request) => registration.read(clientIdOf(request), bearer(request)),
    );
    scope.put(
      '/register/:clientId',
      { config, schema: byClientId('Update a dynamically registered client (RFC 7592)') },
      async (request) => registration.update(clientIdOf(request), bearer(request), request.body, request.ctx),
    );
    scope.delete(
      '/register/:clientId',
      { config, schema: byClientId('Delete a dynamically registered client (RFC 7592)') },
      async (request, reply) => {
        await registration.delete(clientIdOf(request), bearer(request), request.ctx);
        return reply.status(204).send();
      },
    );
  });
}
