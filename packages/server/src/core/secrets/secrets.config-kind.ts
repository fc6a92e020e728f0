import { Type } from '@sinclair/typebox';
import { type ConfigKind, type ConfigSpec, secretReferenceSchema } from '../shared/config-kinds.js';
import type { ReadRepos } from '../shared/unit-of-work.js';
import { secretExists } from './secrets.errors.js';
import {
  DEFAULT_MAX_VERSIONS,
  DEFAULT_RECOVERY_DAYS,
  MAX_MAX_VERSIONS,
  type SecretFormat,
  type SecretItem,
} from './secrets.model.js';
import { MAX_SECRET_NAME_LENGTH, normaliseSecretName } from './secrets.names.js';
import { checkSecretValue, type SecretWrites } from './secrets.service.js';

/**
 * A static secret as a configuration file declares it (ADR 0030): its metadata, and its value as a
 * reference (`{env: NAME}` or `{file: PATH}`) that the CLI resolves; in a plan, `value` is the
 * value's keyed fingerprint (the audit hash), never the value.
 */
export interface SecretSpec extends ConfigSpec {
  name: string;
  format: SecretFormat;
  description: string | null;
  tags: string[];
  maxVersions: number;
  value?: string;
}

export const SecretSpecSchema = Type.Object(
  {
    name: Type.String({
      minLength: 2,
      maxLength: MAX_SECRET_NAME_LENGTH,
      pattern: '^/[A-Za-z0-9._\\-/@+=:]+$',
      description: 'The item path (`/prod/billing/db-password`)',
    }),
    format: Type.Optional(
      Type.Union([Type.Literal('text'), Type.Literal('json')], {
        description: 'How the value is read (cannot change once created)',
      }),
    ),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    maxVersions: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_MAX_VERSIONS })),
    value: Type.Optional(
      secretReferenceSchema(
        'The value; left out, it is managed out of band (set with `tessera secret update`) and kept',
      ),
    ),
  },
  { additionalProperties: false },
);

const PAGE = 1000;
/** Names are read back in batches of at most this many (the repository's `in` list). */
const VALUE_BATCH = 100;

/**
 * Static secrets as a config kind (ADR 0030). `live` decrypts each item's latest value to compare
 * fingerprints, so drift in a value shows as a changed `value` without the value ever being shown.
 * Deleting one deletes it with the API's default recovery window (restorable meanwhile); a deleted,
 * still restorable item keeps its name and cannot be declared until it is purged or restored.
 */
export function secretConfigKind(deps: {
  writes: SecretWrites;
  fingerprint: (value: string) => string;
}): ConfigKind<SecretSpec> {
  const { writes, fingerprint } = deps;
  const event = (type: string, item: SecretItem, data: Record<string, unknown> = {}) => ({
    type,
    outcome: 'success' as const,
    actor: {},
    resource: item.name,
    data: { secretId: item.id, via: 'config', ...data },
  });

  async function allItems(r: ReadRepos): Promise<SecretItem[]> {
    const out: SecretItem[] = [];
    let afterName: string | null = null;
    for (;;) {
      // Every name starts with `/` (0x2f); `0` (0x30) bounds them all.
      const page = await r.secrets.list(
        { low: '/', high: '0', folder: null, afterName, includeDeleted: true },
        PAGE,
      );
      out.push(...page);
      if (page.length < PAGE) return out;
      afterName = page[page.length - 1]!.name;
    }
  }

  return {
    key: 'secrets',
    label: 'secret',
    description: 'Static secrets: their metadata, and their values by reference only ({env} or {file})',
    resourceType: 'item',
    schema: SecretSpecSchema,
    immutable: ['format'],
    secretFields: ['value'],
    normalise(spec) {
      let name: string;
      try {
        name = normaliseSecretName(spec.name);
      } catch (error) {
        return { problems: [{ path: ['name'], message: (error as Error).message }] };
      }
      if (name !== spec.name) return { problems: [{ path: ['name'], message: `write it as "${name}"` }] };
      const out: SecretSpec = {
        name,
        format: spec.format ?? 'text',
        description: spec.description ?? null,
        tags: [...new Set(spec.tags ?? [])].sort(),
        maxVersions: spec.maxVersions ?? DEFAULT_MAX_VERSIONS,
      };
      if (spec.value !== undefined) out.value = spec.value;
      return { spec: out };
    },
    async live(r) {
      const items = await allItems(r);
      const current = items.filter((i) => i.deletedAtMs === null);
      const fingerprints = new Map<string, string>();
      for (let i = 0; i < current.length; i += VALUE_BATCH) {
        const records = await r.secrets.readLatestValues(
          current.slice(i, i + VALUE_BATCH).map((x) => x.name),
        );
        for (const record of records)
          fingerprints.set(record.item.name, fingerprint(await writes.valueOf(r, record)));
      }
      return items.map((item) => {
        const spec: SecretSpec = {
          name: item.name,
          format: item.format,
          description: item.description,
          tags: [...item.tags].sort(),
          maxVersions: item.maxVersions,
        };
        const value = fingerprints.get(item.name);
        if (value !== undefined) spec.value = value;
        return item.deletedAtMs === null
          ? { spec, system: false }
          : {
              spec,
              system: true,
              note: 'is deleted and still restorable (restore it, or wait for its purge)',
            };
      });
    },
    async apply(r, change, ctx, now) {
      const d = change.desired;
      if (change.op === 'create') {
        const value = change.values?.value;
        if (d === null || value === undefined)
          throw new Error(`secret ${change.name}: created without a value`);
        if ((await r.secrets.get(change.name)) || (await r.rotatedSecrets.get(change.name)))
          throw secretExists(false);
        const size = checkSecretValue(value, d.format);
        await writes.insert(r, d, value, size, ctx, now, { via: 'config' });
        return undefined;
      }
      const item = await r.secrets.get(change.name);
      if (!item || item.deletedAtMs !== null) return undefined;
      if (change.op === 'delete') {
        await writes.softDelete(r, item, now + DEFAULT_RECOVERY_MS, ctx, now, { via: 'config' });
        return undefined;
      }
      let next: SecretItem = item;
      const meta = change.fields.filter((f) => f !== 'value');
      if (meta.length > 0) {
        next = {
          ...item,
          description: d!.description,
          tags: d!.tags,
          maxVersions: d!.maxVersions,
          updatedAtMs: now,
        };
        await r.secrets.update(next);
        if (next.maxVersions < item.maxVersions)
          await r.secrets.destroyVersionsUpTo(item.id, item.latestVersion - next.maxVersions);
        await r.audit.append(event('secret.metadata_updated', next, { changed: meta }), ctx, now);
      }
      const value = change.values?.value;
      if (change.fields.includes('value') && value !== undefined)
        await writes.addVersion(r, next, value, checkSecretValue(value, next.format), ctx, now, {
          via: 'config',
        });
      return undefined;
    },
  };
}

const DEFAULT_RECOVERY_MS = DEFAULT_RECOVERY_DAYS * 86_400_000;
