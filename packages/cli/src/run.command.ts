/**
 * `tessera run`: exchange a UID token for a session, read secrets, and start a command with them in
 * its environment — nothing written to disk, no value printed. Signals are forwarded to the child
 * and the CLI exits with the child's exit code (128 + signal number when a signal ended it).
 *
 * Dynamic secrets (`--dynamic-env PGPASSWORD=/demo/pg:password`): one lease per dynamic secret name,
 * renewed while the child lives (at about half its remaining TTL) and revoked when the child exits —
 * the credential lives as long as the process.
 */

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { TesseraSession } from '@tessera/sdk';
import { DYNAMIC_FIELDS, type DynamicField, LeaseKeeper } from './agent/agent.leases.js';
import { type AgentLog, formatAgentEvent } from './agent/agent.log.js';
import { backoffDelayMs, MAX_SLEEP_MS } from './agent/agent.loop.js';
import type { CommandSpec } from './cli.context.js';
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

/** Parses `NAME=/path/to/dynamic:field` pairs (field: username, password, leaseId, expiresAt). */
export function parseDynamicEnvMappings(
  specs: readonly string[],
): { name: string; secret: string; field: DynamicField }[] {
  const seen = new Set<string>();
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const rest = spec.slice(eq + 1);
    const colon = rest.lastIndexOf(':');
    const secret = rest.slice(0, colon);
    const field = rest.slice(colon + 1);
    if (eq <= 0 || !ENV_NAME.test(name) || colon <= 0 || secret === '')
      throw new UsageError(`--dynamic-env expects NAME=/path/to/dynamic:field, got "${spec}"`);
    if (!(DYNAMIC_FIELDS as readonly string[]).includes(field))
      throw new UsageError(`--dynamic-env ${name}: field must be one of ${DYNAMIC_FIELDS.join(', ')}`);
    if (seen.has(name)) throw new UsageError(`--dynamic-env ${name} is given twice`);
    seen.add(name);
    return { name, secret, field: field as DynamicField };
  });
}

/** Renews the keeper's leases on time until `stop()`; transient failures are retried with backoff. */
function keepLeases(keeper: LeaseKeeper, now: () => number, onError: (err: unknown) => void) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  // Jitter for retries: spreading clients out needs no cryptographic randomness.
  const random = (): number => Math.random();
  const plan = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, Math.max(0, Math.min(ms, MAX_SLEEP_MS)));
    timer.unref();
  };
  const tick = async () => {
    let delay: number;
    try {
      await keeper.maintain();
      failures = 0;
      const next = keeper.nextWakeAt();
      delay = next === undefined ? MAX_SLEEP_MS : next - now();
    } catch (err) {
      onError(err);
      delay = backoffDelayMs(++failures, random);
    }
    plan(delay);
  };
  const first = keeper.nextWakeAt();
  plan(first === undefined ? MAX_SLEEP_MS : first - now());
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
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
    "the command's own output. --dynamic-env takes one lease per dynamic secret, renews it while the " +
    'command runs, and revokes it when the command exits.',
  positionals: '-- COMMAND [ARGS…]',
  options: {
    'uid-token-file': {
      type: 'string',
      placeholder: 'FILE',
      required: true,
      description: 'the UID token (raw u-… or a UID_TOKEN=… line)',
    },
    env: {
      type: 'list',
      placeholder: 'NAME=/path',
      description: 'put secret /path in environment variable NAME (repeatable)',
    },
    'dynamic-env': {
      type: 'list',
      placeholder: 'NAME=/path:field',
      description:
        'put a field (username, password, leaseId, expiresAt) of a lease on dynamic secret /path in NAME; one lease per path, renewed while the command runs and revoked when it exits (repeatable)',
    },
  },
  examples: [
    'tessera run --uid-token-file ./tokens/application-service-token --env DATABASE_CONFIG=/demo/database-config -- ./app',
    'tessera run --uid-token-file ./tokens/app-token --dynamic-env PGUSER=/demo/pg:username --dynamic-env PGPASSWORD=/demo/pg:password -- psql -h 127.0.0.1 app',
  ],
  async run(ctx, args) {
    const tokenFile = args.str('uid-token-file');
    if (!tokenFile) throw new UsageError('--uid-token-file is required');
    const mappings = parseEnvMappings(args.list('env') ?? []);
    const dynamicMappings = parseDynamicEnvMappings(args.list('dynamic-env') ?? []);
    for (const d of dynamicMappings)
      if (mappings.some((m) => m.name === d.name))
        throw new UsageError(`${d.name} is given both with --env and --dynamic-env`);
    const command = args.positionals;
    if (command.length === 0) throw new UsageError('the command to run is missing: tessera run … -- COMMAND');
    const client = ctx.client;
    const env: NodeJS.ProcessEnv = { ...ctx.io.env };
    const session = new TesseraSession({
      client,
      credentials: { accessType: 'universal_identity', uidTokenStore: new FileUidTokenStore(tokenFile) },
      now: () => ctx.now(),
    });
    if (mappings.length > 0) {
      const names = [...new Set(mappings.map((m) => m.secret))];
      const items = await session.withToken((t) => client.getSecretValues(t, names));
      const byName = new Map(items.map((i) => [i.name, i.value]));
      for (const m of mappings) env[m.name] = byName.get(m.secret);
    }
    // Warnings about leases go to stderr (never a password: the keeper does not log one).
    const log: AgentLog = (e) => {
      if (e.level !== 'info') ctx.io.stderr(formatAgentEvent(e, ctx.now(), ctx.json));
    };
    const keeper = new LeaseKeeper(
      {
        client,
        withToken: (fn) => session.withToken(fn),
        now: () => ctx.now(),
        random: () => Math.random(),
        log,
      },
      { replace: false, revokeGraceSeconds: 0 },
    );
    let result: { code: number | null; signal: string | null };
    try {
      if (dynamicMappings.length > 0) {
        await keeper.ensure([...new Set(dynamicMappings.map((d) => d.secret))]);
        const values = keeper.values();
        for (const d of dynamicMappings) env[d.name] = values.get(d.secret)?.[d.field];
      }
      const renewal = keepLeases(
        keeper,
        () => ctx.now(),
        (err) =>
          log({
            level: 'warn',
            event: 'lease.renew_failed',
            message: `lease renewal failed, retrying with backoff: ${(err as Error).message}`,
          }),
      );
      try {
        result = await runChild(command, env);
      } finally {
        renewal.stop();
      }
    } finally {
      // The credential's life is the process's life (also when the child could not be started).
      await keeper.revokeAll();
    }
    const { code, signal } = result;
    const exitCode = code ?? 128 + (signal ? (constants.signals[signal as NodeJS.Signals] ?? 0) : 0);
    if (ctx.json) ctx.printJson({ exitCode, signal });
    if (exitCode !== 0) throw new CommandExit(exitCode);
  },
};

/** `run`. */
export const runCommands: readonly CommandSpec[] = [run];
