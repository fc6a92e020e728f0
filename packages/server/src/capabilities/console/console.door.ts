import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, TesseraError } from '../../core/shared/errors.js';
import {
  type DoorAccessDeps,
  defaultBodyLimit,
  type FrontDoor,
  installDoorAccess,
} from '../../http/doors/door.js';
import { errorHandler } from '../../http/error-mapper.js';
import { type ConsoleAsset, loadConsoleAssets } from './console.assets.js';
import { cookieOf, setCookie } from './console.cookies.js';
import { registerConsoleLogin } from './console.login.js';

/** Options of the console's door (tests shorten the idle time). */
export interface ConsoleDoorOptions {
  /** Where the built console lives; default `packages/console/dist`. */
  dir?: string;
  /** Idle sign-out: the session cookie lives this long after the last request; default 15 minutes. */
  idleTimeoutSec?: number;
  /** The server's clock (session expiry is judged by it). */
  nowMs?: () => number;
}

export { CONSOLE_COOKIE } from './console.cookies.js';
/** The header every console call carries: a cross-site form or image cannot send it. */
export const CONSOLE_HEADER = 'x-tessera-console';
const DEFAULT_IDLE_SEC = 15 * 60;
const BODY_LIMIT = 64 * 1024;

/**
 * The Content-Security-Policy of every console answer: scripts and styles only from the server's
 * own files (no inline script, no eval), no framing, no plugins, calls only to the same origin.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const crossSite = () =>
  new TesseraError(
    ErrorCodes.FORBIDDEN,
    'Cross-site request refused: call the console API from the console.',
    {
      internalReason: 'console_cross_site',
      details: { reason: 'cross_site' },
    },
  );
const signedOut = () =>
  new TesseraError(ErrorCodes.UNAUTHENTICATED, 'Sign in to the console first.', {
    internalReason: 'console_no_session',
  });

/**
 * CSRF defence for every call that acts (and every API call): the console's own header, which a
 * cross-site form, link or image cannot send and a cross-origin script cannot send without a
 * preflight this door never approves; and, where the browser says, a same-origin `Origin` and
 * `Sec-Fetch-Site`. The session cookie is also `SameSite=Strict`.
 */
function assertSameOrigin(request: FastifyRequest) {
  if (request.headers[CONSOLE_HEADER] !== '1') throw crossSite();
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw crossSite();
  const origin = request.headers.origin;
  const acts = request.method !== 'GET' && request.method !== 'HEAD';
  if (origin !== undefined && origin !== `${request.protocol}://${request.host}`) throw crossSite();
  if (acts && origin === undefined && site === undefined) throw crossSite();
}

/**
 * The web console's front door (issue 18, ADR 0022) at `/ui`: the built single-page app, a sign-in
 * that turns an access key into a session held in an HttpOnly, SameSite=Strict cookie, and a bridge
 * `/ui/api/v1/…` that puts that session on the public API as a bearer token. The page's script
 * never sees the token; every answer carries a strict CSP.
 */
export function consoleDoor(access: DoorAccessDeps, options: ConsoleDoorOptions = {}): FrontDoor {
  const idleSec = options.idleTimeoutSec ?? DEFAULT_IDLE_SEC;
  const nowMs = options.nowMs ?? Date.now;
  let assets: Map<string, ConsoleAsset> | null | undefined;
  const assetsOf = () => {
    assets ??= loadConsoleAssets(options.dir);
    return assets;
  };

  /** The session behind the cookie if it is still valid, with its remaining lifetime. */
  async function sessionOf(request: FastifyRequest): Promise<{ token: string; remainingSec: number } | null> {
    const token = cookieOf(request);
    if (!token) return null;
    try {
      const claims = await access.sessions.verify(token);
      return { token, remainingSec: claims.exp - nowMs() / 1000 };
    } catch {
      return null;
    }
  }

  function sendAsset(request: FastifyRequest, reply: FastifyReply, name: string) {
    const asset = assetsOf()?.get(name);
    if (!asset) {
      if (!assetsOf())
        return reply
          .status(503)
          .type('text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .send('The console is not built: run `npm run build` at the repository root.');
      throw new TesseraError(ErrorCodes.ROUTE_NOT_FOUND, 'No such console file.');
    }
    reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('etag', asset.etag);
    reply.header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    reply.type(asset.type);
    if (asset.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      reply.header('content-encoding', 'gzip');
      return reply.send(asset.gzip);
    }
    return reply.send(asset.body);
  }

  async function bridge(scope: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const session = await sessionOf(request);
    if (!session) {
      setCookie(request, reply, '', 0);
      throw signedOut();
    }
    const path = request.url.slice('/ui/api'.length);
    if (!path.startsWith('/v1/')) throw new TesseraError(ErrorCodes.ROUTE_NOT_FOUND, 'Only /v1 is bridged.');
    const headers: Record<string, string> = {
      authorization: `Bearer ${session.token}`,
      accept: 'application/json',
      'x-request-id': request.id,
    };
    const type = request.headers['content-type'];
    if (type) headers['content-type'] = type;
    const answer = await scope.inject({
      method: request.method as 'GET',
      url: path,
      headers,
      remoteAddress: request.ip,
      ...(typeof request.body === 'string' ? { payload: request.body } : {}),
    });
    // Sliding idle sign-out: each call keeps the session for another idle period (never past its expiry).
    setCookie(request, reply, session.token, Math.min(idleSec, session.remainingSec));
    for (const name of ['content-type', 'retry-after', 'x-tessera-error-code'])
      if (answer.headers[name] !== undefined) reply.header(name, answer.headers[name] as string);
    // Nothing the API answers is stored by the browser: secret values in particular are never cached.
    reply.header('cache-control', 'no-store');
    return reply.status(answer.statusCode).send(answer.rawPayload);
  }

  return {
    name: 'console',
    prefix: '/ui',
    register(scope) {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
        done(null, body),
      );
      defaultBodyLimit(scope, BODY_LIMIT);
      scope.setErrorHandler(errorHandler);
      installDoorAccess(scope, access);
      scope.addHook('onSend', async (_request, reply, payload) => {
        reply.header('content-security-policy', CONSOLE_CSP);
        reply.header('x-content-type-options', 'nosniff');
        reply.header('x-frame-options', 'DENY');
        reply.header('referrer-policy', 'no-referrer');
        reply.header('cross-origin-opener-policy', 'same-origin');
        reply.header('cross-origin-resource-policy', 'same-origin');
        reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
        return payload;
      });
      // The CSRF check runs before any body is parsed: a forged form post is refused as such.
      scope.addHook('onRequest', async (request) => {
        const path = request.url.split('?')[0] ?? '';
        const acts = request.method !== 'GET' && request.method !== 'HEAD';
        if (
          path.startsWith('/ui/api/') ||
          ((path === '/ui/session' || path.startsWith('/ui/login/')) && acts)
        )
          assertSameOrigin(request);
      });
      // The console's own routes are not part of the public API (docs/console.md describes them).
      const open = { config: { access: { public: true as const } }, schema: { hide: true } };

      scope.get('/assets/*', open, (request, reply) =>
        sendAsset(request, reply, `assets/${(request.params as { '*': string })['*']}`),
      );
      scope.get('/favicon.svg', open, (request, reply) => sendAsset(request, reply, 'favicon.svg'));
      scope.get('/sign-in', open, (request, reply) => sendAsset(request, reply, 'index.html'));

      scope.post('/session', open, async (request, reply) => {
        let body: unknown;
        try {
          body = JSON.parse(String(request.body ?? ''));
        } catch {
          body = null;
        }
        const { accessId, accessKey } = (body ?? {}) as { accessId?: unknown; accessKey?: unknown };
        if (typeof accessId !== 'string' || typeof accessKey !== 'string')
          throw new TesseraError(ErrorCodes.VALIDATION_FAILED, 'Give accessId and accessKey.');
        const answer = await scope.inject({
          method: 'POST',
          url: '/v1/auth',
          headers: { 'content-type': 'application/json', 'x-request-id': request.id },
          remoteAddress: request.ip,
          payload: JSON.stringify({ accessType: 'access_key', accessId, accessKey }),
        });
        reply.header('cache-control', 'no-store');
        if (answer.statusCode !== 200) {
          for (const name of ['content-type', 'retry-after'])
            if (answer.headers[name] !== undefined) reply.header(name, answer.headers[name] as string);
          return reply.status(answer.statusCode).send(answer.rawPayload);
        }
        const auth = answer.json() as {
          token: string;
          expiresIn: number;
          expiresAt: string;
          identityId: string;
        };
        setCookie(request, reply, auth.token, Math.min(idleSec, auth.expiresIn));
        return {
          signedIn: true,
          identityId: auth.identityId,
          expiresAt: auth.expiresAt,
          idleTimeoutSec: idleSec,
        };
      });

      scope.get('/session', open, async (request, reply) => {
        reply.header('cache-control', 'no-store');
        const session = await sessionOf(request);
        if (!session) throw signedOut();
        const claims = await access.sessions.verify(session.token);
        return {
          signedIn: true,
          identityId: claims.sub,
          expiresAt: new Date(claims.exp * 1000).toISOString(),
          idleTimeoutSec: idleSec,
        };
      });

      scope.delete('/session', open, async (request, reply) => {
        // The session ends on every server (where the API has `/v1/logout`), not only in this browser.
        const session = await sessionOf(request);
        if (session)
          await scope
            .inject({
              method: 'POST',
              url: '/v1/logout',
              headers: { authorization: `Bearer ${session.token}`, 'x-request-id': request.id },
              remoteAddress: request.ip,
            })
            .catch(() => {});
        setCookie(request, reply, '', 0);
        reply.header('cache-control', 'no-store');
        return { signedIn: false };
      });

      registerConsoleLogin(scope, { open, idleSec, nowMs });

      const bridged = { ...open, bodyLimit: BODY_LIMIT };
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const)
        scope.route({
          method,
          url: '/api/*',
          ...bridged,
          handler: (request, reply) => bridge(scope, request, reply),
        });

      // Every other page is the single-page app, behind a session: without one, the sign-in page.
      const page = async (request: FastifyRequest, reply: FastifyReply) => {
        if (!(await sessionOf(request))) {
          const next = encodeURIComponent(request.url.split('?')[0] ?? '/ui/');
          return reply.header('cache-control', 'no-store').redirect(`/ui/sign-in?next=${next}`, 302);
        }
        return sendAsset(request, reply, 'index.html');
      };
      scope.get('/', open, page);
      scope.get('/*', open, page);
    },
  };
}
