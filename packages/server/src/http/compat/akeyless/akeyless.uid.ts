import { Type } from '@sinclair/typebox';
import type { AuthMethodsService } from '../../../core/auth-methods/auth-methods.service.js';
import { validationError } from '../../../core/shared/errors.js';
import type { UidTreeNode } from '../../../core/uid/uid.model.js';
import type { UidService, UidTreeView } from '../../../core/uid/uid.service.js';
import { uidTokenRequired } from '../../access.js';
import { uidActorOf } from '../../routes/uid.routes.js';
import {
  type CommandRegistrar,
  type CommandRequest,
  commandBody,
  Int,
  NonEmpty,
  Str,
} from './akeyless.api.js';
import { authMethodNamed, bodyKey, UID_ACTIONS } from './akeyless.resources.js';
import { akeylessTime, minutesToSeconds, secondsToMinutes } from './akeyless.wire.js';

const Generate = commandBody({ 'auth-method-name': NonEmpty(200) });
const Rotate = commandBody({
  fork: Type.Optional(Type.Boolean()),
  'with-manual-ack': Type.Optional(Type.Boolean()),
  'send-manual-ack-token': Type.Optional(Str(4096)),
});
const Child = commandBody({
  'auth-method-name': Type.Optional(Str(200)),
  'uid-token-id': Type.Optional(Str(100)),
  'child-ttl': Type.Optional(Int(0, 600_000)),
  'child-deny-rotate': Type.Optional(Type.Boolean()),
  'child-deny-inheritance': Type.Optional(Type.Boolean()),
  comment: Type.Optional(Str(500)),
  description: Type.Optional(Str(500)),
});
const Revoke = commandBody({
  'auth-method-name': Type.Optional(Str(200)),
  'revoke-token': NonEmpty(4096),
  'revoke-type': NonEmpty(20),
});
const ListChildren = commandBody({ 'auth-method-name': Type.Optional(Str(200)) });

/** The SDK's `UIDTokenDetails`: children keyed by id, depth counted from the listed root. */
interface AkeylessUidNode {
  id: string;
  comment: string;
  ttl: number;
  depth: number;
  last_rotate: string;
  expired_date: string;
  deny_rotate: boolean;
  deny_inheritance: boolean;
  revoked: boolean;
  children: Record<string, AkeylessUidNode>;
}

function nodeToAkeyless(node: UidTreeNode, rootDepth: number): AkeylessUidNode {
  return {
    id: node.id,
    comment: node.comment ?? '',
    ttl: secondsToMinutes(node.ttlSeconds),
    depth: node.depth - rootDepth,
    last_rotate: akeylessTime(node.lastRotatedAtMs ?? node.createdAtMs),
    expired_date: akeylessTime(node.expiresAtMs),
    deny_rotate: node.denyRotate,
    deny_inheritance: node.denyInheritance,
    revoked: node.revokedAtMs !== null,
    children: Object.fromEntries(node.children.map((c) => [c.id, nodeToAkeyless(c, rootDepth)])),
  };
}

function deepest(node: AkeylessUidNode): number {
  return Math.max(node.depth, ...Object.values(node.children).map(deepest));
}

/**
 * `UniversalIdentityDetails`. The SDK shows one root; an administrator listing a method with several
 * root tokens gets them as children of a node standing for the method itself (id = its access id).
 */
export function treeToAkeyless(view: UidTreeView, methodName: string) {
  let root: AkeylessUidNode;
  if (view.roots.length === 1) {
    root = nodeToAkeyless(view.roots[0]!, view.roots[0]!.depth);
  } else {
    const depth = Math.min(...view.roots.map((r) => r.depth)) - 1;
    root = {
      id: view.authMethodId,
      comment: methodName,
      ttl: 0,
      depth: 0,
      last_rotate: '',
      expired_date: '',
      deny_rotate: false,
      deny_inheritance: false,
      revoked: false,
      children: Object.fromEntries(view.roots.map((r) => [r.id, nodeToAkeyless(r, depth)])),
    };
  }
  return { number_of_tokens: view.numberOfTokens, max_depth: deepest(root), root };
}

/** The five `uid-*` commands, over the same UID service as `/v1/uid`. */
export function registerAkeylessUidCommands(
  c: CommandRegistrar,
  deps: { uid: UidService; authMethods: AuthMethodsService },
) {
  const { uid, authMethods } = deps;
  const actorOf = (request: CommandRequest<typeof Child | typeof Revoke | typeof ListChildren>) => {
    const name = bodyKey(request, 'auth-method-name');
    return uidActorOf(authMethods, request.uidCaller, name ? { authMethodName: name } : {});
  };

  c.command(
    'uid-generate-token',
    {
      summary: 'Generate a root UID token (admin)',
      access: { permission: { action: UID_ACTIONS.generate, resource: authMethodNamed('auth-method-name') } },
      body: Generate,
    },
    async (request) => {
      const method = await authMethods.getByName(request.body['auth-method-name']);
      const issued = await uid.generate(method, {}, request.ctx);
      return { token: issued.token };
    },
  );

  c.command(
    'uid-rotate-token',
    { summary: 'Rotate the presented UID token (holder)', access: { holder: true }, body: Rotate },
    async (request) => {
      const caller = request.uidCaller;
      if (caller?.kind !== 'holder') throw uidTokenRequired();
      const body = request.body;
      const ackToken = body['send-manual-ack-token'];
      if (ackToken) {
        await uid.ack(caller.token, ackToken, request.ctx);
        return {};
      }
      if (body.fork) {
        const child = await uid.createChild({ kind: 'holder', token: caller.token }, null, {}, request.ctx);
        return { token: child.token };
      }
      const rotated = await uid.rotate(
        caller.token,
        { manualAck: body['with-manual-ack'] ?? false },
        request.ctx,
      );
      return { token: rotated.token };
    },
  );

  c.command(
    'uid-create-child-token',
    {
      summary: 'Create a child token (holder, or admin with uid-token-id)',
      access: {
        uid: true,
        allowUidSession: false,
        permission: { action: UID_ACTIONS.createChild, resource: authMethodNamed('auth-method-name') },
      },
      body: Child,
    },
    async (request) => {
      const body = request.body;
      const ttlSeconds = minutesToSeconds(body['child-ttl'], 'child-ttl');
      const comment = body.description ?? body.comment;
      const issued = await uid.createChild(
        await actorOf(request),
        body['uid-token-id'] ?? null,
        {
          ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
          ...(body['child-deny-rotate'] !== undefined ? { denyRotate: body['child-deny-rotate'] } : {}),
          ...(body['child-deny-inheritance'] !== undefined
            ? { denyInheritance: body['child-deny-inheritance'] }
            : {}),
          ...(comment ? { comment } : {}),
        },
        request.ctx,
      );
      return { token: issued.token };
    },
  );

  c.command(
    'uid-revoke-token',
    {
      summary: 'Revoke a token: revokeSelf (children move up) or revokeAll (the subtree)',
      access: {
        uid: true,
        allowUidSession: true,
        permission: { action: UID_ACTIONS.revoke, resource: authMethodNamed('auth-method-name') },
      },
      body: Revoke,
    },
    async (request) => {
      const body = request.body;
      const type = { revokeSelf: 'self', revokeAll: 'all' }[body['revoke-type']] as
        | 'self'
        | 'all'
        | undefined;
      if (!type)
        throw validationError('revoke-type must be revokeSelf or revokeAll.', { field: 'revoke-type' });
      const target = body['revoke-token'];
      await uid.revoke(
        await actorOf(request),
        target.startsWith('u-') ? { token: target } : { tokenId: target },
        type,
        request.ctx,
      );
      return {};
    },
  );

  c.command(
    'uid-list-children',
    {
      summary: 'List a token tree',
      access: {
        uid: true,
        allowUidSession: true,
        permission: { action: UID_ACTIONS.listTree, resource: authMethodNamed('auth-method-name') },
      },
      body: ListChildren,
    },
    async (request) => {
      const actor = await actorOf(request);
      const view = await uid.tree(actor, null, request.ctx);
      const name = actor.kind === 'admin' ? actor.method.name : '';
      return treeToAkeyless(view, name);
    },
  );
}
