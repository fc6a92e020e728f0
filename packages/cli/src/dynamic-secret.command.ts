/**
 * Dynamic secrets and leases (issue 6, ADR 0010): `create-dynamic-secret postgresql|mysql|redis`,
 * `get-dynamic-secret-value`, `describe-dynamic-secret`, `list-leases`, `renew-lease`,
 * `revoke-lease`, `sweep-dynamic-secret`.
 */

import { readFile } from 'node:fs/promises';
import type { CreateDynamicSecretRequest, DynamicCredential, DynamicSecret, Lease } from '@tessera/sdk';
import type { ArgReader } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import { dynamicSecretItemCommands } from './dynamic-secret-items.command.js';
import { ITEM_NAME } from './item-list.options.js';
import { formatDuration, formatTime, listText, renderKeyValues, renderTable } from './output.format.js';

/** `3600`, `90s`, `60m`, `1h30m`, `2d` → seconds (a bare number is seconds here). */
const duration = (args: ArgReader, flag: string) => durationFlag(args, flag, 'seconds');

/**
 * The administrator password from `--admin-password-file FILE` or `-` (standard input), one trailing
 * newline dropped. Never a plain flag value: it would show in `ps` and the shell history. Shared by
 * the dynamic- and rotated-secret commands.
 */
export async function readAdminPassword(ctx: CommandContext, args: ArgReader): Promise<string> {
  const file = args.str('admin-password-file');
  if (file === undefined || file === '')
    throw new UsageError(
      'the administrator password is required: --admin-password-file FILE (or - for standard input)',
    );
  return (file === '-' ? await ctx.io.readStdin() : await readFile(file, 'utf8')).replace(/\r?\n$/, '');
}

export function renderDynamicSecret(d: DynamicSecret, nowMs: number): string {
  const s = d.settings as Record<string, unknown>;
  return renderKeyValues([
    ['Name', d.name],
    ['ID', d.id],
    ['Type', d.type],
    ['Target', `${String(s.host)}:${String(s.port)}${s.database ? `/${String(s.database)}` : ''}`],
    ['Admin user', String(s.adminUsername ?? '')],
    ['Username prefix', String(s.usernamePrefix ?? '')],
    ['TTL', formatDuration(d.defaultTtlSeconds)],
    ['Maximum TTL', formatDuration(d.maxTtlSeconds)],
    ['Lease quota', `${d.leaseQuota} per identity`],
    ['Sweep drops', d.sweepDrop ? 'yes' : 'no'],
    ['Created', formatTime(d.createdAt, nowMs)],
  ]);
}

export function renderCredential(c: DynamicCredential, nowMs: number): string {
  return renderKeyValues([
    ['Username', c.username],
    ['Password', c.password],
    ['Lease', c.leaseId],
    ['Expires', formatTime(c.expiresAt, nowMs)],
    ['Renewable until', formatTime(c.maxExpiresAt, nowMs)],
  ]);
}

export function renderLeases(items: readonly Lease[], nowMs: number): string {
  if (items.length === 0) return 'No leases.\n';
  return renderTable(
    ['LEASE', 'ITEM', 'USERNAME', 'STATE', 'EXPIRES', 'LAST ERROR'],
    items.map((l) => [
      l.leaseId,
      l.name,
      l.username,
      l.state,
      formatTime(l.expiresAt, nowMs),
      l.lastError ?? '',
    ]),
  );
}

/** What differs between the producers' `create-dynamic-secret <type>` commands. */
interface ProducerCli {
  type: CreateDynamicSecretRequest['type'];
  title: string;
  details: string;
  defaultPort: number;
  adminUser: string;
  /** Redis may run without an administrator password (the default user, nopass). */
  passwordOptional: boolean;
  database: boolean;
  reassignOwned: boolean;
  creationHelp: string;
  example: string;
}

const PRODUCERS: readonly ProducerCli[] = [
  {
    type: 'postgresql',
    title: 'PostgreSQL dynamic secret: each read mints a role that is dropped when its lease ends',
    details:
      'Creation statements take {{name}}, {{password}} and {{expiration}} (quoted safely); the default ' +
      'creates a LOGIN role valid until the lease’s maximum. Revocation ends the role’s sessions, handles ' +
      'its owned objects (--reassign-owned-to, else DROP OWNED) and drops it.',
    defaultPort: 5432,
    adminUser: 'a role with CREATEROLE',
    passwordOptional: false,
    database: true,
    reassignOwned: true,
    creationHelp: 'a creation statement (repeatable); default: CREATE ROLE … LOGIN PASSWORD … VALID UNTIL …',
    example:
      'tessera create-dynamic-secret postgresql --name /prod/orders-db --host db.internal --db-name orders \\\n' +
      '    --admin-user tessera_admin --admin-password-file admin.pw --ttl 1h --max-ttl 24h \\\n' +
      `    --creation-statement 'CREATE ROLE "{{name}}" LOGIN PASSWORD '"'"'{{password}}'"'"'; GRANT reader TO "{{name}}"'`,
  },
  {
    type: 'mysql',
    title: 'MariaDB/MySQL dynamic secret: each read mints a user that is dropped when its lease ends',
    details:
      'Creation statements take {{name}}, {{password}} and {{expiration}} (escaped by the driver); the ' +
      'default creates the user and grants SELECT on --db-name. Revocation kills the user’s connections ' +
      'and drops it.',
    defaultPort: 3306,
    adminUser: 'a user with CREATE USER, GRANT OPTION and CONNECTION ADMIN (or PROCESS + SUPER)',
    passwordOptional: false,
    database: true,
    reassignOwned: false,
    creationHelp:
      "a creation statement (repeatable); default: CREATE USER {{name}}@'%' … + GRANT SELECT ON <db>.*",
    example:
      'tessera create-dynamic-secret mysql --name /prod/shop-db --host db.internal --db-name shop \\\n' +
      '    --admin-user tessera_admin --admin-password-file admin.pw --ttl 30m',
  },
  {
    type: 'redis',
    title:
      'Redis dynamic secret: each read mints an ACL user that is deleted (and disconnected) when its lease ends',
    details:
      'Creation statements are ACL rules for the new user (e.g. "~cache:* +@read"); the user gets them ' +
      'with its random password. Revocation deletes the user, which disconnects its clients. Without ' +
      '--admin-password-file the default user is used with no password.',
    defaultPort: 6379,
    adminUser: 'a user allowed ACL SETUSER, DELUSER, USERS and CLIENT KILL (default: default)',
    passwordOptional: true,
    database: false,
    reassignOwned: false,
    creationHelp: 'ACL rules for minted users (repeatable), e.g. "~cache:* +@read"',
    example:
      "tessera create-dynamic-secret redis --name /prod/cache --host cache.internal --creation-statement '~cache:* +@read' --ttl 15m",
  },
];

function createCommand(p: ProducerCli): CommandSpec {
  return {
    path: ['create-dynamic-secret', p.type],
    summary: `Create a ${p.title}`,
    details: `The administrator password is read from a file or standard input, sealed, and never returned. ${p.details}`,
    options: {
      ...ITEM_NAME,
      host: { type: 'string', placeholder: 'HOST', required: true, description: 'the target host' },
      port: {
        type: 'number',
        placeholder: 'PORT',
        description: `the target port (default ${p.defaultPort})`,
      },
      ...(p.database
        ? {
            'db-name': {
              type: 'string' as const,
              placeholder: 'DB',
              description: 'the database',
              hiddenAliases: ['database'],
            },
          }
        : {}),
      'admin-user': {
        type: 'string',
        placeholder: 'USER',
        required: !p.passwordOptional,
        description: p.adminUser,
      },
      'admin-password-file': {
        type: 'string',
        placeholder: 'FILE',
        required: !p.passwordOptional,
        description: 'read the administrator password from FILE; - reads standard input',
      },
      'creation-statement': { type: 'list', placeholder: 'STATEMENT', description: p.creationHelp },
      'revocation-statement': {
        type: 'list',
        placeholder: 'STATEMENT',
        description: 'a revocation statement (repeatable)',
      },
      'username-prefix': {
        type: 'string',
        placeholder: 'PREFIX',
        description: 'prefix of minted accounts (default tsr_)',
      },
      ...(p.reassignOwned
        ? {
            'reassign-owned-to': {
              type: 'string' as const,
              placeholder: 'ROLE',
              description: 'owner of revoked roles’ objects',
            },
          }
        : {}),
      ttl: {
        type: 'string',
        placeholder: 'DURATION',
        description: 'default lease TTL, e.g. 60m, 1h (bare number: seconds)',
      },
      'max-ttl': {
        type: 'string',
        placeholder: 'DURATION',
        description: 'maximum lease TTL, renewals included',
      },
      'lease-quota': {
        type: 'number',
        placeholder: 'N',
        description: 'live leases per identity (default 50)',
      },
    },
    examples: [p.example],
    async run(ctx, args) {
      const port = args.positiveInt('port');
      if (port !== undefined && port > 65535) throw new UsageError('--port must be a port number (1-65535)');
      const database = p.database ? args.str('db-name') : undefined;
      const adminUser = args.str('admin-user');
      const creation = args.list('creation-statement');
      const revocation = args.list('revocation-statement');
      const prefix = args.str('username-prefix');
      const reassign = p.reassignOwned ? args.str('reassign-owned-to') : undefined;
      const ttl = duration(args, 'ttl');
      const maxTtl = duration(args, 'max-ttl');
      const quota = args.positiveInt('lease-quota');
      const password =
        p.passwordOptional && args.str('admin-password-file') === undefined
          ? undefined
          : await readAdminPassword(ctx, args);
      const body: CreateDynamicSecretRequest = {
        name: args.requireStr('name'),
        type: p.type,
        settings: {
          host: args.requireStr('host'),
          ...(port !== undefined ? { port } : {}),
          ...(database !== undefined ? { database } : {}),
          ...(adminUser !== undefined ? { adminUsername: adminUser } : {}),
          ...(password !== undefined ? { adminPassword: password } : {}),
          ...(creation ? { creationStatements: creation } : {}),
          ...(revocation ? { revocationStatements: revocation } : {}),
          ...(prefix ? { usernamePrefix: prefix } : {}),
          ...(reassign ? { reassignOwnedTo: reassign } : {}),
        },
        ...(ttl !== undefined ? { defaultTtlSeconds: ttl } : {}),
        ...(maxTtl !== undefined ? { maxTtlSeconds: maxTtl } : {}),
        ...(quota !== undefined ? { leaseQuota: quota } : {}),
      };
      const d = await ctx.withAdmin((t) => ctx.client.createDynamicSecret(t, body));
      ctx.emit(
        d,
        () => `Created ${d.name} (${d.type}, TTL ${formatDuration(d.defaultTtlSeconds)}, id ${d.id}).\n`,
      );
    },
  };
}

const getValue: CommandSpec = {
  path: ['get-dynamic-secret-value'],
  summary: 'Mint a credential: a new account and its lease (the password is shown once)',
  options: {
    ...ITEM_NAME,
    ttl: { type: 'string', placeholder: 'DURATION', description: 'lease TTL (≤ the item’s maximum)' },
  },
  examples: [
    'tessera get-dynamic-secret-value --name /prod/orders-db',
    'tessera get-dynamic-secret-value --name /prod/orders-db --ttl 15m --json | jq -r .password',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const ttl = duration(args, 'ttl');
    const c = await ctx.withAdmin((t) =>
      ctx.client.getDynamicSecretValue(t, name, ttl !== undefined ? { ttlSeconds: ttl } : {}),
    );
    ctx.emit(c, () => renderCredential(c, ctx.now()));
  },
};

const describe: CommandSpec = {
  path: ['describe-dynamic-secret'],
  summary: 'Show a dynamic secret’s settings (never the administrator password)',
  options: ITEM_NAME,
  examples: ['tessera describe-dynamic-secret --name /prod/orders-db'],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const d = await ctx.withAdmin((t) => ctx.client.describeDynamicSecret(t, name));
    ctx.emit(d, () => renderDynamicSecret(d, ctx.now()));
  },
};

const listLeases: CommandSpec = {
  path: ['list-leases'],
  summary: 'List leases: of an item, of an identity, or in a state (e.g. revoke_failed)',
  options: {
    name: { type: 'string', placeholder: 'NAME', description: 'only this dynamic secret’s leases' },
    'identity-id': { type: 'string', placeholder: 'ID', description: 'only this identity’s leases' },
    state: {
      type: 'string',
      placeholder: 'STATE',
      description: 'creating, active, revoking, revoked, failed, revoke_failed',
    },
    limit: { type: 'number', placeholder: 'N', description: 'at most N (default 100)' },
  },
  examples: [
    'tessera list-leases --name /prod/orders-db --state active',
    'tessera list-leases --state revoke_failed',
  ],
  async run(ctx, args) {
    const state = args.choice('state', [
      'creating',
      'active',
      'revoking',
      'revoked',
      'failed',
      'revoke_failed',
    ] as const);
    const name = args.str('name');
    const identityId = args.str('identity-id');
    const limit = args.positiveInt('limit');
    const page = await ctx.withAdmin((t) =>
      ctx.client.listLeases(t, {
        ...(name ? { name } : {}),
        ...(identityId ? { identityId } : {}),
        ...(state ? { state } : {}),
        ...(limit ? { limit } : {}),
      }),
    );
    ctx.emit(page, () => renderLeases(page.items, ctx.now()));
  },
};

const renew: CommandSpec = {
  path: ['renew-lease'],
  summary: 'Extend a lease (never past its maximum)',
  options: {
    'lease-id': { type: 'string', placeholder: 'ID', required: true, description: 'the lease (l-…)' },
    increment: { type: 'string', placeholder: 'DURATION', description: 'from now (default: the item’s TTL)' },
  },
  examples: ['tessera renew-lease --lease-id l-abc --increment 1h'],
  async run(ctx, args) {
    const leaseId = args.requireStr('lease-id');
    const increment = duration(args, 'increment');
    const l = await ctx.withAdmin((t) =>
      ctx.client.renewLease(t, leaseId, increment !== undefined ? { incrementSeconds: increment } : {}),
    );
    ctx.emit(l, () => `Renewed ${l.leaseId}: expires ${formatTime(l.expiresAt, ctx.now())}.\n`);
  },
};

const revoke: CommandSpec = {
  path: ['revoke-lease'],
  summary:
    'Revoke a lease now (drops the account, ends its sessions), or every lease under a prefix or of an identity',
  options: {
    'lease-id': { type: 'string', placeholder: 'ID', description: 'the lease (l-…)' },
    prefix: {
      type: 'string',
      placeholder: 'PREFIX',
      description: 'every live lease of the items under PREFIX',
    },
    'identity-id': { type: 'string', placeholder: 'ID', description: 'every live lease of an identity' },
  },
  examples: ['tessera revoke-lease --lease-id l-abc', 'tessera revoke-lease --prefix /prod/'],
  async run(ctx, args) {
    const leaseId = args.str('lease-id');
    const prefix = args.str('prefix');
    const identityId = args.str('identity-id');
    if (leaseId && (prefix || identityId))
      throw new UsageError('give --lease-id, or --prefix/--identity-id, not both');
    if (leaseId) {
      const r = await ctx.withAdmin((t) => ctx.client.revokeLease(t, leaseId));
      ctx.emit(
        r,
        () =>
          `Revoked ${r.lease.leaseId} (${r.lease.username}); ${r.sessionsTerminated} session(s) terminated.\n`,
      );
      return;
    }
    if (!prefix && !identityId) throw new UsageError('give --lease-id, --prefix or --identity-id');
    const r = await ctx.withAdmin((t) =>
      ctx.client.revokeLeases(t, { ...(prefix ? { prefix } : {}), ...(identityId ? { identityId } : {}) }),
    );
    ctx.emit(r, () => `${r.marked} lease(s) are being revoked.\n`);
  },
};

const sweep: CommandSpec = {
  path: ['sweep-dynamic-secret'],
  summary:
    'Find accounts on the target that match the prefix but have no live lease (and drop them with --drop)',
  options: { ...ITEM_NAME, drop: { type: 'boolean', description: 'drop the accounts found' } },
  examples: [
    'tessera sweep-dynamic-secret --name /prod/orders-db',
    'tessera sweep-dynamic-secret --name /prod/orders-db --drop',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const r = await ctx.withAdmin((t) =>
      ctx.client.sweepDynamicSecret(t, name, args.bool('drop') ? { drop: true } : {}),
    );
    ctx.emit(
      r,
      () =>
        `${r.orphans.length} account(s) without a live lease${r.orphans.length ? `: ${listText(r.orphans)}` : ''}` +
        `${r.dropped.length ? `; dropped ${r.dropped.length}` : ''}${r.failed.length ? `; ${r.failed.length} could not be dropped` : ''}.\n`,
    );
  },
};

export const dynamicSecretCommands: readonly CommandSpec[] = [
  ...PRODUCERS.map(createCommand),
  getValue,
  describe,
  ...dynamicSecretItemCommands,
  listLeases,
  renew,
  revoke,
  sweep,
];
