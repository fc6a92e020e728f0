/**
 * `tessera server` and `tessera init`: thin wrappers over `@tessera/server`, loaded only when these
 * commands run (so the other commands start fast and do not load the database drivers).
 */

import type { ArgReader } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { CliError, UsageError } from './cli.errors.js';

interface ServerOverrides {
  port?: number;
  host?: string;
  dataDir?: string;
  storeUrl?: string;
  logLevel?: string;
  production?: boolean;
  sealed?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

function overrides(args: ArgReader, withListen: boolean): ServerOverrides {
  const out: ServerOverrides = {};
  const dataDir = args.str('data-dir');
  if (dataDir) out.dataDir = dataDir;
  if (withListen) {
    const port = args.num('port');
    if (port !== undefined) {
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new UsageError('--port must be 0-65535');
      out.port = port;
    }
    const host = args.str('host');
    const storeUrl = args.str('store');
    const logLevel = args.str('log-level');
    if (host) out.host = host;
    if (storeUrl) out.storeUrl = storeUrl;
    if (logLevel) out.logLevel = logLevel;
    if (args.bool('production')) out.production = true;
    if (args.bool('sealed')) out.sealed = true;
    const tlsCert = args.str('tls-cert');
    const tlsKey = args.str('tls-key');
    const tlsClientCa = args.str('tls-client-ca');
    if (tlsCert) out.tlsCert = tlsCert;
    if (tlsKey) out.tlsKey = tlsKey;
    if (tlsClientCa) out.tlsClientCa = tlsClientCa;
  }
  return out;
}

async function loadServer() {
  return import('@tessera/server');
}

/** `loadConfig` throws plain Errors with a clear message for bad settings: a usage problem. */
function loadConfigOrUsage<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    throw new UsageError(`invalid server configuration: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const server: CommandSpec = {
  path: ['server'],
  summary: 'Run the Tessera server (SQLite by default; PostgreSQL with --store)',
  details:
    'Initialises the data directory on first start. Stops gracefully on SIGINT/SIGTERM (a second signal ' +
    'exits at once). Settings not given here come from the environment (see the server docs).',
  options: {
    port: { type: 'number', placeholder: 'PORT', description: 'listen port (default 8377)' },
    host: { type: 'string', placeholder: 'HOST', description: 'listen address (default 127.0.0.1)' },
    'data-dir': { type: 'string', placeholder: 'DIR', description: 'data directory (SQLite database, keys)' },
    store: { type: 'string', placeholder: 'URL', description: 'store URL, e.g. postgres://user@host/db' },
    'log-level': { type: 'string', placeholder: 'LEVEL', description: 'trace, debug, info, warn, error' },
    production: {
      type: 'boolean',
      description: 'refuse development defaults: a generated root key, an http issuer, no audit sink',
    },
    sealed: {
      type: 'boolean',
      description: 'start sealed and wait for root-key shares (`tessera unseal`); env TESSERA_SEALED=true',
    },
    'tls-cert': {
      type: 'string',
      placeholder: 'FILE',
      description: 'serve HTTPS with this PEM certificate (chain); env TESSERA_TLS_CERT',
    },
    'tls-key': {
      type: 'string',
      placeholder: 'FILE',
      description: 'its PEM private key; env TESSERA_TLS_KEY',
    },
    'tls-client-ca': {
      type: 'string',
      placeholder: 'FILE',
      description: 'CAs whose client certificates the listener trusts (mTLS, RFC 8705); optional',
    },
  },
  examples: [
    'tessera server',
    'tessera server --data-dir /var/lib/tessera --sealed',
    'tessera server --port 8377 --data-dir /var/lib/tessera',
    'tessera server --host 0.0.0.0 --store postgres://tessera@db/tessera',
  ],
  async run(ctx, args) {
    const settings = overrides(args, true);
    const { loadConfig, chooseStartMode, startServerOrSealed } = await loadServer();
    const config = loadConfigOrUsage(() => loadConfig(settings));
    // Contradictory key settings (--sealed with a key at hand) are usage errors, like bad settings.
    await chooseStartMode(config).catch((err: Error) => {
      throw new UsageError(`invalid server configuration: ${err.message}`);
    });
    const running = await startServerOrSealed(config);
    if (running.sealed) {
      ctx.emit(
        { url: running.url, pid: process.pid, sealed: true },
        () => `Tessera server sealed on ${running.url}\n`,
      );
      if (!ctx.json)
        ctx.note('Sealed: waiting for root-key shares (`tessera unseal --url URL --share-file FILE`).');
      running.ready.then(
        (ready) =>
          ctx.emit(
            { url: ready.url, pid: process.pid, sealed: false },
            () => `Unsealed: Tessera server listening on ${ready.url}\n`,
          ),
        (err: Error) => {
          ctx.note(`The server could not start after unsealing: ${err.message}`);
          void running.close().finally(() => process.exit(1));
        },
      );
    } else {
      ctx.emit({ url: running.url, pid: process.pid }, () => `Tessera server listening on ${running.url}\n`);
    }
    await waitForShutdown(ctx, running.close.bind(running));
  },
};

function waitForShutdown(ctx: CommandContext, close: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let closing = false;
    const stop = ctx.io.onShutdownSignal((signal) => {
      if (closing) {
        ctx.note(`${signal} again: exiting now.`);
        process.exit(1);
      }
      closing = true;
      ctx.note(`${signal} received: closing (send it again to exit at once)…`);
      close().then(
        () => {
          stop();
          ctx.note('Server closed.');
          resolve();
        },
        (err: unknown) => {
          stop();
          reject(err);
        },
      );
    });
  });
}

const init: CommandSpec = {
  path: ['init'],
  summary: 'Initialise a data directory and print the admin access key once',
  details: 'Refuses when the directory is already initialised. Store the key now: it is not shown again.',
  options: {
    'data-dir': { type: 'string', placeholder: 'DIR', description: 'data directory to initialise' },
  },
  examples: ['tessera init', 'tessera init --data-dir /var/lib/tessera --json'],
  async run(ctx, args) {
    // Not a server start: init creates the root key on purpose (that is how a production data
    // directory is prepared), so production mode's start-up refusals do not apply.
    const settings = { ...overrides(args, false), production: false };
    const { loadConfig, initDataDir, chooseStartMode } = await loadServer();
    const config = loadConfigOrUsage(() => loadConfig(settings));
    // A store sealed under a key that is not here (split with --remove-key-file): initialising would
    // create a new, wrong root.key next to it.
    if (!config.rootKeyBase64 && (await chooseStartMode({ ...config, sealed: false })).sealed) {
      throw new CliError(
        'TESSERA_ALREADY_INITIALISED',
        'the data directory is already initialised, and its root key is split into key shares (no root.key)',
        'start it with `tessera server` and unseal it with `tessera unseal`',
      );
    }
    const result = await initDataDir(config);
    if (!result.created) {
      throw new CliError(
        'TESSERA_ALREADY_INITIALISED',
        `the data directory is already initialised (admin credentials file: ${result.adminFile})`,
        'use the existing admin access key, or choose another --data-dir',
      );
    }
    ctx.emit(result, () => {
      const key = result.accessKey ?? `(written to ${result.adminFile})`;
      return `Access ID: ${result.accessId}\nAccess Key: ${key}\n`;
    });
    if (!ctx.json) {
      ctx.note(
        'Tessera initialised. The access key is shown only once. Configure the CLI with:\n' +
          `  tessera configure --access-id ${result.accessId} --access-key -`,
      );
    }
  },
};

/** `server` and `init`. */
export const serverCommands: readonly CommandSpec[] = [server, init];
