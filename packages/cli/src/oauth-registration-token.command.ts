/**
 * `tessera oauth-client registration-token create|list|get|revoke` (ADR 0047, 0052): RFC 7591
 * initial access tokens confined to a path, for dynamic client registration without an
 * administrator's session; the identities they create are owned by the token's owner.
 */

import type { RegistrationToken } from '@tessera/sdk';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import { formatTime, renderKeyValues, renderTable } from './output.format.js';

const uses = (t: RegistrationToken) => (t.maxUses === null ? `${t.uses}` : `${t.uses}/${t.maxUses}`);

/** Key/value description of a registration token (never the token itself). */
export function renderRegistrationToken(t: RegistrationToken, nowMs: number): string {
  return renderKeyValues([
    ['ID', t.id],
    ['Path', t.path],
    ['Owner', t.owner],
    ['State', t.state],
    ['Uses', uses(t)],
    ['Expires', formatTime(t.expiresAt, nowMs)],
    ['Description', t.description || '-'],
    ['Created', formatTime(t.createdAt, nowMs)],
  ]);
}

const create: CommandSpec = {
  path: ['oauth-client', 'registration-token', 'create'],
  summary: 'Issue a registration token: clients may register themselves (RFC 7591) inside a path',
  details:
    'The token (tri-…) is printed once. A client registered with it at /oauth/register is named inside --path ' +
    '(/ci/* : any name under /ci/; otherwise exactly that name) and gets a new identity of that name, owned by ' +
    '--owner (default: the owner of the identity issuing the token; "unassigned" is refused).',
  options: {
    path: {
      type: 'string',
      placeholder: 'PATH',
      required: true,
      description: 'client names it allows: /ci/* (any name under /ci/) or one exact name',
    },
    ttl: {
      type: 'string',
      placeholder: 'DURATION',
      required: true,
      description: 'how long it can be used, e.g. 1h, 7d (a bare number is seconds; at most 30d)',
    },
    uses: {
      type: 'number',
      placeholder: 'N',
      description: 'how many clients it may register (default: any)',
    },
    description: { type: 'string', placeholder: 'TEXT', description: 'what it is for' },
    owner: {
      type: 'string',
      placeholder: 'OWNER',
      description:
        'who answers for the identities it creates, e.g. person:alice@example.com or group:platform (default: your own owner)',
    },
  },
  examples: [
    "tessera oauth-client registration-token create --path '/ci/*' --ttl 1h --uses 10 --owner group:platform --json",
    'tessera oauth-client registration-token create --path /agents/reporter --ttl 15m',
  ],
  async run(ctx, args) {
    const ttlSeconds = durationFlag(args, 'ttl', 'seconds');
    if (ttlSeconds === undefined) throw new UsageError('--ttl is required');
    const maxUses = args.positiveInt('uses');
    const description = args.str('description');
    const owner = args.str('owner');
    const answer = await ctx.withAdmin((t) =>
      ctx.client.createRegistrationToken(t, {
        path: args.requireStr('path'),
        ttlSeconds,
        ...(maxUses !== undefined ? { maxUses } : {}),
        ...(description !== undefined ? { description } : {}),
        ...(owner !== undefined ? { owner } : {}),
      }),
    );
    if (ctx.json) {
      ctx.printJson(answer);
      return;
    }
    ctx.out(`Registration Token: ${answer.token}\n`);
    ctx.note(
      `Issued ${answer.registrationToken.id} for ${answer.registrationToken.path} (identities it creates are owned by ` +
        `${answer.registrationToken.owner}). The token is not shown again; ` +
        'clients send it as "Authorization: Bearer" to /oauth/register.',
    );
  },
};

const list: CommandSpec = {
  path: ['oauth-client', 'registration-token', 'list'],
  summary: 'List registration tokens (their ids, paths and states; never the tokens)',
  options: {
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: [
    'tessera oauth-client registration-token list',
    'tessera oauth-client registration-token list --json',
  ],
  async run(ctx, args) {
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const page = await ctx.withAdmin((t) =>
      ctx.client.listRegistrationTokens(t, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }),
    );
    ctx.emit(page, () => {
      if (page.items.length === 0) return 'No registration tokens.\n';
      const rows = page.items.map((t) => [
        t.id,
        t.path,
        t.owner,
        t.state,
        uses(t),
        formatTime(t.expiresAt, ctx.now()),
      ]);
      return renderTable(['ID', 'PATH', 'OWNER', 'STATE', 'USES', 'EXPIRES'], rows);
    });
    if (page.nextCursor && !ctx.json)
      ctx.note(`More: tessera oauth-client registration-token list --cursor ${page.nextCursor}`);
  },
};

const get: CommandSpec = {
  path: ['oauth-client', 'registration-token', 'get'],
  summary: 'Show a registration token: its path, owner, state and uses (never the token)',
  options: {
    id: { type: 'string', placeholder: 'rit-…', required: true, description: 'the registration token id' },
  },
  examples: [
    'tessera oauth-client registration-token get --id rit-xxxx',
    'tessera oauth-client registration-token get --id rit-xxxx --json',
  ],
  async run(ctx, args) {
    const token = await ctx.withAdmin((t) => ctx.client.getRegistrationToken(t, args.requireStr('id')));
    ctx.emit(token, () => renderRegistrationToken(token, ctx.now()));
  },
};

const revoke: CommandSpec = {
  path: ['oauth-client', 'registration-token', 'revoke'],
  summary: 'Revoke a registration token now (clients it registered stay)',
  options: {
    id: { type: 'string', placeholder: 'rit-…', required: true, description: 'the registration token id' },
  },
  examples: ['tessera oauth-client registration-token revoke --id rit-xxxx'],
  async run(ctx, args) {
    const token = await ctx.withAdmin((t) => ctx.client.revokeRegistrationToken(t, args.requireStr('id')));
    ctx.emit(token, () => renderRegistrationToken(token, ctx.now()));
  },
};

/** The registration-token commands. */
export const registrationTokenCommands: readonly CommandSpec[] = [create, list, get, revoke];
