/**
 * Listing and deleting dynamic secrets from the CLI (issue 10: they could be created but not listed
 * or deleted): `list-dynamic-secrets`, `delete-dynamic-secret`.
 */

import type { OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { formatDuration, formatTime, renderTable } from './output.format.js';

const NAME: OptionSpecs = {
  name: {
    type: 'string',
    placeholder: 'NAME',
    required: true,
    description: 'item name, e.g. /prod/orders-db',
  },
};

const list: CommandSpec = {
  path: ['list-dynamic-secrets'],
  summary: 'List the dynamic secrets you may list (under a path)',
  options: {
    path: { type: 'string', placeholder: 'PATH', description: 'only the items under PATH, e.g. /prod' },
    limit: { type: 'number', placeholder: 'N', description: 'at most N (default 50)' },
    cursor: {
      type: 'string',
      placeholder: 'NAME',
      description: 'continue after NAME (from the previous page)',
    },
  },
  examples: ['tessera list-dynamic-secrets', 'tessera list-dynamic-secrets --path /prod --json'],
  async run(ctx, args) {
    const path = args.str('path');
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const page = await ctx.withAdmin((t) =>
      ctx.client.listDynamicSecrets(t, {
        ...(path ? { prefix: path } : {}),
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    );
    ctx.emit(page, () =>
      page.items.length === 0
        ? 'No dynamic secrets.\n'
        : renderTable(
            ['NAME', 'TYPE', 'TTL', 'MAX TTL', 'CREATED'],
            page.items.map((d) => [
              d.name,
              d.type,
              formatDuration(d.defaultTtlSeconds),
              formatDuration(d.maxTtlSeconds),
              formatTime(d.createdAt, ctx.now()),
            ]),
          ),
    );
    if (page.nextCursor && !ctx.json)
      ctx.note(`More: tessera list-dynamic-secrets --cursor ${page.nextCursor}`);
  },
};

const remove: CommandSpec = {
  path: ['delete-dynamic-secret'],
  summary: 'Delete a dynamic secret (refused while it has live leases, unless --revoke-leases)',
  details:
    'The settings are what revokes the accounts, so a dynamic secret with live leases is kept unless ' +
    '--revoke-leases revokes them first (drops their accounts, ends their sessions).',
  options: {
    ...NAME,
    'revoke-leases': { type: 'boolean', description: 'revoke its live leases first' },
  },
  examples: [
    'tessera delete-dynamic-secret --name /prod/orders-db',
    'tessera delete-dynamic-secret --name /prod/orders-db --revoke-leases',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const d = await ctx.withAdmin((t) =>
      ctx.client.deleteDynamicSecret(t, name, args.bool('revoke-leases') ? { revokeLeases: true } : {}),
    );
    ctx.emit(d, () => `Deleted the dynamic secret ${d.name}.\n`);
  },
};

/** The item commands of dynamic secrets (list, delete). */
export const dynamicSecretItemCommands: readonly CommandSpec[] = [list, remove];
