import {
  type AuthMethod,
  isOAuthClient,
  type OAuthClientSettings,
} from '../../core/auth-methods/auth-methods.model.js';
import type { AuthMethodsService } from '../../core/auth-methods/auth-methods.service.js';
import type { Page, RequestContext } from '../../core/shared/context.js';
import { notFound, validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';

export type OAuthClient = AuthMethod & { settings: OAuthClientSettings };

export interface OAuthClientInput {
  name: string;
  identityId?: string;
  owner?: string;
  /** Refuse an existing identity of the client's name (registration tokens, ADR 0047/0052). */
  newIdentityOnly?: boolean;
  boundCidrs?: string[];
  expiresAtMs?: number | null;
  settings: Record<string, unknown>;
}

/** OAuth clients: auth methods of type `oauth_client`, with secrets generated here, shown once. */
export function createOAuthClientsService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  authMethods: AuthMethodsService;
  newSecret: () => string;
}) {
  const { uow, clock, credentials, authMethods } = deps;

  async function get(id: string): Promise<OAuthClient> {
    const method = await authMethods.get(id).catch(() => null);
    if (!method || !isOAuthClient(method)) throw notFound('The OAuth client');
    return method;
  }

  /** Stores a new secret (hashed) and audits it; the previous ones expire after `graceSeconds`. */
  async function issueSecret(client: OAuthClient, graceSeconds: number, ctx: RequestContext, type: string) {
    const secret = deps.newSecret();
    const now = clock.nowMs();
    await uow.write(async (r) => {
      await r.oauthClientSecrets.expireCurrent(client.id, now + graceSeconds * 1000);
      await r.oauthClientSecrets.insert({
        id: credentials.newId('ocs-'),
        clientId: client.id,
        secretHash: credentials.hashCredential(secret),
        createdAtMs: now,
        expiresAtMs: null,
      });
      await r.audit.append(
        {
          type,
          outcome: 'success',
          actor: {},
          resource: `/auth-methods/${client.name}`,
          data: { authMethodId: client.id, graceSeconds, credentialRef: credentials.auditRef(secret) },
        },
        ctx,
        now,
      );
    });
    return secret;
  }

  const usesSecret = (c: OAuthClient) => c.settings.tokenEndpointAuthMethod.startsWith('client_secret_');

  return {
    get,
    async create(input: OAuthClientInput, ctx: RequestContext) {
      const { method } = await authMethods.create({ ...input, type: 'oauth_client' }, ctx);
      const client = method as OAuthClient;
      // The method and its first secret are two transactions: a crash between leaves a client
      // without a secret, which rotate-secret repairs; never a secret without a client.
      const clientSecret = usesSecret(client)
        ? await issueSecret(client, 0, ctx, 'oauth_client.secret_issued')
        : null;
      return { client, clientSecret };
    },
    async list(limit: number, cursor: string | null): Promise<Page<OAuthClient>> {
      const page = await authMethods.list('oauth_client', limit, cursor);
      return { items: page.items.filter(isOAuthClient), nextCursor: page.nextCursor };
    },
    async update(id: string, patch: Omit<OAuthClientInput, 'name'>, ctx: RequestContext) {
      await get(id);
      const next = await authMethods.update(
        id,
        {
          ...(patch.boundCidrs ? { boundCidrs: patch.boundCidrs } : {}),
          ...(patch.expiresAtMs !== undefined ? { expiresAtMs: patch.expiresAtMs } : {}),
          settings: patch.settings,
        },
        ctx,
      );
      return next as OAuthClient;
    },
    async delete(id: string, ctx: RequestContext) {
      await get(id);
      await authMethods.delete(id, ctx);
    },
    async rotateSecret(id: string, graceSeconds: number, ctx: RequestContext) {
      const client = await get(id);
      if (!usesSecret(client))
        throw validationError('This client authenticates with private_key_jwt; it has no secret.');
      return {
        client,
        clientSecret: await issueSecret(client, graceSeconds, ctx, 'oauth_client.secret_rotated'),
      };
    },
  };
}

export type OAuthClientsService = ReturnType<typeof createOAuthClientsService>;
