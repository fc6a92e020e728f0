/**
 * The `tessera` entry point: finds the command from the leading words, parses its options, runs it,
 * and turns every failure into a message and an exit code (1 for API errors, 2 for usage errors).
 */

import { accessCommands } from './access.command.js';
import { agentCommands } from './agent/agent.command.js';
import { approvalCommands } from './approval.command.js';
import { ArgReader, editDistance, type OptionSpecs, parseArgv } from './argv.parser.js';
import { auditCommands } from './audit.command.js';
import { auditVerifyCommands } from './audit-verify.command.js';
import { authCommands } from './auth.command.js';
import { authMethodCommands } from './auth-method.command.js';
import { backupCommands } from './backup.command.js';
import { certCommands } from './cert.command.js';
import { CLI_VERSION, type CliIo, CommandContext, type CommandSpec, GLOBAL_OPTIONS } from './cli.context.js';
import {
  CommandExit,
  EXIT_USAGE,
  renderErrorJson,
  renderErrorText,
  toErrorReport,
  UsageError,
} from './cli.errors.js';
import { configCommands } from './config.command.js';
import { dynamicSecretCommands } from './dynamic-secret.command.js';
import { governanceCommands } from './governance.command.js';
import { identityCommands } from './identity.command.js';
import { loginCommands } from './login.command.js';
import { mcpServerCommands } from './mcp-server.command.js';
import { oauthClientCommands } from './oauth-client.command.js';
import { registrationTokenCommands } from './oauth-registration-token.command.js';
import { resourceServerCommands } from './resource-server.command.js';
import { reviewCommands } from './review.command.js';
import { roleCommands } from './role.command.js';
import { rootKeyCommands } from './root-key.command.js';
import { rotatedSecretCommands } from './rotated-secret.command.js';
import { runCommands } from './run.command.js';
import { scanCommands } from './scan.command.js';
import { secretCommands } from './secret.command.js';
import { serverCommands } from './server.command.js';
import { uidCommands } from './uid.command.js';
import { uidRotateCommands } from './uid-rotate.command.js';
import { unsealCommands } from './unseal.command.js';

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  ...serverCommands,
  ...authCommands,
  ...loginCommands,
  ...authMethodCommands,
  ...oauthClientCommands,
  ...registrationTokenCommands,
  ...mcpServerCommands,
  ...resourceServerCommands,
  ...certCommands,
  ...uidCommands.slice(0, 1),
  ...uidRotateCommands,
  ...uidCommands.slice(1),
  ...identityCommands,
  ...governanceCommands,
  ...reviewCommands,
  ...roleCommands,
  ...accessCommands,
  ...configCommands,
  ...approvalCommands,
  ...auditCommands,
  ...auditVerifyCommands,
  ...secretCommands,
  ...rotatedSecretCommands,
  ...dynamicSecretCommands,
  ...scanCommands,
  ...rootKeyCommands,
  ...backupCommands,
  ...unsealCommands,
  ...agentCommands,
  ...runCommands,
];

/** Result of {@link resolveCommand}. */
export interface Resolution {
  command: CommandSpec | undefined;
  /** The command words found (possibly a group like `auth-method`). */
  words: string[];
  /** argv without the command words. */
  rest: string[];
}

/**
 * Finds the command named by the leading words of `argv`. Global options may come before or between
 * the words; the first other option ends the words.
 */
export function resolveCommand(
  argv: readonly string[],
  commands: readonly CommandSpec[] = COMMANDS,
): Resolution {
  const wordIndexes: number[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('-')) {
      const name = arg.replace(/^--?/, '').split('=')[0]?.replace(/_/g, '-').toLowerCase() ?? '';
      const spec = GLOBAL_OPTIONS[name] ?? (arg === '-h' ? GLOBAL_OPTIONS.help : undefined);
      if (!spec) break;
      if (spec.type !== 'boolean' && !arg.includes('=')) i++;
      continue;
    }
    wordIndexes.push(i);
    words.push(arg);
  }
  let best: CommandSpec | undefined;
  for (const command of commands) {
    const n = command.path.length;
    if (n <= words.length && command.path.every((w, k) => words[k] === w)) {
      if (!best || n > best.path.length) best = command;
    }
  }
  const used = best ? wordIndexes.slice(0, best.path.length) : wordIndexes;
  const rest = argv.filter((_, i) => !used.includes(i));
  return { command: best, words: best ? [...best.path] : words, rest };
}

function optionLines(options: OptionSpecs): string[] {
  const entries = Object.entries(options).map(([name, spec]) => {
    const flag = `--${name}${spec.type === 'boolean' ? '' : ` ${spec.placeholder ?? 'VALUE'}`}`;
    const aliases = (spec.aliases ?? []).map((a) => `--${a}`).join(', ');
    const text = `${spec.required ? '(required) ' : ''}${spec.description}${aliases ? ` [also ${aliases}]` : ''}`;
    return [flag, text] as const;
  });
  const width = Math.max(0, ...entries.map(([flag]) => flag.length));
  return entries.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

/** `--help` of one command. */
export function commandHelp(command: CommandSpec): string {
  const name = command.path.join(' ');
  const lines = [
    `Usage: tessera ${name}${command.positionals ? ` ${command.positionals}` : ''} [options]`,
    '',
    command.summary,
  ];
  if (command.details) lines.push('', command.details);
  if (Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionLines(command.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  if (command.examples.length > 0) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/** Help listing `commands` (all of them, or one group's). */
export function overviewHelp(commands: readonly CommandSpec[] = COMMANDS, group?: string): string {
  const names = commands.map((c) => c.path.join(' '));
  const width = Math.max(...names.map((n) => n.length));
  const lines = [
    group ? `Usage: tessera ${group} <command> [options]` : 'Usage: tessera <command> [options]',
    '',
    group
      ? 'Commands:'
      : 'Tessera: identities and credentials for services, pipelines, workloads and AI agents.',
  ];
  if (!group) lines.push('', 'Commands:');
  commands.forEach((c, i) => {
    lines.push(`  ${(names[i] ?? '').padEnd(width)}  ${c.summary}`);
  });
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  lines.push(
    '',
    `Run \`tessera ${group ? `${group} ` : ''}<command> --help\` for a command's options and examples.`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the CLI.
 *
 * @param argv - arguments after the program name
 * @param io - the process around it
 * @returns the exit code
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // Arguments after `--` belong to a child command (`tessera run -- cmd --help`), not to the CLI.
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const wantsJson = own.some((a) => a === '--json' || a === '--json=true');
  const first = argv[0];
  // `tessera --version`, `tessera version`, and `--version` among global options (`--json --version`).
  const onlyGlobals = own.every((a) => a === '--version' || a === '--json' || a === '--json=true');
  if (first === '--version' || first === 'version' || (own.includes('--version') && onlyGlobals)) {
    io.stdout(wantsJson ? `${JSON.stringify({ version: CLI_VERSION })}\n` : `tessera ${CLI_VERSION}\n`);
    return 0;
  }
  const helpCommand = first === 'help';
  const { command, words, rest } = resolveCommand(helpCommand ? argv.slice(1) : argv);
  const ownRest = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  const helpAsked = helpCommand || ownRest.includes('--help') || ownRest.includes('-h');
  if (!command) {
    if (words.length === 0) {
      io.stdout(overviewHelp());
      return 0;
    }
    const group = COMMANDS.filter((c) => words.every((w, k) => c.path[k] === w));
    if (group.length > 0) {
      // A group such as `auth-method` or `auth-method create`: list its commands.
      const text = overviewHelp(group, words.join(' '));
      (helpAsked ? io.stdout : io.stderr)(text);
      return helpAsked ? 0 : EXIT_USAGE;
    }
    return fail(io, new UsageError(unknownCommandMessage(words)), wantsJson, undefined, undefined);
  }
  const name = command.path.join(' ');
  if (helpAsked) {
    io.stdout(commandHelp(command));
    return 0;
  }
  let url: string | undefined;
  try {
    const parsed = parseArgv(rest, { ...GLOBAL_OPTIONS, ...command.options });
    const args = new ArgReader(parsed);
    if (!command.positionals && parsed.positionals.length > 0) {
      throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    }
    const ctx = await CommandContext.create(io, args);
    url = ctx.url;
    await command.run(ctx, args);
    return 0;
  } catch (err) {
    if (err instanceof CommandExit) return err.exitCode;
    const code = fail(io, err, wantsJson, name, url);
    return code === EXIT_USAGE && command.usageExitCode !== undefined ? command.usageExitCode : code;
  }
}

function unknownCommandMessage(words: readonly string[]): string {
  const wanted = words.join(' ');
  let best: string | undefined;
  let bestDistance = 4;
  for (const c of COMMANDS) {
    const candidate = c.path.slice(0, words.length).join(' ');
    const d = editDistance(wanted, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return `unknown command "${wanted}"${best ? ` (did you mean "${best}"?)` : ''}`;
}

function fail(
  io: CliIo,
  err: unknown,
  json: boolean,
  command: string | undefined,
  url: string | undefined,
): number {
  const report = toErrorReport(err, url ?? io.env.TESSERA_URL ?? 'the server URL');
  io.stderr(json ? renderErrorJson(report) : renderErrorText(report, command));
  return report.exitCode;
}
