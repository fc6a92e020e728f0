/**
 * `tessera audit list|failures|hash`: read the audit ledger (filtered, paged, or followed live) and
 * compute the audit hash of a value to search for it.
 */

import type { AuditEvent, ListAuditEventsQuery } from '@tessera/sdk';
import type { ArgReader } from './argv.parser.js';
import { formatAuditLine, formatFailureLine, jsonLine, parseAuditTime } from './audit-events.format.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';

const OUTCOMES = ['success', 'failure', 'denied'] as const;
/** What `--follow` waits between polls. */
export const FOLLOW_INTERVAL_MS = 1000;
/** The server's page maximum: a poll that fills it is followed at once by the next. */
const PAGE_MAX = 500;
/** The event types of a failed authentication. */
const FAILED_AUTH_TYPES = 'auth.failed,uid.*';

function limitOf(args: ArgReader): number | undefined {
  const limit = args.positiveInt('limit');
  if (limit !== undefined && limit > PAGE_MAX) throw new UsageError(`--limit must be at most ${PAGE_MAX}`);
  return limit;
}

function filterOf(ctx: CommandContext, args: ArgReader): ListAuditEventsQuery {
  const q: ListAuditEventsQuery = {};
  const identityId = args.str('identity-id');
  const authMethodId = args.str('auth-method-id');
  const type = args.str('type');
  const outcome = args.choice('outcome', OUTCOMES);
  const resourcePrefix = args.str('resource-prefix');
  const party = args.list('party');
  const since = args.str('since');
  const until = args.str('until');
  if (identityId) q.identityId = identityId;
  if (authMethodId) q.authMethodId = authMethodId;
  if (type) q.type = type;
  if (outcome) q.outcome = outcome;
  if (resourcePrefix) q.resourcePrefix = resourcePrefix;
  if (party) q.party = party.join(',');
  if (since) q.since = parseAuditTime(since, ctx.now(), 'since');
  if (until) q.until = parseAuditTime(until, ctx.now(), 'until');
  return q;
}

/** Prints events oldest first (the API pages newest first), as readable lines or JSON lines. */
function printer(ctx: CommandContext, readable: (e: AuditEvent) => string) {
  return (events: readonly AuditEvent[]) => {
    for (const e of events) ctx.out(ctx.json ? jsonLine(e) : readable(e));
  };
}

/** Sleeps `ms`, or less when `wake` is called. */
function pause(ms: number, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    onWake(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Polls for events after `afterSeq` until SIGINT/SIGTERM, then returns normally (exit code 0): the
 * signal aborts the request in flight and cuts the pause short.
 */
async function follow(
  ctx: CommandContext,
  query: ListAuditEventsQuery,
  afterSeq: number,
  print: (events: readonly AuditEvent[]) => void,
): Promise<void> {
  const abort = new AbortController();
  let wake = (): void => {};
  const stopListening = ctx.io.onShutdownSignal(() => {
    abort.abort();
    wake();
  });
  let after = afterSeq;
  try {
    while (!abort.signal.aborted) {
      const poll = { ...query, afterSeq: after, limit: PAGE_MAX };
      const page = await ctx
        .withAdmin((t) => ctx.client.listAuditEvents(t, poll, { signal: abort.signal }))
        .catch((err: unknown) => {
          if (abort.signal.aborted) return null;
          throw err;
        });
      if (!page) break;
      print(page.items);
      const last = page.items.at(-1);
      if (last) after = last.seq;
      if (page.items.length < PAGE_MAX && !abort.signal.aborted) {
        await pause(FOLLOW_INTERVAL_MS, (w) => {
          wake = w;
        });
      }
    }
  } finally {
    stopListening();
  }
}

const list: CommandSpec = {
  path: ['audit', 'list'],
  summary: 'Show audit events (filters, paging, --follow for a live tail)',
  details:
    'Readable output is one line per event, oldest first: time, outcome, type, resource, actor ' +
    '(identity/auth method/UID node) and the internal reason. --json prints {"items": [events], ' +
    '"nextCursor"} like every list, and with --follow JSON lines (one event per line, as they come). Without --follow the newest --limit events are shown (default 100) and older ones are paged ' +
    'with --cursor; --follow then keeps printing new events every second until interrupted (Ctrl-C). ' +
    '--since and --until take an ISO-8601 time or a duration ago (15m, 2h, 7d).',
  options: {
    'identity-id': { type: 'string', placeholder: 'ID', description: 'events acted by this identity' },
    'auth-method-id': {
      type: 'string',
      placeholder: 'ID',
      description: 'events acted through this auth method',
    },
    type: {
      type: 'string',
      placeholder: 'TYPE',
      description: 'event type or prefix ending in * (uid.token.*); comma-separated for several',
    },
    outcome: { type: 'string', placeholder: 'OUTCOME', description: OUTCOMES.join(', ') },
    'resource-prefix': { type: 'string', placeholder: 'PATH', description: 'resources starting with PATH' },
    party: {
      type: 'list',
      placeholder: 'IDS',
      description: 'events where every one of these ids (i-…, p-…) acted or is a party of a delegation',
    },
    since: {
      type: 'string',
      placeholder: 'TIME',
      description: 'from this time (ISO-8601, or 15m, 2h, 7d ago)',
    },
    until: { type: 'string', placeholder: 'TIME', description: 'before this time' },
    limit: { type: 'number', placeholder: 'N', description: 'events per page (1-500; default 100)' },
    cursor: {
      type: 'string',
      placeholder: 'CURSOR',
      description: 'older events: the cursor a listing printed',
    },
    follow: { type: 'boolean', description: 'keep printing new events until interrupted' },
  },
  examples: [
    'tessera audit list',
    'tessera audit list --outcome failure --since 1h',
    'tessera audit list --type "uid.token.*" --identity-id i-abc --json',
    'tessera audit list --resource-prefix /auth-methods/ci/ --follow',
  ],
  async run(ctx, args) {
    const query = filterOf(ctx, args);
    const limit = limitOf(args);
    const cursor = args.str('cursor');
    const following = args.bool('follow');
    if (following && cursor) throw new UsageError('--follow starts at the newest events: drop --cursor');
    if (following && query.until) throw new UsageError('--follow shows new events: drop --until');
    const print = printer(ctx, formatAuditLine);
    const page = await ctx.withAdmin((t) =>
      ctx.client.listAuditEvents(t, {
        ...query,
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    );
    if (ctx.json && !following) {
      // One document, like every other list: {items, nextCursor}. Only --follow streams JSON lines.
      ctx.printJson({ items: [...page.items].reverse(), nextCursor: page.nextCursor });
      return;
    }
    print([...page.items].reverse());
    if (!following) {
      if (page.items.length === 0) ctx.note('No audit events.');
      if (page.nextCursor) ctx.note(`Older: tessera audit list --cursor ${page.nextCursor} (same filters)`);
      return;
    }
    // Follow from the newest event shown or, when none matched, from the head of the ledger (so the
    // polls do not rescan it from the start).
    let after = page.items[0]?.seq;
    if (after === undefined) {
      const head = await ctx.withAdmin((t) => ctx.client.listAuditEvents(t, { limit: 1 }));
      after = head.items[0]?.seq ?? 0;
    }
    await follow(ctx, query, after, print);
  },
};

const failures: CommandSpec = {
  path: ['audit', 'failures'],
  summary: 'Show recent failed authentications, with the reason the caller was not told',
  details:
    'Events of type auth.failed and uid.* with outcome failure, oldest first, one line each starting ' +
    'with the time and "authentication failed" (so `grep "authentication failed"` works as on a log ' +
    'file), then reason=…, the event, the actor (identity/auth method/UID node), the source address ' +
    'and the request id. --json prints {"items": [events]}, oldest first.',
  options: {
    limit: { type: 'number', placeholder: 'N', description: 'how many (1-500; default 100)' },
  },
  examples: [
    'tessera audit failures',
    'tessera audit failures --limit 20',
    'tessera audit failures | grep "authentication failed" | tail -n 100',
  ],
  async run(ctx, args) {
    const limit = limitOf(args) ?? 100;
    const page = await ctx.withAdmin((t) =>
      ctx.client.listAuditEvents(t, { type: FAILED_AUTH_TYPES, outcome: 'failure', limit }),
    );
    if (ctx.json) {
      ctx.printJson({ items: [...page.items].reverse() });
      return;
    }
    printer(ctx, formatFailureLine)([...page.items].reverse());
    if (page.items.length === 0) ctx.note('No failed authentications.');
  },
};

const hash: CommandSpec = {
  path: ['audit', 'hash'],
  summary: 'The audit hash (HMAC) of a value, to search audit records for it',
  details:
    'Prints `hmac-sha256:<hex>`, the keyed hash the server computes with its audit key. Give the value ' +
    'as - to read it from standard input, which keeps it out of the shell history and process list.',
  options: {
    value: { type: 'string', placeholder: 'VALUE', required: true, description: 'the value, or - for stdin' },
  },
  examples: ['tessera audit hash --value my-value', 'printf %s "$TOKEN" | tessera audit hash --value -'],
  async run(ctx, args) {
    const given = args.str('value');
    if (given === undefined) throw new UsageError('--value is required');
    const value = given === '-' ? (await ctx.io.readStdin()).replace(/\r?\n$/, '') : given;
    const answer = await ctx.withAdmin((t) => ctx.client.auditHash(t, value));
    ctx.emit(answer, () => `${answer.hash}\n`);
  },
};

/** The audit commands. */
export const auditCommands: readonly CommandSpec[] = [list, failures, hash];
