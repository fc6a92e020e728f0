/**
 * `tessera root-key rotate`: replaces the root key of a data directory, offline (ADR 0007).
 * `tessera root-key split`: splits it into k-of-n key shares for a sealed start (ADR 0012).
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

const split: CommandSpec = {
  path: ['root-key', 'split'],
  summary: 'Split the root key into key shares, any THRESHOLD of which unseal the server (offline)',
  details:
    "Reads DATA_DIR/root.key (or TESSERA_ROOT_KEY) and prints SHARES key shares (Shamir's secret sharing), " +
    'once: any THRESHOLD of them rebuild the key, fewer reveal nothing. Give each to a different person. ' +
    'With --remove-key-file --yes the key file is then deleted, and `tessera server` starts sealed: it ' +
    'serves nothing until THRESHOLD holders run `tessera unseal`, at every start. Without --remove-key-file ' +
    'nothing changes on disk (keep the file, or delete it yourself once the shares are stored).',
  options: {
    'data-dir': { type: 'string', placeholder: 'DIR', required: true, description: 'the data directory' },
    store: {
      type: 'string',
      placeholder: 'URL',
      description: 'the store, if not the SQLite file in the data dir',
    },
    shares: { type: 'number', placeholder: 'N', required: true, description: 'how many shares (2-255)' },
    threshold: {
      type: 'number',
      placeholder: 'K',
      required: true,
      description: 'how many shares rebuild the key (2-N)',
    },
    'remove-key-file': {
      type: 'boolean',
      description: 'delete DATA_DIR/root.key after printing the shares (needs --yes)',
    },
    yes: {
      type: 'boolean',
      description: 'confirm --remove-key-file: the shares are the only copy of the key',
    },
  },
  examples: [
    'tessera root-key split --data-dir /var/lib/tessera --shares 5 --threshold 3',
    'tessera root-key split --data-dir /var/lib/tessera --shares 5 --threshold 3 --remove-key-file --yes',
  ],
  async run(ctx, args) {
    const dataDir = args.str('data-dir');
    if (!dataDir) throw new UsageError('--data-dir is required');
    const shares = args.num('shares');
    const threshold = args.num('threshold');
    if (shares === undefined || !Number.isInteger(shares) || shares < 2 || shares > 255)
      throw new UsageError('--shares must be an integer from 2 to 255');
    if (threshold === undefined || !Number.isInteger(threshold) || threshold < 2 || threshold > shares)
      throw new UsageError('--threshold must be an integer from 2 to the number of shares');
    const remove = args.bool('remove-key-file');
    if (remove && !args.bool('yes'))
      throw new UsageError(
        '--remove-key-file deletes the only copy of the root key besides the shares: add --yes to confirm',
      );
    const storeUrl = args.str('store');
    const { loadConfig, splitRootKeyOffline, removeRootKeyFile } = await import('@tessera/server');
    const config = loadConfig(
      { dataDir, ...(storeUrl ? { storeUrl } : {}), logLevel: 'silent' },
      ctx.io.env as NodeJS.ProcessEnv,
    );
    if (remove && config.rootKeyBase64)
      throw new UsageError('the root key comes from TESSERA_ROOT_KEY: there is no key file to remove');
    const result = await splitRootKeyOffline(config, { shares, threshold });
    ctx.emit({ keyId: result.keyId, threshold, shares: result.shares, keyFileRemoved: remove }, () =>
      [
        `Root key ${result.keyId} split into ${shares} key shares; any ${threshold} of them rebuild it.`,
        'They are shown only this once. Give each to a different person; never store two together.',
        '',
        ...result.shares,
        '',
      ].join('\n'),
    );
    if (remove) {
      const removed = removeRootKeyFile(config.dataDir);
      if (!ctx.json)
        ctx.note(
          `Deleted ${removed}. The server now starts sealed: ${threshold} share holders unseal it with ` +
            '`tessera unseal --url URL --share-file FILE` (or --share - to read the share from stdin).',
        );
    } else if (result.keyFile && !ctx.json) {
      ctx.note(
        `${result.keyFile} is still there, so the server keeps starting without shares. Once the shares ` +
          'are stored, run again with --remove-key-file --yes, or delete the file yourself.',
      );
    }
  },
};

/** The root-key commands. */
export const rootKeyCommands: readonly CommandSpec[] = [rotate, split];
