import type { FastifyContextConfig, FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Action, Resource } from '../core/access/access.policy.js';
import { authMethodResource } from '../core/access/access.resources.js';
import type { AccessService } from '../core/access/access.service.js';
import { unauthenticated } from '../core/sessions/sessions.errors.js';
import type { Principal, SenderContext } from '../core/sessions/sessions.model.js';
import type { SessionsService } from '../core/sessions/sessions.service.js';
import type { RequestContext } from '../core/shared/context.js';
import { ErrorCodes, forbidden, TesseraError } from '../core/shared/errors.js';
import { presentedCertificate } from './tls.js';

/** A holder-only route was called with something other than the `u-` token. */
export const uidTokenRequired = () =>
  new TesseraError(
    ErrorCodes.UNAUTHENTICATED,
    'This operation needs the UID token itself: send "Authorization: Bearer u-…".',
  );

/**
 * What a route needs, declared on every route (DESIGN §4.6):
 * - `public`: no credential.
 * - `permission`: a session token whose rules allow `action` on the resource.
 * - `holder`: only the holder of a `u-` token (rotation and its ack are nobody else's).
 * - `uid`: the holder of a `u-` token (checked by the UID service inside its transaction), or a
 *   session token from a UID node when `allowUidSession`, or a session allowed by `permission`.
 */
export type RouteAccess =
  | { public: true }
  | { permission: Permission }
  | { holder: true }
  | { uid: true; allowUidSession: boolean; permission: Permission }
  | { filter: ResultFilter };

export interface Permission {
  action: Action;
  /** May look the resource up (an association id names its role only in the store). */
  resource: (request: FastifyRequest) => Resource | Promise<Resource>;
  /**
   * Several resources at once (a read of many secrets): every one must be allowed. The first
   * refused one is the one audited and reported.
   */
  resources?: (request: FastifyRequest) => Resource[] | Promise<Resource[]>;
  /**
   * A granted `read`/`list` is recorded as an `access.granted` event unless this is false: only for
   * a read that must not write (verifying the audit ledger must not append to the chain it checks).
   */
  recordGrant?: boolean;
}

/**
 * Any authenticated session may call the route; the handler shows only what the caller's rules
 * allow, asking `request.permits(action, resource)` for each result (a listing by prefix, where
 * no single resource could be checked up front).
 */
export interface ResultFilter {
  action: Action;
  type: Resource['type'];
  /**
   * What is being listed (a folder, `/*`): the listing itself is then recorded like any granted
   * read, as `list` on that path. Routes that record their own event leave it out.
   */
  scope?: (request: FastifyRequest) => string;
}

/**
 * Where a route group finds the caller's credential, when not in the `Authorization` header (the
 * Akeyless-compatible API carries it in the body). Returns null when there is none.
 */
export type CredentialSource = (request: FastifyRequest) => string | null;

/** How the caller of a UID route is acting. */
export type UidCaller =
  | { kind: 'holder'; token: string }
  | { kind: 'session'; principal: Principal }
  | { kind: 'admin'; principal: Principal };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** Where the credential is (default: the `Authorization: Bearer` header). */
    credentialFrom?: CredentialSource;
    /**
     * A `u-` token is also accepted where a session is needed: it is exchanged for a session on
     * the spot, as `POST /v1/auth` would (the Akeyless API allows `uid-token` on every call).
     */
    uidTokenAsSession?: boolean;
    /**
     * Another audience this route accepts for this request besides the API's (null: none): a
     * session token for an MCP gateway URL explaining a call on that very server's tools.
     */
    audienceFor?: (request: FastifyRequest) => string | null;
  }
  interface FastifyRequest {
    ctx: RequestContext;
    principal: Principal | null;
    uidCaller: UidCaller | null;
    /**
     * Whether the caller's rules allow `action` on `resource` (session callers): how `filter` routes
     * choose what to show, and how an answer says what the caller may do with what it shows.
     */
    permits: (action: Action, resource: Resource) => Promise<boolean>;
  }
}

/** What a decision needs from the request besides the principal (its time is the access service's clock). */
const accessRequest = (request: FastifyRequest) => ({ sourceIp: request.ip });

/** The token of `Authorization: Bearer …` or `Authorization: DPoP …` (RFC 9449 §7.1); '' if malformed. */
export function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^(?:Bearer|DPoP)[ \t]+(\S{1,4096})[ \t]*$/i.exec(header);
  return match ? match[1]! : '';
}

/**
 * What the request proves beside its token, for sender-constrained tokens (DPoP, mTLS). The URL a
 * DPoP proof must name is the server's public one (`publicBaseUrl`, the issuer) when known: the
 * Host header is the client's to choose, and a proof made for another server must not pass here.
 */
function senderOf(request: FastifyRequest, publicBaseUrl: string | undefined): SenderContext {
  const header = request.headers.authorization ?? '';
  const dpop = request.headers.dpop;
  const path = request.url.split('?')[0];
  return {
    scheme: /^DPoP[ \t]/i.test(header) ? 'DPoP' : 'Bearer',
    method: request.method,
    url: publicBaseUrl ? `${publicBaseUrl}${path}` : `${request.protocol}://${request.host}${path}`,
    dpopProof: typeof dpop === 'string' ? dpop : undefined,
    certificateThumbprint: presentedCertificate(request)?.thumbprint,
  };
}

/**
 * Refuses to start (throws while routes register) if a route of any door declares no access, so a
 * route cannot be forgotten open. Installed once, on the root context, before every door.
 */
export function requireDeclaredAccess(app: FastifyInstance) {
  const guarded: Array<{ route: string; options: RouteOptions }> = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const declared = (route.config as { access?: RouteAccess } | undefined)?.access;
    if (!declared && route.url !== '*' && !route.url.startsWith('/docs')) {
      throw new Error(`route ${route.method} ${route.url} declares no access; refusing to start`);
    }
    if (declared && !('public' in declared))
      guarded.push({ route: `${route.method} ${route.url}`, options: route });
  });
  // The access checks are hooks of each route that needs them (installed by its door's
  // `installAccessControl` as the route registers): a route registered where they were not
  // installed would be open, so the server refuses to start instead (ADR 0055).
  app.addHook('onReady', (done) => {
    const open = guarded.find((g) => !checkedRoutes.has(g.options));
    done(
      open ? new Error(`route ${open.route} has no access checks installed; refusing to start`) : undefined,
    );
  });
}

/**
 * The routes whose access hooks are installed (checked when the server starts). Kept by route,
 * not by config: one options object may serve routes in several contexts, and a mark on the shared
 * config would let a route registered where no checks were installed pass as checked.
 */
const checkedRoutes = new WeakSet<RouteOptions>();

/** Installs authentication and authorization on one door's context (its hooks stay in it). */
export function installAccessControl(
  app: FastifyInstance,
  deps: {
    sessions: SessionsService;
    access: AccessService;
    /** Audits a denied request (collapsing repeats). */
    onDenied: (request: FastifyRequest, action: string, resource: Resource, reason: string) => Promise<void>;
    /** Audits a granted read (the rule that allowed it). */
    onGranted: (
      request: FastifyRequest,
      action: string,
      resource: Resource,
      ruleId: string | null,
    ) => Promise<void>;
    /**
     * Exchanges a `u-` token for a session token (the `/v1/auth` pipeline, audited as such), for
     * routes that set `uidTokenAsSession`.
     */
    exchangeUidToken?: (token: string, request: FastifyRequest) => Promise<string>;
    /** The server's public URL (its issuer), which DPoP proofs name; else the request's own. */
    publicBaseUrl?: string | undefined;
  },
) {
  const { sessions, access } = deps;
  app.decorateRequest('principal', null);
  app.decorateRequest('uidCaller', null);
  app.decorateRequest('permits', null as never);

  async function sessionPrincipal(
    request: FastifyRequest,
    token: string,
    fromHeader: boolean,
  ): Promise<Principal> {
    const sender = fromHeader ? senderOf(request, deps.publicBaseUrl) : undefined;
    const other = request.routeOptions.config.audienceFor?.(request) ?? null;
    const claims = other
      ? await sessions
          .verify(token, sender)
          .catch((error) => sessions.verify(token, sender, other).catch(() => Promise.reject(error)))
      : await sessions.verify(token, sender);
    const principal = sessions.toPrincipal(claims);
    request.principal = principal;
    request.ctx.actor = {
      identityId: principal.identityId,
      authMethodId: principal.authMethodId,
      uidNodeId: principal.uidNodeId,
      tokenId: principal.tokenId,
    };
    return principal;
  }

  /** Every resource must be allowed; granted reads are recorded one by one, the first refusal ends it. */
  async function permittedAll(
    request: FastifyRequest,
    principal: Principal,
    permission: Permission,
    resources: Resource[],
  ) {
    const decisions = await Promise.all(
      resources.map((r) => access.authorize(principal, permission.action, r, accessRequest(request))),
    );
    const refused = decisions.findIndex((d) => !d.allowed);
    if (refused !== -1) {
      const d = decisions[refused]!;
      await deps.onDenied(request, permission.action, resources[refused]!, d.reason);
      throw forbidden(`${d.reason} for ${permission.action}`);
    }
    if ((permission.action === 'read' || permission.action === 'list') && permission.recordGrant !== false) {
      for (const [i, resource] of resources.entries()) {
        await deps.onGranted(request, permission.action, resource, decisions[i]!.rule?.id ?? null);
      }
    }
  }

  // Authentication first (before the body is validated): a caller without a valid credential
  // learns nothing but 401. Authorization after validation, when the body's fields are typed.
  // Both are hooks of the routes that need them, not of the whole door: a public route (the token
  // endpoints among them) runs neither, and each reads its route's declaration from the closure
  // instead of `request.routeOptions`, which allocates on every read (ADR 0055). Context-level
  // `preValidation`/`preHandler` hooks of a door run before these route-level ones: they must not
  // act for a caller, who is not known yet.
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = route.config as FastifyContextConfig | undefined;
    const declared = config?.access;
    if (!config || !declared || 'public' in declared) return; // public routes, docs assets
    route.preValidation = [authenticate(config, declared), ...hooks(route.preValidation)];
    route.preHandler = [authorize(declared), ...hooks(route.preHandler)];
    checkedRoutes.add(route);
  });

  const authenticate = (config: FastifyContextConfig, declared: Exclude<RouteAccess, { public: true }>) =>
    async function authenticateCaller(request: FastifyRequest) {
      const from = config.credentialFrom;
      const token = from ? from(request) : bearer(request);
      if (token === null || token === '') throw unauthenticated();
      if ('holder' in declared && !token.startsWith('u-')) throw uidTokenRequired();
      if (('uid' in declared || 'holder' in declared) && token.startsWith('u-')) {
        // Verified by the UID service inside its transaction (it may change state).
        request.uidCaller = { kind: 'holder', token };
        return;
      }
      if (token.startsWith('u-') && config.uidTokenAsSession && deps.exchangeUidToken) {
        await sessionPrincipal(request, await deps.exchangeUidToken(token, request), false);
        return;
      }
      await sessionPrincipal(request, token, !from);
    };

  const authorize = (declared: Exclude<RouteAccess, { public: true }>) =>
    async function authorizeCaller(request: FastifyRequest) {
      if ('holder' in declared || request.uidCaller) return;
      const principal = request.principal;
      if (!principal) throw unauthenticated();
      request.permits = async (action, resource) =>
        (await access.authorize(principal, action, resource, accessRequest(request))).allowed;
      if ('filter' in declared) {
        const { scope, action, type } = declared.filter;
        if (scope) await deps.onGranted(request, action, { type, path: scope(request) }, null);
        return;
      }
      if (declared.permission.resources) {
        await permittedAll(
          request,
          principal,
          declared.permission,
          await declared.permission.resources(request),
        );
        return;
      }
      const resource = await declared.permission.resource(request);
      const decision = await access.authorize(
        principal,
        declared.permission.action,
        resource,
        accessRequest(request),
      );
      if (decision.allowed) {
        if ('uid' in declared) request.uidCaller = { kind: 'admin', principal };
        // Reads change nothing, so services need not record them: the decision itself is the event
        // (whatever the HTTP method: the Akeyless API reads with POST). Writes are recorded by the
        // service, in the same transaction as the change.
        const read = declared.permission.action === 'read' || declared.permission.action === 'list';
        if (read && declared.permission.recordGrant !== false) {
          await deps.onGranted(request, declared.permission.action, resource, decision.rule?.id ?? null);
        }
        return;
      }
      if ('uid' in declared && declared.allowUidSession && principal.uidNodeId) {
        request.uidCaller = { kind: 'session', principal };
        return;
      }
      await deps.onDenied(request, declared.permission.action, resource, decision.reason);
      throw forbidden(`${decision.reason} for ${declared.permission.action}`);
    };
}

/** A route's own hooks of one kind, as an array (Fastify takes a function or an array). */
function hooks<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * The resource of a route addressed by an auth method's access id (`/:id`): its policy path is the
 * method's name (ADR 0008), looked up; an unknown id is checked under the id itself, so the caller
 * learns nothing it may not read.
 */
export const authMethodById =
  (get: (id: string) => Promise<{ name: string }>) =>
  async (request: FastifyRequest): Promise<Resource> => {
    const id = (request.params as { id: string }).id;
    return authMethodResource((await get(id).catch(() => null))?.name ?? id);
  };
