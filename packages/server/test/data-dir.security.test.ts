/**
 * The data directory: a server holds it (offline commands refuse to run under it, issue 10 item 9),
 * and its files are readable by their owner only.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { rotateRootKeyOffline } from '../src/root-key.rotation.js';
import { initDataDir, startServer } from '../src/server.js';
import { acquireDataDirLock, DataDirLockedError } from '../src/storage/data-dir-lock.js';
import { freshPostgresDatabase } from './harness.js';

let dir: string;
let dataDir: string;
const config = () =>
  loadConfig(
    { dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent' },
    { TESSERA_ISSUER: 'http://t.test' },
  );

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-datadir-'));
  dataDir = join(dir, 'data');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('the data-directory lock', () => {
  it('root-key rotate and init refuse while a server runs, naming its pid; both work after close', async () => {
    const server = await startServer(config(), { logger: false });
    let closed = false;
    try {
      const lock = JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8'));
      expect(lock).toMatchObject({ pid: process.pid, holder: 'server' });
      expect(statSync(join(dataDir, 'server.lock')).mode & 0o777).toBe(0o600);
      const keyBefore = readFileSync(join(dataDir, 'root.key'), 'utf8');

      const refused = await rotateRootKeyOffline(config()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(DataDirLockedError);
      expect((refused as Error).message).toContain(`running Tessera server (pid ${process.pid})`);
      expect(readFileSync(join(dataDir, 'root.key'), 'utf8')).toBe(keyBefore);
      expect(existsSync(join(dataDir, 'root.key.next'))).toBe(false);
      await expect(initDataDir(config())).rejects.toThrow(/in use by a running Tessera server/);
      // A second server on the same directory is refused too.
      await expect(startServer(config(), { logger: false })).rejects.toThrow(DataDirLockedError);
      // The running server still holds its lock (the refused ones did not remove it).
      expect(existsSync(join(dataDir, 'server.lock'))).toBe(true);

      await server.close();
      closed = true;
      expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
      const rotation = await rotateRootKeyOffline(config());
      expect(rotation.finishedInterrupted).toBe(false);
      expect(readFileSync(join(dataDir, 'root.key'), 'utf8')).not.toBe(keyBefore);
      expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
    } finally {
      if (!closed) await server.close();
    }
  });

  it('a lock left by a process that no longer exists is taken over', async () => {
    await initDataDir(config());
    writeFileSync(
      join(dataDir, 'server.lock'),
      JSON.stringify({ pid: deadPid(), holder: 'server', nonce: 'x' }),
    );
    const server = await startServer(config(), { logger: false });
    expect(JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8')).pid).toBe(process.pid);
    await server.close();
    writeFileSync(join(dataDir, 'server.lock'), 'not a lock');
    await rotateRootKeyOffline(config());
    // A restarted process that got the same pid (a container's pid 1 after a crash) is not the holder.
    const earlier = {
      pid: process.pid,
      holder: 'server',
      nonce: 'y',
      processStartMs: Date.now() - 86_400_000,
    };
    writeFileSync(join(dataDir, 'server.lock'), JSON.stringify(earlier));
    await (await startServer(config(), { logger: false })).close();
  });

  it('servers of one PostgreSQL store may share a data dir; offline commands refuse while any runs', async () => {
    const pg = await freshPostgresDatabase();
    try {
      const pgConfig = () =>
        loadConfig(
          { dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', storeUrl: pg.url },
          { TESSERA_ISSUER: 'http://t.test' },
        );
      const first = await startServer(pgConfig(), { logger: false });
      const second = await startServer(pgConfig(), { logger: false }).catch(async (e) => {
        await first.close();
        throw e;
      });
      await expect(rotateRootKeyOffline(pgConfig())).rejects.toThrow(
        `in use by a running Tessera server (pid ${process.pid})`,
      );
      await first.close();
      // One server still runs.
      await expect(rotateRootKeyOffline(pgConfig())).rejects.toThrow(DataDirLockedError);
      await second.close();
      expect(readdirSync(dataDir).filter((f) => f.includes('lock'))).toEqual([]);
      await rotateRootKeyOffline(pgConfig());
      // And a server does not start under an offline command (shared mode checks the exclusive lock).
      const release = acquireDataDirLock(dataDir, 'root-key rotate');
      try {
        await expect(startServer(pgConfig(), { logger: false })).rejects.toThrow(/tessera root-key rotate/);
      } finally {
        release();
      }
    } finally {
      await pg.drop();
    }
  }, 60_000);

  it('an offline command holds the lock while it runs, so a server cannot start under it', () => {
    mkdirSync(join(dir, 'other'));
    const release = acquireDataDirLock(join(dir, 'other'), 'root-key rotate');
    try {
      expect(() => acquireDataDirLock(join(dir, 'other'), 'server')).toThrow(
        /in use by `tessera root-key rotate` \(pid \d+\)/,
      );
    } finally {
      release();
    }
    acquireDataDirLock(join(dir, 'other'), 'server')();
  });
});

describe('file modes', () => {
  it('the database, its -wal and -shm, and every file of the data dir are 0600, directories 0700', async () => {
    const server = await startServer(config(), { logger: false });
    try {
      const r = await fetch(`${server.url}/healthz`);
      expect(r.status).toBe(200);
      const db = join(dataDir, 'tessera.db');
      for (const f of [db, `${db}-wal`, `${db}-shm`]) {
        expect(existsSync(f), f).toBe(true);
        expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
      }
      const walk = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? [join(d, e.name), ...walk(join(d, e.name))] : [join(d, e.name)],
        );
      const modes = Object.fromEntries(
        [dataDir, ...walk(dataDir)].map((p) => [p.slice(dir.length), (statSync(p).mode & 0o777).toString(8)]),
      );
      const wrong = Object.entries(modes).filter(([p, m]) =>
        statSync(join(dir, p)).isDirectory() ? m !== '700' : m !== '600',
      );
      expect(wrong).toEqual([]);
      expect(Object.keys(modes).length).toBeGreaterThanOrEqual(6);
    } finally {
      await server.close();
    }
  });

  it('an existing database with a wider mode is narrowed when opened', async () => {
    await initDataDir(config());
    const db = join(dataDir, 'tessera.db');
    chmodSync(db, 0o644);
    await (await startServer(config(), { logger: false })).close();
    expect((statSync(db).mode & 0o777).toString(8)).toBe('600');
  });
});
