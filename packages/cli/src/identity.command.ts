/**
 * `tessera identity create|get|list|update|retire`: the NHI inventory.
 */

import type { Identity, IdentityKind, IdentityState, UpdateIdentityRequest } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { formatTime, listText, renderKeyValues, renderTable } from './output.format.js';

const KINDS = ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device', 'other'] as const;
const STATES = ['active', 'suspended', 'retired'] as const;

const ID: OptionSpecs = {
  id: { type: 'string', placeholder: 'ID', description: 'identity id (or give it as argument)' },
};

function identityId(args: ArgReader): string {
  const flag = args.str('id');
  const [positional, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (flag && positional && flag !== positional) throw new UsageError('give the id once');
  const id = flag ?? positional;
  if (!id) throw new UsageError('the identity id is required (--id ID)');
  return id;
}

/** Key/value description of an identity. */
export function renderIdentity(i: Identity, nowMs: number): string {
  return renderKeyValues([
    ['ID', i.id],
    ['Name', i.name],
    ['Kind', i.kind],
    ['Owner', i.owner],
    ['Environment', i.environment ?? '-'],
    ['Tags', listText(i.tags)],
    ['State', i.state],
    ['Description', i.description ?? '-'],
    ['Created', formatTime(i.createdAt, nowMs)],
    ['Updated', formatTime(i.updatedAt, nowMs)],
    ['Last used', i.lastUsedAt ? formatTime(i.lastUsedAt, nowMs) : 'never'],
    ['Retired', i.retiredAt ? formatTime(i.retiredAt, nowMs) : undefined],
  ]);
}

const DESCRIBE: OptionSpecs = {
  owner: { type: 'string', placeholder: 'OWNER', description: 'the accountable human (e.g. an email)' },
  environment: { type: 'string', placeholder: 'ENV', description: 'e.g. prod, staging' },
  tags: {
    type: 'list',
    placeholder: 'TAGS',
    description: 'comma-separated or repeated (--tag a --tag b)',
    aliases: ['tag'],
  },
  description: { type: 'string', placeholder: 'TEXT', description: 'free text' },
};

const create: CommandSpec = {
  path: ['identity', 'create'],
  summary: 'Register a non-human identity',
  options: {
    name: { type: 'string', placeholder: 'NAME', required: true, description: 'unique name' },
    kind: { type: 'string', placeholder: 'KIND', required: true, description: KINDS.join(', ') },
    ...DESCRIBE,
  },
  examples: [
    'tessera identity create --name billing-api --kind service --owner alice@example.com --environment prod',
    'tessera identity create --name release-bot --kind ai-agent --owner bob@example.com --tag release --tag github',
  ],
  async run(ctx, args) {
    const kind = args.choice('kind', KINDS);
    if (!kind) throw new UsageError('--kind is required');
    const environment = args.str('environment');
    const tags = args.list('tags');
    const description = args.str('description');
    const body = {
      name: args.requireStr('name'),
      kind,
      owner: args.requireStr('owner'),
      ...(environment ? { environment } : {}),
      ...(tags ? { tags } : {}),
      ...(description ? { description } : {}),
    };
    const identity = await ctx.withAdmin((t) => ctx.client.createIdentity(t, body));
    ctx.emit(identity, () => renderIdentity(identity, ctx.now()));
  },
};

const get: CommandSpec = {
  path: ['identity', 'get'],
  summary: 'Show one identity',
  positionals: '[ID]',
  options: ID,
  examples: ['tessera identity get id-123', 'tessera identity get --id id-123 --json'],
  async run(ctx, args) {
    const id = identityId(args);
    const identity = await ctx.withAdmin((t) => ctx.client.getIdentity(t, id));
    ctx.emit(identity, () => renderIdentity(identity, ctx.now()));
  },
};

const list: CommandSpec = {
  path: ['identity', 'list'],
  summary: 'List identities',
  options: {
    kind: { type: 'string', placeholder: 'KIND', description: KINDS.join(', ') },
    owner: { type: 'string', placeholder: 'OWNER', description: 'only this owner' },
    tag: { type: 'string', placeholder: 'TAG', description: 'only identities with this tag' },
    state: { type: 'string', placeholder: 'STATE', description: STATES.join(', ') },
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: ['tessera identity list', 'tessera identity list --kind ai-agent --state active --json'],
  async run(ctx, args) {
    const kind: IdentityKind | undefined = args.choice('kind', KINDS);
    const state: IdentityState | undefined = args.choice('state', STATES);
    const owner = args.str('owner');
    const tag = args.str('tag');
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const query = {
      ...(kind ? { kind } : {}),
      ...(state ? { state } : {}),
      ...(owner ? { owner } : {}),
      ...(tag ? { tag } : {}),
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    };
    const page = await ctx.withAdmin((t) => ctx.client.listIdentities(t, query));
    ctx.emit(page, () => {
      if (page.items.length === 0) return 'No identities.\n';
      const rows = page.items.map((i) => [
        i.id,
        i.name,
        i.kind,
        i.owner,
        i.environment ?? '-',
        i.state,
        i.lastUsedAt ? formatTime(i.lastUsedAt, ctx.now()) : 'never',
      ]);
      return renderTable(['ID', 'NAME', 'KIND', 'OWNER', 'ENV', 'STATE', 'LAST USED'], rows);
    });
    if (page.nextCursor && !ctx.json) ctx.note(`More: tessera identity list --cursor ${page.nextCursor}`);
  },
};

const update: CommandSpec = {
  path: ['identity', 'update'],
  summary: 'Change an identity’s owner, environment, tags, description or state',
  positionals: '[ID]',
  options: {
    ...ID,
    ...DESCRIBE,
    state: {
      type: 'string',
      placeholder: 'STATE',
      description: 'active or suspended (retire with `identity retire`)',
    },
  },
  examples: [
    'tessera identity update id-123 --owner carol@example.com',
    'tessera identity update --id id-123 --state suspended',
  ],
  async run(ctx, args) {
    const id = identityId(args);
    const body: UpdateIdentityRequest = {};
    const owner = args.str('owner');
    const environment = args.str('environment');
    const tags = args.list('tags');
    const description = args.str('description');
    const state = args.choice('state', ['active', 'suspended'] as const);
    if (owner !== undefined) body.owner = owner;
    if (environment !== undefined) body.environment = environment;
    if (tags !== undefined) body.tags = tags;
    if (description !== undefined) body.description = description;
    if (state !== undefined) body.state = state;
    if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give at least one option');
    const identity = await ctx.withAdmin((t) => ctx.client.updateIdentity(t, id, body));
    ctx.emit(identity, () => renderIdentity(identity, ctx.now()));
  },
};

const retire: CommandSpec = {
  path: ['identity', 'retire'],
  summary: 'Retire an identity for good (its tokens stop working at once)',
  positionals: '[ID]',
  options: ID,
  examples: ['tessera identity retire id-123'],
  async run(ctx, args) {
    const id = identityId(args);
    const identity = await ctx.withAdmin((t) => ctx.client.retireIdentity(t, id));
    ctx.emit(identity, () => `Retired identity "${identity.name}" (${identity.id}).\n`);
  },
};

/** The identity commands. */
export const identityCommands: readonly CommandSpec[] = [create, get, list, update, retire];
