import type { Action, Resource } from '../../core/access/access.policy.js';
import {
  type ConfigKind,
  type ConfigKindRegistry,
  type ConfigSpec,
  type LiveConfigObject,
  secretReferenceKey,
} from '../../core/shared/config-kinds.js';
import type { RequestContext } from '../../core/shared/context.js';
import { ErrorCodes, forbidden, TesseraError } from '../../core/shared/errors.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { ReadRepos, UnitOfWork } from '../../core/shared/unit-of-work.js';
import { type ConfigFile, createFileReader, type Declared, type LocatedProblem } from './config.files.js';
import { buildPlan, type Plan } from './config.plan.js';
import { configFileSchema } from './config.schema.js';

/** What the apply answers: the plan it ran, and credentials generated for created objects (once). */
export interface ApplyResult {
  plan: Omit<Plan, 'work'>;
  issued: Array<{ kind: string; name: string; credential: Readonly<Record<string, string>> }>;
}

export interface ApplyOptions {
  /** The hash of the reviewed plan: refused unless the plan is still exactly that. */
  planHash?: string | undefined;
  allowDelete?: boolean | undefined;
}

/** Is the caller allowed `action` on `resource`? (the route's access check, per object) */
export type Permits = (action: Action, resource: Resource) => Promise<boolean>;

const MAX_PROBLEMS = 200;

const byPlace = (a: LocatedProblem, b: LocatedProblem) =>
  a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column;

const invalid = (problems: LocatedProblem[]) =>
  new TesseraError(
    ErrorCodes.CONFIG_INVALID,
    `The configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was applied.`,
    { details: { problems: [...problems].sort(byPlace).slice(0, MAX_PROBLEMS) } },
  );

const omit = (spec: ConfigSpec, fields: readonly string[]): ConfigSpec => {
  if (fields.length === 0) return spec;
  const out: ConfigSpec = { ...spec };
  for (const f of fields) delete out[f];
  return out;
};

const resourceOf = (kind: ConfigKind, name: string): Resource => ({
  type: kind.resourceType,
  path: name.startsWith('/') ? name : `/${name}`,
});

/** Plan, apply and export identity as code (ADR 0021), over every registered kind. */
export function createConfigService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  kinds: ConfigKindRegistry;
  /** The keyed fingerprint of a secret value (the audit hash): what plans compare and show. */
  fingerprint: (value: string) => string;
}) {
  const { uow, clock, kinds, fingerprint } = deps;
  const read = createFileReader(() => kinds.ordered());

  async function liveOf(r: ReadRepos): Promise<Map<string, LiveConfigObject[]>> {
    const live = new Map<string, LiveConfigObject[]>();
    for (const kind of kinds.ordered()) {
      const objects = await kind.live(r);
      live.set(
        kind.key,
        objects.map((o) =>
          !o.system && kinds.isOwnedByServer(kind.key, o.spec) ? { ...o, system: true } : o,
        ),
      );
    }
    return live;
  }

  /** The files read and checked once: parsing is most of a plan's cost (BENCHMARKS.md). */
  function checked(files: readonly ConfigFile[], values: ReadonlyMap<string, string>): Declared[] {
    const { declared, problems } = read(files);
    if (problems.length > 0) throw invalid(problems);
    // Secret references (ADR 0030): each becomes its value's keyed fingerprint; the value itself
    // goes to the kind's apply only.
    for (const decl of declared) {
      for (const field of decl.kind.secretFields ?? []) {
        const ref = decl.spec[field] as { env?: string; file?: string } | undefined;
        if (ref === undefined) continue;
        const key = secretReferenceKey(ref, decl.file);
        const value = values.get(key);
        if (value === undefined) {
          problems.push({
            ...decl.at([field]),
            message: `${field}: no value was supplied for ${key.startsWith('env:') ? `the environment variable ${ref.env}` : `the file ${key.slice(5)}`} (the CLI reads it when it plans or applies)`,
          });
          continue;
        }
        decl.spec = { ...decl.spec, [field]: fingerprint(value) };
        decl.values = { ...decl.values, [field]: value };
      }
    }
    if (problems.length > 0) throw invalid(problems);
    return declared;
  }

  function planOver(declared: readonly Declared[], live: Map<string, LiveConfigObject[]>): Plan {
    const result = buildPlan(kinds.ordered(), declared, live);
    if ('problems' in result) throw invalid(result.problems);
    return result.plan;
  }

  const publicPlan = ({ work: _work, ...plan }: Plan) => plan;

  async function plan(
    files: readonly ConfigFile[],
    values: ReadonlyMap<string, string> = new Map(),
  ): Promise<Omit<Plan, 'work'>> {
    // Files are checked before the store is read: a bad file costs no read.
    const declared = checked(files, values);
    return publicPlan(planOver(declared, await uow.read(liveOf)));
  }

  async function apply(
    files: readonly ConfigFile[],
    options: ApplyOptions,
    ctx: RequestContext,
    permits: Permits,
    values: ReadonlyMap<string, string> = new Map(),
  ): Promise<ApplyResult> {
    const declared = checked(files, values);
    const reviewed = publicPlan(planOver(declared, await uow.read(liveOf)));
    if (options.planHash !== undefined && options.planHash !== reviewed.hash)
      throw new TesseraError(
        ErrorCodes.CONFIG_PLAN_STALE,
        'The reviewed plan no longer matches what applying these files would do; plan again and review.',
        { details: { expected: options.planHash.slice(0, 80), actual: reviewed.hash } },
      );
    const deletes = reviewed.changes.filter((c) => c.op === 'delete');
    if (deletes.length > 0 && !options.allowDelete)
      throw new TesseraError(
        ErrorCodes.CONFIG_DELETE_REFUSED,
        `The plan deletes ${deletes.length} object${deletes.length === 1 ? '' : 's'}; apply with allowDelete (--allow-delete) to delete them.`,
        { details: { deletes: deletes.slice(0, 50).map((c) => ({ kind: c.kind, name: c.name })) } },
      );
    // Each change needs its own right (create, update or delete on that object), checked before
    // anything is written; then the same plan runs in one transaction.
    for (const change of reviewed.changes) {
      const kind = kinds.get(change.kind)!;
      if (!(await permits(change.op, resourceOf(kind, change.name))))
        throw forbidden(`no ${change.op} right on ${kind.resourceType} ${change.name}`);
    }
    const now = clock.nowMs();
    return uow.write(async (r) => {
      const current = planOver(declared, await liveOf(r));
      if (current.hash !== reviewed.hash)
        throw new TesseraError(
          ErrorCodes.CONFIG_PLAN_STALE,
          'The live configuration changed while applying; nothing was applied. Plan again.',
        );
      const issued: ApplyResult['issued'] = [];
      for (const { kind, change } of current.work) {
        const applied = await kind.apply(r, change, ctx, now);
        if (applied) issued.push({ kind: kind.key, name: change.name, credential: applied.credential });
      }
      await r.audit.append(
        {
          type: 'config.applied',
          outcome: 'success',
          actor: {},
          resource: '/config',
          data: { planHash: current.hash, ...current.summary },
        },
        ctx,
        now,
      );
      return { plan: publicPlan(current), issued };
    });
  }

  /** The live configuration as one document: every kind's objects but the server's own, by name. */
  async function exportConfig(): Promise<Record<string, unknown>> {
    const live = await uow.read(liveOf);
    const document: Record<string, unknown> = { version: 1 };
    // Objects a system object refers to are the server's too: plan decides that, export agrees.
    const result = buildPlan(kinds.ordered(), [], live);
    const owned = 'plan' in result ? result.plan.work : [];
    for (const kind of kinds.ordered()) {
      const names = new Set(owned.filter((w) => w.kind === kind).map((w) => w.change.name));
      const specs = (live.get(kind.key) ?? [])
        .filter((o) => names.has(o.spec.name))
        // Secret values are never exported, not even as fingerprints: the files reference them.
        .map((o) => omit(o.spec, kind.secretFields ?? []))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      document[kind.key] = specs; // empty lists too: every kind has its file
    }
    return document;
  }

  return {
    plan,
    apply,
    export: exportConfig,
    kinds: () => kinds.ordered(),
    /** The JSON Schema of the files (`npm run gen:config-schema` writes it to schemas/). */
    schema: () => configFileSchema(kinds.ordered()),
  };
}

export type ConfigService = ReturnType<typeof createConfigService>;
