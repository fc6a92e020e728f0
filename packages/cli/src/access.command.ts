/**
 * `tessera access explain`: which rule (role, association) allows or denies an action on a path,
 * and why. With `--token` (the global option) it explains that token's own access; with
 * `--for-token` an administrator (read on role:/*) explains another session token.
 */

import type { AccessExplanation, ExplainAccessRequest } from '@tessera/sdk';
import type { CommandSpec } from './cli.context.js';
import { CommandExit, EXIT_FAILURE, UsageError } from './cli.errors.js';
import { RULE_TYPES } from './role.command.js';

const ACTIONS = ['read', 'list', 'create', 'update', 'delete', 'call'] as const;

/** The readable explanation: the summary line, then what else was considered. */
export function renderExplanation(e: AccessExplanation): string {
  const lines = [e.summary];
  if (e.association) lines.push(`  association: ${e.association}`);
  const unmatched = e.associations.filter((a) => !a.matched);
  if (unmatched.length > 0)
    lines.push(
      `  associations whose claims did not match: ${unmatched.map((a) => `${a.id} (role ${a.role})`).join(', ')}`,
    );
  if (e.call) {
    const c = e.call;
    lines.push(
      `  ${c.stage === 'catalogue' ? 'catalogue' : 'tool policy'}: ${c.allowed ? 'allowed' : 'denied'}${c.rule ? ` by rule ${c.rule}` : ''}${c.condition ? ` (${c.condition})` : ''} [${c.reason}]`,
    );
    if (c.approval) lines.push('  approval: each call runs only once a human approves it (high-impact)');
    lines.push(`  arguments hash: ${c.argumentsHash}`);
  }
  for (const n of e.notApplied)
    lines.push(
      `  not applied: role ${n.role} rule ${n.ruleId} (${n.ruleType} ${n.path}: ${n.capabilities.join(', ')}): ${n.why}`,
    );
  lines.push(`  principal: identity ${e.principal.identityId}, auth method ${e.principal.authMethodId}`);
  return `${lines.join('\n')}\n`;
}

const explain: CommandSpec = {
  path: ['access', 'explain'],
  summary: 'Explain whether a token may do an action on a path, and which rule decides',
  details:
    'Prints "allowed by role X rule Y (type path: capabilities)" or "denied: …". A call on an MCP tool ' +
    '(--rule-type mcp-tool --path /SERVER/TOOL --action call, with its --arguments) is explained through ' +
    "the gateway's tool policy too: the rule and condition that allow or deny it. The credential used " +
    '(--token, or the profile) is the one explained, unless --for-token names another session token ' +
    '(that needs read on every role). The explained token is never printed. Exits 0 when allowed, 1 ' +
    'when denied (the explanation is printed either way).',
  options: {
    path: { type: 'string', placeholder: 'PATH', required: true, description: 'the object, e.g. /demo/db' },
    action: { type: 'string', placeholder: 'ACTION', required: true, description: ACTIONS.join(', ') },
    'rule-type': {
      type: 'string',
      placeholder: 'TYPE',
      description: 'item (default), auth-method, role, identity, audit, scope (Akeyless item-rule… too)',
    },
    'for-token': { type: 'string', placeholder: 'TOKEN', description: 'explain this other session token' },
    'source-ip': {
      type: 'string',
      placeholder: 'IP',
      description: 'with --for-token: the address to evaluate CIDR conditions for',
    },
    arguments: {
      type: 'string',
      placeholder: 'JSON',
      description:
        "with --rule-type mcp-tool --path /SERVER/TOOL --action call: the call's arguments, for the tool policy",
    },
  },
  examples: [
    'tessera access explain --token "$TOKEN" --path /demo/db --action read',
    'tessera access explain --for-token "$TOKEN" --path /prod/db --action read --rule-type item-rule --json',
    'tessera access explain --for-token "$TOKEN" --rule-type mcp-tool --path /files/transfer --action call --arguments \'{"amount":5000}\'',
  ],
  async run(ctx, args) {
    const action = args.choice('action', ACTIONS) ?? args.requireStr('action');
    const ruleType = args.choice(
      'rule-type',
      RULE_TYPES.filter((t) => t !== '*'),
    );
    const forToken = args.str('for-token');
    const sourceIp = args.str('source-ip');
    const argsText = args.str('arguments');
    let callArguments: Record<string, unknown> | undefined;
    if (argsText !== undefined) {
      try {
        callArguments = JSON.parse(argsText);
      } catch (error) {
        throw new UsageError(`--arguments: not JSON (${(error as Error).message})`);
      }
      if (typeof callArguments !== 'object' || callArguments === null || Array.isArray(callArguments))
        throw new UsageError('--arguments: a JSON object, e.g. \'{"amount": 200}\'');
    }
    const body = {
      path: args.requireStr('path'),
      action,
      ...(ruleType ? { ruleType } : {}),
      ...(forToken ? { token: forToken } : {}),
      ...(sourceIp ? { sourceIp } : {}),
      ...(callArguments ? { arguments: callArguments } : {}),
    } as ExplainAccessRequest;
    const explanation = await ctx.withAdmin((t) => ctx.client.explainAccess(t, body));
    ctx.emit(explanation, () => renderExplanation(explanation));
    // Like `test`: a script can write `if tessera access explain …; then`. The answer is printed either way.
    if (!explanation.allowed) throw new CommandExit(EXIT_FAILURE);
  },
};

/** The access commands. */
export const accessCommands: readonly CommandSpec[] = [explain];
