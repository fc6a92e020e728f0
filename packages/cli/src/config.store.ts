/**
 * CLI configuration: named profiles in `~/.tessera/config.json` (directory 0700, file 0600; the
 * directory is `TESSERA_CONFIG_DIR` when set) and, per profile, a cached session token with its
 * expiry in `sessions/<profile>.json` (0600).
 */

import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CachedSession, SessionCache } from '@tessera/sdk';
import { CliError, UsageError } from './cli.errors.js';
import { ensurePrivateDir, writeFileAtomic } from './file.atomic.js';

/** One profile. */
export interface Profile {
  url?: string;
  accessId?: string;
  accessKey?: string;
}

/** The config file. */
export interface ConfigFile {
  version: 1;
  profiles: Record<string, Profile>;
}

/** The profile used when none is named. */
export const DEFAULT_PROFILE = 'default';

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Checks a profile name (it becomes part of a file name). */
export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) {
    throw new UsageError(`invalid profile name "${name}": use letters, digits, '.', '_' and '-' (max 64)`);
  }
  return name;
}

/** The config directory: `TESSERA_CONFIG_DIR`, else `~/.tessera`. */
export function configDir(env: Record<string, string | undefined>): string {
  return env.TESSERA_CONFIG_DIR || join(homedir(), '.tessera');
}

/** Reads and writes the config file of one directory. */
export class ConfigStore {
  /** @param dir - the config directory */
  constructor(readonly dir: string) {}

  /** Path of the config file. */
  get file(): string {
    return join(this.dir, 'config.json');
  }

  /** The whole config (empty when the file does not exist). */
  async read(): Promise<ConfigFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, profiles: {} };
      throw new CliError('TESSERA_CONFIG_UNREADABLE', `cannot read ${this.file} (${errCode(err)})`);
    }
    try {
      const parsed = JSON.parse(text) as Partial<ConfigFile>;
      const profiles = parsed.profiles && typeof parsed.profiles === 'object' ? parsed.profiles : {};
      return { version: 1, profiles };
    } catch {
      throw new CliError(
        'TESSERA_CONFIG_INVALID',
        `${this.file} is not valid JSON`,
        'fix or delete the file',
      );
    }
  }

  /** One profile (empty when absent). */
  async profile(name: string): Promise<Profile> {
    return (await this.read()).profiles[checkProfileName(name)] ?? {};
  }

  /** Merges `changes` into profile `name` and writes the file (0600, atomic). */
  async updateProfile(name: string, changes: Profile): Promise<Profile> {
    const config = await this.read();
    const merged: Profile = { ...config.profiles[checkProfileName(name)] };
    for (const [key, value] of Object.entries(changes) as Array<[keyof Profile, string | undefined]>) {
      if (value !== undefined) merged[key] = value;
    }
    config.profiles[name] = merged;
    await ensurePrivateDir(this.dir);
    await writeFileAtomic(this.file, `${JSON.stringify(config, null, 2)}\n`);
    return merged;
  }

  /** The session cache of a profile, bound to the URL and access id it was made for. */
  sessionCache(profile: string, url: string, accessId: string): FileSessionCache {
    return new FileSessionCache(join(this.dir, 'sessions'), checkProfileName(profile), url, accessId);
  }
}

interface SessionFile extends CachedSession {
  url: string;
  accessId: string;
}

/** A {@link SessionCache} in `<dir>/<profile>.json`, ignored when made for another URL or access id. */
export class FileSessionCache implements SessionCache {
  readonly #dir: string;
  readonly #file: string;
  readonly #url: string;
  readonly #accessId: string;

  /**
   * @param dir - the sessions directory
   * @param profile - profile name (already checked)
   * @param url - server URL the session belongs to
   * @param accessId - access id the session was made from
   */
  constructor(dir: string, profile: string, url: string, accessId: string) {
    this.#dir = dir;
    this.#file = join(dir, `${profile}.json`);
    this.#url = url;
    this.#accessId = accessId;
  }

  /** @inheritDoc */
  async load(): Promise<CachedSession | undefined> {
    try {
      const data = JSON.parse(await readFile(this.#file, 'utf8')) as Partial<SessionFile>;
      if (data.url !== this.#url || data.accessId !== this.#accessId) return undefined;
      if (typeof data.token !== 'string' || typeof data.expiresAtMs !== 'number') return undefined;
      if (typeof data.renewAtMs !== 'number') return undefined;
      return { token: data.token, expiresAtMs: data.expiresAtMs, renewAtMs: data.renewAtMs };
    } catch {
      return undefined;
    }
  }

  /** @inheritDoc */
  async save(session: CachedSession): Promise<void> {
    const data: SessionFile = { ...session, url: this.#url, accessId: this.#accessId };
    try {
      await ensurePrivateDir(this.#dir);
      await writeFileAtomic(this.#file, `${JSON.stringify(data)}\n`);
    } catch {
      // A cache that cannot be written only costs an extra exchange next time.
    }
  }

  /** @inheritDoc */
  async clear(): Promise<void> {
    await rm(this.#file, { force: true });
  }
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}
