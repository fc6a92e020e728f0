/**
 * `tessera review create|list|show|decide|remind|report`: access-review campaigns in which owners
 * certify each identity's permissions (keep, narrow, revoke) — issue 16, ADR 0029.
 */

import type { ArgReader } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { formatTime, renderKeyValues, renderTable } from './output.format.js';

const KINDS = ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device', 'other'] as const;

function campaignId(args: ArgReader): string {
  const flag = args.str('id');
  const [positional, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (flag && positional && flag !== positional) throw new UsageError('give the id once');
  const id = flag ?? positional;
  if (!id) throw new UsageError('the campaign id is required (--id ar-…)');
  return id;
}
const ID = {
  id: { type: 'string', placeholder: 'ID', description: 'the campaign (ar-…), or as argument' },
} as const;

const summaryLine = (s: {
  total: number;
  pending: number;
  keep: number;
  narrow: number;
  revoke: number;
  expired: number;
}) =>
  `${s.total} identities: ${s.pending} pending, ${s.keep} kept, ${s.narrow} narrowed, ${s.revoke} revoked, ${s.expired} expired`;

const create: CommandSpec = {
  path: ['review', 'create'],
  summary: 'Start an access review: the owners of the identities in scope certify their permissions',
  options: {
    name: { type: 'string', placeholder: 'NAME', required: true, description: 'the campaign name' },
    owner: { type: 'string', placeholder: 'OWNER', description: 'only identities of this owner' },
    environment: { type: 'string', placeholder: 'ENV', description: 'only this environment' },
    kind: { type: 'string', placeholder: 'KIND', description: KINDS.join(', ') },
    tag: { type: 'string', placeholder: 'TAG', description: 'only identities with this tag' },
    'due-days': {
      type: 'number',
      placeholder: 'N',
      required: true,
      description: 'days the owners have (1-365)',
    },
    consequence: {
      type: 'string',
      placeholder: 'WHAT',
      description: 'for no answer by the due date: notify (default) or suspend',
    },
    'remind-hours': { type: 'number', placeholder: 'N', description: 'hours between reminders (default 24)' },
  },
  examples: [
    'tessera review create --name "Q4 production" --environment production --due-days 14 --consequence suspend',
  ],
  async run(ctx, args) {
    const kind = args.choice('kind', KINDS);
    const owner = args.str('owner');
    const environment = args.str('environment');
    const tag = args.str('tag');
    const consequence = args.choice('consequence', ['notify', 'suspend'] as const);
    const remind = args.positiveInt('remind-hours');
    const body = {
      name: args.requireStr('name'),
      scope: {
        ...(owner ? { owner } : {}),
        ...(environment ? { environment } : {}),
        ...(kind ? { kind } : {}),
        ...(tag ? { tag } : {}),
      },
      dueInDays: args.positiveInt('due-days') ?? 0,
      ...(consequence ? { consequence } : {}),
      ...(remind ? { reminderIntervalHours: remind } : {}),
    };
    const c = await ctx.withAdmin((t) => ctx.client.createReview(t, body));
    ctx.emit(
      c,
      () =>
        `Started ${c.id} (${c.name}), due ${formatTime(c.dueAt, ctx.now())}: ${summaryLine(c.summary)}.\n`,
    );
  },
};

const list: CommandSpec = {
  path: ['review', 'list'],
  summary: 'List access-review campaigns',
  options: { state: { type: 'string', placeholder: 'STATE', description: 'open or closed' } },
  examples: ['tessera review list --state open'],
  async run(ctx, args) {
    const state = args.choice('state', ['open', 'closed'] as const);
    const page = await ctx.withAdmin((t) => ctx.client.listReviews(t, state ? { state } : {}));
    ctx.emit(page, () =>
      renderTable(
        ['ID', 'NAME', 'STATE', 'CONSEQUENCE', 'DUE'],
        page.items.map((c) => [c.id, c.name, c.state, c.consequence, formatTime(c.dueAt, ctx.now())]),
      ),
    );
  },
};

const show: CommandSpec = {
  path: ['review', 'show'],
  summary: 'A campaign: its summary and its identities (filter --pending, --owner)',
  positionals: '[ID]',
  options: {
    ...ID,
    pending: { type: 'boolean', description: 'only identities still to decide' },
    owner: { type: 'string', placeholder: 'OWNER', description: 'only this owner’s identities' },
  },
  examples: ['tessera review show ar-123 --pending --owner alice'],
  async run(ctx, args) {
    const id = campaignId(args);
    const owner = args.str('owner');
    const query = {
      ...(args.bool('pending') ? { pending: true } : {}),
      ...(owner ? { owner } : {}),
      limit: 500,
    };
    const c = await ctx.withAdmin((t) => ctx.client.getReview(t, id, query));
    ctx.emit(c, () =>
      [
        renderKeyValues([
          ['campaign', `${c.id} (${c.name})`],
          ['state', c.state],
          ['due', formatTime(c.dueAt, ctx.now())],
          ['no answer', c.consequence],
          ['summary', summaryLine(c.summary)],
        ]),
        renderTable(
          ['IDENTITY', 'NAME', 'OWNER', 'PERMISSIONS', 'UNUSED', 'DECISION'],
          c.items.map((i) => [
            i.identityId,
            i.identityName,
            i.owner,
            String(i.permissions.length),
            String(i.permissions.filter((p) => !p.usedInWindow).length),
            i.decision ?? 'pending',
          ]),
        ),
      ].join(''),
    );
  },
};

const decide: CommandSpec = {
  path: ['review', 'decide'],
  summary:
    'Decide on one identity: keep (certify), narrow (role from observed use) or revoke its permissions',
  positionals: '[ID]',
  options: {
    ...ID,
    identity: { type: 'string', placeholder: 'ID', required: true, description: 'the identity (i-…)' },
    decision: { type: 'string', placeholder: 'WHAT', required: true, description: 'keep, narrow or revoke' },
    comment: { type: 'string', placeholder: 'TEXT', description: 'why (kept in the report)' },
  },
  examples: ['tessera review decide ar-123 --identity i-456 --decision narrow --comment "reads one secret"'],
  async run(ctx, args) {
    const id = campaignId(args);
    const decision = args.choice('decision', ['keep', 'narrow', 'revoke'] as const);
    if (!decision) throw new UsageError('--decision is one of keep, narrow, revoke');
    const comment = args.str('comment');
    const body = { identityId: args.requireStr('identity'), decision, ...(comment ? { comment } : {}) };
    const item = await ctx.withAdmin((t) => ctx.client.decideReview(t, id, body));
    ctx.emit(item, () => `${item.identityName}: ${item.decision} — ${item.outcome ?? ''}\n`);
  },
};

const remind: CommandSpec = {
  path: ['review', 'remind'],
  summary: 'Remind owners with pending identities now; past the due date, apply the consequence and close',
  positionals: '[ID]',
  options: { ...ID },
  examples: ['tessera review remind ar-123'],
  async run(ctx, args) {
    const id = campaignId(args);
    const r = await ctx.withAdmin((t) => ctx.client.remindReview(t, id));
    ctx.emit(
      r,
      () => `Reminded ${r.reminded} owners; ${r.expired} identities expired; the campaign is ${r.state}.\n`,
    );
  },
};

const report: CommandSpec = {
  path: ['review', 'report'],
  summary: 'The campaign report (every identity, its permissions, the decision, who and when)',
  positionals: '[ID]',
  options: { ...ID, format: { type: 'string', placeholder: 'FORMAT', description: 'json (default) or csv' } },
  examples: ['tessera review report ar-123 --format csv > review.csv'],
  async run(ctx, args) {
    const id = campaignId(args);
    const format = args.choice('format', ['json', 'csv'] as const) ?? 'json';
    const answer = await ctx.withAdmin((t) => ctx.client.reviewReport(t, id, format));
    if (typeof answer === 'string') ctx.out(answer);
    else ctx.printJson(answer);
  },
};

export const reviewCommands: readonly CommandSpec[] = [create, list, show, decide, remind, report];
