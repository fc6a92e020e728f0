/**
 * `tessera resource-server create|list|get|update|delete` (issue 12, ADR 0038): the OAuth resource
 * servers RFC 8707 `resource` may name, their scopes and how their tokens are made.
 */

import type { ResourceServer, UpdateResourceServerRequest } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { formatTime, listText, renderKeyValues, renderTable } from './output.format.js';

const NAME: OptionSpecs = {
  name: { type: 'string', placeholder: 'NAME', description: 'resource server name (or give it as argument)' },
};

function resourceServerName(args: ArgReader): string {
  const flag = args.str('name');
  const [positional, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (flag && positional && flag !== positional) throw new UsageError('give the name once');
  const name = flag ?? positional;
  if (!name) throw new UsageError('the resource server name is required (NAME or --name NAME)');
  return name;
}

const FIELDS: OptionSpecs = {
  owner: { type: 'string', placeholder: 'OWNER', description: 'the accountable human (an email)' },
  description: { type: 'string', placeholder: 'TEXT', description: 'what it is' },
  scopes: {
    type: 'list',
    placeholder: 'SCOPES',
    description: 'comma-separated scopes a token for it may carry',
  },
  'access-token-ttl': {
    type: 'number',
    placeholder: 'SEC',
    description: 'the longest access token issued for it, 30-86400 (0 removes the cap)',
  },
  'sender-constrained': {
    type: 'boolean',
    description: 'tokens for it must be DPoP- or certificate-bound (--no-sender-constrained to lift)',
  },
};

function fieldsBody(args: ArgReader): UpdateResourceServerRequest {
  const owner = args.str('owner');
  const description = args.str('description');
  const scopes = args.list('scopes');
  const ttl = args.num('access-token-ttl');
  const bound = args.maybeBool('sender-constrained');
  return {
    ...(owner !== undefined ? { owner } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(scopes ? { scopes } : {}),
    ...(ttl !== undefined ? { accessTokenTtlSeconds: ttl === 0 ? null : ttl } : {}),
    ...(bound !== undefined ? { senderConstrained: bound } : {}),
  };
}

export function renderResourceServer(rs: ResourceServer, nowMs: number): string {
  return renderKeyValues([
    ['Name', rs.name],
    ['Identifier', rs.identifier],
    ['Owner', rs.owner],
    ['Description', rs.description || '-'],
    ['Scopes', listText(rs.scopes)],
    ['Access token TTL', rs.accessTokenTtlSeconds === null ? '-' : `${rs.accessTokenTtlSeconds}s`],
    ['Sender-constrained', rs.senderConstrained ? 'yes (DPoP or mTLS)' : 'no'],
    ['Created', formatTime(rs.createdAt, nowMs)],
  ]);
}

const create: CommandSpec = {
  path: ['resource-server', 'create'],
  summary: 'Register an OAuth resource server (an audience RFC 8707 resource may name)',
  details:
    'Once any resource server is registered, the token endpoint accepts only registered resources (and MCP gateway URLs); a requested scope must be one the resource server lists.',
  options: {
    ...NAME,
    identifier: {
      type: 'string',
      placeholder: 'URI',
      required: true,
      description: 'the absolute URI clients send as resource and tokens carry as aud',
    },
    ...FIELDS,
  },
  positionals: '[NAME]',
  examples: [
    'tessera resource-server create orders --identifier https://orders.example.com/ --owner olga@example.com --scopes read,write',
    'tessera resource-server create ledger --identifier https://ledger.example.com/ --owner lee@example.com --sender-constrained --access-token-ttl 300 --json',
  ],
  async run(ctx, args) {
    const name = resourceServerName(args);
    const fields = fieldsBody(args);
    if (!fields.owner) throw new UsageError('--owner is required');
    const body = {
      ...fields,
      name,
      identifier: args.requireStr('identifier'),
      owner: fields.owner,
      ...(fields.accessTokenTtlSeconds === null ? { accessTokenTtlSeconds: null } : {}),
    };
    const rs = await ctx.withAdmin((t) => ctx.client.createResourceServer(t, body));
    ctx.emit(rs, () => renderResourceServer(rs, ctx.now()));
  },
};

const list: CommandSpec = {
  path: ['resource-server', 'list'],
  summary: 'List the registered OAuth resource servers',
  options: {},
  examples: ['tessera resource-server list', 'tessera resource-server list --json'],
  async run(ctx) {
    const items = await ctx.withAdmin((t) => ctx.client.listResourceServers(t));
    ctx.emit({ items }, () =>
      items.length === 0
        ? 'No resource servers (any resource a client lists is accepted).\n'
        : renderTable(
            ['NAME', 'IDENTIFIER', 'OWNER', 'SCOPES', 'BOUND', 'CREATED'],
            items.map((rs) => [
              rs.name,
              rs.identifier,
              rs.owner,
              listText(rs.scopes),
              rs.senderConstrained ? 'yes' : 'no',
              formatTime(rs.createdAt, ctx.now()),
            ]),
          ),
    );
  },
};

const get: CommandSpec = {
  path: ['resource-server', 'get'],
  summary: 'Show one OAuth resource server',
  options: NAME,
  positionals: '[NAME]',
  examples: ['tessera resource-server get orders', 'tessera resource-server get orders --json'],
  async run(ctx, args) {
    const name = resourceServerName(args);
    const rs = await ctx.withAdmin((t) => ctx.client.getResourceServer(t, name));
    ctx.emit(rs, () => renderResourceServer(rs, ctx.now()));
  },
};

const update: CommandSpec = {
  path: ['resource-server', 'update'],
  summary: "Change a resource server's owner, description, scopes, token TTL cap or sender constraint",
  options: { ...NAME, ...FIELDS },
  positionals: '[NAME]',
  examples: ['tessera resource-server update orders --scopes read,write,admin --access-token-ttl 600'],
  async run(ctx, args) {
    const name = resourceServerName(args);
    const body = fieldsBody(args);
    if (Object.keys(body).length === 0)
      throw new UsageError(
        'nothing to change: give --owner, --description, --scopes, --access-token-ttl or --sender-constrained',
      );
    const rs = await ctx.withAdmin((t) => ctx.client.updateResourceServer(t, name, body));
    ctx.emit(rs, () => renderResourceServer(rs, ctx.now()));
  },
};

const remove: CommandSpec = {
  path: ['resource-server', 'delete'],
  summary: 'Delete a resource server (new tokens for it are refused; issued ones expire)',
  options: NAME,
  positionals: '[NAME]',
  examples: ['tessera resource-server delete orders'],
  async run(ctx, args) {
    const name = resourceServerName(args);
    await ctx.withAdmin((t) => ctx.client.deleteResourceServer(t, name));
    ctx.emit({ deleted: true, name }, () => `Deleted resource server ${name}.\n`);
  },
};

/** The resource-server commands. */
export const resourceServerCommands: readonly CommandSpec[] = [create, list, get, update, remove];
