/**
 * `tessera root-key rotate`: replaces the root key of a data directory, offline (ADR 0007).
 */

import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';

const rotate: CommandSpec = {
  path: ['root-key', 'rotate'],
  summary: 'Replace the root key (offline: stop every server of the store first)',
  details:
    'Generates a new root key and re-seals under it, in one transaction, everything the old one sealed: ' +
    'the session-token signing keys and the key-encryption keys of secrets (secret values and their data ' +
    'keys are untouched). The audit ledger stays verifiable. The new key replaces DATA_DIR/root.key ' +
    '(mode 0600); when the root key comes from TESSERA_ROOT_KEY, the new one is written to --new-key-file ' +
    'and you move it into the environment of every server. If it is interrupted, run it again: it ' +
    'finishes or undoes the earlier run. Keep a backup of the old key as long as you keep backups of the ' +
    'store taken before the rotation.',
  options: {
    'data-dir': { type: 'string', placeholder: 'DIR', required: true, description: 'the data directory' },
    store: {
      type: 'string',
      placeholder: 'URL',
      description: 'the store, if not the SQLite file in the data dir',
    },
    'new-key-file': {
      type: 'string',
      placeholder: 'FILE',
      description: 'with TESSERA_ROOT_KEY: where to write the new key (a new file, mode 0600)',
    },
  },
  examples: [
    'tessera root-key rotate --data-dir /var/lib/tessera',
    'TESSERA_ROOT_KEY=… tessera root-key rotate --data-dir /var/lib/tessera --store postgres://… --new-key-file /secure/root.key.new',
  ],
  async run(ctx, args) {
    const dataDir = args.str('data-dir');
    if (!dataDir) throw new UsageError('--data-dir is required');
    const storeUrl = args.str('store');
    const newKeyFile = args.str('new-key-file');
    const { loadConfig, rotateRootKeyOffline } = await import('@tessera/server');
    const config = loadConfig(
      { dataDir, ...(storeUrl ? { storeUrl } : {}), logLevel: 'silent' },
      ctx.io.env as NodeJS.ProcessEnv,
    );
    const result = await rotateRootKeyOffline(config, newKeyFile ? { newKeyFile } : {});
    ctx.emit(result, () => {
      const head = result.finishedInterrupted
        ? `Finished an interrupted rotation: root key ${result.keyId} is in ${result.keyFile}.\n`
        : `Root key rotated: ${result.previousKeyId} → ${result.keyId}. Re-sealed ${result.resealed.signingKeys} ` +
          `signing key(s), ${result.resealed.keks} key-encryption key(s), ${result.resealed.sealedKeys} other key(s).\n`;
      return config.rootKeyBase64
        ? `${head}The new key is in ${result.keyFile}: set TESSERA_ROOT_KEY to it on every server before starting them.\n`
        : `${head}The new key is in ${result.keyFile}.\n`;
    });
  },
};

/** The root-key commands. */
export const rootKeyCommands: readonly CommandSpec[] = [rotate];
