/**
 * `tessera oauth-client create|list|get|update|rotate-secret|delete` (issue 12): OAuth clients are
 * `oauth_client` auth methods; the client id is their access id `p-…`.
 */

import { readFile } from 'node:fs/promises';
import type { OAuthClient, UpdateOAuthClientRequest } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import {
  formatDuration,
  formatTime,
  listText,
  renderKeyValues,
  renderTable,
  yesNo,
} from './output.format.js';

const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
] as const;

const SETTINGS: OptionSpecs = {
  'auth-method': {
    type: 'string',
    placeholder: 'METHOD',
    description:
      'token endpoint auth: client_secret_basic (default), client_secret_post, private_key_jwt, ' +
      'tls_client_auth or self_signed_tls_client_auth (RFC 8705, on the TLS listener)',
  },
  'tls-subject-dn': {
    type: 'string',
    placeholder: 'DN',
    description: 'tls_client_auth: the certificate subject DN, e.g. CN=billing,O=acme',
  },
  'tls-san-uri': {
    type: 'string',
    placeholder: 'URI',
    description: 'tls_client_auth: a URI SAN of the certificate (a SPIFFE ID)',
  },
  'tls-san-dns': { type: 'string', placeholder: 'NAME', description: 'tls_client_auth: a DNS SAN' },
  'jwks-file': {
    type: 'string',
    placeholder: 'FILE',
    description: 'the client public keys (a JWK set) for private_key_jwt; private keys are refused',
  },
  'jwks-uri': {
    type: 'string',
    placeholder: 'URL',
    description:
      'private_key_jwt: where the client publishes its public keys (https; http only on loopback); not with --jwks-file',
  },
  scopes: {
    type: 'list',
    placeholder: 'SCOPES',
    description:
      'comma-separated scopes the client may request (each also granted by its roles: read on a scope rule)',
  },
  resources: {
    type: 'list',
    placeholder: 'URIS',
    description: 'comma-separated resource servers (RFC 8707) the client may request tokens for',
  },
  'token-ttl': { type: 'number', placeholder: 'SEC', description: 'access token lifetime in seconds' },
  dpop: { type: 'boolean', description: 'every access token must be DPoP-bound' },
  'may-act-for': {
    type: 'list',
    placeholder: 'CLIENT_IDS',
    description: 'token exchange: client ids whose tokens this client may exchange (RFC 8693)',
  },
  'delegation-file': {
    type: 'string',
    placeholder: 'FILE',
    description:
      'token exchange rules (ADR 0039): a JSON list of {subject, audiences?, scopes?, impersonation?}, ' +
      'one per subject client; [] removes them',
  },
  'grant-types': {
    type: 'list',
    placeholder: 'GRANTS',
    description:
      'comma-separated grant types the client may use (client_credentials, ' +
      'urn:ietf:params:oauth:grant-type:token-exchange, urn:ietf:params:oauth:grant-type:jwt-bearer, ' +
      'urn:openid:params:grant-type:ciba); default: every grant its settings enable',
  },
  'bound-cidrs': {
    type: 'list',
    placeholder: 'CIDRS',
    description: 'comma-separated client CIDR allow-list',
  },
};

/** A JSON file named by `--option`; a usage error naming it when unreadable. */
async function jsonFile<T>(path: string, option: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw new UsageError(`--${option}: cannot read a JSON ${what} (${(error as Error).message})`);
  }
}

async function settingsBody(args: ArgReader): Promise<UpdateOAuthClientRequest> {
  const method = args.choice('auth-method', AUTH_METHODS);
  const jwksFile = args.str('jwks-file');
  const jwksUri = args.str('jwks-uri');
  if (jwksFile !== undefined && jwksUri !== undefined)
    throw new UsageError('--jwks-file and --jwks-uri are mutually exclusive');
  const scopes = args.list('scopes');
  const resources = args.list('resources');
  const ttl = args.positiveInt('token-ttl');
  const cidrs = args.list('bound-cidrs');
  const mayActFor = args.list('may-act-for');
  const grantTypes = args.list('grant-types');
  const subjectDn = args.str('tls-subject-dn');
  const sanUri = args.str('tls-san-uri');
  const sanDns = args.str('tls-san-dns');
  const delegationFile = args.str('delegation-file');
  const delegation =
    delegationFile === undefined
      ? undefined
      : await jsonFile<UpdateOAuthClientRequest['delegation']>(
          delegationFile,
          'delegation-file',
          'list of rules',
        );
  const jwks =
    jwksFile === undefined
      ? undefined
      : await jsonFile<UpdateOAuthClientRequest['jwks']>(jwksFile, 'jwks-file', 'JWK set');
  return {
    ...(method ? { tokenEndpointAuthMethod: method } : {}),
    ...(jwks !== undefined ? { jwks } : {}),
    ...(jwksUri !== undefined ? { jwksUri } : {}),
    ...(scopes ? { scopes } : {}),
    ...(resources ? { resources } : {}),
    ...(ttl !== undefined ? { accessTokenTtlSeconds: ttl } : {}),
    ...(args.bool('dpop') ? { dpopBoundAccessTokens: true } : {}),
    ...(cidrs ? { boundCidrs: cidrs } : {}),
    ...(mayActFor ? { mayActFor } : {}),
    ...(delegation !== undefined ? { delegation } : {}),
    ...(grantTypes ? { grantTypes: grantTypes as NonNullable<UpdateOAuthClientRequest['grantTypes']> } : {}),
    ...(subjectDn ? { tlsClientAuthSubjectDn: subjectDn } : {}),
    ...(sanUri ? { tlsClientAuthSanUri: sanUri } : {}),
    ...(sanDns ? { tlsClientAuthSanDns: sanDns } : {}),
  };
}

const CLIENT_ID: OptionSpecs = {
  'client-id': { type: 'string', placeholder: 'p-…', required: true, description: 'the client id' },
};

/** One token exchange rule on a line: `p-… (aud …; scope …; impersonation)`. */
function delegationText(r: NonNullable<OAuthClient['delegation']>[number]): string {
  const limits = [
    ...(r.audiences ? [`aud ${r.audiences.join(' ')}`] : []),
    ...(r.scopes ? [`scope ${r.scopes.join(' ')}`] : []),
    ...(r.impersonation ? ['impersonation'] : []),
  ];
  return limits.length ? `${r.subject} (${limits.join('; ')})` : r.subject;
}

/** Key/value description of a client. */
export function renderOAuthClient(c: OAuthClient, nowMs: number): string {
  return renderKeyValues([
    ['Name', c.name],
    ['Client ID', c.clientId],
    ['Identity', c.identityId],
    ['Auth method', c.tokenEndpointAuthMethod],
    ['Keys', c.jwks ? String(c.jwks.keys.length) : (c.jwksUri ?? '-')],
    ['Scopes', listText(c.scopes)],
    ['Resources', listText(c.resources)],
    ['Token TTL', formatDuration(c.accessTokenTtlSeconds)],
    ['DPoP required', yesNo(c.dpopBoundAccessTokens)],
    ['May act for', listText(c.mayActFor)],
    ['Delegation', listText((c.delegation ?? []).map(delegationText))],
    ['Grant types', c.grantTypes ? listText(c.grantTypes) : 'every enabled'],
    ['Bound CIDRs', listText(c.boundCidrs)],
    ['Created', formatTime(c.createdAt, nowMs)],
  ]);
}

const create: CommandSpec = {
  path: ['oauth-client', 'create'],
  summary: 'Register an OAuth client (prints its client id, and its secret once)',
  details:
    'A client_secret_* client gets a secret generated by Tessera, shown only now. private_key_jwt needs --jwks-file.',
  options: {
    name: {
      type: 'string',
      placeholder: 'NAME',
      required: true,
      description: 'client name, e.g. /prod/billing',
    },
    owner: { type: 'string', placeholder: 'OWNER', description: 'human owner (creates/links an identity)' },
    'identity-id': { type: 'string', placeholder: 'ID', description: 'attach to an existing identity' },
    ...SETTINGS,
  },
  examples: [
    'tessera oauth-client create --name /prod/billing --scopes read,write --resources https://api.example.com/',
    'tessera oauth-client create --name /prod/agent --auth-method private_key_jwt --jwks-file agent.jwks.json --dpop --json',
  ],
  async run(ctx, args) {
    const owner = args.str('owner');
    const identityId = args.str('identity-id');
    const body = {
      name: args.requireStr('name'),
      ...(owner ? { owner } : {}),
      ...(identityId ? { identityId } : {}),
      ...(await settingsBody(args)),
    };
    const answer = await ctx.withAdmin((t) => ctx.client.createOAuthClient(t, body));
    if (ctx.json) {
      ctx.printJson(answer);
      return;
    }
    ctx.out(
      `Client ID: ${answer.client.clientId}\n${answer.clientSecret ? `Client Secret: ${answer.clientSecret}\n` : ''}`,
    );
    ctx.note(
      `Registered OAuth client "${answer.client.name}".${answer.clientSecret ? ' The secret is not shown again.' : ''}`,
    );
  },
};

const list: CommandSpec = {
  path: ['oauth-client', 'list'],
  summary: 'List OAuth clients',
  options: {
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: ['tessera oauth-client list', 'tessera oauth-client list --json'],
  async run(ctx, args) {
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const page = await ctx.withAdmin((t) =>
      ctx.client.listOAuthClients(t, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }),
    );
    ctx.emit(page, () => {
      if (page.items.length === 0) return 'No OAuth clients.\n';
      const rows = page.items.map((c) => [
        c.name,
        c.clientId,
        c.tokenEndpointAuthMethod,
        listText(c.scopes),
        yesNo(c.dpopBoundAccessTokens),
        formatTime(c.createdAt, ctx.now()),
      ]);
      return renderTable(['NAME', 'CLIENT ID', 'AUTH', 'SCOPES', 'DPOP', 'CREATED'], rows);
    });
    if (page.nextCursor && !ctx.json) ctx.note(`More: tessera oauth-client list --cursor ${page.nextCursor}`);
  },
};

const get: CommandSpec = {
  path: ['oauth-client', 'get'],
  summary: 'Show one OAuth client',
  options: CLIENT_ID,
  examples: ['tessera oauth-client get --client-id p-xxxx --json'],
  async run(ctx, args) {
    const client = await ctx.withAdmin((t) => ctx.client.getOAuthClient(t, args.requireStr('client-id')));
    ctx.emit(client, () => renderOAuthClient(client, ctx.now()));
  },
};

const update: CommandSpec = {
  path: ['oauth-client', 'update'],
  summary: 'Change an OAuth client (scopes, resources, keys, TTL, DPoP)',
  options: { ...CLIENT_ID, ...SETTINGS },
  examples: ['tessera oauth-client update --client-id p-xxxx --scopes read --dpop'],
  async run(ctx, args) {
    const body = await settingsBody(args);
    if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give at least one setting');
    const client = await ctx.withAdmin((t) =>
      ctx.client.updateOAuthClient(t, args.requireStr('client-id'), body),
    );
    ctx.emit(client, () => renderOAuthClient(client, ctx.now()));
  },
};

const rotateSecret: CommandSpec = {
  path: ['oauth-client', 'rotate-secret'],
  summary: 'Give an OAuth client a new secret (printed once)',
  options: {
    ...CLIENT_ID,
    'grace-seconds': {
      type: 'number',
      placeholder: 'SEC',
      description: 'how long the old secret still works (default 0)',
    },
  },
  examples: ['tessera oauth-client rotate-secret --client-id p-xxxx --grace-seconds 300'],
  async run(ctx, args) {
    const grace = args.num('grace-seconds');
    if (grace !== undefined && (!Number.isInteger(grace) || grace < 0))
      throw new UsageError('--grace-seconds must be a whole number of seconds');
    const answer = await ctx.withAdmin((t) =>
      ctx.client.rotateOAuthClientSecret(
        t,
        args.requireStr('client-id'),
        grace !== undefined ? { graceSeconds: grace } : {},
      ),
    );
    if (ctx.json) {
      ctx.printJson(answer);
      return;
    }
    ctx.out(`Client Secret: ${answer.clientSecret}\n`);
    ctx.note('The secret is not shown again.');
  },
};

const remove: CommandSpec = {
  path: ['oauth-client', 'delete'],
  summary: 'Delete an OAuth client (every token it obtained stops working)',
  options: CLIENT_ID,
  examples: ['tessera oauth-client delete --client-id p-xxxx'],
  async run(ctx, args) {
    const id = args.requireStr('client-id');
    await ctx.withAdmin((t) => ctx.client.deleteOAuthClient(t, id));
    ctx.emit({ deleted: true, clientId: id }, () => `Deleted OAuth client ${id}.\n`);
  },
};

/** The oauth-client commands. */
export const oauthClientCommands: readonly CommandSpec[] = [create, list, get, update, rotateSecret, remove];
