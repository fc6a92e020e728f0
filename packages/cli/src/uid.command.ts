/**
 * Universal Identity commands: `uid-generate-token`, `uid-create-child-token`, `uid-revoke-token`,
 * `uid-list-children` (rotation is in `uid-rotate.command.ts`). Token-producing commands print the
 * bare `u-…` token alone on stdout, so `TOKEN=$(tessera …)` works; details go to stderr.
 */

import type {
  CreateUidChildRequest,
  RevokeUidTokenRequest,
  UidTokenIssued,
  UidTreeQuery,
} from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import { formatDuration, formatTime } from './output.format.js';
import { renderUidTree } from './uid-tree.render.js';

const METHOD: OptionSpecs = {
  'auth-method-name': { type: 'string', placeholder: 'NAME', description: 'auth method name (admin)' },
  'auth-method-id': { type: 'string', placeholder: 'p-…', description: 'or its access id (admin)' },
};

const UID_TOKEN: OptionSpecs = {
  'uid-token': {
    type: 'string',
    placeholder: 'u-…',
    description: 'act as the holder of this UID token (also --uid_token)',
  },
};

function methodSelector(args: ArgReader): { authMethodName?: string; authMethodId?: string } {
  const authMethodName = args.str('auth-method-name');
  const authMethodId = args.str('auth-method-id');
  return { ...(authMethodName ? { authMethodName } : {}), ...(authMethodId ? { authMethodId } : {}) };
}

function printIssued(ctx: CommandContext, issued: UidTokenIssued, what: string): void {
  if (ctx.json) {
    ctx.printJson(issued);
    return;
  }
  ctx.out(`${issued.token}\n`);
  ctx.note(
    `${what}: id ${issued.tokenId}, auth method ${issued.authMethodId}, TTL ${formatDuration(issued.ttlSeconds)}, ` +
      `expires ${formatTime(issued.expiresAt, ctx.now())}`,
  );
}

const generate: CommandSpec = {
  path: ['uid-generate-token'],
  summary: 'Generate a root UID token for an auth method (admin)',
  details:
    'Prints the bare u-… token on stdout; details on stderr. --ttl takes units (90s, 30m, 12h, 7d); a bare number is MINUTES.',
  options: {
    ...METHOD,
    ttl: {
      type: 'string',
      placeholder: 'DURATION',
      description: "token lifetime, e.g. 60m (bare number: minutes; default: the method's TTL)",
    },
    'deny-rotate': { type: 'boolean', description: 'the token may not be rotated' },
    'deny-inheritance': { type: 'boolean', description: 'the token may not create children' },
    comment: { type: 'string', placeholder: 'TEXT', description: 'a note shown in the token tree' },
  },
  examples: [
    'tessera uid-generate-token --auth-method-name "/demo/uid-non-human-auth"',
    'UID_TOKEN=$(tessera uid-generate-token --auth-method-name /prod/ci --ttl 60 --comment "build agent 7")',
  ],
  async run(ctx, args) {
    const selector = methodSelector(args);
    if (!selector.authMethodName && !selector.authMethodId)
      throw new UsageError('--auth-method-name is required');
    const ttlSeconds = durationFlag(args, 'ttl', 'minutes');
    const comment = args.str('comment');
    const body = {
      ...selector,
      ...(ttlSeconds ? { ttlSeconds } : {}),
      ...(args.bool('deny-rotate') ? { denyRotate: true } : {}),
      ...(args.bool('deny-inheritance') ? { denyInheritance: true } : {}),
      ...(comment ? { comment } : {}),
    };
    const issued = await ctx.withAdmin((t) => ctx.client.generateUidToken(t, body));
    printIssued(ctx, issued, 'UID token generated');
  },
};

const createChild: CommandSpec = {
  path: ['uid-create-child-token'],
  summary: 'Create a child UID token below a token (holder) or below a node id (admin)',
  details:
    'As holder: --uid-token PARENT. As admin: --auth-method-name N --uid-token-id PARENT_ID. --child-ttl takes ' +
    'units (30m, 8h); a bare number is MINUTES. It is bounded by the method’s child TTL limit. Prints the bare child token on stdout.',
  options: {
    ...UID_TOKEN,
    ...METHOD,
    'uid-token-id': { type: 'string', placeholder: 'ID', description: 'parent node id (admin form)' },
    'child-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'child token lifetime, e.g. 8h (bare number: minutes)',
    },
    'deny-rotate': {
      type: 'boolean',
      description: 'the child may not rotate',
      aliases: ['child-deny-rotate'],
    },
    'deny-inheritance': {
      type: 'boolean',
      description: 'the child may not create children',
      aliases: ['child-deny-inheritance'],
    },
    comment: { type: 'string', placeholder: 'TEXT', description: 'a note shown in the token tree' },
  },
  examples: [
    'DEV_TOKEN=$(tessera uid-create-child-token --uid-token "$ORG_TOKEN" --child-ttl 480)',
    'tessera uid-create-child-token --uid-token "$APP_TOKEN" --child-ttl 30 --deny-inheritance --comment db',
    'tessera uid-create-child-token --auth-method-name /prod/apps --uid-token-id ywzsub3u4tbu --child-ttl 60',
  ],
  async run(ctx, args) {
    const uidToken = args.str('uid-token');
    const parentTokenId = args.str('uid-token-id');
    const selector = methodSelector(args);
    const ttlSeconds = durationFlag(args, 'child-ttl', 'minutes');
    const comment = args.str('comment');
    const body: CreateUidChildRequest = {
      ...(ttlSeconds ? { ttlSeconds } : {}),
      ...(args.bool('deny-rotate') ? { denyRotate: true } : {}),
      ...(args.bool('deny-inheritance') ? { denyInheritance: true } : {}),
      ...(comment ? { comment } : {}),
    };
    let issued: UidTokenIssued;
    if (uidToken) {
      if (parentTokenId)
        throw new UsageError('give --uid-token (holder) or --uid-token-id (admin), not both');
      issued = await ctx.client.createUidChild(uidToken, body);
    } else {
      if (!parentTokenId) throw new UsageError('--uid-token is required (or, as admin, --uid-token-id)');
      if (!selector.authMethodName && !selector.authMethodId) {
        throw new UsageError('--auth-method-name is required with --uid-token-id');
      }
      const adminBody = { ...body, ...selector, parentTokenId };
      issued = await ctx.withAdmin((t) => ctx.client.createUidChild(t, adminBody));
    }
    printIssued(ctx, issued, 'Child UID token created');
  },
};

/** Maps the Akeyless revoke types (and the native ones) to the API's. */
export function revokeType(value: string): 'self' | 'all' {
  const v = value.toLowerCase();
  if (v === 'revokeself' || v === 'self') return 'self';
  if (v === 'revokeall' || v === 'all') return 'all';
  throw new UsageError(`--revoke-type must be revokeSelf or revokeAll, got "${value}"`);
}

const revoke: CommandSpec = {
  path: ['uid-revoke-token'],
  summary: 'Revoke a UID token (revokeSelf) or a token and its whole subtree (revokeAll)',
  details:
    'revokeSelf revokes that node only: its children stay valid and move up to its parent. revokeAll revokes ' +
    'the node and every token below it. --revoke-token takes the token u-… or its id. Authorised by the ' +
    'holder’s --uid-token (within its subtree) or an admin credential.',
  options: {
    'revoke-token': {
      type: 'string',
      placeholder: 'TOKEN|ID',
      required: true,
      description: 'token or token id to revoke',
    },
    'revoke-type': {
      type: 'string',
      placeholder: 'TYPE',
      required: true,
      description: 'revokeSelf or revokeAll',
    },
    ...METHOD,
    ...UID_TOKEN,
  },
  examples: [
    'tessera uid-revoke-token --revoke-token "$DB_TOKEN" --revoke-type revokeSelf --auth-method-name "/production/microservices"',
    'tessera uid-revoke-token --revoke-token "$APP_TOKEN" --revoke-type revokeAll --auth-method-name "/production/microservices"',
    'tessera uid-revoke-token --uid-token "$PARENT_TOKEN" --revoke-token ywzsub3u4tbunVCo --revoke-type revokeAll',
  ],
  async run(ctx, args) {
    const target = args.requireStr('revoke-token');
    const type = revokeType(args.requireStr('revoke-type'));
    const body: RevokeUidTokenRequest = {
      ...(target.startsWith('u-') ? { token: target } : { tokenId: target }),
      type,
      ...methodSelector(args),
    };
    const uidToken = args.str('uid-token');
    const answer = uidToken
      ? await ctx.client.revokeUidToken(uidToken, body)
      : await ctx.withAdmin((t) => ctx.client.revokeUidToken(t, body));
    ctx.emit(answer, () => {
      const n = answer.revokedCount;
      const how =
        type === 'self' ? 'revokeSelf: its children moved to its parent' : 'revokeAll: with its subtree';
      return `Revoked ${n} token${n === 1 ? '' : 's'} at ${answer.tokenId} (${how}).\n`;
    });
  },
};

const listChildren: CommandSpec = {
  path: ['uid-list-children'],
  summary: 'Show the UID token tree (TTLs, expiry, last rotation, flags, revoked state)',
  details:
    'As holder (--uid-token) shows the token’s own subtree; as admin (--auth-method-name) the method’s tree, ' +
    'or the subtree of --uid-token-id. Exits non-zero when the token is not valid, so it doubles as a check.',
  options: {
    ...UID_TOKEN,
    ...METHOD,
    'uid-token-id': { type: 'string', placeholder: 'ID', description: 'start at this node (admin form)' },
  },
  examples: [
    'tessera uid-list-children --uid-token "$PARENT_TOKEN"',
    'if tessera uid-list-children --uid-token "$TOKEN" >/dev/null 2>&1; then echo "Token is valid"; fi',
    'tessera uid-list-children --auth-method-name /demo/uid-non-human-auth --json',
  ],
  async run(ctx, args) {
    const uidToken = args.str('uid-token');
    const tokenId = args.str('uid-token-id');
    const selector = methodSelector(args);
    let tree: Awaited<ReturnType<CommandContext['client']['getUidTree']>>;
    if (uidToken) {
      tree = await ctx.client.getUidTree(uidToken);
    } else {
      if (!selector.authMethodName && !selector.authMethodId) {
        throw new UsageError('--uid-token is required (or, as admin, --auth-method-name)');
      }
      const query: UidTreeQuery = { ...selector, ...(tokenId ? { tokenId } : {}) };
      tree = await ctx.withAdmin((t) => ctx.client.getUidTree(t, query));
    }
    ctx.emit(tree, () => renderUidTree(tree, ctx.now()));
  },
};

/** The UID commands other than rotation. */
export const uidCommands: readonly CommandSpec[] = [generate, createChild, revoke, listChildren];
