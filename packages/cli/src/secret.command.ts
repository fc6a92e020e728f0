/**
 * Static secrets, with the Akeyless CLI's command names: `create-secret`, `get-secret-value`,
 * `update-secret-val`, `list-items`, `describe-item`, `delete-item`, `restore-item`; and the
 * rotation of their key-encryption key (`secret-kek rotate|status`).
 */

import { readFile } from 'node:fs/promises';
import type { SecretDescription, SecretItem, SecretValue } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { formatTime, listText, renderKeyValues, renderTable } from './output.format.js';

const NAME: OptionSpecs = {
  name: {
    type: 'string',
    placeholder: 'NAME',
    required: true,
    description: 'item name, e.g. /demo/database-config',
  },
};

const VALUE: OptionSpecs = {
  value: {
    type: 'string',
    placeholder: 'VALUE',
    description: 'the value; - reads it from standard input (one trailing newline dropped)',
  },
  'value-file': {
    type: 'string',
    placeholder: 'FILE',
    description: 'read the value from FILE, exactly as it is (keeps it out of `ps` and the shell history)',
  },
};

/** The value from `--value`, `--value -` (stdin) or `--value-file`: exactly one of them. */
async function readValue(ctx: CommandContext, args: ArgReader): Promise<string> {
  const given = args.str('value');
  const file = args.str('value-file');
  if (given !== undefined && file !== undefined)
    throw new UsageError('give --value or --value-file, not both');
  if (file !== undefined) return readFile(file, 'utf8');
  if (given === undefined)
    throw new UsageError('the value is required: --value VALUE, --value - or --value-file FILE');
  return given === '-' ? (await ctx.io.readStdin()).replace(/\r?\n$/, '') : given;
}

/** Key/value description of an item's metadata. */
export function renderSecret(item: SecretItem, nowMs: number): string {
  return renderKeyValues([
    ['Name', item.name],
    ['ID', item.id],
    ['Format', item.format],
    ['Latest version', String(item.latestVersion)],
    ['Keeps versions', String(item.maxVersions)],
    ['Tags', listText(item.tags)],
    ['Description', item.description ?? '-'],
    ['Created', formatTime(item.createdAt, nowMs)],
    ['Updated', formatTime(item.updatedAt, nowMs)],
    ['Deleted', item.deletedAt ? formatTime(item.deletedAt, nowMs) : undefined],
    ['Purged after', item.purgeAfter ? formatTime(item.purgeAfter, nowMs) : undefined],
  ]);
}

/** Several values for people: `name: value`, continuation lines of a multi-line value indented. */
export function renderValues(values: readonly SecretValue[]): string {
  return values.map((v) => `${v.name}: ${v.value.replace(/\r?\n$/, '').replace(/\n/g, '\n  ')}\n`).join('');
}

/** Marking an item approval-required (issue 14): reads then need an approved, single-use grant. */
const APPROVAL: CommandSpec['options'] = {
  'approval-required': {
    type: 'boolean',
    description: 'every read needs an approved grant (the reader’s owner decides, or --approval-group)',
  },
  'approval-group': {
    type: 'string',
    placeholder: 'GROUP',
    description: 'with --approval-required: an IdP group whose members decide',
  },
  'approval-count': {
    type: 'number',
    placeholder: 'N',
    description: 'with --approval-required: distinct approvals needed (N of M, default 1)',
  },
};

/** The `approval` policy the options ask for; undefined without --approval-required. */
function approvalOf(args: Parameters<CommandSpec['run']>[1]) {
  const group = args.str('approval-group');
  const required = args.positiveInt('approval-count');
  if (!args.bool('approval-required')) {
    if (group !== undefined || required !== undefined)
      throw new UsageError('--approval-group and --approval-count need --approval-required');
    return undefined;
  }
  return { ...(group !== undefined ? { group } : {}), ...(required ? { required } : {}) };
}

const create: CommandSpec = {
  path: ['create-secret'],
  summary: 'Create a static secret (its first version)',
  details:
    'Names are paths (a leading / is added when missing). The value is encrypted before it is stored; ' +
    'pass it with --value - or --value-file to keep it out of the process list and the shell history.',
  options: {
    ...NAME,
    ...VALUE,
    format: {
      type: 'string',
      placeholder: 'FORMAT',
      description: 'text (default) or json (the value must parse)',
    },
    description: { type: 'string', placeholder: 'TEXT', description: 'free text' },
    tags: {
      type: 'list',
      placeholder: 'TAGS',
      description: 'comma-separated or repeated (--tag a --tag b)',
      aliases: ['tag'],
    },
    'max-versions': { type: 'number', placeholder: 'N', description: 'versions kept (default 100)' },
    ...APPROVAL,
  },
  examples: [
    'tessera create-secret --name /demo/database-config --value-file db.json --format json',
    'printf %s "$PASSWORD" | tessera create-secret --name /demo/db-password --value - --tag prod',
    'tessera create-secret --name /prod/root-key --value - --approval-required --approval-group dba --approval-count 2',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const format = args.choice('format', ['text', 'json'] as const);
    const description = args.str('description');
    const tags = args.list('tags');
    const maxVersions = args.positiveInt('max-versions');
    const approval = approvalOf(args);
    const value = await readValue(ctx, args);
    const body = {
      name,
      value,
      ...(format ? { format } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(tags ? { tags } : {}),
      ...(maxVersions ? { maxVersions } : {}),
      ...(approval ? { approval } : {}),
    };
    const item = await ctx.withAdmin((t) => ctx.client.createSecret(t, body));
    ctx.emit(item, () => `Created ${item.name} (version ${item.latestVersion}, id ${item.id}).\n`);
  },
};

const get: CommandSpec = {
  path: ['get-secret-value'],
  summary: 'Print the value of one or more secrets',
  details:
    'With one --name the value alone is printed (for scripts); with several, one `name: value` per item ' +
    '(all or nothing: the read fails if any is missing or not allowed). Every read is audited.',
  options: {
    name: {
      type: 'list',
      placeholder: 'NAME',
      required: true,
      description: 'item name; repeat (or separate with commas) for several',
      aliases: ['names'],
    },
    version: {
      type: 'number',
      placeholder: 'N',
      description: 'a given version (one name only); default the latest',
    },
  },
  examples: [
    'tessera get-secret-value --name /demo/database-config',
    'tessera get-secret-value --name /demo/db-user --name /demo/db-password --json',
    'tessera get-secret-value --name /demo/api-key --version 2',
  ],
  async run(ctx, args) {
    const names = args.list('name') ?? [];
    if (names.length === 0) throw new UsageError('--name is required');
    const version = args.positiveInt('version');
    if (version !== undefined && names.length > 1) throw new UsageError('--version reads one name only');
    if (names.length === 1) {
      const value = await ctx.withAdmin((t) => ctx.client.getSecretValue(t, names[0]!, version));
      ctx.emit(value, () => `${value.value}\n`);
      return;
    }
    const items = await ctx.withAdmin((t) => ctx.client.getSecretValues(t, names));
    ctx.emit({ items }, () => renderValues(items));
  },
};

const update: CommandSpec = {
  path: ['update-secret-val'],
  summary: 'Write a new version of a secret',
  details: 'The new version becomes the latest; versions beyond the item’s maximum are destroyed.',
  options: {
    ...NAME,
    ...VALUE,
    'expected-version': {
      type: 'number',
      placeholder: 'N',
      description: 'refuse unless N is still the latest version (no lost update)',
    },
    ...APPROVAL,
    'clear-approval': { type: 'boolean', description: 'reads no longer need an approval' },
  },
  examples: [
    'tessera update-secret-val --name /demo/api-key --value-file new-key.txt',
    'printf %s "$NEW" | tessera update-secret-val --name /demo/api-key --value - --expected-version 3',
    'printf %s "$NEW" | tessera update-secret-val --name /prod/root-key --value - --approval-required',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const expectedVersion = args.positiveInt('expected-version');
    const approval = approvalOf(args);
    const clear = args.bool('clear-approval');
    if (approval && clear)
      throw new UsageError('--approval-required and --clear-approval exclude each other');
    const value = await readValue(ctx, args);
    // Marked before the new value is written, cleared after: no moment where it is readable unmarked.
    if (approval) await ctx.withAdmin((t) => ctx.client.setSecretApproval(t, { name, approval }));
    let item = await ctx.withAdmin((t) =>
      ctx.client.updateSecretValue(t, { name, value, ...(expectedVersion ? { expectedVersion } : {}) }),
    );
    if (clear) item = await ctx.withAdmin((t) => ctx.client.setSecretApproval(t, { name, approval: null }));
    ctx.emit(item, () => `Updated ${item.name}: version ${item.latestVersion}.\n`);
  },
};

const list: CommandSpec = {
  path: ['list-items'],
  summary: 'List the items in a folder',
  options: {
    path: {
      type: 'string',
      placeholder: 'PATH',
      description: 'the folder, e.g. /demo (default /: everything)',
    },
    'current-folder': { type: 'boolean', description: 'only the folder’s own items, not its sub-folders’' },
    'include-deleted': { type: 'boolean', description: 'also deleted items that can still be restored' },
    limit: { type: 'number', placeholder: 'N', description: 'page size (default 50)' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: ['tessera list-items --path /demo', 'tessera list-items --path /demo --current-folder --json'],
  async run(ctx, args) {
    const path = args.str('path');
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const query = {
      ...(path !== undefined ? { prefix: path } : {}),
      ...(args.bool('current-folder') ? { recursive: false } : {}),
      ...(args.bool('include-deleted') ? { includeDeleted: true } : {}),
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    };
    const page = await ctx.withAdmin((t) => ctx.client.listSecrets(t, query));
    ctx.emit(page, () => {
      if (page.items.length === 0 && page.folders.length === 0) return 'No items.\n';
      const rows = [
        ...page.folders.map((f) => [`${f}/`, 'folder', '', '', '']),
        // Dynamic and rotated items have no format or versions of their own.
        ...page.items.map((i) => [
          i.name,
          i.type,
          i.type !== 'static' ? '-' : i.deletedAt ? `${i.format} (deleted)` : i.format,
          i.type !== 'static' ? '-' : String(i.latestVersion),
          formatTime(i.updatedAt, ctx.now()),
        ]),
      ];
      return renderTable(['NAME', 'TYPE', 'FORMAT', 'VERSION', 'UPDATED'], rows);
    });
    if (page.nextCursor && !ctx.json)
      ctx.note(`More: tessera list-items${path ? ` --path ${path}` : ''} --cursor ${page.nextCursor}`);
  },
};

function renderDescription(d: SecretDescription, nowMs: number): string {
  const versions = renderTable(
    ['VERSION', 'BYTES', 'CREATED'],
    d.versions.map((v) => [String(v.version), String(v.sizeBytes), formatTime(v.createdAt, nowMs)]),
  );
  return `${renderSecret(d, nowMs)}\n${versions}`;
}

const describe: CommandSpec = {
  path: ['describe-item'],
  summary: 'Show a secret’s metadata and versions (never its value)',
  options: NAME,
  examples: [
    'tessera describe-item --name /demo/database-config',
    'tessera describe-item --name /demo/x --json',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const d = await ctx.withAdmin((t) => ctx.client.describeSecret(t, name));
    ctx.emit(d, () => renderDescription(d, ctx.now()));
  },
};

const remove: CommandSpec = {
  path: ['delete-item'],
  summary: 'Delete a secret (restorable for a recovery window, or at once)',
  options: {
    ...NAME,
    immediately: { type: 'boolean', description: 'destroy it and every version now (no recovery)' },
    'recovery-days': { type: 'number', placeholder: 'N', description: 'days it can be restored (default 7)' },
  },
  examples: [
    'tessera delete-item --name /demo/old-key',
    'tessera delete-item --name /demo/old-key --recovery-days 30',
    'tessera delete-item --name /demo/leaked --immediately',
  ],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const immediately = args.bool('immediately');
    const recoveryDays = args.positiveInt('recovery-days');
    if (immediately && recoveryDays !== undefined)
      throw new UsageError('--immediately has no recovery window');
    const d = await ctx.withAdmin((t) =>
      ctx.client.deleteSecret(t, name, {
        ...(immediately ? { immediately } : {}),
        ...(recoveryDays ? { recoveryDays } : {}),
      }),
    );
    ctx.emit(d, () =>
      d.purged
        ? `Destroyed ${d.name} and ${d.versionsDestroyed} version(s).\n`
        : `Deleted ${d.name}; restorable until ${formatTime(d.purgeAfter, ctx.now())} with \`tessera restore-item --name ${d.name}\`.\n`,
    );
  },
};

const restore: CommandSpec = {
  path: ['restore-item'],
  summary: 'Restore a deleted secret within its recovery window',
  options: NAME,
  examples: ['tessera restore-item --name /demo/old-key'],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const item = await ctx.withAdmin((t) => ctx.client.restoreSecret(t, name));
    ctx.emit(item, () => `Restored ${item.name} (version ${item.latestVersion}).\n`);
  },
};

const kekRotate: CommandSpec = {
  path: ['secret-kek', 'rotate'],
  summary: 'Rotate the key-encryption key of secrets (no downtime)',
  details:
    'New data keys are wrapped by the new key at once; the server re-wraps the existing ones in the ' +
    'background while reads go on, then destroys the old key. `secret-kek status` shows the progress.',
  options: {},
  examples: ['tessera secret-kek rotate', 'tessera secret-kek rotate --json'],
  async run(ctx) {
    const r = await ctx.withAdmin((t) => ctx.client.rotateSecretKek(t));
    ctx.emit(
      r,
      () =>
        `Key-encryption key ${r.kekVersion} is active (was ${r.previousKekVersion ?? 'none'}); ` +
        `${r.pendingItems} item(s) are being re-wrapped in the background.\n`,
    );
  },
};

const kekStatus: CommandSpec = {
  path: ['secret-kek', 'status'],
  summary: 'Show the key-encryption keys and how many items each wraps',
  options: {},
  examples: ['tessera secret-kek status'],
  async run(ctx) {
    const s = await ctx.withAdmin((t) => ctx.client.secretKekStatus(t));
    ctx.emit(s, () =>
      renderTable(
        ['VERSION', 'ITEMS', 'CREATED', ''],
        s.versions.map((v) => [
          String(v.version),
          String(v.items),
          formatTime(v.createdAt, ctx.now()),
          v.version === s.activeVersion ? 'active' : 're-wrapping',
        ]),
      ),
    );
  },
};

/** The secret commands. */
export const secretCommands: readonly CommandSpec[] = [
  create,
  get,
  update,
  list,
  describe,
  remove,
  restore,
  kekRotate,
  kekStatus,
];
