import { type AuthMethod, type UidSettings, uidChildCountLimit } from '../auth-methods/auth-methods.model.js';
import type { RequestContext } from '../shared/context.js';
import type { Repos } from '../shared/unit-of-work.js';
import { childLimit, depthLimit, inheritanceDenied, ttlLimit } from './uid.errors.js';
import type { UidCreator, UidNode } from './uid.model.js';
import type { UidActor } from './uid.service.js';

/**
 * Child tokens (issue 10). A child's TTL is independent of its parent's — bounded by the method's
 * child TTL limit only, so a child may outlive its parent (a 480-minute child under a 60-minute
 * parent) — and creating one never meets reuse detection. What bounds the persistence a stolen
 * token can buy: the per-node child count limit, the creating credential recorded on the node and
 * in the `uid.token.child_created` event, and the `uid_child_unusual` alert on that event's
 * `firstChild` / parent-expiry fields (core/alerts).
 */

export interface ChildCount {
  /** Children the parent has ever had. */
  ever: number;
  /** Its unrevoked, unexpired children before this one. */
  live: number;
}

/** Refuses a child the method does not allow under `parent`; returns its TTL and the parent's children. */
export async function checkChild(
  r: Repos,
  method: AuthMethod & { settings: UidSettings },
  parent: UidNode,
  requestedTtlSeconds: number | undefined,
  nowMs: number,
): Promise<{ ttlSeconds: number; children: ChildCount }> {
  if (parent.denyInheritance) throw inheritanceDenied();
  if (parent.depth + 1 > method.settings.treeLength) throw depthLimit(method.settings.treeLength);
  const limit = method.settings.childTtlLimitSeconds;
  const ttlSeconds = requestedTtlSeconds ?? Math.min(method.settings.ttlSeconds, limit);
  if (ttlSeconds > limit) throw ttlLimit(limit);
  const children = await r.uid.countChildren(parent.id, nowMs);
  const countLimit = uidChildCountLimit(method.settings);
  if (children.live >= countLimit) throw childLimit(countLimit);
  return { ttlSeconds, children };
}

/** The credential acting, as recorded on the nodes it creates (ids and references, never a token). */
export function creatorOf(
  actor: UidActor,
  scope: { node: UidNode | null; generation: number },
  ctx: RequestContext,
): UidCreator {
  if (actor.kind === 'holder')
    return {
      kind: 'holder',
      nodeId: scope.node!.id,
      generation: scope.generation,
      credentialRef: ctx.actor?.credentialRef ?? null,
    };
  if (actor.kind === 'session')
    return { kind: 'session', nodeId: actor.nodeId, sessionId: ctx.actor?.tokenId ?? null };
  return {
    kind: 'admin',
    identityId: ctx.actor?.identityId ?? null,
    authMethodId: ctx.actor?.authMethodId ?? null,
    sessionId: ctx.actor?.tokenId ?? null,
  };
}

/** The `uid.token.child_created` event's data: what the `uid_child_unusual` alert looks at. */
export function childCreatedData(
  child: UidNode,
  parent: UidNode,
  method: AuthMethod & { settings: UidSettings },
  createdBy: UidCreator,
  children: ChildCount,
  nowMs: number,
): Record<string, unknown> {
  return {
    nodeId: child.id,
    parentId: parent.id,
    ttlSeconds: child.ttlSeconds,
    createdBy,
    firstChild: children.ever === 0,
    liveChildren: children.live + 1,
    childCountLimit: uidChildCountLimit(method.settings),
    parentTtlSeconds: parent.ttlSeconds,
    parentRemainingSeconds: Math.max(0, Math.floor((parent.expiresAtMs - nowMs) / 1000)),
  };
}
