/**
 * A small Prometheus registry: counters and histograms with labels, gauges, and the text exposition
 * format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/). No dependency, no global
 * state: the composition root creates one registry and hands narrow ports to whoever reports.
 *
 * Every label declares its closed set of values; a value outside it is recorded as `other`. So a
 * token, an id or a URL cannot become a label value by mistake, and the number of series is bounded
 * by the product of the sets. Recording allocates nothing once a series exists: series are found by
 * walking one `Map` per label, never by building a key string.
 */

/** The value recorded for a label value outside its declared set. */
export const OTHER_LABEL_VALUE = 'other';

/** The values a label may take: a fixed list, or a set its owner fills before recording (routes). */
export type LabelValues = readonly string[] | ReadonlySet<string>;

type Labels<L extends string> = Readonly<Record<L, string>>;

export type { AuthOutcome, Metrics, UidRequestOutcome } from '../core/monitoring/metrics.port.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Series {
  /** Label values, in declaration order, already mapped into their sets. */
  readonly values: readonly string[];
}

/** Finds (or creates, once) the series of a label combination by walking one map per label. */
class SeriesIndex<S extends Series, L extends string> {
  readonly names: readonly L[];
  private readonly allowed: ReadonlyArray<ReadonlySet<string>>;
  private readonly root = new Map<string, unknown>();
  private leafless: S | null = null;
  readonly all: S[] = [];

  constructor(
    metric: string,
    labels: Readonly<Record<L, LabelValues>>,
    private readonly create: (values: readonly string[]) => S,
    reserved: readonly string[] = [],
  ) {
    this.names = Object.keys(labels) as L[];
    for (const name of this.names) {
      if (!LABEL_NAME.test(name) || name.startsWith('__') || reserved.includes(name)) {
        throw new Error(`metric ${metric}: invalid label name "${name}"`);
      }
    }
    // A set is kept by reference: its owner may still add values (routes as they register).
    this.allowed = this.names.map((name) => {
      const values = labels[name];
      return Array.isArray(values) ? new Set<string>(values) : (values as ReadonlySet<string>);
    });
    // An unlabelled metric exists from the start (a counter at 0 is what `increase()` compares with).
    if (this.names.length === 0) this.get(undefined, true);
  }

  /** Creates every combination of the declared values now, so each series starts at 0. */
  createAll(): void {
    const walk = (i: number, labels: Record<string, string>) => {
      if (i === this.names.length) {
        this.get(labels as Labels<L>, true);
        return;
      }
      for (const value of this.allowed[i]!) walk(i + 1, { ...labels, [this.names[i]!]: value });
    };
    walk(0, {});
  }

  /** The series of `labels`; created on first use unless `create` is false. */
  get(labels: Labels<L> | undefined, create: true): S;
  get(labels: Labels<L> | undefined, create: false): S | null;
  get(labels: Labels<L> | undefined, create: boolean): S | null {
    const n = this.names.length;
    if (n === 0) {
      if (!this.leafless && create) {
        this.leafless = this.create([]);
        this.all.push(this.leafless);
      }
      return this.leafless;
    }
    let level = this.root;
    for (let i = 0; i < n; i++) {
      const value = this.valueOf(i, labels);
      const next = level.get(value);
      if (!next && !create) return null;
      if (i === n - 1) {
        if (next) return next as S;
        const values: string[] = [];
        for (let j = 0; j < n; j++) values.push(this.valueOf(j, labels));
        const series = this.create(values);
        level.set(value, series);
        this.all.push(series);
        return series;
      }
      if (next) level = next as Map<string, unknown>;
      else {
        const created = new Map<string, unknown>();
        level.set(value, created);
        level = created;
      }
    }
    throw new Error('unreachable');
  }

  private valueOf(i: number, labels: Labels<L> | undefined): string {
    const value = labels?.[this.names[i]!];
    return value !== undefined && this.allowed[i]!.has(value) ? value : OTHER_LABEL_VALUE;
  }
}

interface Collector {
  readonly name: string;
  render(out: string[]): void;
}

/** A monotonically increasing count. */
export class Counter<L extends string = never> implements Collector {
  private readonly index: SeriesIndex<Series & { value: number }, L>;

  constructor(
    readonly name: string,
    private readonly help: string,
    labels: Readonly<Record<L, LabelValues>>,
  ) {
    this.index = new SeriesIndex(name, labels, (values) => ({ values, value: 0 }));
  }

  inc(labels?: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} can only increase`);
    this.index.get(labels, true).value += by;
  }

  /** The current value of one series (0 when never recorded). */
  get(labels?: Labels<L>): number {
    return this.index.get(labels, false)?.value ?? 0;
  }

  /**
   * Exposes every combination of the declared label values at 0 from the start, so an alert on
   * `increase()` sees the first event too. For small sets only.
   */
  withAllSeries(): this {
    this.index.createAll();
    return this;
  }

  render(out: string[]): void {
    header(out, this.name, this.help, 'counter');
    for (const s of this.index.all) sample(out, this.name, this.index.names, s.values, null, s.value);
  }
}

/** A value read when the registry renders (`collect`), or set by its owner. */
export class Gauge<L extends string = never> implements Collector {
  private readonly index: SeriesIndex<Series & { value: number }, L>;

  constructor(
    readonly name: string,
    private readonly help: string,
    labels: Readonly<Record<L, LabelValues>>,
    private readonly collect: (() => number) | null,
  ) {
    this.index = new SeriesIndex(name, labels, (values) => ({ values, value: 0 }));
  }

  set(labels: Labels<L> | undefined, value: number): void {
    this.index.get(labels, true).value = value;
  }

  render(out: string[]): void {
    if (this.collect) this.set(undefined, this.collect());
    header(out, this.name, this.help, 'gauge');
    for (const s of this.index.all) sample(out, this.name, this.index.names, s.values, null, s.value);
  }
}

interface HistogramSeries extends Series {
  /** Per-bucket (not cumulative) counts; the last slot is `+Inf`. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A distribution over fixed upper bounds, e.g. durations in seconds. */
export class Histogram<L extends string = never> implements Collector {
  private readonly index: SeriesIndex<HistogramSeries, L>;
  private readonly bounds: Float64Array;
  private readonly le: string[];

  constructor(
    readonly name: string,
    private readonly help: string,
    labels: Readonly<Record<L, LabelValues>>,
    buckets: readonly number[],
  ) {
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) {
      throw new Error(`histogram ${name}: buckets must be distinct finite numbers`);
    }
    this.bounds = Float64Array.from(sorted);
    this.le = [...sorted.map(formatNumber), '+Inf'];
    const slots = sorted.length + 1;
    this.index = new SeriesIndex(
      name,
      labels,
      (values) => ({ values, counts: new Float64Array(slots), sum: 0, count: 0 }),
      ['le'],
    );
  }

  observe(labels: Labels<L> | undefined, value: number): void {
    if (Number.isNaN(value)) return;
    const s = this.index.get(labels, true);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }

  /** Observations of one series so far. */
  count(labels?: Labels<L>): number {
    return this.index.get(labels, false)?.count ?? 0;
  }

  render(out: string[]): void {
    header(out, this.name, this.help, 'histogram');
    const names = this.index.names;
    for (const s of this.index.all) {
      let cumulative = 0;
      for (let i = 0; i < this.le.length; i++) {
        cumulative += s.counts[i]!;
        sample(out, `${this.name}_bucket`, names, s.values, this.le[i]!, cumulative);
      }
      sample(out, `${this.name}_sum`, names, s.values, null, s.sum);
      sample(out, `${this.name}_count`, names, s.values, null, s.count);
    }
  }
}

/** The metrics of one server, rendered together. */
export class MetricsRegistry {
  private readonly collectors: Collector[] = [];
  private readonly names = new Set<string>();

  counter<L extends string = never>(opts: {
    name: string;
    help: string;
    labels?: Readonly<Record<L, LabelValues>>;
  }): Counter<L> {
    return this.add(new Counter<L>(this.checked(opts.name), opts.help, opts.labels ?? noLabels()));
  }

  gauge<L extends string = never>(opts: {
    name: string;
    help: string;
    labels?: Readonly<Record<L, LabelValues>>;
    /** Read at every render (e.g. memory in use); otherwise the owner calls `set`. */
    collect?: () => number;
  }): Gauge<L> {
    if (opts.collect && opts.labels && Object.keys(opts.labels).length > 0) {
      throw new Error(`gauge ${opts.name}: a collected gauge has no labels`);
    }
    return this.add(
      new Gauge<L>(this.checked(opts.name), opts.help, opts.labels ?? noLabels(), opts.collect ?? null),
    );
  }

  histogram<L extends string = never>(opts: {
    name: string;
    help: string;
    labels?: Readonly<Record<L, LabelValues>>;
    /** Upper bounds; `+Inf` is implicit. */
    buckets: readonly number[];
  }): Histogram<L> {
    return this.add(
      new Histogram<L>(this.checked(opts.name), opts.help, opts.labels ?? noLabels(), opts.buckets),
    );
  }

  /** Every metric in the text exposition format 0.0.4, newline-terminated. */
  render(): string {
    const out: string[] = [];
    for (const c of this.collectors) c.render(out);
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  private checked(name: string): string {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
    if (this.names.has(name)) throw new Error(`metric ${name} is registered twice`);
    this.names.add(name);
    return name;
  }

  private add<C extends Collector>(collector: C): C {
    this.collectors.push(collector);
    return collector;
  }
}

/** The `Content-Type` of `render()`'s output. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function noLabels<L extends string>(): Readonly<Record<L, LabelValues>> {
  return {} as Record<L, LabelValues>;
}

function header(out: string[], name: string, help: string, type: string): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
}

function sample(
  out: string[],
  name: string,
  labelNames: readonly string[],
  values: readonly string[],
  le: string | null,
  value: number,
): void {
  const pairs: string[] = [];
  for (let i = 0; i < labelNames.length; i++)
    pairs.push(`${labelNames[i]}="${escapeLabelValue(values[i]!)}"`);
  if (le !== null) pairs.push(`le="${le}"`);
  out.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatNumber(value)}`);
}

/** Label values escape `\`, `"` and line feed (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : `\\${ch}`));
}

/** HELP text escapes `\` and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (ch) => (ch === '\n' ? '\\n' : '\\\\'));
}

/** Go-style floats as Prometheus reads them: `+Inf`, `-Inf`, `NaN`, else the shortest decimal. */
export function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  return String(value);
}
