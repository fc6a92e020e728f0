/**
 * CLI configuration: named profiles in `~/.tessera/config.json` (URL and access id; directory 0700,
 * file 0600; the directory is `TESSERA_CONFIG_DIR` when set), their admin access keys apart in
 * `credentials.json` (0600), and, per profile, a cached session token with its expiry in
 * `sessions/<profile>.json` (0600). A config file written by an older CLI, with the key inside, is
 * migrated the first time it is read.
 */

import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CachedSession, SessionCache } from '@tessera/sdk';
import { CliError, UsageError } from './cli.errors.js';
import { ensurePrivateDir, writeFileAtomic } from './file.atomic.js';

/** One profile, as the commands see it (the key comes from the credentials file). */
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

/** The credentials file: the admin access key of each profile. */
interface CredentialsFile {
  version: 1;
  profiles: Record<string, { accessKey?: string }>;
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

/** Reads and writes the config and credentials files of one directory. */
export class ConfigStore {
  /** @param dir - the config directory */
  constructor(readonly dir: string) {}

  /** Path of the config file. */
  get file(): string {
    return join(this.dir, 'config.json');
  }

  /** Path of the credentials file. */
  get credentialsFile(): string {
    return join(this.dir, 'credentials.json');
  }

  /** The whole config with each profile's key (empty when the files do not exist). */
  async read(): Promise<ConfigFile> {
    const config = await readJson(this.file);
    const credentials = await readJson(this.credentialsFile);
    const profiles = objectOf(config?.profiles) as Record<string, Profile>;
    const keys = objectOf(credentials?.profiles) as CredentialsFile['profiles'];
    const legacy = Object.entries(profiles).filter(([, p]) => typeof p?.accessKey === 'string');
    if (legacy.length > 0) {
      // An older CLI kept the key in config.json: move it to credentials.json (never overwriting a
      // key already there), then rewrite config.json without it.
      for (const [name, p] of legacy) keys[name] = { accessKey: keys[name]?.accessKey ?? p.accessKey };
      await this.#write(stripKeys(profiles), keys);
    }
    const merged: Record<string, Profile> = {};
    for (const [name, p] of Object.entries(profiles)) {
      const { accessKey: _ignored, ...rest } = p ?? {};
      const accessKey = keys[name]?.accessKey;
      merged[name] = { ...rest, ...(typeof accessKey === 'string' ? { accessKey } : {}) };
    }
    return { version: 1, profiles: merged };
  }

  /** One profile (empty when absent). */
  async profile(name: string): Promise<Profile> {
    return (await this.read()).profiles[checkProfileName(name)] ?? {};
  }

  /** Merges `changes` into profile `name` and writes the files (0600, atomic). */
  async updateProfile(name: string, changes: Profile): Promise<Profile> {
    const config = await this.read();
    const merged: Profile = mergeProfile(config.profiles[checkProfileName(name)] ?? {}, changes);
    config.profiles[name] = merged;
    const keys: CredentialsFile['profiles'] = {};
    for (const [n, p] of Object.entries(config.profiles)) {
      if (p.accessKey !== undefined) keys[n] = { accessKey: p.accessKey };
    }
    await this.#write(stripKeys(config.profiles), keys);
    return merged;
  }

  async #write(profiles: Record<string, Profile>, keys: CredentialsFile['profiles']): Promise<void> {
    await ensurePrivateDir(this.dir);
    // The key first: a crash between the two writes leaves it in both files, never in neither.
    const credentials: CredentialsFile = { version: 1, profiles: keys };
    await writeFileAtomic(this.credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`);
    const config: ConfigFile = { version: 1, profiles };
    await writeFileAtomic(this.file, `${JSON.stringify(config, null, 2)}\n`);
  }

  /** A person's session from `tessera login` (`<profile>.person.json`), bound to the server URL. */
  personSession(profile: string, url: string): FileSessionCache {
    return new FileSessionCache(
      join(this.dir, 'sessions'),
      `${checkProfileName(profile)}.person`,
      url,
      'person',
    );
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

/** `profile` with the defined values of `changes` on top. */
export function mergeProfile(profile: Profile, changes: Profile): Profile {
  const merged: Profile = { ...profile };
  for (const [key, value] of Object.entries(changes) as Array<[keyof Profile, string | undefined]>) {
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

function stripKeys(profiles: Record<string, Profile>): Record<string, Profile> {
  const out: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(profiles)) {
    const { accessKey: _key, ...rest } = p ?? {};
    out[name] = rest;
  }
  return out;
}

function objectOf(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? { ...(value as object) } : {};
}

async function readJson(file: string): Promise<{ profiles?: unknown } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError('TESSERA_CONFIG_UNREADABLE', `cannot read ${file} (${errCode(err)})`);
  }
  try {
    return JSON.parse(text) as { profiles?: unknown };
  } catch {
    throw new CliError('TESSERA_CONFIG_INVALID', `${file} is not valid JSON`, 'fix or delete the file');
  }
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}
