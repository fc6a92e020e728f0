import type { AuditEvent } from '../audit/audit.model.js';
import { type RequestContext, systemContext } from '../shared/context.js';
import type { Clock } from '../shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../shared/unit-of-work.js';
import type { DataKey, SecretCipher } from './secret-cipher.port.js';
import { secretIntegrity } from './secrets.errors.js';
import type { KekStatus, SecretItem } from './secrets.model.js';
import { WRAPPED_KINDS } from './secrets.repo.js';

/** The audit resource of the key-encryption keys. */
export const KEK_RESOURCE = '/sys/keys/kek';
const REWRAP_BATCH = 200;

/**
 * Key-encryption keys inside a unit of work: the cipher holds the unsealed KEKs of this process and
 * reloads them from the store when a row names a version it does not know (another server rotated).
 */
export function kekAccess(cipher: SecretCipher, clock: Clock) {
  /** Loads the KEKs in the store into the cipher and forgets those no longer there. */
  async function sync(r: ReadRepos): Promise<number | null> {
    const rows = await r.secretKeys.list();
    cipher.loadKeks(rows, true);
    return rows.length === 0 ? null : Math.max(...rows.map((k) => k.version));
  }

  return {
    sync,

    /** The version of the KEK that wraps new data keys (the newest), creating the first one if needed. */
    async active(r: Repos, ctx: RequestContext): Promise<number> {
      const latest = await r.secretKeys.latestVersion();
      if (latest !== null) {
        if (!cipher.hasKek(latest)) await sync(r);
        return latest;
      }
      const kek = cipher.newKek(1);
      await r.secretKeys.insert({ ...kek, createdAtMs: clock.nowMs() });
      // Usable in this unit; should the unit roll back, the next sync replaces it.
      cipher.loadKeks([{ ...kek, createdAtMs: clock.nowMs() }]);
      await r.audit.append(kekRotated(1, null, 'first key'), ctx, clock.nowMs());
      return 1;
    },

    /** The data key of an item; an integrity error when its wrapping fails to authenticate. */
    async unwrap(r: ReadRepos, item: Pick<SecretItem, 'id' | 'wrappedKey' | 'kekVersion'>): Promise<DataKey> {
      if (!cipher.hasKek(item.kekVersion)) await sync(r);
      if (!cipher.hasKek(item.kekVersion))
        throw secretIntegrity(`item ${item.id}: KEK version ${item.kekVersion} is not in the store`);
      try {
        return cipher.unwrap(item.wrappedKey, item.kekVersion, item.id);
      } catch {
        throw secretIntegrity(`item ${item.id}: the data key failed to unwrap under KEK ${item.kekVersion}`);
      }
    },
  };
}

export type KekAccess = ReturnType<typeof kekAccess>;

const kekRotated = (kekVersion: number, previousKekVersion: number | null, reason: string): AuditEvent => ({
  type: 'secret.kek.rotated',
  outcome: 'success',
  actor: {},
  resource: KEK_RESOURCE,
  data: { kekVersion, previousKekVersion, reason },
});

export interface KekRotation {
  kekVersion: number;
  previousKekVersion: number | null;
  /** Items whose data keys the background job will re-wrap under the new KEK. */
  pendingItems: number;
}

export interface RewrapReport {
  rewrapped: number;
  /** Items whose wrapped key failed to authenticate: they keep their KEK (which is then kept too). */
  failed: number;
  /** KEK versions destroyed because no item used them any more. */
  destroyed: number[];
}

/**
 * Rotation of the key-encryption key without downtime: a new KEK version wraps every new data key at
 * once; a background job re-wraps the existing data keys in small batches (each its own unit of work,
 * so reads go on between them: every row names the KEK that wraps it); a KEK is destroyed once no row
 * uses it.
 */
export function createSecretKeysService({
  uow,
  clock,
  cipher,
}: {
  uow: UnitOfWork;
  clock: Clock;
  cipher: SecretCipher;
}) {
  const keks = kekAccess(cipher, clock);

  async function rewrapBatch(limit: number): Promise<{ rewrapped: number; failed: number; more: boolean }> {
    return uow.write(async (r) => {
      const active = await keks.sync(r);
      if (active === null) return { rewrapped: 0, failed: 0, more: false };
      // Static secrets first, then dynamic secrets' settings and rotated secrets' sealed state: the
      // same KEKs wrap their data keys (with the row id as AAD), so an old KEK can go once all have moved.
      let rewrapped = 0;
      let failed = 0;
      let full = false;
      let left = limit;
      for (const kind of WRAPPED_KINDS) {
        if (left === 0) break;
        const batch = await r.secrets.wrappedBelow(active, left, kind);
        left -= batch.length;
        if (left === 0) full = true;
        for (const item of batch) {
          let dek: DataKey;
          try {
            dek = cipher.unwrap(item.wrappedKey, item.kekVersion, item.id);
          } catch {
            failed++;
            continue;
          }
          const wrapped = cipher.wrap(dek, active, item.id);
          dek.fill(0);
          if (await r.secrets.rewrap(item.id, item.kekVersion, wrapped, active, kind)) rewrapped++;
        }
      }
      if (rewrapped > 0) {
        await r.audit.append(
          {
            type: 'secret.kek.rewrapped',
            outcome: 'success',
            actor: {},
            resource: KEK_RESOURCE,
            data: { kekVersion: active, count: rewrapped },
          },
          systemContext('kek-rewrap'),
          clock.nowMs(),
        );
      }
      return { rewrapped, failed, more: full && rewrapped > 0 };
    });
  }

  /** Destroys the KEK versions older than the active one that no item uses any more. */
  async function destroyUnused(): Promise<number[]> {
    return uow.write(async (r) => {
      const stored = await r.secretKeys.list();
      if (stored.length < 2) return [];
      const active = Math.max(...stored.map((k) => k.version));
      const counts = await r.secrets.countByKek();
      const destroyed: number[] = [];
      for (const kek of stored) {
        if (kek.version === active || (counts.get(kek.version) ?? 0) > 0) continue;
        await r.secretKeys.delete(kek.version);
        await r.audit.append(
          {
            type: 'secret.kek.destroyed',
            outcome: 'success',
            actor: {},
            resource: KEK_RESOURCE,
            data: { kekVersion: kek.version, activeKekVersion: active },
          },
          systemContext('kek-rewrap'),
          clock.nowMs(),
        );
        destroyed.push(kek.version);
      }
      r.afterCommit(() => {
        for (const version of destroyed) cipher.forgetKek(version);
      });
      return destroyed;
    });
  }

  return {
    /** Makes sure a KEK exists and this process holds every stored one (start-up). */
    async ensureKek(): Promise<number> {
      return uow.write((r) => keks.active(r, systemContext('kek-init')));
    },

    /**
     * Creates a new KEK version; from its commit on, new data keys are wrapped by it. Existing ones
     * are re-wrapped by {@link rewrapPending} (the background job), while reads go on.
     */
    async rotate(ctx: RequestContext, reason = 'requested'): Promise<KekRotation> {
      const result = await uow.write(async (r) => {
        const previous = await r.secretKeys.latestVersion();
        const version = (previous ?? 0) + 1;
        const kek = { ...cipher.newKek(version), createdAtMs: clock.nowMs() };
        await r.secretKeys.insert(kek);
        await r.audit.append(kekRotated(version, previous, reason), ctx, clock.nowMs());
        const counts = await r.secrets.countByKek();
        r.afterCommit(() => cipher.loadKeks([kek]));
        return {
          kekVersion: version,
          previousKekVersion: previous,
          pendingItems: [...counts.values()].reduce((a, b) => a + b, 0),
        };
      });
      return result;
    },

    /**
     * Re-wraps every data key not yet under the active KEK, `batchSize` items per unit of work, then
     * destroys the KEKs no item uses any more. Safe to run on several servers at once.
     */
    async rewrapPending(batchSize = REWRAP_BATCH): Promise<RewrapReport> {
      // One KEK: nothing to re-wrap or destroy, and no write (the job runs every 30 s).
      if ((await uow.read((r) => r.secretKeys.list())).length <= 1)
        return { rewrapped: 0, failed: 0, destroyed: [] };
      let rewrapped = 0;
      let failed = 0;
      for (;;) {
        const batch = await rewrapBatch(batchSize);
        rewrapped += batch.rewrapped;
        failed += batch.failed;
        if (!batch.more) break;
      }
      return { rewrapped, failed, destroyed: await destroyUnused() };
    },

    /** Which KEK is active and how many items each version wraps. */
    async status(): Promise<KekStatus> {
      return uow.read(async (r) => {
        const stored = await r.secretKeys.list();
        const counts = await r.secrets.countByKek();
        return {
          activeVersion: stored.length === 0 ? null : Math.max(...stored.map((k) => k.version)),
          versions: stored
            .map((k) => ({
              version: k.version,
              createdAtMs: k.createdAtMs,
              items: counts.get(k.version) ?? 0,
            }))
            .sort((a, b) => a.version - b.version),
        };
      });
    },
  };
}

export type SecretKeysService = ReturnType<typeof createSecretKeysService>;
