import { Type } from '@sinclair/typebox';
import type { DynamicSecret } from '../../../core/dynamic/dynamic.model.js';
import type { DynamicSecretsService } from '../../../core/dynamic/dynamic.service.js';
import type { LeasesService } from '../../../core/leases/leases.service.js';
import { validationError } from '../../../core/shared/errors.js';
import { type CommandRegistrar, commandBody, NonEmpty, Str, Strings } from './akeyless.api.js';
import { itemNamed } from './akeyless.resources.js';

/**
 * Dynamic secrets through the Akeyless wire format (reference §4.18–4.19): the PostgreSQL producer
 * and credential reads, mapped onto the native services and the same `item` policy; no logic here.
 */
const CreatePostgresql = commandBody({
  name: NonEmpty(512),
  description: Type.Optional(Str(1000)),
  'postgresql-host': Type.Optional(Str(255)),
  'postgresql-port': Type.Optional(Str(10)),
  'postgresql-db-name': Type.Optional(Str(64)),
  'postgresql-username': Type.Optional(Str(128)),
  'postgresql-password': Type.Optional(Str(1024)),
  'creation-statements': Type.Optional(Str(4096)),
  'revocation-statement': Type.Optional(Str(4096)),
  'custom-username-template': Type.Optional(Str(128)),
  'password-length': Type.Optional(Str(10)),
  'user-ttl': Type.Optional(Str(20)),
  ssl: Type.Optional(Type.Boolean()),
  tags: Type.Optional(Strings(50, 100)),
  delete_protection: Type.Optional(Str(10)),
  'target-name': Type.Optional(Str(512)),
});
const GetValue = commandBody({
  name: NonEmpty(512),
  timeout: Type.Optional(Type.Number({ minimum: 0, maximum: 3600 })),
  args: Type.Optional(Strings(20, 200)),
  dbname: Type.Optional(Str(64)),
  host: Type.Optional(Str(255)),
  target: Type.Optional(Str(512)),
});

/**
 * `user-ttl` is a duration string (`"60m"`, `"1h30m"`, `"45s"`, `"2d"`); a bare number is minutes,
 * as in the Akeyless console.
 */
export function parseUserTtl(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d{1,7}$/.test(value)) return Number(value) * 60;
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
  const parts = /^(?:\d{1,7}[smhd])+$/.test(value) ? value.match(/\d+[smhd]/g)! : null;
  if (!parts)
    throw validationError('user-ttl must be a duration such as "60m" or "1h".', { field: 'user-ttl' });
  const seconds = parts.reduce((sum, p) => sum + Number(p.slice(0, -1)) * units[p.slice(-1)]!, 0);
  if (seconds < 1 || seconds > 31 * 86_400)
    throw validationError('user-ttl is out of range.', { field: 'user-ttl' });
  return seconds;
}

const ttlString = (seconds: number) => (seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`);

/** The SDK's `DSProducerDetails` for a PostgreSQL producer, never the password. */
function producerDetails(d: DynamicSecret) {
  const s = d.publicSettings as {
    host?: string;
    port?: number;
    database?: string | null;
    adminUsername?: string;
    creationStatements?: string[];
    revocationStatements?: string[];
    options?: Record<string, unknown>;
  };
  return {
    active: true,
    dynamic_secret_name: d.name,
    dynamic_secret_type: d.type,
    db_host_name: s.host ?? '',
    db_port: String(s.port ?? ''),
    db_name: s.database ?? '',
    db_user_name: s.adminUsername ?? '',
    user_ttl: ttlString(d.defaultTtlSeconds),
    password_length: Number(s.options?.passwordLength ?? 32),
    postgres_creation_statements: (s.creationStatements ?? []).join(';\n'),
    postgres_revocation_statements: (s.revocationStatements ?? []).join(';\n'),
  };
}

export function registerAkeylessDynamicCommands(
  c: CommandRegistrar,
  deps: { dynamicSecrets?: DynamicSecretsService; leases?: LeasesService },
) {
  const { dynamicSecrets, leases } = deps;
  if (!dynamicSecrets || !leases) return;

  const create =
    (answerKey: 'dynamic_secret_details' | 'producer_details') =>
    async (request: {
      body: Record<string, unknown> & { name: string };
      ctx: Parameters<DynamicSecretsService['create']>[1];
    }) => {
      const b = request.body as Record<string, string | undefined> & { name: string };
      const port = b['postgresql-port'] ? Number(b['postgresql-port']) : 5432;
      if (!Number.isInteger(port))
        throw validationError('postgresql-port must be a port number.', { field: 'postgresql-port' });
      const passwordLength = b['password-length'] ? Number(b['password-length']) : undefined;
      const ttl = parseUserTtl(b['user-ttl']);
      const created = await dynamicSecrets.create(
        {
          name: b.name,
          type: 'postgresql',
          ...(b.description ? { description: b.description } : {}),
          settings: {
            host: b['postgresql-host'] || '127.0.0.1',
            port,
            ...(b['postgresql-db-name'] ? { database: b['postgresql-db-name'] } : {}),
            ...(b['postgresql-username'] ? { adminUsername: b['postgresql-username'] } : {}),
            adminPassword: b['postgresql-password'] ?? '',
            ...(b['creation-statements'] ? { creationStatements: [b['creation-statements']] } : {}),
            ...(b['revocation-statement'] ? { revocationStatements: [b['revocation-statement']] } : {}),
            ...(b['custom-username-template'] ? { usernameTemplate: b['custom-username-template'] } : {}),
            tls: (request.body as { ssl?: boolean }).ssl === true,
            options: passwordLength !== undefined ? { passwordLength } : {},
          },
          ...(ttl !== undefined ? { defaultTtlSeconds: ttl, maxTtlSeconds: Math.max(ttl, 86_400) } : {}),
        },
        request.ctx,
      );
      return { [answerKey]: producerDetails(created) };
    };

  c.command(
    'dynamic-secret-create-postgresql',
    {
      summary: 'Create a PostgreSQL dynamic secret',
      access: { permission: { action: 'create', resource: itemNamed('name') } },
      body: CreatePostgresql,
    },
    (request) => create('dynamic_secret_details')(request as never),
  );
  c.command(
    'gateway-create-producer-postgresql',
    {
      summary: 'Create a PostgreSQL producer (older spelling)',
      access: { permission: { action: 'create', resource: itemNamed('name') } },
      body: CreatePostgresql,
    },
    (request) => create('producer_details')(request as never),
  );
  c.command(
    ['get-dynamic-secret-value', 'dynamic-secret-get-value'],
    {
      summary: 'Get credentials from a dynamic secret (creates an account and a lease)',
      access: { permission: { action: 'read', resource: itemNamed('name') } },
      body: GetValue,
    },
    async (request) => {
      const { lease, password } = await leases.issue(
        request.body.name,
        request.principal!,
        undefined,
        request.ctx,
      );
      return {
        user: lease.username,
        password,
        ttl_in_minutes: String(Math.round((lease.expiresAtMs - lease.createdAtMs) / 60_000)),
        id: lease.id,
      };
    },
  );
}
