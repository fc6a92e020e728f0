/**
 * Anomalies (issue 16, ADR 0033): a per-identity baseline learned from the audit ledger — source
 * networks, hours of day, hourly rate, resource prefixes — and the deviations of new events from
 * it. Pure: no clock, no I/O; the caller loads and saves baselines and appends what is found.
 */
import type { AuditSlice } from './governance.repo.js';

export interface AnomalySettings {
  /** How far back the baseline reaches: older hours, sources and prefixes are forgotten. */
  windowDays: number;
  /** No alert until the identity has this many events in its baseline… */
  minEvents: number;
  /** …and a history at least this long (new identities only learn). */
  minDays: number;
  /** A rate spike: events within one hour at least `rateFactor` × the busiest hour seen before… */
  rateFactor: number;
  /** …and at least this many. */
  rateMinEvents: number;
  /** Path segments that make a resource prefix (`/prod/app/db` at depth 2 is `/prod/app`). */
  prefixDepth: number;
  /** Events older than this when detected only feed the baseline (a first fold of old history). */
  staleSeconds: number;
}

export const DEFAULT_ANOMALY_SETTINGS: AnomalySettings = {
  windowDays: 14,
  minEvents: 50,
  minDays: 3,
  rateFactor: 3,
  rateMinEvents: 30,
  prefixDepth: 2,
  staleSeconds: 86_400,
};

/** One identity's baseline (stored as JSON). Times in ms; `hourly` keys are epoch hours (UTC). */
export interface Baseline {
  firstAt: number;
  /** Network (IPv4 /24, IPv6 /64) → last seen. */
  sources: Record<string, number>;
  /** Resource prefix → last seen. */
  prefixes: Record<string, number>;
  /** Epoch hour → events in it. */
  hourly: Record<string, number>;
}

export type AnomalyKind = 'new_source' | 'unusual_hour' | 'rate_spike' | 'new_resource';

export interface Anomaly {
  identityId: string;
  kind: AnomalyKind;
  /** The deviating value: a network, an hour, a count, a prefix. */
  observed: string;
  seq: number;
  atMs: number;
  /** What was seen against what the baseline holds (addresses, paths and counts; never a secret). */
  evidence: Record<string, string | number | null>;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MAX_KEYS = 100;

/** The network an address belongs to: IPv4 /24, IPv6 /64 (a new address in a known network is not new). */
export function networkOf(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.\d+$/i.exec(ip);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (ip.includes(':')) {
    const [head = '', tail = ''] = ip.toLowerCase().split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = ip.includes('::')
      ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
      : left;
    return `${groups
      .slice(0, 4)
      .map((g) => g.replace(/^0+(?=.)/, ''))
      .join(':')}::/64`;
  }
  return ip;
}

export function prefixOf(resource: string, depth: number): string {
  const parts = resource.split('/').filter(Boolean).slice(0, depth);
  return `/${parts.join('/')}`.slice(0, 200);
}

const parseActor = (s: string): string | null => {
  try {
    const a = JSON.parse(s) as { identityId?: unknown };
    return typeof a.identityId === 'string' ? a.identityId : null;
  } catch {
    return null;
  }
};

/** The identity an event was done by, or null (system jobs, anonymous failures). */
export const actorOf = (e: AuditSlice): string | null =>
  e.type.startsWith('governance.') ? null : parseActor(e.actor);

export const emptyBaseline = (atMs: number): Baseline => ({
  firstAt: atMs,
  sources: {},
  prefixes: {},
  hourly: {},
});

/** How many keys a baseline holds (what a fold window counts to bound its memory). */
export const baselineKeys = (b: Baseline): number =>
  Object.keys(b.hourly).length + Object.keys(b.sources).length + Object.keys(b.prefixes).length;

const eventsIn = (b: Baseline) => Object.values(b.hourly).reduce((s, c) => s + c, 0);

/** Keeps the most recent `MAX_KEYS` of a map (bounded baselines). */
function cap(m: Record<string, number>) {
  const keys = Object.keys(m);
  if (keys.length <= MAX_KEYS) return;
  for (const k of keys.sort((a, b) => m[a]! - m[b]!).slice(0, keys.length - MAX_KEYS)) delete m[k];
}

/** Forgets what left the window (called once per fold, with the fold's time). */
export function pruneBaseline(b: Baseline, nowMs: number, s: AnomalySettings): void {
  const from = nowMs - s.windowDays * DAY;
  for (const [h, _] of Object.entries(b.hourly)) if (Number(h) * HOUR < from - HOUR) delete b.hourly[h];
  for (const m of [b.sources, b.prefixes]) {
    for (const [k, at] of Object.entries(m)) if (at < from) delete m[k];
    cap(m);
  }
}

const list = (m: Record<string, number>) =>
  Object.keys(m)
    .sort((a, b) => m[b]! - m[a]!)
    .slice(0, 5)
    .join(', ');

/**
 * Checks one event against its identity's baseline, then learns it. Deviations are reported only
 * once the baseline has enough history and for events that are not stale; each is learned at once,
 * so a new source, prefix or hour alerts once, and a spike once per hour.
 */
export function observe(
  b: Baseline,
  e: AuditSlice,
  identityId: string,
  nowMs: number,
  s: AnomalySettings,
): Anomaly[] {
  const out: Anomaly[] = [];
  const total = eventsIn(b);
  const armed =
    total >= s.minEvents && e.at - b.firstAt >= s.minDays * DAY && nowMs - e.at <= s.staleSeconds * 1000;
  const raise = (kind: AnomalyKind, observed: string, evidence: Anomaly['evidence']) =>
    out.push({
      identityId,
      kind,
      observed,
      seq: e.seq,
      atMs: e.at,
      evidence: {
        eventType: e.type,
        resource: e.resource,
        sourceIp: e.source_ip,
        baselineEvents: total,
        ...evidence,
      },
    });

  if (e.source_ip) {
    const net = networkOf(e.source_ip);
    if (armed && b.sources[net] === undefined)
      raise('new_source', net, {
        network: net,
        knownNetworks: list(b.sources),
        knownNetworkCount: Object.keys(b.sources).length,
      });
    b.sources[net] = e.at;
  }

  if (e.resource?.startsWith('/')) {
    const prefix = prefixOf(e.resource, s.prefixDepth);
    if (armed && b.prefixes[prefix] === undefined)
      raise('new_resource', prefix, {
        prefix,
        knownPrefixes: list(b.prefixes),
        knownPrefixCount: Object.keys(b.prefixes).length,
      });
    b.prefixes[prefix] = e.at;
  }

  if (e.at < b.firstAt) b.firstAt = e.at;
  const bucket = Math.floor(e.at / HOUR);
  const hour = bucket % 24;
  const count = (b.hourly[bucket] ?? 0) + 1;
  b.hourly[bucket] = count;
  // Only an armed check reads the hours (a first fold of old history just counts).
  if (!armed) return out;
  const byHour = Array<number>(24).fill(0);
  byHour[hour] = count - 1; // this hour before this event: a second event in it is not unusual
  let peak = 0;
  for (const [h, c] of Object.entries(b.hourly)) {
    if (Number(h) === bucket) continue;
    byHour[Number(h) % 24]! += c;
    if (c > peak) peak = c;
  }
  if (byHour[(hour + 23) % 24] === 0 && byHour[hour] === 0 && byHour[(hour + 1) % 24] === 0)
    raise('unusual_hour', `${hour}`, {
      hourUtc: hour,
      activeHoursUtc: byHour.flatMap((c, h) => (c > 0 ? [h] : [])).join(','),
    });
  const threshold = Math.max(s.rateMinEvents, Math.ceil(s.rateFactor * peak));
  if (count === threshold)
    raise('rate_spike', `${count}`, { eventsThisHour: count, peakHourBefore: peak, threshold });
  return out;
}

/** An identity's baseline as `GET /v1/inventory/:id/baseline` shows it, with what would alert. */
export interface BaselineView {
  firstSeenAtMs: number;
  events: number;
  /** Enough history to alert (`minEvents` events over `minDays`). */
  armed: boolean;
  networks: { network: string; lastSeenAtMs: number }[];
  prefixes: { prefix: string; lastSeenAtMs: number }[];
  /** Events per hour of day (UTC) over the window. */
  hoursUtc: number[];
  /** The busiest single hour seen, and the count within one hour that would be a spike. */
  peakHourEvents: number;
  rateThreshold: number;
  settings: AnomalySettings;
}

export function describeBaseline(b: Baseline, nowMs: number, s: AnomalySettings): BaselineView {
  const byRecency = (m: Record<string, number>) => Object.entries(m).sort((x, y) => y[1] - x[1]);
  const hoursUtc = Array<number>(24).fill(0);
  let peak = 0;
  for (const [h, c] of Object.entries(b.hourly)) {
    hoursUtc[Number(h) % 24]! += c;
    peak = Math.max(peak, c);
  }
  const events = eventsIn(b);
  return {
    firstSeenAtMs: b.firstAt,
    events,
    armed: events >= s.minEvents && nowMs - b.firstAt >= s.minDays * DAY,
    networks: byRecency(b.sources).map(([network, at]) => ({ network, lastSeenAtMs: at })),
    prefixes: byRecency(b.prefixes).map(([prefix, at]) => ({ prefix, lastSeenAtMs: at })),
    hoursUtc,
    peakHourEvents: peak,
    rateThreshold: Math.max(s.rateMinEvents, Math.ceil(s.rateFactor * peak)),
    settings: s,
  };
}

/**
 * Folds a batch of events into the baselines (by identity), returning the deviations in order.
 * `actors` is `events.map(actorOf)` when the caller has it already (each actor is parsed once).
 */
export function detectAnomalies(
  baselines: Map<string, Baseline>,
  events: readonly AuditSlice[],
  nowMs: number,
  s: AnomalySettings,
  actors: readonly (string | null)[] = events.map(actorOf),
): Anomaly[] {
  const out: Anomaly[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const id = actors[i];
    if (!id) continue;
    const b = baselines.get(id) ?? emptyBaseline(e.at);
    baselines.set(id, b);
    out.push(...observe(b, e, id, nowMs, s));
  }
  for (const b of baselines.values()) pruneBaseline(b, nowMs, s);
  return out;
}
