import type { FastifyReply, FastifyRequest } from 'fastify';

/** The console's session cookie: the session token, out of reach of page script. */
export const CONSOLE_COOKIE = 'tessera_console';
/** A person's single sign-on in progress (its login id and poll token), for a few minutes. */
export const LOGIN_COOKIE = 'tessera_console_login';

/** The value of one cookie of the request, if well formed. */
export function cookieOf(request: FastifyRequest, name: string = CONSOLE_COOKIE): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9._~-]{1,4096}$/.test(value) ? value : null;
    }
  }
  return null;
}

/** Sets (or with max-age 0 clears) an HttpOnly, SameSite=Strict cookie under /ui; Secure under TLS. */
export function setCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  value: string,
  maxAgeSec: number,
  name: string = CONSOLE_COOKIE,
) {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  const cookie = `${name}=${value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSec))}${secure}`;
  reply.header('set-cookie', cookie); // Fastify appends a second set-cookie, it does not replace it
}
