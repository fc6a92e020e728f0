import { TesseraApiError, TesseraClient } from '@tessera/sdk';

/**
 * The console's one way to the server: the SDK's typed client over the `/ui/api` bridge. The
 * session lives in an HttpOnly cookie the page cannot read; the SDK's bearer credential is a
 * placeholder the bridge replaces, and every call carries the console's CSRF header.
 */
export const CSRF_HEADER = 'x-tessera-console';
/** What the SDK is given as "the token": the real one is the cookie, added by the server. */
export const SESSION = 'console-session';

function bridgedFetch(input: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.delete('authorization');
  headers.set(CSRF_HEADER, '1');
  noteActivity();
  return fetch(input, { ...init, headers, credentials: 'same-origin', cache: 'no-store' }).then(
    (response) => {
      if (response.status === 401) signedOutElsewhere();
      return response;
    },
  );
}

export const api = new TesseraClient({ url: `${location.origin}/ui/api`, fetch: bridgedFetch });

/** The session as the server sees it (`GET /ui/session`). */
export interface ConsoleSession {
  signedIn: true;
  identityId: string;
  expiresAt: string;
  idleTimeoutSec: number;
}

async function sessionCall(
  method: 'GET' | 'POST' | 'DELETE',
  body?: unknown,
  path = '/ui/session',
): Promise<Response> {
  return fetch(path, {
    method,
    headers: { [CSRF_HEADER]: '1', ...(body ? { 'content-type': 'application/json' } : {}) },
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

export async function currentSession(): Promise<ConsoleSession | null> {
  const response = await sessionCall('GET');
  return response.ok ? ((await response.json()) as ConsoleSession) : null;
}

export async function signIn(accessId: string, accessKey: string): Promise<ConsoleSession> {
  const response = await sessionCall('POST', { accessId, accessKey });
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code: string; message: string; requestId?: string };
  };
  if (!response.ok)
    throw new TesseraApiError(
      response.status,
      body.error?.code ?? 'TESSERA_AUTH_FAILED',
      body.error?.message ?? 'Sign-in failed.',
      body.error?.requestId,
    );
  return body as unknown as ConsoleSession;
}

/** Starts a person's single sign-on: the identity provider's page to open, or why not. */
export async function startSso(): Promise<{ authorizationUrl: string } | { error: string }> {
  const response = await sessionCall('POST', undefined, '/ui/login/start');
  const body = (await response.json().catch(() => ({}))) as {
    authorizationUrl?: string;
    error?: { message: string };
  };
  return body.authorizationUrl
    ? { authorizationUrl: body.authorizationUrl }
    : { error: body.error?.message ?? 'Single sign-on could not start.' };
}

/** Asks whether the sign-on opened by {@link startSso} has finished (the session is then the cookie). */
export async function pollSso(): Promise<'pending' | 'done' | 'expired'> {
  const response = await sessionCall('POST', undefined, '/ui/login/poll');
  const body = (await response.json().catch(() => ({}))) as { status?: 'pending' | 'done' | 'expired' };
  return response.ok ? (body.status ?? 'expired') : 'expired';
}

export async function signOut(reason?: 'idle'): Promise<void> {
  await sessionCall('DELETE').catch(() => {});
  location.assign(`/ui/sign-in${reason ? `?reason=${reason}` : ''}`);
}

function signedOutElsewhere() {
  if (!location.pathname.startsWith('/ui/sign-in'))
    location.assign(`/ui/sign-in?reason=expired&next=${encodeURIComponent(location.pathname)}`);
}

// ------------------------------------------------------------------ idle sign-out
let lastActivity = Date.now();
let idleTimer: ReturnType<typeof setInterval> | undefined;
export function noteActivity() {
  lastActivity = Date.now();
}
/** Signs out after `idleSec` without a keystroke, click or call (the cookie also expires then). */
export function startIdleWatch(idleSec: number) {
  for (const type of ['keydown', 'pointerdown', 'wheel'])
    addEventListener(type, noteActivity, { passive: true });
  clearInterval(idleTimer);
  idleTimer = setInterval(
    () => {
      if (Date.now() - lastActivity > idleSec * 1000) void signOut('idle');
    },
    Math.min(15_000, idleSec * 250),
  );
}

/** A readable line for an error from the SDK, with the request id to quote. */
export function describeError(error: unknown): string {
  if (error instanceof TesseraApiError)
    return `${error.message} (${error.code}${error.requestId ? `, request ${error.requestId}` : ''})`;
  return error instanceof Error ? error.message : String(error);
}
