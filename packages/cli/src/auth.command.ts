/**
 * `tessera auth` (credential → session token) and `tessera configure` (profiles).
 */

import { readFile } from 'node:fs/promises';
import {
  type AuthRequest,
  type AuthResponse,
  type CachedSession,
  type SessionCache,
  TesseraSession,
} from '@tessera/sdk';
import type { ArgReader } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { CliError, UsageError } from './cli.errors.js';
import { DEFAULT_PROFILE, mergeProfile, type Profile } from './config.store.js';
import { type ClientTls, mtlsFetch } from './http.fetch.js';
import { formatTime, renderKeyValues } from './output.format.js';
import { readTokenFile } from './token-file.store.js';

const ACCESS_TYPES = ['universal_identity', 'access_key', 'oidc_federation', 'certificate'] as const;

/** The workload JWT: `--jwt-file FILE`, `--jwt -` (standard input) or `--jwt JWT`. */
async function federatedJwt(args: ArgReader, io: CommandContext['io']): Promise<string> {
  const file = args.str('jwt-file');
  const inline = args.str('jwt');
  if (file && inline) throw new UsageError('give --jwt or --jwt-file, not both');
  let jwt: string | undefined;
  if (file) {
    try {
      jwt = await readFile(file, 'utf8');
    } catch {
      throw new UsageError(`--jwt-file ${file} cannot be read`);
    }
  } else if (inline === '-') jwt = await io.readStdin();
  else jwt = inline;
  jwt = jwt?.trim();
  if (!jwt)
    throw new UsageError('--jwt-file FILE or --jwt - (standard input) is required with oidc_federation');
  return jwt;
}

async function readPemFlag(args: ArgReader, flag: string): Promise<string | undefined> {
  const file = args.str(flag);
  if (file === undefined) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`--${flag} ${file} cannot be read`);
  }
}

/**
 * `--access-type certificate`: the client certificate and key (and the CAs trusted for the server)
 * for the mTLS connection the sign-in goes over; null for the other access types.
 */
async function clientTls(args: ArgReader, type: string | undefined, url: string): Promise<ClientTls | null> {
  const cert = await readPemFlag(args, 'cert');
  const key = await readPemFlag(args, 'key');
  const ca = await readPemFlag(args, 'ca');
  if (type !== 'certificate') {
    if (cert !== undefined || key !== undefined || ca !== undefined)
      throw new UsageError('--cert, --key and --ca go with --access-type certificate');
    return null;
  }
  if (cert === undefined || key === undefined)
    throw new UsageError('--cert FILE and --key FILE are required with --access-type certificate');
  if (!url.startsWith('https://'))
    throw new UsageError(
      `--access-type certificate signs in over mTLS: the server URL must be https:// (not ${url})`,
    );
  return { cert, key, ca };
}

async function authRequest(args: ArgReader, io: CommandContext['io']): Promise<AuthRequest> {
  const accessId = args.str('access-id');
  const uidToken = args.str('uid-token');
  const tokenFile = args.str('token-file');
  const accessKey = args.str('access-key');
  const type = args.choice('access-type', ACCESS_TYPES) ?? (accessKey ? 'access_key' : 'universal_identity');
  if (type === 'certificate') {
    if (!accessId) throw new UsageError('--access-id is required with --access-type certificate');
    return { accessType: 'certificate', accessId };
  }
  if (type === 'oidc_federation') {
    if (!accessId) throw new UsageError('--access-id is required with --access-type oidc_federation');
    return { accessType: 'oidc_federation', accessId, jwt: await federatedJwt(args, io) };
  }
  if (type === 'access_key') {
    if (!accessId) throw new UsageError('--access-id is required with --access-type access_key');
    if (!accessKey) throw new UsageError('--access-key is required with --access-type access_key');
    return { accessType: 'access_key', accessId, accessKey };
  }
  if (uidToken && tokenFile) throw new UsageError('give --uid-token or --token-file, not both');
  const withId = accessId ? { accessId } : {};
  if (tokenFile) {
    return { accessType: 'universal_identity', uidToken: await readTokenFile(tokenFile), ...withId };
  }
  if (!uidToken)
    throw new UsageError('--uid-token (or --token-file) is required with --access-type universal_identity');
  return { accessType: 'universal_identity', uidToken, ...withId };
}

function renderAuth(answer: AuthResponse, nowMs: number): string {
  // The session token is shown as t-<jwt> (Akeyless style); the server and SDK accept either form.
  return [
    'Authentication succeeded.',
    `Token: t-${answer.token}`,
    `Expires: ${formatTime(answer.expiresAt, nowMs)}`,
    '',
  ].join('\n');
}

const auth: CommandSpec = {
  path: ['auth'],
  summary: 'Exchange a UID token, an access key, a workload JWT or a client certificate for a session token',
  details:
    'Prints the session token as `Token: t-<jwt>`. Pass it to other commands with --token or ' +
    'TESSERA_TOKEN. With --json the raw answer is printed (token without the t- prefix). ' +
    'With --access-type certificate the CLI connects over mTLS (an https:// server URL), presenting ' +
    '--cert and --key; --ca names the CAs trusted for the server’s certificate.',
  options: {
    'access-id': { type: 'string', placeholder: 'p-…', description: 'access id of the auth method' },
    'access-type': {
      type: 'string',
      placeholder: 'TYPE',
      description:
        'universal_identity, access_key, oidc_federation or certificate (default: from the credential given)',
    },
    cert: {
      type: 'string',
      placeholder: 'FILE',
      description: 'client certificate, PEM (with --access-type certificate)',
    },
    key: {
      type: 'string',
      placeholder: 'FILE',
      description: 'its private key, PEM (with --access-type certificate)',
    },
    ca: {
      type: 'string',
      placeholder: 'FILE',
      description: 'CA certificates trusted for the server’s TLS certificate, PEM (default: the system’s)',
    },
    'jwt-file': {
      type: 'string',
      placeholder: 'FILE',
      description: 'read the workload JWT from FILE (with --access-type oidc_federation)',
    },
    jwt: {
      type: 'string',
      placeholder: 'JWT|-',
      description: 'the workload JWT, or - to read it from standard input (oidc_federation)',
    },
    'uid-token': { type: 'string', placeholder: 'u-…', description: 'UID token (also --uid_token)' },
    'token-file': {
      type: 'string',
      placeholder: 'FILE',
      description: 'read the UID token from FILE (raw or UID_TOKEN=…)',
    },
    'access-key': {
      type: 'string',
      placeholder: 'KEY',
      description: 'access key (with --access-type access_key)',
    },
  },
  examples: [
    'tessera auth --access-id p-xxxx --access-type universal_identity --uid_token "$UID_TOKEN"',
    'T_TOKEN=$(tessera auth --uid-token "$UID_TOKEN" --json | jq -r .token)',
    'tessera auth --access-id p-admin --access-type access_key --access-key "$KEY"',
    'tessera auth --access-type oidc_federation --access-id p-xxxx --jwt-file "$RUNNER_TEMP/oidc.jwt"',
    'tessera auth --access-type certificate --access-id p-xxxx --cert app.pem --key app.key --ca server-ca.pem',
  ],
  async run(ctx: CommandContext, args: ArgReader): Promise<void> {
    const request = await authRequest(args, ctx.io);
    const tls = await clientTls(args, request.accessType, ctx.url);
    const client = tls ? ctx.clientWith(mtlsFetch(tls)) : ctx.client;
    const answer = await client.auth(request);
    ctx.emit(answer, () => renderAuth(answer, ctx.now()));
  },
};

async function readKeyArg(ctx: CommandContext, value: string | undefined): Promise<string | undefined> {
  if (value !== '-') return value;
  const key = (await ctx.io.readStdin()).trim();
  if (!key) throw new UsageError('--access-key - read nothing from standard input');
  return key;
}

function profileView(name: string, file: string, p: Profile): Record<string, unknown> {
  return {
    profile: name,
    file,
    url: p.url ?? null,
    accessId: p.accessId ?? null,
    accessKeySet: Boolean(p.accessKey),
  };
}

const configure: CommandSpec = {
  path: ['configure'],
  summary: 'Save the server URL and admin access key in a profile',
  details:
    'Profiles live in ~/.tessera/config.json (directory 0700, file 0600; TESSERA_CONFIG_DIR moves it). ' +
    'Commands that need admin rights exchange the profile’s access key for a session token and cache it. ' +
    'Without any of --url, --access-id, --access-key the profile is shown (the key is never printed). ' +
    'Use --access-key - to read the key from standard input (keeps it out of shell history). The key ' +
    'is kept apart from the profile in ~/.tessera/credentials.json (0600). Before saving, the access id ' +
    'and key are checked against the server (an exchange for a session token); if that fails nothing ' +
    'is saved. --no-verify saves without the check (e.g. before the server runs).',
  options: {
    verify: {
      type: 'boolean',
      description: 'check the credential against the server before saving (default; --no-verify skips)',
    },
    'access-id': { type: 'string', placeholder: 'p-…', description: 'admin access id' },
    'access-key': {
      type: 'string',
      placeholder: 'KEY',
      description: 'admin access key, or - for standard input',
    },
  },
  examples: [
    'tessera configure --url http://127.0.0.1:8377 --access-id p-admin --access-key - < admin.key',
    'tessera configure --profile prod --url https://tessera.example.com',
    'tessera configure --profile prod',
  ],
  async run(ctx: CommandContext, args: ArgReader): Promise<void> {
    const accessId = args.str('access-id');
    const accessKey = await readKeyArg(ctx, args.str('access-key'));
    const url = ctx.flags.url;
    if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url))
      throw new UsageError(`--url must be an http(s) URL`);
    const file = ctx.config.file;
    if (url === undefined && accessId === undefined && accessKey === undefined) {
      ctx.emit(profileView(ctx.profileName, file, ctx.profile), () => renderProfile(ctx, ctx.profile));
      return;
    }
    if (accessKey !== undefined && !accessId && !ctx.profile.accessId) {
      throw new UsageError('--access-key needs --access-id');
    }
    const changes: Profile = {
      ...(url !== undefined ? { url: url.replace(/\/+$/, '') } : {}),
      ...(accessId !== undefined ? { accessId } : {}),
      ...(accessKey !== undefined ? { accessKey } : {}),
    };
    const next = mergeProfile(ctx.profile, changes);
    // Check the credential against the server first: a typo must not replace a working profile.
    const verified =
      next.accessId && next.accessKey && args.maybeBool('verify') !== false
        ? await verifyAccessKey(ctx, next.accessId, next.accessKey)
        : undefined;
    const saved = await ctx.config.updateProfile(ctx.profileName, changes);
    const cache = ctx.config.sessionCache(ctx.profileName, ctx.url, saved.accessId ?? '');
    await cache.clear();
    if (verified) await cache.save(verified);
    ctx.emit(
      profileView(ctx.profileName, file, saved),
      () => `Saved profile "${ctx.profileName}" in ${file}.\n`,
    );
  },
};

/** Exchanges the access key for a session token; the token is what the profile's cache then holds. */
async function verifyAccessKey(
  ctx: CommandContext,
  accessId: string,
  accessKey: string,
): Promise<CachedSession> {
  let session: CachedSession | undefined;
  const memory: SessionCache = {
    load: async () => undefined,
    save: async (s) => {
      session = s;
    },
    clear: async () => {},
  };
  try {
    await new TesseraSession({
      client: ctx.client,
      credentials: { accessType: 'access_key', accessId, accessKey },
      cache: memory,
      now: () => ctx.now(),
    }).getToken();
  } catch (err) {
    ctx.note(`The credential was not saved: it does not work against ${ctx.url}.`);
    throw err;
  }
  if (!session) throw new CliError('TESSERA_CLI_ERROR', 'the server gave no session token');
  return session;
}

function renderProfile(ctx: CommandContext, p: Profile): string {
  const header =
    Object.keys(p).length === 0
      ? `Profile "${ctx.profileName}" is not configured${ctx.profileName === DEFAULT_PROFILE ? '' : ' yet'}.\n`
      : '';
  return (
    header +
    renderKeyValues([
      ['Profile', ctx.profileName],
      ['File', ctx.config.file],
      ['URL', p.url ?? `- (using ${ctx.url})`],
      ['Access ID', p.accessId ?? '-'],
      ['Access key', p.accessKey ? 'set' : 'not set'],
    ])
  );
}

/** `auth` and `configure`. */
export const authCommands: readonly CommandSpec[] = [auth, configure];
