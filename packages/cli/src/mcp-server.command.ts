/**
 * `tessera mcp-server add|list|get|tools|approve-tools|update|remove` (issue 15): upstream MCP
 * servers behind the gateway, their pinned tool catalogues and tool policies.
 */

import { readFile } from 'node:fs/promises';
import type { McpServer, McpToolCatalogue, UpdateMcpServerRequest } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { formatTime, listText, renderKeyValues, renderTable } from './output.format.js';

const NAME: OptionSpecs = {
  name: {
    type: 'string',
    placeholder: 'NAME',
    description: 'server name (the gateway path /mcp/NAME; or give it as argument)',
  },
};

function serverName(args: ArgReader): string {
  const flag = args.str('name');
  const [positional, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (flag && positional && flag !== positional) throw new UsageError('give the name once');
  const name = flag ?? positional;
  if (!name) throw new UsageError('the server name is required (NAME or --name NAME)');
  return name;
}

const POLICY: OptionSpecs = {
  'policy-file': {
    type: 'string',
    placeholder: 'FILE',
    description:
      'JSON tool policy: {"rules":[{"id","tool","effect","when"}],"tools":{"TOOL":{"labels","highImpact"}}}',
  },
  'required-scopes': {
    type: 'list',
    placeholder: 'SCOPES',
    description: 'scopes every agent token must carry (else 403 insufficient_scope)',
  },
};

async function policyBody(args: ArgReader): Promise<UpdateMcpServerRequest> {
  const file = args.str('policy-file');
  const scopes = args.list('required-scopes');
  let policy: UpdateMcpServerRequest['policy'];
  if (file !== undefined) {
    try {
      policy = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`--policy-file: cannot read a JSON policy (${(error as Error).message})`);
    }
  }
  return { ...(policy ? { policy } : {}), ...(scopes ? { requiredScopes: scopes } : {}) };
}

/** Splits `--stdio "node server.js --flag"` into the program and its arguments (quotes group). */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

export function renderMcpServer(s: McpServer, nowMs: number): string {
  return renderKeyValues([
    ['Name', s.name],
    ['Endpoint', s.endpoint],
    ['Identity', s.identityId],
    ['Transport', s.transport],
    ['Upstream', s.url ?? (s.command ?? []).join(' ')],
    ['Upstream auth', s.upstreamAuth.kind],
    ['Required scopes', listText(s.requiredScopes)],
    ['Rules', listText(s.policy.rules.map((r) => `${r.id} (${r.effect} ${r.tool})`))],
    ['Pinned tools', listText(s.pinnedTools.map((t) => t.name))],
    ['Created', formatTime(s.createdAt, nowMs)],
  ]);
}

const renderCatalogue = (c: McpToolCatalogue) =>
  c.tools.length === 0
    ? 'The upstream lists no tools.\n'
    : renderTable(
        ['TOOL', 'STATUS', 'HASH', 'DESCRIPTION'],
        c.tools.map((t) => [
          t.name,
          t.status,
          (t.hash ?? t.pinnedHash ?? '-').slice(0, 12),
          (t.description ?? '').slice(0, 60),
        ]),
      );

const add: CommandSpec = {
  path: ['mcp-server', 'add'],
  summary: 'Register an upstream MCP server behind the gateway (agents connect to /mcp/NAME)',
  details:
    'Give --upstream-url for a Streamable HTTP server or --stdio "COMMAND ARGS" for a local server the gateway launches. Its tools are withheld until approved (approve-tools). The agent token is never forwarded: --upstream-auth none, secret (--secret-item) or token-exchange (--audience).',
  options: {
    ...NAME,
    'upstream-url': {
      type: 'string',
      placeholder: 'URL',
      description: 'the upstream Streamable HTTP endpoint (--url is the Tessera server)',
    },
    stdio: { type: 'string', placeholder: '"COMMAND ARGS"', description: 'a local stdio server to launch' },
    owner: {
      type: 'string',
      placeholder: 'OWNER',
      required: true,
      description: "the upstream's human owner",
    },
    'upstream-auth': {
      type: 'string',
      placeholder: 'KIND',
      description: 'none (default), secret, token-exchange',
    },
    'secret-item': {
      type: 'string',
      placeholder: 'ITEM',
      description: 'vault item sent as the upstream bearer (secret)',
    },
    audience: {
      type: 'string',
      placeholder: 'URI',
      description: 'the upstream audience minted tokens name (token-exchange)',
    },
    timeout: { type: 'number', placeholder: 'SEC', description: 'per upstream request, 1-300 (default 30)' },
    ...POLICY,
  },
  positionals: '[NAME]',
  examples: [
    'tessera mcp-server add files --upstream-url https://files.internal/mcp --owner alice@example.com',
    'tessera mcp-server add local --stdio "node ./server.js" --owner bob@example.com --policy-file policy.json --json',
  ],
  async run(ctx, args) {
    const name = serverName(args);
    const url = args.str('upstream-url');
    const stdio = args.str('stdio');
    if (!url === !stdio) throw new UsageError('give exactly one of --upstream-url and --stdio');
    const kind = args.choice('upstream-auth', ['none', 'secret', 'token-exchange'] as const) ?? 'none';
    const item = args.str('secret-item');
    const audience = args.str('audience');
    const timeout = args.positiveInt('timeout');
    if (kind === 'secret' && !item) throw new UsageError('--upstream-auth secret needs --secret-item');
    if (kind === 'token-exchange' && !audience)
      throw new UsageError('--upstream-auth token-exchange needs --audience');
    const upstreamAuth =
      kind === 'secret'
        ? { kind, item: item! }
        : kind === 'token-exchange'
          ? { kind, audience: audience! }
          : { kind };
    const body = {
      name,
      owner: args.requireStr('owner'),
      ...(url ? { url } : { command: splitCommand(stdio!) }),
      upstreamAuth,
      ...(timeout ? { timeoutSeconds: timeout } : {}),
      ...(await policyBody(args)),
    };
    const server = await ctx.withAdmin((t) => ctx.client.createMcpServer(t, body));
    ctx.emit(server, () => renderMcpServer(server, ctx.now()));
    if (!ctx.json)
      ctx.note(
        `Review and pin its tools: tessera mcp-server tools ${name}; tessera mcp-server approve-tools ${name}`,
      );
  },
};

const list: CommandSpec = {
  path: ['mcp-server', 'list'],
  summary: 'List the MCP servers behind the gateway',
  options: {},
  examples: ['tessera mcp-server list', 'tessera mcp-server list --json'],
  async run(ctx) {
    const items = await ctx.withAdmin((t) => ctx.client.listMcpServers(t));
    ctx.emit({ items }, () =>
      items.length === 0
        ? 'No MCP servers.\n'
        : renderTable(
            ['NAME', 'TRANSPORT', 'UPSTREAM', 'AUTH', 'TOOLS', 'CREATED'],
            items.map((s) => [
              s.name,
              s.transport,
              s.url ?? (s.command ?? []).join(' '),
              s.upstreamAuth.kind,
              String(s.pinnedTools.length),
              formatTime(s.createdAt, ctx.now()),
            ]),
          ),
    );
  },
};

const get: CommandSpec = {
  path: ['mcp-server', 'get'],
  summary: 'Show one MCP server',
  options: NAME,
  positionals: '[NAME]',
  examples: ['tessera mcp-server get files', 'tessera mcp-server get files --json'],
  async run(ctx, args) {
    const name = serverName(args);
    const server = await ctx.withAdmin((t) => ctx.client.getMcpServer(t, name));
    ctx.emit(server, () => renderMcpServer(server, ctx.now()));
  },
};

const tools: CommandSpec = {
  path: ['mcp-server', 'tools'],
  summary: "The upstream's tool catalogue against the pinned one (approved, changed, new, removed)",
  options: NAME,
  positionals: '[NAME]',
  examples: ['tessera mcp-server tools files', 'tessera mcp-server tools files --json'],
  async run(ctx, args) {
    const name = serverName(args);
    const catalogue = await ctx.withAdmin((t) => ctx.client.mcpServerTools(t, name));
    ctx.emit(catalogue, () => renderCatalogue(catalogue));
  },
};

const approveTools: CommandSpec = {
  path: ['mcp-server', 'approve-tools'],
  summary: 'Pin the current definitions of new or changed tools (all, or --tools)',
  options: {
    ...NAME,
    tools: { type: 'list', placeholder: 'TOOLS', description: 'comma-separated tool names (default: all)' },
  },
  positionals: '[NAME]',
  examples: [
    'tessera mcp-server approve-tools files',
    'tessera mcp-server approve-tools files --tools read_file --json',
  ],
  async run(ctx, args) {
    const name = serverName(args);
    const only = args.list('tools');
    const catalogue = await ctx.withAdmin((t) => ctx.client.approveMcpTools(t, name, only));
    ctx.emit(catalogue, () => renderCatalogue(catalogue));
  },
};

const update: CommandSpec = {
  path: ['mcp-server', 'update'],
  summary: "Replace an MCP server's tool policy or required scopes",
  options: { ...NAME, ...POLICY },
  positionals: '[NAME]',
  examples: ['tessera mcp-server update files --policy-file policy.json'],
  async run(ctx, args) {
    const name = serverName(args);
    const body = await policyBody(args);
    if (Object.keys(body).length === 0)
      throw new UsageError('nothing to change: give --policy-file or --required-scopes');
    const server = await ctx.withAdmin((t) => ctx.client.updateMcpServer(t, name, body));
    ctx.emit(server, () => renderMcpServer(server, ctx.now()));
  },
};

const remove: CommandSpec = {
  path: ['mcp-server', 'remove'],
  summary: 'Remove an MCP server from the gateway',
  options: NAME,
  positionals: '[NAME]',
  examples: ['tessera mcp-server remove files'],
  async run(ctx, args) {
    const name = serverName(args);
    await ctx.withAdmin((t) => ctx.client.deleteMcpServer(t, name));
    ctx.emit({ removed: true, name }, () => `Removed MCP server ${name}.\n`);
  },
};

/** The mcp-server commands. */
export const mcpServerCommands: readonly CommandSpec[] = [
  add,
  list,
  get,
  tools,
  approveTools,
  update,
  remove,
];
