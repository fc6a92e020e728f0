/**
 * Roles, Akeyless-style: `create-role`, `list-roles`, `get-role`, `delete-role`, `set-role-rule`,
 * `delete-role-rule`, `assoc-role-am`, `delete-assoc`. Rule types accept the Akeyless spellings
 * (`item-rule`, `auth-method-rule`, `role-rule`); `--ttl` is in minutes, as in the Akeyless CLI.
 */

import type {
  ClaimFilter,
  Role,
  RoleRule,
  RuleConditions,
  RuleTypeName,
  SetRoleRuleRequest,
} from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import { formatTime, listText, renderKeyValues, renderTable, yesNo } from './output.format.js';

const RULE_TYPE_WORDS = [
  'item',
  'auth-method',
  'role',
  'identity',
  'audit',
  'scope',
  'mcp-tool',
  'pki',
  'resource-server',
] as const;
/** Every rule-type spelling the server takes: native, Akeyless (`…-rule`), and `*` (all types). */
export const RULE_TYPES: readonly RuleTypeName[] = [
  ...RULE_TYPE_WORDS,
  ...RULE_TYPE_WORDS.map((t) => `${t}-rule` as const),
  '*',
];
const CAPABILITIES = ['read', 'list', 'create', 'update', 'delete', 'call', 'deny'] as const;
const CLAIM_KEYS = [
  'identity-id',
  'identity-name',
  'kind',
  'environment',
  'tag',
  'owner',
  'uid-subtree',
] as const;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const TARGET_OWNERS = ['principal', 'principal-owner'] as const;

const ROLE_NAME: OptionSpecs = {
  name: { type: 'string', placeholder: 'NAME', required: true, description: 'role name' },
};
const RULE_KEY: OptionSpecs = {
  'role-name': { type: 'string', placeholder: 'NAME', required: true, description: 'the role' },
  path: {
    type: 'string',
    placeholder: 'PATH',
    required: true,
    description: 'path pattern: * any characters (including /), + one segment',
  },
  'rule-type': {
    type: 'string',
    placeholder: 'TYPE',
    description:
      'item (default), auth-method, role, identity, audit, scope (OAuth scopes), pki (certificate profiles), resource-server (OAuth resource servers) or * (Akeyless item-rule… too)',
  },
};

function ruleType(args: ArgReader): RuleTypeName {
  return args.choice('rule-type', RULE_TYPES) ?? 'item';
}

/**
 * `key=value` items (comma-separated or repeated); an item without `=` is one more value of the key
 * before it, so `environment=prod,staging` means prod or staging (Akeyless `--sub-claims`).
 */
export function parseClaims(items: readonly string[] | undefined, flag: string): ClaimFilter | undefined {
  if (!items || items.length === 0) return undefined;
  const claims: Record<string, string[]> = {};
  let key: string | undefined;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq !== -1) key = item.slice(0, eq).trim();
    const value = (eq === -1 ? item : item.slice(eq + 1)).trim();
    if (!key) throw new UsageError(`--${flag} takes key=value, got "${item}"`);
    if (!(CLAIM_KEYS as readonly string[]).includes(key))
      throw new UsageError(`--${flag}: unknown claim "${key}"; expected one of ${CLAIM_KEYS.join(', ')}`);
    if (value === '') throw new UsageError(`--${flag}: "${key}" needs a value`);
    const values = claims[key] ?? [];
    if (!values.includes(value)) values.push(value);
    claims[key] = values;
  }
  return claims as ClaimFilter;
}

/** `9-17` → from 9 to 17 (UTC hours; `22-6` wraps past midnight). */
function parseHours(text: string | undefined): { fromHour: number; toHour: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,2})-(\d{1,2})$/.exec(text.trim());
  const fromHour = m ? Number(m[1]) : Number.NaN;
  const toHour = m ? Number(m[2]) : Number.NaN;
  if (!m || fromHour > 23 || toHour < 1 || toHour > 24 || fromHour === toHour) {
    throw new UsageError('--hours takes FROM-TO in whole UTC hours, e.g. 9-17 or 22-6');
  }
  return { fromHour, toHour };
}

function conditions(args: ArgReader): RuleConditions | undefined {
  const cidrs = args.list('cidr');
  const claims = parseClaims(args.list('claim'), 'claim');
  const hours = parseHours(args.str('hours'));
  const days = args.list('days');
  const targetOwner = args.str('target-owner');
  const targetTags = args.list('target-tag');
  if (targetOwner !== undefined && !TARGET_OWNERS.includes(targetOwner as (typeof TARGET_OWNERS)[number]))
    throw new UsageError(`--target-owner: "${targetOwner}" is not one of ${TARGET_OWNERS.join(', ')}`);
  const target =
    targetOwner !== undefined || targetTags
      ? {
          ...(targetOwner !== undefined ? { owner: targetOwner as (typeof TARGET_OWNERS)[number] } : {}),
          ...(targetTags ? { tags: targetTags } : {}),
        }
      : undefined;
  const unknownDay = days?.find((d) => !(DAYS as readonly string[]).includes(d));
  if (unknownDay !== undefined)
    throw new UsageError(`--days: "${unknownDay}" is not one of ${DAYS.join(', ')}`);
  // Days alone mean those whole days.
  const window = hours ?? (days ? { fromHour: 0, toHour: 24 } : undefined);
  const out: RuleConditions = {
    ...(cidrs ? { cidrs } : {}),
    ...(claims ? { claims } : {}),
    ...(window
      ? { timeWindow: { ...window, ...(days ? { days: days as (typeof DAYS)[number][] } : {}) } }
      : {}),
    ...(target ? { target } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

function conditionsText(c: RoleRule['conditions']): string {
  if (!c) return '';
  const parts: string[] = [];
  if (c.cidrs) parts.push(`from ${c.cidrs.join(', ')}`);
  if (c.timeWindow)
    parts.push(
      `${c.timeWindow.days ? `${c.timeWindow.days.join(',')} ` : ''}${c.timeWindow.fromHour}-${c.timeWindow.toHour} UTC`,
    );
  if (c.claims) parts.push(claimsText(c.claims));
  if (c.target)
    parts.push(
      `target${c.target.owner ? ` owned by ${c.target.owner}` : ''}${c.target.tags ? ` tagged ${c.target.tags.join(',')}` : ''}`,
    );
  return parts.join('; ');
}

function claimsText(claims: ClaimFilter): string {
  const entries = Object.entries(claims);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${(v ?? []).join('|')}`).join(' ');
}

/** The readable form of a role. */
export function renderRole(role: Role, nowMs: number): string {
  const head = renderKeyValues([
    ['Role', role.name],
    ['Description', role.description ?? '-'],
    ['Built in', yesNo(role.builtin)],
    ['Includes', listText(role.includes)],
    ['Updated', formatTime(role.updatedAt, nowMs)],
  ]);
  const rules =
    role.rules.length === 0
      ? 'No rules.\n'
      : renderTable(
          ['RULE', 'TYPE', 'PATH', 'CAPABILITIES', 'EXPIRES', 'CONDITIONS'],
          role.rules.map((r) => [
            r.id,
            r.ruleType,
            r.path,
            r.capabilities.join(','),
            r.expiresAt ? formatTime(r.expiresAt, nowMs) : '-',
            conditionsText(r.conditions) || '-',
          ]),
        );
  const associations =
    role.associations.length === 0
      ? 'No associations.\n'
      : renderTable(
          ['ASSOCIATION', 'AUTH METHOD', 'ACCESS ID', 'CLAIMS'],
          role.associations.map((a) => [a.id, a.authMethodName, a.authMethodId, claimsText(a.claims)]),
        );
  return `${head}\n${rules}\n${associations}`;
}

const createRole: CommandSpec = {
  path: ['create-role'],
  summary: 'Create a role (no rules yet)',
  options: {
    ...ROLE_NAME,
    description: { type: 'string', placeholder: 'TEXT', description: 'free text', aliases: ['comment'] },
  },
  examples: ['tessera create-role --name demo-readers --description "Read /demo"'],
  async run(ctx, args) {
    const description = args.str('description');
    const body = { name: args.requireStr('name'), ...(description ? { description } : {}) };
    const role = await ctx.withAdmin((t) => ctx.client.createRole(t, body));
    ctx.emit(role, () => `Created role "${role.name}".\n`);
  },
};

const listRoles: CommandSpec = {
  path: ['list-roles'],
  summary: 'List roles',
  options: {
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: ['tessera list-roles', 'tessera list-roles --json'],
  async run(ctx, args) {
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const query = { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) };
    const page = await ctx.withAdmin((t) => ctx.client.listRoles(t, query));
    ctx.emit(page, () =>
      page.items.length === 0
        ? 'No roles.\n'
        : renderTable(
            ['NAME', 'RULES', 'ASSOCIATIONS', 'BUILT IN', 'DESCRIPTION'],
            page.items.map((r) => [
              r.name,
              String(r.ruleCount),
              String(r.associationCount),
              yesNo(r.builtin),
              r.description ?? '-',
            ]),
          ),
    );
    if (page.nextCursor && !ctx.json) ctx.note(`More: tessera list-roles --cursor ${page.nextCursor}`);
  },
};

const getRole: CommandSpec = {
  path: ['get-role'],
  summary: 'Show a role: its rules, included roles and associations',
  options: ROLE_NAME,
  examples: ['tessera get-role --name demo-readers', 'tessera get-role --name tessera-admin --json'],
  async run(ctx, args) {
    const name = args.requireStr('name');
    const role = await ctx.withAdmin((t) => ctx.client.getRole(t, name));
    ctx.emit(role, () => renderRole(role, ctx.now()));
  },
};

const deleteRole: CommandSpec = {
  path: ['delete-role'],
  summary: 'Delete a role with its rules and associations',
  options: ROLE_NAME,
  examples: ['tessera delete-role --name demo-readers'],
  async run(ctx, args) {
    const name = args.requireStr('name');
    await ctx.withAdmin((t) => ctx.client.deleteRole(t, name));
    ctx.emit({ deleted: true, name }, () => `Deleted role "${name}".\n`);
  },
};

const setRoleRule: CommandSpec = {
  path: ['set-role-rule'],
  summary: 'Set the capabilities of a rule (replacing those of the same role, type and path)',
  details:
    'Capabilities: read, list, create, update, delete, call (MCP tools), deny (list is implied by any other; deny beats ' +
    'everything). --ttl is in MINUTES. Conditions (all must hold): --cidr (source networks), --claim ' +
    `key=value (claims: ${CLAIM_KEYS.join(', ')}), --hours FROM-TO with optional --days (UTC).`,
  options: {
    ...RULE_KEY,
    capability: {
      type: 'list',
      placeholder: 'CAP',
      required: true,
      description: 'repeated or comma-separated',
      aliases: ['capabilities'],
    },
    ttl: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'the rule stops applying after this long, e.g. 90m, 7d (bare number: minutes)',
    },
    cidr: {
      type: 'list',
      placeholder: 'CIDR',
      description: 'only from these source networks',
      aliases: ['cidrs'],
    },
    claim: { type: 'list', placeholder: 'KEY=VALUE', description: 'only for principals with these claims' },
    hours: { type: 'string', placeholder: 'FROM-TO', description: 'only between these UTC hours, e.g. 9-17' },
    days: { type: 'list', placeholder: 'DAYS', description: `only on these days (${DAYS.join(',')})` },
    'target-owner': {
      type: 'string',
      placeholder: 'WHO',
      description: `only on targets owned by the caller (${TARGET_OWNERS.join(', ')}; ADR 0042)`,
    },
    'target-tag': { type: 'list', placeholder: 'TAG', description: 'only on targets with these tags' },
  },
  examples: [
    'tessera set-role-rule --role-name demo-readers --path "/demo/*" --capability read --capability list',
    'tessera set-role-rule --role-name demo-readers --path "/demo/*" --rule-type item-rule --capability read --ttl 60',
    'tessera set-role-rule --role-name ops --path "/prod/*" --capability read --cidr 10.0.0.0/8 --hours 8-18 --days mon,tue,wed,thu,fri',
    'tessera set-role-rule --role-name agents --path "/projects/*" --capability read --target-owner principal-owner',
  ],
  async run(ctx, args) {
    const role = args.requireStr('role-name');
    const capabilities = args.list('capability');
    if (!capabilities || capabilities.length === 0) throw new UsageError('--capability is required');
    const bad = capabilities.find((c) => !(CAPABILITIES as readonly string[]).includes(c));
    if (bad !== undefined)
      throw new UsageError(`--capability: "${bad}" is not one of ${CAPABILITIES.join(', ')}`);
    const ttlSeconds = durationFlag(args, 'ttl', 'minutes');
    const when = conditions(args);
    const body: SetRoleRuleRequest = {
      ruleType: ruleType(args),
      path: args.requireStr('path'),
      capabilities: capabilities as SetRoleRuleRequest['capabilities'],
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      ...(when ? { conditions: when } : {}),
    };
    const rule = await ctx.withAdmin((t) => ctx.client.setRoleRule(t, role, body));
    ctx.emit(
      rule,
      () =>
        `Rule ${rule.id} of role "${role}": ${rule.ruleType} ${rule.path} → ${rule.capabilities.join(', ')}` +
        `${rule.expiresAt ? ` until ${formatTime(rule.expiresAt, ctx.now())}` : ''}` +
        `${rule.conditions ? ` (${conditionsText(rule.conditions)})` : ''}\n`,
    );
  },
};

const deleteRoleRule: CommandSpec = {
  path: ['delete-role-rule'],
  summary: 'Delete the rule of a role for a rule type and path',
  options: RULE_KEY,
  examples: ['tessera delete-role-rule --role-name demo-readers --path "/demo/*" --rule-type item-rule'],
  async run(ctx, args) {
    const role = args.requireStr('role-name');
    const rule = { ruleType: ruleType(args), path: args.requireStr('path') };
    await ctx.withAdmin((t) => ctx.client.deleteRoleRule(t, role, rule));
    ctx.emit(
      { deleted: true, role, ...rule },
      () => `Deleted the ${rule.ruleType} rule ${rule.path} of "${role}".\n`,
    );
  },
};

const assocRoleAm: CommandSpec = {
  path: ['assoc-role-am'],
  summary: 'Associate a role with an auth method, optionally only for principals with given claims',
  details:
    `Sub-claims (all keys must match; any value per key): ${CLAIM_KEYS.join(', ')}. ` +
    '`uid-subtree=<token id>` matches that UID token and every token below it. ' +
    'Several values: --sub-claim environment=prod,staging. Prints the association id.',
  options: {
    'role-name': { type: 'string', placeholder: 'NAME', required: true, description: 'the role' },
    'am-name': { type: 'string', placeholder: 'NAME', description: 'the auth method, by name' },
    'am-id': { type: 'string', placeholder: 'ID', description: 'or by access id p-…' },
    'sub-claim': {
      type: 'list',
      placeholder: 'KEY=VALUE',
      description: 'repeated, or comma-separated',
      aliases: ['sub-claims'],
    },
  },
  examples: [
    'tessera assoc-role-am --role-name demo-readers --am-name /demo/uid',
    'tessera assoc-role-am --role-name prod-readers --am-name /ci --sub-claim environment=prod --sub-claim kind=ci-pipeline',
  ],
  async run(ctx, args) {
    const role = args.requireStr('role-name');
    const name = args.str('am-name');
    const id = args.str('am-id');
    if (!name === !id) throw new UsageError('give the auth method with --am-name or --am-id (one of them)');
    const claims = parseClaims(args.list('sub-claim'), 'sub-claim');
    const body = {
      ...(name ? { authMethodName: name } : { authMethodId: id as string }),
      ...(claims ? { claims } : {}),
    };
    const association = await ctx.withAdmin((t) => ctx.client.associateRole(t, role, body));
    ctx.emit(association, () => `${association.id}\n`);
    if (!ctx.json)
      ctx.note(`Role "${role}" associated with ${association.authMethodName} (${association.authMethodId}).`);
  },
};

const deleteAssoc: CommandSpec = {
  path: ['delete-assoc'],
  summary: 'Delete a role association',
  options: {
    'assoc-id': { type: 'string', placeholder: 'ID', required: true, description: 'the association id ra-…' },
  },
  examples: ['tessera delete-assoc --assoc-id ra-1234'],
  async run(ctx, args) {
    const id = args.requireStr('assoc-id');
    await ctx.withAdmin((t) => ctx.client.deleteRoleAssociation(t, id));
    ctx.emit({ deleted: true, id }, () => `Deleted association ${id}.\n`);
  },
};

const INCLUSION: OptionSpecs = {
  'role-name': { type: 'string', placeholder: 'NAME', required: true, description: 'the including role' },
  'included-role': {
    type: 'string',
    placeholder: 'NAME',
    required: true,
    description: 'the role whose rules it gains',
  },
};

const includeRole: CommandSpec = {
  path: ['include-role'],
  summary: 'Make a role include another (it gains the other role’s rules; cycles are refused)',
  options: INCLUSION,
  examples: ['tessera include-role --role-name payments-service --included-role common-readers'],
  async run(ctx, args) {
    const role = args.requireStr('role-name');
    const included = args.requireStr('included-role');
    await ctx.withAdmin((t) => ctx.client.includeRole(t, role, included));
    ctx.emit({ role, included }, () => `Role "${role}" now includes "${included}".\n`);
  },
};

const excludeRole: CommandSpec = {
  path: ['exclude-role'],
  summary: 'Stop a role including another',
  options: INCLUSION,
  examples: ['tessera exclude-role --role-name payments-service --included-role common-readers'],
  async run(ctx, args) {
    const role = args.requireStr('role-name');
    const included = args.requireStr('included-role');
    await ctx.withAdmin((t) => ctx.client.excludeRole(t, role, included));
    ctx.emit({ role, excluded: included }, () => `Role "${role}" no longer includes "${included}".\n`);
  },
};

/** The role commands, in help order. */
export const roleCommands: readonly CommandSpec[] = [
  createRole,
  listRoles,
  getRole,
  deleteRole,
  setRoleRule,
  deleteRoleRule,
  includeRole,
  excludeRole,
  assocRoleAm,
  deleteAssoc,
];
