/**
 * `tessera backup` and `tessera restore`: an online, consistent copy of a SQLite data directory and
 * its verified restore (ADR 0023). PostgreSQL stores use pg_dump or PITR (docs/operations.md).
 */

import type { CommandSpec } from './cli.context.js';
import { CliError, UsageError } from './cli.errors.js';

/** Errors of the offline backup functions are plain Errors with a clear message. */
async function orCliError<T>(code: string, hint: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new CliError(code, err instanceof Error ? err.message : String(err), hint);
  }
}

const backup: CommandSpec = {
  path: ['backup'],
  summary: 'Copy a SQLite data directory to a new backup directory (online: the server may run)',
  details:
    'Takes a consistent snapshot of the store with SQLite’s online backup API while the server keeps ' +
    'serving, copies the signed audit checkpoints, and writes a manifest with each file’s SHA-256. The ' +
    'root key is not copied unless --include-root-key: keep it apart from the backup (a backup is worthless ' +
    'without it, and worth everything with it).',
  options: {
    'data-dir': { type: 'string', placeholder: 'DIR', required: true, description: 'the data directory' },
    out: { type: 'string', placeholder: 'DIR', required: true, description: 'a new, empty backup directory' },
    'include-root-key': { type: 'boolean', description: 'also copy DATA_DIR/root.key into the backup' },
  },
  examples: [
    'tessera backup --data-dir /var/lib/tessera --out /backups/tessera-2026-12-07',
    'tessera backup --data-dir /var/lib/tessera --out /backups/t1 --json',
  ],
  async run(ctx, args) {
    const dataDir = args.str('data-dir');
    const out = args.str('out');
    if (!dataDir) throw new UsageError('--data-dir is required');
    if (!out) throw new UsageError('--out is required');
    const { loadConfig, backupDataDir } = await import('@tessera/server');
    const config = loadConfig({ dataDir, logLevel: 'silent' }, ctx.io.env as NodeJS.ProcessEnv);
    const manifest = await orCliError('TESSERA_BACKUP_FAILED', 'check the paths and free space', () =>
      backupDataDir(config, out, { includeRootKey: args.bool('include-root-key') }),
    );
    ctx.emit({ out, ...manifest }, () => {
      const files = Object.entries(manifest.files)
        .map(([f, m]) => `  ${f} (${m.bytes.toLocaleString('en')} bytes)`)
        .join('\n');
      const key = manifest.includesRootKey
        ? 'It includes the root key: store it as securely as the key itself.'
        : 'The root key is not in it: keep DATA_DIR/root.key (or TESSERA_ROOT_KEY) safe, apart from it.';
      return `Backup written to ${out} (audit events up to seq ${manifest.lastAuditSeq}):\n${files}\n${key}\n`;
    });
  },
};

const restore: CommandSpec = {
  path: ['restore'],
  summary: 'Restore a backup into a data directory, then verify its audit chain',
  details:
    'Checks every file of the backup against its manifest and the database’s integrity, copies it into ' +
    'the data directory (stopped servers only; an existing store is replaced only with --force), then ' +
    'verifies the audit chain with the root key (from the backup, DATA_DIR/root.key or TESSERA_ROOT_KEY). ' +
    'Exits 1 if the chain does not verify.',
  options: {
    from: { type: 'string', placeholder: 'DIR', required: true, description: 'the backup directory' },
    'data-dir': { type: 'string', placeholder: 'DIR', required: true, description: 'the data directory' },
    force: { type: 'boolean', description: 'replace an existing store in the data directory' },
  },
  examples: [
    'tessera restore --from /backups/tessera-2026-12-07 --data-dir /var/lib/tessera',
    'tessera restore --from /backups/t1 --data-dir /var/lib/tessera --force --json',
  ],
  async run(ctx, args) {
    const from = args.str('from');
    const dataDir = args.str('data-dir');
    if (!from) throw new UsageError('--from is required');
    if (!dataDir) throw new UsageError('--data-dir is required');
    const { loadConfig, restoreDataDir } = await import('@tessera/server');
    const config = loadConfig({ dataDir, logLevel: 'silent' }, ctx.io.env as NodeJS.ProcessEnv);
    const report = await orCliError(
      'TESSERA_RESTORE_FAILED',
      'stop the servers of this data directory; give the root key via DATA_DIR/root.key or TESSERA_ROOT_KEY',
      () => restoreDataDir(config, from, { force: args.bool('force') }),
    );
    ctx.emit(report, () =>
      report.audit.ok
        ? `Restored ${report.restoredFiles.join(', ')} into ${dataDir}; audit chain verified (${report.audit.checkedEvents.toLocaleString('en')} events).\n`
        : `Restored into ${dataDir}, but the audit chain does NOT verify: ${report.audit.problem}\n`,
    );
    if (!report.audit.ok)
      throw new CliError(
        'TESSERA_AUDIT_TAMPERED',
        `the restored audit ledger does not verify: ${report.audit.problem}`,
      );
  },
};

/** `backup` and `restore`. */
export const backupCommands: readonly CommandSpec[] = [backup, restore];
