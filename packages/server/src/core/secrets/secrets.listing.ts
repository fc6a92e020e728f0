import type { DynamicSecret } from '../dynamic/dynamic.model.js';
import type { RotatedSecretRecord } from '../rotated-secrets/rotated-secrets.model.js';
import type { ReadRepos } from '../shared/unit-of-work.js';
import type { SecretItem, SecretMetadata } from './secrets.model.js';
import { folderOf } from './secrets.names.js';
import type { SecretListFilter } from './secrets.repo.js';

/**
 * One page of items of every kind, in name order (issue 10: `list-items` used to hide dynamic and
 * rotated secrets). Names are unique across the three tables, so the name is a cursor for all of
 * them. Every row comes back as metadata with its `type`. The folder
 * filter of a non-recursive listing is applied to the others by the caller.
 */
export async function listAllKinds(
  r: ReadRepos,
  filter: Omit<SecretListFilter, 'afterName'>,
  afterName: string | null,
  limit: number,
  toMetadata: (item: SecretItem) => SecretMetadata,
): Promise<SecretMetadata[]> {
  const inRange = (name: string) => name >= filter.low && name < filter.high;
  const [statics, dynamics, rotated] = await Promise.all([
    r.secrets.list({ ...filter, afterName }, limit),
    r.dynamic.listItems(filter.low, afterName, limit),
    r.rotatedSecrets.list(filter.low, afterName, limit),
  ]);
  const others: SecretMetadata[] = [
    ...dynamics.filter((d) => inRange(d.name)).map(dynamicToMetadata),
    ...rotated.filter((x) => inRange(x.name)).map(rotatedToMetadata),
  ];
  return [...statics.map((s) => ({ ...toMetadata(s), type: 'static' as const })), ...others]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, limit);
}

const base = {
  format: 'text' as const,
  tags: [],
  maxVersions: 0,
  latestVersion: 0,
  deletedAtMs: null,
  purgeAfterMs: null,
};

function dynamicToMetadata(d: DynamicSecret): SecretMetadata {
  return {
    ...base,
    id: d.id,
    name: d.name,
    description: d.description,
    createdAtMs: d.createdAtMs,
    updatedAtMs: d.updatedAtMs,
    type: 'dynamic',
  };
}

function rotatedToMetadata(x: RotatedSecretRecord): SecretMetadata {
  return {
    ...base,
    id: x.id,
    name: x.name,
    description: null,
    createdAtMs: x.createdAtMs,
    updatedAtMs: x.updatedAtMs,
    type: 'rotated',
  };
}

/**
 * The folders dynamic and rotated items sit in under `[low, high)` (their tables have no folder
 * column; they are few, so a bounded scan of names is enough).
 */
export async function otherKindsFolders(
  r: ReadRepos,
  low: string,
  high: string,
  limit = 1000,
): Promise<string[]> {
  const [dynamics, rotated] = await Promise.all([
    r.dynamic.listItems(low, null, limit),
    r.rotatedSecrets.list(low, null, limit),
  ]);
  return [...dynamics, ...rotated].filter((i) => i.name >= low && i.name < high).map((i) => folderOf(i.name));
}
