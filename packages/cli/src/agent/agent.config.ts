/**
 * The agent's configuration: the YAML contract (`tessera agent --config agent.yaml`), validated into
 * one object, with command-line flags overriding the file. Relative paths are resolved against the
 * working directory (like Vault Agent), so a config written by a script next to `./tokens/` works
 * when the agent is started from that directory.
 */

import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { UsageError } from '../cli.errors.js';
import type { CertificateSettings } from './agent.certs.js';

/** One rendered file. */
export interface TemplateSettings {
  /** Absolute path of the rendered file (written atomically, mode 0600). */
  destination: string;
  /** Inline template text, or undefined when `templateFile` is used. */
  template?: string;
  /** Absolute path of a template file. */
  templateFile?: string;
}

/** The agent's settings after validation and flag overrides. */
export interface AgentSettings {
  serverUrl: string;
  uidTokenFile: string;
  /** The access id (`p-…`) of the auth method the token must belong to; the server refuses others. */
  authMethod?: string;
  sessionTokenFile?: string;
  /** `host:port` for `GET /healthz`. */
  healthListen?: { host: string; port: number };
  /** Rotate at this fraction of the UID token's TTL (±10% jitter). */
  rotateAtFraction: number;
  renderIntervalSeconds: number;
  templates: TemplateSettings[];
  /** Seconds between the switch to a replacement lease and the revocation of the old one. */
  leaseRevokeGraceSeconds: number;
  /** Revoke the held leases when the agent exits (default: keep them, the app still uses them). */
  revokeLeasesOnExit: boolean;
  /** A certificate kept renewed from the internal CA (`certificate:` in the YAML). */
  certificate?: CertificateSettings;
}

/** Flag overrides (undefined = not given). */
export interface AgentFlagOverrides {
  serverUrl?: string;
  authMethod?: string;
  uidTokenFile?: string;
  sessionTokenFile?: string;
  healthListen?: string;
}

/** The keys of the YAML file, exactly. */
export const CONFIG_KEYS = [
  'server_url',
  'uid_token_file',
  'auth_method',
  'session_token_file',
  'health_listen',
  'rotate_at_fraction',
  'render_interval_seconds',
  'templates',
  'lease_revoke_grace_seconds',
  'revoke_leases_on_exit',
  'certificate',
] as const;
const CERTIFICATE_KEYS = ['profile', 'dir', 'ttl_seconds', 'renew_at_fraction', 'reload_pid_file'] as const;
const TEMPLATE_KEYS = ['destination', 'template', 'template_file'] as const;

export const DEFAULT_ROTATE_AT_FRACTION = 0.5;
export const DEFAULT_RENDER_INTERVAL_SECONDS = 60;
export const DEFAULT_LEASE_REVOKE_GRACE_SECONDS = 60;

type Raw = Record<string, unknown>;

/**
 * Parses and checks the YAML text of a config file.
 *
 * @param text - the file's content
 * @param source - the file name, for messages
 * @throws {@link UsageError} naming the problem (unknown key, wrong type, YAML syntax)
 */
export function parseAgentConfigText(text: string, source: string): Raw {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first) throw new UsageError(`${source}: invalid YAML: ${first.message.split('\n')[0]}`);
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value) || value === null)
    throw new UsageError(`${source}: expected a mapping of settings (server_url: …, uid_token_file: …)`);
  checkKeys(value as Raw, CONFIG_KEYS, source);
  return value as Raw;
}

function checkKeys(value: Raw, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new UsageError(`${where}: unknown key "${key}" (allowed: ${allowed.join(', ')})`);
  }
}

function str(raw: Raw, key: string, where: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 4096)
    throw new UsageError(`${where}: ${key} must be a non-empty string`);
  return v;
}

function num(raw: Raw, key: string, where: string, min: number, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new UsageError(`${where}: ${key} must be a number between ${min} and ${max}`);
  return v;
}

function bool(raw: Raw, key: string, where: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new UsageError(`${where}: ${key} must be true or false`);
  return v;
}

/** `127.0.0.1:8378`, `[::1]:8378` or `:8378` (loopback). */
export function parseListen(text: string, where: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`${where}: health_listen must be HOST:PORT, e.g. 127.0.0.1:8378`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function templates(raw: Raw, where: string, cwd: string): TemplateSettings[] {
  const list = raw.templates;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new UsageError(`${where}: templates must be a list`);
  return list.map((item: unknown, i) => {
    const at = `${where}: templates[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new UsageError(`${at} must be a mapping (destination, template or template_file)`);
    checkKeys(item as Raw, TEMPLATE_KEYS, at);
    const destination = str(item as Raw, 'destination', at);
    const inline = (item as Raw).template;
    const file = str(item as Raw, 'template_file', at);
    if (!destination) throw new UsageError(`${at}: destination is required`);
    if ((inline === undefined) === (file === undefined))
      throw new UsageError(`${at}: give exactly one of template and template_file`);
    if (inline !== undefined && (typeof inline !== 'string' || inline.length > 65_536))
      throw new UsageError(`${at}: template must be a string (at most 64 KiB)`);
    return {
      destination: resolve(cwd, destination),
      ...(typeof inline === 'string' ? { template: inline } : {}),
      ...(file ? { templateFile: resolve(cwd, file) } : {}),
    };
  });
}

/**
 * Builds the settings from the parsed file (or `{}`) and the flags; flags win.
 *
 * @param raw - output of {@link parseAgentConfigText}, or `{}` without a file
 * @param flags - command-line overrides
 * @param defaults - `serverUrl` when neither the flag nor the file names one; `cwd` for relative paths
 * @throws {@link UsageError} when something required is missing or invalid
 */
export function resolveAgentSettings(
  raw: Raw,
  flags: AgentFlagOverrides,
  defaults: { serverUrl: string; cwd: string; source: string },
): AgentSettings {
  const where = defaults.source;
  const serverUrl = (flags.serverUrl ?? str(raw, 'server_url', where) ?? defaults.serverUrl).replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\/[^\s/]+/.test(serverUrl))
    throw new UsageError(`${where}: server_url must be an http(s) URL, e.g. http://127.0.0.1:8377`);
  const uidTokenFile = flags.uidTokenFile ?? str(raw, 'uid_token_file', where);
  if (!uidTokenFile)
    throw new UsageError('the UID token file is required: uid_token_file in the config, or --uid-token-file');
  const authMethod = flags.authMethod ?? str(raw, 'auth_method', where);
  if (authMethod !== undefined && !/^p-[a-z0-9]{1,62}$/.test(authMethod))
    throw new UsageError(`${where}: auth_method must be the auth method's access id (p-…)`);
  const sessionTokenFile = flags.sessionTokenFile ?? str(raw, 'session_token_file', where);
  const listen = flags.healthListen ?? str(raw, 'health_listen', where);
  return {
    serverUrl,
    uidTokenFile: resolve(defaults.cwd, uidTokenFile),
    ...(authMethod ? { authMethod } : {}),
    ...(sessionTokenFile ? { sessionTokenFile: resolve(defaults.cwd, sessionTokenFile) } : {}),
    ...(listen ? { healthListen: parseListen(listen, where) } : {}),
    rotateAtFraction: num(raw, 'rotate_at_fraction', where, 0.01, 0.95) ?? DEFAULT_ROTATE_AT_FRACTION,
    renderIntervalSeconds:
      num(raw, 'render_interval_seconds', where, 1, 86_400) ?? DEFAULT_RENDER_INTERVAL_SECONDS,
    templates: templates(raw, where, defaults.cwd),
    leaseRevokeGraceSeconds:
      num(raw, 'lease_revoke_grace_seconds', where, 0, 86_400) ?? DEFAULT_LEASE_REVOKE_GRACE_SECONDS,
    revokeLeasesOnExit: bool(raw, 'revoke_leases_on_exit', where) ?? false,
    ...certificate(raw, where, defaults.cwd),
  };
}

/** `certificate: {profile, dir, ttl_seconds?, renew_at_fraction?, reload_pid_file?}`. */
function certificate(raw: Raw, where: string, cwd: string): { certificate?: CertificateSettings } {
  const value = raw.certificate;
  if (value === undefined || value === null) return {};
  const at = `${where}: certificate`;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`${at} must be a mapping (profile, dir, ttl_seconds, renew_at_fraction)`);
  const c = value as Raw;
  checkKeys(c, CERTIFICATE_KEYS, at);
  const profile = str(c, 'profile', at);
  const dir = str(c, 'dir', at);
  if (!profile || !dir) throw new UsageError(`${at}: profile and dir are required`);
  const ttl = num(c, 'ttl_seconds', at, 10, 30 * 86_400);
  const reload = str(c, 'reload_pid_file', at);
  return {
    certificate: {
      profile,
      dir: resolve(cwd, dir),
      ...(ttl !== undefined ? { ttlSeconds: Math.round(ttl) } : {}),
      renewAtFraction: num(c, 'renew_at_fraction', at, 0.1, 0.9) ?? 0.5,
      ...(reload ? { reloadPidFile: resolve(cwd, reload) } : {}),
    },
  };
}
