import { auditResource } from '../../core/access/access.resources.js';
import {
  AuditEventPage,
  AuditEventSchema,
  AuditHashBody,
  AuditHashResponse,
  auditEventToWire,
  ListAuditEventsQuery,
} from '../../core/audit/audit.schemas.js';
import type { AuditService } from '../../core/audit/audit.service.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';

const tags = ['audit'];

/** Reading the audit ledger, and the audit hash of a value. */
export function registerAuditRoutes(app: TypedApp, deps: { audit: AuditService }) {
  const svc = deps.audit;
  app.addSchema(AuditEventSchema);

  app.get(
    '/v1/audit/events',
    {
      config: { access: { permission: { action: 'list', resource: () => auditResource('events') } } },
      schema: {
        tags,
        summary: 'List audit events (filtered; newest first, or oldest first after a sequence number)',
        description:
          'Without `afterSeq`: newest first, `nextCursor` pages to older events. With `afterSeq`: oldest ' +
          'first after it; follow the ledger by passing the last `seq` seen. `since` is inclusive, ' +
          '`until` exclusive. `identityId`/`authMethodId` match the actor.',
        querystring: ListAuditEventsQuery,
        response: { 200: AuditEventPage, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await svc.list(request.query);
      return { items: page.items.map(auditEventToWire), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/audit/hash',
    {
      config: { access: { permission: { action: 'read', resource: () => auditResource('hash') } } },
      schema: {
        tags,
        summary: 'Hash a value with the audit HMAC key, to search audit records for it',
        body: AuditHashBody,
        response: { 200: AuditHashResponse, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => ({ hash: svc.hash(request.body.value) }),
  );
}
