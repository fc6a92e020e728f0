/**
 * The plan (ADR 0021): declared objects against live ones, kind by kind. Pure: no store, no clock.
 * Every problem is collected (none stops at the first), with where it was declared.
 */
import type {
  ConfigChange,
  ConfigKind,
  ConfigOp,
  ConfigSpec,
  LiveConfigObject,
} from '../../core/shared/config-kinds.js';
import { sha256Hex } from '../../crypto/credentials.js';
import { type Declared, type LocatedProblem, pathText } from './config.files.js';

/** One field of a change, as a reviewer reads it. */
export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
}

/** One change, as `plan` shows it. */
export interface PlannedChange {
  op: ConfigOp;
  kind: string;
  name: string;
  fields: FieldChange[];
}

export interface Plan {
  /** In the order they apply: creations and updates kind by kind, then deletions in reverse. */
  changes: PlannedChange[];
  summary: Record<ConfigOp, number>;
  /** `sha256:` of the changes (with their before and after): what a reviewer approved. */
  hash: string;
  /** The changes as their kinds apply them, in the same order. */
  work: Array<{ kind: ConfigKind; change: ConfigChange }>;
}

/** JSON with sorted keys: equal values, equal text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

interface Desired {
  decl: Declared;
  spec: ConfigSpec;
}

/** Orders names so that each comes after the names it refers to (the graph is known acyclic). */
function topological(names: string[], edges: (name: string) => string[]): string[] {
  const done = new Set<string>();
  const out: string[] = [];
  const known = new Set(names);
  const visit = (name: string) => {
    if (done.has(name)) return;
    done.add(name);
    for (const next of edges(name)) if (known.has(next)) visit(next);
    out.push(name);
  };
  for (const name of names) visit(name);
  return out;
}

/** Finds a cycle among same-kind references; returns its names (first repeated) or null. */
function findCycle(names: string[], edges: (name: string) => string[]): string[] | null {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    state.set(name, 1);
    stack.push(name);
    for (const next of edges(name)) {
      if (state.get(next) === 1) return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(name, 2);
    return null;
  };
  for (const name of names) {
    if (state.has(name)) continue;
    const found = visit(name);
    if (found) return found;
  }
  return null;
}

/**
 * Builds the plan of `declared` over `live` (by kind key), or returns every problem: schema-valid
 * objects that fail their kind's checks, duplicates, declarations of system objects, references to
 * nothing, cycles, and changes to fields that cannot change.
 */
export function buildPlan(
  kinds: readonly ConfigKind[],
  declared: readonly Declared[],
  live: ReadonlyMap<string, readonly LiveConfigObject[]>,
): { plan: Plan } | { problems: LocatedProblem[] } {
  const problems: LocatedProblem[] = [];
  const desired = new Map<string, Map<string, Desired>>(kinds.map((k) => [k.key, new Map()]));
  const liveByName = new Map<string, Map<string, LiveConfigObject>>(
    kinds.map((k) => [k.key, new Map((live.get(k.key) ?? []).map((o) => [o.spec.name, o]))]),
  );
  const label = (kind: ConfigKind, name: string) => `${kind.label} "${name}"`;
  const byKey = new Map(kinds.map((k) => [k.key, k]));

  // What a system object refers to is the server's too (the bootstrap administrator's identity).
  for (const kind of kinds) {
    for (const o of liveByName.get(kind.key)!.values()) {
      if (!o.system) continue;
      for (const ref of kind.references?.(o.spec) ?? []) {
        const target = liveByName.get(ref.kind)?.get(ref.name);
        if (target && !target.system) liveByName.get(ref.kind)!.set(ref.name, { ...target, system: true });
      }
    }
  }

  // Declared but with problems: references to them are not reported again as dangling.
  const named = new Set(declared.map((d) => `${d.kind.key}\u0000${d.spec.name}`));
  for (const decl of declared) {
    const { kind } = decl;
    const name = decl.spec.name;
    const result = kind.normalise(decl.spec);
    if ('problems' in result) {
      for (const p of result.problems)
        problems.push({
          ...decl.at(p.path),
          message: `${label(kind, name)}: ${pathText(p.path)}: ${p.message}`,
        });
      continue;
    }
    const mine = desired.get(kind.key)!;
    const first = mine.get(name);
    if (first) {
      const at = first.decl.at([]);
      problems.push({
        ...decl.at(['name']),
        message: `${label(kind, name)} is declared twice (first at ${at.file}:${at.line})`,
      });
      continue;
    }
    const existing = liveByName.get(kind.key)!.get(name);
    if (existing?.system) {
      problems.push({
        ...decl.at(['name']),
        message: `${label(kind, name)} ${existing.note ?? 'is created by the server itself'}; it cannot be declared`,
      });
      continue;
    }
    mine.set(name, { decl, spec: result.spec });
  }

  // References resolve to a declared object, or to a live object the server owns.
  for (const kind of kinds) {
    for (const [name, d] of desired.get(kind.key)!) {
      for (const ref of kind.references?.(d.spec) ?? []) {
        const target = byKey.get(ref.kind);
        if (named.has(`${ref.kind}\u0000${ref.name}`) || liveByName.get(ref.kind)?.get(ref.name)?.system)
          continue;
        problems.push({
          ...d.decl.at(ref.path),
          message: `${label(kind, name)} refers to ${target?.label ?? ref.kind} "${ref.name}", which is not declared`,
        });
      }
    }
  }

  // References within a kind (role includes) must not loop.
  const sameKindEdges = (kind: ConfigKind, specs: Map<string, ConfigSpec>) => (name: string) => {
    const spec = specs.get(name);
    return spec ? (kind.references?.(spec) ?? []).filter((r) => r.kind === kind.key).map((r) => r.name) : [];
  };
  for (const kind of kinds) {
    const mine = desired.get(kind.key)!;
    const specs = new Map([...mine].map(([n, d]) => [n, d.spec]));
    const cycle = findCycle([...specs.keys()], sameKindEdges(kind, specs));
    if (cycle) {
      const d = mine.get(cycle[0] as string) as Desired;
      const ref = (kind.references?.(d.spec) ?? []).find((r) => r.kind === kind.key && r.name === cycle[1]);
      problems.push({
        ...d.decl.at(ref?.path ?? ['name']),
        message: `${kind.label} references form a cycle: ${cycle.join(' → ')}`,
      });
    }
  }

  const work: Plan['work'] = [];
  const deletions: Plan['work'] = [];
  for (const kind of kinds) {
    const mine = desired.get(kind.key)!;
    const lives = liveByName.get(kind.key)!;
    const specs = new Map([...mine].map(([n, d]) => [n, d.spec]));
    for (const name of topological([...specs.keys()], sameKindEdges(kind, specs))) {
      const d = mine.get(name)!;
      const current = lives.get(name);
      const values = d.decl.values && Object.keys(d.decl.values).length > 0 ? { values: d.decl.values } : {};
      // A secret field left out is managed out of band: a creation needs it, an update keeps it.
      const unmanaged = (kind.secretFields ?? []).filter((f) => d.spec[f] === undefined);
      if (!current) {
        for (const f of unmanaged)
          problems.push({
            ...d.decl.at(['name']),
            message: `${label(kind, name)} is created here and needs its ${f}: a reference, {env: NAME} or {file: PATH}`,
          });
        work.push({
          kind,
          change: { op: 'create', name, desired: d.spec, live: null, fields: Object.keys(d.spec), ...values },
        });
        continue;
      }
      if (unmanaged.length > 0) {
        d.spec = { ...d.spec };
        for (const f of unmanaged) d.spec[f] = current.spec[f];
      }
      const fields = [...new Set([...Object.keys(d.spec), ...Object.keys(current.spec)])].filter(
        (f) => canonical(d.spec[f]) !== canonical(current.spec[f]),
      );
      if (fields.length === 0) continue;
      for (const f of fields.filter((x) => kind.immutable?.includes(x)))
        problems.push({
          ...d.decl.at([f]),
          message: `${label(kind, name)}: ${f} cannot change once created (it is ${JSON.stringify(current.spec[f])}); delete and re-create it`,
        });
      work.push({
        kind,
        change: { op: 'update', name, desired: d.spec, live: current.spec, fields, ...values },
      });
    }
    const gone = [...lives.values()].filter((o) => !o.system && !mine.has(o.spec.name));
    const liveSpecs = new Map(gone.map((o) => [o.spec.name, o.spec]));
    const order = topological([...liveSpecs.keys()], sameKindEdges(kind, liveSpecs)).reverse();
    deletions.unshift(
      ...order.map((name) => ({
        kind,
        change: { op: 'delete' as const, name, desired: null, live: liveSpecs.get(name)!, fields: [] },
      })),
    );
  }
  if (problems.length > 0) return { problems };
  work.push(...deletions);

  const changes = work.map(({ kind, change }): PlannedChange => {
    const fields =
      change.op === 'create'
        ? Object.keys(change.desired!).map((field) => ({ field, to: change.desired![field] }))
        : change.op === 'delete'
          ? Object.keys(change.live!).map((field) => ({ field, from: change.live![field] }))
          : change.fields.map((field) => ({ field, from: change.live![field], to: change.desired![field] }));
    return { op: change.op, kind: kind.key, name: change.name, fields };
  });
  const summary = { create: 0, update: 0, delete: 0 };
  for (const c of changes) summary[c.op]++;
  return { plan: { changes, summary, hash: `sha256:${sha256Hex(canonical(changes))}`, work } };
}
