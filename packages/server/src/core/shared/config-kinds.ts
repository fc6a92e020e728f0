/**
 * Identity as code (ADR 0021): the kinds of object a configuration file may declare. Each capability
 * contributes its own kinds with one call, `platform.configKinds.register(kind)`, from its module;
 * the config capability plans, applies and exports every registered kind the same way.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { ResourceType } from '../access/access.policy.js';
import type { RequestContext } from './context.js';
import type { ReadRepos, Repos } from './unit-of-work.js';

/**
 * The schema of a secret reference (ADR 0030): `{env: NAME}` (an environment variable of the process
 * that plans) or `{file: PATH}` (relative to the file that declares it). Never a value.
 */
export const secretReferenceSchema = (description: string) =>
  Type.Object(
    {
      env: Type.Optional(
        Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$', description: 'An environment variable' }),
      ),
      file: Type.Optional(
        Type.String({ minLength: 1, maxLength: 1000, description: 'A file, relative to this one' }),
      ),
    },
    {
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      description: `${description}: a reference, {env: NAME} or {file: PATH}; a file never holds the value`,
      'x-tessera-secret-reference': true,
    },
  );

/** The key a reference's value travels under: `env:NAME`, or `file:` + the path from the file's directory. */
export function secretReferenceKey(ref: { env?: string; file?: string }, declaringFile: string): string {
  if (ref.env !== undefined) return `env:${ref.env}`;
  const path = ref.file ?? '';
  if (path.startsWith('/')) return `file:${normalisePosix(path)}`;
  const slash = declaringFile.lastIndexOf('/');
  return `file:${normalisePosix(slash < 0 ? path : `${declaringFile.slice(0, slash)}/${path}`)}`;
}

/** `a/./b/../c` → `a/c` (POSIX, no file system access; leading `..` kept). */
function normalisePosix(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !absolute) out.push(part);
  }
  return (absolute ? '/' : '') + (out.join('/') || (absolute ? '' : '.'));
}

/** A place inside one declared object: keys and list indexes from the object's root. */
export type ConfigPath = ReadonlyArray<string | number>;

/** Something wrong with one declared object, at `path` inside it. */
export interface ConfigProblem {
  path: ConfigPath;
  message: string;
}

/** A name one object gives of another (`identity: billing-api`), which must resolve. */
export interface ConfigReference {
  kind: string;
  name: string;
  path: ConfigPath;
}

/** A declared object (its spec always has a string `name`). */
export type ConfigSpec = { name: string } & Record<string, unknown>;

/**
 * A live object as its kind describes it. `system` marks an object the server created for itself
 * (the bootstrap administrator, built-in roles, a person-session method…): it is never exported,
 * never updated or deleted by a plan, and a file may refer to it but not declare it.
 */
export interface LiveConfigObject<S extends ConfigSpec = ConfigSpec> {
  spec: S;
  system: boolean;
  /** Why a file may not declare it, when not "created by the server itself" (`is retired`). */
  note?: string;
}

export type ConfigOp = 'create' | 'update' | 'delete';

/** One change of a plan, as handed to its kind to apply (inside the apply's single transaction). */
export interface ConfigChange<S extends ConfigSpec = ConfigSpec> {
  op: ConfigOp;
  name: string;
  /** The normalised declaration (create, update). */
  desired: S | null;
  /** The live object (update, delete). */
  live: S | null;
  /** The top-level fields that differ (update). */
  fields: string[];
  /**
   * The values behind the declaration's secret references (`{env: NAME}`, `{file: PATH}`), by field,
   * supplied out of band with the request (create, update; ADR 0030). The spec holds only their
   * keyed fingerprints.
   */
  values?: Readonly<Record<string, string>>;
}

/**
 * What applying one change may hand back: a credential the server generated for a created object
 * (an access key), shown once in the apply's answer like the API's own create does.
 */
export type ConfigApplied = { credential: Readonly<Record<string, string>> } | undefined;

/** One kind of declarable object. */
export interface ConfigKind<S extends ConfigSpec = ConfigSpec> {
  /** The key of its list in a file (`identities`, `authMethods`); also its name in references. */
  readonly key: string;
  /** One object of it, in messages (`identity`, `auth method`). */
  readonly label: string;
  /** The file schema's description of the list. */
  readonly description: string;
  /** The policy resource type of its objects (`identity:/<name>`): what plan and apply check. */
  readonly resourceType: ResourceType;
  /** JSON Schema (TypeBox) of one object; `additionalProperties: false` throughout. */
  readonly schema: TSchema;
  /** Kinds whose objects this kind's objects refer to: created before, deleted after it. */
  readonly after?: readonly string[];
  /** Fields that cannot change once the object exists (a change is a problem, not an update). */
  readonly immutable?: readonly string[];
  /**
   * Top-level fields holding a secret value (ADR 0030). A file gives them as a reference,
   * `{env: NAME}` or `{file: PATH}` (see {@link secretReferenceSchema}), whose value the client sends
   * beside the files; the engine replaces the reference by the value's keyed fingerprint before
   * `normalise`, and hands the value itself to `apply` (`change.values`). `live` gives the
   * fingerprint of the stored value. A declaration that leaves the field out leaves the value
   * alone (it is managed out of band); creating the object needs it. Never exported.
   */
  readonly secretFields?: readonly string[];
  /** Completes defaults and checks what the schema cannot (must be idempotent on its own output). */
  normalise(spec: S): { spec: S } | { problems: ConfigProblem[] };
  /** The names this object gives of others (references to its own kind must not form a cycle). */
  references?(spec: S): ConfigReference[];
  /** Every live object of the kind. */
  live(r: ReadRepos): Promise<LiveConfigObject<S>[]>;
  /** Makes one change, with its audit event, in the apply's transaction. */
  apply(r: Repos, change: ConfigChange<S>, ctx: RequestContext, nowMs: number): Promise<ConfigApplied>;
}

/** The kinds, in registration order; a key is registered once. */
export class ConfigKindRegistry {
  readonly #kinds = new Map<string, ConfigKind>();
  readonly #owned = new Map<string, Array<(spec: ConfigSpec) => boolean>>();

  /**
   * Declares live objects of another capability's kind as the server's own (ADR 0021): a capability
   * that creates, say, an access-key method per signed-in person marks those methods so, and they
   * (and what they refer to) are never exported, updated or planned for deletion.
   */
  ownedByServer(key: string, isOwned: (spec: ConfigSpec) => boolean): this {
    const list = this.#owned.get(key) ?? [];
    list.push(isOwned);
    this.#owned.set(key, list);
    return this;
  }

  /** True when a capability declared this live object the server's own. */
  isOwnedByServer(key: string, spec: ConfigSpec): boolean {
    return (this.#owned.get(key) ?? []).some((isOwned) => isOwned(spec));
  }

  register<S extends ConfigSpec>(kind: ConfigKind<S>): this {
    if (this.#kinds.has(kind.key)) throw new Error(`config kind "${kind.key}" is registered twice`);
    if (kind.key === 'version') throw new Error('"version" is not a kind');
    this.#kinds.set(kind.key, kind as unknown as ConfigKind);
    return this;
  }

  get(key: string): ConfigKind | undefined {
    return this.#kinds.get(key);
  }

  /** Ordered so that every kind comes after the kinds it names in `after`. */
  ordered(): ConfigKind[] {
    const done = new Set<string>();
    const out: ConfigKind[] = [];
    const visit = (kind: ConfigKind, stack: Set<string>) => {
      if (done.has(kind.key)) return;
      if (stack.has(kind.key)) throw new Error(`config kinds depend on each other in a cycle at ${kind.key}`);
      stack.add(kind.key);
      for (const dep of kind.after ?? []) {
        const k = this.#kinds.get(dep);
        if (k) visit(k, stack);
      }
      done.add(kind.key);
      out.push(kind);
    };
    for (const kind of this.#kinds.values()) visit(kind, new Set());
    return out;
  }
}
