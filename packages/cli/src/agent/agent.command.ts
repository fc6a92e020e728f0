/**
 * `tessera agent`: keeps a UID token alive on a machine (rotation at a fraction of its TTL, saved
 * before use), a session token fresh, and secrets rendered to files. Wires the pure core to the real
 * process: files, clock, timers, signals (SIGTERM/SIGINT stop, SIGHUP reloads) and `/healthz`.
 */

import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TesseraClient } from '@tessera/sdk';
import { CLI_VERSION, type CommandContext, type CommandSpec } from '../cli.context.js';
import { CommandExit, renderErrorJson, renderErrorText } from '../cli.errors.js';
import { writeFileAtomic } from '../file.atomic.js';
import { FileUidTokenStore } from '../token-file.store.js';
import type { AgentFlagOverrides, AgentSettings } from './agent.config.js';
import { AgentCore, AgentFatalError, type AgentFiles, loadTemplates } from './agent.core.js';
import type { HealthServer, startHealthServer as StartHealthServer } from './agent.health.js';
import { type AgentEvent, type AgentLog, formatAgentEvent } from './agent.log.js';
import { runAgentLoop } from './agent.loop.js';

/** Exit code when the UID token is refused: systemd's RestartPreventExitStatus=2 stops restarts. */
export const EXIT_TOKEN_REFUSED = 2;

const nodeFiles: AgentFiles = {
  async read(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  async writeAtomic(path, content) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, content);
  },
};

/** node:http is loaded only by an agent that serves /healthz. */
const startHealthServer: typeof StartHealthServer = async (...args) =>
  (await import('./agent.health.js')).startHealthServer(...args);

/** Jitter for retry and renewal delays: spreading agents out needs no cryptographic randomness. */
const random = (): number => Math.random();

async function loadSettings(ctx: CommandContext, configPath: string | undefined, flags: AgentFlagOverrides) {
  // Loaded here, not at start-up: the YAML parser costs every other command ~40 ms (issue 10, item 8).
  const { parseAgentConfigText, resolveAgentSettings } = await import('./agent.config.js');
  const raw = configPath ? parseAgentConfigText(await readConfig(configPath), configPath) : {};
  return resolveAgentSettings(raw, flags, {
    serverUrl: ctx.url,
    cwd: process.cwd(),
    source: configPath ?? 'command line',
  });
}

async function readConfig(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read agent config ${path} (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`);
  }
}

async function buildCore(ctx: CommandContext, settings: AgentSettings, log: AgentLog): Promise<AgentCore> {
  const client = new TesseraClient({
    url: settings.serverUrl,
    userAgent: `tessera-agent/${CLI_VERSION}`,
    timeoutMs: 10_000,
    ...(ctx.io.fetch ? { fetch: ctx.io.fetch } : {}),
  });
  return new AgentCore(
    {
      client,
      store: new FileUidTokenStore(settings.uidTokenFile),
      files: nodeFiles,
      log,
      now: () => ctx.now(),
      random,
      env: ctx.io.env,
    },
    {
      uidTokenFile: settings.uidTokenFile,
      ...(settings.authMethod ? { authMethod: settings.authMethod } : {}),
      ...(settings.sessionTokenFile ? { sessionTokenFile: settings.sessionTokenFile } : {}),
      rotateAtFraction: settings.rotateAtFraction,
      renderIntervalSeconds: settings.renderIntervalSeconds,
      templates: await loadTemplates(settings.templates, nodeFiles),
      leaseRevokeGraceSeconds: settings.leaseRevokeGraceSeconds,
      ...(settings.certificate
        ? {
            certificate: {
              settings: settings.certificate,
              // Loaded only when a certificate is configured (the X.509 code lives with the server's crypto).
              newKeyAndCsr: async () => (await import('@tessera/server/x509')).newKeyAndCsr(),
              signal: (pid: number) => process.kill(pid, 'SIGHUP'),
            },
          }
        : {}),
    },
  );
}

function reportFatal(ctx: CommandContext, err: AgentFatalError): never {
  const report = { code: err.code, message: err.message, exitCode: 1 };
  ctx.io.stderr(ctx.json ? renderErrorJson(report) : renderErrorText(report, 'agent'));
  throw new CommandExit(EXIT_TOKEN_REFUSED);
}

/** `--once`: one cycle, a summary on stdout, exit 0 (2 when the token is refused). */
async function runOnce(ctx: CommandContext, settings: AgentSettings): Promise<void> {
  const events: AgentEvent[] = [];
  const core = await buildCore(ctx, settings, (e) => events.push(e));
  let report: Awaited<ReturnType<AgentCore['cycle']>>;
  try {
    report = await core.cycle();
  } catch (err) {
    if (err instanceof AgentFatalError) reportFatal(ctx, err);
    throw err;
  } finally {
    // The rendered credentials stay valid for the application unless told otherwise.
    if (settings.revokeLeasesOnExit) await core.revokeLeases();
  }
  core.state.status = 'ok';
  ctx.emit({ ...report, state: core.state, certificate: core.certs?.state ?? null, events }, () => {
    const s = core.state;
    const lines = [
      `UID token ${s.uidTokenId} expires ${s.uidTokenExpiresAt}; next rotation at ${s.nextRotationAt}.`,
      report.rotated
        ? `Rotated; the new token is saved in ${settings.uidTokenFile}.`
        : 'Not rotated (not due).',
      `Session token valid until ${s.sessionExpiresAt}` +
        (settings.sessionTokenFile ? ` (in ${settings.sessionTokenFile}).` : '.'),
    ];
    if (core.certs?.state.serial)
      lines.push(`Certificate ${core.certs.state.serial} valid until ${core.certs.state.notAfter}.`);
    if (settings.templates.length > 0)
      lines.push(
        report.written.length > 0
          ? `Rendered: ${report.written.join(', ')}.`
          : 'Rendered files are up to date.',
      );
    return `${lines.join('\n')}\n`;
  });
}

/** The long-running agent. */
async function runForever(
  ctx: CommandContext,
  first: AgentSettings,
  reloadSettings: () => Promise<AgentSettings>,
): Promise<void> {
  const log: AgentLog = (e) => ctx.io.stderr(formatAgentEvent(e, ctx.now(), ctx.json));
  let settings = first;
  let core = await buildCore(ctx, settings, log);
  let stop = false;
  let reload = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((ok) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        ok();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  const offShutdown = ctx.io.onShutdownSignal((signal) => {
    log({ level: 'info', event: 'agent.stopping', message: `${signal} received; stopping` });
    stop = true;
    wake?.();
  });
  const onHup = () => {
    reload = true;
    wake?.();
  };
  process.on('SIGHUP', onHup);
  const healthState = () => ({
    ...core.state,
    serverUrl: settings.serverUrl,
    uidTokenFile: settings.uidTokenFile,
  });
  let health: HealthServer | undefined;
  try {
    if (settings.healthListen) health = await startHealthServer(settings.healthListen, healthState);
    log({
      level: 'info',
      event: 'agent.starting',
      message: `agent starting for ${settings.serverUrl}`,
      fields: {
        uidTokenFile: settings.uidTokenFile,
        templates: settings.templates.length,
        healthPort: health?.port ?? null,
      },
    });
    for (;;) {
      const end = await runAgentLoop({
        core,
        log,
        now: () => ctx.now(),
        random,
        sleep,
        stopped: () => stop || reload,
      });
      if (end.kind === 'fatal') reportFatal(ctx, end.error);
      if (stop) break;
      reload = false;
      try {
        const next = await reloadSettings();
        const nextCore = await buildCore(ctx, next, log);
        nextCore.adoptLeases(core);
        if (JSON.stringify(next.healthListen) !== JSON.stringify(settings.healthListen)) {
          await health?.close();
          health = next.healthListen ? await startHealthServer(next.healthListen, healthState) : undefined;
        }
        settings = next;
        core = nextCore;
        log({ level: 'info', event: 'config.reloaded', message: 'configuration reloaded (SIGHUP)' });
      } catch (err) {
        log({
          level: 'error',
          event: 'config.reload_failed',
          message: `reload failed, keeping the previous configuration: ${(err as Error).message}`,
        });
      }
    }
    if (settings.revokeLeasesOnExit) {
      log({
        level: 'info',
        event: 'leases.revoking',
        message: 'revoking the leases (revoke_leases_on_exit)',
      });
      await core.revokeLeases();
    }
  } finally {
    offShutdown();
    process.off('SIGHUP', onHup);
    await health?.close();
  }
  log({ level: 'info', event: 'agent.stopped', message: 'agent stopped' });
}

const agent: CommandSpec = {
  path: ['agent'],
  summary: 'Keep a UID token rotated, a session token fresh and secrets rendered to files',
  details:
    'Reads a YAML config (--config) whose keys are server_url, uid_token_file, session_token_file, ' +
    'health_listen, rotate_at_fraction, render_interval_seconds, templates, lease_revoke_grace_seconds and ' +
    'revoke_leases_on_exit; flags override it. Templates may read dynamic secrets ({{ dynamic "NAME" "password" }}): ' +
    'one lease per name, renewed at about half its remaining TTL, replaced (file re-rendered, old lease ' +
    'revoked after lease_revoke_grace_seconds) when it cannot be renewed; leases are kept on exit. ' +
    'Rotates the UID token at about rotate_at_fraction of its TTL (±10% jitter), saving the new token ' +
    'atomically before acknowledging it. Logs every state change to stderr (JSON lines with --json). ' +
    'Exits 2, without retrying, when the server refuses the UID token itself (revoked or expired). ' +
    'SIGHUP reloads the config; SIGTERM/SIGINT stop it (exit 0). --once runs one cycle and exits.',
  options: {
    config: { type: 'string', placeholder: 'FILE', description: 'agent config (YAML)' },
    'uid-token-file': { type: 'string', placeholder: 'FILE', description: 'overrides uid_token_file' },
    'auth-method': { type: 'string', placeholder: 'ACCESS_ID', description: 'overrides auth_method (p-…)' },
    'session-token-file': {
      type: 'string',
      placeholder: 'FILE',
      description: 'overrides session_token_file',
    },
    'health-listen': { type: 'string', placeholder: 'HOST:PORT', description: 'overrides health_listen' },
    once: {
      type: 'boolean',
      description: 'one cycle (session, rotation if due, templates), a summary on stdout, then exit',
    },
  },
  examples: [
    'tessera agent --config /etc/tessera/agent.yaml',
    'tessera agent --uid-token-file ./tokens/application-service-token --url http://127.0.0.1:8377 --once',
  ],
  async run(ctx, args) {
    const configPath = args.str('config');
    const flags: AgentFlagOverrides = {};
    const pick = (name: string, key: keyof AgentFlagOverrides) => {
      const v = args.str(name);
      if (v !== undefined) flags[key] = v;
    };
    // One flag for the server URL everywhere: --url (--server-url is a hidden alias of it); given on
    // the command line it overrides server_url of the config file.
    if (ctx.flags.url !== undefined) flags.serverUrl = ctx.url;
    pick('uid-token-file', 'uidTokenFile');
    pick('auth-method', 'authMethod');
    pick('session-token-file', 'sessionTokenFile');
    pick('health-listen', 'healthListen');
    const load = () => loadSettings(ctx, configPath, flags);
    const settings = await load();
    if (args.bool('once')) return runOnce(ctx, settings);
    return runForever(ctx, settings, load);
  },
};

/** `agent`. */
export const agentCommands: readonly CommandSpec[] = [agent];
