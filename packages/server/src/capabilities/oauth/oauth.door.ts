import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authMethodResource } from '../../core/access/access.resources.js';
import {
  type DoorAccessDeps,
  defaultBodyLimit,
  type FrontDoor,
  installDoorAccess,
} from '../../http/doors/door.js';
import { classifyError } from '../../http/error-mapper.js';
import { presentedCertificate } from '../../http/tls.js';
import {
  CLIENT_ASSERTION_TYPE,
  type ClientCredentials,
  INTROSPECTION_ENDPOINT_PATH,
  OAuthError,
  REVOCATION_ENDPOINT_PATH,
  TOKEN_ENDPOINT_PATH,
} from './oauth.model.js';
import type { OAuthService } from './oauth.service.js';
import type { OAuthRegistration } from './oauth-registration.js';
import { registerRegistrationRoutes } from './oauth-registration.routes.js';

/** Form bodies are small; anything larger is refused before parsing. */
export const OAUTH_BODY_LIMIT_BYTES = 16 * 1024;
/** Parameters that may repeat (RFC 8707 §2: several `resource`s). */
const REPEATABLE = new Set(['resource']);

interface Form {
  params: Record<string, string>;
  resources: string[];
  duplicated: string | null;
}

/**
 * One `application/x-www-form-urlencoded` name or value (WHATWG URL §5.1): `+` is a space, then
 * percent-decoding as UTF-8. Null when `decodeURIComponent` cannot say (a malformed escape or
 * invalid UTF-8), where the WHATWG parser keeps the bytes or substitutes U+FFFD instead.
 */
function formComponent(raw: string): string | null {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.includes('+') ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return null;
  }
}

/**
 * The form's pairs as the WHATWG `application/x-www-form-urlencoded` parser reads them (what
 * `URLSearchParams` does, less its constructor's dropping of a leading "?"), without its
 * per-character decoding loop.
 */
export function formPairs(body: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const sequence of body.split('&')) {
    if (sequence === '') continue;
    const eq = sequence.indexOf('=');
    const name = formComponent(eq === -1 ? sequence : sequence.slice(0, eq));
    const value = eq === -1 ? '' : formComponent(sequence.slice(eq + 1));
    // Anything decodeURIComponent refuses: the standard parser decides, for the whole body.
    // (The leading "&" is an empty sequence the parser skips; it keeps the URLSearchParams
    // constructor from dropping a leading "?", which the form parser itself does not do.)
    if (name === null || value === null) return [...new URLSearchParams(`&${body}`)];
    pairs.push([name, value]);
  }
  return pairs;
}

function parseForm(body: string): Form {
  const params: Record<string, string> = {};
  const resources: string[] = [];
  let duplicated: string | null = null;
  for (const [key, value] of formPairs(body)) {
    if (REPEATABLE.has(key)) resources.push(value);
    else if (Object.hasOwn(params, key)) duplicated ??= key;
    else params[key] = value;
  }
  return { params, resources, duplicated };
}

/** Client authentication as presented (RFC 6749 §2.3, RFC 7523 §2.2); only one method at a time. */
function clientCredentials(request: FastifyRequest, params: Record<string, string>): ClientCredentials {
  const header = request.headers.authorization;
  const basic = header ? /^Basic[ \t]+([A-Za-z0-9+/=]{1,2048})[ \t]*$/i.exec(header) : null;
  if (header && !basic)
    throw new OAuthError('invalid_request', 'Only Basic client authentication is accepted here.');
  const used = [basic, params.client_secret, params.client_assertion].filter(
    (v) => v !== undefined && v !== null,
  );
  if (used.length > 1)
    throw new OAuthError('invalid_request', 'Use exactly one client authentication method.');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_request', 'Malformed Basic credentials.');
    const formDecode = (v: string) => {
      try {
        return decodeURIComponent(v.replace(/\+/g, ' '));
      } catch {
        throw new OAuthError('invalid_request', 'Malformed Basic credentials.');
      }
    };
    const clientId = formDecode(decoded.slice(0, colon));
    if (params.client_id !== undefined && params.client_id !== clientId)
      throw new OAuthError('invalid_request', 'client_id does not match the Basic credentials.');
    return {
      kind: 'client_secret',
      via: 'client_secret_basic',
      clientId,
      secret: formDecode(decoded.slice(colon + 1)),
    };
  }
  if (params.client_assertion !== undefined) {
    if (params.client_assertion_type !== CLIENT_ASSERTION_TYPE)
      throw new OAuthError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}.`);
    return {
      kind: 'client_assertion',
      clientId: params.client_id ?? null,
      assertion: params.client_assertion,
    };
  }
  if (params.client_secret !== undefined) {
    if (!params.client_id)
      throw new OAuthError('invalid_request', 'client_id is required with client_secret.');
    return {
      kind: 'client_secret',
      via: 'client_secret_post',
      clientId: params.client_id,
      secret: params.client_secret,
    };
  }
  // RFC 8705 §2: no other client authentication, a client certificate on the connection.
  const certificate = presentedCertificate(request);
  if (certificate && params.client_id)
    return {
      kind: 'tls_client_certificate',
      clientId: params.client_id,
      der: certificate.der,
      thumbprint: certificate.thumbprint,
      authorized: certificate.authorized,
    };
  return { kind: 'none', clientId: params.client_id ?? null };
}

function formOf(request: FastifyRequest): Form {
  const form = request.body as Form | undefined;
  if (!form || typeof form !== 'object' || !('params' in form))
    throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded.');
  if (form.duplicated) throw new OAuthError('invalid_request', `Parameter ${form.duplicated} is repeated.`);
  return form;
}

const requestUrl = (request: FastifyRequest) =>
  `${request.protocol}://${request.host}${request.url.split('?')[0]}`;

/**
 * The OAuth 2 authorization server's door (issue 12, ADR 0013): `application/x-www-form-urlencoded`
 * bodies only, RFC 6749 §5.2 errors (`{error, error_description}`), `Cache-Control: no-store` on
 * every answer, `WWW-Authenticate` on 401, a fresh `DPoP-Nonce` on every answer.
 */
export function oauthDoor(
  access: DoorAccessDeps,
  oauth: OAuthService,
  registration?: OAuthRegistration,
): FrontDoor {
  return {
    name: 'oauth',
    errorProtocol: 'oauth',
    prefix: '/oauth',
    renderFrameworkError: renderError,
    register(scope: FastifyInstance) {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string' },
        (_req, body, done) => done(null, parseForm(body as string)),
      );
      defaultBodyLimit(scope, OAUTH_BODY_LIMIT_BYTES);
      installDoorAccess(scope, access);
      // A synchronous hook: no promise per answer.
      scope.addHook('onSend', (_request, reply, payload, done) => {
        reply.header('cache-control', 'no-store');
        reply.header('pragma', 'no-cache');
        reply.header('dpop-nonce', oauth.currentNonce());
        done(null, payload);
      });
      scope.setErrorHandler((error, request, reply) => renderError(error, request, reply));
      scope.setNotFoundHandler((_request, reply) =>
        reply.status(404).send({ error: 'invalid_request', error_description: 'No such OAuth endpoint.' }),
      );
      const config = { access: { public: true as const } };

      // Client authentication happens inside (RFC 6749 §2.3): no bearer credential at the HTTP layer.
      const doc = (summary: string) => ({ tags: ['oauth'], summary, security: [] });
      scope.post(
        '/token',
        { config, schema: doc('OAuth 2 token endpoint (RFC 6749, 7523, 8693, 9449)') },
        async (request) => {
          const form = formOf(request);
          const dpop = request.headers.dpop;
          if (Array.isArray(dpop) || (typeof dpop === 'string' && dpop.includes(',')))
            throw new OAuthError('invalid_dpop_proof', 'Send exactly one DPoP proof.');
          return oauth.token(
            {
              params: form.params,
              resources: form.resources,
              credentials: clientCredentials(request, form.params),
              dpopProof: dpop,
            },
            request.ctx,
          );
        },
      );
      // RFC 8414 requires `authorization_endpoint` for servers with browser-based grants, and common
      // clients (the MCP SDK's machine providers among them) refuse metadata without one. Tessera has
      // no such grant: the endpoint exists and refuses every request, with no redirect (there is no
      // registered redirect URI to trust), as RFC 6749 §4.1.2.1 allows.
      scope.get(
        '/authorize',
        { config, schema: doc('Authorization endpoint: no browser-based grant is supported') },
        async (_request, reply) =>
          reply.status(400).send({
            error: 'unsupported_response_type',
            error_description:
              'This server has no browser-based grant: use the token endpoint (client_credentials, token exchange, JWT bearer, CIBA).',
          }),
      );
      scope.post(
        '/bc-authorize',
        { config, schema: doc('Backchannel authentication endpoint (OpenID CIBA Core, poll mode)') },
        async (request) => {
          const form = formOf(request);
          return oauth.backchannel(form.params, clientCredentials(request, form.params), request.ctx);
        },
      );
      scope.post(
        '/introspect',
        { config, schema: doc('Token introspection (RFC 7662)') },
        async (request) => {
          const form = formOf(request);
          const session = /^(Bearer|DPoP)[ \t]+(\S{1,4096})[ \t]*$/i.exec(
            request.headers.authorization ?? '',
          );
          if (!session)
            return oauth.introspect(form.params, clientCredentials(request, form.params), request.ctx);
          // An administrator's session (RFC 7662 §2.1 allows any authorization the server accepts).
          const claims = await access.sessions
            .verify(session[2]!, {
              scheme: session[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer',
              method: request.method,
              url: access.publicBaseUrl
                ? `${access.publicBaseUrl}${request.url.split('?')[0]}`
                : requestUrl(request),
              dpopProof: typeof request.headers.dpop === 'string' ? request.headers.dpop : undefined,
            })
            .catch(() => {
              throw new OAuthError('invalid_token', 'The session token is not valid.', 401);
            });
          const principal = access.sessions.toPrincipal(claims);
          request.ctx.actor = { identityId: principal.identityId, authMethodId: principal.authMethodId };
          return oauth.introspectForSession(form.params, async (clientName) => {
            const decision = await access.access.authorize(
              principal,
              'read',
              authMethodResource(clientName),
              {
                sourceIp: request.ctx.sourceIp,
              },
            );
            return decision.allowed;
          });
        },
      );
      scope.post(
        '/revoke',
        { config, schema: doc('Token revocation (RFC 7009)') },
        async (request, reply) => {
          const form = formOf(request);
          await oauth.revoke(form.params, clientCredentials(request, form.params), request.ctx);
          return reply.status(200).send();
        },
      );
      if (registration) registerRegistrationRoutes(scope, access, registration);
    },
  };
}

function renderError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof OAuthError) {
    if (error.status === 401)
      reply.header(
        'www-authenticate',
        error.error === 'invalid_token'
          ? 'Bearer error="invalid_token"'
          : 'Basic realm="tessera", charset="UTF-8"',
      );
    if (error.status === 429) reply.header('retry-after', String(error.retryAfterSeconds ?? 60));
    request.log.info({ code: error.error, reason: error.reason }, 'oauth request refused');
    return reply.status(error.status).send({ error: error.error, error_description: error.description });
  }
  // Fastify's own refusals (size, media type, malformed body) and anything unexpected.
  const { error: e, status } = classifyError(error, request);
  // The store or the audit sinks are unavailable, or the disk is full: retryable (RFC 6749 §4.1.2.1).
  if (status === 503 || status === 507)
    return reply
      .status(503)
      .header('retry-after', '1')
      .send({ error: 'temporarily_unavailable', error_description: e.message });
  if (status >= 500)
    return reply.status(500).send({ error: 'server_error', error_description: 'Internal error.' });
  return reply.status(status).send({ error: 'invalid_request', error_description: e.message });
}

export const OAUTH_PATHS = [TOKEN_ENDPOINT_PATH, INTROSPECTION_ENDPOINT_PATH, REVOCATION_ENDPOINT_PATH];
