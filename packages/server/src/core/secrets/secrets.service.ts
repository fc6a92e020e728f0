import type { AuditEvent } from '../audit/audit.model.js';
import { type RequestContext, systemContext } from '../shared/context.js';
import { validationError } from '../shared/errors.js';
import type { Clock, CredentialFactory } from '../shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../shared/unit-of-work.js';
import { type SecretCipher, valueAad } from './secret-cipher.port.js';
import {
  checkApprovalPolicy,
  closedGate,
  type SecretReader,
  type SecretReadGate,
} from './secrets.approval.js';
import {
  secretExists,
  secretIntegrity,
  secretNotDeleted,
  secretNotFound,
  secretTooLarge,
  secretValueInvalid,
  secretVersionConflict,
  secretVersionNotFound,
} from './secrets.errors.js';
import { kekAccess } from './secrets.keys.js';
import { listAllKinds, otherKindsFolders } from './secrets.listing.js';
import {
  DEFAULT_MAX_VERSIONS,
  DEFAULT_RECOVERY_DAYS,
  MAX_MAX_VERSIONS,
  MAX_NAMES_PER_READ,
  MAX_RECOVERY_DAYS,
  MAX_SECRET_VALUE_BYTES,
  type SecretApprovalPolicy,
  type SecretDeletion,
  type SecretDescription,
  type SecretFormat,
  type SecretItem,
  type SecretListPage,
  type SecretListQuery,
  type SecretMetadata,
  type SecretValue,
  type SecretValueRecord,
} from './secrets.model.js';
import { childFolder, folderOf, folderRange, normaliseFolder, normaliseSecretName } from './secrets.names.js';

export interface CreateSecretInput {
  /** Item name; a leading `/` is added when missing. */
  name: string;
  value: string;
  /** Default `text`; `json` values must parse as JSON. */
  format?: SecretFormat;
  description?: string | null;
  tags?: readonly string[];
  /** Versions to keep (older ones are destroyed); default {@link DEFAULT_MAX_VERSIONS}. */
  maxVersions?: number;
  /** Mark the item approval-required (issue 14): every read consumes an approved grant. */
  approval?: SecretApprovalPolicy | null;
}

export interface UpdateSecretOptions {
  /** Optimistic concurrency: refuse (409) unless the latest version is still this one. */
  expectedVersion?: number;
}

export interface DeleteSecretOptions {
  /** Destroy the item and its versions now, with no recovery window. */
  immediately?: boolean;
  /** Recovery window in days (default 7, at most 90). */
  recoveryDays?: number;
}

/**
 * Which listed items and folders the caller may see (a route checks them against the caller's
 * rules); everything when absent.
 */
export type SecretVisibility = (path: string, kind: 'item' | 'folder') => Promise<boolean>;

export interface SecretsServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  cipher: SecretCipher;
  ids: Pick<CredentialFactory, 'newId'>;
  /**
   * Admits reads of approval-required items (the approvals capability). Without one, such reads are
   * refused: fail closed.
   */
  gate?: SecretReadGate;
}

const DAY_MS = 86_400_000;
const FOLDERS_LIMIT = 1000;
const PURGE_BATCH = 100;

/** UTF-8 length of a string without encoding it. */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Refuses a value too large for, or not matching, its format. Never quotes the value. */
function checkValue(value: string, format: SecretFormat): number {
  const size = utf8Length(value);
  if (size > MAX_SECRET_VALUE_BYTES) throw secretTooLarge(size, MAX_SECRET_VALUE_BYTES);
  if (format === 'json') {
    try {
      JSON.parse(value);
    } catch {
      // Not the parser's message: V8 quotes the input in it.
      throw secretValueInvalid('The value is not valid JSON (the item’s format is "json").');
    }
  }
  return size;
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw validationError(`${name} must be an integer from ${min} to ${max}.`, { field: name });
  return value;
}

const normaliseTags = (tags: readonly string[] | undefined) => [...new Set(tags ?? [])].sort();

export function toMetadata(item: SecretItem): SecretMetadata {
  return {
    id: item.id,
    name: item.name,
    format: item.format,
    description: item.description,
    tags: item.tags,
    maxVersions: item.maxVersions,
    latestVersion: item.latestVersion,
    createdAtMs: item.createdAtMs,
    updatedAtMs: item.updatedAtMs,
    deletedAtMs: item.deletedAtMs,
    purgeAfterMs: item.purgeAfterMs,
    approval: item.approval,
  };
}

const event = (type: string, item: SecretItem, data: Record<string, unknown>): AuditEvent => ({
  type,
  outcome: 'success',
  actor: {},
  resource: item.name,
  data: { secretId: item.id, ...data },
});

/**
 * Static secrets: path-named, versioned values under envelope encryption (see `SecretCipher`).
 * Every change and every read of a value appends an audit event in the same unit of work (name,
 * item id and version: never the value). Deleted items keep their name and stay restorable for a
 * recovery window; {@link purgeExpired} destroys them after it.
 *
 * The native HTTP routes and the Akeyless-compatible API both call these methods.
 */
/**
 * The writes of static secrets inside a caller's unit of work, shared by the service and the
 * identity-as-code kind (ADR 0030): checks of names and values are the caller's.
 */
export function createSecretWrites({ cipher, clock, ids }: Omit<SecretsServiceDeps, 'uow'>) {
  const keks = kekAccess(cipher, clock);
  return {
    /** Inserts a new item with its first version (the name is free: the caller checked). */
    async insert(
      r: Repos,
      meta: Pick<SecretItem, 'name' | 'format' | 'description' | 'maxVersions'> & {
        tags?: readonly string[];
        approval?: SecretItem['approval'];
      },
      value: string,
      size: number,
      ctx: RequestContext,
      now: number,
      data: Record<string, unknown> = {},
    ): Promise<SecretItem> {
      const id = ids.newId('s-');
      const kekVersion = await keks.active(r, ctx);
      const dek = cipher.newDataKey();
      try {
        const item: SecretItem = {
          id,
          name: meta.name,
          folder: folderOf(meta.name),
          format: meta.format,
          description: meta.description,
          tags: normaliseTags(meta.tags),
          maxVersions: meta.maxVersions,
          latestVersion: 1,
          createdAtMs: now,
          updatedAtMs: now,
          deletedAtMs: null,
          purgeAfterMs: null,
          wrappedKey: cipher.wrap(dek, kekVersion, id),
          kekVersion,
          approval: meta.approval ?? null,
        };
        await r.secrets.insert(item, {
          secretId: id,
          version: 1,
          ciphertext: cipher.encrypt(dek, value, valueAad(id, 1)),
          sizeBytes: size,
          createdAtMs: now,
        });
        await r.audit.append(
          event('secret.created', item, {
            version: 1,
            format: meta.format,
            ...(item.approval ? { approval: item.approval } : {}),
            ...data,
          }),
          ctx,
          now,
        );
        return item;
      } finally {
        dek.fill(0);
      }
    },

    /** Writes version `latestVersion + 1` and destroys the versions beyond `maxVersions`. */
    async addVersion(
      r: Repos,
      item: SecretItem,
      value: string,
      size: number,
      ctx: RequestContext,
      now: number,
      data: Record<string, unknown> = {},
    ): Promise<SecretItem> {
      const version = item.latestVersion + 1;
      const dek = await keks.unwrap(r, item);
      let ciphertext: string;
      try {
        ciphertext = cipher.encrypt(dek, value, valueAad(item.id, version));
      } finally {
        dek.fill(0);
      }
      await r.secrets.addVersion({
        secretId: item.id,
        version,
        ciphertext,
        sizeBytes: size,
        createdAtMs: now,
      });
      const destroyedVersions = await r.secrets.destroyVersionsUpTo(item.id, version - item.maxVersions);
      const next: SecretItem = { ...item, latestVersion: version, updatedAtMs: now };
      await r.secrets.update(next);
      await r.audit.append(event('secret.updated', next, { version, destroyedVersions, ...data }), ctx, now);
      return next;
    },

    /** Soft-deletes an item: restorable until `purgeAfterMs`, then destroyed by the purge job. */
    async softDelete(
      r: Repos,
      item: SecretItem,
      purgeAfterMs: number,
      ctx: RequestContext,
      now: number,
      data: Record<string, unknown> = {},
    ): Promise<SecretItem> {
      const next: SecretItem = { ...item, deletedAtMs: now, purgeAfterMs, updatedAtMs: now };
      await r.secrets.update(next);
      await r.audit.append(
        event('secret.deleted', next, {
          immediately: false,
          purgeAfter: new Date(purgeAfterMs).toISOString(),
          versionsDestroyed: 0,
          ...data,
        }),
        ctx,
        now,
      );
      return next;
    },

    /** The plaintext of a joined row; integrity failures are errors, never garbage. */
    async valueOf(r: ReadRepos, { item, version }: SecretValueRecord): Promise<string> {
      const dek = await keks.unwrap(r, item);
      try {
        return cipher.decrypt(dek, version.ciphertext, valueAad(item.id, version.version));
      } catch {
        throw secretIntegrity(
          `item ${item.id} version ${version.version}: the ciphertext failed to authenticate`,
        );
      } finally {
        dek.fill(0);
      }
    },
  };
}

export type SecretWrites = ReturnType<typeof createSecretWrites>;

/** Checks a value against its format and size; its UTF-8 size. Never quotes the value. */
export const checkSecretValue = (value: string, format: SecretFormat): number => checkValue(value, format);

export function createSecretsService({ uow, clock, cipher, ids, gate = closedGate }: SecretsServiceDeps) {
  const writes = createSecretWrites({ cipher, clock, ids });

  /**
   * The approval gate of one read (issue 14), inside its unit of work: nothing for an unmarked item;
   * else the grant is consumed here, or the refusal's audit is appended and the error returned, so
   * that it commits (the unit does not throw) and nothing is decrypted.
   */
  async function admit(
    r: Repos,
    record: SecretValueRecord,
    reader: SecretReader | undefined,
    ctx: RequestContext,
  ): Promise<Error | null> {
    const policy = record.item.approval;
    if (!policy) return null;
    const read = {
      secretId: record.item.id,
      name: record.item.name,
      version: record.version.version,
      policy,
    };
    const outcome = await gate.admit(r, read, reader, ctx);
    if (outcome.ok) return null;
    const now = clock.nowMs();
    for (const e of outcome.audit) await r.audit.append(e, ctx, now);
    return outcome.error;
  }

  /** Decrypts one joined row: integrity failures are errors, never garbage. */
  async function decrypt(r: Repos, { item, version }: SecretValueRecord): Promise<SecretValue> {
    const value = await writes.valueOf(r, { item, version });
    return {
      name: item.name,
      version: version.version,
      format: item.format,
      value,
      createdAtMs: version.createdAtMs,
    };
  }

  const readEvent = (record: SecretValueRecord): AuditEvent =>
    event('secret.read', record.item, { version: record.version.version });

  async function live(r: Repos, name: string): Promise<SecretItem> {
    const item = await r.secrets.get(name);
    if (!item || item.deletedAtMs !== null) throw secretNotFound();
    return item;
  }

  return {
    /**
     * Creates an item with its first version. 409 `TESSERA_CONFLICT` when the name is taken (also by
     * a deleted, still restorable item, or by a rotated secret); `TESSERA_SECRET_NAME_INVALID`,
     * `TESSERA_SECRET_TOO_LARGE`, `TESSERA_SECRET_VALUE_INVALID` for bad input.
     */
    async create(input: CreateSecretInput, ctx: RequestContext): Promise<SecretMetadata> {
      const name = normaliseSecretName(input.name);
      const format = input.format ?? 'text';
      const size = checkValue(input.value, format);
      const maxVersions = integerIn(
        'maxVersions',
        input.maxVersions ?? DEFAULT_MAX_VERSIONS,
        1,
        MAX_MAX_VERSIONS,
      );
      return uow.write(async (r) => {
        const now = clock.nowMs();
        const existing = await r.secrets.get(name);
        if (existing) throw secretExists(existing.deletedAtMs !== null);
        // Rotated secrets share the item namespace (ADR 0011); the rotation service checks the reverse.
        if (await r.rotatedSecrets.get(name)) throw secretExists(false);
        const item = await writes.insert(
          r,
          {
            name,
            format,
            description: input.description ?? null,
            tags: input.tags,
            maxVersions,
            approval: input.approval ? checkApprovalPolicy(input.approval) : null,
          },
          input.value,
          size,
          ctx,
          now,
        );
        return toMetadata(item);
      });
    },

    /**
     * The value of an item: its latest version, or `version`. Audited (`secret.read`, name and
     * version) in the same unit of work, so no value is answered without its event committed.
     * 404 `TESSERA_NOT_FOUND` for a missing or deleted item or version. An approval-required item
     * is answered only to a `reader` holding an approved grant for exactly this read, consumed in
     * the same unit of work (403 `TESSERA_APPROVAL_REQUIRED` otherwise).
     */
    async getValue(
      name: string,
      version: number | null,
      ctx: RequestContext,
      reader?: SecretReader,
    ): Promise<SecretValue> {
      const canonical = normaliseSecretName(name);
      const result = await uow.write(async (r) => {
        const record = await r.secrets.readValue(canonical, version);
        if (!record) {
          const item = await r.secrets.get(canonical);
          if (item && item.deletedAtMs === null && version !== null) throw secretVersionNotFound(version);
          throw secretNotFound();
        }
        if (record.item.deletedAtMs !== null) throw secretNotFound();
        const refused = await admit(r, record, reader, ctx);
        if (refused) return refused;
        const value = await decrypt(r, record);
        await r.audit.append(readEvent(record), ctx, clock.nowMs());
        return value;
      });
      if (result instanceof Error) throw result;
      return result;
    },

    /**
     * The latest values of several items in one read, in the order asked (duplicates once). All or
     * nothing: 404 naming the first missing item. One `secret.read` event per item.
     */
    async getValues(
      names: readonly string[],
      ctx: RequestContext,
      reader?: SecretReader,
    ): Promise<SecretValue[]> {
      const canonical = [...new Set(names.map(normaliseSecretName))];
      if (canonical.length === 0 || canonical.length > MAX_NAMES_PER_READ)
        throw validationError(`Ask for 1 to ${MAX_NAMES_PER_READ} names.`, { field: 'names' });
      const result = await uow.write(async (r) => {
        const records = await r.secrets.readLatestValues(canonical);
        const byName = new Map(
          records.filter((x) => x.item.deletedAtMs === null).map((x) => [x.item.name, x]),
        );
        const values: SecretValue[] = [];
        const now = clock.nowMs();
        for (const name of canonical) if (!byName.has(name)) throw secretNotFound(name);
        // All or nothing: every gated item admitted (grants consumed) before any value is decrypted.
        // A refusal after another item's grant was consumed throws, so the unit rolls back and that
        // grant stays usable; a first refusal returns, so its audit commits.
        let admitted = 0;
        for (const name of canonical) {
          const record = byName.get(name)!;
          const refused = await admit(r, record, reader, ctx);
          if (refused && admitted > 0) throw refused;
          if (refused) return refused;
          if (record.item.approval) admitted++;
        }
        for (const name of canonical) {
          const record = byName.get(name)!;
          values.push(await decrypt(r, record));
          await r.audit.append(readEvent(record), ctx, now);
        }
        return values;
      });
      if (result instanceof Error) throw result;
      return result;
    },

    /**
     * Marks an item approval-required (`policy`) or clears the mark (null). Audited
     * (`secret.approval_set`); the caller needs `update` on the item.
     */
    async setApproval(
      name: string,
      policy: SecretApprovalPolicy | null,
      ctx: RequestContext,
    ): Promise<SecretMetadata> {
      const canonical = normaliseSecretName(name);
      const approval = policy ? checkApprovalPolicy(policy) : null;
      return uow.write(async (r) => {
        const now = clock.nowMs();
        const item = await live(r, canonical);
        const next: SecretItem = { ...item, approval, updatedAtMs: now };
        await r.secrets.update(next);
        await r.audit.append(event('secret.approval_set', next, { approval, was: item.approval }), ctx, now);
        return toMetadata(next);
      });
    },

    /**
     * Writes a new version (`latestVersion + 1`) under the item's data key, then destroys the
     * versions beyond `maxVersions`. 404 for a missing or deleted item; 409 when `expectedVersion`
     * is given and is not the latest.
     */
    async update(
      name: string,
      value: string,
      opts: UpdateSecretOptions,
      ctx: RequestContext,
    ): Promise<SecretMetadata> {
      const canonical = normaliseSecretName(name);
      return uow.write(async (r) => {
        const now = clock.nowMs();
        const item = await live(r, canonical);
        if (opts.expectedVersion !== undefined && opts.expectedVersion !== item.latestVersion)
          throw secretVersionConflict(opts.expectedVersion, item.latestVersion);
        const size = checkValue(value, item.format);
        return toMetadata(await writes.addVersion(r, item, value, size, ctx, now));
      });
    },

    /**
     * Items in a folder (recursively by default), by name, paged. `visible` hides what the caller may
     * not see; pages are then filled from further rows (scanning at most 10 pages' worth per call,
     * so a page may be short and still have a `nextCursor`). Deleted items only with `includeDeleted`.
     */
    async list(query: SecretListQuery, visible?: SecretVisibility): Promise<SecretListPage> {
      const folder = normaliseFolder(query.prefix ?? '/');
      const limit = integerIn('limit', query.limit, 1, 500);
      const after = query.cursor ? normaliseSecretName(query.cursor) : null;
      const includeDeleted = query.includeDeleted ?? false;
      const { low, high } = folderRange(folder);
      const filter = {
        low,
        high,
        folder: query.recursive === false ? folder : null,
        includeDeleted,
      };
      const items: SecretMetadata[] = [];
      let cursor = after;
      let scanned = 0;
      let exhausted = false;
      while (items.length < limit && scanned < limit * 10) {
        // Static, dynamic and rotated items in one name order (names are unique across the three).
        const batch = await uow.read((r) => listAllKinds(r, filter, cursor, limit + 1, toMetadata));
        let consumed = 0;
        for (const item of batch) {
          if (items.length === limit) break;
          consumed++;
          cursor = item.name;
          if (filter.folder !== null && item.type !== 'static' && folderOf(item.name) !== filter.folder)
            continue;
          if (!visible || (await visible(item.name, 'item'))) items.push(item);
        }
        scanned += consumed;
        if (batch.length <= limit && consumed === batch.length) {
          exhausted = true;
          break;
        }
      }
      let folders: string[] = [];
      if (!after) {
        const below = await uow.read(async (r) => [
          ...(await r.secrets.folders(low, high, includeDeleted, FOLDERS_LIMIT)),
          ...(await otherKindsFolders(r, low, high)),
        ]);
        const children = [
          ...new Set(below.map((f) => childFolder(folder, f)).filter((f) => f !== null)),
        ].sort();
        for (const child of children) if (!visible || (await visible(child, 'folder'))) folders.push(child);
        folders = folders.slice(0, FOLDERS_LIMIT);
      }
      return {
        items,
        folders,
        nextCursor: exhausted ? null : cursor,
      };
    },

    /** Metadata and versions (numbers, sizes, times) of an item, deleted or not; never its value. */
    async describe(name: string): Promise<SecretDescription> {
      const canonical = normaliseSecretName(name);
      return uow.read(async (r) => {
        const item = await r.secrets.get(canonical);
        if (!item) throw secretNotFound();
        return { ...toMetadata(item), versions: await r.secrets.versions(item.id) };
      });
    },

    /**
     * Deletes an item: restorable for `recoveryDays` (default 7), then destroyed by the purge job; or
     * destroyed at once with `immediately` (also for an item already deleted). Deleting a deleted item
     * again without `immediately` changes nothing.
     */
    async delete(name: string, opts: DeleteSecretOptions, ctx: RequestContext): Promise<SecretDeletion> {
      const canonical = normaliseSecretName(name);
      const days = integerIn(
        'recoveryDays',
        opts.recoveryDays ?? DEFAULT_RECOVERY_DAYS,
        1,
        MAX_RECOVERY_DAYS,
      );
      return uow.write(async (r) => {
        const now = clock.nowMs();
        const item = await r.secrets.get(canonical);
        if (!item) throw secretNotFound();
        if (opts.immediately) {
          const versionsDestroyed = await r.secrets.destroy(item.id);
          await r.audit.append(
            event('secret.deleted', item, { immediately: true, purgeAfter: null, versionsDestroyed }),
            ctx,
            now,
          );
          return {
            id: item.id,
            name: item.name,
            deletedAtMs: now,
            purgeAfterMs: null,
            purged: true,
            versionsDestroyed,
          };
        }
        if (item.deletedAtMs !== null) {
          return {
            id: item.id,
            name: item.name,
            deletedAtMs: item.deletedAtMs,
            purgeAfterMs: item.purgeAfterMs,
            purged: false,
            versionsDestroyed: 0,
          };
        }
        const next = await writes.softDelete(r, item, now + days * DAY_MS, ctx, now);
        return {
          id: item.id,
          name: item.name,
          deletedAtMs: now,
          purgeAfterMs: next.purgeAfterMs,
          purged: false,
          versionsDestroyed: 0,
        };
      });
    },

    /** Restores a deleted item within its recovery window (409 when it is not deleted). */
    async restore(name: string, ctx: RequestContext): Promise<SecretMetadata> {
      const canonical = normaliseSecretName(name);
      return uow.write(async (r) => {
        const now = clock.nowMs();
        const item = await r.secrets.get(canonical);
        if (!item) throw secretNotFound();
        if (item.deletedAtMs === null) throw secretNotDeleted();
        const next: SecretItem = { ...item, deletedAtMs: null, purgeAfterMs: null, updatedAtMs: now };
        await r.secrets.update(next);
        await r.audit.append(event('secret.restored', next, {}), ctx, now);
        return toMetadata(next);
      });
    },

    /**
     * Destroys the deleted items whose recovery window has ended by `nowMs` (item, versions and
     * ciphertexts), in batches; returns how many items. Run by a background job.
     */
    async purgeExpired(nowMs: number): Promise<number> {
      let purged = 0;
      for (;;) {
        const count = await uow.write(async (r) => {
          const due = await r.secrets.dueForPurge(nowMs, PURGE_BATCH);
          for (const item of due) {
            const versionsDestroyed = await r.secrets.destroy(item.id);
            await r.audit.append(
              event('secret.purged', item, {
                versionsDestroyed,
                deletedAt: new Date(item.deletedAtMs!).toISOString(),
              }),
              systemContext('secret-purge'),
              clock.nowMs(),
            );
          }
          return due.length;
        });
        purged += count;
        if (count < PURGE_BATCH) return purged;
      }
    },
  };
}

export type SecretsService = ReturnType<typeof createSecretsService>;
