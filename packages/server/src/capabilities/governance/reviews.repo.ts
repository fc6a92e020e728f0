import type { Kysely, Migration } from 'kysely';
import type { QueryTarget } from '../../storage/prepared.js';
import type {
  Campaign,
  CampaignState,
  Consequence,
  Decision,
  ReviewItem,
  ReviewScope,
} from './reviews.model.js';

/** Access-review campaigns and their items (one per identity in scope). */
export interface ReviewsRepo {
  insertCampaign(c: Campaign): Promise<void>;
  updateCampaign(c: Campaign): Promise<void>;
  getCampaign(id: string): Promise<Campaign | null>;
  listCampaigns(state: CampaignState | null, limit: number, afterId: string | null): Promise<Campaign[]>;
  insertItems(items: readonly ReviewItem[]): Promise<void>;
  updateItem(item: ReviewItem): Promise<void>;
  getItem(campaignId: string, identityId: string): Promise<ReviewItem | null>;
  listItems(
    campaignId: string,
    filter: { pending?: boolean; owner?: string },
    limit: number,
    afterIdentityId: string | null,
  ): Promise<ReviewItem[]>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    reviews: ReviewsRepo;
  }
}

export const reviewsMigrations = (): Record<string, Migration> => ({
  '0001-access-reviews': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('gov_review_campaigns')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('consequence', 'text', (c) => c.notNull())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('reminder_interval_seconds', 'integer', (c) => c.notNull())
        .addColumn('last_reminded_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('closed_at', 'bigint')
        .execute();
      await db.schema
        .createTable('gov_review_items')
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('identity_name', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('decision', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'bigint')
        .addColumn('comment', 'text')
        .addColumn('outcome', 'text')
        .addPrimaryKeyConstraint('gov_review_items_pk', ['campaign_id', 'identity_id'])
        .execute();
    },
  },
});

interface CampaignRow {
  id: string;
  name: string;
  state: string;
  scope: string;
  consequence: string;
  due_at: number | string;
  reminder_interval_seconds: number | string;
  last_reminded_at: number | string | null;
  created_at: number | string;
  closed_at: number | string | null;
}
interface ItemRow {
  campaign_id: string;
  identity_id: string;
  identity_name: string;
  owner: string;
  permissions: string;
  decision: string | null;
  decided_by: string | null;
  decided_at: number | string | null;
  comment: string | null;
  outcome: string | null;
}
interface Tables {
  gov_review_campaigns: CampaignRow;
  gov_review_items: ItemRow;
}

const n = (v: number | string | null) => (v === null ? null : Number(v));
const toCampaign = (r: CampaignRow): Campaign => ({
  id: r.id,
  name: r.name,
  state: r.state as CampaignState,
  scope: JSON.parse(r.scope) as ReviewScope,
  consequence: r.consequence as Consequence,
  dueAtMs: Number(r.due_at),
  reminderIntervalSeconds: Number(r.reminder_interval_seconds),
  lastRemindedAtMs: n(r.last_reminded_at),
  createdAtMs: Number(r.created_at),
  closedAtMs: n(r.closed_at),
});
const campaignRow = (c: Campaign): CampaignRow => ({
  id: c.id,
  name: c.name,
  state: c.state,
  scope: JSON.stringify(c.scope),
  consequence: c.consequence,
  due_at: c.dueAtMs,
  reminder_interval_seconds: c.reminderIntervalSeconds,
  last_reminded_at: c.lastRemindedAtMs,
  created_at: c.createdAtMs,
  closed_at: c.closedAtMs,
});
const toItem = (r: ItemRow): ReviewItem => ({
  campaignId: r.campaign_id,
  identityId: r.identity_id,
  identityName: r.identity_name,
  owner: r.owner,
  permissions: JSON.parse(r.permissions) as ReviewItem['permissions'],
  decision: r.decision as Decision | null,
  decidedBy: r.decided_by,
  decidedAtMs: n(r.decided_at),
  comment: r.comment,
  outcome: r.outcome,
});
const itemRow = (i: ReviewItem): ItemRow => ({
  campaign_id: i.campaignId,
  identity_id: i.identityId,
  identity_name: i.identityName,
  owner: i.owner,
  permissions: JSON.stringify(i.permissions),
  decision: i.decision,
  decided_by: i.decidedBy,
  decided_at: i.decidedAtMs,
  comment: i.comment,
  outcome: i.outcome,
});

export function createReviewsRepo({ db }: QueryTarget): ReviewsRepo {
  const t = db as unknown as Kysely<Tables>;
  return {
    async insertCampaign(c) {
      await t.insertInto('gov_review_campaigns').values(campaignRow(c)).execute();
    },
    async updateCampaign(c) {
      const { id, ...rest } = campaignRow(c);
      await t.updateTable('gov_review_campaigns').set(rest).where('id', '=', id).execute();
    },
    async getCampaign(id) {
      const r = await t
        .selectFrom('gov_review_campaigns')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return r ? toCampaign(r) : null;
    },
    async listCampaigns(state, limit, afterId) {
      let q = t.selectFrom('gov_review_campaigns').selectAll();
      if (state) q = q.where('state', '=', state);
      if (afterId) q = q.where('id', '>', afterId);
      return (await q.orderBy('id').limit(limit).execute()).map(toCampaign);
    },
    async insertItems(items) {
      for (let i = 0; i < items.length; i += 50)
        await t
          .insertInto('gov_review_items')
          .values(items.slice(i, i + 50).map(itemRow))
          .execute();
    },
    async updateItem(item) {
      const { campaign_id, identity_id, ...rest } = itemRow(item);
      await t
        .updateTable('gov_review_items')
        .set(rest)
        .where('campaign_id', '=', campaign_id)
        .where('identity_id', '=', identity_id)
        .execute();
    },
    async getItem(campaignId, identityId) {
      const r = await t
        .selectFrom('gov_review_items')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .where('identity_id', '=', identityId)
        .executeTakeFirst();
      return r ? toItem(r) : null;
    },
    async listItems(campaignId, filter, limit, afterIdentityId) {
      let q = t.selectFrom('gov_review_items').selectAll().where('campaign_id', '=', campaignId);
      if (filter.pending) q = q.where('decision', 'is', null);
      if (filter.owner) q = q.where('owner', '=', filter.owner);
      if (afterIdentityId) q = q.where('identity_id', '>', afterIdentityId);
      return (await q.orderBy('identity_id').limit(limit).execute()).map(toItem);
    },
  };
}
