import type { AuditEvent } from '../../core/audit/audit.model.js';
import type { Page, RequestContext } from '../../core/shared/context.js';
import { conflict, ErrorCodes, notFound, TesseraError, validationError } from '../../core/shared/errors.js';
import type { EventBus } from '../../core/shared/events.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import { type Decider, mayDecide } from '../approvals/approvals.model.js';
import { grantUsed } from './governance.rules.js';
import type { GovernanceService } from './governance.service.js';
import type {
  Campaign,
  CampaignState,
  CampaignSummary,
  Consequence,
  Decision,
  ReviewItem,
  ReviewScope,
} from './reviews.model.js';

const DAY_MS = 86_400_000;
/** A campaign covers at most this many identities (split larger estates by owner or environment). */
export const MAX_CAMPAIGN_IDENTITIES = 20_000;
const PAGE = 500;

export interface ReviewsDeps {
  uow: UnitOfWork;
  clock: Clock;
  events: EventBus;
  ids: Pick<CredentialFactory, 'newId'>;
  governance: Pick<GovernanceService, 'list' | 'narrow' | 'revokeGrants' | 'ingest'>;
}

const event = (type: string, resource: string | null, data: Record<string, unknown>): AuditEvent => ({
  type,
  outcome: 'success',
  actor: {},
  resource,
  data,
});

/**
 * Access reviews (issue 16, ADR 0029). A campaign snapshots the permissions of every identity in its
 * scope; each owner decides per identity: keep (certified), narrow (the role generated from observed
 * use replaces the grants), revoke (every role association removed). Every decision is an audit
 * event. A leader job sends reminders to owners with pending items and, once the due date passes,
 * applies the campaign's consequence to what is still pending: `notify` (an alert to the owner) or
 * `suspend` (the identity is suspended, its sessions end), then closes the campaign.
 */
export function createReviewsService(deps: ReviewsDeps) {
  const { uow, clock, events, ids, governance } = deps;

  async function campaign(id: string): Promise<Campaign> {
    const c = await uow.read((r) => r.reviews.getCampaign(id));
    if (!c) throw notFound('The access review');
    return c;
  }

  async function summary(id: string): Promise<CampaignSummary> {
    const s: CampaignSummary = { total: 0, pending: 0, keep: 0, narrow: 0, revoke: 0, expired: 0 };
    for (let after: string | null = null; ; ) {
      const items = await uow.read((r) => r.reviews.listItems(id, {}, 1000, after));
      for (const i of items) {
        s.total++;
        if (i.decision === null) s.pending++;
        else s[i.decision]++;
      }
      if (items.length < 1000) return s;
      after = items[items.length - 1]!.identityId;
    }
  }

  async function allItems(id: string, filter: { pending?: boolean } = {}): Promise<ReviewItem[]> {
    const out: ReviewItem[] = [];
    for (let after: string | null = null; ; ) {
      const items = await uow.read((r) => r.reviews.listItems(id, filter, 1000, after));
      out.push(...items);
      if (items.length < 1000) return out;
      after = items[items.length - 1]!.identityId;
    }
  }

  /** Reminders per owner with pending items (each an audit event that raises an alert). */
  async function remind(c: Campaign, ctx: RequestContext, now: number) {
    const pending = await allItems(c.id, { pending: true });
    const byOwner = new Map<string, ReviewItem[]>();
    for (const i of pending) byOwner.set(i.owner, [...(byOwner.get(i.owner) ?? []), i]);
    await uow.write(async (r) => {
      for (const [owner, items] of byOwner)
        await r.audit.append(
          event('governance.review_reminder', `/reviews/${c.id}`, {
            campaignId: c.id,
            campaignName: c.name,
            owner,
            pending: items.length,
            identities: items.slice(0, 20).map((i) => i.identityName),
            dueAt: new Date(c.dueAtMs).toISOString(),
          }),
          ctx,
          now,
        );
      await r.reviews.updateCampaign({ ...c, lastRemindedAtMs: now });
    });
    return byOwner.size;
  }

  /** Past the due date: the consequence for each pending item, then the campaign closes. */
  async function expire(c: Campaign, ctx: RequestContext, now: number) {
    const pending = await allItems(c.id, { pending: true });
    await uow.write(async (r) => {
      for (const item of pending) {
        let outcome = 'owner notified';
        if (c.consequence === 'suspend') {
          const current = await r.identities.get(item.identityId);
          if (current && current.state === 'active') {
            await r.identities.update({ ...current, state: 'suspended', updatedAtMs: now });
            await events.publish(r, 'identity.deactivated', { identityId: current.id, state: 'suspended' });
            await r.audit.append(
              event('identity.updated', `/identities/${current.name}`, {
                identityId: current.id,
                changed: ['state'],
                reason: `access review ${c.id} not answered`,
              }),
              ctx,
              now,
            );
            outcome = 'suspended';
          } else outcome = `not suspended (${current?.state ?? 'gone'})`;
        }
        await r.reviews.updateItem({
          ...item,
          decision: 'expired',
          decidedBy: 'system',
          decidedAtMs: now,
          outcome,
        });
        await r.audit.append(
          event('governance.review_expired', `/reviews/${c.id}`, {
            campaignId: c.id,
            campaignName: c.name,
            identityId: item.identityId,
            identityName: item.identityName,
            owner: item.owner,
            consequence: c.consequence,
            outcome,
          }),
          ctx,
          now,
        );
      }
      await r.reviews.updateCampaign({ ...c, state: 'closed', closedAtMs: now });
      await r.audit.append(
        event('governance.review_closed', `/reviews/${c.id}`, {
          campaignId: c.id,
          expired: pending.length,
          consequence: c.consequence,
        }),
        ctx,
        now,
      );
    });
    return pending.length;
  }

  return {
    /** Starts a campaign over the identities in scope (active and suspended), snapshotting their grants. */
    async create(
      input: {
        name: string;
        scope: ReviewScope;
        dueInDays: number;
        consequence: Consequence;
        reminderIntervalHours?: number;
      },
      ctx: RequestContext,
    ): Promise<Campaign & { summary: CampaignSummary }> {
      const now = clock.nowMs();
      const c: Campaign = {
        id: ids.newId('ar-'),
        name: input.name,
        state: 'open',
        scope: input.scope,
        consequence: input.consequence,
        dueAtMs: now + input.dueInDays * DAY_MS,
        reminderIntervalSeconds: Math.round((input.reminderIntervalHours ?? 24) * 3600),
        lastRemindedAtMs: null,
        createdAtMs: now,
        closedAtMs: null,
      };
      // The snapshot says which permissions were used: fold the ledger up to now first.
      await governance.ingest();
      const items: ReviewItem[] = [];
      for (let cursor: string | null = null; ; ) {
        const page = await governance.list(input.scope, PAGE, cursor);
        for (const e of page.items) {
          if (e.state === 'retired') continue;
          items.push({
            campaignId: c.id,
            identityId: e.id,
            identityName: e.name,
            owner: e.owner,
            permissions: e.grants.map((g) => ({
              role: g.roleName,
              ruleType: g.ruleType,
              path: g.path,
              capabilities: [...g.capabilities],
              usedInWindow: grantUsed(g, e.used),
            })),
            decision: null,
            decidedBy: null,
            decidedAtMs: null,
            comment: null,
            outcome: null,
          });
        }
        if (items.length > MAX_CAMPAIGN_IDENTITIES)
          throw validationError(
            `A campaign covers at most ${MAX_CAMPAIGN_IDENTITIES} identities: narrow the scope (owner, environment, kind, tag).`,
            { field: 'scope' },
          );
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      if (items.length === 0)
        throw validationError('No identity is in the scope of this campaign.', { field: 'scope' });
      await uow.write(async (r) => {
        await r.reviews.insertCampaign(c);
        await r.reviews.insertItems(items);
        await r.audit.append(
          event('governance.review_started', `/reviews/${c.id}`, {
            campaignId: c.id,
            name: c.name,
            scope: c.scope,
            identities: items.length,
            consequence: c.consequence,
            dueAt: new Date(c.dueAtMs).toISOString(),
          }),
          ctx,
          now,
        );
      });
      return { ...c, summary: await summary(c.id) };
    },

    /** The name of an identity (its access resource), or null. */
    identityName: (identityId: string) =>
      uow.read(async (r) => (await r.identities.get(identityId))?.name ?? null),

    async get(id: string) {
      const c = await campaign(id);
      return { ...c, summary: await summary(id) };
    },

    async list(state: CampaignState | null, limit: number, cursor: string | null): Promise<Page<Campaign>> {
      const rows = await uow.read((r) => r.reviews.listCampaigns(state, limit + 1, cursor));
      const page = rows.slice(0, limit);
      return { items: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
    },

    async items(
      id: string,
      filter: { pending?: boolean; owner?: string },
      limit: number,
      cursor: string | null,
    ): Promise<Page<ReviewItem>> {
      await campaign(id);
      const rows = await uow.read((r) => r.reviews.listItems(id, filter, limit + 1, cursor));
      const page = rows.slice(0, limit);
      return { items: page, nextCursor: rows.length > limit ? page[page.length - 1]!.identityId : null };
    },

    /**
     * An owner's decision on one identity; narrow and revoke take effect now. Only the item's owner
     * (as the owner string names them: the person, a member of the group) or an administrator
     * decides, by the approvals' rule (`mayDecide`): permission to edit the identity is not enough.
     */
    async decide(
      id: string,
      input: { identityId: string; decision: Exclude<Decision, 'expired'>; comment?: string },
      decider: Decider,
      ctx: RequestContext,
    ): Promise<ReviewItem> {
      const c = await campaign(id);
      if (c.state !== 'open') throw conflict('The access review is closed.');
      const item = await uow.read((r) => r.reviews.getItem(id, input.identityId));
      if (!item) throw notFound('The identity in this access review');
      if (!mayDecide(decider, { kind: 'owner', ownerOf: item.identityId }, item.owner || null)) {
        // A refused decision is audited in its own transaction (the refusal itself writes nothing).
        await uow.write((r) =>
          r.audit.append(
            {
              ...event('governance.review_refused', `/reviews/${c.id}`, {
                campaignId: c.id,
                identityId: item.identityId,
                identityName: item.identityName,
                owner: item.owner,
                decision: input.decision,
                decider: decider.ref,
              }),
              outcome: 'denied',
              reason: 'review_not_owner',
            },
            ctx,
            clock.nowMs(),
          ),
        );
        throw new TesseraError(
          ErrorCodes.REVIEW_NOT_OWNER,
          "Only the identity's owner or an administrator may decide this review item.",
          { internalReason: 'review_not_owner' },
        );
      }
      if (item.decision !== null) throw conflict(`The identity was already decided (${item.decision}).`);
      let outcome = 'certified';
      if (input.decision === 'narrow') {
        const narrowed = await governance.narrow(item.identityId, true, ctx);
        outcome = `narrowed to ${narrowed.applied} (${narrowed.rules.length} rules, ${narrowed.removed.length} removed)`;
      } else if (input.decision === 'revoke') {
        const removed = await governance.revokeGrants(item.identityId, ctx);
        outcome = removed.length > 0 ? `revoked roles ${removed.join(', ')}` : 'no role held';
      }
      const now = clock.nowMs();
      const decided: ReviewItem = {
        ...item,
        decision: input.decision,
        decidedBy: decider.ref,
        decidedAtMs: now,
        comment: input.comment ?? null,
        outcome,
      };
      await uow.write(async (r) => {
        await r.reviews.updateItem(decided);
        await r.audit.append(
          event('governance.review_decided', `/reviews/${c.id}`, {
            campaignId: c.id,
            identityId: item.identityId,
            identityName: item.identityName,
            owner: item.owner,
            decision: input.decision,
            outcome,
          }),
          ctx,
          now,
        );
      });
      return decided;
    },

    /**
     * The campaign's clock: a reminder to each owner with pending items when the interval has
     * passed (or `force`), and the consequence once the due date has passed. The job runs it for
     * every open campaign; `POST /v1/reviews/:id/remind` runs it for one now.
     */
    async process(id: string, ctx: RequestContext, force = false) {
      const c = await campaign(id);
      if (c.state !== 'open') return { reminded: 0, expired: 0, state: c.state };
      const now = clock.nowMs();
      if (now >= c.dueAtMs)
        return { reminded: 0, expired: await expire(c, ctx, now), state: 'closed' as const };
      const due = c.lastRemindedAtMs === null || now - c.lastRemindedAtMs >= c.reminderIntervalSeconds * 1000;
      return { reminded: force || due ? await remind(c, ctx, now) : 0, expired: 0, state: c.state };
    },

    /** The leader job: every open campaign. */
    async processAll(ctx: RequestContext) {
      for (let cursor: string | null = null; ; ) {
        const rows: Campaign[] = await uow.read((r) => r.reviews.listCampaigns('open', 100, cursor));
        for (const c of rows) await this.process(c.id, ctx);
        if (rows.length < 100) return;
        cursor = rows[rows.length - 1]!.id;
      }
    },

    /** The report: the campaign, its summary and every item with decision, who and when. */
    async report(id: string) {
      const c = await campaign(id);
      return { campaign: c, summary: await summary(id), items: await allItems(id) };
    },
  };
}

export type ReviewsService = ReturnType<typeof createReviewsService>;
