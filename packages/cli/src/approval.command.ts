/**
 * `tessera approval list|show|approve|deny`: human decisions on approval requests (issue 14).
 * Signed in with `tessera login` (a person) or an administrator's access key.
 */

import type { Approval } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { formatTime, renderKeyValues, renderTable } from './output.format.js';

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'used'] as const;
const ID: OptionSpecs = {
  id: { type: 'string', placeholder: 'ID', description: 'approval request id (or give it as argument)' },
};

function approvalId(args: ArgReader): string {
  const flag = args.str('id');
  const [positional, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (flag && positional && flag !== positional) throw new UsageError('give the id once');
  const id = flag ?? positional;
  if (!id) throw new UsageError('the approval request id is required (--id ID)');
  return id;
}

/** One line for the action. */
export function actionText(action: Approval['action']): string {
  switch (action.kind) {
    case 'jit.elevate':
      return `jit.elevate ${action.roleName} for ${action.identityId} (${action.durationSec} s)`;
    case 'mcp.tool_call':
      return `mcp.tool_call ${action.server}/${action.tool}`;
    case 'ciba.token':
      return `ciba.token ${action.clientId} scope "${action.scope}"`;
    case 'secret.read':
      return `secret.read ${action.path}${action.version ? ` v${action.version}` : ''}`;
  }
}

const approversText = (a: Approval['approvers']) =>
  a.kind === 'owner'
    ? `owner of ${a.ownerOf}`
    : a.kind === 'person'
      ? a.person
      : `${a.required ?? 1} of group ${a.group}`;

export function renderApproval(a: Approval, nowMs: number): string {
  return renderKeyValues([
    ['ID', a.id],
    ['Status', a.status],
    ['Requester', `${a.requester.kind} ${a.requester.name} (${a.requester.id})`],
    ['Action', actionText(a.action)],
    ['Justification', a.justification],
    ['Approvers', approversText(a.approvers)],
    ['Created', formatTime(a.createdAt, nowMs)],
    ['Expires', formatTime(a.expiresAt, nowMs)],
    ['Grant expires', a.grantExpiresAt ? formatTime(a.grantExpiresAt, nowMs) : undefined],
    ['Used', a.usedAt ? formatTime(a.usedAt, nowMs) : undefined],
    [
      'Decisions',
      a.decisions.length === 0
        ? '-'
        : a.decisions.map((d) => `${d.decision} by ${d.by}${d.comment ? ` (${d.comment})` : ''}`).join('; '),
    ],
  ]);
}

const list: CommandSpec = {
  path: ['approval', 'list'],
  summary: 'List approval requests you may see (pending ones by default)',
  options: {
    status: {
      type: 'string',
      placeholder: 'STATUS',
      description: `${STATUSES.join(', ')} or all (default pending)`,
    },
    mine: { type: 'boolean', description: 'only your own requests and those you may decide' },
    limit: { type: 'number', placeholder: 'N', description: 'at most N (default 50)' },
  },
  examples: ['tessera approval list', 'tessera approval list --status all --mine --json'],
  async run(ctx, args) {
    const raw = args.str('status') ?? 'pending';
    if (raw !== 'all' && !(STATUSES as readonly string[]).includes(raw))
      throw new UsageError(`--status: expected one of ${STATUSES.join(', ')}, all`);
    const limit = args.positiveInt('limit');
    const query = {
      ...(raw !== 'all' ? { status: raw as (typeof STATUSES)[number] } : {}),
      ...(args.bool('mine') ? { mine: true } : {}),
      ...(limit ? { limit } : {}),
    };
    const page = await ctx.withAdmin((t) => ctx.client.listApprovals(t, query));
    ctx.emit(page, () => {
      if (page.items.length === 0) return 'No approval requests.\n';
      return renderTable(
        ['ID', 'STATUS', 'REQUESTER', 'ACTION', 'EXPIRES'],
        page.items.map((a) => [
          a.id,
          a.status,
          a.requester.name,
          actionText(a.action),
          formatTime(a.expiresAt, ctx.now()),
        ]),
      );
    });
  },
};

const show: CommandSpec = {
  path: ['approval', 'show'],
  summary: 'Show one approval request',
  positionals: '[ID]',
  options: ID,
  examples: ['tessera approval show apr-123', 'tessera approval show apr-123 --json'],
  async run(ctx, args) {
    const id = approvalId(args);
    const a = await ctx.withAdmin((t) => ctx.client.getApproval(t, id));
    ctx.emit(a, () => renderApproval(a, ctx.now()));
  },
};

function decide(decision: 'approve' | 'deny'): CommandSpec {
  return {
    path: ['approval', decision],
    summary: decision === 'approve' ? 'Approve a request (not your own)' : 'Deny a request',
    positionals: '[ID]',
    options: {
      ...ID,
      comment: { type: 'string', placeholder: 'TEXT', description: 'why (recorded in the audit ledger)' },
    },
    examples: [`tessera approval ${decision} apr-123 --comment "ticket OPS-7"`],
    async run(ctx, args) {
      const id = approvalId(args);
      const comment = args.str('comment');
      const a = await ctx.withAdmin((t) =>
        ctx.client.decideApproval(t, id, decision, comment ? { comment } : {}),
      );
      ctx.emit(a, () => `${decision === 'approve' ? 'Approved' : 'Denied'} ${a.id}: now ${a.status}.\n`);
    },
  };
}

/** The approval commands. */
export const approvalCommands: readonly CommandSpec[] = [list, show, decide('approve'), decide('deny')];
