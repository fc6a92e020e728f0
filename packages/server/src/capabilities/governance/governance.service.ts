import type { Resource } from '../../core/access/access.policy.js';
import type { AuditEvent } from '../../core/audit/audit.model.js';
import type { RolesService } from '../../core/roles/roles.service.js';
import { type Page, type RequestContext, systemContext } from '../../core/shared/context.js';
import { notFound, validationError } from '../../core/shared/errors.js';
import type { EventBus } from '../../core/shared/events.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import { sha256Base64Url } from '../../crypto/credentials.js';
import { whoCan } from './access.graph.js';
import { loadAccessEstate } from './access.graph.load.js';
import {
  type Anomaly,
  type AnomalySettings,
  actorOf,
  type Baseline,
  baselineKeys,
  DEFAULT_ANOMALY_SETTINGS,
  describeBaseline,
  detectAnomalies,
} from './anomaly.rules.js';
import { buildFacts, type FactsOptions } from './governance.facts.js';
import {
  DEFAULT_POLICY,
  type Finding,
  type InventoryEntry,
  type LeakSource,
  type NarrowedRole,
  type OwnerDirectory,
  type PosturePolicy,
  type RetirementReport,
  type StoredFinding,
} from './governance.model.js';
import { type InventoryFilter, SCAN_SEEN_AT, type UsageRow } from './governance.repo.js';
import { evaluate, narrowRole, riskScore } from './governance.rules.js';
import { foldUsage, mergeUsage } from './governance.usage.js';

const SCAN_PAGE = 1000;
const AUDIT_BATCH = 20_000;
/**
 * A fold window: events merged in memory before one write (bounded by events and baseline size).
 * One batch (ADR 0054): a window of 200,000 saved ~3 s of CPU at 1M events but nearly doubled the
 * scan's peak memory and held the write lock for seconds, stalling every other write meanwhile.
 */
const FOLD_EVENTS = AUDIT_BATCH;
const FOLD_BASELINE_KEYS = 3_000_000;
const CURSOR = 'audit-seq';

export interface GovernanceDeps {
  uow: UnitOfWork;
  clock: Clock;
  events: EventBus;
  roles: RolesService;
  /** The leaks capability's view of leaked credentials (NHI2); null without it. */
  leakSource?: LeakSource | null;
  /** Anomaly detection thresholds (ADR 0033); the defaults otherwise. */
  anomaly?: Partial<AnomalySettings>;
  /** The people known from sign-in and their groups (issue 14); null while nobody has signed in. */
  ownerDirectory?: () => Promise<OwnerDirectory | null>;
}

/**
 * Per identity, a digest of what a scan writes of its findings (key, severity, evidence): equal
 * digests mean the stored findings are already exactly these (ADR 0054).
 */
function findingsDigests(entries: readonly InventoryEntry[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of entries) {
    let text = '';
    for (const f of e.findings) text += `${f.key}\u0000${f.severity}\u0000${JSON.stringify(f.evidence)}\n`;
    out.set(e.id, sha256Base64Url(text));
  }
  return out;
}

const event = (type: string, resource: string | null, data: Record<string, unknown>): AuditEvent => ({
  type,
  outcome: 'success',
  actor: {},
  resource,
  data,
});

const anomalyEvent = (a: Anomaly): AuditEvent =>
  event('governance.anomaly', `/identities/${a.identityId}`, {
    identityId: a.identityId,
    kind: a.kind,
    observed: a.observed,
    eventSeq: a.seq,
    eventAt: new Date(a.atMs).toISOString(),
    ...a.evidence,
  });

/**
 * The inventory, posture scans, narrowed roles, retirement and offboarding (issue 16). Reads build
 * facts a page at a time; the scan folds new audit events into usage, then evaluates every
 * identity and opens and resolves findings.
 */
export function createGovernanceService({
  uow,
  clock,
  events,
  roles,
  leakSource = null,
  anomaly = {},
  ownerDirectory = async () => null,
}: GovernanceDeps) {
  const anomalySettings: AnomalySettings = { ...DEFAULT_ANOMALY_SETTINGS, ...anomaly };

  async function policy(): Promise<PosturePolicy> {
    const [stored, gone] = await uow.read(async (r) =>
      Promise.all([r.governance.readPolicy(), r.governance.listGoneOwners()]),
    );
    const merged = { ...DEFAULT_POLICY, ...(stored ?? {}) } as PosturePolicy;
    return { ...merged, goneOwners: [...new Set([...merged.goneOwners, ...gone])] };
  }

  /**
   * Folds audit events recorded since the last fold into usage and the anomaly baselines, in the
   * same transaction as the cursor (each event is folded once, by one server); each deviation is
   * appended as `governance.anomaly`, which the alert rules turn into an `identity_anomaly` alert.
   * Events are read `AUDIT_BATCH` at a time, but a backlog is written a fold window at a time
   * (ADR 0054): usage rows and baselines are merged in memory across the window's batches, so an
   * identity seen in many batches costs one usage upsert per row and one baseline write per window,
   * not per batch. Each batch is still checked and pruned exactly as if it were written on its own.
   * Returns how many events were read.
   */
  async function ingest(): Promise<number> {
    let total = 0;
    for (;;) {
      const from = await uow.read((r) => r.governance.readCursor(CURSOR));
      const usage = new Map<string, UsageRow>();
      const baselines = new Map<string, Baseline>();
      const anomalies: { a: Anomaly; now: number }[] = [];
      let last = from;
      let read = 0;
      let budget = 0; // baseline keys held: loaded ones, plus at most three per event folded
      let now = clock.nowMs();
      for (;;) {
        const batch = await uow.read((r) => r.governance.readAuditAfter(last, AUDIT_BATCH));
        if (batch.length === 0) break;
        const actors = batch.map(actorOf); // each actor parsed once, for usage and baselines
        mergeUsage(usage, foldUsage(batch, actors));
        const ids = [...new Set(actors.filter((x): x is string => x !== null))];
        const missing = ids.filter((id) => !baselines.has(id));
        const loaded = missing.length > 0 ? await uow.read((r) => r.governance.readBaselines(missing)) : null;
        const touched = new Map<string, Baseline>();
        for (const id of ids) {
          const b = baselines.get(id) ?? loaded?.get(id);
          if (!b) continue;
          if (!baselines.has(id)) budget += baselineKeys(b);
          touched.set(id, b);
        }
        now = clock.nowMs();
        for (const a of detectAnomalies(touched, batch, now, anomalySettings, actors))
          anomalies.push({ a, now });
        for (const [id, b] of touched) baselines.set(id, b);
        budget += 3 * batch.length;
        last = batch[batch.length - 1]!.seq;
        read += batch.length;
        if (batch.length < AUDIT_BATCH || read >= FOLD_EVENTS || budget >= FOLD_BASELINE_KEYS) break;
      }
      if (read === 0) return total;
      const wrote = await uow.write(async (r) => {
        // Another server may have folded the same events (a scan on demand during the job): skip them.
        if ((await r.governance.readCursor(CURSOR)) !== from) return false;
        await r.governance.addUsage([...usage.values()]);
        await r.governance.saveBaselines(baselines, now);
        for (const { a, now: at } of anomalies)
          await r.audit.append(anomalyEvent(a), systemContext('anomaly-detection'), at);
        await r.governance.setCursor(CURSOR, last);
        return true;
      });
      if (!wrote) continue;
      total += read;
      if (read < FOLD_EVENTS && budget < FOLD_BASELINE_KEYS) return total;
    }
  }

  async function entries(
    rows: Awaited<ReturnType<typeof loadPage>>,
    p: PosturePolicy,
    nowMs: number,
    options: FactsOptions = {},
  ): Promise<InventoryEntry[]> {
    const facts = await uow.read((r) => buildFacts(r, rows, p.usageWindowDays, nowMs, leakSource, options));
    const owners = await ownerDirectory();
    return facts.map((f) => {
      const findings = evaluate(f, p, nowMs, owners);
      return { ...f, findings, riskScore: riskScore(f, findings) };
    });
  }
  const loadPage = (filter: InventoryFilter, after: string | null, limit: number) =>
    uow.read((r) => r.governance.listIdentities(filter, after, limit));

  /** The auth methods an identity's grants come through (its own, and those of its UID tokens). */
  async function methodIdsOf(e: InventoryEntry): Promise<Set<string>> {
    const methods = e.credentials
      .filter((c) => c.kind !== 'lease' && c.kind !== 'uid_token')
      .map((c) => c.id);
    const uidMethods = await uow.read(async (r) => {
      const out: string[] = [];
      for (const c of e.credentials.filter((c) => c.kind === 'uid_token')) {
        const m = await r.authMethods.getByName(c.via);
        if (m) out.push(m.id);
      }
      return out;
    });
    return new Set([...methods, ...uidMethods]);
  }

  async function entry(id: string): Promise<InventoryEntry> {
    // One identity: fold what the ledger recorded since the last fold, so its use is current.
    await ingest();
    const rows = await uow.read((r) => r.identities.get(id));
    if (!rows) throw notFound('The identity');
    const [found] = await entries(
      [
        {
          id: rows.id,
          name: rows.name,
          kind: rows.kind,
          owner: rows.owner,
          environment: rows.environment,
          state: rows.state,
          created_at: rows.createdAtMs,
          last_used_at: rows.lastUsedAtMs,
        },
      ],
      await policy(),
      clock.nowMs(),
    );
    return found!;
  }

  return {
    policy,
    ingest,

    /** Who can reach `resource`, through which paths, and who can grant itself more (ADR 0043). */
    async whoCan(resource: Resource) {
      const estate = await uow.read((r) => loadAccessEstate(r, resource, clock.nowMs()));
      return whoCan(estate, resource);
    },
    /** An identity's anomaly baseline and the thresholds in force (ADR 0033). */
    async baseline(identityId: string) {
      const [identity, baselines] = await uow.read((r) =>
        Promise.all([r.identities.get(identityId), r.governance.readBaselines([identityId])]),
      );
      const b = baselines.get(identityId);
      if (!identity && !b) throw notFound('The identity');
      return {
        identityId,
        baseline: b ? describeBaseline(b, clock.nowMs(), anomalySettings) : null,
        settings: anomalySettings,
      };
    },
    async setPolicy(patch: Partial<Omit<PosturePolicy, 'goneOwners'>>, ctx: RequestContext) {
      const now = clock.nowMs();
      await uow.write(async (r) => {
        const current = (await r.governance.readPolicy()) ?? {};
        const next = { ...current, ...patch };
        await r.governance.savePolicy(next, now);
        await r.audit.append(
          event('governance.policy_updated', null, { changed: Object.keys(patch).sort() }),
          ctx,
          now,
        );
      });
      return policy();
    },

    /** One page of the inventory (keyset on the identity id), each line evaluated now. */
    async list(filter: InventoryFilter, limit: number, cursor: string | null): Promise<Page<InventoryEntry>> {
      const rows = await loadPage(filter, cursor, limit + 1);
      const page = rows.slice(0, limit);
      // Unfiltered, the page is every identity of its id range: its facts are read by range.
      const contiguous = Object.values(filter).every((v) => v === undefined || v === '');
      const items = await entries(page, await policy(), clock.nowMs(), { after: cursor, contiguous });
      return { items, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
    },

    show: entry,

    /**
     * The full scan: fold new audit events, evaluate every identity, open new findings and resolve
     * those no longer seen. Run by the leader's job and on demand.
     */
    async scan(ctx: RequestContext) {
      const started = clock.nowMs();
      const folded = await ingest();
      const p = await policy();
      const catalogue = await uow.read((r) => r.governance.loadRoleCatalogue());
      let identities = 0;
      let opened = 0;
      let resolved = 0;
      let open = 0;
      for (let after: string | null = null; ; ) {
        const rows = await loadPage({}, after, SCAN_PAGE);
        if (rows.length === 0) break;
        const now = clock.nowMs();
        const scored = await entries(rows, p, now, { after, contiguous: true, catalogue });
        const found: StoredFinding[] = scored.flatMap((e) =>
          e.findings.map((f) => ({ ...f, firstSeenAtMs: now, lastSeenAtMs: now, resolvedAtMs: null })),
        );
        const outcome = await uow.write((r) =>
          r.governance.saveScanPage(
            { ids: rows.map((x) => x.id), range: { after, last: rows[rows.length - 1]!.id } },
            found,
            findingsDigests(scored),
            now,
          ),
        );
        identities += rows.length;
        opened += outcome.opened;
        resolved += outcome.resolved;
        open += found.length;
        after = rows[rows.length - 1]!.id;
        if (rows.length < SCAN_PAGE) break;
      }
      // Every identity was evaluated: an open finding not rewritten was seen by this scan.
      await uow.write(async (r) => {
        if ((await r.governance.readCursor(SCAN_SEEN_AT)) < started)
          await r.governance.setCursor(SCAN_SEEN_AT, started);
      });
      const summary = {
        identities,
        auditEventsFolded: folded,
        open,
        opened,
        resolved,
        tookMs: clock.nowMs() - started,
      };
      await uow.write(async (r) => {
        await r.audit.append(event('governance.scanned', null, { ...summary }), ctx, clock.nowMs());
        await events.publish(r, 'governance.scanned', { opened, resolved, open });
      });
      return summary;
    },

    async findings(opts: {
      owasp?: string;
      includeResolved?: boolean;
      cursor?: string | null;
      limit: number;
    }) {
      const rows = await uow.read((r) =>
        r.governance.listFindings({
          ...(opts.owasp ? { owasp: opts.owasp } : {}),
          ...(opts.includeResolved ? { includeResolved: true } : {}),
          afterKey: opts.cursor ?? null,
          limit: opts.limit + 1,
        }),
      );
      const page = rows.slice(0, opts.limit);
      return { items: page, nextCursor: rows.length > opts.limit ? page[page.length - 1]!.key : null };
    },

    async finding(key: string): Promise<StoredFinding> {
      const f = await uow.read((r) => r.governance.getFinding(key));
      if (!f) throw notFound('The finding');
      return f;
    },

    /** A role of exactly the permissions used in the window; `apply` puts it in place of the old grants. */
    async narrow(
      id: string,
      apply: boolean,
      ctx: RequestContext,
    ): Promise<NarrowedRole & { applied: string | null }> {
      const e = await entry(id);
      const p = await policy();
      const narrowed = narrowRole(e, p.usageWindowDays);
      if (!apply) return { ...narrowed, applied: null };
      const stamp = new Date(clock.nowMs())
        .toISOString()
        .replace(/[-:TZ.]/g, '')
        .slice(0, 14);
      const roleName = `narrowed/${e.name.replace(/^\/+/, '')}/${stamp}`;
      await roles.create(
        { name: roleName, description: `Generated from the use of ${e.name} over ${p.usageWindowDays} days` },
        ctx,
      );
      for (const rule of narrowed.rules) await roles.setRule(roleName, rule, ctx);
      for (const methodId of await methodIdsOf(e)) {
        const before = await roles.associationsOfMethod(methodId);
        await roles.associate(roleName, { id: methodId }, null, ctx);
        for (const a of before) await roles.deleteAssociation(a.id, ctx).catch(() => {});
      }
      return { ...narrowed, applied: roleName };
    },

    /**
     * Removes every role association of the identity's auth methods (an access review's `revoke`):
     * its credentials stay, but they grant nothing. Returns the roles it no longer holds.
     */
    async revokeGrants(id: string, ctx: RequestContext): Promise<string[]> {
      const e = await entry(id);
      const removed = new Set<string>();
      for (const methodId of await methodIdsOf(e))
        for (const a of await roles.associationsOfMethod(methodId)) {
          await roles.deleteAssociation(a.id, ctx);
          removed.add(a.roleName);
        }
      return [...removed].sort();
    },

    /** What retiring would revoke (the preview of the remediation). */
    async previewRetire(id: string) {
      const e = await entry(id);
      return {
        identityId: e.id,
        identityName: e.name,
        wouldRevoke: e.credentials.filter((c) => c.live).map((c) => ({ kind: c.kind, id: c.id, via: c.via })),
      };
    },

    /**
     * Retires an identity and revokes every credential it holds, in one transaction: access keys,
     * OAuth clients and federation bindings end (their methods expire now), UID tokens are revoked,
     * session tokens are revoked and leases made due (through `identity.deactivated`).
     */
    async retire(id: string, ctx: RequestContext): Promise<RetirementReport> {
      const now = clock.nowMs();
      return uow.write(async (r) => {
        const current = await r.identities.get(id);
        if (!current) throw notFound('The identity');
        const leases = await r.governance.listLeases({ ids: [id], range: null });
        await r.identities.update({
          ...current,
          state: 'retired',
          retiredAtMs: current.retiredAtMs ?? now,
          updatedAtMs: now,
        });
        await events.publish(r, 'identity.deactivated', { identityId: id, state: 'retired' });
        const methods = await r.governance.expireMethods(id, now);
        for (const m of methods)
          await events.publish(r, 'auth_method.changed', { authMethodId: m.id, change: 'updated' });
        const nodes = await r.governance.revokeUidNodes(id, now);
        const kindOf: Record<string, RetirementReport['revoked'][number]['kind']> = {
          access_key: 'access_key',
          oauth_client: 'oauth_client',
          oidc_federation: 'federation_binding',
          universal_identity: 'uid_token',
        };
        const revoked: RetirementReport['revoked'] = [
          ...methods.map((m) => ({ kind: kindOf[m.type] ?? 'access_key', id: m.id, via: m.name })),
          ...nodes.map((x) => ({ kind: 'uid_token' as const, id: x.id, via: x.via })),
          ...leases.map((l) => ({ kind: 'lease' as const, id: l.id, via: l.item_name })),
          { kind: 'session_tokens' as const, id, via: 'identity' },
        ];
        if (current.state !== 'retired')
          await r.audit.append(
            event('identity.retired', `/identities/${current.name}`, { identityId: id }),
            ctx,
            now,
          );
        await r.audit.append(
          event('governance.credentials_revoked', `/identities/${current.name}`, {
            identityId: id,
            methods: methods.length,
            uidTokens: nodes.length,
            leases: leases.length,
          }),
          ctx,
          now,
        );
        return {
          identityId: id,
          identityName: current.name,
          state: 'retired',
          revoked,
          leasesDue: leases.length,
        };
      });
    },

    /** Reassigns (`to`) and/or suspends every identity of a departed owner, in one transaction. */
    async offboardOwner(
      input: { owner: string; to?: string | null; suspend?: boolean; preview?: boolean },
      ctx: RequestContext,
    ) {
      if (!input.to && !input.suspend) throw validationError('Give --to <owner> or --suspend (or both).');
      if (input.to === input.owner) throw validationError('The new owner must differ from the departed one.');
      const now = clock.nowMs();
      const plan = (list: { id: string; name: string; state: string }[]) =>
        list
          .filter((x) => x.state !== 'retired')
          .map((x) => ({
            id: x.id,
            name: x.name,
            owner: input.to ?? input.owner,
            state: input.suspend && x.state === 'active' ? 'suspended' : x.state,
            was: x.state,
          }));
      const result = (identities: ReturnType<typeof plan>, preview: boolean) => ({
        owner: input.owner,
        to: input.to ?? null,
        suspend: Boolean(input.suspend),
        preview,
        identities: identities.map(({ was: _was, ...x }) => x),
      });
      if (input.preview)
        return result(plan(await uow.read((r) => r.governance.listIdentityIdsOfOwner(input.owner))), true);
      return uow.write(async (r) => {
        const changed = plan(await r.governance.listIdentityIdsOfOwner(input.owner));
        for (const x of changed) {
          const current = await r.identities.get(x.id);
          if (!current) continue;
          const state = x.state as typeof current.state;
          await r.identities.update({ ...current, owner: x.owner, state, updatedAtMs: now });
          if (state === 'suspended' && current.state === 'active')
            await events.publish(r, 'identity.deactivated', { identityId: x.id, state: 'suspended' });
          await r.audit.append(
            event('identity.updated', `/identities/${x.name}`, {
              identityId: x.id,
              changed: [...(input.to ? ['owner'] : []), ...(state !== x.was ? ['state'] : [])],
            }),
            ctx,
            now,
          );
        }
        await r.governance.markOwnerOffboarded(input.owner, input.to ?? null, now);
        await r.audit.append(
          event('governance.owner_offboarded', null, {
            owner: input.owner,
            to: input.to ?? null,
            suspended: Boolean(input.suspend),
            identities: changed.length,
          }),
          ctx,
          now,
        );
        return result(changed, false);
      });
    },

    /** Sets an owner on an identity (the `assign-owner` remediation). */
    async assignOwner(id: string, owner: string, ctx: RequestContext) {
      const now = clock.nowMs();
      return uow.write(async (r) => {
        const current = await r.identities.get(id);
        if (!current) throw notFound('The identity');
        await r.identities.update({ ...current, owner, updatedAtMs: now });
        await r.audit.append(
          event('identity.updated', `/identities/${current.name}`, { identityId: id, changed: ['owner'] }),
          ctx,
          now,
        );
        return { identityId: id, owner };
      });
    },
  };
}

export type GovernanceService = ReturnType<typeof createGovernanceService>;
export type { Finding };
