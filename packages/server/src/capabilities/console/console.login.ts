import type { FastifyInstance } from 'fastify';
import { ErrorCodes, TesseraError } from '../../core/shared/errors.js';
import { cookieOf, LOGIN_COOKIE, setCookie } from './console.cookies.js';

const MAX_LOGIN_SEC = 600;

/**
 * A person's single sign-on into the console, over the API's own OIDC login (`/v1/login/start`,
 * `/v1/login/poll`): the page opens the identity provider in a new window and polls; the login id
 * and poll token stay in an HttpOnly cookie, and the finished login's session becomes the console
 * session cookie. Where the server has no identity provider, `start` answers the API's 404.
 */
export function registerConsoleLogin(
  scope: FastifyInstance,
  deps: {
    open: { config: { access: { public: true } }; schema: { hide: boolean } };
    idleSec: number;
    nowMs: () => number;
  },
) {
  scope.post('/login/start', deps.open, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const answer = await scope.inject({
      method: 'POST',
      url: '/v1/login/start',
      headers: { 'x-request-id': request.id },
      remoteAddress: request.ip,
    });
    if (answer.statusCode !== 200) {
      if (answer.statusCode === 404)
        throw new TesseraError(ErrorCodes.NOT_FOUND, 'Single sign-on is not configured on this server.');
      return reply.status(answer.statusCode).type('application/json').send(answer.rawPayload);
    }
    const login = answer.json() as {
      loginId: string;
      pollToken: string;
      authorizationUrl: string;
      expiresAt: string;
    };
    const lifetime = Math.min(MAX_LOGIN_SEC, (Date.parse(login.expiresAt) - deps.nowMs()) / 1000);
    setCookie(request, reply, `${login.loginId}~${login.pollToken}`, lifetime, LOGIN_COOKIE);
    return { authorizationUrl: login.authorizationUrl, expiresAt: login.expiresAt };
  });

  scope.post('/login/poll', deps.open, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const pending = cookieOf(request, LOGIN_COOKIE);
    const sep = pending?.indexOf('~') ?? -1;
    if (!pending || sep < 1) return { status: 'expired' };
    const answer = await scope.inject({
      method: 'POST',
      url: '/v1/login/poll',
      headers: { 'content-type': 'application/json', 'x-request-id': request.id },
      remoteAddress: request.ip,
      payload: JSON.stringify({ loginId: pending.slice(0, sep), pollToken: pending.slice(sep + 1) }),
    });
    if (answer.statusCode !== 200) {
      setCookie(request, reply, '', 0, LOGIN_COOKIE);
      return reply.status(answer.statusCode).type('application/json').send(answer.rawPayload);
    }
    const result = answer.json() as {
      status: 'pending' | 'expired' | 'done';
      token?: string;
      expiresAt?: string;
    };
    if (result.status === 'pending') return { status: 'pending' };
    setCookie(request, reply, '', 0, LOGIN_COOKIE);
    if (result.status !== 'done' || !result.token || !result.expiresAt) return { status: 'expired' };
    const remaining = (Date.parse(result.expiresAt) - deps.nowMs()) / 1000;
    setCookie(request, reply, result.token, Math.min(deps.idleSec, remaining));
    return { status: 'done', idleTimeoutSec: deps.idleSec };
  });
}
