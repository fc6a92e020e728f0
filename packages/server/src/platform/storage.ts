import { type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Dialect, Store } from '../storage/database.js';
import type { QueryTarget } from '../storage/prepared.js';

/** Makes one repository bound to a connection or transaction. */
export type RepoMaker = (target: QueryTarget) => unknown;

/**
 * What a capability brings to the store (ADR 0013): its own tables, migrated in their own history
 * (`tessera_migrations_<name>`) so capabilities never have to agree on an order, and its
 * repositories, added to the `Repos` every unit of work hands out. Declare their type by augmenting
 * `Repos` in the capability's folder.
 */
export interface StorageContribution {
  /** Lower-case letters, digits and `_`: it names the migration table. */
  name: string;
  migrations?: (dialect: Dialect) => Record<string, Migration>;
  repos?: Record<string, RepoMaker>;
}

/**
 * The storage contributions of the capabilities, collected while modules are composed and frozen
 * when the platform starts (after which a contribution is a programming error).
 */
export class StorageRegistry {
  private readonly items: StorageContribution[] = [];
  private frozen = false;
  /** Repository makers by name, read by the repository factory on every unit of work. */
  readonly repoMakers: Array<[string, RepoMaker]> = [];

  constructor(private readonly reserved: ReadonlySet<string>) {}

  contribute(contribution: StorageContribution): void {
    if (this.frozen) throw new Error(`storage of ${contribution.name} contributed after start`);
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(contribution.name))
      throw new Error(`storage contribution name ${contribution.name} is not [a-z][a-z0-9_]*`);
    if (this.items.some((c) => c.name === contribution.name))
      throw new Error(`storage of ${contribution.name} contributed twice`);
    for (const [name, make] of Object.entries(contribution.repos ?? {})) {
      if (this.reserved.has(name) || this.repoMakers.some(([n]) => n === name))
        throw new Error(`repository ${name} of ${contribution.name} is already defined`);
      this.repoMakers.push([name, make]);
    }
    this.items.push(contribution);
  }

  /** Applies every contribution's pending migrations, then refuses new contributions. */
  async migrate(store: Store): Promise<void> {
    this.frozen = true;
    for (const contribution of this.items) {
      if (!contribution.migrations) continue;
      const all = contribution.migrations(store.dialect);
      const provider: MigrationProvider = { getMigrations: async () => all };
      const migrator = new Migrator({
        db: store.db,
        provider,
        migrationTableName: `tessera_migrations_${contribution.name}`,
        migrationLockTableName: `tessera_migrations_${contribution.name}_lock`,
      });
      const { error, results } = await migrator.migrateToLatest();
      const failed = results?.find((r) => r.status === 'Error');
      if (error || failed)
        throw new Error(
          `migration ${contribution.name}/${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
    }
  }
}
