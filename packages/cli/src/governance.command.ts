/**
 * `tessera inventory list|show|export|who-can|retire|narrow`, `tessera owner offboard`,
 * `tessera posture scan|findings|policy` and `tessera discovery add-source|run|accounts|decide`:
 * governance of the NHI estate (issue 16).
 */

import type { InventoryEntry, ListInventoryQuery, WhoCanAnswer } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { formatTime, listText, renderKeyValues, renderTable } from './output.format.js';

const KINDS = ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device', 'other'] as const;
const STATES = ['active', 'suspended', 'retired'] as const;
const OWASP = ['NHI1', 'NHI2', 'NHI3', 'NHI4', 'NHI5', 'NHI6', 'NHI7', 'NHI8', 'NHI9', 'NHI10', '*'] as const;
const DECISIONS = ['adopt', 'replace', 'delete'] as const;

function oneId(args: ArgReader, what = 'identity id'): string {
  const flag = args.str('id');
  const [positional, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (flag && positional && flag !== positional) throw new UsageError('give the id once');
  const id = flag ?? positional;
  if (!id) throw new UsageError(`the ${what} is required (--id ID)`);
  return id;
}
const ID: OptionSpecs = {
  id: { type: 'string', placeholder: 'ID', description: 'identity id (or give it as argument)' },
};

const FILTERS: OptionSpecs = {
  kind: { type: 'string', placeholder: 'KIND', description: KINDS.join(', ') },
  owner: { type: 'string', placeholder: 'OWNER', description: 'only this owner' },
  environment: { type: 'string', placeholder: 'ENV', description: 'only this environment' },
  state: { type: 'string', placeholder: 'STATE', description: STATES.join(', ') },
  tag: { type: 'string', placeholder: 'TAG', description: 'only identities with this tag' },
  finding: {
    type: 'string',
    placeholder: 'NHIn',
    description: 'only identities with an open finding (NHI1…NHI10, or *)',
  },
};
function filters(args: ArgReader): ListInventoryQuery {
  const kind = args.choice('kind', KINDS);
  const state = args.choice('state', STATES);
  const finding = args.choice('finding', OWASP);
  const owner = args.str('owner');
  const environment = args.str('environment');
  const tag = args.str('tag');
  return {
    ...(kind ? { kind } : {}),
    ...(state ? { state } : {}),
    ...(finding ? { finding } : {}),
    ...(owner ? { owner } : {}),
    ...(environment ? { environment } : {}),
    ...(tag ? { tag } : {}),
  };
}

/** The readable description of one inventory entry. */
export function renderEntry(e: InventoryEntry, nowMs: number): string {
  const head = renderKeyValues([
    ['ID', e.id],
    ['Name', e.name],
    ['Kind', e.kind],
    ['Owner', e.owner],
    ['Owners by aspect', `credentials ${e.ownership.credentials}, entitlements ${e.ownership.entitlements}`],
    ['Environment', e.environment ?? '-'],
    ['Tags', listText(e.tags)],
    ['State', e.state],
    ['Managed', e.management],
    ['Last used', e.lastUsedAt ? formatTime(e.lastUsedAt, nowMs) : 'never'],
    ['Risk score', String(e.riskScore)],
  ]);
  const creds = e.credentials.length
    ? renderTable(
        ['CREDENTIAL', 'KIND', 'VIA', 'AGE', 'EXPIRES', 'LAST USED', 'LIVE'],
        e.credentials.map((c) => [
          c.id,
          c.kind,
          c.via,
          `${c.ageDays}d`,
          c.expiresAt ? formatTime(c.expiresAt, nowMs) : 'never',
          c.lastUsedAt ? formatTime(c.lastUsedAt, nowMs) : 'never',
          c.live ? 'yes' : 'no',
        ]),
      )
    : 'No credentials.\n';
  const perms = e.effectivePermissions.length
    ? renderTable(
        ['ROLE', 'TYPE', 'PATH', 'CAPABILITIES', 'USED'],
        e.effectivePermissions.map((g) => [
          g.role,
          g.ruleType,
          g.path,
          g.capabilities.join(','),
          g.used ? 'yes' : 'no',
        ]),
      )
    : 'No permissions.\n';
  const findings = e.findings.length
    ? renderTable(
        ['OWASP', 'SEVERITY', 'FINDING', 'FIX'],
        e.findings.map((f) => [f.owasp, f.severity, f.title, f.remediation.command]),
      )
    : 'No findings.\n';
  return `${head}\n${creds}\n${perms}\n${findings}`;
}

const list: CommandSpec = {
  path: ['inventory', 'list'],
  summary: 'List the NHI inventory with credentials, findings and risk',
  options: {
    ...FILTERS,
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: [
    'tessera inventory list --finding NHI5',
    'tessera inventory list --owner alice --kind ai-agent --json',
  ],
  async run(ctx, args) {
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const query = { ...filters(args), ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) };
    const page = await ctx.withAdmin((t) => ctx.client.listInventory(t, query));
    ctx.emit(page, () => {
      if (page.items.length === 0) return 'No identities.\n';
      return renderTable(
        ['ID', 'NAME', 'KIND', 'OWNER', 'MANAGED', 'CREDS', 'FINDINGS', 'RISK'],
        page.items.map((e) => [
          e.id,
          e.name,
          e.kind,
          e.owner,
          e.management,
          String(e.credentials.filter((c) => c.live).length),
          [...new Set(e.findings.map((f) => f.owasp))].join(',') || '-',
          String(e.riskScore),
        ]),
      );
    });
    if (page.nextCursor && !ctx.json) ctx.note(`More: tessera inventory list --cursor ${page.nextCursor}`);
  },
};

const show: CommandSpec = {
  path: ['inventory', 'show'],
  summary: 'Show one identity: credentials, effective vs used permissions, findings',
  positionals: '[ID]',
  options: ID,
  examples: ['tessera inventory show i-123', 'tessera inventory show --id i-123 --json'],
  async run(ctx, args) {
    const id = oneId(args);
    const entry = await ctx.withAdmin((t) => ctx.client.getInventoryEntry(t, id));
    ctx.emit(entry, () => renderEntry(entry, ctx.now()));
  },
};

const exportCmd: CommandSpec = {
  path: ['inventory', 'export'],
  summary: 'Export the whole inventory as JSON or CSV',
  options: {
    ...FILTERS,
    format: { type: 'string', placeholder: 'FORMAT', description: 'json (default) or csv' },
  },
  examples: [
    'tessera inventory export --format csv > inventory.csv',
    'tessera inventory export --format json --owner alice',
  ],
  async run(ctx, args) {
    const format = args.choice('format', ['json', 'csv'] as const) ?? 'json';
    const answer = await ctx.withAdmin((t) => ctx.client.exportInventory(t, { ...filters(args), format }));
    if (typeof answer === 'string') ctx.out(answer);
    else ctx.printJson(answer);
  },
};

const RESOURCE_TYPES = [
  'item',
  'auth-method',
  'role',
  'identity',
  'audit',
  'scope',
  'mcp-tool',
  'pki',
] as const;

/** One path, readable: `identity a → auth-method a-key → role r → rule item:/x/*`. */
const renderPath = (steps: WhoCanAnswer['reachers'][number]['paths'][number]['steps']) =>
  steps.map((x) => `${x.kind === 'association' ? 'association' : x.kind} ${x.name}`).join(' → ');

const whoCan: CommandSpec = {
  path: ['inventory', 'who-can'],
  summary: 'Who can reach a resource, through which path (roles, associations, delegation); escalation paths',
  positionals: 'PATH',
  options: {
    type: {
      type: 'string',
      placeholder: 'TYPE',
      description: `resource type: ${RESOURCE_TYPES.join(', ')} (default item)`,
    },
  },
  examples: [
    'tessera inventory who-can /prod/db/password',
    'tessera inventory who-can /tessera-admin --type role --json',
  ],
  async run(ctx, args) {
    const [path, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (!path) throw new UsageError('the resource path is required (e.g. /prod/db/password)');
    const type = args.choice('type', RESOURCE_TYPES);
    const query = { path: path.startsWith('/') ? path : `/${path}`, ...(type ? { type } : {}) };
    const answer = await ctx.withAdmin((t) => ctx.client.whoCan(t, query));
    ctx.emit(answer, () => {
      const reach = answer.reachers.length
        ? renderTable(
            ['IDENTITY', 'OWNER', 'CAN', 'PATH'],
            answer.reachers.flatMap((r) =>
              r.paths.map((p) => [
                r.identityName,
                r.owner,
                p.denied ? 'denied' : `${p.capabilities.join(',')}${p.conditional ? ' (conditional)' : ''}`,
                renderPath(p.steps),
              ]),
            ),
          )
        : `Nobody reaches ${answer.resource.type}:${answer.resource.path}.\n`;
      const esc = answer.escalations.length
        ? `\nEscalation paths (can grant themselves more):\n${renderTable(
            ['IDENTITY', 'EDITS OWN ROLES', 'CAN ASSOCIATE ADMIN WITH', 'PATH'],
            answer.escalations.map((e) => [
              e.identityName,
              e.canEditOwnRoles.join(',') || '-',
              e.canAssociateAdministrator.join(',') || '-',
              renderPath(e.steps),
            ]),
          )}`
        : '';
      return `${reach}${esc}`;
    });
  },
};

const retire: CommandSpec = {
  path: ['inventory', 'retire'],
  summary: 'Retire an identity and revoke every credential it holds (one transaction)',
  positionals: '[ID]',
  options: { ...ID, preview: { type: 'boolean', description: 'show what would be revoked, change nothing' } },
  examples: ['tessera inventory retire i-123 --preview', 'tessera inventory retire i-123'],
  async run(ctx, args) {
    const id = oneId(args);
    const preview = args.bool('preview');
    const report = await ctx.withAdmin((t) => ctx.client.retireInventoryIdentity(t, id, { preview }));
    const rows = (report.revoked ?? report.wouldRevoke ?? []).map((r) => [r.kind, r.id, r.via]);
    ctx.emit(report, () =>
      [
        preview
          ? `Retiring "${report.identityName}" would revoke:\n`
          : `Retired "${report.identityName}"; revoked:\n`,
        rows.length ? renderTable(['KIND', 'ID', 'VIA'], rows) : 'nothing live.\n',
      ].join(''),
    );
  },
};

const narrow: CommandSpec = {
  path: ['inventory', 'narrow'],
  summary: 'Generate a role from the permissions an identity used; --apply puts it in place',
  positionals: '[ID]',
  options: {
    ...ID,
    apply: { type: 'boolean', description: 'create the role and replace the identity’s grants' },
  },
  examples: ['tessera inventory narrow i-123', 'tessera inventory narrow i-123 --apply'],
  async run(ctx, args) {
    const id = oneId(args);
    const role = await ctx.withAdmin((t) => ctx.client.narrowRole(t, id, { apply: args.bool('apply') }));
    ctx.emit(role, () =>
      [
        `Observed over ${role.windowDays} days:\n`,
        role.rules.length
          ? renderTable(
              ['TYPE', 'PATH', 'CAPABILITIES'],
              role.rules.map((r) => [r.ruleType, r.path, r.capabilities.join(',')]),
            )
          : 'no use observed (the role grants nothing).\n',
        role.removed.length
          ? `Unused, dropped:\n${renderTable(
              ['ROLE', 'TYPE', 'PATH', 'CAPABILITIES'],
              role.removed.map((r) => [r.roleName, r.ruleType, r.path, r.capabilities.join(',')]),
            )}`
          : '',
        role.applied ? `Applied as role ${role.applied}.\n` : 'Not applied (use --apply).\n',
      ].join(''),
    );
  },
};

const offboard: CommandSpec = {
  path: ['owner', 'offboard'],
  summary: 'Offboard an owner: reassign (--to) and/or suspend every identity they own',
  options: {
    owner: { type: 'string', placeholder: 'OWNER', required: true, description: 'the departing owner' },
    to: { type: 'string', placeholder: 'OWNER', description: 'the new owner' },
    suspend: { type: 'boolean', description: 'suspend their active identities' },
    preview: { type: 'boolean', description: 'show what would change, change nothing' },
  },
  examples: [
    'tessera owner offboard --owner bob --to carol',
    'tessera owner offboard --owner bob --suspend --preview',
  ],
  async run(ctx, args) {
    const to = args.str('to');
    const suspend = args.bool('suspend');
    if (!to && !suspend) throw new UsageError('give --to OWNER or --suspend (or both)');
    const body = {
      owner: args.requireStr('owner'),
      ...(to ? { to } : {}),
      suspend,
      preview: args.bool('preview'),
    };
    const report = await ctx.withAdmin((t) => ctx.client.offboardOwner(t, body));
    ctx.emit(report, () =>
      [
        `${report.preview ? 'Would change' : 'Changed'} ${report.identities.length} identities of ${report.owner}.\n`,
        report.identities.length
          ? renderTable(
              ['ID', 'NAME', 'OWNER', 'STATE'],
              report.identities.map((i) => [i.id, i.name, i.owner, i.state]),
            )
          : '',
      ].join(''),
    );
  },
};

const scan: CommandSpec = {
  path: ['posture', 'scan'],
  summary: 'Run a posture scan now (the leader also runs it every 15 minutes)',
  options: {},
  examples: ['tessera posture scan', 'tessera posture scan --json'],
  async run(ctx) {
    const r = await ctx.withAdmin((t) => ctx.client.runPostureScan(t));
    ctx.emit(
      r,
      () =>
        `Scanned ${r.identities} identities (${r.auditEventsFolded} new audit events): ${r.open} open findings, ${r.opened} new, ${r.resolved} resolved.\n`,
    );
  },
};

const findings: CommandSpec = {
  path: ['posture', 'findings'],
  summary: 'List posture findings (OWASP NHI Top 10) with evidence and the fix',
  options: {
    owasp: { type: 'string', placeholder: 'NHIn', description: 'only this OWASP NHI entry' },
    resolved: { type: 'boolean', description: 'include resolved findings' },
    limit: { type: 'number', placeholder: 'N', description: 'page size' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'page cursor from a previous listing' },
  },
  examples: ['tessera posture findings --owasp NHI5', 'tessera posture findings --json'],
  async run(ctx, args) {
    const owasp = args.choice(
      'owasp',
      OWASP.filter((o) => o !== '*'),
    );
    const limit = args.positiveInt('limit');
    const cursor = args.str('cursor');
    const query = {
      ...(owasp ? { owasp } : {}),
      ...(args.bool('resolved') ? { includeResolved: true } : {}),
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    };
    const page = await ctx.withAdmin((t) => ctx.client.listFindings(t, query));
    ctx.emit(page, () =>
      page.items.length
        ? renderTable(
            ['OWASP', 'SEVERITY', 'IDENTITY', 'FINDING', 'FIX'],
            page.items.map((f) => [f.owasp, f.severity, f.identityName, f.title, f.remediation.command]),
          )
        : 'No findings.\n',
    );
    if (page.nextCursor && !ctx.json) ctx.note(`More: tessera posture findings --cursor ${page.nextCursor}`);
  },
};

const policy: CommandSpec = {
  path: ['posture', 'policy'],
  summary: 'Show or change the posture policy thresholds',
  options: {
    'usage-window-days': {
      type: 'number',
      placeholder: 'DAYS',
      description: 'a permission unused this long is unused',
    },
    'max-static-age-days': {
      type: 'number',
      placeholder: 'DAYS',
      description: 'static secrets older than this are stale',
    },
    'max-ttl-seconds': { type: 'number', placeholder: 'SEC', description: 'longest credential TTL allowed' },
    'max-sources': {
      type: 'number',
      placeholder: 'N',
      description: 'most sources one credential may be used from',
    },
    'workstation-cidrs': {
      type: 'list',
      placeholder: 'CIDRS',
      description: 'networks of people’s workstations (NHI10)',
    },
  },
  examples: [
    'tessera posture policy',
    'tessera posture policy --usage-window-days 60 --workstation-cidrs 10.20.0.0/16',
  ],
  async run(ctx, args) {
    const body = {
      ...(args.positiveInt('usage-window-days')
        ? { usageWindowDays: args.positiveInt('usage-window-days') }
        : {}),
      ...(args.positiveInt('max-static-age-days')
        ? { maxStaticSecretAgeDays: args.positiveInt('max-static-age-days') }
        : {}),
      ...(args.positiveInt('max-ttl-seconds') ? { maxTtlSeconds: args.positiveInt('max-ttl-seconds') } : {}),
      ...(args.positiveInt('max-sources')
        ? { maxSourcesPerCredential: args.positiveInt('max-sources') }
        : {}),
      ...(args.list('workstation-cidrs') ? { workstationCidrs: args.list('workstation-cidrs') } : {}),
    };
    const p = await ctx.withAdmin((t) =>
      Object.keys(body).length ? ctx.client.updatePosturePolicy(t, body) : ctx.client.getPosturePolicy(t),
    );
    ctx.emit(p, () =>
      renderKeyValues([
        ['Usage window', `${p.usageWindowDays} days`],
        ['Static secrets max age', `${p.maxStaticSecretAgeDays} days`],
        ['Max TTL', `${p.maxTtlSeconds} s`],
        ['Max sources per credential', String(p.maxSourcesPerCredential)],
        ['Workstation networks', listText(p.workstationCidrs)],
        ['DPoP required in', listText(p.dpopRequiredEnvironments)],
        ['Departed owners', listText(p.goneOwners)],
      ]),
    );
  },
};

const addSource: CommandSpec = {
  path: ['discovery', 'add-source'],
  summary: 'Add a discovery source: the target of a dynamic secret, and a name prefix',
  options: {
    name: { type: 'string', placeholder: 'NAME', required: true, description: 'source name' },
    item: {
      type: 'string',
      placeholder: 'ITEM',
      required: true,
      description: 'dynamic secret whose target to list',
    },
    prefix: { type: 'string', placeholder: 'PREFIX', description: 'only accounts starting with this' },
  },
  examples: ['tessera discovery add-source --name prod-pg --item /prod/db/pg'],
  async run(ctx, args) {
    const prefix = args.str('prefix');
    const body = {
      name: args.requireStr('name'),
      itemName: args.requireStr('item'),
      ...(prefix ? { prefix } : {}),
    };
    const s = await ctx.withAdmin((t) => ctx.client.addDiscoverySource(t, body));
    ctx.emit(s, () => `Added discovery source ${s.name} (${s.connector} via ${s.itemName}).\n`);
  },
};

const run: CommandSpec = {
  path: ['discovery', 'run'],
  summary: 'List a source’s accounts and reconcile them with the inventory',
  positionals: '[SOURCE]',
  options: { source: { type: 'string', placeholder: 'SOURCE', description: 'source name (or as argument)' } },
  examples: ['tessera discovery run prod-pg'],
  async run(ctx, args) {
    const source = args.str('source') ?? args.positionals[0];
    if (!source) throw new UsageError('the source is required (--source NAME)');
    const r = await ctx.withAdmin((t) => ctx.client.runDiscovery(t, source));
    ctx.emit(
      r,
      () =>
        `${r.accounts} accounts, ${r.unknown} not created by Tessera, ${r.discovered} newly discovered.\n`,
    );
  },
};

const accounts: CommandSpec = {
  path: ['discovery', 'accounts'],
  summary: 'List discovered accounts and their decisions',
  options: { source: { type: 'string', placeholder: 'SOURCE', description: 'only this source' } },
  examples: ['tessera discovery accounts --source prod-pg'],
  async run(ctx, args) {
    const r = await ctx.withAdmin((t) => ctx.client.listDiscoveredAccounts(t, args.str('source')));
    ctx.emit(r, () =>
      r.items.length
        ? renderTable(
            ['ID', 'SOURCE', 'ACCOUNT', 'STATE', 'IDENTITY', 'PASSWORD SET'],
            r.items.map((a) => [
              a.id,
              a.source,
              a.account,
              a.state,
              a.identityId,
              // Where the target records it (MariaDB/MySQL): the password's age, not a last use.
              a.passwordChangedAt ? formatTime(a.passwordChangedAt, ctx.now()) : 'unknown',
            ]),
          )
        : 'No discovered accounts.\n',
    );
  },
};

const decide: CommandSpec = {
  path: ['discovery', 'decide'],
  summary: 'Adopt (rotate under Tessera), replace or delete a discovered account',
  positionals: '[ID]',
  options: {
    id: { type: 'string', placeholder: 'ID', description: 'discovered account id (or as argument)' },
    decision: { type: 'string', placeholder: 'DECISION', required: true, description: DECISIONS.join(', ') },
    owner: { type: 'string', placeholder: 'OWNER', description: 'the accountable owner (adopt, replace)' },
    preview: { type: 'boolean', description: 'show what the decision would do, change nothing' },
  },
  examples: [
    'tessera discovery decide da-123 --decision adopt --owner team-data --preview',
    'tessera discovery decide da-123 --decision delete',
  ],
  async run(ctx, args) {
    const id = oneId(args, 'discovered account id');
    const decision = args.choice('decision', DECISIONS);
    if (!decision) throw new UsageError('--decision is required');
    const owner = args.str('owner');
    const body = { decision, preview: args.bool('preview'), ...(owner ? { owner } : {}) };
    const r = await ctx.withAdmin((t) => ctx.client.decideDiscoveredAccount(t, id, body));
    ctx.emit(r, () =>
      [
        `${r.state ? `Done (${r.state})` : 'Preview'}: ${r.decision} ${r.account} on ${r.target}\n`,
        ...r.effects.map((e) => `  - ${e}\n`),
        r.rotatedSecret ? `Credential: tessera get-rotated-secret-value --name ${r.rotatedSecret}\n` : '',
      ].join(''),
    );
  },
};

/** The governance commands. */
export const governanceCommands: readonly CommandSpec[] = [
  list,
  show,
  exportCmd,
  whoCan,
  retire,
  narrow,
  offboard,
  scan,
  findings,
  policy,
  addSource,
  run,
  accounts,
  decide,
];
