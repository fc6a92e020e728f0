/**
 * Options and paging shared by the item commands (dynamic and rotated secrets): the item name, and
 * a listing under a path, a page at a time.
 */
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandContext } from './cli.context.js';

/** `--name`, required: one item. */
export const ITEM_NAME: OptionSpecs = {
  name: {
    type: 'string',
    placeholder: 'NAME',
    required: true,
    description: 'item name, e.g. /prod/orders-db',
  },
};

/** `--path`, `--limit`, `--cursor`: a listing under a path, a page at a time. */
export const PAGED_LIST_OPTIONS: OptionSpecs = {
  path: { type: 'string', placeholder: 'PATH', description: 'only the items under PATH, e.g. /prod' },
  limit: { type: 'number', placeholder: 'N', description: 'at most N (default 50)' },
  cursor: {
    type: 'string',
    placeholder: 'NAME',
    description: 'continue after NAME (from the previous page)',
  },
};

/** The query of a paged listing, from {@link PAGED_LIST_OPTIONS}. */
export function pagedListQuery(args: ArgReader): { prefix?: string; limit?: number; cursor?: string } {
  const path = args.str('path');
  const limit = args.positiveInt('limit');
  const cursor = args.str('cursor');
  return { ...(path ? { prefix: path } : {}), ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) };
}

/** Tells a person how to get the next page (scripts read `nextCursor` from the JSON). */
export function noteNextPage(ctx: CommandContext, command: string, nextCursor: string | null): void {
  if (nextCursor && !ctx.json) ctx.note(`More: tessera ${command} --cursor ${nextCursor}`);
}
