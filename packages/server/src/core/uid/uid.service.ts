import type { AuditEvent } from '../audit/audit.model.js';
import type { DenialRecorder } from '../audit/denials.js';
import type { FailureLimiter } from '../auth/failure-limiter.js';
import type { AuthMethod, UidSettings } from '../auth-methods/auth-methods.model.js';
import { isUidMethod } from '../auth-methods/auth-methods.model.js';
import type { Metrics } from '../monitoring/metrics.port.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import type { RequestContext } from '../shared/context.js';
import {
  authFailed,
  ErrorCodes,
  notFound,
  rateLimited,
  TesseraError,
  validationError,
} from '../shared/errors.js';
import type { Clock, CredentialFactory } from '../shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../shared/unit-of-work.js';
import { type ChildCount, checkChild, childCreatedData, creatorOf } from './uid.children.js';
import { rotationConflict, rotationDenied, ttlLimit } from './uid.errors.js';
import {
  subtreeEnd,
  type UidCreator,
  type UidCredential,
  type UidNode,
  type UidTreeNode,
} from './uid.model.js';
import type { PresentedUidToken, UidPresenter, UidPurpose } from './uid.presentation.js';
import { buildForest, forestDepth } from './uid.tree.js';

/** Who is acting on a UID tree: the holder of a token, a session from a UID node, or an administrator. */
export type UidActor =
  | { kind: 'holder'; token: string }
  | { kind: 'session'; nodeId: string; methodId: string }
  | { kind: 'admin'; method: AuthMethod };

export interface IssuedUidToken {
  token: string;
  node: UidNode;
}

export interface ChildOptions {
  ttlSeconds?: number;
  denyRotate?: boolean;
  denyInheritance?: boolean;
  comment?: string | null;
}

export interface UidTreeView {
  authMethodId: string;
  maxDepth: number;
  numberOfTokens: number;
  truncated: boolean;
  roots: UidTreeNode[];
}

/** A second rotation this soon after the first is concurrent, not a lost-response retry. */
export const ROTATION_RETRY_AFTER_MS = 1000;
const TREE_LIST_LIMIT = 5000;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: TesseraError };

/** A refused credential is a `failure`; a valid one asking for what it may not do is `denied`. */
const failureOutcome = (error: TesseraError): 'failure' | 'denied' =>
  error.code === ErrorCodes.AUTH_FAILED ? 'failure' : 'denied';

export interface UidServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  sessions: SessionsService;
  present: UidPresenter;
  limiter: FailureLimiter;
  /** Refusals of a blocked source are audited through it, one event per window with a count. */
  denials: Pick<DenialRecorder, 'record'>;
  metrics: Metrics;
}

/** The Universal Identity lifecycle: generate, rotate, ack, child, revoke, list (DESIGN §2). */
export function createUidService(deps: UidServiceDeps) {
  const { uow, clock, credentials, sessions, present, limiter, denials, metrics } = deps;
  const resourceOf = (method: AuthMethod, node?: UidNode) =>
    `/auth-methods/${method.name}/uid${node ? `/${node.id}` : ''}`;

  /** Runs `act` in one write transaction; failures are audited and committed before being thrown. */
  async function run<T>(
    ctx: RequestContext,
    auditType: string,
    act: (r: Repos, audit: (e: Omit<AuditEvent, 'type'> & { type?: string }) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    const outcome = await uow.write<Outcome<T>>(async (r) => {
      const audit = (e: Omit<AuditEvent, 'type'> & { type?: string }) =>
        r.audit.append({ type: auditType, ...e }, ctx, clock.nowMs());
      try {
        return { ok: true, value: await act(r, audit) };
      } catch (error) {
        if (!(error instanceof TesseraError)) throw error;
        if (error.code === ErrorCodes.RATE_LIMITED) return { ok: false, error }; // audited below, collapsed
        await audit({
          outcome: failureOutcome(error),
          actor: {},
          reason: error.internalReason ?? error.code,
        });
        return { ok: false, error };
      }
    });
    if (!outcome.ok && outcome.error.code === ErrorCodes.RATE_LIMITED) {
      await denials.record(
        {
          type: 'auth.rate_limited',
          outcome: 'denied',
          actor: {},
          reason: 'too_many_failures',
          data: { operation: auditType },
        },
        ctx,
      );
    }
    // A rotation is counted with the outcome its audit event committed with.
    if (auditType === 'uid.token.rotated') {
      metrics.uidRotation(outcome.ok ? 'success' : failureOutcome(outcome.error));
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async function presentOrThrow(
    r: Repos,
    token: string,
    purpose: UidPurpose,
    ctx: RequestContext,
  ): Promise<PresentedUidToken> {
    // Holder routes are credential endpoints too: brute force is limited per source (DESIGN §6).
    if (limiter.isBlocked(ctx.sourceIp)) throw rateLimited(limiter.retryAfterSeconds(ctx.sourceIp));
    const p = await present(r, token, purpose, ctx);
    if (!p.ok) {
      limiter.recordFailure(ctx.sourceIp);
      ctx.actor = { ...ctx.actor, ...p.actor };
      throw authFailed(p.reason);
    }
    ctx.actor = {
      ...ctx.actor,
      identityId: p.token.node.identityId,
      authMethodId: p.token.node.methodId,
      uidNodeId: p.token.node.id,
      credentialRef: p.token.credentialRef,
    };
    return p.token;
  }

  async function newCredential(
    r: Repos,
    node: UidNode,
    state: UidCredential['state'],
    generation: number,
    extra: Partial<UidCredential> = {},
  ) {
    const token = credentials.newUidToken();
    const now = clock.nowMs();
    await r.uid.insertCredential({
      hash: credentials.hashCredential(token),
      nodeId: node.id,
      generation,
      state,
      manualAck: false,
      graceUntilMs: null,
      createdAtMs: now,
      activatedAtMs: state === 'current' ? now : null,
      supersededAtMs: null,
      ...extra,
    });
    return token;
  }

  async function insertNode(
    r: Repos,
    method: AuthMethod & { settings: UidSettings },
    parent: UidNode | null,
    opts: ChildOptions,
    ttlSeconds: number,
    createdBy: UidCreator | null,
  ): Promise<IssuedUidToken> {
    const now = clock.nowMs();
    const id = credentials.newNodeId();
    const node: UidNode = {
      id,
      methodId: method.id,
      identityId: parent?.identityId ?? method.identityId,
      parentId: parent?.id ?? null,
      path: `${parent?.path ?? '/'}${id}/`,
      depth: (parent?.depth ?? 0) + 1,
      ttlSeconds,
      expiresAtMs: now + ttlSeconds * 1000,
      denyRotate: opts.denyRotate ?? method.settings.denyRotate,
      denyInheritance: opts.denyInheritance ?? method.settings.denyInheritance,
      comment: opts.comment ?? null,
      createdAtMs: now,
      lastRotatedAtMs: null,
      rotationSeq: 0,
      revokedAtMs: null,
      revokedReason: null,
      flaggedAtMs: null,
      createdBy,
    };
    await r.uid.insertNode(node);
    return { token: await newCredential(r, node, 'current', 1), node };
  }

  function uidMethod(method: AuthMethod): AuthMethod & { settings: UidSettings } {
    if (!isUidMethod(method)) throw validationError('The auth method is not a universal_identity method.');
    return method;
  }

  /** The checks of `uid.children.ts`, then the node (its TTL may exceed its parent's). */
  async function createChildUnder(
    r: Repos,
    method: AuthMethod & { settings: UidSettings },
    parent: UidNode,
    opts: ChildOptions,
    createdBy: UidCreator,
  ): Promise<IssuedUidToken & { children: ChildCount }> {
    const { ttlSeconds, children } = await checkChild(r, method, parent, opts.ttlSeconds, clock.nowMs());
    return { ...(await insertNode(r, method, parent, opts, ttlSeconds, createdBy)), children };
  }

  /** Resolves the node an actor may act on, and the method it belongs to. */
  async function scopeOf(r: Repos, actor: UidActor, purpose: UidPurpose, ctx: RequestContext) {
    if (actor.kind === 'holder') {
      const p = await presentOrThrow(r, actor.token, purpose, ctx);
      return { method: p.method, node: p.node as UidNode | null, generation: p.credential.generation };
    }
    return readScopeOf(r, actor);
  }

  /** The scope of a session or admin caller: reads only (a holder's token is presented, a write). */
  async function readScopeOf(r: ReadRepos, actor: Exclude<UidActor, { kind: 'holder' }>) {
    if (actor.kind === 'session') {
      const node = await r.uid.getNode(actor.nodeId);
      const method = await r.authMethods.get(actor.methodId);
      if (!node || node.revokedAtMs !== null || !method) throw authFailed('session_uid_node_gone');
      return { method: uidMethod(method), node: node as UidNode | null, generation: 0 };
    }
    return { method: uidMethod(actor.method), node: null as UidNode | null, generation: 0 };
  }

  return {
    /** Admin: a new root token under a UID method. */
    async generate(method: AuthMethod, opts: ChildOptions, ctx: RequestContext): Promise<IssuedUidToken> {
      const m = uidMethod(method);
      const ttl = opts.ttlSeconds ?? m.settings.ttlSeconds;
      if (ttl > m.settings.ttlSeconds) throw ttlLimit(m.settings.ttlSeconds);
      return run(ctx, 'uid.token.generated', async (r, audit) => {
        const issued = await insertNode(
          r,
          m,
          null,
          opts,
          ttl,
          creatorOf({ kind: 'admin', method: m }, { node: null, generation: 0 }, ctx),
        );
        await audit({
          outcome: 'success',
          actor: {},
          resource: resourceOf(m, issued.node),
          data: { nodeId: issued.node.id, ttlSeconds: ttl },
        });
        return issued;
      });
    },

    /** Holder: a new token for the same node, TTL reset; the old one only finishes this rotation. */
    async rotate(
      token: string,
      opts: { manualAck: boolean },
      ctx: RequestContext,
    ): Promise<IssuedUidToken & { pendingAck: boolean }> {
      return run(ctx, 'uid.token.rotated', async (r, audit) => {
        const { node, method, credential, pending } = await presentOrThrow(r, token, 'rotate', ctx);
        if (node.denyRotate) throw rotationDenied();
        const now = clock.nowMs();
        if (pending && now - pending.createdAtMs < ROTATION_RETRY_AFTER_MS) throw rotationConflict();
        // Every check that can refuse comes before the first write, so a refusal leaves no trace but its audit event.
        const expiresAtMs = now + node.ttlSeconds * 1000;
        if (!(await r.uid.recordRotation(node.id, node.rotationSeq, expiresAtMs, now)))
          throw rotationConflict();
        if (pending) await r.uid.transitionCredential(pending.hash, 'pending', 'replaced', now);
        const newToken = await newCredential(r, node, 'pending', credential.generation + 1, {
          manualAck: opts.manualAck,
          graceUntilMs: now + method.settings.rotationGraceSeconds * 1000,
        });
        await audit({
          outcome: 'success',
          actor: {},
          resource: resourceOf(method, node),
          data: {
            nodeId: node.id,
            generation: credential.generation + 1,
            manualAck: opts.manualAck,
            retry: pending !== null,
          },
        });
        return {
          token: newToken,
          node: { ...node, expiresAtMs, lastRotatedAtMs: now, rotationSeq: node.rotationSeq + 1 },
          pendingAck: opts.manualAck,
        };
      });
    },

    /** Holder (old token): acknowledges the new token of a manual-ack rotation. */
    async ack(oldToken: string, newToken: string, ctx: RequestContext): Promise<UidNode> {
      return run(ctx, 'uid.token.rotation_acknowledged', async (r, audit) => {
        const { node, method, pending } = await presentOrThrow(r, oldToken, 'ack', ctx);
        const newHash = credentials.hashCredential(newToken);
        if (!pending || !credentials.equalHashes(pending.hash, newHash))
          throw authFailed('ack_token_is_not_the_pending_successor');
        const now = clock.nowMs();
        await r.uid.transitionCredential(pending.hash, 'pending', 'current', now);
        for (const previous of await r.uid.findCredentialsOfNode(node.id, 'current')) {
          if (previous.hash !== pending.hash)
            await r.uid.transitionCredential(previous.hash, 'current', 'superseded', now);
        }
        await audit({
          outcome: 'success',
          actor: {},
          resource: resourceOf(method, node),
          data: { nodeId: node.id },
        });
        return node;
      });
    },

    /** Holder or admin: a child node one level below. */
    async createChild(
      actor: UidActor,
      parentId: string | null,
      opts: ChildOptions,
      ctx: RequestContext,
    ): Promise<IssuedUidToken> {
      return run(ctx, 'uid.token.child_created', async (r, audit) => {
        const scope = await scopeOf(r, actor, 'child', ctx);
        let parent = scope.node;
        if (actor.kind === 'admin') {
          parent = parentId ? await r.uid.getNode(parentId) : null;
          if (!parent || parent.methodId !== scope.method.id) throw notFound('The parent token');
          if (parent.revokedAtMs !== null || parent.expiresAtMs <= clock.nowMs()) {
            throw validationError('The parent token is revoked or expired.');
          }
        }
        const createdBy = creatorOf(actor, scope, ctx);
        const { children, ...issued } = await createChildUnder(r, scope.method, parent!, opts, createdBy);
        const now = clock.nowMs();
        await audit({
          outcome: 'success',
          actor: {},
          resource: resourceOf(scope.method, issued.node),
          data: childCreatedData(issued.node, parent!, scope.method, createdBy, children, now),
        });
        return issued;
      });
    },

    /**
     * Revokes a node (`self`: its children move up to its parent) or its whole subtree (`all`, one
     * statement). Holders and UID sessions may only revoke within their own subtree.
     */
    async revoke(
      actor: UidActor,
      target: { token?: string | undefined; tokenId?: string | undefined },
      type: 'self' | 'all',
      ctx: RequestContext,
    ): Promise<{ tokenId: string; revokedCount: number }> {
      return run(ctx, 'uid.token.revoked', async (r, audit) => {
        const scope = await scopeOf(r, actor, 'revoke', ctx);
        let node: UidNode | null = null;
        if (target.token) {
          const credential = await r.uid.findCredential(credentials.hashCredential(target.token));
          node = credential ? await r.uid.getNode(credential.nodeId) : null;
        } else if (target.tokenId) {
          node = await r.uid.getNode(target.tokenId);
        } else if (scope.node) {
          node = scope.node;
        }
        const inScope =
          node !== null &&
          node.methodId === scope.method.id &&
          (scope.node === null || node.path.startsWith(scope.node.path));
        if (!node || !inScope) throw notFound('The token to revoke');
        const now = clock.nowMs();
        const reason = `revoked (${type}) by request ${ctx.requestId}`;
        let revokedCount = 0;
        if (type === 'all') {
          revokedCount = await r.uid.revokeSubtree(node.methodId, node.path, now, reason);
          await sessions.revoke(r, 'subtree', node.id, reason);
        } else if (node.revokedAtMs === null) {
          revokedCount = await r.uid.revokeNodeAndReattach(node, now, reason);
          await sessions.revoke(r, 'node', node.id, reason);
        }
        await audit({
          outcome: 'success',
          actor: {},
          resource: resourceOf(scope.method, node),
          data: { nodeId: node.id, type, revokedCount },
        });
        r.afterCommit(() => metrics.uidRevocation(type));
        return { tokenId: node.id, revokedCount };
      });
    },

    /** Lists the tree under the actor's node (holders, UID sessions) or the method (admins). */
    async tree(actor: UidActor, tokenId: string | null, ctx: RequestContext): Promise<UidTreeView> {
      const { method, node } =
        actor.kind === 'holder'
          ? await run(ctx, 'uid.tree.listed', (r) => scopeOf(r, actor, 'tree', ctx))
          : await uow.read((r) => readScopeOf(r, actor));
      return uow.read(async (r) => {
        let root = node;
        if (tokenId) {
          const requested = await r.uid.getNode(tokenId);
          if (
            !requested ||
            requested.methodId !== method.id ||
            (root && !requested.path.startsWith(root.path))
          ) {
            throw notFound('The token');
          }
          root = requested;
        }
        const path = root?.path ?? null;
        const [nodes, total] = await Promise.all([
          r.uid.listNodes(method.id, path, TREE_LIST_LIMIT),
          r.uid.countNodes(method.id, path),
        ]);
        const roots = buildForest(nodes);
        return {
          authMethodId: method.id,
          maxDepth: forestDepth(roots),
          numberOfTokens: total,
          truncated: total > nodes.length,
          roots,
        };
      });
    },

    /** The path range of a subtree, exposed for storage tests. */
    subtreeEnd,
  };
}

export type UidService = ReturnType<typeof createUidService>;
