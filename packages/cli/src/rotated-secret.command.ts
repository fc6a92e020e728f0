/**
 * Rotated secrets (issue 6, ADR 0011): Tessera owns a database or Redis credential and rotates it on a
 * schedule or on demand. `create-rotated-secret`, `rotate-secret`, `get-rotated-secret-value`,
 * `describe-rotated-secret`, `list-rotated-secrets`, `update-rotated-secret`, `delete-rotated-secret`.
 */

import { readFile } from 'node:fs/promises';
import type {
  CreateRotatedSecretRequest,
  RotatedSecret,
  RotatedSecretValue,
  UpdateRotatedSecretRequest,
} from '@tessera/sdk';
import type { ArgReader } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import { readAdminPassword } from './dynamic-secret.command.js';
import { ITEM_NAME, noteNextPage, PAGED_LIST_OPTIONS, pagedListQuery } from './item-list.options.js';
import { formatDuration, formatTime, listText, renderKeyValues, renderTable } from './output.format.js';

/** `--single-account --username U`, or `--username-a A --username-b B` (the default, two-account). */
function readAccounts(args: ArgReader): Pick<CreateRotatedSecretRequest, 'strategy' | 'usernames'> {
  const single = args.bool('single-account');
  const one = args.str('username');
  const a = args.str('username-a');
  const b = args.str('username-b');
  if (single) {
    if (a !== undefined || b !== undefined)
      throw new UsageError('--single-account takes --username, not --username-a/--username-b');
    if (!one) throw new UsageError('--single-account needs --username');
    return { strategy: 'single-account', usernames: [one] };
  }
  if (one !== undefined)
    throw new UsageError(
      '--username goes with --single-account; two accounts take --username-a and --username-b',
    );
  if (!a || !b)
    throw new UsageError('--username-a and --username-b are required (or --single-account --username U)');
  if (a === b) throw new UsageError('--username-a and --username-b must differ');
  return { usernames: [a, b] };
}

/** Key/value description of a rotated secret's state (never a credential). */
export function renderRotatedSecret(r: RotatedSecret, nowMs: number): string {
  return renderKeyValues([
    ['Name', r.name],
    ['ID', r.id],
    ['Type', r.type],
    ['Strategy', r.strategy],
    ['Accounts', listText(r.usernames)],
    ['Current account', r.currentUsername],
    ['Version', String(r.version)],
    ['Interval', r.intervalSeconds === null ? 'on demand only' : formatDuration(r.intervalSeconds)],
    ['Grace period', r.strategy === 'two-account' ? formatDuration(r.graceSeconds) : undefined],
    ['Rotated', formatTime(r.rotatedAt, nowMs)],
    ['Next rotation', formatTime(r.nextRotationAt, nowMs)],
    ['Previous account retired', r.retireAt ? formatTime(r.retireAt, nowMs) : undefined],
    ['Failures', String(r.failures)],
    ['Last error', r.lastError ?? undefined],
    ['Last failure', r.lastFailureAt ? formatTime(r.lastFailureAt, nowMs) : undefined],
    ['Next attempt', r.nextAttemptAt ? formatTime(r.nextAttemptAt, nowMs) : undefined],
    ['Created', formatTime(r.createdAt, nowMs)],
  ]);
}

/** The credential for people. */
export function renderRotatedValue(v: RotatedSecretValue, nowMs: number): string {
  return renderKeyValues([
    ['Username', v.username],
    ['Password', v.password],
    ['Version', String(v.version)],
    ['Rotated', formatTime(v.rotatedAt, nowMs)],
    ['Next rotation', formatTime(v.nextRotationAt, nowMs)],
  ]);
}

const create: CommandSpec = {
  path: ['create-rotated-secret'],
  summary: 'Create a rotated secret: Tessera takes over database (or Redis) accounts and rotates them',
  details:
    'Two-account (default): the next password goes to the idle account, readers switch to it, and the ' +
    'previous account is changed only after the grace period, so a credential read just before a ' +
    'rotation keeps working. --single-account changes the one account at once (a credential read just ' +
    'before can stop working). Accounts missing on the target are created with the creation statements. ' +
    'The administrator password is read from a file or standard input, sealed, and never returned.',
  options: {
    ...ITEM_NAME,
    type: { type: 'string', placeholder: 'TYPE', required: true, description: 'mysql, redis or postgresql' },
    host: { type: 'string', placeholder: 'HOST', required: true, description: 'the target’s host' },
    port: { type: 'number', placeholder: 'PORT', required: true, description: 'the target’s port' },
    'db-name': {
      type: 'string',
      placeholder: 'DB',
      description: 'the database to connect to',
      hiddenAliases: ['database'],
    },
    'admin-user': {
      type: 'string',
      placeholder: 'USER',
      required: true,
      description: 'the target’s administrator (Redis: default)',
    },
    'admin-password-file': {
      type: 'string',
      placeholder: 'FILE',
      required: true,
      description:
        'read the administrator password from FILE; - reads standard input (one trailing newline dropped)',
    },
    'username-a': { type: 'string', placeholder: 'USER', description: 'first account (two-account)' },
    'username-b': {
      type: 'string',
      placeholder: 'USER',
      description: 'second account, with the same grants (two-account)',
    },
    'single-account': { type: 'boolean', description: 'rotate a single account (give --username)' },
    username: { type: 'string', placeholder: 'USER', description: 'the account (--single-account)' },
    interval: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'rotate every DURATION, e.g. 24h (bare number: minutes); default: only on demand',
    },
    grace: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'two-account: how long the previous credential keeps working (default 5m; 0 allowed)',
    },
    'creation-statements-file': {
      type: 'string',
      placeholder: 'FILE',
      description:
        'statements that create a missing account, one per line ({{name}}, {{password}}), e.g. its GRANTs',
    },
    tls: { type: 'boolean', description: 'connect to the target over TLS' },
  },
  examples: [
    'tessera create-rotated-secret --name /prod/orders-db --type mysql --host db.internal --port 3306 \\\n' +
      '    --admin-user tessera_admin --admin-password-file admin.pw --username-a orders_a --username-b orders_b \\\n' +
      '    --interval 24h --grace 10m',
    'printf %s "$ADMIN_PW" | tessera create-rotated-secret --name /prod/cache --type redis --host 10.0.0.5 \\\n' +
      '    --port 6379 --admin-user default --admin-password-file - --single-account --username app',
    'tessera create-rotated-secret --name /prod/pg --type postgresql --host 127.0.0.1 --port 5432 \\\n' +
      '    --db-name orders --admin-user postgres --admin-password-file pg.pw --username-a app_a --username-b app_b',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const type = args.choice('type', ['mysql', 'redis', 'postgresql'] as const);
    if (!type) throw new UsageError('--type is required: mysql, redis or postgresql');
    const host = args.requireStr('host');
    const port = args.positiveInt('port');
    if (port === undefined || port > 65535) throw new UsageError('--port must be a port number (1-65535)');
    const database = args.str('db-name');
    const adminUsername = args.requireStr('admin-user');
    const accounts = readAccounts(args);
    const intervalSeconds = durationFlag(args, 'interval', 'minutes');
    const graceSeconds = durationFlag(args, 'grace', 'minutes', { allowZero: true });
    const statementsFile = args.str('creation-statements-file');
    const creationStatements =
      statementsFile === undefined
        ? undefined
        : (await readFile(statementsFile, 'utf8'))
            .split(/\r?\n/)
            .map((l) => l.trim())
            .filter((l) => l !== '');
    const adminPassword = await readAdminPassword(ctx, args);
    const body: CreateRotatedSecretRequest = {
      name,
      type,
      host,
      port,
      ...(database !== undefined ? { database } : {}),
      adminUsername,
      adminPassword,
      ...(args.bool('tls') ? { tls: true } : {}),
      ...(creationStatements ? { creationStatements } : {}),
      ...accounts,
      ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
      ...(graceSeconds !== undefined ? { graceSeconds } : {}),
    };
    const r = await ctx.withAdmin((t) => ctx.client.createRotatedSecret(t, body));
    ctx.emit(
      r,
      () =>
        `Created ${r.name} (${r.strategy}, accounts ${listText(r.usernames)}, id ${r.id}); ` +
        `${r.intervalSeconds === null ? 'rotated on demand only' : `rotated every ${formatDuration(r.intervalSeconds)}`}.\n`,
    );
  },
};

const rotate: CommandSpec = {
  path: ['rotate-secret'],
  summary: 'Rotate a rotated secret now',
  details:
    'Refused (with the seconds to wait) while a rotation is under way or the previous rotation’s grace ' +
    'period runs. When the target fails, the last good credential is kept and the rotation is retried ' +
    'with backoff.',
  options: ITEM_NAME,
  examples: [
    'tessera rotate-secret --name /prod/orders-db',
    'tessera rotate-secret --name /prod/orders-db --json',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const r = await ctx.withAdmin((t) => ctx.client.rotateSecret(t, name));
    ctx.emit(
      r,
      () =>
        `Rotated ${r.name}: version ${r.version}, account ${r.currentUsername}` +
        `${r.retireAt ? `; the previous account is changed ${formatTime(r.retireAt, ctx.now())}` : ''}.\n`,
    );
  },
};

const get: CommandSpec = {
  path: ['get-rotated-secret-value'],
  summary: 'Print the current credential of a rotated secret',
  details:
    'Applications should read it again when they reconnect. Every read is audited (the version, never ' +
    'the password).',
  options: ITEM_NAME,
  examples: [
    'tessera get-rotated-secret-value --name /prod/orders-db',
    'tessera get-rotated-secret-value --name /prod/orders-db --json | jq -r .password',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const v = await ctx.withAdmin((t) => ctx.client.getRotatedSecretValue(t, name));
    ctx.emit(v, () => renderRotatedValue(v, ctx.now()));
  },
};

const describe: CommandSpec = {
  path: ['describe-rotated-secret'],
  summary: 'Show a rotated secret’s accounts, schedule and failures (never a credential)',
  options: ITEM_NAME,
  examples: [
    'tessera describe-rotated-secret --name /prod/orders-db',
    'tessera describe-rotated-secret --name /prod/orders-db --json',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const r = await ctx.withAdmin((t) => ctx.client.describeRotatedSecret(t, name));
    ctx.emit(r, () => renderRotatedSecret(r, ctx.now()));
  },
};

const list: CommandSpec = {
  path: ['list-rotated-secrets'],
  summary: 'List the rotated secrets you may list (under a path)',
  options: PAGED_LIST_OPTIONS,
  examples: ['tessera list-rotated-secrets', 'tessera list-rotated-secrets --path /prod --json'],
  async run(ctx, args) {
    const page = await ctx.withAdmin((t) => ctx.client.listRotatedSecrets(t, pagedListQuery(args)));
    ctx.emit(page, () =>
      page.items.length === 0
        ? 'No rotated secrets.\n'
        : renderTable(
            ['NAME', 'TYPE', 'ACCOUNT', 'VERSION', 'NEXT ROTATION', 'FAILURES'],
            page.items.map((r) => [
              r.name,
              r.type,
              r.currentUsername,
              String(r.version),
              r.intervalSeconds === null ? 'on demand' : formatTime(r.nextRotationAt, ctx.now()),
              String(r.failures),
            ]),
          ),
    );
    noteNextPage(ctx, 'list-rotated-secrets', page.nextCursor);
  },
};

const update: CommandSpec = {
  path: ['update-rotated-secret'],
  summary: 'Change a rotated secret’s schedule, grace period or administrator credential',
  details:
    'A new administrator password is read from a file or standard input and checked against the target ' +
    'before it is saved. --on-demand stops scheduled rotations (rotate-secret still works).',
  options: {
    ...ITEM_NAME,
    interval: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'rotate every DURATION, e.g. 24h (bare number: minutes)',
    },
    'on-demand': { type: 'boolean', description: 'no scheduled rotation any more; only rotate-secret' },
    grace: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'two-account: how long the previous credential keeps working (0 allowed)',
    },
    'admin-user': { type: 'string', placeholder: 'USER', description: 'a new administrator account' },
    'admin-password-file': {
      type: 'string',
      placeholder: 'FILE',
      description: 'read a new administrator password from FILE; - reads standard input',
    },
  },
  examples: [
    'tessera update-rotated-secret --name /prod/orders-db --interval 12h --grace 10m',
    'tessera update-rotated-secret --name /prod/orders-db --on-demand',
    'printf %s "$NEW_PW" | tessera update-rotated-secret --name /prod/orders-db --admin-password-file -',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const intervalSeconds = durationFlag(args, 'interval', 'minutes');
    const onDemand = args.bool('on-demand');
    if (intervalSeconds !== undefined && onDemand)
      throw new UsageError('give --interval or --on-demand, not both');
    const graceSeconds = durationFlag(args, 'grace', 'minutes', { allowZero: true });
    const adminUsername = args.str('admin-user');
    const adminPassword =
      args.str('admin-password-file') !== undefined ? await readAdminPassword(ctx, args) : undefined;
    const changes: UpdateRotatedSecretRequest = {
      ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
      ...(onDemand ? { intervalSeconds: null } : {}),
      ...(graceSeconds !== undefined ? { graceSeconds } : {}),
      ...(adminUsername !== undefined ? { adminUsername } : {}),
      ...(adminPassword !== undefined ? { adminPassword } : {}),
    };
    if (Object.keys(changes).length === 0)
      throw new UsageError(
        'nothing to change: give --interval, --on-demand, --grace, --admin-user or --admin-password-file',
      );
    const r = await ctx.withAdmin((t) => ctx.client.updateRotatedSecret(t, name, changes));
    ctx.emit(r, () => renderRotatedSecret(r, ctx.now()));
  },
};

const remove: CommandSpec = {
  path: ['delete-rotated-secret'],
  summary: 'Delete a rotated secret: its rotation stops; the accounts stay on the target as they are',
  details:
    'Tessera stops rotating and forgets the credential. The accounts are neither dropped nor changed: ' +
    'the current one keeps the password Tessera last set (read it first with get-rotated-secret-value ' +
    'if it is still needed), then drop or re-password the accounts on the target.',
  options: ITEM_NAME,
  examples: ['tessera delete-rotated-secret --name /prod/orders-db'],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const r = await ctx.withAdmin((t) => ctx.client.deleteRotatedSecret(t, name));
    ctx.emit(
      r,
      () =>
        `Deleted the rotated secret ${r.name}; no more rotations. The accounts ${listText(r.usernames)} ` +
        'are left on the target as they are.\n',
    );
  },
};

/** The rotated-secret commands. */
export const rotatedSecretCommands: readonly CommandSpec[] = [
  create,
  rotate,
  get,
  describe,
  list,
  update,
  remove,
];
