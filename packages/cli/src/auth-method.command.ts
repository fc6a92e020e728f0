/**
 * `tessera auth-method create universal-identity|access-key`, `list`, `get`, `delete`.
 * TTL flags take units (`90s`, `30m`, `12h`, `7d`); a bare number is minutes. The API takes seconds.
 */

import type { AuthMethod, AuthMethodType, CreateUniversalIdentityAuthMethodRequest } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import {
  formatDuration,
  formatTime,
  listText,
  renderKeyValues,
  renderTable,
  yesNo,
} from './output.format.js';

const COMMON_CREATE: OptionSpecs = {
  name: {
    type: 'string',
    placeholder: 'NAME',
    required: true,
    description: 'auth method name, e.g. /prod/services',
  },
  'bound-cidrs': {
    type: 'list',
    placeholder: 'CIDRS',
    description: 'comma-separated client CIDR allow-list (also --bound-ips)',
    aliases: ['bound-ips'],
  },
  owner: { type: 'string', placeholder: 'OWNER', description: 'human owner (creates/links an identity)' },
  'identity-id': { type: 'string', placeholder: 'ID', description: 'attach to an existing identity' },
  'expires-at': { type: 'string', placeholder: 'ISO', description: 'the method stops working at this time' },
};

function commonBody(args: ArgReader) {
  const boundCidrs = args.list('bound-cidrs');
  const owner = args.str('owner');
  const identityId = args.str('identity-id');
  const expiresAt = args.str('expires-at');
  if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) {
    throw new UsageError('--expires-at must be an ISO-8601 time, e.g. 2026-01-01T00:00:00Z');
  }
  return {
    name: args.requireStr('name'),
    ...(boundCidrs ? { boundCidrs } : {}),
    ...(owner ? { owner } : {}),
    ...(identityId ? { identityId } : {}),
    ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
  };
}

/** Builds the create request of a Universal Identity method from the flags (minutes → seconds). */
export function universalIdentityBody(args: ArgReader): CreateUniversalIdentityAuthMethodRequest {
  const body: CreateUniversalIdentityAuthMethodRequest = { type: 'universal_identity', ...commonBody(args) };
  const ttlSeconds = durationFlag(args, 'ttl', 'minutes');
  const jwtTtlSeconds = durationFlag(args, 'jwt-ttl', 'minutes');
  const childTtlLimitSeconds = durationFlag(args, 'child-ttl-limit', 'minutes');
  const treeLength = args.positiveInt('tree-length');
  const childCountLimit = args.positiveInt('child-count-limit');
  const grace = durationFlag(args, 'rotation-grace-seconds', 'seconds', { allowZero: true });
  const reusePolicy = args.choice('reuse-policy', ['revoke', 'flag'] as const);
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) {
    throw new UsageError('--rotation-grace-seconds must be a whole number of seconds');
  }
  if (ttlSeconds !== undefined) body.ttlSeconds = ttlSeconds;
  if (jwtTtlSeconds !== undefined) body.jwtTtlSeconds = jwtTtlSeconds;
  if (childTtlLimitSeconds !== undefined) body.childTtlLimitSeconds = childTtlLimitSeconds;
  if (treeLength !== undefined) body.treeLength = treeLength;
  if (childCountLimit !== undefined) body.childCountLimit = childCountLimit;
  if (args.bool('deny-rotate')) body.denyRotate = true;
  if (args.bool('deny-inheritance')) body.denyInheritance = true;
  if (reusePolicy) body.reusePolicy = reusePolicy;
  if (grace !== undefined) body.rotationGraceSeconds = grace;
  return body;
}

const createUid: CommandSpec = {
  path: ['auth-method', 'create', 'universal-identity'],
  summary: 'Create a Universal Identity auth method (prints its access id)',
  details:
    'TTLs take units (90s, 30m, 12h, 7d); a bare number is MINUTES. Prints the access id p-… alone on stdout, so ACCESS_ID=$(…) works; details go to ' +
    'stderr. Omitted settings take the server defaults.',
  options: {
    ...COMMON_CREATE,
    ttl: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'UID token lifetime, e.g. 60m, 12h (bare number: minutes; reset by rotation)',
    },
    'jwt-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'session token lifetime, e.g. 15m (bare number: minutes)',
    },
    'child-ttl-limit': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'maximum child token TTL (bare number: minutes)',
    },
    'child-count-limit': {
      type: 'number',
      placeholder: 'N',
      description: 'most live child tokens one token may have (default 100)',
    },
    'tree-length': { type: 'number', placeholder: 'N', description: 'maximum depth of the token tree' },
    'deny-rotate': { type: 'boolean', description: 'root tokens may not be rotated' },
    'deny-inheritance': { type: 'boolean', description: 'root tokens may not create children' },
    'reuse-policy': {
      type: 'string',
      placeholder: 'revoke|flag',
      description: 'on reuse of a rotated-away token: revoke the subtree (default) or only flag it',
    },
    'rotation-grace-seconds': {
      type: 'string',
      placeholder: 'DURATION',
      description:
        'how long the old token may finish a rotation whose answer was lost (bare number: seconds)',
    },
  },
  examples: [
    'tessera auth-method create universal-identity --name "/demo/uid-non-human-auth" --ttl 60 --jwt-ttl 720',
    'ACCESS_ID=$(tessera auth-method create universal-identity --name /prod/ci --ttl 60 --child-ttl-limit 480 --tree-length 3)',
    'tessera auth-method create universal-identity --name /edge --bound-cidrs 10.0.0.0/8,192.168.0.0/16 --reuse-policy flag',
  ],
  async run(ctx, args) {
    const body = universalIdentityBody(args);
    const { authMethod } = await ctx.withAdmin((t) => ctx.client.createAuthMethod(t, body));
    if (ctx.json) {
      ctx.printJson({ authMethod });
      return;
    }
    ctx.out(`${authMethod.id}\n`);
    ctx.note(`Created universal identity auth method "${authMethod.name}" (access id ${authMethod.id}).`);
  },
};

const createAccessKey: CommandSpec = {
  path: ['auth-method', 'create', 'access-key'],
  summary: 'Create an access-key auth method (prints the access id and the key, once)',
  details:
    'The access key is shown only now: store it safely (e.g. with `tessera configure --access-key -`).',
  options: {
    ...COMMON_CREATE,
    'jwt-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'session token lifetime, e.g. 15m (bare number: minutes)',
    },
  },
  examples: [
    'tessera auth-method create access-key --name /admins/ci-bootstrap',
    'tessera auth-method create access-key --name /admins/alice --owner alice@example.com --json',
  ],
  async run(ctx, args) {
    const jwtTtlSeconds = durationFlag(args, 'jwt-ttl', 'minutes');
    const body = {
      type: 'access_key' as const,
      ...commonBody(args),
      ...(jwtTtlSeconds ? { jwtTtlSeconds } : {}),
    };
    const answer = await ctx.withAdmin((t) => ctx.client.createAuthMethod(t, body));
    if (ctx.json) {
      ctx.printJson(answer);
      return;
    }
    ctx.out(`Access ID: ${answer.authMethod.id}\nAccess Key: ${answer.accessKey}\n`);
    ctx.note(`Created access-key auth method "${answer.authMethod.name}". The key is not shown again.`);
  },
};

const list: CommandSpec = {
  path: ['auth-method', 'list'],
  summary: 'List auth methods',
  options: {
    type: {
      type: 'string',
      placeholder: 'TYPE',
      description: 'only this type (universal_identity, access_key, …)',
    },
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: ['tessera auth-method list', 'tessera auth-method list --type universal_identity --json'],
  async run(ctx, args) {
    const type = args.str('type') as AuthMethodType | undefined;
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const page = await ctx.withAdmin((t) =>
      ctx.client.listAuthMethods(t, {
        ...(type ? { type } : {}),
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    );
    ctx.emit(page, () => {
      if (page.items.length === 0) return 'No auth methods.\n';
      const rows = page.items.map((m) => [
        m.name,
        m.type,
        m.id,
        m.universalIdentity ? formatDuration(m.universalIdentity.ttlSeconds) : '-',
        m.universalIdentity ? formatDuration(m.universalIdentity.jwtTtlSeconds) : '-',
        formatTime(m.createdAt, ctx.now()),
      ]);
      return renderTable(['NAME', 'TYPE', 'ACCESS ID', 'TTL', 'JWT TTL', 'CREATED'], rows);
    });
    if (page.nextCursor && !ctx.json) ctx.note(`More: tessera auth-method list --cursor ${page.nextCursor}`);
  },
};

const SELECT: OptionSpecs = {
  name: { type: 'string', placeholder: 'NAME', description: 'auth method name' },
  'access-id': { type: 'string', placeholder: 'p-…', description: 'or its access id' },
};

function fetchSelected(ctx: CommandContext, args: ArgReader): Promise<AuthMethod> {
  const name = args.str('name');
  const id = args.str('access-id');
  if (!name && !id) throw new UsageError('--name (or --access-id) is required');
  if (name && id) throw new UsageError('give --name or --access-id, not both');
  return ctx.withAdmin((t) =>
    id ? ctx.client.getAuthMethod(t, id) : ctx.client.getAuthMethodByName(t, name ?? ''),
  );
}

/** Key/value description of an auth method. */
export function renderAuthMethod(m: AuthMethod, nowMs: number): string {
  const uid = m.universalIdentity;
  return renderKeyValues([
    ['Name', m.name],
    ['Access ID', m.id],
    ['Type', m.type],
    ['Identity', m.identityId || '-'],
    ['Bound CIDRs', listText(m.boundCidrs)],
    ['Expires', m.expiresAt ? formatTime(m.expiresAt, nowMs) : 'never'],
    ['Created', formatTime(m.createdAt, nowMs)],
    ['Updated', formatTime(m.updatedAt, nowMs)],
    ['TTL', uid ? formatDuration(uid.ttlSeconds) : undefined],
    ['JWT TTL', uid ? formatDuration(uid.jwtTtlSeconds) : undefined],
    ['Child TTL limit', uid ? formatDuration(uid.childTtlLimitSeconds) : undefined],
    ['Child count limit', uid ? `${uid.childCountLimit} live children per token` : undefined],
    ['Tree length', uid ? String(uid.treeLength) : undefined],
    ['Deny rotate', uid ? yesNo(uid.denyRotate) : undefined],
    ['Deny inheritance', uid ? yesNo(uid.denyInheritance) : undefined],
    ['Reuse policy', uid?.reusePolicy],
    ['Rotation grace', uid ? formatDuration(uid.rotationGraceSeconds) : undefined],
  ]);
}

const get: CommandSpec = {
  path: ['auth-method', 'get'],
  summary: 'Show one auth method',
  options: SELECT,
  examples: [
    'tessera auth-method get --name /demo/uid-non-human-auth',
    'tessera auth-method get --access-id p-xxxx --json',
  ],
  async run(ctx, args) {
    const method = await fetchSelected(ctx, args);
    ctx.emit(method, () => renderAuthMethod(method, ctx.now()));
  },
};

const remove: CommandSpec = {
  path: ['auth-method', 'delete'],
  summary: 'Delete an auth method (all of its tokens stop working)',
  options: SELECT,
  examples: ['tessera auth-method delete --name /demo/uid-non-human-auth'],
  async run(ctx, args) {
    const method = await fetchSelected(ctx, args);
    await ctx.withAdmin((t) => ctx.client.deleteAuthMethod(t, method.id));
    ctx.emit(
      { deleted: true, id: method.id, name: method.name },
      () => `Deleted auth method "${method.name}" (${method.id}).\n`,
    );
  },
};

/** The auth-method commands. */
export const authMethodCommands: readonly CommandSpec[] = [createUid, createAccessKey, list, get, remove];
