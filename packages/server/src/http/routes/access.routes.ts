import type { ResourceType } from '../../core/access/access.policy.js';
import { allOf } from '../../core/access/access.resources.js';
import type { AccessService } from '../../core/access/access.service.js';
import type { DenialRecorder } from '../../core/audit/denials.js';
import { normaliseRulePath, ruleTypeFromWire } from '../../core/roles/roles.model.js';
import { ExplainBody, ExplanationSchema, explanationToWire } from '../../core/roles/roles.schemas.js';
import type { Principal, SessionClaims } from '../../core/sessions/sessions.model.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import { forbidden, TesseraError, validationError } from '../../core/shared/errors.js';
import { bearer } from '../access.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

/**
 * `POST /v1/access/explain`: which rule (role, association) allows or denies an action, and why.
 * Any session may explain its own access; explaining another session token needs `read` on
 * `role:/*`, checked before the token is even looked at (no validity oracle), and the token is
 * never echoed, logged or audited. The token may carry any audience this server issues (an MCP
 * gateway URL, a registered resource server): the question is what it may do there. A `call` on a
 * capability's object (an MCP tool) is explained through that capability's stages too.
 */
export function registerAccessRoutes(
  app: TypedApp,
  deps: { access: AccessService; sessions: SessionsService; denials: DenialRecorder },
) {
  const { access, sessions, denials } = deps;

  app.post(
    '/v1/access/explain',
    {
      // Any session: the handler checks what explaining another token needs.
      config: {
        access: { filter: { action: 'read', type: 'role' } },
        // An agent whose token is for an MCP gateway URL may explain its own calls on that server.
        audienceFor: (request) => {
          const b = request.body as Record<string, unknown> | null | undefined;
          if (!b || b.token !== undefined || b.ruleType !== 'mcp-tool' || b.action !== 'call') return null;
          return typeof b.path === 'string' ? access.callAudience('mcp-tool', b.path) : null;
        },
      },
      schema: {
        tags: ['roles'],
        summary: 'Explain an access decision for your own session or another session token',
        description:
          'The answer names the deciding rule, its role and association, the associations whose claims matched, and rules that matched the path but did not apply (expired, CIDR, time window, claims, target owner or tags, unknown target). Without `token` it explains the caller; with `token` (needs read on role:/*) that token’s principal, with CIDR conditions evaluated for `sourceIp` if given.',
        body: ExplainBody,
        response: { 200: ExplanationSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const body = request.body;
      const ruleType = ruleTypeFromWire(body.ruleType ?? 'item');
      const path = normaliseRulePath(body.path);
      if (!ruleType || ruleType === '*') throw validationError('ruleType must name one kind of object.');
      if (!path) throw validationError('path is not a valid name.');
      const resource = { type: ruleType as ResourceType, path };
      let subject: Principal = request.principal!;
      let claims: SessionClaims | null = null;
      if (body.token === undefined) {
        // The caller's own claims (its delegation chain, its token's session), when it is a session.
        const own = subject.via === 'session' ? bearer(request) : null;
        const found = own ? await sessions.introspect(own) : null;
        claims = found && found.jti === subject.tokenId ? found : null;
      } else {
        const needed = allOf('role');
        if (!(await request.permits('read', needed))) {
          await denials.record(
            {
              type: 'access.denied',
              outcome: 'denied',
              actor: {},
              resource: needed.path,
              reason: 'no-matching-rule',
              data: { action: 'read', resourceType: 'role', route: request.routeOptions.url ?? null },
            },
            request.ctx,
          );
          throw forbidden('explaining another token needs read on role:/*');
        }
        try {
          // Any audience of this server's (introspection's test); verify says why a token is not.
          claims = (await sessions.introspect(body.token)) ?? (await sessions.verify(body.token));
          subject = sessions.toPrincipal(claims);
        } catch (error) {
          const code = error instanceof TesseraError ? error.code : 'TESSERA_TOKEN_INVALID';
          throw validationError('The token to explain is not a valid session token.', { tokenError: code });
        }
      }
      const sourceIp = body.sourceIp ?? (body.token === undefined ? request.ip : null);
      const explainer = body.action === 'call' ? access.callExplainer(resource.type) : null;
      if (body.arguments !== undefined && !explainer)
        throw validationError('arguments explain a call: give action call on an mcp-tool path /SERVER/TOOL.');
      const explanation = await access.explain(subject, body.action, resource, { sourceIp });
      const call = explainer
        ? await explainer({ principal: subject, claims, path, arguments: body.arguments ?? {}, sourceIp })
        : null;
      if (body.token !== undefined) {
        await denials.record(
          {
            type: 'access.explained',
            outcome: 'success',
            actor: {},
            resource: path,
            data: {
              action: body.action,
              resourceType: ruleType,
              allowed: explanation.decision.allowed && (call?.allowed ?? true),
              subjectIdentityId: subject.identityId,
              subjectAuthMethodId: subject.authMethodId,
            },
          },
          request.ctx,
        );
      }
      const wire = explanationToWire(explanation, subject, resource);
      if (!call) return wire;
      return {
        ...wire,
        allowed: wire.allowed && call.allowed,
        // The roles model decides first: its denial is the answer; past it, the call's stages are.
        summary: !wire.allowed
          ? wire.summary
          : call.allowed
            ? `${wire.summary}; ${call.summary}`
            : `${call.summary}; the roles allow it: ${wire.summary}`,
        call,
      };
    },
  );
}
