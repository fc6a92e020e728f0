/**
 * `tessera run`: exchange a UID token for a session, read secrets, and start a command with them in
 * its environment — nothing written to disk, no value printed. Signals are forwarded to the child
 * and the CLI exits with the child's exit code (128 + signal number when a signal ended it).
 */

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { TesseraClient, TesseraSession } from '@tessera/sdk';
import { CLI_VERSION, type CommandSpec } from './cli.context.js';
import { CliError, CommandExit, UsageError } from './cli.errors.js';
import { FileUidTokenStore } from './token-file.store.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FORWARDED: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR2',
  'SIGWINCH',
];

/** Parses `NAME=/path/to/secret` pairs. */
export function parseEnvMappings(specs: readonly string[]): { name: string; secret: string }[] {
  const seen = new Set<string>();
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const secret = spec.slice(eq + 1);
    if (eq <= 0 || !ENV_NAME.test(name) || secret === '')
      throw new UsageError(`--env expects NAME=/path/to/secret, got "${spec}"`);
    if (seen.has(name)) throw new UsageError(`--env ${name} is given twice`);
    seen.add(name);
    return { name, secret };
  });
}

function runChild(
  command: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((ok, fail) => {
    const child = spawn(command[0] as string, command.slice(1), { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const cleanup = () => {
      for (const s of FORWARDED) process.off(s, forward);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      fail(
        new CliError('TESSERA_RUN_SPAWN_FAILED', `cannot start ${command[0]} (${err.code ?? err.message})`),
      );
    });
    child.once('exit', (code, signal) => {
      cleanup();
      ok({ code, signal });
    });
  });
}

const run: CommandSpec = {
  path: ['run'],
  summary: 'Start a command with secrets in its environment (nothing on disk)',
  details:
    'Exchanges the UID token in --uid-token-file for a session token, reads every --env secret, and ' +
    'starts the command with NAME=value added to its environment. Secret values are never printed. ' +
    'Signals are forwarded; the exit code is the command\'s. With --json a line {"exitCode":…} follows ' +
    "the command's own output.",
  positionals: '-- COMMAND [ARGS…]',
  options: {
    'uid-token-file': {
      type: 'string',
      placeholder: 'FILE',
      required: true,
      description: 'the UID token (raw u-… or a UID_TOKEN=… line)',
    },
    'server-url': { type: 'string', placeholder: 'URL', description: 'server URL (default: --url)' },
    env: {
      type: 'list',
      placeholder: 'NAME=/path',
      description: 'put secret /path in environment variable NAME (repeatable)',
    },
  },
  examples: [
    'tessera run --uid-token-file ./tokens/application-service-token --env DATABASE_CONFIG=/demo/database-config -- ./app',
  ],
  async run(ctx, args) {
    const tokenFile = args.str('uid-token-file');
    if (!tokenFile) throw new UsageError('--uid-token-file is required');
    const mappings = parseEnvMappings(args.list('env') ?? []);
    const command = args.positionals;
    if (command.length === 0) throw new UsageError('the command to run is missing: tessera run … -- COMMAND');
    const serverUrl = args.str('server-url');
    const client = serverUrl
      ? new TesseraClient({
          url: serverUrl,
          userAgent: `tessera-cli/${CLI_VERSION}`,
          ...(ctx.io.fetch ? { fetch: ctx.io.fetch } : {}),
        })
      : ctx.client;
    const env: NodeJS.ProcessEnv = { ...ctx.io.env };
    if (mappings.length > 0) {
      const session = new TesseraSession({
        client,
        credentials: { accessType: 'universal_identity', uidTokenStore: new FileUidTokenStore(tokenFile) },
      });
      const names = [...new Set(mappings.map((m) => m.secret))];
      const items = await session.withToken((t) => client.getSecretValues(t, names));
      const byName = new Map(items.map((i) => [i.name, i.value]));
      for (const m of mappings) env[m.name] = byName.get(m.secret);
    }
    const { code, signal } = await runChild(command, env);
    const exitCode = code ?? 128 + (signal ? (constants.signals[signal as NodeJS.Signals] ?? 0) : 0);
    if (ctx.json) ctx.printJson({ exitCode, signal });
    if (exitCode !== 0) throw new CommandExit(exitCode);
  },
};

/** `run`. */
export const runCommands: readonly CommandSpec[] = [run];
