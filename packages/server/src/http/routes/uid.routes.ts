import type { FastifyRequest } from 'fastify';
import type { Resource } from '../../core/access/access.policy.js';
import { authMethodResource, UID_ACTIONS } from '../../core/access/access.resources.js';
import type { AuthMethodsService } from '../../core/auth-methods/auth-methods.service.js';
import {
  AckBody,
  AckedSchema,
  ChildBody,
  GenerateBody,
  IssuedSchema,
  issuedToWire,
  RevokeBody,
  RevokedSchema,
  RotateBody,
  RotatedSchema,
  TreeQuery,
  TreeSchema,
  treeToWire,
} from '../../core/uid/uid.schemas.js';
import type { UidActor, UidService } from '../../core/uid/uid.service.js';
import { type UidCaller, uidTokenRequired } from '../access.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['universal-identity'];

/** The `u-` token of a holder-only route (the access hook admits nothing else). */
function holderToken(caller: UidCaller | null): string {
  if (caller?.kind === 'holder') return caller.token;
  throw uidTokenRequired();
}

/**
 * The method a request names, as a policy resource: UID operations are rules on their auth method
 * (`auth-method:/<name>`, actions in `UID_ACTIONS`); `/*` when the request names none.
 */
async function methodResource(authMethods: AuthMethodsService, request: FastifyRequest): Promise<Resource> {
  const ref = { ...(request.query as object), ...(request.body as object) } as {
    authMethodName?: string;
    authMethodId?: string;
  };
  // A method named by access id: its policy path is its name.
  const byId = ref.authMethodId ? await authMethods.get(ref.authMethodId).catch(() => null) : null;
  return authMethodResource(ref.authMethodName ?? byId?.name ?? ref.authMethodId);
}

type MethodRef = { authMethodId?: string | undefined; authMethodName?: string | undefined };

/**
 * Who is acting on a UID tree: the holder of the presented `u-` token, a session from a UID node
 * (on its own subtree), or an administrator naming the method. Shared with the Akeyless commands.
 */
export async function uidActorOf(
  authMethods: AuthMethodsService,
  caller: UidCaller | null,
  ref: MethodRef,
): Promise<UidActor> {
  if (!caller) throw new Error('uid route reached without a caller');
  if (caller.kind === 'holder') return { kind: 'holder', token: caller.token };
  if (caller.kind === 'session') {
    return {
      kind: 'session',
      nodeId: caller.principal.uidNodeId!,
      methodId: caller.principal.authMethodId,
    };
  }
  if (!ref.authMethodId && !ref.authMethodName && caller.principal.uidNodeId) {
    return { kind: 'session', nodeId: caller.principal.uidNodeId, methodId: caller.principal.authMethodId };
  }
  return {
    kind: 'admin',
    method: await authMethods.resolve({ id: ref.authMethodId, name: ref.authMethodName }),
  };
}

/** Universal Identity: token trees for machines with no platform identity. */
export function registerUidRoutes(app: TypedApp, deps: { uid: UidService; authMethods: AuthMethodsService }) {
  const { uid, authMethods } = deps;

  const actorOf = (caller: UidCaller | null, ref: MethodRef) => uidActorOf(authMethods, caller, ref);
  const theMethod = (request: FastifyRequest) => methodResource(authMethods, request);

  app.post(
    '/v1/uid/tokens',
    {
      config: { access: { permission: { action: UID_ACTIONS.generate, resource: theMethod } } },
      schema: {
        tags,
        summary: 'Generate a root UID token (admin)',
        body: GenerateBody,
        response: { 201: IssuedSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { authMethodId, authMethodName, ...opts } = request.body;
      const method = await authMethods.resolve({ id: authMethodId, name: authMethodName });
      const issued = await uid.generate(method, opts, request.ctx);
      reply.status(201);
      return issuedToWire(issued.token, issued.node);
    },
  );

  app.post(
    '/v1/uid/rotate',
    {
      config: { access: { holder: true } },
      schema: {
        tags,
        summary: 'Rotate the presented UID token (holder)',
        security: [{ uidToken: [] }],
        description:
          'Authenticate with "Authorization: Bearer u-…". The old token keeps working only to retry this rotation until the new token is first used, acknowledged (manualAck) or the grace window passes. Presenting it after its successor was used is reuse: the subtree is revoked by default.',
        body: RotateBody,
        response: { 200: RotatedSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const result = await uid.rotate(
        holderToken(request.uidCaller),
        { manualAck: request.body?.manualAck ?? false },
        request.ctx,
      );
      return { ...issuedToWire(result.token, result.node), pendingAck: result.pendingAck };
    },
  );

  app.post(
    '/v1/uid/rotate/ack',
    {
      config: { access: { holder: true } },
      schema: {
        tags,
        summary: 'Acknowledge a manual-ack rotation (holder, old token)',
        security: [{ uidToken: [] }],
        body: AckBody,
        response: { 200: AckedSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const node = await uid.ack(holderToken(request.uidCaller), request.body.newToken, request.ctx);
      return { tokenId: node.id, acknowledged: true as const };
    },
  );

  app.post(
    '/v1/uid/children',
    {
      config: {
        access: {
          uid: true,
          allowUidSession: false,
          permission: { action: UID_ACTIONS.createChild, resource: theMethod },
        },
      },
      schema: {
        tags,
        summary: 'Create a child token (holder, or admin with parentTokenId)',
        body: ChildBody,
        response: { 201: IssuedSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { authMethodId, authMethodName, parentTokenId, ...opts } = request.body ?? {};
      const actor = await actorOf(request.uidCaller, { authMethodId, authMethodName });
      const issued = await uid.createChild(actor, parentTokenId ?? null, opts, request.ctx);
      reply.status(201);
      return issuedToWire(issued.token, issued.node);
    },
  );

  app.get(
    '/v1/uid/tree',
    {
      config: {
        access: {
          uid: true,
          allowUidSession: true,
          permission: { action: UID_ACTIONS.listTree, resource: theMethod },
        },
      },
      schema: {
        tags,
        summary: 'List a token tree',
        querystring: TreeQuery,
        response: { 200: TreeSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { authMethodId, authMethodName, tokenId } = request.query;
      const actor = await actorOf(request.uidCaller, { authMethodId, authMethodName });
      return treeToWire(await uid.tree(actor, tokenId ?? null, request.ctx));
    },
  );

  app.post(
    '/v1/uid/revoke',
    {
      config: {
        access: {
          uid: true,
          allowUidSession: true,
          permission: { action: UID_ACTIONS.revoke, resource: theMethod },
        },
      },
      schema: {
        tags,
        summary: 'Revoke a token: self (children move up) or all (the whole subtree)',
        body: RevokeBody,
        response: { 200: RevokedSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { authMethodId, authMethodName, token, tokenId, type } = request.body;
      const actor = await actorOf(request.uidCaller, { authMethodId, authMethodName });
      const result = await uid.revoke(actor, { token, tokenId }, type, request.ctx);
      return { ...result, type };
    },
  );
}
