import { Type } from '@sinclair/typebox';
import type { Action, Resource } from '../../../core/access/access.policy.js';
import type {
  SecretApprovalPolicy,
  SecretDescription,
  SecretFormat,
  SecretMetadata,
} from '../../../core/secrets/secrets.model.js';
import { SECRET_BODY_LIMIT } from '../../../core/secrets/secrets.schemas.js';
import type { SecretsService } from '../../../core/secrets/secrets.service.js';
import { validationError } from '../../../core/shared/errors.js';
import { type CommandRegistrar, commandBody, Int, NonEmpty, Str, Strings } from './akeyless.api.js';
import { bodyKey, folder, item, itemNamed } from './akeyless.resources.js';

/** The service bounds the value (64 KiB of UTF-8); the schema only bounds the string read. */
const MAX_VALUE = SECRET_BODY_LIMIT;
/**
 * Tessera extension (ADR 0041): Akeyless has no per-item approval, so these are new fields spelt as
 * its own (kebab-case; a boolean or `"true"`/`"false"` like its `delete-protection`).
 */
const ApprovalFields = {
  'approval-required': Type.Optional(Type.Union([Type.Boolean(), Str(5)])),
  'approval-group': Type.Optional(NonEmpty(200)),
  'approval-count': Type.Optional(Int(1, 10)),
};
const CreateSecret = commandBody({
  name: NonEmpty(512),
  value: Type.String({ maxLength: MAX_VALUE }),
  format: Type.Optional(Str(20)),
  description: Type.Optional(Str(1000)),
  metadata: Type.Optional(Str(1000)),
  tags: Type.Optional(Strings(50, 100)),
  'max-versions': Type.Optional(Str(10)),
  ...ApprovalFields,
});
const GetValues = commandBody({
  names: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 100 }),
  version: Type.Optional(Int(-1000, 1e9)),
});
const UpdateValue = commandBody({
  name: NonEmpty(512),
  value: Type.String({ maxLength: MAX_VALUE }),
  format: Type.Optional(Str(20)),
  'last-version': Type.Optional(Int(0, 1e9)),
  ...ApprovalFields,
});
const Describe = commandBody({ name: NonEmpty(512), 'show-versions': Type.Optional(Type.Boolean()) });
const ListItems = commandBody({
  path: Type.Optional(Str(512)),
  'pagination-token': Type.Optional(Str(200)),
  'current-folder': Type.Optional(Type.Boolean()),
  filter: Type.Optional(Str(200)),
  type: Type.Optional(Strings(20, 40)),
});
const DeleteItem = commandBody({
  name: NonEmpty(512),
  'delete-immediately': Type.Optional(Type.Boolean()),
  'delete-in-days': Type.Optional(Int(0, 10_000)),
  version: Type.Optional(Int(-1, 1e9)),
});

/** Akeyless formats: `text`, `json`, and `key-value` (a JSON object). */
function format(value: string | undefined): SecretFormat | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'text') return 'text';
  if (value === 'json' || value === 'key-value') return 'json';
  throw validationError('format must be text, json or key-value.', { field: 'format' });
}

/**
 * The approval mark the extension fields ask for: a policy, null (`approval-required: false`, clear
 * it) or undefined (absent: unchanged). Group or count without `approval-required: true` is a 400.
 */
function approvalOf(body: {
  'approval-required'?: boolean | string;
  'approval-group'?: string;
  'approval-count'?: number;
}): SecretApprovalPolicy | null | undefined {
  const raw = body['approval-required'];
  const on = raw === true || raw === 'true' ? true : raw === false || raw === 'false' ? false : raw;
  if (on !== undefined && typeof on !== 'boolean')
    throw validationError('approval-required must be true or false.', { field: 'approval-required' });
  const group = body['approval-group'];
  const required = body['approval-count'];
  if (on !== true && (group !== undefined || required !== undefined))
    throw validationError('approval-group and approval-count need approval-required: true.', {
      field: group !== undefined ? 'approval-group' : 'approval-count',
    });
  if (on === undefined) return undefined;
  if (!on) return null;
  return { ...(group !== undefined ? { group } : {}), ...(required !== undefined ? { required } : {}) };
}

const ACTIONS: Action[] = ['read', 'list', 'create', 'update', 'delete'];
const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());

/** Akeyless's `item_type` of each kind of item (list-items shows them all). */
const AKEYLESS_ITEM_TYPES = {
  static: 'STATIC_SECRET',
  dynamic: 'DYNAMIC_SECRET',
  rotated: 'ROTATED_SECRET',
} as const;

/** The SDK's `Item` for an item; never the value. */
function itemToAkeyless(m: SecretMetadata | SecretDescription, clientPermissions?: string[]) {
  const versions = 'versions' in m ? m.versions : null;
  return {
    item_name: m.name,
    display_id: m.id,
    item_type: AKEYLESS_ITEM_TYPES[m.type ?? 'static'],
    item_sub_type: m.type === 'dynamic' || m.type === 'rotated' ? '' : 'generic',
    item_state: m.deletedAtMs === null ? 'Enabled' : 'Deleted',
    is_enabled: m.deletedAtMs === null,
    item_metadata: m.description ?? '',
    item_tags: m.tags,
    last_version: m.latestVersion,
    creation_date: iso(m.createdAtMs),
    modification_date: iso(m.updatedAtMs),
    ...(m.purgeAfterMs !== null ? { deletion_date: iso(m.purgeAfterMs) } : {}),
    ...(versions
      ? {
          item_versions: versions.map((v) => ({
            version: v.version,
            creation_date: iso(v.createdAtMs),
            item_version_state: 'Enabled',
          })),
        }
      : {}),
    ...(clientPermissions ? { client_permissions: clientPermissions } : {}),
  };
}

/** Static secrets, over the same secrets service as `/v1/secrets`. */
export function registerAkeylessSecretCommands(c: CommandRegistrar, deps: { secrets: SecretsService }) {
  const { secrets } = deps;
  const named = itemNamed('name');

  c.command(
    'create-secret',
    {
      summary: 'Create a static secret',
      bodyLimit: SECRET_BODY_LIMIT,
      access: { permission: { action: 'create', resource: named } },
      body: CreateSecret,
    },
    async (request) => {
      const body = request.body;
      const fmt = format(body.format);
      const description = body.description ?? body.metadata;
      const maxVersions = body['max-versions'] ? Number(body['max-versions']) : undefined;
      if (maxVersions !== undefined && !Number.isInteger(maxVersions)) {
        throw validationError('max-versions must be a whole number.', { field: 'max-versions' });
      }
      const approval = approvalOf(body);
      const created = await secrets.create(
        {
          name: body.name,
          value: body.value,
          ...(fmt ? { format: fmt } : {}),
          ...(description ? { description } : {}),
          ...(body.tags ? { tags: body.tags } : {}),
          ...(maxVersions !== undefined ? { maxVersions } : {}),
          ...(approval ? { approval } : {}),
        },
        request.ctx,
      );
      return { name: created.name };
    },
  );

  c.command(
    'get-secret-value',
    {
      summary: 'Read the values of secrets, by name',
      access: {
        permission: {
          action: 'read',
          resource: (request) => item(((request.body as { names?: string[] }).names ?? [])[0] ?? ''),
          resources: (request) => ((request.body as { names?: unknown }).names as string[]).map(item),
        },
      },
      body: GetValues,
    },
    async (request) => {
      const { names, version } = request.body;
      if (version !== undefined && version < 0) {
        throw validationError('version must be 0 (latest) or a version number.', { field: 'version' });
      }
      // Approval-required items (issue 14) consume the caller's grant here as on the native API.
      const reader = request.principal ? { principal: request.principal } : undefined;
      const values = version
        ? await Promise.all(names.map((n) => secrets.getValue(n, version, request.ctx, reader)))
        : await secrets.getValues(names, request.ctx, reader);
      // Keyed exactly as requested (`app/db` and `/app/db` name the same item).
      return Object.fromEntries(names.map((n, i) => [n, values[i]!.value]));
    },
  );

  c.command(
    'update-secret-val',
    {
      summary: 'Write a new version of a secret',
      bodyLimit: SECRET_BODY_LIMIT,
      access: { permission: { action: 'update', resource: named } },
      body: UpdateValue,
    },
    async (request) => {
      const body = request.body;
      const fmt = format(body.format);
      if (fmt) {
        const current = await secrets.describe(body.name);
        if (current.format !== fmt)
          throw validationError(`${body.name} holds ${current.format}, not ${fmt}.`, { field: 'format' });
      }
      const expected = body['last-version'];
      const approval = approvalOf(body);
      // Marked before the new value is written, cleared after: never readable unmarked meanwhile.
      if (approval) await secrets.setApproval(body.name, approval, request.ctx);
      const updated = await secrets.update(
        body.name,
        body.value,
        expected ? { expectedVersion: expected } : {},
        request.ctx,
      );
      if (approval === null) await secrets.setApproval(body.name, null, request.ctx);
      return { name: updated.name };
    },
  );

  c.command(
    'describe-item',
    {
      summary: 'Describe an item (never its value)',
      access: { permission: { action: 'list', resource: named } },
      body: Describe,
    },
    async (request) => {
      const description = await secrets.describe(request.body.name);
      const resource: Resource = item(description.name);
      const allowed: string[] = [];
      for (const action of ACTIONS) if (await request.permits(action, resource)) allowed.push(action);
      const wire = itemToAkeyless(description, allowed);
      if (!request.body['show-versions']) delete (wire as { item_versions?: unknown }).item_versions;
      return wire;
    },
  );

  c.command(
    'list-items',
    {
      summary: 'List the items under a path the caller may list',
      access: {
        filter: { action: 'list', type: 'item', scope: (r) => folder(bodyKey(r, 'path')).path },
      },
      body: ListItems,
    },
    async (request) => {
      const body = request.body;
      // Akeyless's `type` filter: `static-secret`, `dynamic-secret`, `rotated-secret` (absent: all).
      const kinds = body.type && body.type.length > 0 ? new Set(body.type) : null;
      const wanted = (t: string | undefined) => !kinds || kinds.has(`${t ?? 'static'}-secret`);
      if (kinds && !['static', 'dynamic', 'rotated'].some((t) => wanted(t))) {
        return { items: [], folders: [], next_page: '' };
      }
      const page = await secrets.list(
        {
          prefix: body.path || '/',
          recursive: !body['current-folder'],
          limit: 100,
          cursor: body['pagination-token'] || null,
        },
        (path) => request.permits('list', item(path)),
      );
      const items = page.items.filter(
        (i) => wanted(i.type) && (!body.filter || i.name.includes(body.filter)),
      );
      return {
        items: items.map((i) => itemToAkeyless(i)),
        folders: page.folders,
        next_page: page.nextCursor ?? '',
      };
    },
  );

  c.command(
    'delete-item',
    {
      summary: 'Delete an item (with a recovery window)',
      access: { permission: { action: 'delete', resource: named } },
      body: DeleteItem,
    },
    async (request) => {
      const body = request.body;
      if (body.version !== undefined && body.version !== -1 && body.version !== 0) {
        throw validationError('Deleting one version is not supported; delete the item (version -1).', {
          field: 'version',
        });
      }
      const days = body['delete-in-days'];
      const deleted = await secrets.delete(
        body.name,
        {
          immediately: body['delete-immediately'] === true || days === 0,
          ...(days !== undefined && days > 0 ? { recoveryDays: days } : {}),
        },
        request.ctx,
      );
      return {
        item_name: deleted.name,
        version_deleted: -1,
        ...(deleted.purgeAfterMs !== null ? { deletion_date: iso(deleted.purgeAfterMs) } : {}),
      };
    },
  );
}
