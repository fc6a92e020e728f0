/**
 * Listing and deleting dynamic secrets from the CLI (issue 10: they could be created but not listed
 * or deleted): `list-dynamic-secrets`, `delete-dynamic-secret`.
 */

import type { CommandSpec } from './cli.context.js';
import { ITEM_NAME, noteNextPage, PAGED_LIST_OPTIONS, pagedListQuery } from './item-list.options.js';
import { formatDuration, formatTime, renderTable } from './output.format.js';

const list: CommandSpec = {
  path: ['list-dynamic-secrets'],
  summary: 'List the dynamic secrets you may list (under a path)',
  options: PAGED_LIST_OPTIONS,
  examples: ['tessera list-dynamic-secrets', 'tessera list-dynamic-secrets --path /prod --json'],
  async run(ctx, args) {
    const page = await ctx.withAdmin((t) => ctx.client.listDynamicSecrets(t, pagedListQuery(args)));
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
    noteNextPage(ctx, 'list-dynamic-secrets', page.nextCursor);
  },
};

const remove: CommandSpec = {
  path: ['delete-dynamic-secret'],
  summary: 'Delete a dynamic secret (refused while it has live leases, unless --revoke-leases)',
  details:
    'The settings are what revokes the accounts, so a dynamic secret with live leases is kept unless ' +
    '--revoke-leases revokes them first (drops their accounts, ends their sessions).',
  options: {
    ...ITEM_NAME,
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
