/**
 * `tessera login` / `tessera logout`: a person's single sign-on (issue 14). `login` starts an OIDC
 * sign-in on the server, opens the IdP page in a browser (or prints its URL to open anywhere),
 * waits for it to finish, and keeps the short-lived session in the profile's sessions directory
 * (0600). Commands then act as that person until it expires or `tessera logout`.
 */

import { spawn } from 'node:child_process';
import type { CommandSpec } from './cli.context.js';
import { CliError } from './cli.errors.js';
import { formatTime } from './output.format.js';

/** Opens `url` in the desktop's browser when there is a desktop; false when it could not. */
function openBrowser(url: string, env: NodeJS.ProcessEnv): boolean {
  const opener =
    process.platform === 'darwin'
      ? 'open'
      : process.platform === 'win32'
        ? 'explorer'
        : env.DISPLAY || env.WAYLAND_DISPLAY
          ? 'xdg-open'
          : null;
  if (!opener) return false;
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

const login: CommandSpec = {
  path: ['login'],
  summary: 'Sign in as a person through the organisation’s identity provider (OIDC)',
  options: {
    'no-browser': { type: 'boolean', description: 'only print the URL to open (another device is fine)' },
    timeout: { type: 'number', placeholder: 'SECONDS', description: 'how long to wait (default 600)' },
  },
  examples: ['tessera login', 'tessera login --no-browser'],
  async run(ctx, args) {
    const started = await ctx.client.startLogin();
    const opened = !args.bool('no-browser') && openBrowser(started.authorizationUrl, ctx.io.env);
    if (!ctx.json)
      ctx.note(
        `${opened ? 'Opened your browser. If it did not open, visit' : 'To sign in, open'}:\n\n  ${started.authorizationUrl}\n\nWaiting for the sign-in to finish…`,
      );
    const deadline = ctx.now() + (args.positiveInt('timeout') ?? 600) * 1000;
    for (;;) {
      const polled = await ctx.client.pollLogin({ loginId: started.loginId, pollToken: started.pollToken });
      if (polled.status === 'done' && polled.token && polled.expiresAt) {
        const expiresAtMs = Date.parse(polled.expiresAt);
        await ctx.config
          .personSession(ctx.profileName, ctx.url)
          .save({ token: polled.token, expiresAtMs, renewAtMs: expiresAtMs });
        const result = {
          person: polled.person ?? null,
          expiresAt: polled.expiresAt,
          authorizationUrl: started.authorizationUrl,
        };
        ctx.emit(
          result,
          () =>
            `Signed in as ${polled.person?.email ?? polled.person?.id ?? 'a person'}; the session ends ${formatTime(polled.expiresAt!, ctx.now())}.\n`,
        );
        return;
      }
      if (polled.status === 'expired' || ctx.now() >= deadline)
        throw new CliError(
          'TESSERA_LOGIN_EXPIRED',
          'the sign-in was not finished in time',
          'run `tessera login` again',
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
  },
};

const logout: CommandSpec = {
  path: ['logout'],
  summary: 'End your person session (on every server) and forget it here',
  options: {
    'keep-server-session': {
      type: 'boolean',
      description: 'only forget it here (the session stays valid until it expires)',
    },
  },
  examples: ['tessera logout', 'tessera logout --json'],
  async run(ctx, args) {
    const cache = ctx.config.personSession(ctx.profileName, ctx.url);
    const session = await cache.load();
    if (session && session.expiresAtMs > ctx.now() && !args.bool('keep-server-session')) {
      await ctx.client.logout(session.token).catch(() => {
        // Already refused by the server (expired, revoked): forgetting it is all that is left.
      });
    }
    await cache.clear();
    ctx.emit({ signedOut: session !== undefined }, () => (session ? 'Signed out.\n' : 'Not signed in.\n'));
  },
};

/** The person sign-in commands. */
export const loginCommands: readonly CommandSpec[] = [login, logout];
