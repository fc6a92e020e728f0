import { CLIENT_AUTH_METHODS, delegationSubjects } from '../../core/auth-methods/auth-methods.model.js';
import { IDENTITY_EXISTS } from '../../core/auth-methods/auth-methods.service.js';
import { namesNoOwner } from '../../core/identities/identities.model.js';
import type { RequestContext } from '../../core/shared/context.js';
import { ErrorCodes, TesseraError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import { Name } from '../../core/shared/schemas.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import { OAuthError, TOKEN_EXCHANGE_GRANT } from './oauth.model.js';
import { isClientUrl } from './oauth-client.auth-method.js';
import type { OAuthClient, OAuthClientsService } from './oauth-clients.service.js';
import { initialTokenState, pathAllows } from './oauth-initial-tokens.js';

/**
 * RFC 7591 dynamic client registration and RFC 7592 management (issue 12). Registration is allowed
 * to a caller whose session (the initial access token) may `create` the client's auth-method path;
 * the client is then managed with its registration access token, stored hashed, one per client.
 * Clients registered here are the same `oauth_client` auth methods as the native API's.
 */

/** A client's name in Tessera, as the native API's `Name`. */
const NAME = new RegExp(Name.pattern as string);
const GRANT_TYPES = ['client_credentials', TOKEN_EXCHANGE_GRANT] as const;

const metadataError = (description: string) => new OAuthError('invalid_client_metadata', description, 400);
const invalidToken = () =>
  new OAuthError('invalid_token', 'The registration access token is not valid for this client.', 401);

const stringArray = (v: unknown, field: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 50 || v.some((x) => typeof x !== 'string' || x.length > 512))
    throw metadataError(`${field} must be an array of strings.`);
  return v as string[];
};

export interface RegistrationInput {
  /** The Tessera name of a new client (`client_name` when it is a path-like name). */
  name: string;
  settings: Record<string, unknown>;
  grantTypes: string[];
}

/** Checks RFC 7591 client metadata and maps it to an `oauth_client`'s settings. */
export function parseClientMetadata(
  body: unknown,
  jwksProblem: (jwks: unknown) => string | null,
  defaultName: () => string,
): RegistrationInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw metadataError('The body must be a JSON object of client metadata.');
  const m = body as Record<string, unknown>;
  const redirects = stringArray(m.redirect_uris, 'redirect_uris');
  if (redirects?.length)
    throw new OAuthError('invalid_redirect_uri', 'This server has no redirect-based grants.', 400);
  const responseTypes = stringArray(m.response_types, 'response_types');
  if (responseTypes?.length) throw metadataError('response_types must be empty: no authorization endpoint.');
  const listed = stringArray(m.grant_types, 'grant_types');
  if (listed?.length === 0) throw metadataError('grant_types must not be empty.');
  const grantTypes = listed ?? ['client_credentials'];
  const unsupported = grantTypes.find((g) => !(GRANT_TYPES as readonly string[]).includes(g));
  if (unsupported !== undefined)
    throw metadataError(`grant_types: ${unsupported.slice(0, 100)} is not supported.`);
  const method = m.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!(CLIENT_AUTH_METHODS as readonly unknown[]).includes(method))
    throw metadataError(`token_endpoint_auth_method must be one of ${CLIENT_AUTH_METHODS.join(', ')}.`);
  // RFC 7591 §2: "The jwks_uri and jwks parameters MUST NOT both be present".
  if (m.jwks_uri !== undefined && m.jwks !== undefined)
    throw metadataError('jwks and jwks_uri are mutually exclusive: send one.');
  if (m.jwks_uri !== undefined) {
    if (method !== 'private_key_jwt') throw metadataError('jwks_uri is only for private_key_jwt clients.');
    if (!isClientUrl(m.jwks_uri))
      throw metadataError('jwks_uri must be an https URL (http only on a loopback host).');
  }
  if (m.jwks !== undefined) {
    const problem = jwksProblem(m.jwks);
    if (problem) throw metadataError(`jwks: ${problem}.`);
  }
  if (method === 'private_key_jwt' && m.jwks === undefined && m.jwks_uri === undefined)
    throw metadataError('private_key_jwt needs jwks or jwks_uri (public keys).');
  if (m.scope !== undefined && (typeof m.scope !== 'string' || m.scope.length > 2048))
    throw metadataError('scope must be a space-separated string.');
  const scopes = typeof m.scope === 'string' ? [...new Set(m.scope.split(' ').filter(Boolean))] : [];
  if (m.dpop_bound_access_tokens !== undefined && typeof m.dpop_bound_access_tokens !== 'boolean')
    throw metadataError('dpop_bound_access_tokens must be a boolean.');
  if (
    m.client_name !== undefined &&
    (typeof m.client_name !== 'string' || m.client_name.length > 200 || !NAME.test(m.client_name))
  )
    throw metadataError('client_name must be a path-like name (it names the client in Tessera).');
  return {
    name: typeof m.client_name === 'string' && m.client_name ? m.client_name : defaultName(),
    grantTypes,
    settings: {
      tokenEndpointAuthMethod: method,
      jwks: m.jwks ?? null,
      jwksUri: m.jwks_uri ?? null,
      scopes,
      dpopBoundAccessTokens: m.dpop_bound_access_tokens === true,
      // The grant types asked for are the only ones the client may use (absent: the default).
      ...(listed ? { grantTypes: [...new Set(listed)] } : {}),
      // RFC 8705 §2.1.2 registration metadata
      ...(typeof m.tls_client_auth_subject_dn === 'string'
        ? { tlsClientAuthSubjectDn: m.tls_client_auth_subject_dn }
        : {}),
      ...(typeof m.tls_client_auth_san_uri === 'string'
        ? { tlsClientAuthSanUri: m.tls_client_auth_san_uri }
        : {}),
      ...(typeof m.tls_client_auth_san_dns === 'string'
        ? { tlsClientAuthSanDns: m.tls_client_auth_san_dns }
        : {}),
    },
  };
}

/** A client's RFC 7591 metadata as the registration endpoints answer it. */
export function clientMetadata(client: OAuthClient, registrationClientUri: string) {
  const s = client.settings;
  return {
    client_id: client.id,
    client_name: client.name,
    client_id_issued_at: Math.floor(client.createdAtMs / 1000),
    token_endpoint_auth_method: s.tokenEndpointAuthMethod,
    grant_types: s.grantTypes ?? (delegationSubjects(s).length ? [...GRANT_TYPES] : ['client_credentials']),
    response_types: [] as string[],
    ...(s.scopes.length ? { scope: s.scopes.join(' ') } : {}),
    ...(s.jwks ? { jwks: s.jwks } : {}),
    ...(s.jwksUri ? { jwks_uri: s.jwksUri } : {}),
    dpop_bound_access_tokens: s.dpopBoundAccessTokens,
    registration_client_uri: registrationClientUri,
    ...(s.tokenEndpointAuthMethod.startsWith('client_secret_') ? { client_secret_expires_at: 0 } : {}),
    ...(s.tlsClientAuthSubjectDn ? { tls_client_auth_subject_dn: s.tlsClientAuthSubjectDn } : {}),
    ...(s.tlsClientAuthSanUri ? { tls_client_auth_san_uri: s.tlsClientAuthSanUri } : {}),
    ...(s.tlsClientAuthSanDns ? { tls_client_auth_san_dns: s.tlsClientAuthSanDns } : {}),
  };
}

/** Tessera's validation refusals (a taken or malformed name…) in RFC 7591 terms. */
function asMetadataError(error: unknown): never {
  if (
    error instanceof TesseraError &&
    (error.code === ErrorCodes.VALIDATION_FAILED || error.code === ErrorCodes.CONFLICT)
  )
    throw metadataError(error.message);
  throw error;
}

/** Why the creation refused a taken name (`identity_exists`, `client_exists`), or null. */
function nameTaken(error: unknown): string | null {
  if (!(error instanceof TesseraError) || error.code !== ErrorCodes.CONFLICT) return null;
  if (error.internalReason === IDENTITY_EXISTS) return IDENTITY_EXISTS;
  return error.internalReason === 'auth_method_exists' ? 'client_exists' : null;
}

/** The default name of a client registered under `path` without a `client_name`. */
const defaultNameUnder = (path: string, id: string) =>
  path.endsWith('/*') ? `${path.slice(0, -1)}${id}` : path;

export function createOAuthRegistration(deps: {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  clients: OAuthClientsService;
  jwksProblem: (jwks: unknown) => string | null;
  newToken: () => string;
  registrationUri: (clientId: string) => string;
}) {
  const { uow, clock, credentials, clients } = deps;
  const parse = (body: unknown) =>
    parseClientMetadata(body, deps.jwksProblem, () => `/oauth-dynamic/${credentials.newId('c-', 16)}`);

  /** A refused registration with an initial access token, audited with the token's id (never the token). */
  async function refuse(
    error: OAuthError,
    reason: string,
    tokenId: string,
    ctx: RequestContext,
    data: Record<string, unknown> = {},
  ): Promise<never> {
    const now = clock.nowMs();
    await uow.write((r) =>
      r.audit.append(
        {
          type: 'oauth.client_registration_refused',
          outcome: error.status === 403 ? 'denied' : 'failure',
          actor: { credentialRef: tokenId },
          resource: `/oauth/registration-tokens/${tokenId}`,
          reason,
          data: { registrationTokenId: tokenId, ...data },
        },
        ctx,
        now,
      ),
    );
    throw error;
  }

  async function registered(
    input: RegistrationInput,
    ctx: RequestContext,
    via: { registrationTokenId: string; path: string; owner: string } | null,
  ) {
    const { client, clientSecret } = await clients.create(
      {
        name: input.name,
        settings: input.settings,
        // A registration token's client gets a new identity, owned by the token's owner, checked
        // in the creating transaction (ADR 0052); a session's may join an existing identity (the
        // native API's behaviour) and a new one is owned by the caller's owner.
        ...(via ? { owner: via.owner, newIdentityOnly: true } : await callerOwner(ctx)),
      },
      ctx,
    );
    const token = deps.newToken();
    const now = clock.nowMs();
    await uow.write(async (r) => {
      await r.oauthRegistrationTokens.put(client.id, credentials.hashCredential(token), now);
      await r.audit.append(
        {
          type: 'oauth.client_registered',
          outcome: 'success',
          actor: {},
          resource: `/auth-methods/${client.name}`,
          data: {
            clientId: client.id,
            name: client.name,
            identityId: client.identityId,
            via: via ? 'registration_token' : 'session',
            ...(via ?? {}),
          },
        },
        ctx,
        now,
      );
    });
    return {
      ...clientMetadata(client, deps.registrationUri(client.id)),
      ...(clientSecret ? { client_secret: clientSecret } : {}),
      registration_access_token: token,
    };
  }

  /** The owner of the caller's identity, when it names someone (else the identity is `unassigned`). */
  async function callerOwner(ctx: RequestContext): Promise<{ owner?: string }> {
    const id = ctx.actor?.identityId;
    const caller = id ? await uow.read((r) => r.identities.get(id)) : null;
    return caller && !namesNoOwner(caller.owner) ? { owner: caller.owner } : {};
  }

  /** The client the registration access token manages; the same refusal for every mismatch. */
  async function authorized(clientId: string, token: string | null): Promise<OAuthClient> {
    if (!token || clientId.length > 64) throw invalidToken();
    const stored = await uow.read((r) => r.oauthRegistrationTokens.hashOf(clientId));
    if (!stored || !credentials.equalHashes(stored, credentials.hashCredential(token))) throw invalidToken();
    return clients.get(clientId).catch(() => {
      throw invalidToken();
    });
  }

  return {
    parse,
    /** RFC 7591 §3: the caller's right to create `name` was checked by the door. */
    register: (input: RegistrationInput, ctx: RequestContext) =>
      registered(input, ctx, null).catch(asMetadataError),
    /**
     * RFC 7591 §3 with a path-scoped initial access token (`tri-…`, ADR 0047): the client is named
     * inside the token's path and gets a new identity of that name; one use is spent atomically in
     * the store (and given back when the registration does not happen).
     */
    async registerWithInitialToken(body: unknown, token: string, ctx: RequestContext) {
      const hash = credentials.hashCredential(token);
      const found = await uow.read((r) => r.oauthInitialAccessTokens.findByHash(hash));
      const notValid = new OAuthError('invalid_token', 'The initial access token is not valid.', 401);
      // An unknown token names nothing to correlate: not audited (anyone can mint the shape).
      if (!found) throw notValid;
      ctx.actor = { credentialRef: found.id };
      const state = initialTokenState(found, clock.nowMs());
      if (state !== 'active') return refuse(notValid, `registration_token_${state}`, found.id, ctx);
      const input = parseClientMetadata(body, deps.jwksProblem, () =>
        defaultNameUnder(found.path, credentials.newId('c-', 16)),
      );
      if (!pathAllows(found.path, input.name))
        return refuse(
          new OAuthError(
            'invalid_client_metadata',
            `client_name must be inside ${found.path}, the path of the initial access token.`,
            403,
          ),
          'name_outside_path',
          found.id,
          ctx,
          { name: input.name },
        );
      // A registration token makes new identities only: it never attaches a client to an existing
      // identity (and so to rights an administrator granted someone else).
      if (await uow.read((r) => r.identities.getByName(input.name)))
        return refuse(
          metadataError(`An identity named ${input.name} exists: choose another client_name.`),
          'identity_exists',
          found.id,
          ctx,
          { name: input.name },
        );
      const spent = await uow.write((r) => r.oauthInitialAccessTokens.consume(hash, clock.nowMs()));
      if (!spent) return refuse(notValid, 'registration_token_used_up', found.id, ctx);
      try {
        return await registered(input, ctx, {
          registrationTokenId: found.id,
          path: found.path,
          owner: found.owner,
        });
      } catch (error) {
        await uow.write((r) => r.oauthInitialAccessTokens.refund(found.id));
        // The name was taken between the check above and the creation (a concurrent registration
        // or identity of that name): the creating transaction saw it, so nothing was attached.
        const taken = nameTaken(error);
        if (taken)
          return refuse(
            metadataError(
              `${taken === IDENTITY_EXISTS ? 'An identity' : 'A client'} named ${input.name} exists: choose another client_name.`,
            ),
            taken,
            found.id,
            ctx,
            { name: input.name },
          );
        return asMetadataError(error);
      }
    },
    /** RFC 7592 §2.1. */
    async read(clientId: string, token: string | null) {
      return clientMetadata(await authorized(clientId, token), deps.registrationUri(clientId));
    },
    /** RFC 7592 §2.2: the metadata sent replaces the client's (the name stays). */
    async update(clientId: string, token: string | null, body: unknown, ctx: RequestContext) {
      await authorized(clientId, token);
      const b = body as Record<string, unknown> | null;
      if (b && typeof b === 'object' && b.client_id !== undefined && b.client_id !== clientId)
        throw new OAuthError('invalid_request', 'client_id does not match the client.', 400);
      if (b && typeof b === 'object' && ('client_secret' in b || 'registration_access_token' in b))
        for (const f of ['client_secret', 'registration_access_token']) delete b[f];
      const input = parse(body);
      const updated = await clients
        .update(clientId, { settings: input.settings }, ctx)
        .catch(asMetadataError);
      return clientMetadata(updated, deps.registrationUri(clientId));
    },
    /** RFC 7592 §2.3: the client and its registration token go (the token with the client). */
    async delete(clientId: string, token: string | null, ctx: RequestContext) {
      await authorized(clientId, token);
      await clients.delete(clientId, ctx);
    },
  };
}

export type OAuthRegistration = ReturnType<typeof createOAuthRegistration>;
