import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Config } from '../config/config.js';
import { sha256Hex } from '../crypto/credentials.js';
import { verifyAuditLedgerOffline } from '../server.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { SQLite } from './sqlite-driver.js';

/**
 * `tessera backup` and `tessera restore` (issue 19, ADR 0023) for the SQLite store.
 *
 * A backup is a directory: `tessera.db` taken with SQLite's online backup API (consistent while the
 * server runs and writes), the audit checkpoints file (the signed heads that prove no newest event
 * was deleted), and a manifest with each file's SHA-256. The root key is NOT in it unless asked for:
 * the database's secrets are sealed under it, so a backup and its key kept together are worth one
 * theft. PostgreSQL stores are backed up with `pg_dump` or PITR (docs/operations.md).
 */
export interface BackupManifest {
  format: 'tessera-backup/1';
  createdAt: string;
  /** The last audit event in the copy: a restore's chain must verify up to it. */
  lastAuditSeq: number;
  includesRootKey: boolean;
  files: Record<string, { sha256: string; bytes: number }>;
}

const MANIFEST = 'manifest.json';

const sha256 = (path: string) => sha256Hex(readFileSync(path));

function sqliteFile(config: Config): string {
  if (!config.storeUrl.startsWith('sqlite:'))
    throw new Error(
      'tessera backup copies a SQLite store; back a PostgreSQL store up with pg_dump or PITR (docs/operations.md)',
    );
  return config.storeUrl.slice('sqlite:'.length);
}

/** Copies the live data directory's store and checkpoints to `outDir` (which must not exist). */
export async function backupDataDir(
  config: Config,
  outDir: string,
  options: { includeRootKey?: boolean } = {},
): Promise<BackupManifest> {
  const dbFile = sqliteFile(config);
  if (!existsSync(dbFile)) throw new Error(`no store to back up: ${dbFile} does not exist`);
  if (existsSync(outDir) && readdirSync(outDir).length > 0)
    throw new Error(`${outDir} exists and is not empty: choose a new backup directory`);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const files: string[] = [];
  const source = new SQLite(dbFile, { readonly: true, fileMustExist: true });
  try {
    // The online backup API copies a consistent snapshot page by page while writers go on.
    await source.backup(join(outDir, 'tessera.db'));
  } finally {
    source.close();
  }
  chmodSync(join(outDir, 'tessera.db'), 0o600);
  files.push('tessera.db');
  const checkpoints = join(config.dataDir, 'audit', 'checkpoints.jsonl');
  if (existsSync(checkpoints)) {
    mkdirSync(join(outDir, 'audit'), { mode: 0o700 });
    copyFileSync(checkpoints, join(outDir, 'audit', 'checkpoints.jsonl'));
    files.push('audit/checkpoints.jsonl');
  }
  const rootKey = join(config.dataDir, 'root.key');
  if (options.includeRootKey) {
    if (!existsSync(rootKey)) throw new Error(`--include-root-key: ${rootKey} does not exist`);
    copyFileSync(rootKey, join(outDir, 'root.key'));
    chmodSync(join(outDir, 'root.key'), 0o600);
    files.push('root.key');
  }
  const copy = new SQLite(join(outDir, 'tessera.db'), { readonly: true });
  let lastAuditSeq = 0;
  try {
    const row = copy.prepare('select max(seq) as seq from audit_events').get() as { seq: number | null };
    lastAuditSeq = row.seq ?? 0;
  } finally {
    copy.close();
  }
  const manifest: BackupManifest = {
    format: 'tessera-backup/1',
    createdAt: new Date().toISOString(),
    lastAuditSeq,
    includesRootKey: Boolean(options.includeRootKey),
    files: Object.fromEntries(
      files.map((f) => [f, { sha256: sha256(join(outDir, f)), bytes: readFileSync(join(outDir, f)).length }]),
    ),
  };
  writeFileSync(join(outDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

export interface RestoreReport {
  restoredFiles: string[];
  lastAuditSeq: number;
  audit: { ok: boolean; checkedEvents: number; problem: string | null };
}

/**
 * Restores a backup into `config.dataDir` (no server may hold it), after checking every file
 * against the manifest and the database's integrity, then verifies the audit chain with the root
 * key (from the backup, the data directory or TESSERA_ROOT_KEY): a wrong key or an altered copy
 * fails here, not at the first request.
 */
export async function restoreDataDir(
  config: Config,
  fromDir: string,
  options: { force?: boolean } = {},
): Promise<RestoreReport> {
  const dbFile = sqliteFile(config);
  const manifestFile = join(fromDir, MANIFEST);
  if (!existsSync(manifestFile)) throw new Error(`${fromDir} is not a Tessera backup (no ${MANIFEST})`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
  if (manifest.format !== 'tessera-backup/1')
    throw new Error(`unknown backup format ${String(manifest.format)}`);
  for (const [file, expected] of Object.entries(manifest.files)) {
    const path = join(fromDir, file);
    if (relative(fromDir, path).startsWith('..')) throw new Error(`bad file name in the manifest: ${file}`);
    if (!existsSync(path) || sha256(path) !== expected.sha256)
      throw new Error(`${file} is missing or does not match the manifest: the backup is damaged`);
  }
  const check = new SQLite(join(fromDir, 'tessera.db'), { readonly: true });
  try {
    const result = check.prepare('pragma integrity_check').get() as { integrity_check: string };
    if (result.integrity_check !== 'ok')
      throw new Error(`the backup's database is damaged: ${result.integrity_check}`);
  } finally {
    check.close();
  }
  const release = acquireDataDirLock(config.dataDir, 'restore');
  const restored: string[] = [];
  try {
    if (existsSync(dbFile) && !options.force)
      throw new Error(
        `${dbFile} exists: restore into an empty data directory, or pass --force to replace it`,
      );
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
    for (const file of Object.keys(manifest.files)) {
      const target = file === 'tessera.db' ? dbFile : join(config.dataDir, file);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      copyFileSync(join(fromDir, file), target);
      chmodSync(target, 0o600);
      restored.push(file);
    }
  } finally {
    release();
  }
  const report = await verifyAuditLedgerOffline(config);
  return {
    restoredFiles: restored,
    lastAuditSeq: manifest.lastAuditSeq,
    audit: {
      ok: report.ok && report.lastSeq >= manifest.lastAuditSeq,
      checkedEvents: report.checkedEvents,
      problem: report.problem
        ? `${report.problem.kind} at event ${report.problem.seq}: ${report.problem.message}`
        : report.lastSeq < manifest.lastAuditSeq
          ? `the chain ends at ${report.lastSeq}, the backup at ${manifest.lastAuditSeq}`
          : null,
    },
  };
}
