import { Type } from '@sinclair/typebox';
import type { AuthService } from '../../../core/auth/auth.service.js';
import type { AuthMethod } from '../../../core/auth-methods/auth-methods.model.js';
import { isUidMethod } from '../../../core/auth-methods/auth-methods.model.js';
import type { AuthMethodsService } from '../../../core/auth-methods/auth-methods.service.js';
import type { SessionsService } from '../../../core/sessions/sessions.service.js';
import { validationError } from '../../../core/shared/errors.js';
import {
  type CommandRegistrar,
  type CommandRequest,
  commandBody,
  Int,
  NonEmpty,
  Str,
  Strings,
} from './akeyless.api.js';
import { authMethod, authMethodNamed } from './akeyless.resources.js';
import {
  accessExpiresToMs,
  minutesToSeconds,
  secondsToMinutes,
  toAkeylessSessionToken,
} from './akeyless.wire.js';

/** Tessera's deepest token tree; the SDK sends `tree-length: 200` whether or not it was asked for. */
const MAX_TREE_LENGTH = 32;

const UidMethodFields = {
  name: NonEmpty(200),
  ttl: Type.Optional(Int(0, 600_000)),
  'jwt-ttl': Type.Optional(Int(0, 600_000)),
  'child-ttl-limit': Type.Optional(Int(0, 600_000)),
  'tree-length': Type.Optional(Int(0, 10_000)),
  'deny-rotate': Type.Optional(Type.Boolean()),
  'deny-inheritance': Type.Optional(Type.Boolean()),
  'access-expires': Type.Optional(Int(0, 253_402_300_799)),
  'bound-ips': Type.Optional(Strings(100, 64)),
  description: Type.Optional(Str(1000)),
};
const CreateUidMethod = commandBody(UidMethodFields);
const UpdateUidMethod = commandBody({ ...UidMethodFields, 'new-name': Type.Optional(Str(200)) });
const CreateAccessKeyMethod = commandBody({
  name: NonEmpty(200),
  'jwt-ttl': Type.Optional(Int(0, 600_000)),
  'access-expires': Type.Optional(Int(0, 253_402_300_799)),
  'bound-ips': Type.Optional(Strings(100, 64)),
  description: Type.Optional(Str(1000)),
});
const ByName = commandBody({ name: NonEmpty(200) });
const ListMethods = commandBody({
  filter: Type.Optional(Str(200)),
  'pagination-token': Type.Optional(Str(100)),
  type: Type.Optional(Strings(20, 40)),
});
const Auth = commandBody({
  'access-type': Type.Optional(Str(40)),
  'access-id': Type.Optional(Str(64)),
  'access-key': Type.Optional(Str(256)),
});
const ValidateToken = commandBody({});

type UidFields = {
  ttl?: number;
  'jwt-ttl'?: number;
  'child-ttl-limit'?: number;
  'tree-length'?: number;
  'deny-rotate'?: boolean;
  'deny-inheritance'?: boolean;
};

/** Akeyless UID method settings (minutes) → Tessera's (seconds); absent keys stay absent. */
function uidSettings(body: UidFields): Record<string, unknown> {
  const settings: Record<string, unknown> = {
    ttlSeconds: minutesToSeconds(body.ttl, 'ttl'),
    jwtTtlSeconds: minutesToSeconds(body['jwt-ttl'], 'jwt-ttl'),
    childTtlLimitSeconds: minutesToSeconds(body['child-ttl-limit'], 'child-ttl-limit'),
    treeLength:
      body['tree-length'] === undefined || body['tree-length'] === 0
        ? undefined
        : Math.min(body['tree-length'], MAX_TREE_LENGTH),
    denyRotate: body['deny-rotate'],
    denyInheritance: body['deny-inheritance'],
  };
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

function common(body: { 'bound-ips'?: string[]; 'access-expires'?: number }) {
  const expiresAtMs = accessExpiresToMs(body['access-expires']);
  return {
    ...(body['bound-ips'] && body['bound-ips'].length > 0 ? { boundCidrs: body['bound-ips'] } : {}),
    ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
  };
}

/** Tessera's method types ↔ the names Akeyless lists them by. */
const LIST_TYPES: Record<string, AuthMethod['type']> = {
  api_key: 'access_key',
  access_key: 'access_key',
  universal_identity: 'universal_identity',
};

/** The `AuthMethod` model of the SDK (snake_case); role associations are added by the caller. */
export function authMethodToAkeyless(m: AuthMethod, roles: unknown[] = []) {
  return {
    auth_method_name: m.name,
    auth_method_access_id: m.id,
    creation_date: new Date(m.createdAtMs).toISOString(),
    modification_date: new Date(m.updatedAtMs).toISOString(),
    access_info: {
      access_expires: m.expiresAtMs === null ? 0 : Math.floor(m.expiresAtMs / 1000),
      cidr_whitelist: m.boundCidrs.join(','),
      jwt_ttl: secondsToMinutes(m.settings.jwtTtlSeconds),
      rules_type: m.type === 'access_key' ? 'api_key' : m.type,
      ...(isUidMethod(m)
        ? {
            universal_identity_access_rules: {
              ttl: secondsToMinutes(m.settings.ttlSeconds),
              child_ttl_limit: secondsToMinutes(m.settings.childTtlLimitSeconds),
              tree_length: m.settings.treeLength,
              deny_rotate: m.settings.denyRotate,
              deny_inheritance: m.settings.denyInheritance,
            },
          }
        : {}),
    },
    auth_method_roles_assoc: roles,
  };
}

export interface AkeylessAuthDeps {
  authenticate: AuthService;
  sessions: SessionsService;
  authMethods: AuthMethodsService;
  /** Role associations of a method, in the SDK's `AuthMethodRoleAssociation` shape. */
  rolesOfMethod: (method: AuthMethod) => Promise<unknown[]>;
  nowMs: () => number;
}

/** `auth`, `validate-token` and the auth-method commands. */
export function registerAkeylessAuthCommands(c: CommandRegistrar, deps: AkeylessAuthDeps) {
  const { authMethods } = deps;

  c.command(
    'auth',
    { summary: 'Exchange a credential for a t- token', access: { public: true }, body: Auth },
    async (request) => {
      const body = request.body;
      const accessType = body['access-type'] ?? 'access_key';
      let result: Awaited<ReturnType<AuthService>>;
      if (accessType === 'access_key') {
        if (!body['access-id'] || !body['access-key'])
          throw validationError('access-type access_key needs access-id and access-key.', {
            field: 'access-key',
          });
        result = await deps.authenticate(
          {
            accessType: 'access_key',
            accessId: body['access-id'],
            credential: { kind: 'access_key', accessKey: body['access-key'] },
          },
          request.ctx,
        );
      } else if (accessType === 'universal_identity') {
        const uidToken = body['uid-token'];
        if (!uidToken)
          throw validationError('access-type universal_identity needs uid-token.', { field: 'uid-token' });
        result = await deps.authenticate(
          { accessType: 'universal_identity', credential: { kind: 'uid_token', uidToken } },
          request.ctx,
        );
      } else {
        throw validationError(
          `access-type ${accessType.slice(0, 40)} is not supported; use access_key or universal_identity.`,
          { field: 'access-type' },
        );
      }
      return {
        token: toAkeylessSessionToken(result.token),
        expiration: new Date(result.expiresAtMs).toISOString(),
      };
    },
  );

  c.command(
    'validate-token',
    { summary: 'Check a t- token', access: { public: true }, body: ValidateToken },
    async (request) => {
      const raw = request.body.token;
      if (!raw) throw validationError('Missing required parameter: token.', { field: 'token' });
      try {
        const claims = await deps.sessions.verify(raw.startsWith('t-') ? raw.slice(2) : raw);
        const remainingMs = claims.exp * 1000 - deps.nowMs();
        return {
          is_valid: true,
          expiration: new Date(claims.exp * 1000).toISOString(),
          ttl: Math.max(0, Math.floor(remainingMs / 60_000)),
          reason: '',
        };
      } catch {
        // The precise reason is not given out: validation must not become an oracle.
        return { is_valid: false, reason: 'The token is not valid.' };
      }
    },
  );

  const createUid = (withName: boolean) => async (request: CommandRequest<typeof CreateUidMethod>) => {
    const body = request.body;
    const { method } = await authMethods.create(
      { type: 'universal_identity', name: body.name, ...common(body), settings: uidSettings(body) },
      request.ctx,
    );
    return withName ? { access_id: method.id, name: method.name } : { access_id: method.id };
  };
  const createUidSpec = {
    summary: 'Create a Universal Identity auth method',
    access: { permission: { action: 'create' as const, resource: authMethodNamed('name') } },
    body: CreateUidMethod,
  };
  c.command('create-auth-method-universal-identity', createUidSpec, createUid(false));
  c.command('auth-method-create-universal-identity', createUidSpec, createUid(true));

  const updateUid = (withName: boolean) => async (request: CommandRequest<typeof UpdateUidMethod>) => {
    const body = request.body;
    if (body['new-name'] && body['new-name'] !== body.name) {
      throw validationError('Renaming an auth method is not supported; create a new one.', {
        field: 'new-name',
      });
    }
    const current = await authMethods.getByName(body.name);
    if (!isUidMethod(current))
      throw validationError(`${body.name} is not a universal_identity auth method.`, { field: 'name' });
    const method = await authMethods.update(
      current.id,
      { ...common(body), settings: uidSettings(body) },
      request.ctx,
    );
    return withName ? { name: method.name } : {};
  };
  const updateUidSpec = {
    summary: 'Update a Universal Identity auth method',
    access: { permission: { action: 'update' as const, resource: authMethodNamed('name') } },
    body: UpdateUidMethod,
  };
  c.command('update-auth-method-universal-identity', updateUidSpec, updateUid(false));
  c.command('auth-method-update-universal-identity', updateUidSpec, updateUid(true));

  const createKeySpec = {
    summary: 'Create an access-key auth method',
    access: { permission: { action: 'create' as const, resource: authMethodNamed('name') } },
    body: CreateAccessKeyMethod,
  };
  const createKey = async (request: CommandRequest<typeof CreateAccessKeyMethod>) => {
    const body = request.body;
    const jwtTtlSeconds = minutesToSeconds(body['jwt-ttl'], 'jwt-ttl');
    const { method, accessKey } = await authMethods.create(
      {
        type: 'access_key',
        name: body.name,
        ...common(body),
        settings: jwtTtlSeconds === undefined ? {} : { jwtTtlSeconds },
      },
      request.ctx,
    );
    return { access_id: method.id, access_key: accessKey, name: method.name };
  };
  c.command(['create-auth-method', 'auth-method-create-api-key'], createKeySpec, createKey);

  const listSpec = {
    summary: 'List the auth methods the caller may list',
    access: { filter: { action: 'list' as const, type: 'auth-method' as const, scope: () => '/*' } },
    body: ListMethods,
  };
  const list = async (request: CommandRequest<typeof ListMethods>) => {
    const body = request.body;
    const types = (body.type ?? []).map((t) => LIST_TYPES[t]);
    if (types.some((t) => t === undefined)) {
      throw validationError('type may hold api_key and universal_identity.', { field: 'type' });
    }
    const page = await authMethods.list(
      types.length === 1 ? types[0]! : null,
      100,
      body['pagination-token'] ?? null,
    );
    const visible: unknown[] = [];
    for (const m of page.items) {
      if (types.length > 1 && !types.includes(m.type)) continue;
      if (body.filter && !m.name.includes(body.filter)) continue;
      if (!(await request.permits('list', authMethod(m.name)))) continue;
      visible.push(authMethodToAkeyless(m, await deps.rolesOfMethod(m)));
    }
    return { auth_methods: visible, next_page: page.nextCursor ?? '' };
  };
  c.command(['list-auth-methods', 'auth-method-list'], listSpec, list);

  const getSpec = {
    summary: 'Get an auth method',
    access: { permission: { action: 'read' as const, resource: authMethodNamed('name') } },
    body: ByName,
  };
  const get = async (request: CommandRequest<typeof ByName>) => {
    const method = await authMethods.getByName(request.body.name);
    return authMethodToAkeyless(method, await deps.rolesOfMethod(method));
  };
  c.command(['get-auth-method', 'auth-method-get'], getSpec, get);

  const deleteSpec = {
    summary: 'Delete an auth method and revoke every token it issued',
    access: { permission: { action: 'delete' as const, resource: authMethodNamed('name') } },
    body: ByName,
  };
  const remove = async (request: CommandRequest<typeof ByName>) => {
    const method = await authMethods.getByName(request.body.name);
    await authMethods.delete(method.id, request.ctx);
    return { name: method.name };
  };
  c.command(['delete-auth-method', 'auth-method-delete'], deleteSpec, remove);
}
