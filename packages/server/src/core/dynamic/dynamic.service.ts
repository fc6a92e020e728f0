import type { AuditEvent } from '../audit/audit.model.js';
import type { SecretCipher } from '../secrets/secret-cipher.port.js';
import { kekAccess } from '../secrets/secrets.keys.js';
import { normaliseSecretName } from '../secrets/secrets.names.js';
import type { RequestContext } from '../shared/context.js';
import { conflict, validationError } from '../shared/errors.js';
import type { Clock } from '../shared/platform.port.js';
import type { ReadRepos, UnitOfWork } from '../shared/unit-of-work.js';
import {
  dynamicSecretHasLeases,
  dynamicSecretNotFound,
  targetFailed,
  targetRejected,
} from './dynamic.errors.js';
import type { DynamicSecret } from './dynamic.model.js';
import type { Producer, ProducerSettings } from './producer.port.js';

/** Producers by type (implemented by producers/registry.ts). */
export interface Producers {
  get(type: string): Producer;
}

export interface CreateDynamicSecretInput {
  name: string;
  type: string;
  description?: string;
  settings: Record<string, unknown>;
  defaultTtlSeconds?: number;
  maxTtlSeconds?: number;
  leaseQuota?: number;
  sweepDrop?: boolean;
  /** Connect to the target before saving (default true). */
  check?: boolean;
}

export const DEFAULTS = { ttlSeconds: 3600, maxTtlSeconds: 86_400, leaseQuota: 50, passwordLength: 32 };
const settingsAad = (id: string) => `tessera-dynamic-settings:v1:${id}`;

/** The settings that may be shown: everything but the administrator's password. */
export function publicSettings(settings: ProducerSettings): Record<string, unknown> {
  const { adminPassword: _hidden, ...shown } = settings;
  return shown;
}

export interface DynamicSecretsDeps {
  uow: UnitOfWork;
  clock: Clock;
  cipher: SecretCipher;
  producers: Producers;
  ids: { newId(prefix: string, length?: number): string };
}

/** Dynamic secret items: their sealed producer settings, creation, description, listing, deletion. */
export function createDynamicSecretsService({ uow, clock, cipher, producers, ids }: DynamicSecretsDeps) {
  const keks = kekAccess(cipher, clock);

  async function get(name: string): Promise<DynamicSecret> {
    const item = await uow.read((r) => r.dynamic.getItem(normaliseSecretName(name)));
    if (!item) throw dynamicSecretNotFound();
    return item;
  }

  /** The full settings of an item (decrypted in memory only, for the producer). */
  async function unseal(r: ReadRepos, item: DynamicSecret): Promise<ProducerSettings> {
    const dek = await keks.unwrap(r, item);
    return JSON.parse(cipher.decrypt(dek, item.sealedSettings, settingsAad(item.id))) as ProducerSettings;
  }

  const event = (type: string, item: DynamicSecret, data: Record<string, unknown> = {}): AuditEvent => ({
    type,
    outcome: 'success',
    actor: {},
    resource: item.name,
    data: { itemId: item.id, itemType: item.type, ...data },
  });

  return {
    get,
    unseal: (item: DynamicSecret) => uow.read((r) => unseal(r, item)),

    async create(input: CreateDynamicSecretInput, ctx: RequestContext): Promise<DynamicSecret> {
      const name = normaliseSecretName(input.name);
      const producer = producers.get(input.type);
      const settings = producer.normaliseSettings(input.settings);
      const passwordLength = settings.options.passwordLength ?? DEFAULTS.passwordLength;
      if (
        typeof passwordLength !== 'number' ||
        !Number.isInteger(passwordLength) ||
        passwordLength < 32 ||
        passwordLength > 128
      )
        throw validationError('passwordLength must be an integer in [32, 128].', { field: 'passwordLength' });
      const maxTtlSeconds =
        input.maxTtlSeconds ?? Math.max(DEFAULTS.maxTtlSeconds, input.defaultTtlSeconds ?? 0);
      const defaultTtlSeconds = input.defaultTtlSeconds ?? Math.min(DEFAULTS.ttlSeconds, maxTtlSeconds);
      if (defaultTtlSeconds > maxTtlSeconds)
        throw validationError('defaultTtlSeconds must not exceed maxTtlSeconds.', {
          field: 'defaultTtlSeconds',
        });
      if (input.check !== false) {
        try {
          await producer.check(settings);
        } catch (error) {
          throw targetRejected(error);
        }
      }
      const now = clock.nowMs();
      const id = ids.newId('ds-');
      return uow.write(async (r) => {
        if (await r.dynamic.getItem(name)) throw conflict('A dynamic secret with this name already exists.');
        if ((await r.secrets.get(name)) ?? (await r.rotatedSecrets.get(name)))
          throw conflict('An item with this name already exists.');
        const kekVersion = await keks.active(r, ctx);
        const dek = cipher.newDataKey();
        const item: DynamicSecret = {
          id,
          name,
          type: producer.type,
          description: input.description ?? null,
          publicSettings: publicSettings(settings),
          sealedSettings: cipher.encrypt(dek, JSON.stringify(settings), settingsAad(id)),
          wrappedKey: cipher.wrap(dek, kekVersion, id),
          kekVersion,
          defaultTtlSeconds,
          maxTtlSeconds,
          leaseQuota: input.leaseQuota ?? DEFAULTS.leaseQuota,
          sweepDrop: input.sweepDrop ?? false,
          createdAtMs: now,
          updatedAtMs: now,
        };
        await r.dynamic.insertItem(item);
        await r.audit.append(
          event('dynamic_secret.created', item, {
            defaultTtlSeconds,
            maxTtlSeconds,
            leaseQuota: item.leaseQuota,
          }),
          ctx,
          now,
        );
        return item;
      });
    },

    async list(prefix: string | undefined, cursor: string | null, limit: number) {
      const low = prefix ? normaliseSecretName(prefix) : '/';
      const items = await uow.read((r) => r.dynamic.listItems(low, cursor, limit + 1));
      const page = items.slice(0, limit);
      return { items: page, nextCursor: items.length > limit ? page[page.length - 1]!.name : null };
    },

    /**
     * Deletes an item. Refused (409) while it has live leases: the settings are what revokes them.
     * `revokeFirst` revokes them (through `revokeAll`) and deletes once none is left.
     */
    async delete(
      name: string,
      ctx: RequestContext,
      revokeFirst: ((item: DynamicSecret) => Promise<void>) | null,
    ): Promise<DynamicSecret> {
      const item = await get(name);
      if (revokeFirst) await revokeFirst(item);
      return uow.write(async (r) => {
        const live = await r.dynamic.countLiveOfItem(item.id);
        if (live > 0) throw dynamicSecretHasLeases(live);
        await r.dynamic.deleteItem(item.id);
        await r.audit.append(event('dynamic_secret.deleted', item), ctx, clock.nowMs());
        return item;
      });
    },

    /**
     * Accounts on the target that match the item's prefix but have no live lease (created behind
     * Tessera's back, or left by a crash); dropped when asked or when the item says so.
     */
    async sweep(name: string, drop: boolean | undefined, ctx: RequestContext) {
      const item = await get(name);
      const settings = await uow.read((r) => unseal(r, item));
      const producer = producers.get(item.type);
      let accounts: string[];
      try {
        accounts = await producer.listAccounts(settings);
      } catch (error) {
        throw targetFailed('list its accounts', error);
      }
      // Read after listing: a lease row is written before its account is created, so an account
      // listed above that belongs to a lease has its row by now.
      const live = await uow.read((r) => r.dynamic.liveUsernames(item.id));
      const keep = new Set([settings.adminUsername, settings.reassignOwnedTo]);
      const orphans = accounts.filter((a) => !live.has(a) && !keep.has(a));
      const dropping = (drop ?? item.sweepDrop) && orphans.length > 0;
      const dropped: string[] = [];
      const failed: string[] = [];
      if (dropping) {
        const outcomes = producer.revokeAccounts
          ? await producer.revokeAccounts(settings, orphans)
          : await Promise.all(
              orphans.map((o) => producer.revokeAccount(settings, o).catch((e: unknown) => e as Error)),
            );
        for (const [i, o] of outcomes.entries()) (o instanceof Error ? failed : dropped).push(orphans[i]!);
      }
      await uow.write((r) =>
        r.audit.append(
          event('dynamic_secret.swept', item, {
            found: orphans.length,
            dropped: dropped.length,
            failed: failed.length,
            accounts: orphans.slice(0, 100),
          }),
          ctx,
          clock.nowMs(),
        ),
      );
      return { orphans, dropped, failed };
    },
  };
}

export type DynamicSecretsService = ReturnType<typeof createDynamicSecretsService>;
